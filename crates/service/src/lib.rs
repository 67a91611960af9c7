//! The workflows agencies run through Liaison, independent of transport and storage.
//!
//! A request comes from a [`Principal`]: an officer or service account of one agency, with
//! roles. [`execute`] turns a [`Command`] into events inside a group-commit [`Batch`]: it
//! checks that the principal's roles allow the request, builds the law's inputs from the state
//! the batch sees, asks the law, refuses what the law denies, and appends the events with the
//! recorded decision. Reads go through [`access`], which decides which subjects a principal
//! may know exist (a record the principal may not see is "not found", never "forbidden").
//!
//! This is the one decide-then-record path: the HTTP API and `liaison demo` both use it.

pub mod access;
mod commands;
mod complaints;
mod decide;
mod error;
mod principal;
mod registry;
pub mod release;
pub mod text;
pub mod views;

pub use commands::*;
pub use complaints::{ComplaintAssignment, ComplaintCommand, ComplaintResolution, NewComplaint};
pub use decide::{custody_facts, decide_and_keep, inputs};
pub use error::ServiceError;
pub use principal::{ApiRole, Principal};

/// A new record id: derived from the principal and idempotency key when there is one (keys
/// are scoped to their principal, so a retry names the same record and another principal's
/// same key names another), random otherwise. `prefix` says what kind of record it is.
pub fn new_id(prefix: &str, principal: &str, idempotency_key: Option<&str>) -> String {
    let tail = match idempotency_key {
        Some(k) => hex::encode(&store::leaf_hash(format!("{principal}\n{k}").as_bytes())[..8]),
        None => {
            let mut b = [0u8; 8];
            getrandom::fill(&mut b).expect("the operating system's random source");
            hex::encode(b)
        }
    };
    format!("{prefix}-{}", tail.to_uppercase())
}
