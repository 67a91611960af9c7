//! The PostgreSQL backend, for deployments that outgrow one machine.
//!
//! The storage logic is the engine's (`engine.rs`), shared with SQLite. Writers serialize on a
//! transaction-scoped advisory lock, so the log has one sequencer however many server
//! processes share the database; readers need no lock. Migrations are numbered SQL files in
//! `migrations/postgres/`, applied in order under the same lock and recorded in
//! `schema_migrations`. The signing key is a file the operator names (never in the database,
//! so that whoever can edit the database cannot re-sign a rewritten log).
//!
//! The `postgres` client is synchronous (it runs its own small runtime): call it from plain
//! threads, never from inside an async task.

use crate::StoreError;
use crate::engine::{Backend, Ledger, Sql, V, new_identity};
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, GenericClient, NoTls};
use std::path::Path;

/// The migrations, in order.
const MIGRATIONS: [(i64, &str); 1] = [(1, include_str!("../migrations/postgres/0001_init.sql"))];

/// The advisory lock every writer takes (any fixed number; "LIAISON" in ASCII).
const WRITER_LOCK: i64 = 0x004c_4941_4953_4f4e;

/// The PostgreSQL store.
pub type PgStore = Ledger<PgDb>;

/// A PostgreSQL connection and the statements it has prepared.
pub struct PgDb {
    client: Client,
    prepared: Statements,
}

type Statements = std::collections::HashMap<&'static str, postgres::Statement>;

fn connect(url: &str) -> Result<Client, StoreError> {
    Client::connect(url, NoTls).map_err(|e| StoreError::Invalid(format!("connecting to PostgreSQL: {e}")))
}

/// Applies the migrations the database has not seen yet.
fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )?;
    for (version, sql) in MIGRATIONS {
        let done = tx.query_opt("SELECT 1 FROM schema_migrations WHERE version = $1", &[&version])?.is_some();
        if !done {
            tx.batch_execute(sql)?;
            tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&version])?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn origin(client: &mut Client) -> Result<Option<String>, StoreError> {
    Ok(client.query_opt("SELECT value FROM meta WHERE key = 'origin'", &[])?.map(|r| r.get(0)))
}

impl Ledger<PgDb> {
    /// Sets up a new log in an empty database (running the migrations), with a fresh signing
    /// key written to `key_path`. Refuses a database that already holds a log.
    pub fn create(url: &str, key_path: &Path) -> Result<Self, StoreError> {
        let mut client = connect(url)?;
        migrate(&mut client)?;
        if origin(&mut client)?.is_some() {
            return Err(StoreError::Invalid("this database already holds a Liaison log".into()));
        }
        if key_path.exists() {
            return Err(StoreError::Invalid(format!("{} already exists; choose a new key path", key_path.display())));
        }
        let id = new_identity(key_path)?;
        let mut tx = client.transaction()?;
        for (k, v) in &id.meta {
            tx.execute("INSERT INTO meta (key, value) VALUES ($1, $2)", &[k, v])?;
        }
        tx.commit()?;
        Ok(Ledger::new(
            PgDb { client, prepared: Statements::new() },
            id.origin,
            key_path.to_path_buf(),
            Some(id.signer),
        ))
    }

    /// Opens the log in a database (applying any new migrations); `key_path` is the signing
    /// key, needed only to write.
    pub fn open(url: &str, key_path: &Path) -> Result<Self, StoreError> {
        let mut client = connect(url)?;
        migrate(&mut client)?;
        let origin = origin(&mut client)?.ok_or(StoreError::NotInitialized)?;
        Ok(Ledger::new(PgDb { client, prepared: Statements::new() }, origin, key_path.to_path_buf(), None))
    }
}

impl ToSql for V {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            V::Null => Ok(IsNull::Yes),
            V::I(n) if *ty == Type::INT4 => i32::try_from(*n)?.to_sql(ty, out),
            V::I(n) => n.to_sql(ty, out),
            V::T(s) => s.to_sql(ty, out),
            V::B(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A client or an open transaction, as the engine sees it, with the connection's prepared
/// statements (one round trip per statement text, once).
struct Conn<'a, C: GenericClient> {
    c: &'a mut C,
    prepared: &'a mut Statements,
}

impl<C: GenericClient> Conn<'_, C> {
    fn statement(&mut self, sql: &'static str) -> Result<postgres::Statement, StoreError> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = self.c.prepare(sql)?;
        self.prepared.insert(sql, s.clone());
        Ok(s)
    }
}

fn params(p: &[V]) -> Vec<&(dyn ToSql + Sync)> {
    p.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

impl<C: GenericClient> Sql for Conn<'_, C> {
    fn exec(&mut self, sql: &'static str, p: &[V]) -> Result<u64, StoreError> {
        let stmt = self.statement(sql)?;
        Ok(self.c.execute(&stmt, &params(p))?)
    }

    fn query(&mut self, sql: &'static str, p: &[V]) -> Result<Vec<Vec<V>>, StoreError> {
        let stmt = self.statement(sql)?;
        let rows = self.c.query(&stmt, &params(p))?;
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
}

impl Backend for PgDb {
    fn write_tx<T>(
        &mut self,
        commit: bool,
        f: impl FnOnce(&mut dyn Sql) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut tx = self.client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK])?;
        let out = f(&mut Conn { c: &mut tx, prepared: &mut self.prepared })?;
        if commit {
            tx.commit()?;
        }
        Ok(out)
    }

    /// Reads run in autocommit, as on SQLite: what the engine reads across statements never
    /// changes once written.
    fn read_tx<T>(&mut self, f: impl FnOnce(&mut dyn Sql) -> Result<T, StoreError>) -> Result<T, StoreError> {
        f(&mut Conn { c: &mut self.client, prepared: &mut self.prepared })
    }
}
