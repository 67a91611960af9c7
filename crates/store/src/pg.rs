//! The PostgreSQL backend, for deployments that outgrow one machine.
//!
//! The storage logic is the engine's (`engine.rs`), shared with SQLite. Writers serialize on a
//! transaction-scoped advisory lock, so the log has one sequencer however many server
//! processes share the database; readers need no lock. Migrations are numbered SQL files in
//! `migrations/postgres/`, applied in order under the same lock and recorded in
//! `schema_migrations`. The signing key is a file the operator names (never in the database,
//! so that whoever can edit the database cannot re-sign a rewritten log).
//!
//! The client is `tokio-postgres`, driven by a small single-threaded runtime that each store
//! handle owns, so the store stays synchronous: call it from plain threads, never from inside
//! an async task. Inside a write transaction, statements whose results the engine does not
//! need ([`Sql::exec`]) are held back and sent together with the next query or the commit, in
//! one pipeline (tokio-postgres sends every request of futures polled together before it waits
//! for any answer), runs of one insert go as one statement ([`bulk`]), and the new record ids
//! of a group are looked up in one query (`Sql::records`): a group commit costs a few round
//! trips, not one per row. A held-back statement's error surfaces at that query or at the commit and fails the
//! whole transaction; the engine only holds back inserts that cannot fail on a sound database
//! (their keys are sequence numbers the writer lock hands out, or idempotency keys it has
//! looked up first).

use crate::StoreError;
use crate::engine::{Backend, Ledger, Sql, V, new_identity};
use bulk::Param;
use domain::{RecordKey, RecordKind};
use futures_util::future::{try_join, try_join_all};
use std::path::Path;
use tokio::runtime::Runtime;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls, Row, Statement};

/// The migrations, in order.
const MIGRATIONS: [(i64, &str); 2] = [
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (2, include_str!("../migrations/postgres/0002_cosignature.sql")),
];

/// The advisory lock every writer takes (any fixed number; "LIAISON" in ASCII).
const WRITER_LOCK: i64 = 0x004c_4941_4953_4f4e;

/// The PostgreSQL store.
pub type PgStore = Ledger<PgDb>;

