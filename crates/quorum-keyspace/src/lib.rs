//! The data model: values, the keyspace map, absolute expiry deadlines and snapshot encoding.
