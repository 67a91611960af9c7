//! End-to-end tests of the `liaison` binary: the demo, bad input, every kind of tampering,
//! import/export, and a crash test that SIGKILLs imports.

mod crash;
mod edits;
mod lawcmds;
mod readme;
mod report;
mod serve_crash;
mod simulate;
mod tamper;
mod tamper_both;
mod witness;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn liaison(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_liaison")).args(args).output().expect("runs")
}

/// `liaison` to run as a server: without the test run's own LIAISON_* variables (the server
/// refuses settings it does not know), logging only errors.
pub fn server_command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_liaison"));
    for (k, _) in std::env::vars() {
        if k.starts_with("LIAISON_") {
            c.env_remove(k);
        }
    }
    c.env("LIAISON_LOG", "error");
    c
}

/// A token for the first demo principal of each role, by role, with every principal's
/// hashed entry written to `dir/tokens.json` (returned).
pub fn demo_tokens(dir: &Path) -> (PathBuf, std::collections::HashMap<String, String>) {
    let path = dir.join("tokens.json");
    let (mut tokens, mut entries) = (std::collections::HashMap::new(), Vec::new());
    for p in api::auth::demo_principals() {
        let role = p.roles[0].as_str().to_string();
        let (t, e) = api::auth::issue(p);
        tokens.entry(role).or_insert(t);
        entries.push(e);
    }
    std::fs::write(&path, serde_json::to_string(&entries).unwrap()).unwrap();
    (path, tokens)
}

/// `liaison serve` on a SQLite store, ready to answer; killed when dropped.
pub struct Served {
    pub base: String,
    child: std::process::Child,
}

