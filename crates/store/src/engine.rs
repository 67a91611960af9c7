//! The ledger's storage logic, once, over any SQL database that provides [`Sql`].
//!
//! One write transaction appends whole commands: their entries, the Merkle nodes they
//! complete, the projection rows they change, their idempotency keys, and a signed checkpoint
//! at the end. The Merkle frontier and the last leaf hash are cached in memory and re-read
//! when another process has appended since. SQLite (`sqlite.rs`) and PostgreSQL (`pg.rs`)
//! differ only in how they connect, open transactions and create their tables.
//!
//! SQL here is the dialect both accept: `$1`-style parameters numbered in order of first
//! appearance, `ON CONFLICT` upserts, `SAVEPOINT`.

use crate::{
    BATCH_EVENTS_MAX, Batch, CommandRow, EventRow, IDEMPOTENCY_KEY_BYTES_MAX, NewEvent, Pending, ProjectionRow,
    Receipt, Store, StoreError, StoredEntry, VerifyingKey,
};
use domain::{Event, Record, RecordKey, RecordKind, Records, Timestamp};
use ledger::merkle::{Frontier, NodeStore};
use ledger::{Checkpoint, Entry, GENESIS_PREV, Hash, SignedCheckpoint, Signer, leaf_hash};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// A value bound to or read from a statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum V {
    Null,
    I(i64),
    T(String),
    B(Vec<u8>),
}

impl V {
    fn i(&self) -> Result<i64, StoreError> {
        match self {
            V::I(n) => Ok(*n),
            other => Err(StoreError::Corrupt(format!("expected an integer, found {other:?}"))),
        }
    }
    fn u(&self) -> Result<u64, StoreError> {
        u64::try_from(self.i()?).map_err(|_| StoreError::Corrupt("a negative sequence number".into()))
    }
    fn t(self) -> Result<String, StoreError> {
        match self {
            V::T(s) => Ok(s),
            other => Err(StoreError::Corrupt(format!("expected text, found {other:?}"))),
        }
    }
    fn opt_t(self) -> Result<Option<String>, StoreError> {
        match self {
            V::Null => Ok(None),
            v => v.t().map(Some),
        }
    }
    fn b(self) -> Result<Vec<u8>, StoreError> {
        match self {
            V::B(b) => Ok(b),
            other => Err(StoreError::Corrupt(format!("expected bytes, found {other:?}"))),
        }
    }
    /// The bytes of a blob or text cell as stored (empty for anything else), for verification.
    pub fn raw(self) -> Vec<u8> {
        match self {
            V::B(b) => b,
            V::T(t) => t.into_bytes(),
            _ => Vec::new(),
        }
    }
    fn hash(self) -> Result<Hash, StoreError> {
        self.b()?.try_into().map_err(|_| StoreError::Corrupt("a stored hash is not 32 bytes".into()))
    }
}

fn n(x: u64) -> V {
    V::I(x as i64)
}

