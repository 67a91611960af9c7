//! The embedded SQLite backend (WAL, `synchronous=FULL`).
//!
//! One writer at a time (`BEGIN IMMEDIATE`); the storage logic itself is in `engine.rs`,
//! shared with PostgreSQL. The signing key lives beside the database in `PATH.key` (hex seed,
//! mode 0600), not in the database, so that whoever can edit the database file cannot re-sign
//! a rewritten log.

use crate::StoreError;
use crate::VerifyingKey;
use crate::engine::{Backend, Ledger, Sql, V, identity_meta, new_identity};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
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

/// Witnesses' cosignatures of checkpoints, by size and witness verifier key.
const COSIGNATURE_TABLE: &str = "CREATE TABLE IF NOT EXISTS cosignature (size INTEGER NOT NULL, witness TEXT NOT NULL, line TEXT NOT NULL, PRIMARY KEY (size, witness)) WITHOUT ROWID;";

/// The SQLite store.
pub type SqliteStore = Ledger<SqliteDb>;

/// A SQLite database file and its connection.
pub struct SqliteDb {
    conn: Connection,
    path: PathBuf,
}

fn key_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".key");
    PathBuf::from(p)
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

/// Builds the database under a temporary name and renames it into place once complete, so
/// that a crash never leaves a file at `path` that `open` refuses as not initialized.
fn build(path: &Path, meta: &[(&'static str, String)]) -> Result<(), StoreError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".creating");
    let tmp = PathBuf::from(tmp);
    let remove_tmp = || {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = tmp.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    };
    remove_tmp();
    {
        let mut conn = connect(&tmp)?;
        let tx = conn.transaction()?;
        tx.execute_batch(SCHEMA)?;
        tx.execute_batch(COSIGNATURE_TABLE)?;
        for (k, v) in meta {
            tx.execute("INSERT INTO meta (key, value) VALUES (?1, ?2)", params![k, v])?;
        }
        tx.commit()?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    }
    std::fs::rename(&tmp, path)
        .map_err(|e| StoreError::Io { context: format!("creating {}", path.display()), source: e })?;
    remove_tmp();
    Ok(())
}

impl Ledger<SqliteDb> {
    /// Creates a new, empty store at `path` with a fresh signing key in `PATH.key`.
    /// Refuses to touch an existing database.
    pub fn create(path: &Path) -> Result<Self, StoreError> {
        if path.exists() {
            return Err(StoreError::Invalid(format!("{} already exists; choose a new path", path.display())));
        }
        let kp = key_path(path);
        let id = new_identity(&kp)?;
        build(path, &id.meta)?;
        let conn = connect(path)?;
        Ok(Ledger::new(SqliteDb { conn, path: path.to_path_buf() }, id.origin, kp, Some(id.signer)))
    }

    /// Creates a new, empty mirror of the log `origin` signed by `key`: it holds no signing
    /// key and takes only that log's entries with their original checkpoints (an import).
    pub fn create_mirror(path: &Path, origin: &str, key: &VerifyingKey) -> Result<Self, StoreError> {
        if path.exists() {
            return Err(StoreError::Invalid(format!("{} already exists; choose a new path", path.display())));
        }
        build(path, &identity_meta(origin, key))?;
        let conn = connect(path)?;
        Ok(Ledger::new(SqliteDb { conn, path: path.to_path_buf() }, origin.to_string(), key_path(path), None))
    }

    /// Opens an existing store.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::NotInitialized);
        }
        let conn = connect(path)?;
        // Stores made before witnessing existed get its table (a no-op once it exists).
        let has = |name: &str| {
            conn.query_row("SELECT COUNT(*) FROM sqlite_master WHERE name = ?1", [name], |r| r.get::<_, i64>(0))
        };
        if has("event")? == 1 && has("cosignature")? == 0 {
            conn.execute_batch(COSIGNATURE_TABLE)?;
        }
        let origin: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'origin'", [], |r| r.get(0))
            .optional()
            .map_err(|_| StoreError::NotInitialized)?;
        // A log whose `meta` lost its origin still opens, so that `verify` can say so; it
        // cannot sign (no checkpoint matches an empty origin).
        let has_log = || conn.query_row("SELECT COUNT(*) FROM sqlite_master WHERE name = 'event'", [], |r| r.get(0));
        let origin = match origin {
            Some(o) => o,
            None if has_log().unwrap_or(0i64) == 1 => String::new(),
            None => return Err(StoreError::NotInitialized),
        };
        Ok(Ledger::new(SqliteDb { conn, path: path.to_path_buf() }, origin, key_path(path), None))
    }

    pub fn path(&self) -> &Path {
        &self.db.path
    }

    /// Sets how many WAL pages this handle's commits let accumulate before they checkpoint
    /// (SQLite's default is 1000). With a [`Checkpointer`] copying pages in the background the
    /// commit's own checkpoint finds little left to copy; it must stay on, because only a
    /// checkpoint that catches up completely lets the next write restart the WAL file.
    pub fn with_autocheckpoint(self, pages: u32) -> Result<Self, StoreError> {
        self.db.conn.pragma_update(None, "wal_autocheckpoint", pages)?;
        Ok(self)
    }
}

