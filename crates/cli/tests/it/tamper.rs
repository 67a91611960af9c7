//! Every kind of tampering with a stored log is caught by `liaison verify`, which exits 3
//! and names the first bad sequence number. The attacker here can edit the database file
//! (and drops the append-only triggers first) but does not hold the signing key.

use super::{liaison, s, scenario_store, stderr};
use domain::Event;
use ledger::{Entry, leaf_hash};
use rusqlite::{Connection, params};
use serde_json::Value;
use std::path::Path;

/// Seq 3470 is a one-event command in the demo ("subject_release_eligible").
const K: u64 = 3470;

fn verify(db: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["--json", "verify", "--db", s(db)];
    args.extend_from_slice(extra);
    let o = liaison(&args);
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}{}", super::stdout(&o), stderr(&o)));
    (o.status.code().unwrap(), v)
}

fn verify_file(file: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["--json", "verify", "--export", s(file)];
    args.extend_from_slice(extra);
    let o = liaison(&args);
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}{}", super::stdout(&o), stderr(&o)));
    (o.status.code().unwrap(), v)
}

fn attack(db: &Path, f: impl FnOnce(&Connection)) {
    let c = Connection::open(db).unwrap();
    c.execute_batch(
        "DROP TRIGGER event_no_update; DROP TRIGGER event_no_delete;
         DROP TRIGGER checkpoint_no_update; DROP TRIGGER checkpoint_no_delete;",
    )
    .unwrap();
    f(&c);
}

/// A further edit, the triggers already gone.
fn attack_again(db: &Path, f: impl FnOnce(&Connection)) {
    f(&Connection::open(db).unwrap());
}

fn bytes(c: &Connection, seq: u64) -> Vec<u8> {
    c.query_row("SELECT bytes FROM event WHERE seq = ?1", [seq], |r| r.get(0)).unwrap()
}

fn put(c: &Connection, seq: u64, b: &[u8], fix_leaf: bool) {
    c.execute("UPDATE event SET bytes = ?2 WHERE seq = ?1", params![seq, b]).unwrap();
    if fix_leaf {
        c.execute("UPDATE event SET leaf = ?2 WHERE seq = ?1", params![seq, &leaf_hash(b)[..]]).unwrap();
    }
}

fn edit(b: &[u8]) -> Vec<u8> {
    let t = String::from_utf8(b.to_vec()).unwrap();
    let e = t.replacen("D-DEMO-0001", "D-DEMO-0009", 1).replacen("H-DEMO-0003", "H-DEMO-0009", 1);
    assert_ne!(e, t, "the edit changes something");
    e.into_bytes()
}

fn assert_tampered(db: &Path, extra: &[&str], first_bad: u64, says: &str) {
    let (code, v) = verify(db, extra);
    assert_eq!(code, 3, "{v}");
    assert_eq!(v["intact"], false);
    assert_eq!(v["first_bad_seq"], first_bad, "{v}");
    assert!(v["error"].as_str().unwrap().contains(says), "{v}");
}

#[test]
fn modified_event_is_named() {
    let (_d, db) = scenario_store();
    attack(&db, |c| put(c, K, &edit(&bytes(c, K)), false));
    assert_tampered(&db, &[], K, "was modified");
}

#[test]
fn modified_event_with_its_leaf_hash_recomputed_is_named_by_the_chain() {
    let (_d, db) = scenario_store();
    attack(&db, |c| put(c, K, &edit(&bytes(c, K)), true));
    // The edit makes it name a detainer nobody issued; an edit that did not would be named by
    // the next event's link (see `an_altered_chain_link...` for the other direction).
    assert_tampered(&db, &[], K, "names detainer D-DEMO-0009, which no earlier event issued");
}

