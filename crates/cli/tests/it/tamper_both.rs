//! The tamper attacks on both stores: with `LIAISON_TEST_PG_URL` set (as `.ci/run` sets it)
//! each runs on a fresh PostgreSQL database through `--db postgres://…`, otherwise on SQLite.
//! The attacker drops the append-only triggers and edits one column of one table; `verify`
//! exits 3 naming the first bad event, and the read-only commands work on the store.

use super::{liaison, s, stderr};
use serde_json::Value;

/// A demo store and the `--db` argument that names it; SQL runs as the attacker.
struct Target {
    _dir: tempfile::TempDir,
    db: String,
    sql: Box<dyn FnMut(&str)>,
}

fn target(tag: &str) -> Target {
    let dir = tempfile::tempdir().unwrap();
    match super::fresh_pg_database(&format!("tamper_{tag}")) {
        Some(url) => {
            let key = dir.path().join("pg.key");
            // The attacks name events of the three-person scenario, so the store has only
            // that (`--people 0`); main.rs tests the demo with its replayed weeks.
            let o = liaison(&["demo", "--pg", &url, "--signing-key", s(&key), "--no-serve", "--people", "0"]);
            assert!(o.status.success(), "{}", stderr(&o));
            let mut attacker = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            attacker
                .batch_execute(
                    "DROP TRIGGER event_append_only ON event; DROP TRIGGER checkpoint_append_only ON checkpoint;",
                )
                .unwrap();
            Target { _dir: dir, db: url, sql: Box::new(move |q| attacker.batch_execute(q).unwrap()) }
        }
        None => {
            let db = dir.path().join("demo.db");
            let o = liaison(&["demo", "--db", s(&db), "--no-serve", "--people", "0"]);
            assert!(o.status.success(), "{}", stderr(&o));
            let c = rusqlite::Connection::open(&db).unwrap();
            c.execute_batch(
                "DROP TRIGGER event_no_update; DROP TRIGGER event_no_delete;
                 DROP TRIGGER checkpoint_no_update; DROP TRIGGER checkpoint_no_delete;",
            )
            .unwrap();
            let db = s(&db).to_string();
            Target { _dir: dir, db, sql: Box::new(move |q| c.execute_batch(q).unwrap()) }
        }
    }
}

fn verify(db: &str) -> (i32, Value) {
    let o = liaison(&["--json", "verify", "--db", db]);
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}{}", super::stdout(&o), stderr(&o)));
    (o.status.code().unwrap(), v)
}

#[test]
fn read_only_commands_work_on_either_store() {
    let t = target("read");
    let (code, v) = verify(&t.db);
    assert_eq!((code, v["events"].as_u64()), (0, Some(3482)), "{v}");
    for args in [
        vec!["rebuild", "--db", &t.db],
        vec!["log", "--db", &t.db, "--subject", "S-DEMO-0003"],
        vec!["checkpoint", "--db", &t.db],
        vec!["proof", "inclusion", "--db", &t.db, "--seq", "3470"],
        vec!["proof", "consistency", "--db", &t.db, "--old", "3446"],
    ] {
        let o = liaison(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
    let out = t._dir.path().join("e.ndjson");
    let o = liaison(&["export", "--db", &t.db, "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = liaison(&["--json", "verify", "--export", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn an_edit_of_any_table_is_named_on_either_store() {
    let cases: [(&str, u64, &str); 7] = [
        ("UPDATE event SET subject = NULL WHERE seq = 3465", 3465, "subject"),
        ("UPDATE event SET recorded_us = recorded_us + 1 WHERE seq = 3470", 3470, "recorded_us"),
        ("UPDATE event SET type = 'x' WHERE seq = 3000", 3000, "type"),
        ("UPDATE merkle_node SET hash = sha256(hash) WHERE level = 8 AND idx = 3", 768, "Merkle node"),
        ("DELETE FROM checkpoint WHERE size = 3482", 3477, "not covered by any signed checkpoint"),
        ("UPDATE command SET last_seq = last_seq + 1 WHERE first_seq = 3470", 3470, "idempotency key"),
        ("UPDATE meta SET value = 'liaison/0000000000000000' WHERE key = 'origin'", 0, "verifier_key"),
    ];
    for (i, (attack, first_bad, says)) in cases.into_iter().enumerate() {
        let mut t = target(&format!("edit{i}"));
        let attack = if t.db.starts_with("postgres") {
            attack.to_string()
        } else {
            // SQLite has no sha256(): any other 32 bytes will do.
            attack.replace("sha256(hash)", "zeroblob(32)")
        };
        (t.sql)(&attack);
        let (code, v) = verify(&t.db);
        assert_eq!(code, 3, "{attack}: {v}");
        assert_eq!(v["first_bad_seq"], first_bad, "{attack}: {v}");
        assert!(v["error"].as_str().unwrap().contains(says), "{attack}: {v}");
    }
}