/// What the engine needs from a database connection inside a transaction.
pub trait Sql {
    /// Runs a statement whose result the caller does not need. A backend may hold it back
    /// and send it with the next `query` or the commit (PostgreSQL pipelines them), so its
    /// error may surface there instead; only statements that cannot fail on a sound database
    /// belong here, or ones whose failure should fail the whole transaction.
    fn exec(&mut self, sql: &'static str, params: &[V]) -> Result<(), StoreError>;
    /// Runs a query; returns every row.
    fn query(&mut self, sql: &'static str, params: &[V]) -> Result<Vec<Vec<V>>, StoreError>;

    /// The projection bodies of those of `keys` that exist. One query per key here; a backend
    /// where each query is a round trip reads them all at once.
    fn records(&mut self, keys: &[RecordKey]) -> Result<Vec<(RecordKey, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for key in keys {
            let params = [V::T(key.kind.as_str().into()), V::T(key.id.clone())];
            if let Some(mut row) = self.query(SELECT_RECORD, &params)?.into_iter().next() {
                out.push((key.clone(), row.swap_remove(0).b()?));
            }
        }
        Ok(out)
    }

    /// Starts a unit of work that [`Sql::rollback_to_savepoint`] can undo (not nested).
    fn savepoint(&mut self) -> Result<(), StoreError> {
        self.exec("SAVEPOINT command", &[])
    }
    /// Keeps the unit's work.
    fn release_savepoint(&mut self) -> Result<(), StoreError> {
        self.exec("RELEASE SAVEPOINT command", &[])
    }
    /// Undoes the unit's work.
    fn rollback_to_savepoint(&mut self) -> Result<(), StoreError> {
        self.exec("ROLLBACK TO SAVEPOINT command", &[])?;
        self.exec("RELEASE SAVEPOINT command", &[])
    }
}

/// The inserts a write transaction repeats for every command (a backend may send many of one
/// kind as one statement: see `pg.rs`).
pub(crate) const INSERT_EVENT: &str = "INSERT INTO event (seq, bytes, leaf, recorded_us, valid_us, type, subject, corrects) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
pub(crate) const INSERT_MERKLE_NODE: &str = "INSERT INTO merkle_node (level, idx, hash) VALUES ($1, $2, $3)";
pub(crate) const INSERT_PROJECTION: &str = "INSERT INTO projection (kind, id, body) VALUES ($1, $2, $3)";
pub(crate) const UPSERT_PROJECTION: &str = "INSERT INTO projection (kind, id, body) VALUES ($1, $2, $3) ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body";
pub(crate) const INSERT_COMMAND: &str = "INSERT INTO command (idempotency_key, request_hash, first_seq, last_seq, checkpoint_size) VALUES ($1, $2, $3, $4, 0)";

fn one(tx: &mut dyn Sql, sql: &'static str, params: &[V]) -> Result<Option<Vec<V>>, StoreError> {
    Ok(tx.query(sql, params)?.into_iter().next())
}

/// How a backend opens transactions.
pub trait Backend {
    /// Runs `f` in a write transaction that excludes other writers; commits when `f`
    /// succeeds and `commit` is true, rolls back otherwise.
    fn write_tx<T>(
        &mut self,
        commit: bool,
        f: impl FnOnce(&mut dyn Sql) -> Result<T, StoreError>,
    ) -> Result<T, StoreError>;
    /// Runs `f` on one consistent snapshot.
    fn read_tx<T>(&mut self, f: impl FnMut(&mut dyn Sql) -> Result<T, StoreError>) -> Result<T, StoreError>;
}

/// The right edge of the log, cached between commands.
#[derive(Clone)]
struct Head {
    frontier: Frontier,
    last_leaf: Hash,
    last_recorded_us: i64,
    /// Whether the log's last signed checkpoint is at its end and matches `frontier`.
    vouched: bool,
}

/// Most projection records kept in memory (`RECORD_CACHE_MAX`); the cache is emptied when full.
pub const RECORD_CACHE_MAX: usize = 200_000;

/// Committed records by key.
type RecordCache = HashMap<RecordKey, Record>;
type BlockCache = HashMap<(u32, u64), Vec<Hash>>;

/// A store: a backend, the log's origin and signing key, and what is cached between commands.
pub struct Ledger<B> {
    pub(crate) db: B,
    pub(crate) origin: String,
    key_path: PathBuf,
    signer: Option<Signer>,
    head: Option<Head>,
    /// Committed projection records, so that a command's checks need not read them back.
    /// Valid only while `head` is; cleared when another writer has appended.
    cache: RecordCache,
    /// Immutable upper Merkle blocks, for proofs.
    upper_blocks: BlockCache,
    /// Rules hashes known to be kept (law versions are never removed). Looking one up in the
    /// table can cost a read of its sources, which are megabytes.
    law_versions: HashSet<String>,
    /// The log's public key, read from `meta` once.
    public_key: Option<VerifyingKey>,
}

/// What a write hands its transaction code.
struct Ctx<'a> {
    tx: &'a mut dyn Sql,
    head: &'a mut Head,
    /// `None` for a write that only copies entries already signed (a mirror's import).
    signer: Option<&'a Signer>,
    key: &'a VerifyingKey,
    origin: &'a str,
    /// The recorded time of this transaction's appends, fixed by its first append.
    recorded_us: Option<i64>,
    cache: &'a RecordCache,
    /// Records written by the commands of this transaction so far.
    written: BTreeMap<RecordKey, Record>,
    /// Committed records this transaction read from the database, or found absent (a new
    /// record's id, looked up by [`Batch::prefetch`] for the whole group); those found go to
    /// the cache once it commits (officers, agencies, agreements are read by every decision
    /// and rarely written).
    read: HashMap<RecordKey, Option<Record>>,
    law_versions: &'a mut HashSet<String>,
}

fn us(t: Timestamp) -> i64 {
    t.as_microsecond()
}

/// A new log's identity: its origin, its signer, and the `meta` rows that record them.
pub(crate) struct Identity {
    pub origin: String,
    pub signer: Signer,
    pub meta: Vec<(&'static str, String)>,
}

/// A new log's identity, with a fresh signing key written to `key_path` (mode 0600).
pub(crate) fn new_identity(key_path: &Path) -> Result<Identity, StoreError> {
    let mut seed = [0u8; 32];
    let mut log_id = [0u8; 8];
    getrandom::fill(&mut seed)
        .and_then(|()| getrandom::fill(&mut log_id))
        .map_err(|e| StoreError::Invalid(format!("no randomness for the signing key: {e}")))?;
    write_secret(key_path, &hex::encode(seed))
        .map_err(|source| StoreError::Io { context: format!("writing signing key {}", key_path.display()), source })?;
    let origin = format!("liaison/{}", hex::encode(log_id));
    let signer = Signer::from_seed(&origin, &seed);
    let meta = identity_meta(&origin, &signer.verifying_key());
    Ok(Identity { origin, signer, meta })
}

/// The `meta` rows that name a log: schema version, origin and public key.
pub(crate) fn identity_meta(origin: &str, key: &VerifyingKey) -> Vec<(&'static str, String)> {
    vec![
        ("schema_version", crate::verify::SCHEMA_VERSION.to_string()),
        ("origin", origin.to_string()),
        ("public_key", hex::encode(key.as_bytes())),
        ("verifier_key", ledger::checkpoint::verifier_key(origin, key)),
    ]
}

fn write_secret(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

impl<B: Backend> Ledger<B> {
    pub(crate) fn new(db: B, origin: String, key_path: PathBuf, signer: Option<Signer>) -> Self {
        Ledger {
            db,
            origin,
            key_path,
            signer,
            head: None,
            cache: HashMap::new(),
            upper_blocks: HashMap::new(),
            law_versions: HashSet::new(),
            public_key: None,
        }
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The signed-note verifier key, for agencies that keep checkpoints.
    pub fn verifier_key(&mut self) -> Result<String, StoreError> {
        self.meta("verifier_key")
    }

    fn meta(&mut self, key: &str) -> Result<String, StoreError> {
        let key = key.to_string();
        self.db.read_tx(|tx| {
            one(tx, "SELECT value FROM meta WHERE key = $1", &[V::T(key.clone())])?
                .ok_or_else(|| StoreError::Corrupt(format!("meta {key} is missing")))?
                .swap_remove(0)
                .t()
        })
    }

    fn signer(&mut self) -> Result<&Signer, StoreError> {
        if self.signer.is_none() {
            let kp = &self.key_path;
            if !kp.exists() {
                return Err(StoreError::Invalid(format!(
                    "this store has no signing key ({}): it cannot record new events (a mirror takes only \
                     entries its origin signed, by `liaison import`)",
                    kp.display()
                )));
            }
            let text = std::fs::read_to_string(kp).map_err(|source| StoreError::Io {
                context: format!("reading signing key {}", kp.display()),
                source,
            })?;
            let mut seed = [0u8; 32];
            hex::decode_to_slice(text.trim(), &mut seed)
                .map_err(|_| StoreError::Corrupt(format!("signing key {} is not 64 hex digits", kp.display())))?;
            let signer = Signer::from_seed(&self.origin, &seed);
            let stored = hex::encode(self.verifying_key()?.as_bytes());
            if hex::encode(signer.verifying_key().as_bytes()) != stored {
                return Err(StoreError::Corrupt(format!(
                    "signing key {} does not belong to this store",
                    self.key_path.display()
                )));
            }
            self.signer = Some(signer);
        }
        Ok(self.signer.as_ref().expect("set above"))
    }

    /// Runs `f` in one write transaction with an up-to-date head; on error nothing persists
    /// and the cached head is left as it was. A write that signs (`sign`) needs the signing
    /// key, and a head vouched for by the last signed checkpoint.
    fn write<T>(
        &mut self,
        commit: bool,
        sign: bool,
        f: impl FnOnce(&mut Ctx) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let signer = if sign {
            self.signer()?;
            self.signer.take()
        } else {
            None
        };
        let key = self.verifying_key()?;
        let (cached_head, origin) = (self.head.clone(), self.origin.clone());
        let (cache, law_versions) = (&mut self.cache, &mut self.law_versions);
        let result = self.db.write_tx(commit, |tx| {
            let (mut head, reloaded) = load_head(tx, cached_head, &origin, &key)?;
            if reloaded {
                cache.clear();
            }
            if sign && !head.vouched {
                return Err(StoreError::Corrupt(format!(
                    "the log's last {} events are not covered by a signed checkpoint that matches them; \
                     nothing more is signed until `liaison verify` finds why",
                    head.frontier.size()
                )));
            }
            let mut ctx = Ctx {
                tx,
                head: &mut head,
                signer: signer.as_ref(),
                key: &key,
                origin: &origin,
                recorded_us: None,
                cache,
                written: BTreeMap::new(),
                read: HashMap::new(),
                law_versions,
            };
            let out = f(&mut ctx)?;
            let (written, read) = (ctx.written, ctx.read);
            Ok((out, head, written, read))
        });
        if signer.is_some() {
            self.signer = signer;
        }
        match result {
            Ok((out, head, written, read)) => {
                if commit {
                    self.head = Some(head);
                    if self.cache.len() + written.len() + read.len() > RECORD_CACHE_MAX {
                        self.cache.clear();
                    }
                    // What was read is what was committed before, unless this transaction
                    // wrote it: the writes go in last.
                    self.cache.extend(read.into_iter().filter_map(|(k, r)| Some((k, r?))));
                    self.cache.extend(written);
                } else {
                    self.law_versions.clear();
                }
                Ok(out)
            }
            Err(e) => {
                // A law version seen only inside this transaction is gone with it.
                self.law_versions.clear();
                Err(e)
            }
        }
    }
}

/// Re-reads the head when the cache is missing or stale (another writer appended).
/// Returns the head and whether it had to be re-read.
///
/// Nothing stored beside the entries is trusted to extend the log: the last entry's hash and
/// recorded time are computed from its bytes, and the frontier (stored nodes) must give the
/// root that the last signed checkpoint signed, at the log's size ([`Head::vouched`]).
fn load_head(
    tx: &mut dyn Sql,
    cached: Option<Head>,
    origin: &str,
    key: &VerifyingKey,
) -> Result<(Head, bool), StoreError> {
    let size = log_size(tx)?;
    if let Some(h) = cached.filter(|h| h.frontier.size() == size) {
        return Ok((h, false));
    }
    let frontier = Frontier::load(&mut TxNodes::new(tx), size)?;
    if size == 0 {
        return Ok((Head { frontier, last_leaf: GENESIS_PREV, last_recorded_us: i64::MIN, vouched: true }, true));
    }
    let bytes = one(tx, "SELECT bytes FROM event WHERE seq = $1", &[n(size - 1)])?
        .ok_or_else(|| StoreError::Corrupt(format!("event {} is missing", size - 1)))?
        .swap_remove(0)
        .raw();
    #[derive(serde::Deserialize)]
    struct Times {
        recorded_at: Timestamp,
    }
    let times: Times = serde_json::from_slice(&bytes)
        .map_err(|e| StoreError::Corrupt(format!("event {} cannot be read: {e}", size - 1)))?;
    let last_leaf = leaf_hash(&bytes);
    // The signed root must be the frontier's, and must include the last entry's bytes (an
    // inclusion proof from the stored nodes: a wrong node cannot make it verify).
    let signed = match one(tx, "SELECT note FROM checkpoint WHERE size = $1", &[n(size)])? {
        None => None,
        Some(mut row) => SignedCheckpoint::parse(&String::from_utf8_lossy(&row.swap_remove(0).raw()))
            .ok()
            .filter(|c| c.verify(key).is_ok() && c.checkpoint.origin == origin && c.checkpoint.size == size),
    };
    let vouched = match signed {
        Some(c) if c.checkpoint.root == frontier.root() => {
            let proof = ledger::merkle::inclusion_proof(&mut TxNodes::new(tx), size, size - 1)?;
            ledger::merkle::verify_inclusion(&c.checkpoint.root, size, size - 1, &bytes, &proof)
        }
        _ => false,
    };
    Ok((Head { frontier, last_leaf, last_recorded_us: times.recorded_at.as_microsecond(), vouched }, true))
}

/// How far the log's last recorded time may be ahead of this server's clock before it
/// refuses to record: it never stamps new events later than the clock allows.
pub const CLOCK_AHEAD_MAX: jiff::SignedDuration = jiff::SignedDuration::from_secs(300);

/// The recorded time of a transaction's appends: its clock reading, or just after the last
/// commit's (each commit's time is later than the one before, which is how `verify` knows
/// where commits end), but never far past the clock.
fn recorded_time(c: &mut Ctx, now: Timestamp) -> Result<i64, StoreError> {
    if let Some(t) = c.recorded_us {
        return Ok(t);
    }
    let last = c.head.last_recorded_us;
    let limit = us(now).saturating_add(CLOCK_AHEAD_MAX.as_micros() as i64);
    if last >= limit {
        return Err(StoreError::Corrupt(format!(
            "the log's last event was recorded at {}, more than {} s ahead of this server's clock ({now}); \
             refusing to record events in the future: check the clock",
            Timestamp::from_microsecond(last).map_or_else(|_| last.to_string(), |t| t.to_string()),
            CLOCK_AHEAD_MAX.as_secs(),
        )));
    }
    let t = us(now).max(last.saturating_add(1));
    c.recorded_us = Some(t);
    Ok(t)
}

fn log_size(tx: &mut dyn Sql) -> Result<u64, StoreError> {
    one(tx, "SELECT COALESCE(MAX(seq) + 1, 0) FROM event", &[])?.expect("an aggregate returns a row")[0].u()
}

/// Stored Merkle nodes as seen inside a transaction (level 0 = the event table's leaves).
///
/// Reads whole aligned blocks of 16 nodes and keeps them for the life of the value: every
/// sibling a proof needs within one stride of levels lies in the same block, so a proof costs
/// one range read per four tree levels.
struct TxNodes<'a> {
    tx: &'a mut dyn Sql,
    blocks: HashMap<(u32, u64), Vec<Hash>>,
    /// Complete blocks at level 8 and above, kept across proofs: a perfect subtree's hash
    /// never changes, and these few blocks are what every proof reads.
    upper: Option<&'a mut BlockCache>,
}

const BLOCK: u64 = 1 << ledger::merkle::STORED_LEVEL_STRIDE;
/// Lowest level whose complete blocks are kept across proofs.
const UPPER_LEVEL_MIN: u32 = 2 * ledger::merkle::STORED_LEVEL_STRIDE;
/// Most blocks kept across proofs (`BLOCK_CACHE_MAX`, ~50 MB); emptied when full.
const BLOCK_CACHE_MAX: usize = 100_000;

impl<'a> TxNodes<'a> {
    fn new(tx: &'a mut dyn Sql) -> Self {
        TxNodes { tx, blocks: HashMap::new(), upper: None }
    }

    fn with_upper(tx: &'a mut dyn Sql, upper: &'a mut BlockCache) -> Self {
        TxNodes { tx, blocks: HashMap::new(), upper: Some(upper) }
    }

    /// The stored nodes of block `block` at `level` (fewer than 16 at the right edge).
    fn block(&mut self, level: u32, block: u64) -> Result<&Vec<Hash>, StoreError> {
        if let Some(nodes) = self.upper.as_ref().and_then(|u| u.get(&(level, block))) {
            let nodes = nodes.clone();
            self.blocks.insert((level, block), nodes);
        }
        if !self.blocks.contains_key(&(level, block)) {
            let first = block * BLOCK;
            let rows = if level == 0 {
                self.tx.query(
                    "SELECT leaf FROM event WHERE seq >= $1 AND seq < $1 + $2 ORDER BY seq",
                    &[n(first), n(BLOCK)],
                )?
            } else {
                self.tx.query(
                    "SELECT hash FROM merkle_node WHERE level = $1 AND idx >= $2 AND idx < $2 + $3 ORDER BY idx",
                    &[V::I(i64::from(level)), n(first), n(BLOCK)],
                )?
            };
            let nodes: Vec<Hash> = rows.into_iter().map(|mut r| r.swap_remove(0).hash()).collect::<Result<_, _>>()?;
            if let Some(upper) =
                self.upper.as_mut().filter(|_| level >= UPPER_LEVEL_MIN && nodes.len() == BLOCK as usize)
            {
                if upper.len() >= BLOCK_CACHE_MAX {
                    upper.clear();
                }
                upper.insert((level, block), nodes.clone());
            }
            self.blocks.insert((level, block), nodes);
        }
        Ok(&self.blocks[&(level, block)])
    }
}

impl NodeStore for TxNodes<'_> {
    type Error = StoreError;
    fn stored_nodes(&mut self, level: u32, index: u64, count: u64) -> Result<Vec<Hash>, StoreError> {
        let mut out = Vec::with_capacity(count as usize);
        let mut i = index;
        while i < index + count {
            let (block, offset) = (i / BLOCK, (i % BLOCK) as usize);
            let take = ((index + count - i) as usize).min(BLOCK as usize - offset);
            let nodes = self.block(level, block)?;
            let part = nodes
                .get(offset..offset + take)
                .ok_or_else(|| StoreError::Corrupt(format!("Merkle nodes at level {level} from {i} are missing")))?;
            out.extend_from_slice(part);
            i += take as u64;
        }
        Ok(out)
    }
}

/// Current state read through a transaction: this command's writes in an overlay, over the
/// earlier commands' writes in the same transaction, over the committed-record cache.
struct TxRecords<'a> {
    tx: &'a mut dyn Sql,
    cache: &'a RecordCache,
    below: &'a BTreeMap<RecordKey, Record>,
    overlay: BTreeMap<RecordKey, Record>,
    /// Records read from the database (committed state: this transaction's own writes are
    /// always found in `below` or `overlay` first).
    read: &'a mut HashMap<RecordKey, Option<Record>>,
}

impl Records for TxRecords<'_> {
    fn get(&mut self, key: &RecordKey) -> Result<Option<Record>, domain::ApplyError> {
        self.read(key).map_err(|e| domain::ApplyError::Storage(e.to_string()))
    }
    fn put(&mut self, record: Record) {
        self.overlay.insert(record.key(), record);
    }
}