#[test]
fn modified_last_event_with_its_leaf_hash_recomputed_fails_the_signed_checkpoint() {
    let (_d, db) = scenario_store();
    attack(&db, |c| {
        put(
            c,
            3481,
            &String::from_utf8(bytes(c, 3481)).unwrap().replace("\"active\"", "\"concluded\"").into_bytes(),
            true,
        )
    });
    assert_tampered(&db, &[], 3477, "events 3477..=3481 do not match the signed checkpoint");
}

#[test]
fn deleted_event_is_named() {
    let (_d, db) = scenario_store();
    attack(&db, |c| {
        c.execute("DELETE FROM event WHERE seq = ?1", [K]).unwrap();
    });
    assert_tampered(&db, &[], K, "is missing");
}

#[test]
fn reordered_events_are_named() {
    let (_d, db) = scenario_store();
    attack(&db, |c| {
        let (a, b) = (bytes(c, K), bytes(c, K + 1));
        put(c, K, &b, true);
        put(c, K + 1, &a, true);
    });
    assert_tampered(&db, &[], K, "reordered");
}

#[test]
fn inserted_event_is_named() {
    let (_d, db) = scenario_store();
    attack(&db, |c| {
        c.execute("UPDATE event SET seq = -(seq + 1) WHERE seq >= ?1", [K]).unwrap();
        c.execute("UPDATE event SET seq = -seq WHERE seq < 0", []).unwrap();
        // A well-formed forged entry that chains correctly onto event K-1.
        let mut forged: Entry<Event> = serde_json::from_slice(&bytes(c, K + 1)).unwrap();
        forged.prev = c
            .query_row("SELECT leaf FROM event WHERE seq = ?1", [K - 1], |r| r.get::<_, Vec<u8>>(0))
            .unwrap()
            .try_into()
            .unwrap();
        forged.actor = "forger".into();
        let b = forged.to_bytes();
        // Its other columns copied from the event it was made from, so that only its place
        // gives it away.
        c.execute(
            "INSERT INTO event (seq, bytes, leaf, recorded_us, valid_us, type, subject, corrects)
             SELECT ?1, ?2, ?3, recorded_us, valid_us, type, subject, corrects FROM event WHERE seq = ?1 + 1",
            params![K, b, &leaf_hash(&b)[..]],
        )
        .unwrap();
    });
    assert_tampered(&db, &[], K, "inserted");
}

#[test]
fn truncated_log_is_caught_by_the_stored_checkpoints() {
    let (_d, db) = scenario_store();
    attack(&db, |c| {
        c.execute("DELETE FROM event WHERE seq >= ?1", [K]).unwrap();
    });
    assert_tampered(&db, &[], K, "truncated");
}

#[test]
fn truncation_that_also_removes_checkpoints_is_caught_by_what_it_leaves_or_an_agencys_checkpoint() {
    let (d, db) = scenario_store();
    let kept = d.path().join("agency-checkpoint.txt");
    let o = liaison(&["checkpoint", "--db", s(&db)]);
    std::fs::write(&kept, &o.stdout).unwrap();
    attack(&db, |c| {
        c.execute("DELETE FROM event WHERE seq >= ?1", [K]).unwrap();
        c.execute("DELETE FROM checkpoint WHERE size > ?1", [K]).unwrap();
    });
    // The truncated commands' idempotency rows are still there.
    assert_tampered(&db, &[], K, "3470");
    attack_again(&db, |c| {
        c.execute("DELETE FROM command WHERE first_seq >= ?1", [K]).unwrap();
        c.execute("DELETE FROM merkle_node WHERE (idx + 1) << level > ?1", [K]).unwrap();
    });
    let (code, _) = verify(&db, &[]);
    assert_eq!(code, 0, "without an outside copy a truncation that removes every trace is undetectable");
    assert_tampered(&db, &["--checkpoint", s(&kept)], K, "truncated");
}