/// A PostgreSQL connection, the runtime that drives it, the statements it has prepared, and
/// the statements held back for the next round trip.
pub struct PgDb {
    rt: Runtime,
    client: Client,
    url: String,
    /// When the connection is lost: the next time to try again and the wait after that.
    reconnect: Option<(std::time::Instant, std::time::Duration)>,
    prepared: std::collections::HashMap<&'static str, Statement>,
    held: Vec<(&'static str, Vec<V>)>,
    /// The first error a write transaction's statements met. A held-back statement's error
    /// can surface in a later command's query, after which the engine may go on (it rolls that
    /// command back to its savepoint, and PostgreSQL answers COMMIT in an aborted transaction
    /// with a rollback, not an error), so the whole transaction is failed on it instead.
    failed: Option<String>,
    /// The open savepoint: where its statements start in `held`, or `Sent` once some of them
    /// had to go to the server (then it is a real `SAVEPOINT`).
    savepoint: Option<Savepoint>,
}

/// A command's savepoint is kept on this side while its statements are all still held: undoing
/// it is then dropping them, and PostgreSQL never sees a subtransaction (each costs a
/// subtransaction id, and more than 64 in one transaction overflow every backend's cache of
/// them, which slows other sessions' snapshots). Only when a query must go out in the middle
/// of a command is a real `SAVEPOINT` put before the command's first held statement.
#[derive(Debug, Clone, Copy)]
enum Savepoint {
    Held(usize),
    Sent,
}

/// The first wait before connecting again after the connection was lost, and the longest: a
/// restarted database is written to again within `RECONNECT_MAX` of accepting connections.
const RECONNECT_FIRST: std::time::Duration = std::time::Duration::from_millis(100);
const RECONNECT_MAX: std::time::Duration = std::time::Duration::from_secs(2);

impl PgDb {
    fn connect(url: &str) -> Result<Self, StoreError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Io { context: "starting the PostgreSQL client's runtime".into(), source: e })?;
        let client = open_client(&rt, url)?;
        Ok(PgDb {
            rt,
            client,
            url: url.to_string(),
            reconnect: None,
            prepared: Default::default(),
            held: Vec::new(),
            failed: None,
            savepoint: None,
        })
    }

    /// Connects again when the connection was lost (a database restart, a network cut), with
    /// exponential backoff between attempts: until the next attempt is due, a transaction
    /// fails at once instead of waiting on a dead socket.
    fn ensure_connected(&mut self) -> Result<(), StoreError> {
        if !self.client.is_closed() {
            return Ok(());
        }
        self.reconnect_now()
    }

    /// Connects again now (or fails at once until the backoff's next attempt is due): also
    /// when the client does not know yet that its server is gone, as after a first error
    /// that says so (a terminated backend).
    fn reconnect_now(&mut self) -> Result<(), StoreError> {
        let now = std::time::Instant::now();
        let (due, wait) = self.reconnect.unwrap_or((now, RECONNECT_FIRST));
        if now < due {
            return Err(StoreError::Unavailable("the PostgreSQL connection is lost; reconnecting".into()));
        }
        match open_client(&self.rt, &self.url) {
            Ok(client) => {
                tracing::info!("reconnected to PostgreSQL");
                self.client = client;
                self.prepared.clear();
                self.reconnect = None;
                Ok(())
            }
            Err(e) => {
                self.reconnect = Some((now + wait, (wait * 2).min(RECONNECT_MAX)));
                Err(StoreError::Unavailable(e.to_string()))
            }
        }
    }

    /// Runs SQL text without parameters (simple query protocol; may hold several statements).
    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(self.rt.block_on(self.client.batch_execute(sql))?)
    }

    fn statement(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = self.rt.block_on(self.client.prepare(sql))?;
        self.prepared.insert(sql, s.clone());
        Ok(s)
    }

    /// Sends the held-back statements and then `query` (if any) in one pipeline, and returns
    /// the query's rows.
    fn flush_then(&mut self, query: Option<(Statement, Vec<Param>)>) -> Result<Vec<Row>, StoreError> {
        match self.savepoint {
            Some(Savepoint::Held(at)) if at < self.held.len() => {
                self.held.insert(at, ("SAVEPOINT command", Vec::new()));
                self.savepoint = Some(Savepoint::Sent);
            }
            Some(Savepoint::Held(_)) => self.savepoint = Some(Savepoint::Held(0)),
            _ => {}
        }
        let mut sends = Vec::new();
        for (sql, p) in bulk::coalesce(std::mem::take(&mut self.held)) {
            sends.push((self.statement(sql)?, p));
        }
        let client = &self.client;
        let bound: Vec<Vec<&(dyn ToSql + Sync)>> =
            sends.iter().map(|(_, p)| p.iter().map(|v| v as &(dyn ToSql + Sync)).collect()).collect();
        let sends = try_join_all(sends.iter().zip(&bound).map(|((stmt, _), p)| client.execute(stmt, p)));
        let rows = match query {
            Some((stmt, p)) => {
                let p: Vec<&(dyn ToSql + Sync)> = p.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                self.rt.block_on(try_join(sends, client.query(&stmt, &p))).map(|r| r.1)
            }
            None => self.rt.block_on(sends).map(|_| Vec::new()),
        };
        rows.map_err(|e| {
            self.failed.get_or_insert_with(|| describe(&e));
            e.into()
        })
    }

    fn execute(&mut self, sql: &'static str, p: &[V]) -> Result<(), StoreError> {
        let stmt = self.statement(sql)?;
        self.flush_then(Some((stmt, bulk::one_each(p))))?;
        Ok(())
    }

    fn query_opt(&mut self, sql: &'static str, p: &[V]) -> Result<Option<Row>, StoreError> {
        let stmt = self.statement(sql)?;
        Ok(self.flush_then(Some((stmt, bulk::one_each(p))))?.into_iter().next())
    }
}

/// Whether `e` says the connection, not the statement, failed: a closed socket, an I/O
/// error, or the server ending the session (SQLSTATE class 57P: shutdown, a terminated
/// backend; class 08: connection exceptions).
fn connection_lost(e: &tokio_postgres::Error) -> bool {
    use std::error::Error as _;
    e.is_closed()
        || e.source().is_some_and(|s| s.is::<std::io::Error>())
        || e.as_db_error().is_some_and(|d| matches!(&d.code().code()[..2], "57" | "08"))
}

/// A lost connection is "unavailable" (503, retry), not an internal error.
fn unavailable_if_lost(e: StoreError) -> StoreError {
    match e {
        StoreError::Pg(pg) if connection_lost(&pg) => StoreError::Unavailable(describe(&pg)),
        other => other,
    }
}

