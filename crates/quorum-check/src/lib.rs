//! Histories of client operations and the checkers that judge them.
//!
//! [`history`] is the format recorders write. The checkers read a [`History`] and report
//! anomalies, each with the operations that prove it.

pub mod history;

pub use history::{Call, Consistency, FaultEvent, History, OpId, Operation, Outcome, Reply};