/// Copies the write-ahead log into the database file in the background (`PRAGMA
/// wal_checkpoint(PASSIVE)`, which never blocks the writer or readers) every `every`, and once
/// more when dropped.
pub struct Checkpointer {
    stop: std::sync::mpsc::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    pub fn start(path: &Path, every: std::time::Duration) -> Result<Checkpointer, StoreError> {
        let conn = connect(path)?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("liaison-wal-checkpoint".into())
            .spawn(move || {
                let checkpoint = || {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!(error = %e, "WAL checkpoint failed; the next one retries");
                    }
                };
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    checkpoint();
                }
                checkpoint();
            })
            .map_err(|e| StoreError::Invalid(format!("starting the checkpoint thread: {e}")))?;
        Ok(Checkpointer { stop, thread: Some(thread) })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let _ = self.stop.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl rusqlite::ToSql for V {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            V::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            V::I(n) => ToSqlOutput::Borrowed(ValueRef::Integer(*n)),
            V::T(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            V::B(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

/// A connection (or an open transaction on it) as the engine sees it.
struct Conn<'a>(&'a Connection);

impl Sql for Conn<'_> {
    fn exec(&mut self, sql: &'static str, params: &[V]) -> Result<(), StoreError> {
        self.0.prepare_cached(sql)?.execute(rusqlite::params_from_iter(params))?;
        Ok(())
    }

    fn query(&mut self, sql: &'static str, params: &[V]) -> Result<Vec<Vec<V>>, StoreError> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let cols = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut row = Vec::with_capacity(cols);
            for i in 0..cols {
                row.push(match r.get_ref(i)? {
                    ValueRef::Null => V::Null,
                    ValueRef::Integer(n) => V::I(n),
                    ValueRef::Real(f) => V::I(f as i64),
                    ValueRef::Text(t) => V::T(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => V::B(b.to_vec()),
                });
            }
            out.push(row);
        }
        Ok(out)
    }
}

impl Backend for SqliteDb {
    fn write_tx<T>(
        &mut self,
        commit: bool,
        f: impl FnOnce(&mut dyn Sql) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&mut Conn(&tx))?;
        if commit {
            tx.commit()?;
        }
        Ok(out)
    }

    /// Reads run in autocommit: each statement sees a consistent snapshot, and what the
    /// engine reads across statements (stored Merkle nodes, entries) never changes once
    /// written.
    fn read_tx<T>(&mut self, mut f: impl FnMut(&mut dyn Sql) -> Result<T, StoreError>) -> Result<T, StoreError> {
        f(&mut Conn(&self.conn))
    }
}