/// How long one connection attempt may take when the URL sets no `connect_timeout`: the
/// writer thread waits on it, so a database host that does not answer (a network cut) must
/// not hold it for the operating system's TCP timeout.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A client on `rt`, whose connection runs whenever the runtime is driven (inside every
/// `block_on`).
fn open_client(rt: &Runtime, url: &str) -> Result<Client, StoreError> {
    let mut config: tokio_postgres::Config =
        url.parse().map_err(|e| StoreError::Invalid(format!("PostgreSQL URL: {}", describe(&e))))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let (client, connection) = rt
        .block_on(config.connect(NoTls))
        .map_err(|e| StoreError::Unavailable(format!("connecting to PostgreSQL: {}", describe(&e))))?;
    rt.spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "PostgreSQL connection closed");
        }
    });
    Ok(client)
}

/// An error with the server's own words when it has some (tokio-postgres' `Display` says
/// only "db error" and keeps the server's message in the source).
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(d) => format!("{} ({}): {} ({d})", db.severity(), db.code().code(), db.message()),
            None => format!("{} ({}): {}", db.severity(), db.code().code(), db.message()),
        },
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

/// The advisory lock, as a statement parameter.
fn writer_lock() -> [V; 1] {
    [V::I(WRITER_LOCK)]
}

/// Applies the migrations the database has not seen yet.
fn migrate(db: &mut PgDb) -> Result<(), StoreError> {
    db.batch("BEGIN")?;
    let out = (|| {
        db.execute("SELECT pg_advisory_xact_lock($1)", &writer_lock())?;
        db.batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )?;
        for (version, sql) in MIGRATIONS {
            let done = db.query_opt("SELECT 1 FROM schema_migrations WHERE version = $1", &[V::I(version)])?.is_some();
            if !done {
                db.batch(sql)?;
                db.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[V::I(version)])?;
            }
        }
        Ok(())
    })();
    db.batch(if out.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
    out
}

fn origin(db: &mut PgDb) -> Result<Option<String>, StoreError> {
    Ok(db.query_opt("SELECT value FROM meta WHERE key = 'origin'", &[])?.map(|r| r.get(0)))
}

impl Ledger<PgDb> {
    /// Sets up a new log in an empty database (running the migrations), with a fresh signing
    /// key written to `key_path`. Refuses a database that already holds a log.
    pub fn create(url: &str, key_path: &Path) -> Result<Self, StoreError> {
        let mut db = PgDb::connect(url)?;
        migrate(&mut db)?;
        if origin(&mut db)?.is_some() {
            return Err(StoreError::Invalid("this database already holds a Liaison log".into()));
        }
        if key_path.exists() {
            return Err(StoreError::Invalid(format!("{} already exists; choose a new key path", key_path.display())));
        }
        let id = new_identity(key_path)?;
        db.write_tx(true, |tx| {
            for (k, v) in &id.meta {
                tx.exec("INSERT INTO meta (key, value) VALUES ($1, $2)", &[V::T(k.to_string()), V::T(v.clone())])?;
            }
            Ok(())
        })?;
        Ok(Ledger::new(db, id.origin, key_path.to_path_buf(), Some(id.signer)))
    }

    /// Opens the log in a database (applying any new migrations); `key_path` is the signing
    /// key, needed only to write.
    pub fn open(url: &str, key_path: &Path) -> Result<Self, StoreError> {
        let mut db = PgDb::connect(url)?;
        migrate(&mut db)?;
        let origin = origin(&mut db)?.ok_or(StoreError::NotInitialized)?;
        Ok(Ledger::new(db, origin, key_path.to_path_buf(), None))
    }
}

fn values(rows: Vec<Row>) -> Result<Vec<Vec<V>>, StoreError> {
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| {
                    let ty = r.columns()[i].type_();
                    Ok(if *ty == Type::INT8 {
                        r.get::<_, Option<i64>>(i).map_or(V::Null, V::I)
                    } else if *ty == Type::INT4 {
                        r.get::<_, Option<i32>>(i).map_or(V::Null, |n| V::I(i64::from(n)))
                    } else if *ty == Type::BYTEA {
                        r.get::<_, Option<Vec<u8>>>(i).map_or(V::Null, V::B)
                    } else if *ty == Type::TEXT || *ty == Type::VARCHAR {
                        r.get::<_, Option<String>>(i).map_or(V::Null, V::T)
                    } else {
                        return Err(StoreError::Corrupt(format!("unexpected column type {ty}")));
                    })
                })
                .collect()
        })
        .collect()
}