pub(crate) const SELECT_RECORD: &str = "SELECT body FROM projection WHERE kind = $1 AND id = $2";

fn read_record(tx: &mut dyn Sql, key: &RecordKey) -> Result<Option<Record>, StoreError> {
    let row = one(tx, SELECT_RECORD, &[V::T(key.kind.as_str().into()), V::T(key.id.clone())])?;
    row.map(|mut r| decode_record(key, &r.swap_remove(0).b()?)).transpose()
}

fn decode_record(key: &RecordKey, body: &[u8]) -> Result<Record, StoreError> {
    Record::from_bytes(key.kind, body)
        .map_err(|e| StoreError::Corrupt(format!("projection {}/{}: {e}", key.kind.as_str(), key.id)))
}

impl TxRecords<'_> {
    fn read(&mut self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        if let Some(r) = self.overlay.get(key).or_else(|| self.below.get(key)) {
            return Ok(Some(r.clone()));
        }
        if let Some(r) = self.read.get(key) {
            return Ok(r.clone());
        }
        if let Some(r) = self.cache.get(key) {
            return Ok(Some(r.clone()));
        }
        let found = read_record(self.tx, key)?;
        self.read.insert(key.clone(), found.clone());
        Ok(found)
    }

    /// Writes the overlay to the projection table and returns it, for the cache.
    fn flush(self) -> Result<Vec<(RecordKey, Record)>, StoreError> {
        for (key, record) in &self.overlay {
            self.tx.exec(
                UPSERT_PROJECTION,
                &[V::T(key.kind.as_str().into()), V::T(key.id.clone()), V::B(record.to_bytes())],
            )?;
        }
        Ok(self.overlay.into_iter().collect())
    }
}