impl Served {
    pub fn start(db: &Path, tokens: &Path, env: &[(&str, String)]) -> Served {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut c = server_command();
        c.args(["serve", "--db", &format!("sqlite://{}", s(db)), "--tokens", s(tokens)])
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
        let child = c.spawn().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let agent = http();
        let start = std::time::Instant::now();
        while agent.get(format!("{base}/readyz")).call().map(|r| r.status().as_u16()).ok() != Some(200) {
            assert!(start.elapsed() < std::time::Duration::from_secs(30), "the server did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Served { base, child }
    }

    /// Stops the server gracefully (SIGTERM), so its last commits are checkpointed.
    pub fn stop(mut self) {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that returns every status as a response.
pub fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .build()
        .into()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel)
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A fresh, empty PostgreSQL database named after `tag` on the server of
/// `LIAISON_TEST_PG_URL`, as a URL; `None` when that is not set.
pub fn fresh_pg_database(tag: &str) -> Option<String> {
    let admin = std::env::var("LIAISON_TEST_PG_URL").ok()?;
    let name = format!("liaison_{tag}_{}", std::process::id());
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).unwrap();
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    Some(format!("{}/{name}", admin.rsplit_once('/').unwrap().0))
}

/// A fresh demo store in a temp dir, with its replayed weeks of simulated activity.
pub fn demo_store() -> (tempfile::TempDir, PathBuf) {
    demo_store_with(&[])
}

/// The demo's three-person scenario alone (`--people 0`), for tests that name its events by
/// sequence number.
pub fn scenario_store() -> (tempfile::TempDir, PathBuf) {
    demo_store_with(&["--people", "0"])
}

fn demo_store_with(extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let mut args = vec!["demo", "--no-serve", "--db", s(&db)];
    args.extend(extra);
    let o = liaison(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    (dir, db)
}

/// The events of a store, as `verify` counts them.
pub fn events_of(db: &Path) -> u64 {
    let o = liaison(&["--json", "verify", "--db", s(db)]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["intact"], true, "{v}");
    v["events"].as_u64().unwrap()
}

#[test]
fn demo_prints_custody_chains_and_the_store_verifies_and_rebuilds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let o = liaison(&["--json", "demo", "--no-serve", "--db", s(&db)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let demo: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // Weeks of simulated activity after the three people, every command through the law.
    let fed = &demo["simulated"];
    assert!(fed["people"].as_u64().unwrap() >= 100, "{fed}");
    assert!(fed["commands"].as_u64().unwrap() >= 4 * fed["people"].as_u64().unwrap() / 2, "{fed}");
    for c in ["register_subject", "record_encounter", "book_into_jail", "issue_detainer", "update_detainer", "release"]
    {
        assert!(fed["by_command"][c][0].as_u64().unwrap() > 0, "no {c} in {fed}");
    }
    let o = liaison(&["verify", "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let n = demo["events"].as_u64().unwrap();
    assert!(n > 3482 + 500, "{demo}");
    assert!(stdout(&o).starts_with(&format!("intact: {n} events, root ")), "{}", stdout(&o));
    let o = liaison(&["rebuild", "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = liaison(&["--json", "log", "--db", s(&db), "--subject", "S-DEMO-0001"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let steps: Vec<&str> = v["chain"].as_array().unwrap().iter().map(|s| s["what"].as_str().unwrap()).collect();
    assert_eq!(
        steps,
        [
            "arrested by USBP-SAN-DIEGO (officer O-USBP-0001, authority warrantless_arrest_1357a2, method PB)",
            "handoff H-DEMO-0001 offered by USBP-SAN-DIEGO to ICE-ERO-SND",
            "handoff H-DEMO-0001 accepted by O-ERO-SND-0001: custody moved",
        ]
    );
}

#[test]
fn init_loads_every_reference_agreement_and_refuses_an_existing_path() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let o = liaison(&["--json", "init", "--db", s(&db)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["events"], 3446);
    let o = liaison(&["init", "--db", s(&db)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists; choose a new path"), "{}", stderr(&o));
}

#[test]
fn bad_input_gets_a_clear_error() {
    let (_d, db) = demo_store();
    let cases: [(&[&str], &str); 5] = [
        (&["log", "--db", s(&db), "--subject", "S-DEMO-0001", "--as-of", "yesterday"], "is not an RFC 3339 time"),
        (&["log", "--db", s(&db), "--subject", "NOBODY"], "unknown subject \"NOBODY\""),
        (&["verify", "--db", "/nonexistent/x.db"], "not initialized"),
        (&["verify", "--db", s(&db), "--checkpoint", "/nonexistent/cp"], "reading checkpoint /nonexistent/cp"),
        (&["proof", "inclusion", "--db", s(&db), "--seq", "999999"], "no event 999999"),
    ];
    for (args, msg) in cases {
        let o = liaison(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(msg), "{args:?}: {}", stderr(&o));
    }
    let o = liaison(&["verify"]);
    assert_eq!(o.status.code(), Some(2), "usage errors exit 2");
}

#[test]
fn as_of_a_time_before_anything_was_recorded_shows_nothing() {
    let (_d, db) = demo_store();
    let o = liaison(&["log", "--db", s(&db), "--subject", "S-DEMO-0003", "--as-of", "2020-01-01T00:00:00Z"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("(nothing recorded yet)"), "{}", stdout(&o));
    let o = liaison(&["log", "--db", s(&db), "--subject", "S-DEMO-0003"]);
    assert!(stdout(&o).contains("[valid time corrected by event 3476]"), "{}", stdout(&o));
}

#[test]
fn proofs_verify_from_the_command_line() {
    let (_d, db) = demo_store();
    let o = liaison(&["--json", "proof", "inclusion", "--db", s(&db), "--seq", "3470"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["verified"], true);
    let o = liaison(&["--json", "proof", "consistency", "--db", s(&db), "--old", "3446"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["verified"].clone(), v["new_size"].clone()),
        (serde_json::json!(true), serde_json::json!(events_of(&db)))
    );
}

#[test]
fn export_import_round_trip_and_a_bad_file_leaves_nothing() {
    let (d, db) = demo_store();
    let file = d.path().join("events.ndjson");
    let o = liaison(&["export", "--db", s(&db), "--out", s(&file)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let copy = d.path().join("copy.db");
    let o = liaison(&["import", "--db", s(&copy), s(&file)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let root = |db: &Path| {
        let o = liaison(&["--json", "verify", "--db", s(db)]);
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["root"].clone()
    };
    assert_eq!(root(&db), root(&copy));

    let text = std::fs::read_to_string(&file).unwrap();
    let line = 1 + text.lines().position(|l| l.starts_with("{\"v\":1,\"seq\":7,")).unwrap();
    let bad = d.path().join("bad.ndjson");
    std::fs::write(&bad, text.replacen("\"seq\":7,", "\"seq\":seven,", 1)).unwrap();
    let fresh = d.path().join("fresh.db");
    let o = liaison(&["import", "--db", s(&fresh), s(&bad)]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains(&format!("export line {line}: not a Liaison event")), "{}", stderr(&o));
    assert!(!fresh.exists(), "a rejected import creates no store");
}
