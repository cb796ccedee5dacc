//! Tests of the history checker through its public API: hand-made histories per workload,
//! generated histories (property tests, a cross-check against porcupine-rs, a large history).

mod append;
mod builder;
mod counter;
mod expiry;
mod generated;
mod lost;
mod porcupine;
mod queue;
mod readonly;
mod register;
mod sim;