/// Appends one entry's row and the Merkle nodes it completes.
fn insert_entry(tx: &mut dyn Sql, head: &mut Head, bytes: &[u8], meta: &EntryMeta) -> Result<Hash, StoreError> {
    let seq = head.frontier.size();
    let leaf = leaf_hash(bytes);
    tx.exec(
        INSERT_EVENT,
        &[
            n(seq),
            V::B(bytes.to_vec()),
            V::B(leaf.to_vec()),
            V::I(meta.recorded_us),
            V::I(meta.valid_us),
            V::T(meta.kind.into()),
            meta.subject.clone().map_or(V::Null, V::T),
            meta.corrects.map_or(V::Null, n),
        ],
    )?;
    for node in head.frontier.push(leaf) {
        tx.exec(INSERT_MERKLE_NODE, &[V::I(i64::from(node.level)), n(node.index), V::B(node.hash.to_vec())])?;
    }
    head.last_leaf = leaf;
    head.last_recorded_us = meta.recorded_us;
    Ok(leaf)
}

struct EntryMeta {
    recorded_us: i64,
    valid_us: i64,
    kind: &'static str,
    subject: Option<String>,
    corrects: Option<u64>,
}

/// Applies an event to the overlay and works out which subject the entry concerns.
fn apply_event<E: std::borrow::Borrow<Event>>(
    recs: &mut TxRecords,
    seq: u64,
    e: &Entry<E>,
) -> Result<Option<String>, StoreError> {
    check_correction(recs.tx, seq, e)?;
    let applied = domain::apply(recs, e.event.borrow(), domain::EventTime { valid_at: e.valid_at })?;
    Ok(match (applied.subject, e.corrects) {
        (Some(s), _) => Some(s.to_string()),
        (None, Some(c)) => match one(recs.tx, "SELECT subject FROM event WHERE seq = $1", &[n(c)])? {
            Some(mut r) => r.swap_remove(0).opt_t()?,
            None => None,
        },
        (None, None) => None,
    })
}

fn check_correction<E: std::borrow::Borrow<Event>>(tx: &mut dyn Sql, seq: u64, e: &Entry<E>) -> Result<(), StoreError> {
    let event = e.event.borrow();
    match (event.is_correction(), e.corrects) {
        (true, None) => Err(StoreError::Invalid(format!("{} must name the event it corrects", event.type_name()))),
        (false, Some(_)) => Err(StoreError::Invalid(format!(
            "{} is not a correction and cannot name an event it corrects",
            event.type_name()
        ))),
        (true, Some(c)) if c >= seq => {
            Err(StoreError::Invalid(format!("event {seq} cannot correct event {c}, which is not earlier")))
        }
        (true, Some(c)) => match one(tx, "SELECT seq FROM event WHERE seq = $1", &[n(c)])? {
            Some(_) => Ok(()),
            None => Err(StoreError::Invalid(format!("corrected event {c} does not exist"))),
        },
        (false, None) => Ok(()),
    }
}

fn sign_checkpoint(
    tx: &mut dyn Sql,
    head: &Head,
    signer: &Signer,
    origin: &str,
) -> Result<SignedCheckpoint, StoreError> {
    let cp =
        signer.sign(Checkpoint { origin: origin.to_string(), size: head.frontier.size(), root: head.frontier.root() });
    tx.exec("INSERT INTO checkpoint (size, note) VALUES ($1, $2)", &[n(cp.checkpoint.size), V::T(cp.to_note())])?;
    Ok(cp)
}

fn checkpoint_at(tx: &mut dyn Sql, size: u64) -> Result<SignedCheckpoint, StoreError> {
    let note = one(tx, "SELECT note FROM checkpoint WHERE size = $1", &[n(size)])?
        .ok_or_else(|| StoreError::Corrupt(format!("checkpoint {size} is missing")))?
        .swap_remove(0)
        .t()?;
    SignedCheckpoint::parse(&note).map_err(|e| StoreError::Corrupt(format!("checkpoint {size}: {e}")))
}

