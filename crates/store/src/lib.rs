//! Storage for Liaison's ledger and its projections, behind the [`Store`] trait.
//!
//! A store keeps the log (entry bytes, leaf hashes, stored Merkle nodes, signed checkpoints,
//! idempotency keys) and the projection of current state, and changes both in one
//! transaction per command: after a crash it holds every acknowledged command and no partial
//! one. SQLite ([`SqliteStore`]) is the embedded default and PostgreSQL ([`PgStore`]) the
//! scale-out store; the trait is synchronous and backend-neutral, and both share `engine.rs`.
//!
//! Whole-log operations that work the same on every backend live in [`verify`] (every stored
//! byte checked), [`export`] (exports, imports and mirrors) and [`ops`] (rebuild). This crate does not decide legality: the law engine does that
//! before a command reaches the store.

pub mod engine;
pub mod export;
pub mod ops;
mod pg;
mod sqlite;
pub mod verify;

pub use engine::{Ledger, RECORD_CACHE_MAX};
pub use ledger::merkle::STORED_LEVEL_STRIDE;
pub use pg::{PgDb, PgStore};
pub use sqlite::{Checkpointer, SqliteDb, SqliteStore};

use domain::{Event, Record, RecordKey, RecordKind, Timestamp};
pub use ledger::checkpoint::VerifyingKey;
use ledger::{Entry, SignedCheckpoint};
pub use ledger::{Hash, leaf_hash};

/// Most events one command or import batch may append (`BATCH_EVENTS_MAX`).
pub const BATCH_EVENTS_MAX: usize = 10_000;
/// Longest idempotency key accepted.
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 128;

/// One projection row: `(kind, id, canonical bytes)`.
pub type ProjectionRow = (String, String, Vec<u8>);

/// An event to append; the store assigns its sequence number and recorded time.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NewEvent {
    pub valid_at: Timestamp,
    pub actor: String,
    pub corrects: Option<u64>,
    pub event: Event,
    /// The law's decision on the action, recorded with the event (see `law::RecordedDecision`).
    pub decision: Option<serde_json::Value>,
}

impl NewEvent {
    /// An event no law decision accompanies (reference data, corrections, system events).
    pub fn new(valid_at: Timestamp, actor: impl Into<String>, event: Event) -> Self {
        NewEvent { valid_at, actor: actor.into(), corrects: None, event, decision: None }
    }
}

/// What the store says after a command: where its events landed, and the checkpoint that
/// covers them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub first_seq: u64,
    pub last_seq: u64,
    pub checkpoint: SignedCheckpoint,
    /// True when the idempotency key had been seen and nothing new was appended.
    pub replayed: bool,
}

/// Where one command of a [`Batch`] landed, before its transaction commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub first_seq: u64,
    pub last_seq: u64,
    pub replayed: bool,
    /// For a replay from an earlier transaction, the checkpoint that first covered it; `None`
    /// when the transaction's own checkpoint covers it.
    pub checkpoint: Option<SignedCheckpoint>,
}

impl Pending {
    /// The receipt once the transaction has committed under `checkpoint`.
    pub fn receipt(self, checkpoint: Option<&SignedCheckpoint>) -> Option<Receipt> {
        let checkpoint = self.checkpoint.or_else(|| checkpoint.cloned())?;
        Some(Receipt { first_seq: self.first_seq, last_seq: self.last_seq, checkpoint, replayed: self.replayed })
    }
}

/// Many commands in one write transaction (group commit). Each command sees the state the
/// commands before it left, and a refused command is undone alone: the others still commit.
/// Nothing is durable, and no receipt may be given out, until [`Store::transact`] returns.
pub trait Batch {
    /// One record of state as this transaction sees it.
    fn record(&mut self, key: &RecordKey) -> Result<Option<Record>, StoreError>;
    /// Reads the committed records under `keys` at once (found or absent), so that later
    /// `record` calls and the commands' checks need not go to the database one by one. A hint:
    /// leaving a key out costs a lookup later, never a wrong answer.
    fn prefetch(&mut self, keys: &[RecordKey]) -> Result<(), StoreError>;
    /// The command already appended under `key`, when `request_hash` matches; a different
    /// request under the same key is refused with [`StoreError::IdempotencyConflict`].
    fn find_command(&mut self, key: &str, request_hash: &Hash) -> Result<Option<Pending>, StoreError>;
    /// Appends one command's events (see [`Store::append`]), or refuses them and changes
    /// nothing. A keyed command carries the hash of the request it answers, which its retries
    /// must match.
    fn command(&mut self, events: &[NewEvent], idempotency_key: Option<(&str, Hash)>) -> Result<Pending, StoreError>;
    /// Keeps a version of the law's sources (see [`Store::put_law_version`]).
    fn put_law_version(&mut self, rules_hash: &str, sources: &str) -> Result<(), StoreError>;
    /// Whether the sources under `rules_hash` are kept.
    fn has_law_version(&mut self, rules_hash: &str) -> Result<bool, StoreError>;
    /// The entry at `seq`, if the log has one (as this transaction sees the log).
    fn entry(&mut self, seq: u64) -> Result<Option<StoredEntry>, StoreError>;
}