/// The connection as the engine sees it: in a write transaction statements are held back
/// (see the module's documentation); in a read they run at once.
struct Conn<'a> {
    db: &'a mut PgDb,
    hold: bool,
}

impl Sql for Conn<'_> {
    fn exec(&mut self, sql: &'static str, p: &[V]) -> Result<(), StoreError> {
        self.db.held.push((sql, p.to_vec()));
        if !self.hold {
            self.db.flush_then(None)?;
        }
        Ok(())
    }

    fn query(&mut self, sql: &'static str, p: &[V]) -> Result<Vec<Vec<V>>, StoreError> {
        let stmt = self.db.statement(sql)?;
        values(self.db.flush_then(Some((stmt, bulk::one_each(p))))?)
    }

    fn records(&mut self, keys: &[RecordKey]) -> Result<Vec<(RecordKey, Vec<u8>)>, StoreError> {
        let stmt = self.db.statement(
            "SELECT p.kind, p.id, p.body FROM projection p JOIN unnest($1::text[], $2::text[]) AS k(kind, id) ON p.kind = k.kind AND p.id = k.id",
        )?;
        let kinds = Param::Texts(keys.iter().map(|k| Some(k.kind.as_str().to_string())).collect());
        let ids = Param::Texts(keys.iter().map(|k| Some(k.id.clone())).collect());
        let rows = values(self.db.flush_then(Some((stmt, vec![kinds, ids])))?)?;
        rows.into_iter()
            .map(|row| match <[V; 3]>::try_from(row) {
                Ok([V::T(kind), V::T(id), V::B(body)]) => {
                    let kind = RecordKind::parse(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("unknown record kind {kind:?}")))?;
                    Ok((RecordKey { kind, id }, body))
                }
                _ => Err(StoreError::Corrupt("a projection row has the wrong shape".into())),
            })
            .collect()
    }

    fn savepoint(&mut self) -> Result<(), StoreError> {
        debug_assert!(self.db.savepoint.is_none(), "savepoints do not nest");
        self.db.savepoint = Some(Savepoint::Held(self.db.held.len()));
        Ok(())
    }

    fn release_savepoint(&mut self) -> Result<(), StoreError> {
        match self.db.savepoint.take() {
            Some(Savepoint::Sent) => self.exec("RELEASE SAVEPOINT command", &[]),
            _ => Ok(()),
        }
    }

    fn rollback_to_savepoint(&mut self) -> Result<(), StoreError> {
        match self.db.savepoint.take() {
            Some(Savepoint::Sent) => {
                self.exec("ROLLBACK TO SAVEPOINT command", &[])?;
                self.exec("RELEASE SAVEPOINT command", &[])
            }
            Some(Savepoint::Held(at)) => {
                self.db.held.truncate(at);
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl Backend for PgDb {
    fn write_tx<T>(
        &mut self,
        commit: bool,
        f: impl FnOnce(&mut dyn Sql) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        // BEGIN, the lock and the first statements go in the first round trip; COMMIT goes
        // with the last held statements.
        debug_assert!(self.held.is_empty());
        self.ensure_connected()?;
        (self.failed, self.savepoint) = (None, None);
        self.held.extend([("BEGIN", Vec::new()), ("SELECT pg_advisory_xact_lock($1)", writer_lock().to_vec())]);
        let out = f(&mut Conn { db: self, hold: true }).and_then(|out| {
            if let Some(e) = self.failed.take() {
                return Err(StoreError::Aborted(e));
            }
            if commit {
                self.held.push(("COMMIT", Vec::new()));
                self.flush_then(None)?;
            }
            Ok(out)
        });
        if out.is_err() || !commit {
            self.held.clear();
            // Ends a transaction the failure left open (a no-op when none is); when the
            // connection itself failed, the first error is the one to report.
            let _ = self.batch("ROLLBACK");
        }
        // A write is never retried here (the writer answers "not committed"); a lost
        // connection is reported as such, and the next transaction connects again.
        out.map_err(unavailable_if_lost)
    }

    /// Reads run in autocommit, as on SQLite: what the engine reads across statements never
    /// changes once written.
    /// A read that finds the connection lost (the database restarted since the last use of
    /// this handle) connects again and runs once more: reads change nothing, so the retry is
    /// safe, and the first reader after a restart is answered instead of refused.
    fn read_tx<T>(&mut self, mut f: impl FnMut(&mut dyn Sql) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.ensure_connected()?;
        match f(&mut Conn { db: self, hold: false }) {
            Err(StoreError::Pg(e)) if connection_lost(&e) => {
                tracing::info!(error = %describe(&e), "PostgreSQL connection lost; reconnecting for a read");
                self.reconnect_now()?;
                f(&mut Conn { db: self, hold: false }).map_err(unavailable_if_lost)
            }
            out => out,
        }
    }
}

/// Many rows of one insert sent as one statement: the rows' values go as one array per column
/// and `unnest` turns them back into rows. Only runs of held statements between others (a
/// savepoint, a checkpoint) are merged, so the order that matters is kept; within a run the
/// inserts touch distinct rows (events and Merkle nodes by sequence number, commands by key),
/// but a projection record can be written by several commands of a group, so only its last
/// version goes (an upsert may not change one row twice).
mod bulk {
    use super::V;
    use crate::engine::{INSERT_COMMAND, INSERT_EVENT, INSERT_MERKLE_NODE, INSERT_PROJECTION, UPSERT_PROJECTION};
    use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

    /// Most rows in one statement (a rebuild writes the whole projection in one transaction).
    const ROWS_MAX: usize = 1_000;

    #[derive(Clone, Copy)]
    enum Col {
        I,
        T,
        B,
    }

    struct Bulk {
        one: &'static str,
        many: &'static str,
        cols: &'static [Col],
        /// How many leading columns are the row's key, when later rows replace earlier ones.
        key: Option<usize>,
    }

    const BULK: [Bulk; 5] = [
        Bulk {
            one: INSERT_EVENT,
            many: "INSERT INTO event (seq, bytes, leaf, recorded_us, valid_us, type, subject, corrects) SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::bigint[])",
            cols: &[Col::I, Col::B, Col::B, Col::I, Col::I, Col::T, Col::T, Col::I],
            key: None,
        },
        Bulk {
            one: INSERT_MERKLE_NODE,
            many: "INSERT INTO merkle_node (level, idx, hash) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])",
            cols: &[Col::I, Col::I, Col::B],
            key: None,
        },
        Bulk {
            one: UPSERT_PROJECTION,
            many: "INSERT INTO projection (kind, id, body) SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[]) ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body",
            cols: &[Col::T, Col::T, Col::B],
            key: Some(2),
        },
        Bulk {
            one: INSERT_PROJECTION,
            many: "INSERT INTO projection (kind, id, body) SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])",
            cols: &[Col::T, Col::T, Col::B],
            key: None,
        },
        Bulk {
            one: INSERT_COMMAND,
            many: "INSERT INTO command (idempotency_key, request_hash, first_seq, last_seq, checkpoint_size) SELECT k, h, f, l, 0 FROM unnest($1::text[], $2::bytea[], $3::bigint[], $4::bigint[]) AS u(k, h, f, l)",
            cols: &[Col::T, Col::B, Col::I, Col::I],
            key: None,
        },
    ];

    /// One parameter per value.
    pub(super) fn one_each(p: &[V]) -> Vec<Param> {
        p.iter().cloned().map(Param::One).collect()
    }

    /// A statement parameter: one value, or a column of many rows' values.
    #[derive(Debug)]
    pub(super) enum Param {
        One(V),
        Ints(Vec<Option<i64>>),
        Texts(Vec<Option<String>>),
        Bytes(Vec<Option<Vec<u8>>>),
    }

    impl ToSql for Param {
        fn to_sql(
            &self,
            ty: &Type,
            out: &mut tokio_postgres::types::private::BytesMut,
        ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
            match self {
                Param::One(V::Null) => Ok(IsNull::Yes),
                Param::One(V::I(n)) if *ty == Type::INT4 => i32::try_from(*n)?.to_sql(ty, out),
                Param::One(V::I(n)) => n.to_sql(ty, out),
                Param::One(V::T(t)) => t.to_sql(ty, out),
                Param::One(V::B(b)) => b.to_sql(ty, out),
                Param::Ints(c) => c.to_sql(ty, out),
                Param::Texts(c) => c.to_sql(ty, out),
                Param::Bytes(c) => c.to_sql(ty, out),
            }
        }

        fn accepts(_: &Type) -> bool {
            true
        }

        to_sql_checked!();
    }

    fn column(col: Col, rows: &[Vec<V>], i: usize) -> Param {
        let cell = |r: &Vec<V>| r.get(i).cloned().unwrap_or(V::Null);
        match col {
            Col::I => Param::Ints(rows.iter().map(|r| if let V::I(n) = cell(r) { Some(n) } else { None }).collect()),
            Col::T => Param::Texts(rows.iter().map(|r| if let V::T(t) = cell(r) { Some(t) } else { None }).collect()),
            Col::B => Param::Bytes(rows.iter().map(|r| if let V::B(b) = cell(r) { Some(b) } else { None }).collect()),
        }
    }

    /// The statements to send for `held`, in an order with the same effect.
    pub(super) fn coalesce(held: Vec<(&'static str, Vec<V>)>) -> Vec<(&'static str, Vec<Param>)> {
        let mut out = Vec::new();
        let mut run: Vec<(usize, Vec<Vec<V>>)> = Vec::new();
        for (sql, p) in held {
            match BULK.iter().position(|b| b.one == sql) {
                Some(b) => match run.iter_mut().find(|(k, _)| *k == b) {
                    Some((_, rows)) => rows.push(p),
                    None => run.push((b, vec![p])),
                },
                None => {
                    end_run(&mut run, &mut out);
                    out.push((sql, p.into_iter().map(Param::One).collect()));
                }
            }
        }
        end_run(&mut run, &mut out);
        out
    }

    fn end_run(run: &mut Vec<(usize, Vec<Vec<V>>)>, out: &mut Vec<(&'static str, Vec<Param>)>) {
        for (b, mut rows) in run.drain(..) {
            let bulk = &BULK[b];
            if let Some(k) = bulk.key {
                let mut seen = std::collections::HashSet::new();
                rows.reverse();
                rows.retain(|r| seen.insert(r[..k.min(r.len())].to_vec()));
                rows.reverse();
            }
            if rows.len() == 1 {
                let row = rows.pop().expect("one row");
                out.push((bulk.one, row.into_iter().map(Param::One).collect()));
                continue;
            }
            for chunk in rows.chunks(ROWS_MAX) {
                out.push((bulk.many, bulk.cols.iter().enumerate().map(|(i, c)| column(*c, chunk, i)).collect()));
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn t(s: &str) -> V {
            V::T(s.into())
        }

        fn shape(out: &[(&'static str, Vec<Param>)]) -> Vec<String> {
            out.iter().map(|(sql, p)| format!("{} {:?}", &sql[..sql.find(" (").unwrap_or(sql.len())], p)).collect()
        }

        #[test]
        fn runs_merge_per_table_and_a_projection_row_keeps_its_last_version() {
            let held = vec![
                ("BEGIN", vec![]),
                (UPSERT_PROJECTION, vec![t("subject"), t("S-1"), V::B(vec![1])]),
                (INSERT_MERKLE_NODE, vec![V::I(0), V::I(4), V::B(vec![9])]),
                (UPSERT_PROJECTION, vec![t("encounter"), t("E-1"), V::B(vec![2])]),
                (UPSERT_PROJECTION, vec![t("subject"), t("S-1"), V::B(vec![3])]),
                ("SAVEPOINT command", vec![]),
                (UPSERT_PROJECTION, vec![t("subject"), t("S-1"), V::B(vec![4])]),
            ];
            let out = shape(&coalesce(held));
            assert_eq!(
                out,
                [
                    "BEGIN []",
                    "INSERT INTO projection [Texts([Some(\"encounter\"), Some(\"subject\")]), Texts([Some(\"E-1\"), Some(\"S-1\")]), Bytes([Some([2]), Some([3])])]",
                    "INSERT INTO merkle_node [One(I(0)), One(I(4)), One(B([9]))]",
                    "SAVEPOINT command []",
                    "INSERT INTO projection [One(T(\"subject\")), One(T(\"S-1\")), One(B([4]))]",
                ]
            );
        }

        #[test]
        fn a_long_run_goes_in_statements_of_at_most_rows_max() {
            let held = (0..ROWS_MAX as i64 * 2 + 1)
                .map(|i| (INSERT_MERKLE_NODE, vec![V::I(0), V::I(i), V::B(vec![])]))
                .collect::<Vec<_>>();
            let out = coalesce(held);
            let sizes: Vec<usize> = out
                .iter()
                .map(|(_, p)| match &p[1] {
                    Param::Ints(c) => c.len(),
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(sizes, [ROWS_MAX, ROWS_MAX, 1]);
        }
    }
}