fn append_events(
    c: &mut Ctx,
    events: &[NewEvent],
    key: Option<(&str, Hash)>,
    now: Timestamp,
) -> Result<(u64, u64), StoreError> {
    let recorded_us = recorded_time(c, now)?;
    let head = &mut *c.head;
    let first = head.frontier.size();
    let recorded_at = Timestamp::from_microsecond(recorded_us).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let mut recs =
        TxRecords { tx: &mut *c.tx, cache: c.cache, below: &c.written, overlay: BTreeMap::new(), read: &mut c.read };
    for (index, ne) in events.iter().enumerate() {
        let seq = head.frontier.size();
        let entry = Entry {
            v: ledger::ENTRY_VERSION,
            seq,
            prev: head.last_leaf,
            recorded_at,
            valid_at: ne.valid_at,
            actor: ne.actor.clone(),
            idempotency_key: key.map(|k| k.0.to_string()),
            request_hash: key.map(|k| k.1),
            corrects: ne.corrects,
            event: &ne.event,
            decision: ne.decision.clone(),
        };
        let subject = match apply_event(&mut recs, seq, &entry) {
            Ok(s) => s,
            Err(StoreError::Rejected(source)) => {
                return Err(StoreError::RejectedAt { index, source });
            }
            Err(e) => return Err(e),
        };
        let meta = EntryMeta {
            recorded_us,
            valid_us: us(ne.valid_at),
            kind: ne.event.type_name(),
            subject,
            corrects: ne.corrects,
        };
        insert_entry(recs.tx, head, &entry.to_bytes(), &meta)?;
    }
    let last = head.frontier.size() - 1;
    let written = recs.flush()?;
    c.written.extend(written);
    Ok((first, last))
}

fn validate_request(events: &[NewEvent], key: Option<&str>) -> Result<(), StoreError> {
    if events.is_empty() {
        return Err(StoreError::Invalid("a command must carry at least one event".into()));
    }
    if events.len() > BATCH_EVENTS_MAX {
        return Err(StoreError::Invalid(format!("a command may carry at most {BATCH_EVENTS_MAX} events")));
    }
    if let Some(k) = key
        && (k.is_empty() || k.len() > IDEMPOTENCY_KEY_BYTES_MAX || k.chars().any(char::is_control))
    {
        return Err(StoreError::Invalid(format!(
            "idempotency key must be 1..={IDEMPOTENCY_KEY_BYTES_MAX} bytes without control characters"
        )));
    }
    if let Some(e) = events.iter().find(|e| e.actor.trim().is_empty()) {
        return Err(StoreError::Invalid(format!("{} has no actor", e.event.type_name())));
    }
    Ok(())
}

fn append_entries_tx(
    c: &mut Ctx,
    entries: &[StoredEntry],
    checkpoints: &[SignedCheckpoint],
) -> Result<Option<(u64, u64)>, StoreError> {
    let head = &mut *c.head;
    let mut signed: BTreeMap<u64, &SignedCheckpoint> = BTreeMap::new();
    for cp in checkpoints {
        if cp.checkpoint.origin != c.origin {
            return Err(StoreError::Invalid(format!(
                "checkpoint of size {} is of log {}, not {}",
                cp.checkpoint.size, cp.checkpoint.origin, c.origin
            )));
        }
        cp.verify(c.key).map_err(|e| StoreError::Invalid(format!("checkpoint of size {}: {e}", cp.checkpoint.size)))?;
        signed.insert(cp.checkpoint.size, cp);
    }
    let mut recs =
        TxRecords { tx: &mut *c.tx, cache: c.cache, below: &c.written, overlay: BTreeMap::new(), read: &mut c.read };
    let mut first = None;
    for se in entries {
        let size = head.frontier.size();
        if se.seq < size {
            let stored = one(recs.tx, "SELECT bytes FROM event WHERE seq = $1", &[n(se.seq)])?
                .ok_or_else(|| StoreError::Corrupt(format!("event {} is missing", se.seq)))?
                .swap_remove(0)
                .raw();
            if stored != se.bytes {
                return Err(StoreError::Invalid(format!(
                    "event {} differs from the event already stored at {}",
                    se.seq, se.seq
                )));
            }
            continue;
        }
        if se.seq > size {
            return Err(StoreError::Invalid(format!(
                "event {} does not continue the log, which has {size} events",
                se.seq
            )));
        }
        let entry = se.decode()?;
        if entry.prev != head.last_leaf {
            return Err(StoreError::Invalid(format!(
                "event {}: its prev hash does not match event {}",
                se.seq,
                se.seq.wrapping_sub(1)
            )));
        }
        if entry.to_bytes() != se.bytes {
            return Err(StoreError::Invalid(format!("event {} is not in canonical form", se.seq)));
        }
        let subject = apply_event(&mut recs, se.seq, &entry)?;
        let meta = EntryMeta {
            recorded_us: us(entry.recorded_at),
            valid_us: us(entry.valid_at),
            kind: entry.event.type_name(),
            subject,
            corrects: entry.corrects,
        };
        insert_entry(recs.tx, head, &se.bytes, &meta)?;
        if let Some(k) = &entry.idempotency_key {
            let hash = entry.request_hash.map_or_else(|| vec![0; 32], |h| h.to_vec());
            recs.tx.exec(
                "INSERT INTO command (idempotency_key, request_hash, first_seq, last_seq, checkpoint_size) VALUES ($1, $2, $3, $3, 0)
                 ON CONFLICT (idempotency_key) DO UPDATE SET last_seq = excluded.last_seq",
                &[V::T(k.clone()), V::B(hash), n(se.seq)],
            )?;
        }
        if let Some(cp) = signed.remove(&head.frontier.size()) {
            if cp.checkpoint.root != head.frontier.root() {
                return Err(StoreError::Invalid(format!(
                    "the signed checkpoint of size {} does not match events 0..={}",
                    cp.checkpoint.size, se.seq
                )));
            }
            recs.tx.exec(
                "INSERT INTO checkpoint (size, note) VALUES ($1, $2)",
                &[n(cp.checkpoint.size), V::T(cp.to_note())],
            )?;
        }
        first.get_or_insert(se.seq);
    }
    // What is left must be a checkpoint this store already holds, as it holds it.
    for (size, cp) in signed {
        let stored = one(recs.tx, "SELECT note FROM checkpoint WHERE size = $1", &[n(size)])?;
        if size > head.frontier.size() || stored.is_none_or(|mut r| r.swap_remove(0).raw() != cp.to_note().into_bytes())
        {
            return Err(StoreError::Invalid(format!(
                "the checkpoint of size {size} matches no entry here (the log has {} events)",
                head.frontier.size()
            )));
        }
    }
    let Some(first_seq) = first else {
        return Ok(None);
    };
    let written = recs.flush()?;
    c.written.extend(written);
    Ok(Some((first_seq, c.head.frontier.size() - 1)))
}