#[test]
fn rewritten_history_with_a_consistent_chain_fails_the_signed_checkpoints() {
    let (_d, db) = scenario_store();
    attack(&db, |c| {
        let mut prev: [u8; 32] = c
            .query_row("SELECT leaf FROM event WHERE seq = ?1", [K - 1], |r| r.get::<_, Vec<u8>>(0))
            .unwrap()
            .try_into()
            .unwrap();
        for seq in K..3477 {
            let mut e: Entry<Event> = serde_json::from_slice(&bytes(c, seq)).unwrap();
            e.prev = prev;
            if seq == K {
                e.actor = "someone else".into();
            }
            let b = e.to_bytes();
            put(c, seq, &b, true);
            prev = leaf_hash(&b);
        }
    });
    assert_tampered(&db, &[], K, "do not match the signed checkpoint");
}

#[test]
fn a_forged_checkpoint_is_refused() {
    let (_d, db) = scenario_store();
    attack(&db, |c| {
        let note: String = c.query_row("SELECT note FROM checkpoint WHERE size = 3477", [], |r| r.get(0)).unwrap();
        // Another root (its first base64 character changed), the signature kept.
        let mut lines: Vec<String> = note.lines().map(str::to_string).collect();
        let root = lines[2].clone();
        lines[2] = format!("{}{}", if root.starts_with('A') { "B" } else { "A" }, &root[1..]);
        c.execute("UPDATE checkpoint SET note = ?1 WHERE size = 3477", [lines.join("\n") + "\n"]).unwrap();
    });
    // The checkpoint closes the last commit, a one-event correction (event 3476).
    assert_tampered(&db, &[], 3476, "signature does not verify");
}

#[test]
fn an_exact_copy_verifies_against_the_originals_checkpoint_and_another_log_does_not() {
    let (d, db) = scenario_store();
    let kept = d.path().join("cp.txt");
    std::fs::write(&kept, liaison(&["checkpoint", "--db", s(&db)]).stdout).unwrap();
    let file = d.path().join("all.ndjson");
    assert!(liaison(&["export", "--db", s(&db), "--out", s(&file)]).status.success());
    let copy = d.path().join("copy.db");
    assert!(liaison(&["import", "--db", s(&copy), s(&file)]).status.success());
    let (code, v) = verify(&copy, &["--checkpoint", s(&kept)]);
    assert_eq!(code, 0, "{v}");
    let (code, v) = verify_file(&file, &["--checkpoint", s(&kept)]);
    assert_eq!(code, 0, "{v}");
    // The same events under another key: what an attacker who rebuilt the log would have.
    let (_d2, other) = scenario_store();
    let (code, v) = verify(&other, &["--checkpoint", s(&kept)]);
    assert_eq!(code, 3, "{v}");
    assert!(v["error"].as_str().unwrap().contains("signed by key"), "{v}");
}

#[test]
fn an_altered_chain_link_is_named_when_a_checkpoint_vouches_for_the_event_before_it() {
    let (_d, db) = scenario_store();
    attack(&db, |c| {
        let mut e: Entry<Event> = serde_json::from_slice(&bytes(c, K + 1)).unwrap();
        e.prev[0] ^= 1;
        put(c, K + 1, &e.to_bytes(), true);
    });
    assert_tampered(&db, &[], K + 1, "record of the previous event's hash was changed");
}

// The review's findings, one by one (each passed `verify` before).

#[test]
fn a_subject_index_edit_that_hides_a_transfer_is_caught() {
    let (_d, db) = scenario_store();
    let seq: u64 = 3465; // handoff_accepted: its subject comes from the handoff it names
    attack(&db, |c| {
        c.execute("UPDATE event SET subject = NULL WHERE seq = ?1", [seq]).unwrap();
    });
    assert_tampered(&db, &[], seq, "subject");
    let o = liaison(&["--json", "log", "--db", s(&db), "--subject", "S-DEMO-0001"]);
    assert!(o.status.success());
}

