//! The embedded SQLite store (WAL, `synchronous=FULL`).
//!
//! One writer at a time (`BEGIN IMMEDIATE`); every command is one transaction that appends
//! its entries, the Merkle nodes they complete, the projection rows they change, the command's
//! idempotency key and a signed checkpoint. The Merkle frontier and the last leaf hash are
//! cached in memory and re-read when another process has appended since.
//!
//! The signing key lives beside the database in `PATH.key` (hex seed, mode 0600), not in the
//! database, so that whoever can edit the database file cannot re-sign a rewritten log.

use crate::{
    BATCH_EVENTS_MAX, Batch, IDEMPOTENCY_KEY_BYTES_MAX, NewEvent, Pending, ProjectionRow, Receipt, Store, StoreError,
    StoredEntry, VerifyingKey,
};
use domain::{Event, Record, RecordKey, RecordKind, Records, Timestamp};
use ledger::merkle::{Frontier, NodeStore};
use ledger::{Checkpoint, Entry, GENESIS_PREV, Hash, SignedCheckpoint, Signer, leaf_hash};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

const SCHEMA: &str = r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE event (
    seq INTEGER PRIMARY KEY,
    bytes BLOB NOT NULL,
    leaf BLOB NOT NULL,
    recorded_us INTEGER NOT NULL,
    valid_us INTEGER NOT NULL,
    type TEXT NOT NULL,
    subject TEXT,
    corrects INTEGER
);
CREATE INDEX event_subject ON event(subject, seq) WHERE subject IS NOT NULL;
CREATE TABLE merkle_node (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE checkpoint (size INTEGER PRIMARY KEY, note TEXT NOT NULL);
CREATE TABLE command (
    idempotency_key TEXT PRIMARY KEY,
    request_hash BLOB NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    checkpoint_size INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE projection (kind TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (kind, id)) WITHOUT ROWID;
CREATE TABLE law_version (rules_hash TEXT PRIMARY KEY, sources TEXT NOT NULL) WITHOUT ROWID;
CREATE TRIGGER event_no_update BEFORE UPDATE ON event BEGIN SELECT RAISE(ABORT, 'ledger events are append-only'); END;
CREATE TRIGGER event_no_delete BEFORE DELETE ON event BEGIN SELECT RAISE(ABORT, 'ledger events are append-only'); END;
CREATE TRIGGER checkpoint_no_update BEFORE UPDATE ON checkpoint BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER checkpoint_no_delete BEFORE DELETE ON checkpoint BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
"#;

/// The right edge of the log, cached between commands.
#[derive(Clone)]
struct Head {
    frontier: Frontier,
    last_leaf: Hash,
    last_recorded_us: i64,
}

/// The SQLite store.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    origin: String,
    signer: Option<Signer>,
    head: Option<Head>,
    /// Committed projection records, so that a command's checks need not read them back.
    /// Valid only while `head` is; cleared when another writer has appended.
    cache: RecordCache,
    /// Immutable upper Merkle blocks, for proofs.
    upper_blocks: BlockCache,
    /// Rules hashes known to be kept (law versions are never removed). Looking one up in the
    /// table costs a read of its sources, which are megabytes.
    law_versions: std::collections::HashSet<String>,
}

/// Most projection records kept in memory (`RECORD_CACHE_MAX`); the cache is emptied when full.
pub const RECORD_CACHE_MAX: usize = 200_000;

type RecordCache = HashMap<RecordKey, Record>;

/// What a write hands its transaction code: the connection, the log head, the signer and
/// origin, the committed-record cache, and where to put the records it wrote.
struct Ctx<'a> {
    tx: &'a Transaction<'a>,
    head: &'a mut Head,
    signer: &'a Signer,
    origin: &'a str,
    cache: &'a RecordCache,
    /// Records written by the commands of this transaction so far.
    written: BTreeMap<RecordKey, Record>,
    law_versions: &'a mut std::collections::HashSet<String>,
}