/// One command inside a write transaction: the idempotency check, then its events. The
/// checkpoint that covers a command is looked up when it is replayed ([`covering_checkpoint`]);
/// the `command.checkpoint_size` column is no longer written (it was, by an `UPDATE` that
/// scanned the whole table on every commit).
fn command_tx(
    c: &mut Ctx,
    events: &[NewEvent],
    key: Option<(&str, Hash)>,
    now: Timestamp,
) -> Result<Pending, StoreError> {
    validate_request(events, key.map(|k| k.0))?;
    if let Some((k, hash)) = key
        && let Some(seen) = find_command(c.tx, k, &hash)?
    {
        return Ok(seen);
    }
    // The command row goes first, so that once `append_events` has added to `c.written`
    // nothing more can fail.
    if let Some((k, hash)) = key {
        let first = c.head.frontier.size();
        c.tx.exec(
            INSERT_COMMAND,
            &[V::T(k.to_string()), V::B(hash.to_vec()), n(first), n(first + events.len() as u64 - 1)],
        )?;
    }
    let (first_seq, last_seq) = append_events(c, events, key, now)?;
    Ok(Pending { first_seq, last_seq, replayed: false, checkpoint: None })
}

/// The earlier command under idempotency key `k`, if any; a different request under the
/// same key is refused.
fn find_command(tx: &mut dyn Sql, k: &str, request_hash: &Hash) -> Result<Option<Pending>, StoreError> {
    let Some(row) = one(
        tx,
        "SELECT request_hash, first_seq, last_seq FROM command WHERE idempotency_key = $1",
        &[V::T(k.to_string())],
    )?
    else {
        return Ok(None);
    };
    let [hash, first, last]: [V; 3] =
        row.try_into().map_err(|_| StoreError::Corrupt("a command row has the wrong shape".into()))?;
    if hash.b()? != request_hash {
        return Err(StoreError::IdempotencyConflict { key: k.to_string() });
    }
    let last = last.u()?;
    let checkpoint = covering_checkpoint(tx, last)?;
    Ok(Some(Pending { first_seq: first.u()?, last_seq: last, replayed: true, checkpoint }))
}

/// The first checkpoint that covers event `seq`: the one signed by the transaction that
/// appended it (each write transaction signs one checkpoint at its end), or none while that
/// transaction is still open.
fn covering_checkpoint(tx: &mut dyn Sql, seq: u64) -> Result<Option<SignedCheckpoint>, StoreError> {
    let Some(row) = one(tx, "SELECT size FROM checkpoint WHERE size > $1 ORDER BY size LIMIT 1", &[n(seq)])? else {
        return Ok(None);
    };
    let size = row.into_iter().next().ok_or_else(|| StoreError::Corrupt("a checkpoint row is empty".into()))?.u()?;
    checkpoint_at(tx, size).map(Some)
}

/// Signs the checkpoint that covers a write transaction's appends (or returns the latest when
/// it appended nothing) and points the transaction's command rows at it.
fn finish(c: &mut Ctx, size_before: u64) -> Result<Option<SignedCheckpoint>, StoreError> {
    let size = c.head.frontier.size();
    if size == size_before {
        return if size == 0 { Ok(None) } else { checkpoint_at(c.tx, size).map(Some) };
    }
    let signer = c.signer.ok_or_else(|| StoreError::Invalid("this write cannot sign".into()))?;
    let checkpoint = sign_checkpoint(c.tx, c.head, signer, c.origin)?;
    Ok(Some(checkpoint))
}

/// The commands of one group-commit transaction; each runs under a savepoint so a refused
/// command leaves the others untouched.
struct TxBatch<'x, 'c> {
    c: &'x mut Ctx<'c>,
    now: Timestamp,
}

impl Batch for TxBatch<'_, '_> {
    fn record(&mut self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        TxRecords {
            tx: &mut *self.c.tx,
            cache: self.c.cache,
            below: &self.c.written,
            overlay: BTreeMap::new(),
            read: &mut self.c.read,
        }
        .read(key)
    }

    fn prefetch(&mut self, keys: &[RecordKey]) -> Result<(), StoreError> {
        let c = &mut *self.c;
        let mut missing: Vec<RecordKey> = keys
            .iter()
            .filter(|k| !c.written.contains_key(k) && !c.read.contains_key(k) && !c.cache.contains_key(k))
            .cloned()
            .collect();
        missing.sort();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let mut found: HashMap<RecordKey, Vec<u8>> = c.tx.records(&missing)?.into_iter().collect();
        for key in missing {
            let record = found.remove(&key).map(|body| decode_record(&key, &body)).transpose()?;
            c.read.insert(key, record);
        }
        Ok(())
    }

    fn find_command(&mut self, key: &str, request_hash: &Hash) -> Result<Option<Pending>, StoreError> {
        find_command(self.c.tx, key, request_hash)
    }

    fn command(&mut self, events: &[NewEvent], key: Option<(&str, Hash)>) -> Result<Pending, StoreError> {
        let head = self.c.head.clone();
        self.c.tx.savepoint()?;
        match command_tx(self.c, events, key, self.now) {
            Ok(p) => {
                self.c.tx.release_savepoint()?;
                Ok(p)
            }
            Err(e) => {
                self.c.tx.rollback_to_savepoint()?;
                *self.c.head = head;
                Err(e)
            }
        }
    }

    fn put_law_version(&mut self, rules_hash: &str, sources: &str) -> Result<(), StoreError> {
        put_law_version(self.c.tx, rules_hash, sources)
    }

    fn entry(&mut self, seq: u64) -> Result<Option<StoredEntry>, StoreError> {
        let rows = self.c.tx.query("SELECT seq, bytes, leaf FROM event WHERE seq = $1", &[n(seq)])?;
        Ok(entry_rows(rows)?.into_iter().next())
    }

    fn has_law_version(&mut self, rules_hash: &str) -> Result<bool, StoreError> {
        if self.c.law_versions.contains(rules_hash) {
            return Ok(true);
        }
        let found = law_version_known(self.c.tx, rules_hash)?;
        if found {
            // Forgotten again if this transaction does not commit (see `write`).
            self.c.law_versions.insert(rules_hash.to_string());
        }
        Ok(found)
    }
}

fn put_law_version(tx: &mut dyn Sql, rules_hash: &str, sources: &str) -> Result<(), StoreError> {
    tx.exec(
        "INSERT INTO law_version (rules_hash, sources) VALUES ($1, $2) ON CONFLICT (rules_hash) DO NOTHING",
        &[V::T(rules_hash.into()), V::T(sources.into())],
    )?;
    Ok(())
}

fn law_version_known(tx: &mut dyn Sql, rules_hash: &str) -> Result<bool, StoreError> {
    Ok(one(tx, "SELECT length(rules_hash) FROM law_version WHERE rules_hash = $1", &[V::T(rules_hash.into())])?
        .is_some())
}

fn entry_rows(rows: Vec<Vec<V>>) -> Result<Vec<StoredEntry>, StoreError> {
    rows.into_iter()
        .map(|r| {
            let [seq, bytes, leaf]: [V; 3] =
                r.try_into().map_err(|_| StoreError::Corrupt("an event row has the wrong shape".into()))?;
            Ok(StoredEntry { seq: seq.u()?, bytes: bytes.b()?, leaf: leaf.hash()? })
        })
        .collect()
}

impl<B: Backend> Store for Ledger<B> {
    fn append(&mut self, events: &[NewEvent], key: Option<&str>, now: Timestamp) -> Result<Receipt, StoreError> {
        self.write(true, true, |c| {
            let size = c.head.frontier.size();
            // A retry is recognized by the hash of its events.
            let key = key.map(|k| (k, leaf_hash(&serde_json::to_vec(events).expect("events serialize"))));
            let p = command_tx(c, events, key, now)?;
            let checkpoint = finish(c, size)?;
            Ok(p.receipt(checkpoint.as_ref()).expect("a command leaves a checkpoint"))
        })
    }

