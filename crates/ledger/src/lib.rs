//! Liaison's ledger: the append-only, hash-chained, Merkle-rooted event log, as pure logic.
//!
//! - [`entry`]: the envelope every event is wrapped in, and its canonical bytes;
//! - [`merkle`]: the RFC 6962/9162 tree over those bytes, kept as a frontier while appending
//!   and rebuilt from stored perfect subtrees for proofs (`ct-merkle` does the proof math);
//! - [`checkpoint`]: signed checkpoints in the C2SP tlog-checkpoint / signed-note format;
//! - [`verify`]: streaming verification that names the first bad sequence number.
//!
//! No I/O, no clock, no randomness: storage is reached through [`merkle::NodeStore`], times
//! arrive in the entries, and signing keys are built from caller-supplied seed bytes.

pub mod checkpoint;
pub mod entry;
pub mod merkle;
pub mod verify;
pub mod witness;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The hash before the first entry (the `prev` of sequence number 0).
pub const GENESIS_PREV: Hash = [0u8; 32];

pub use checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint, Signer};
pub use entry::{ENTRY_VERSION, Entry, leaf_hash};
pub use verify::{Tamper, Verifier};
