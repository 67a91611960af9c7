//! Liaison's domain model: agencies, officers, subjects, agreements, encounters, custody,
//! detainers and operations, with their lifecycles.
//!
//! This crate is pure: no I/O, no clock, no async. Times arrive as arguments (`valid_at`,
//! `recorded_at`), and every state change is an [`Event`] applied by [`apply`] to a
//! [`Records`] view. It deliberately knows nothing about hashing, storage or the law engine:
//! the ledger makes events tamper-evident, the store persists them, and the law decides
//! whether an action is permitted before it becomes an event.

pub mod agency;
pub mod agreement;
pub mod chain;
pub mod complaint;
pub mod custody;
pub mod demo;
pub mod detainer;
pub mod encounter;
pub mod event;
pub mod identity;
pub mod ids;
pub mod involvement;
pub mod officer;
pub mod operation;
pub mod state;
pub mod subject;
pub mod workload;

pub use event::{Event, SubjectRef};
pub use ids::*;
pub use jiff::Timestamp;
pub use state::{Applied, ApplyError, EventTime, MemoryRecords, Record, RecordKey, RecordKind, Records, apply};

/// An attempted lifecycle transition that the lifecycle does not allow.
///
/// It names the record, the state it was in, what was attempted and why that is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entity} {id}: cannot {attempted} while {from}: {reason}")]
pub struct TransitionError {
    pub entity: &'static str,
    pub id: String,
    pub from: String,
    pub attempted: &'static str,
    pub reason: &'static str,
}