fn key_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".key");
    PathBuf::from(p)
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> StoreError {
    move |source| StoreError::Io { context, source }
}

fn us(t: Timestamp) -> i64 {
    t.as_microsecond()
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    // Savepoints (one per command in a group commit) journal into temp storage: keep it in
    // memory. The statement cache holds every statement a write transaction uses.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl SqliteStore {
    /// Creates a new, empty store at `path` with a fresh signing key in `PATH.key`.
    /// Refuses to touch an existing database.
    pub fn create(path: &Path) -> Result<Self, StoreError> {
        if path.exists() {
            return Err(StoreError::Invalid(format!("{} already exists; choose a new path", path.display())));
        }
        let mut seed = [0u8; 32];
        let mut log_id = [0u8; 8];
        getrandom::fill(&mut seed)
            .and_then(|()| getrandom::fill(&mut log_id))
            .map_err(|e| StoreError::Invalid(format!("no randomness for the signing key: {e}")))?;
        let kp = key_path(path);
        write_secret(&kp, &hex::encode(seed)).map_err(io(format!("writing signing key {}", kp.display())))?;
        let origin = format!("liaison/{}", hex::encode(log_id));
        let signer = Signer::from_seed(&origin, &seed);
        let mut conn = connect(path)?;
        let tx = conn.transaction()?;
        tx.execute_batch(SCHEMA)?;
        for (k, v) in [
            ("schema_version", "1".to_string()),
            ("origin", origin.clone()),
            ("public_key", hex::encode(signer.verifying_key().as_bytes())),
            ("verifier_key", signer.verifier_key()),
        ] {
            tx.execute("INSERT INTO meta (key, value) VALUES (?1, ?2)", params![k, v])?;
        }
        tx.commit()?;
        Ok(SqliteStore {
            conn,
            path: path.to_path_buf(),
            origin,
            signer: Some(signer),
            head: None,
            cache: HashMap::new(),
            upper_blocks: HashMap::new(),
            law_versions: Default::default(),
        })
    }

    /// Opens an existing store.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::NotInitialized);
        }
        let conn = connect(path)?;
        let origin: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'origin'", [], |r| r.get(0))
            .optional()
            .map_err(|_| StoreError::NotInitialized)?;
        let origin = origin.ok_or(StoreError::NotInitialized)?;
        Ok(SqliteStore {
            conn,
            path: path.to_path_buf(),
            origin,
            signer: None,
            head: None,
            cache: HashMap::new(),
            upper_blocks: HashMap::new(),
            law_versions: Default::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The signed-note verifier key, for agencies that keep checkpoints.
    pub fn verifier_key(&self) -> Result<String, StoreError> {
        Ok(self.conn.query_row("SELECT value FROM meta WHERE key = 'verifier_key'", [], |r| r.get(0))?)
    }

    fn signer(&mut self) -> Result<&Signer, StoreError> {
        if self.signer.is_none() {
            let kp = key_path(&self.path);
            let text = std::fs::read_to_string(&kp).map_err(io(format!("reading signing key {}", kp.display())))?;
            let mut seed = [0u8; 32];
            hex::decode_to_slice(text.trim(), &mut seed)
                .map_err(|_| StoreError::Corrupt(format!("signing key {} is not 64 hex digits", kp.display())))?;
            let signer = Signer::from_seed(&self.origin, &seed);
            let stored = hex::encode(self.verifying_key()?.as_bytes());
            if hex::encode(signer.verifying_key().as_bytes()) != stored {
                return Err(StoreError::Corrupt(format!("signing key {} does not belong to this store", kp.display())));
            }
            self.signer = Some(signer);
        }
        Ok(self.signer.as_ref().expect("set above"))
    }

    /// Runs `f` in one write transaction with an up-to-date head; on error nothing persists
    /// and the cached head is left as it was.
    fn write<T>(&mut self, commit: bool, f: impl FnOnce(&mut Ctx) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.signer()?;
        let signer = self.signer.take().expect("loaded");
        let result = (|| {
            let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (mut head, reloaded) = load_head(&tx, self.head.clone())?;
            if reloaded {
                self.cache.clear();
            }
            let mut ctx = Ctx {
                tx: &tx,
                head: &mut head,
                signer: &signer,
                origin: &self.origin,
                cache: &self.cache,
                written: BTreeMap::new(),
                law_versions: &mut self.law_versions,
            };
            let out = f(&mut ctx)?;
            let written = ctx.written;
            if commit {
                tx.commit()?;
                self.head = Some(head);
                if self.cache.len() + written.len() > RECORD_CACHE_MAX {
                    self.cache.clear();
                }
                self.cache.extend(written);
            }
            Ok(out)
        })();
        self.signer = Some(signer);
        if result.is_err() || !commit {
            // A law version seen only inside this transaction is gone with it.
            self.law_versions.clear();
        }
        result
    }
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

/// Re-reads the head when the cache is missing or stale (another writer appended).
/// Returns the head and whether it had to be re-read.
fn load_head(tx: &Transaction, cached: Option<Head>) -> Result<(Head, bool), StoreError> {
    let size: u64 = tx.query_row("SELECT COALESCE(MAX(seq) + 1, 0) FROM event", [], |r| r.get(0))?;
    if let Some(h) = cached.filter(|h| h.frontier.size() == size) {
        return Ok((h, false));
    }
    let frontier = Frontier::load(&mut TxNodes::new(tx), size)?;
    let (last_leaf, last_recorded_us) = if size == 0 {
        (GENESIS_PREV, i64::MIN)
    } else {
        tx.query_row("SELECT leaf, recorded_us FROM event WHERE seq = ?1", [size - 1], |r| {
            Ok((blob_hash(r.get_ref(0)?.as_blob()?), r.get(1)?))
        })?
    };
    Ok((Head { frontier, last_leaf, last_recorded_us }, true))
}

fn blob_hash(b: &[u8]) -> Hash {
    b.try_into().unwrap_or([0u8; 32])
}

/// Stored Merkle nodes as seen inside a transaction (level 0 = the event table's leaves).
///
/// Reads whole aligned blocks of 16 nodes and keeps them for the life of the value: every
/// sibling a proof needs within one stride of levels lies in the same block, so a proof costs
/// one range read per four tree levels.
struct TxNodes<'a> {
    conn: &'a Connection,
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

type BlockCache = HashMap<(u32, u64), Vec<Hash>>;

impl<'a> TxNodes<'a> {
    fn new(conn: &'a Connection) -> Self {
        TxNodes { conn, blocks: HashMap::new(), upper: None }
    }

    fn with_upper(conn: &'a Connection, upper: &'a mut BlockCache) -> Self {
        TxNodes { conn, blocks: HashMap::new(), upper: Some(upper) }
    }

    /// The stored nodes of block `block` at `level` (fewer than 16 at the right edge).
    fn block(&mut self, level: u32, block: u64) -> Result<&Vec<Hash>, StoreError> {
        if let Some(nodes) = self.upper.as_ref().and_then(|u| u.get(&(level, block))) {
            let nodes = nodes.clone();
            self.blocks.insert((level, block), nodes);
        }
        if !self.blocks.contains_key(&(level, block)) {
            let hash = |r: &rusqlite::Row| Ok(blob_hash(r.get_ref(0)?.as_blob()?));
            let first = block * BLOCK;
            let nodes: Vec<Hash> = if level == 0 {
                let mut stmt = self
                    .conn
                    .prepare_cached("SELECT leaf FROM event WHERE seq >= ?1 AND seq < ?1 + ?2 ORDER BY seq")?;
                stmt.query_map(params![first, BLOCK], hash)?.collect::<Result<_, _>>()?
            } else {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT hash FROM merkle_node WHERE level = ?1 AND idx >= ?2 AND idx < ?2 + ?3 ORDER BY idx",
                )?;
                stmt.query_map(params![level, first, BLOCK], hash)?.collect::<Result<_, _>>()?
            };
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
    tx: &'a Connection,
    cache: &'a RecordCache,
    below: &'a BTreeMap<RecordKey, Record>,
    overlay: BTreeMap<RecordKey, Record>,
}

impl Records for TxRecords<'_> {
    fn get(&mut self, key: &RecordKey) -> Result<Option<Record>, domain::ApplyError> {
        self.read(key).map_err(|e| domain::ApplyError::Storage(e.to_string()))
    }
    fn put(&mut self, record: Record) {
        self.overlay.insert(record.key(), record);
    }
}

fn read_record(conn: &Connection, key: &RecordKey) -> Result<Option<Record>, StoreError> {
    let body: Option<Vec<u8>> = conn
        .prepare_cached("SELECT body FROM projection WHERE kind = ?1 AND id = ?2")?
        .query_row(params![key.kind.as_str(), key.id], |r| r.get(0))
        .optional()?;
    body.map(|b| {
        Record::from_bytes(key.kind, &b)
            .map_err(|e| StoreError::Corrupt(format!("projection {}/{}: {e}", key.kind.as_str(), key.id)))
    })
    .transpose()
}

impl TxRecords<'_> {
    fn read(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        if let Some(r) = self.overlay.get(key).or_else(|| self.below.get(key)).or_else(|| self.cache.get(key)) {
            return Ok(Some(r.clone()));
        }
        read_record(self.tx, key)
    }

    /// Writes the overlay to the projection table and returns it, for the cache.
    fn flush(self) -> Result<Vec<(RecordKey, Record)>, StoreError> {
        let mut stmt =
            self.tx.prepare_cached("INSERT OR REPLACE INTO projection (kind, id, body) VALUES (?1, ?2, ?3)")?;
        for (key, record) in &self.overlay {
            stmt.execute(params![key.kind.as_str(), key.id, record.to_bytes()])?;
        }
        Ok(self.overlay.into_iter().collect())
    }
}

/// Appends one entry's row and the Merkle nodes it completes.
fn insert_entry(tx: &Transaction, head: &mut Head, bytes: &[u8], meta: &EntryMeta) -> Result<Hash, StoreError> {
    let seq = head.frontier.size();
    let leaf = leaf_hash(bytes);
    tx.prepare_cached("INSERT INTO event (seq, bytes, leaf, recorded_us, valid_us, type, subject, corrects) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?
        .execute(params![seq, bytes, &leaf[..], meta.recorded_us, meta.valid_us, meta.kind, meta.subject, meta.corrects])?;
    let mut node = tx.prepare_cached("INSERT INTO merkle_node (level, idx, hash) VALUES (?1, ?2, ?3)")?;
    for n in head.frontier.push(leaf) {
        node.execute(params![n.level, n.index, &n.hash[..]])?;
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
    tx: &Transaction,
    recs: &mut TxRecords,
    seq: u64,
    e: &Entry<E>,
) -> Result<Option<String>, StoreError> {
    check_correction(tx, seq, e)?;
    let applied = domain::apply(recs, e.event.borrow(), domain::EventTime { valid_at: e.valid_at })?;
    let subject = match (applied.subject, e.corrects) {
        (Some(s), _) => Some(s.to_string()),
        (None, Some(c)) => tx.query_row("SELECT subject FROM event WHERE seq = ?1", [c], |r| r.get(0))?,
        (None, None) => None,
    };
    Ok(subject)
}

fn check_correction<E: std::borrow::Borrow<Event>>(tx: &Transaction, seq: u64, e: &Entry<E>) -> Result<(), StoreError> {
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
        (true, Some(c)) => {
            let found: Option<i64> =
                tx.query_row("SELECT seq FROM event WHERE seq = ?1", [c], |r| r.get(0)).optional()?;
            found.map(|_| ()).ok_or_else(|| StoreError::Invalid(format!("corrected event {c} does not exist")))
        }
        (false, None) => Ok(()),
    }
}

fn sign_checkpoint(
    tx: &Transaction,
    head: &Head,
    signer: &Signer,
    origin: &str,
) -> Result<SignedCheckpoint, StoreError> {
    let cp =
        signer.sign(Checkpoint { origin: origin.to_string(), size: head.frontier.size(), root: head.frontier.root() });
    tx.prepare_cached("INSERT INTO checkpoint (size, note) VALUES (?1, ?2)")?
        .execute(params![cp.checkpoint.size, cp.to_note()])?;
    Ok(cp)
}

fn checkpoint_at(conn: &Connection, size: u64) -> Result<SignedCheckpoint, StoreError> {
    let note: String = conn.query_row("SELECT note FROM checkpoint WHERE size = ?1", [size], |r| r.get(0))?;
    SignedCheckpoint::parse(&note).map_err(|e| StoreError::Corrupt(format!("checkpoint {size}: {e}")))
}

fn append_events(
    c: &mut Ctx,
    events: &[NewEvent],
    key: Option<&str>,
    now: Timestamp,
) -> Result<(u64, u64), StoreError> {
    let (tx, head) = (c.tx, &mut *c.head);
    let first = head.frontier.size();
    let recorded_us = us(now).max(head.last_recorded_us);
    let recorded_at = Timestamp::from_microsecond(recorded_us).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let mut recs = TxRecords { tx, cache: c.cache, below: &c.written, overlay: BTreeMap::new() };
    for (index, ne) in events.iter().enumerate() {
        let seq = head.frontier.size();
        let entry = Entry {
            v: ledger::ENTRY_VERSION,
            seq,
            prev: head.last_leaf,
            recorded_at,
            valid_at: ne.valid_at,
            actor: ne.actor.clone(),
            idempotency_key: key.map(str::to_string),
            corrects: ne.corrects,
            event: &ne.event,
            decision: ne.decision.clone(),
        };
        let subject = match apply_event(tx, &mut recs, seq, &entry) {
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
        insert_entry(tx, head, &entry.to_bytes(), &meta)?;
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

fn append_entries_tx(c: &mut Ctx, entries: &[StoredEntry]) -> Result<Option<Receipt>, StoreError> {
    let (tx, head) = (c.tx, &mut *c.head);
    let mut recs = TxRecords { tx, cache: c.cache, below: &c.written, overlay: BTreeMap::new() };
    let mut first = None;
    for se in entries {
        let size = head.frontier.size();
        if se.seq < size {
            let stored: Vec<u8> = tx.query_row("SELECT leaf FROM event WHERE seq = ?1", [se.seq], |r| r.get(0))?;
            if stored != leaf_hash(&se.bytes) {
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
        let subject = apply_event(tx, &mut recs, se.seq, &entry)?;
        let meta = EntryMeta {
            recorded_us: us(entry.recorded_at),
            valid_us: us(entry.valid_at),
            kind: entry.event.type_name(),
            subject,
            corrects: entry.corrects,
        };
        insert_entry(tx, head, &se.bytes, &meta)?;
        if let Some(k) = &entry.idempotency_key {
            tx.execute(
                "INSERT INTO command (idempotency_key, request_hash, first_seq, last_seq, checkpoint_size) VALUES (?1, zeroblob(32), ?2, ?2, ?3)
                 ON CONFLICT (idempotency_key) DO UPDATE SET last_seq = excluded.last_seq, checkpoint_size = excluded.checkpoint_size",
                params![k, se.seq, se.seq + 1],
            )?;
        }
        first.get_or_insert(se.seq);
    }
    let Some(first_seq) = first else {
        return Ok(None);
    };
    let written = recs.flush()?;
    c.written.extend(written);
    let checkpoint = sign_checkpoint(tx, c.head, c.signer, c.origin)?;
    tx.execute(
        "UPDATE command SET checkpoint_size = ?1 WHERE last_seq >= ?2",
        params![checkpoint.checkpoint.size, first_seq],
    )?;
    Ok(Some(Receipt { first_seq, last_seq: c.head.frontier.size() - 1, checkpoint, replayed: false }))
}

/// One command inside a write transaction: the idempotency check, then its events. Its
/// command row names checkpoint size 0 until [`finish`] signs the transaction's checkpoint.
fn command_tx(
    c: &mut Ctx,
    events: &[NewEvent],
    key: Option<(&str, Hash)>,
    now: Timestamp,
) -> Result<Pending, StoreError> {
    validate_request(events, key.map(|k| k.0))?;
    let tx = c.tx;
    if let Some((k, hash)) = key
        && let Some(seen) = find_command(tx, k, &hash)?
    {
        return Ok(seen);
    }
    // The command row goes first, so that once `append_events` has added to `c.written`
    // nothing more can fail.
    if let Some((k, hash)) = key {
        let first = c.head.frontier.size();
        tx.prepare_cached(
            "INSERT INTO command (idempotency_key, request_hash, first_seq, last_seq, checkpoint_size) VALUES (?1, ?2, ?3, ?4, 0)",
        )?
        .execute(params![k, &hash[..], first, first + events.len() as u64 - 1])?;
    }
    let (first_seq, last_seq) = append_events(c, events, key.map(|k| k.0), now)?;
    Ok(Pending { first_seq, last_seq, replayed: false, checkpoint: None })
}

/// The earlier command under idempotency key `k`, if any; a different request under the
/// same key is refused.
fn find_command(tx: &Transaction, k: &str, request_hash: &Hash) -> Result<Option<Pending>, StoreError> {
    let seen: Option<(Vec<u8>, u64, u64, u64)> = tx
        .prepare_cached(
            "SELECT request_hash, first_seq, last_seq, checkpoint_size FROM command WHERE idempotency_key = ?1",
        )?
        .query_row([k], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let Some((hash, first_seq, last_seq, size)) = seen else { return Ok(None) };
    if hash.as_slice() != request_hash {
        return Err(StoreError::IdempotencyConflict { key: k.to_string() });
    }
    let checkpoint = if size == 0 { None } else { Some(checkpoint_at(tx, size)?) };
    Ok(Some(Pending { first_seq, last_seq, replayed: true, checkpoint }))
}

/// Signs the checkpoint that covers a write transaction's appends (or returns the latest when
/// it appended nothing) and points the transaction's command rows at it.
fn finish(c: &mut Ctx, size_before: u64) -> Result<Option<SignedCheckpoint>, StoreError> {
    let size = c.head.frontier.size();
    if size == size_before {
        return if size == 0 { Ok(None) } else { checkpoint_at(c.tx, size).map(Some) };
    }
    let checkpoint = sign_checkpoint(c.tx, c.head, c.signer, c.origin)?;
    c.tx.prepare_cached("UPDATE command SET checkpoint_size = ?1 WHERE checkpoint_size = 0")?.execute([size])?;
    Ok(Some(checkpoint))
}

/// The commands of one group-commit transaction on SQLite; each runs under a savepoint so a
/// refused command leaves the others untouched.
struct SqliteBatch<'x, 'c> {
    c: &'x mut Ctx<'c>,
    now: Timestamp,
}

impl Batch for SqliteBatch<'_, '_> {
    fn record(&mut self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        TxRecords { tx: self.c.tx, cache: self.c.cache, below: &self.c.written, overlay: BTreeMap::new() }.read(key)
    }

    fn find_command(&mut self, key: &str, request_hash: &Hash) -> Result<Option<Pending>, StoreError> {
        find_command(self.c.tx, key, request_hash)
    }

    fn command(&mut self, events: &[NewEvent], key: Option<(&str, Hash)>) -> Result<Pending, StoreError> {
        let head = self.c.head.clone();
        let sql = |s: &str| -> Result<(), StoreError> {
            self.c.tx.prepare_cached(s)?.execute([])?;
            Ok(())
        };
        sql("SAVEPOINT command")?;
        match command_tx(self.c, events, key, self.now) {
            Ok(p) => {
                sql("RELEASE command")?;
                Ok(p)
            }
            Err(e) => {
                sql("ROLLBACK TO command")?;
                sql("RELEASE command")?;
                *self.c.head = head;
                Err(e)
            }
        }
    }

    fn put_law_version(&mut self, rules_hash: &str, sources: &str) -> Result<(), StoreError> {
        self.c
            .tx
            .prepare_cached(
                "INSERT INTO law_version (rules_hash, sources) VALUES (?1, ?2) ON CONFLICT (rules_hash) DO NOTHING",
            )?
            .execute(params![rules_hash, sources])?;
        Ok(())
    }

    fn has_law_version(&mut self, rules_hash: &str) -> Result<bool, StoreError> {
        if self.c.law_versions.contains(rules_hash) {
            return Ok(true);
        }
        let found = self
            .c
            .tx
            .prepare_cached("SELECT length(rules_hash) FROM law_version WHERE rules_hash = ?1")?
            .query_row([rules_hash], |_| Ok(()))
            .optional()?
            .is_some();
        if found {
            // Forgotten again if this transaction does not commit (see `write`).
            self.c.law_versions.insert(rules_hash.to_string());
        }
        Ok(found)
    }
}

impl Store for SqliteStore {
    fn append(&mut self, events: &[NewEvent], key: Option<&str>, now: Timestamp) -> Result<Receipt, StoreError> {
        self.write(true, |c| {
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
        self.write(true, |c| {
            let size = c.head.frontier.size();
            f(&mut SqliteBatch { c, now })?;
            finish(c, size)
        })
    }

    fn append_entries(&mut self, entries: &[StoredEntry]) -> Result<Option<Receipt>, StoreError> {
        if entries.len() > BATCH_EVENTS_MAX {
            return Err(StoreError::Invalid(format!("a batch may carry at most {BATCH_EVENTS_MAX} events")));
        }
        self.write(true, |c| append_entries_tx(c, entries))
    }

    fn check_entries(&mut self, entries: &[StoredEntry]) -> Result<(), StoreError> {
        self.write(false, |c| append_entries_tx(c, entries).map(|_| ()))
    }

    fn size(&mut self) -> Result<u64, StoreError> {
        Ok(self.conn.query_row("SELECT COALESCE(MAX(seq) + 1, 0) FROM event", [], |r| r.get(0))?)
    }

    fn entries(&mut self, from: u64, limit: usize) -> Result<Vec<StoredEntry>, StoreError> {
        let mut stmt =
            self.conn.prepare_cached("SELECT seq, bytes, leaf FROM event WHERE seq >= ?1 ORDER BY seq LIMIT ?2")?;
        let rows = stmt.query_map(params![from, limit as i64], |r| {
            Ok(StoredEntry { seq: r.get(0)?, bytes: r.get(1)?, leaf: blob_hash(r.get_ref(2)?.as_blob()?) })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn subject_entries(&mut self, subject: &str, as_of: Option<Timestamp>) -> Result<Vec<Entry<Event>>, StoreError> {
        let limit = as_of.map_or(i64::MAX, us);
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, bytes, leaf FROM event WHERE subject = ?1 AND recorded_us <= ?2 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![subject, limit], |r| {
            Ok(StoredEntry { seq: r.get(0)?, bytes: r.get(1)?, leaf: blob_hash(r.get_ref(2)?.as_blob()?) })
        })?;
        rows.map(|r| r.map_err(StoreError::from).and_then(|se| se.decode())).collect()
    }

    fn checkpoints(&mut self) -> Result<Vec<SignedCheckpoint>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT size, note FROM checkpoint ORDER BY size")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, u64>(0)?, r.get::<_, String>(1)?)))?;
        rows.map(|r| {
            let (size, note) = r?;
            SignedCheckpoint::parse(&note).map_err(|e| StoreError::Corrupt(format!("checkpoint {size}: {e}")))
        })
        .collect()
    }

    fn verifying_key(&mut self) -> Result<VerifyingKey, StoreError> {
        let hex_key: String =
            self.conn.query_row("SELECT value FROM meta WHERE key = 'public_key'", [], |r| r.get(0))?;
        let mut b = [0u8; 32];
        hex::decode_to_slice(&hex_key, &mut b)
            .map_err(|_| StoreError::Corrupt("public key is not 64 hex digits".into()))?;
        VerifyingKey::from_bytes(&b).map_err(|_| StoreError::Corrupt("public key is not an Ed25519 key".into()))
    }

    fn record(&mut self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        read_record(&self.conn, key)
    }

    fn records(&mut self, kind: RecordKind, after: Option<&str>, limit: usize) -> Result<Vec<Record>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, body FROM projection WHERE kind = ?1 AND id > ?2 ORDER BY id LIMIT ?3")?;
        let rows = stmt.query_map(params![kind.as_str(), after.unwrap_or(""), limit as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        rows.map(|r| {
            let (id, body) = r?;
            Record::from_bytes(kind, &body)
                .map_err(|e| StoreError::Corrupt(format!("projection {}/{id}: {e}", kind.as_str())))
        })
        .collect()
    }

    fn projection_rows(&mut self) -> Result<Vec<ProjectionRow>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT kind, id, body FROM projection ORDER BY kind, id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn replace_projection(&mut self, rows: &[ProjectionRow]) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM projection", [])?;
        {
            let mut stmt = tx.prepare("INSERT INTO projection (kind, id, body) VALUES (?1, ?2, ?3)")?;
            for (kind, id, body) in rows {
                if RecordKind::parse(kind).is_none() {
                    return Err(StoreError::Invalid(format!("unknown record kind {kind:?}")));
                }
                stmt.execute(params![kind, id, body])?;
            }
        }
        tx.commit()?;
        self.cache.clear();
        Ok(())
    }

    fn inclusion_proof(&mut self, seq: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        let have = self.size()?;
        if size == 0 || seq >= size || size > have {
            return Err(StoreError::Invalid(format!("no event {seq} in a tree of {size} (the log has {have})")));
        }
        // One read transaction: one snapshot, and no per-statement transaction overhead.
        let tx = self.conn.transaction()?;
        ledger::merkle::inclusion_proof(&mut TxNodes::with_upper(&tx, &mut self.upper_blocks), size, seq)
    }

    fn consistency_proof(&mut self, old: u64, new: u64) -> Result<Vec<Hash>, StoreError> {
        let have = self.size()?;
        if old == 0 || old > new || new > have {
            return Err(StoreError::Invalid(format!("no consistency proof from {old} to {new} (the log has {have})")));
        }
        let tx = self.conn.transaction()?;
        ledger::merkle::consistency_proof(&mut TxNodes::with_upper(&tx, &mut self.upper_blocks), old, new)
    }

    fn put_law_version(&mut self, rules_hash: &str, sources: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO law_version (rules_hash, sources) VALUES (?1, ?2) ON CONFLICT (rules_hash) DO NOTHING",
            params![rules_hash, sources],
        )?;
        Ok(())
    }

    fn law_version(&mut self, rules_hash: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT sources FROM law_version WHERE rules_hash = ?1", [rules_hash], |r| r.get(0))
            .optional()?)
    }

    fn root_at(&mut self, size: u64) -> Result<Hash, StoreError> {
        let tx = self.conn.transaction()?;
        ledger::merkle::root(&mut TxNodes::with_upper(&tx, &mut self.upper_blocks), size)
    }
}