    fn transact(
        &mut self,
        now: Timestamp,
        f: &mut dyn FnMut(&mut dyn Batch) -> Result<(), StoreError>,
    ) -> Result<Option<SignedCheckpoint>, StoreError> {
        self.write(true, true, |c| {
            let size = c.head.frontier.size();
            f(&mut TxBatch { c, now })?;
            finish(c, size)
        })
    }

    fn append_entries(
        &mut self,
        entries: &[StoredEntry],
        checkpoints: &[SignedCheckpoint],
    ) -> Result<Option<(u64, u64)>, StoreError> {
        if entries.len() > BATCH_EVENTS_MAX {
            return Err(StoreError::Invalid(format!("a batch may carry at most {BATCH_EVENTS_MAX} events")));
        }
        self.write(true, false, |c| append_entries_tx(c, entries, checkpoints))
    }

    fn size(&mut self) -> Result<u64, StoreError> {
        self.db.read_tx(log_size)
    }

    fn entries(&mut self, from: u64, limit: usize) -> Result<Vec<StoredEntry>, StoreError> {
        self.db.read_tx(|tx| {
            entry_rows(tx.query(
                "SELECT seq, bytes, leaf FROM event WHERE seq >= $1 ORDER BY seq LIMIT $2",
                &[n(from), n(limit.min(i64::MAX as usize) as u64)],
            )?)
        })
    }

    fn subject_entries(&mut self, subject: &str, as_of: Option<Timestamp>) -> Result<Vec<Entry<Event>>, StoreError> {
        let limit = as_of.map_or(i64::MAX, us);
        let rows = self.db.read_tx(|tx| {
            entry_rows(tx.query(
                "SELECT seq, bytes, leaf FROM event WHERE subject = $1 AND recorded_us <= $2 ORDER BY seq",
                &[V::T(subject.into()), V::I(limit)],
            )?)
        })?;
        rows.iter().map(StoredEntry::decode).collect()
    }

    fn checkpoints(&mut self) -> Result<Vec<SignedCheckpoint>, StoreError> {
        let rows = self.db.read_tx(|tx| tx.query("SELECT size, note FROM checkpoint ORDER BY size", &[]))?;
        rows.into_iter()
            .map(|r| {
                let [size, note]: [V; 2] =
                    r.try_into().map_err(|_| StoreError::Corrupt("a checkpoint row has the wrong shape".into()))?;
                let size = size.u()?;
                SignedCheckpoint::parse(&note.t()?).map_err(|e| StoreError::Corrupt(format!("checkpoint {size}: {e}")))
            })
            .collect()
    }

    fn verifying_key(&mut self) -> Result<VerifyingKey, StoreError> {
        if let Some(k) = self.public_key {
            return Ok(k);
        }
        let hex_key = self.meta("public_key")?;
        let mut b = [0u8; 32];
        hex::decode_to_slice(&hex_key, &mut b)
            .map_err(|_| StoreError::Corrupt("public key is not 64 hex digits".into()))?;
        let key =
            VerifyingKey::from_bytes(&b).map_err(|_| StoreError::Corrupt("public key is not an Ed25519 key".into()))?;
        self.public_key = Some(key);
        Ok(key)
    }

    fn record(&mut self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        self.db.read_tx(|tx| read_record(tx, key))
    }

    fn records(&mut self, kind: RecordKind, after: Option<&str>, limit: usize) -> Result<Vec<Record>, StoreError> {
        let rows = self.db.read_tx(|tx| {
            tx.query(
                "SELECT id, body FROM projection WHERE kind = $1 AND id > $2 ORDER BY id LIMIT $3",
                &[V::T(kind.as_str().into()), V::T(after.unwrap_or("").into()), n(limit.min(i64::MAX as usize) as u64)],
            )
        })?;
        rows.into_iter()
            .map(|r| {
                let [id, body]: [V; 2] =
                    r.try_into().map_err(|_| StoreError::Corrupt("a projection row has the wrong shape".into()))?;
                let id = id.t()?;
                Record::from_bytes(kind, &body.b()?)
                    .map_err(|e| StoreError::Corrupt(format!("projection {}/{id}: {e}", kind.as_str())))
            })
            .collect()
    }

    fn projection_rows(&mut self) -> Result<Vec<ProjectionRow>, StoreError> {
        let rows = self.db.read_tx(|tx| tx.query("SELECT kind, id, body FROM projection ORDER BY kind, id", &[]))?;
        rows.into_iter()
            .map(|r| {
                let [kind, id, body]: [V; 3] =
                    r.try_into().map_err(|_| StoreError::Corrupt("a projection row has the wrong shape".into()))?;
                Ok((kind.t()?, id.t()?, body.b()?))
            })
            .collect()
    }

    fn replace_projection(&mut self, rows: &[ProjectionRow]) -> Result<(), StoreError> {
        self.db.write_tx(true, |tx| {
            tx.exec("DELETE FROM projection", &[])?;
            for (kind, id, body) in rows {
                if RecordKind::parse(kind).is_none() {
                    return Err(StoreError::Invalid(format!("unknown record kind {kind:?}")));
                }
                tx.exec(INSERT_PROJECTION, &[V::T(kind.clone()), V::T(id.clone()), V::B(body.clone())])?;
            }
            Ok(())
        })?;
        self.cache.clear();
        Ok(())
    }

    fn inclusion_proof(&mut self, seq: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        let have = self.size()?;
        if size == 0 || seq >= size || size > have {
            return Err(StoreError::Invalid(format!("no event {seq} in a tree of {size} (the log has {have})")));
        }
        let upper = &mut self.upper_blocks;
        self.db.read_tx(|tx| ledger::merkle::inclusion_proof(&mut TxNodes::with_upper(tx, upper), size, seq))
    }

    fn consistency_proof(&mut self, old: u64, new: u64) -> Result<Vec<Hash>, StoreError> {
        let have = self.size()?;
        if old == 0 || old > new || new > have {
            return Err(StoreError::Invalid(format!("no consistency proof from {old} to {new} (the log has {have})")));
        }
        let upper = &mut self.upper_blocks;
        self.db.read_tx(|tx| ledger::merkle::consistency_proof(&mut TxNodes::with_upper(tx, upper), old, new))
    }

    fn put_law_version(&mut self, rules_hash: &str, sources: &str) -> Result<(), StoreError> {
        self.db.write_tx(true, |tx| put_law_version(tx, rules_hash, sources))
    }

    fn law_version(&mut self, rules_hash: &str) -> Result<Option<String>, StoreError> {
        self.db.read_tx(|tx| {
            one(tx, "SELECT sources FROM law_version WHERE rules_hash = $1", &[V::T(rules_hash.into())])?
                .map(|mut r| r.swap_remove(0).t())
                .transpose()
        })
    }

    fn root_at(&mut self, size: u64) -> Result<Hash, StoreError> {
        let upper = &mut self.upper_blocks;
        self.db.read_tx(|tx| ledger::merkle::root(&mut TxNodes::with_upper(tx, upper), size))
    }