#[test]
fn a_raised_recorded_time_is_caught_and_the_server_does_not_stamp_the_future_with_it() {
    let (_d, db) = scenario_store();
    attack(&db, |c| {
        c.execute("UPDATE event SET recorded_us = recorded_us + 12 * 86400 * 1000000 WHERE seq = 3476", []).unwrap();
    });
    assert_tampered(&db, &[], 3476, "recorded_us");
    // The writer reads the last time from the entry, not the column.
    let mut st = store::SqliteStore::open(&db).unwrap();
    let before = jiff::Timestamp::now();
    let ev = store::NewEvent::new(before, "test", domain::Event::ValidTimeCorrected { note: "x".into() });
    let ev = store::NewEvent { corrects: Some(3476), ..ev };
    let r = store::Store::append(&mut st, &[ev], None, before).unwrap();
    let e = store::Store::entries(&mut st, r.first_seq, 1).unwrap().remove(0).decode().unwrap();
    assert!(e.recorded_at < before + jiff::SignedDuration::from_secs(60), "stamped {}", e.recorded_at);
}

#[test]
fn a_flipped_merkle_node_on_the_right_edge_stops_signing_and_is_named() {
    let (_d, db) = scenario_store();
    // 3477 events: the level-4 node 216 (events 3456..=3471) is on the frontier.
    attack(&db, |c| {
        c.execute("UPDATE merkle_node SET hash = zeroblob(32) WHERE level = 4 AND idx = 216", []).unwrap();
    });
    let mut st = store::SqliteStore::open(&db).unwrap();
    let now = jiff::Timestamp::now();
    let ev = store::NewEvent {
        corrects: Some(3476),
        ..store::NewEvent::new(now, "test", domain::Event::ValidTimeCorrected { note: "x".into() })
    };
    let err = store::Store::append(&mut st, &[ev], None, now).unwrap_err();
    assert!(err.to_string().contains("not covered by a signed checkpoint that matches them"), "{err}");
    drop(st);
    assert_tampered(&db, &[], 3456, "Merkle node (level 4, index 216)");
}

#[test]
fn a_deleted_checkpoint_row_is_named_by_the_commit_it_closed() {
    let (_d, db) = scenario_store();
    let (start, size): (u64, u64) = {
        let c = Connection::open(&db).unwrap();
        let sizes: Vec<u64> = c
            .prepare("SELECT size FROM checkpoint ORDER BY size")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        (sizes[sizes.len() - 4], sizes[sizes.len() - 3])
    };
    attack(&db, |c| {
        c.execute("DELETE FROM checkpoint WHERE size = ?1", [size]).unwrap();
    });
    assert_tampered(&db, &[], start, "no signed checkpoint closes the commit");
}

#[test]
fn a_malformed_checkpoint_exits_3_naming_the_commit_it_closed() {
    let (_d, db) = scenario_store();
    attack(&db, |c| {
        c.execute("UPDATE checkpoint SET note = 'garbage' WHERE size = 3477", []).unwrap();
    });
    assert_tampered(&db, &[], 3476, "malformed checkpoint");
}

#[test]
fn an_edited_idempotency_row_and_meta_are_caught() {
    let (_d, db) = scenario_store();
    attack(&db, |c| {
        c.execute("UPDATE command SET request_hash = zeroblob(32) WHERE first_seq = 3470", []).unwrap();
    });
    assert_tampered(&db, &[], 3470, "request hash");
    let (_d, db) = scenario_store();
    attack(&db, |c| {
        c.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'", []).unwrap();
    });
    assert_tampered(&db, &[], 0, "schema_version");
}

#[test]
fn policy_explain_works_on_a_mirror() {
    let (d, db) = scenario_store();
    let file = d.path().join("all.ndjson");
    assert!(liaison(&["export", "--db", s(&db), "--out", s(&file)]).status.success());
    let copy = d.path().join("mirror.db");
    assert!(liaison(&["import", "--db", s(&copy), s(&file)]).status.success());
    let o = liaison(&["--json", "policy", "explain", "--db", s(&copy), "--event", "3470"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["identical"], true, "{v}");
}