/// One stored row of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub seq: u64,
    pub bytes: Vec<u8>,
    pub leaf: Hash,
}

impl StoredEntry {
    pub fn decode(&self) -> Result<Entry<Event>, StoreError> {
        serde_json::from_slice(&self.bytes).map_err(|e| StoreError::Corrupt(format!("event {}: {e}", self.seq)))
    }
}

/// One stored row of the log with every column, for verification: the columns besides the
/// bytes are copies of what the bytes say (or, for `subject`, of what they name), which
/// readers use, so `verify` checks each against the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub seq: u64,
    pub bytes: Vec<u8>,
    pub leaf: Vec<u8>,
    pub recorded_us: engine::V,
    pub valid_us: engine::V,
    pub kind: engine::V,
    pub subject: engine::V,
    pub corrects: engine::V,
}

/// One stored idempotency row, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRow {
    pub key: String,
    pub request_hash: Vec<u8>,
    pub first_seq: i64,
    pub last_seq: i64,
    pub checkpoint_size: i64,
}

/// Errors from a store. Domain refusals keep their own type so callers can show them as the
/// user's mistake rather than the system's.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Rejected(#[from] domain::ApplyError),
    #[error("event {index} of the batch: {source}")]
    RejectedAt { index: usize, source: domain::ApplyError },
    #[error("idempotency key {key:?} was already used for a different request")]
    IdempotencyConflict { key: String },
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("the store is not initialized: run `liaison init --db PATH` first")]
    NotInitialized,
    #[error("store data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("the transaction was rolled back after a database error: {0}")]
    Aborted(String),
    /// The database cannot be reached now (a lost connection being re-established).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("PostgreSQL error: {}", pg::describe(.0))]
    Pg(#[from] tokio_postgres::Error),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}

/// The operations every storage backend provides.
pub trait Store {
    /// Appends one command's events atomically, with a signed checkpoint. With an
    /// idempotency key, a retry of the same request returns the first receipt and appends
    /// nothing; a different request under the same key is refused.
    fn append(
        &mut self,
        events: &[NewEvent],
        idempotency_key: Option<&str>,
        now: Timestamp,
    ) -> Result<Receipt, StoreError>;

    /// Runs `f` over one write transaction and commits it with one signed checkpoint covering
    /// everything `f` appended (group commit). Returns that checkpoint, or the latest when
    /// nothing was appended (`None` for an empty log). When `f` fails, nothing persists.
    fn transact(
        &mut self,
        now: Timestamp,
        f: &mut dyn FnMut(&mut dyn Batch) -> Result<(), StoreError>,
    ) -> Result<Option<SignedCheckpoint>, StoreError>;

    /// Appends already-sequenced entries of this log (a mirror's import, a restore) with the
    /// original's signed checkpoints that fall among them: nothing is re-signed. The entries
    /// must continue this log exactly (entries already present, byte for byte, are skipped);
    /// each checkpoint must be this log's, signed by its key, and match the tree at its size.
    /// Returns the first and last sequence numbers appended.
    fn append_entries(
        &mut self,
        entries: &[StoredEntry],
        checkpoints: &[SignedCheckpoint],
    ) -> Result<Option<(u64, u64)>, StoreError>;

    /// Number of events in the log.
    fn size(&mut self) -> Result<u64, StoreError>;

    /// Entries `from..from+limit`, in order.
    fn entries(&mut self, from: u64, limit: usize) -> Result<Vec<StoredEntry>, StoreError>;

    /// Every entry concerning a subject (and corrections of them) recorded at or before
    /// `as_of` (all when `None`), in sequence order.
    fn subject_entries(&mut self, subject: &str, as_of: Option<Timestamp>) -> Result<Vec<Entry<Event>>, StoreError>;

    /// All signed checkpoints, by size.
    fn checkpoints(&mut self) -> Result<Vec<SignedCheckpoint>, StoreError>;

    /// The log's public key.
    fn verifying_key(&mut self) -> Result<VerifyingKey, StoreError>;

    /// One record of current state.
    fn record(&mut self, key: &RecordKey) -> Result<Option<Record>, StoreError>;

    /// Up to `limit` records of one kind with ids after `after`, in id order (a page).
    fn records(&mut self, kind: RecordKind, after: Option<&str>, limit: usize) -> Result<Vec<Record>, StoreError>;

    /// Every stored projection row as `(kind, id, canonical bytes)`, sorted.
    fn projection_rows(&mut self) -> Result<Vec<ProjectionRow>, StoreError>;

    /// Replaces the whole projection (used by `rebuild --repair`), atomically.
    fn replace_projection(&mut self, rows: &[ProjectionRow]) -> Result<(), StoreError>;

    /// Hashes of the proof that entry `seq` is in the tree of `size` entries.
    fn inclusion_proof(&mut self, seq: u64, size: u64) -> Result<Vec<Hash>, StoreError>;

    /// Hashes of the proof that the tree of `old` entries is a prefix of the tree of `new`.
    fn consistency_proof(&mut self, old: u64, new: u64) -> Result<Vec<Hash>, StoreError>;

    /// Keeps the sources of a version of the law (policies, jurisdiction table, geometry) under
    /// the hash decisions quote, so any past decision can be replayed under its own rules.
    fn put_law_version(&mut self, rules_hash: &str, sources: &str) -> Result<(), StoreError>;

    /// The sources kept under a rules hash.
    fn law_version(&mut self, rules_hash: &str) -> Result<Option<String>, StoreError>;

    /// The Merkle root of the first `size` entries, from stored nodes.
    fn root_at(&mut self, size: u64) -> Result<Hash, StoreError>;

    // Raw rows, as stored, for `verify` (which trusts none of them).

    /// Event rows `from..from+limit` with every column, in order.
    fn event_rows(&mut self, from: u64, limit: usize) -> Result<Vec<EventRow>, StoreError>;

    /// Up to `limit` stored Merkle nodes of `level` from index `from` on, as `(index, hash)`.
    fn node_rows(&mut self, level: u32, from: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;

    /// How many Merkle nodes are stored at each level: `(level, count)`.
    fn node_counts(&mut self) -> Result<Vec<(i64, u64)>, StoreError>;

    /// Every checkpoint row as stored: `(size, note)`, by size.
    fn checkpoint_rows(&mut self) -> Result<Vec<(i64, String)>, StoreError>;

    /// The idempotency row under `key`.
    fn command_row(&mut self, key: &str) -> Result<Option<CommandRow>, StoreError>;

    /// Up to `limit` idempotency rows with keys after `after`, by key.
    fn command_rows(&mut self, after: &str, limit: usize) -> Result<Vec<CommandRow>, StoreError>;

    /// Number of idempotency rows.
    fn command_count(&mut self) -> Result<u64, StoreError>;

    /// Every `meta` row: `(key, value)`.
    fn meta_rows(&mut self) -> Result<Vec<(String, String)>, StoreError>;

    /// The rules hashes under which law versions are kept.
    fn law_version_hashes(&mut self) -> Result<Vec<String>, StoreError>;

    /// The signed checkpoint of `size`, if there is one.
    fn checkpoint_at(&mut self, size: u64) -> Result<Option<SignedCheckpoint>, StoreError>;

    /// Keeps a witness's cosignature line of the checkpoint of `size` (`witness`: its verifier
    /// key); a second one for the same size and witness is ignored.
    fn put_cosignature(&mut self, size: u64, witness: &str, line: &str) -> Result<(), StoreError>;

    /// The cosignatures kept for the checkpoint of `size`: `(witness verifier key, line)`.
    fn cosignatures(&mut self, size: u64) -> Result<Vec<(String, String)>, StoreError>;

    /// The largest checkpoint size any witness cosigned.
    fn latest_cosigned(&mut self) -> Result<Option<u64>, StoreError>;

    /// Every cosignature row as stored: `(size, witness, line)`.
    fn cosignature_rows(&mut self) -> Result<Vec<(i64, String, String)>, StoreError>;
}