    fn event_rows(&mut self, from: u64, limit: usize) -> Result<Vec<EventRow>, StoreError> {
        let rows = self.db.read_tx(|tx| {
            tx.query(
                "SELECT seq, bytes, leaf, recorded_us, valid_us, type, subject, corrects FROM event
                 WHERE seq >= $1 ORDER BY seq LIMIT $2",
                &[n(from), n(limit.min(i64::MAX as usize) as u64)],
            )
        })?;
        rows.into_iter()
            .map(|r| {
                let [seq, bytes, leaf, recorded_us, valid_us, kind, subject, corrects]: [V; 8] =
                    r.try_into().map_err(|_| StoreError::Corrupt("an event row has the wrong shape".into()))?;
                Ok(EventRow {
                    seq: seq.u()?,
                    bytes: bytes.raw(),
                    leaf: leaf.raw(),
                    recorded_us,
                    valid_us,
                    kind,
                    subject,
                    corrects,
                })
            })
            .collect()
    }

    fn node_rows(&mut self, level: u32, from: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let rows = self.db.read_tx(|tx| {
            tx.query(
                "SELECT idx, hash FROM merkle_node WHERE level = $1 AND idx >= $2 ORDER BY idx LIMIT $3",
                &[V::I(i64::from(level)), n(from), n(limit.min(i64::MAX as usize) as u64)],
            )
        })?;
        rows.into_iter()
            .map(|r| {
                let [idx, hash]: [V; 2] =
                    r.try_into().map_err(|_| StoreError::Corrupt("a Merkle node row has the wrong shape".into()))?;
                Ok((idx.u()?, hash.raw()))
            })
            .collect()
    }

    fn node_counts(&mut self) -> Result<Vec<(i64, u64)>, StoreError> {
        let rows = self
            .db
            .read_tx(|tx| tx.query("SELECT level, count(*) FROM merkle_node GROUP BY level ORDER BY level", &[]))?;
        rows.into_iter().map(|r| Ok((r[0].i()?, r[1].u()?))).collect()
    }

    fn checkpoint_rows(&mut self) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = self.db.read_tx(|tx| tx.query("SELECT size, note FROM checkpoint ORDER BY size", &[]))?;
        rows.into_iter()
            .map(|r| {
                let [size, note]: [V; 2] =
                    r.try_into().map_err(|_| StoreError::Corrupt("a checkpoint row has the wrong shape".into()))?;
                Ok((size.i()?, String::from_utf8_lossy(&note.raw()).into_owned()))
            })
            .collect()
    }

    fn command_row(&mut self, key: &str) -> Result<Option<CommandRow>, StoreError> {
        let rows = self.db.read_tx(|tx| {
            tx.query(
                "SELECT idempotency_key, request_hash, first_seq, last_seq, checkpoint_size FROM command
                 WHERE idempotency_key = $1",
                &[V::T(key.into())],
            )
        })?;
        rows.into_iter().next().map(command_row).transpose()
    }

    fn command_rows(&mut self, after: &str, limit: usize) -> Result<Vec<CommandRow>, StoreError> {
        let rows = self.db.read_tx(|tx| {
            tx.query(
                "SELECT idempotency_key, request_hash, first_seq, last_seq, checkpoint_size FROM command
                 WHERE idempotency_key > $1 ORDER BY idempotency_key LIMIT $2",
                &[V::T(after.into()), n(limit.min(i64::MAX as usize) as u64)],
            )
        })?;
        rows.into_iter().map(command_row).collect()
    }

    fn command_count(&mut self) -> Result<u64, StoreError> {
        self.db.read_tx(|tx| one(tx, "SELECT count(*) FROM command", &[])?.map_or(Ok(0), |r| r[0].u()))
    }

    fn meta_rows(&mut self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = self.db.read_tx(|tx| tx.query("SELECT key, value FROM meta ORDER BY key", &[]))?;
        rows.into_iter()
            .map(|r| {
                let [k, v]: [V; 2] =
                    r.try_into().map_err(|_| StoreError::Corrupt("a meta row has the wrong shape".into()))?;
                Ok((k.t()?, String::from_utf8_lossy(&v.raw()).into_owned()))
            })
            .collect()
    }

    fn checkpoint_at(&mut self, size: u64) -> Result<Option<SignedCheckpoint>, StoreError> {
        self.db.read_tx(|tx| {
            let Some(mut row) = one(tx, "SELECT note FROM checkpoint WHERE size = $1", &[n(size)])? else {
                return Ok(None);
            };
            SignedCheckpoint::parse(&row.swap_remove(0).t()?)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("checkpoint {size}: {e}")))
        })
    }

    fn put_cosignature(&mut self, size: u64, witness: &str, line: &str) -> Result<(), StoreError> {
        self.db.write_tx(true, |tx| {
            tx.exec(
                "INSERT INTO cosignature (size, witness, line) VALUES ($1, $2, $3) ON CONFLICT (size, witness) DO NOTHING",
                &[n(size), V::T(witness.into()), V::T(line.into())],
            )
        })
    }

    fn cosignatures(&mut self, size: u64) -> Result<Vec<(String, String)>, StoreError> {
        let rows = self.db.read_tx(|tx| {
            tx.query("SELECT witness, line FROM cosignature WHERE size = $1 ORDER BY witness", &[n(size)])
        })?;
        rows.into_iter()
            .map(|r| {
                let [w, l]: [V; 2] =
                    r.try_into().map_err(|_| StoreError::Corrupt("a cosignature row has the wrong shape".into()))?;
                Ok((w.t()?, l.t()?))
            })
            .collect()
    }

    fn latest_cosigned(&mut self) -> Result<Option<u64>, StoreError> {
        self.db.read_tx(|tx| match one(tx, "SELECT MAX(size) FROM cosignature", &[])? {
            Some(r) if r[0] != V::Null => Ok(Some(r[0].u()?)),
            _ => Ok(None),
        })
    }

    fn cosignature_rows(&mut self) -> Result<Vec<(i64, String, String)>, StoreError> {
        let rows = self
            .db
            .read_tx(|tx| tx.query("SELECT size, witness, line FROM cosignature ORDER BY size, witness", &[]))?;
        rows.into_iter()
            .map(|r| {
                let [s, w, l]: [V; 3] =
                    r.try_into().map_err(|_| StoreError::Corrupt("a cosignature row has the wrong shape".into()))?;
                Ok((
                    s.i()?,
                    String::from_utf8_lossy(&w.raw()).into_owned(),
                    String::from_utf8_lossy(&l.raw()).into_owned(),
                ))
            })
            .collect()
    }

    fn law_version_hashes(&mut self) -> Result<Vec<String>, StoreError> {
        let rows = self.db.read_tx(|tx| tx.query("SELECT rules_hash FROM law_version ORDER BY rules_hash", &[]))?;
        rows.into_iter().map(|mut r| r.swap_remove(0).t()).collect()
    }
}

fn command_row(r: Vec<V>) -> Result<CommandRow, StoreError> {
    let [key, hash, first, last, cp]: [V; 5] =
        r.try_into().map_err(|_| StoreError::Corrupt("a command row has the wrong shape".into()))?;
    Ok(CommandRow {
        key: key.t()?,
        request_hash: hash.raw(),
        first_seq: first.i()?,
        last_seq: last.i()?,
        checkpoint_size: cp.i()?,
    })
}
