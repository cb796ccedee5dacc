//! The command table and one module per Redis command group.
