//! API integration tests: a real server on loopback over a store holding the real reference
//! data and the demo scenario, driven over HTTP by the demo principals (one per role).
//!
//! The store is SQLite unless `LIAISON_TEST_PG_URL` names a PostgreSQL database the tests may
//! create databases from (`.ci/run` runs the whole suite a second time that way): each test
//! then gets a fresh database of its own.

mod bad_input;
mod coverage;
mod findings;
mod workflows;

use serde_json::{Value, json};
use std::collections::HashMap;
use store::{NewEvent, PgStore, SqliteStore, Store};

pub struct Harness {
    pub dir: tempfile::TempDir,
    db: Db,
    pub base: String,
    pub tokens: HashMap<&'static str, String>,
    agent: ureq::Agent,
    server: Option<api::Server>,
    rt: tokio::runtime::Runtime,
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
}

pub const ROLES: [&str; 6] =
    ["field_officer", "supervisor", "jail_staff", "officer_287g", "oversight", "administrator"];

/// Where a test's store lives.
enum Db {
    Sqlite(std::path::PathBuf),
    Postgres { url: String, key: std::path::PathBuf },
}

impl Db {
    /// A fresh, empty store location for one test.
    fn fresh(dir: &std::path::Path) -> Db {
        match std::env::var("LIAISON_TEST_PG_URL") {
            Err(_) => Db::Sqlite(dir.join("api.db")),
            Ok(admin) => {
                let name = format!("liaison_it_{}", service::new_id("", "", None)[1..].to_lowercase());
                let mut c = postgres::Client::connect(&admin, postgres::NoTls).expect("LIAISON_TEST_PG_URL connects");
                c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
                let base = admin.rsplit_once('/').expect("a database URL ends in /DBNAME").0;
                Db::Postgres { url: format!("{base}/{name}"), key: dir.join("pg.key") }
            }
        }
    }

    fn create(&self) -> Box<dyn Store> {
        match self {
            Db::Sqlite(p) => Box::new(SqliteStore::create(p).unwrap()),
            Db::Postgres { url, key } => Box::new(PgStore::create(url, key).unwrap()),
        }
    }

    fn open(&self) -> Box<dyn Store> {
        match self {
            Db::Sqlite(p) => Box::new(SqliteStore::open(p).unwrap()),
            Db::Postgres { url, key } => Box::new(PgStore::open(url, key).unwrap()),
        }
    }

    fn configure(&self, c: &mut api::Config) {
        match self {
            Db::Sqlite(p) => c.db = format!("sqlite://{}", p.display()),
            Db::Postgres { url, key } => {
                c.db = url.clone();
                c.signing_key = Some(key.clone());
            }
        }
    }
}

/// Fills a store with the reference data and the demo scenario's events (without decisions).
fn populate(s: &mut dyn Store) {
    let facts = reference::load(&reference::Sources::bundled()).unwrap();
    let events: Vec<NewEvent> =
        facts.into_iter().map(|f| NewEvent::new(f.valid_at, "system:reference", f.event)).collect();
    s.append(&events, None, jiff::Timestamp::now()).unwrap();
    let t0: jiff::Timestamp = "2026-03-02T08:00:00Z".parse().unwrap();
    for c in domain::demo::scenario(t0) {
        if c.corrects_command.is_some() {
            continue;
        }
        let events: Vec<NewEvent> = c.events.into_iter().map(|(at, e)| NewEvent::new(at, c.actor.clone(), e)).collect();
        s.append(&events, Some(&c.idempotency_key), jiff::Timestamp::now()).unwrap();
    }
}

impl Harness {
    pub fn start() -> Harness {
        Self::start_with(|_| {})
    }

    pub fn start_with(tune: impl FnOnce(&mut api::Config)) -> Harness {
        Self::start_seeded(|_| {}, tune)
    }

    /// Starts on a store that `seed` wrote to after the demo data (before the server opened it).
    pub fn start_seeded(seed: impl FnOnce(&mut dyn Store), tune: impl FnOnce(&mut api::Config)) -> Harness {
        Self::start_full(seed, tune, vec![])
    }

