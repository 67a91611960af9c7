//! `liaison report ledger`: a release of the demo names its checkpoint, matches its snapshot,
//! and is reproduced byte for byte from its checkpoint after the log has grown; a checkpoint
//! that is not this log's is refused.

use super::{demo_store, liaison, s, stderr};
use std::path::Path;

const PERIOD: [&str; 4] = ["--from", "2026-03-01", "--to", "2026-04-30"];

fn release(db: &Path, out: &Path, checkpoint: Option<&Path>) -> std::process::Output {
    let mut args = vec!["report", "ledger", "--db", s(db), "--out", s(out)];
    args.extend(PERIOD);
    if let Some(c) = checkpoint {
        args.extend(["--checkpoint", s(c)]);
    }
    liaison(&args)
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn the_ledger_report_names_its_checkpoint_and_reproduces_from_it_byte_for_byte() {
    let (dir, db) = demo_store();
    let first = dir.path().join("first");
    let o = release(&db, &first, None);
    assert!(o.status.success(), "{}", stderr(&o));
    let note = std::fs::read_to_string(first.join("checkpoint.txt")).unwrap();
    let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
    let root = note.lines().nth(2).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(first.join("ledger.json")).unwrap()).unwrap();
    let named = json["computed_from"][0].as_str().unwrap();
    assert!(named.contains(&format!("checkpoint of {size} events")) && named.contains(root), "{named}");
    // The summary quotes only what the table publishes: no withheld cell, no unpublished sum.
    let table = json["sections"][0]["tables"][0].clone();
    assert_eq!(table["id"], "handoffs_by_month");
    let published: Vec<String> = table["rows"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["count"].as_u64())
        .map(|n| n.to_string())
        .collect();
    let summary = json["summary"][0].as_str().unwrap();
    for n in summary.split(|c: char| !c.is_ascii_digit()).filter(|w| !w.is_empty()) {
        assert!(
            published.contains(&n.to_string()),
            "the summary quotes {n}, which the table does not publish: {summary}"
        );
    }

    // The log grows by an event inside the period; the release at the old checkpoint does not.
    let mut store = store::SqliteStore::open(&db).unwrap();
    let agency: domain::agency::Agency = serde_json::from_value(serde_json::json!({
        "id": "TEST-LATE-AGENCY", "name": "An agency registered after the release", "kind": "state_local_le"
    }))
    .unwrap();
    let at: domain::Timestamp = "2026-03-15T12:00:00Z".parse().unwrap();
    use store::Store as _;
    store
        .append(
            &[store::NewEvent::new(at, "test", domain::Event::AgencyRegistered { agency })],
            None,
            domain::Timestamp::now(),
        )
        .unwrap();
    drop(store);
    let again = dir.path().join("again");
    let o = release(&db, &again, Some(&first.join("checkpoint.txt")));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(files(&first) == files(&again), "the release at the same checkpoint differs");
    let latest = dir.path().join("latest");
    assert!(release(&db, &latest, None).status.success());
    assert_ne!(std::fs::read(latest.join("checkpoint.txt")).unwrap(), note.as_bytes());

    // A checkpoint with one byte changed (its size) is refused, and nothing is written.
    let forged = dir.path().join("forged.txt");
    std::fs::write(&forged, note.replacen(&format!("\n{size}\n"), &format!("\n{}\n", size - 1), 1)).unwrap();
    let refused = dir.path().join("refused");
    let o = release(&db, &refused, Some(&forged));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("checkpoint"), "{}", stderr(&o));
    assert!(!refused.exists());

    // The snapshot, with the log's own origin and root (random per store) left out.
    let mut snap = json.clone();
    snap["computed_from"][0] = serde_json::Value::String("<checkpoint>".into());
    let got = serde_json::to_string_pretty(&snap).unwrap() + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/ledger-demo.json");
    if std::env::var_os("LIAISON_BLESS").is_some() {
        std::fs::create_dir_all(Path::new(path).parent().unwrap()).unwrap();
        std::fs::write(path, &got).unwrap();
    }
    let want = std::fs::read_to_string(path).expect("snapshot exists (LIAISON_BLESS=1 to write it)");
    assert!(got == want, "the demo's ledger report changed; rerun with LIAISON_BLESS=1 and review the diff");
}

#[test]
fn a_period_that_ends_before_it_starts_is_refused() {
    let (dir, db) = demo_store();
    let o = liaison(&["report", "ledger", "--db", s(&db), "--from", "2026-05-01", "--to", "2026-04-01"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("starts"), "{}", stderr(&o));
    drop(dir);
}
