//! Crash test: `liaison import` is killed with SIGKILL at random points, again and again.
//! After every kill the store holds every batch the importer acknowledged, no partial batch,
//! and `verify` passes; the next run resumes where the last one stopped.
//!
//! `LIAISON_CRASH_RUNS` sets the number of kills (default 20; scripts/long-tests uses more).

use super::{liaison, s, stderr};
use domain::Timestamp;
use domain::workload::{setup, subject_events};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use store::{NewEvent, SqliteStore, Store};

fn source_log(dir: &std::path::Path, subjects: u64) -> std::path::PathBuf {
    let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let mut st = SqliteStore::create(&dir.join("source.db")).unwrap();
    let mk = |(valid_at, event)| NewEvent::new(valid_at, "crash-test", event);
    st.append(&setup().into_iter().map(|e| mk((t0, e))).collect::<Vec<_>>(), None, t0).unwrap();
    for chunk in (0..subjects).collect::<Vec<_>>().chunks(200) {
        let events: Vec<NewEvent> = chunk.iter().flat_map(|&i| subject_events(i, t0)).map(mk).collect();
        st.append(&events, None, t0).unwrap();
    }
    let file = dir.join("source.ndjson");
    assert!(liaison(&["export", "--db", s(&dir.join("source.db")), "--out", s(&file)]).status.success());
    file
}

fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn acked(out: &str) -> Option<u64> {
    out.lines().filter_map(|l| l.strip_prefix("committed through event ")).filter_map(|n| n.parse().ok()).max()
}

fn size(db: &std::path::Path) -> u64 {
    let o = liaison(&["--json", "verify", "--db", s(db)]);
    assert_eq!(o.status.code(), Some(0), "verify after a kill: {}{}", super::stdout(&o), stderr(&o));
    serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["events"].as_u64().unwrap()
}

#[test]
fn sigkilled_imports_keep_every_acknowledged_batch_and_verify() {
    let runs: u32 = std::env::var("LIAISON_CRASH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let file = source_log(dir.path(), 6_000);
    let total = std::fs::read_to_string(&file).unwrap().lines().filter(|l| l.starts_with("{\"v\":")).count() as u64;

    // Calibrate: how long does a whole import take here?
    let probe = dir.path().join("probe.db");
    let start = Instant::now();
    assert!(liaison(&["import", "--db", s(&probe), s(&file)]).status.success());
    let full = start.elapsed().as_millis().max(50) as u64;

    let db = dir.path().join("target.db");
    let mut seed = 0x5EED_1234_ABCD_0001u64;
    let mut max_acked: Option<u64> = None;
    let mut kills = 0;
    while kills < runs {
        let mut child = Command::new(env!("CARGO_BIN_EXE_liaison"))
            .args(["import", "--db", s(&db), s(&file)])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(next(&mut seed) % full));
        let finished = child.try_wait().unwrap().is_some();
        child.kill().ok(); // SIGKILL on Unix
        child.wait().unwrap();
        let mut out = String::new();
        child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        if let Some(a) = acked(&out) {
            max_acked = Some(max_acked.map_or(a, |m| m.max(a)));
        }
        let have = if db.exists() { size(&db) } else { 0 };
        if let Some(a) = max_acked {
            assert!(have > a, "acknowledged event {a} is missing after a kill (store has {have})");
        }
        if finished || have == total {
            // The import completed before the kill: start over so that every run kills.
            for suffix in ["", "-wal", "-shm", ".key"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", s(&db)));
            }
            max_acked = None;
            continue;
        }
        kills += 1;
    }
    let o = liaison(&["import", "--db", s(&db), s(&file)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(size(&db), total);
    let root = |db: &std::path::Path| {
        let o = liaison(&["--json", "verify", "--db", s(db)]);
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["root"].clone()
    };
    assert_eq!(root(&db), root(&probe));
    assert!(liaison(&["rebuild", "--db", s(&db)]).status.success());
}