    /// Starts with principals beside the demo's (`extra`, e.g. ones known by an OIDC subject).
    pub fn start_full(
        seed: impl FnOnce(&mut dyn Store),
        tune: impl FnOnce(&mut api::Config),
        extra: Vec<api::auth::TokenEntry>,
    ) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::fresh(dir.path());
        {
            let mut s = db.create();
            populate(s.as_mut());
            seed(s.as_mut());
        }
        let mut tokens = HashMap::new();
        let mut entries = Vec::new();
        for p in api::auth::demo_principals() {
            let (token, entry) = api::auth::issue(p.clone());
            let role = ROLES.iter().find(|r| **r == p.roles[0].as_str()).unwrap();
            tokens.entry(*role).or_insert(token);
            entries.push(entry);
        }
        entries.extend(extra);
        let mut config = api::Config { addr: "127.0.0.1:0".into(), ..api::Config::default() };
        db.configure(&mut config);
        tune(&mut config);
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let server = rt.block_on(api::start(&config, api::auth::Tokens::new(entries).unwrap())).unwrap();
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        Harness { base: format!("http://{}", server.addr), dir, db, tokens, agent, server: Some(server), rt }
    }

    fn answer(mut r: ureq::http::Response<ureq::Body>) -> Answer {
        let status = r.status().as_u16();
        let content_type = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let text = r.body_mut().read_to_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer { status, content_type, body }
    }

    pub fn get(&self, role: &str, path: &str) -> Answer {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(t) = self.tokens.get(role) {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        Self::answer(req.call().unwrap())
    }

    /// The bearer token of `role`.
    pub fn token(&self, role: &str) -> String {
        self.tokens[role].clone()
    }

    /// GETs with exactly the given headers (no token added).
    pub fn get_raw(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::answer(req.call().unwrap())
    }

    /// POSTs raw bytes with the given headers.
    pub fn post_raw(&self, role: &str, path: &str, body: &[u8], headers: &[(&str, &str)]) -> Answer {
        let mut req = self.agent.post(format!("{}{path}", self.base));
        if let Some(t) = self.tokens.get(role) {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::answer(req.send(body).unwrap())
    }

    pub fn post(&self, role: &str, path: &str, body: Value) -> Answer {
        self.post_raw(role, path, body.to_string().as_bytes(), &[("Content-Type", "application/json")])
    }

    pub fn post_keyed(&self, role: &str, path: &str, key: &str, body: Value) -> Answer {
        self.post_raw(
            role,
            path,
            body.to_string().as_bytes(),
            &[("Content-Type", "application/json"), ("Idempotency-Key", key)],
        )
    }

    /// Takes the database away for `down` and gives it back, as a restart does from the
    /// server's side: on PostgreSQL, new connections to the test's database are refused and
    /// the open ones (the server's) are terminated; SQLite, embedded, has no connection to
    /// lose, so there nothing happens. Returns when the database accepts connections again.
    pub fn interrupt_database(&self, down: std::time::Duration) {
        let Db::Postgres { url, .. } = &self.db else { return };
        let admin = std::env::var("LIAISON_TEST_PG_URL").unwrap();
        let name = url.rsplit_once('/').unwrap().1;
        let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        c.batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).unwrap();
        c.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", &[&name]).unwrap();
        std::thread::sleep(down);
        c.batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).unwrap();
    }

    /// Number of events in the log, read from the store directly.
    pub fn log_size(&self) -> u64 {
        self.db.open().size().unwrap()
    }

    /// Stops the server gracefully and checks the whole log.
    pub fn stop_and_verify(mut self) -> u64 {
        let server = self.server.take().unwrap();
        self.rt.block_on(server.stop()).unwrap();
        let mut s = self.db.open();
        let report = store::ops::verify(s.as_mut(), &Default::default(), &mut |_| {}).unwrap();
        assert_eq!(store::ops::rebuild(s.as_mut(), &mut |_| {}).unwrap().difference_count, 0);
        report.count
    }
}

/// Registers a subject as `role` and returns its id.
pub fn new_subject(h: &Harness, role: &str, id: &str) -> String {
    let a = h.post(role, "/v1/subjects", json!({ "id": id, "names": ["Test Person"] }));
    assert_eq!(a.status, 201, "{a:?}");
    id.to_string()
}

/// A Border Patrol arrest near San Diego, recorded by the field officer.
pub fn arrest(h: &Harness, subject: &str) -> Answer {
    h.post(
        "field_officer",
        "/v1/encounters",
        json!({
            "subject": subject,
            "location": { "lat": 32.6, "lon": -117.0 },
            "method": "PB",
            "authority": "warrantless_arrest_1357a2",
            "suspicion_factors": ["recent_illegal_crossings_in_area", "fleeing_or_hiding"],
            "arrest": true,
            "escape_risk": "Synthetic: ran from the agents toward the fence line",
            "jurisdictions": ["CA"]
        }),
    )
}
