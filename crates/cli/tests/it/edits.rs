//! Random one-byte edits of every stored column of a populated store, as an insider with the
//! database file would make them (the append-only triggers dropped first). Each edit must be
//! caught by `verify` (exit 3) or, for the projection of current state, by `rebuild` (exit
//! 4), and `verify` must name the right first bad sequence number:
//! - an event row's column: that event;
//! - a Merkle node: the first event it covers;
//! - a checkpoint row: the first event of the commit it closes;
//! - an idempotency row: the first event of its command;
//! - a law version: the first event whose decision quotes it;
//! - `meta` (origin, key, schema): event 0.
//!
//! The store is the demo plus cases added through the API (a subject registered under an
//! idempotency key, arrested, offered to ICE and accepted). `LIAISON_TAMPER_CASES` (default
//! 25) and `LIAISON_TAMPER_EDITS` (default 60) size the run; `scripts/long-tests` runs 1,000
//! cases and 1,000 edits and prints the rates.

use super::{demo_store, liaison, s};
use rusqlite::Connection;
use rusqlite::types::Value;
use std::path::Path;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Adds `cases` cases through the API of a server on `db`, then stops it.
fn populate(dir: &Path, db: &Path, cases: usize) {
    let (tokens_path, tokens) = super::demo_tokens(dir);
    let server = super::Served::start(db, &tokens_path, &[]);
    let (agent, base) = (super::http(), server.base.clone());
    let post = |role: &str, path: &str, key: Option<&str>, body: serde_json::Value| {
        let mut req = agent
            .post(format!("{base}{path}"))
            .header("Authorization", &format!("Bearer {}", tokens[role]))
            .header("Content-Type", "application/json");
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let r = req.send(body.to_string().as_bytes()).unwrap();
        assert_eq!(r.status().as_u16(), 201, "{role} {path}");
    };
    for i in 0..cases {
        let (subject, handoff) = (format!("S-EDIT-{i:05}"), format!("H-EDIT-{i:05}"));
        let names = [format!("Edit{} Person", (b'A' + (i % 26) as u8) as char)];
        post(
            "field_officer",
            "/v1/subjects",
            Some(&format!("reg-{i}")),
            serde_json::json!({"id": subject, "names": names}),
        );
        post(
            "field_officer",
            "/v1/encounters",
            None,
            serde_json::json!({"subject": subject, "location": {"lat": 32.6, "lon": -117.0}, "method": "PB",
                "authority": "warrantless_arrest_1357a2", "arrest": true, "jurisdictions": ["CA"],
                "escape_risk": "Synthetic: ran toward the fence line",
                "suspicion_factors": ["recent_illegal_crossings_in_area", "fleeing_or_hiding"]}),
        );
        post(
            "field_officer",
            "/v1/handoffs",
            Some(&format!("offer-{i}")),
            serde_json::json!({"id": handoff, "subject": subject, "receiving_agency": "ICE-ERO-SND"}),
        );
        post("supervisor", &format!("/v1/handoffs/{handoff}/answer"), None, serde_json::json!({"answer": "accept"}));
    }
    server.stop();
}

/// The tables and columns an edit may touch, each with how often it is picked.
const COLUMNS: &[(&str, &str, u32)] = &[
    ("event", "bytes", 6),
    ("event", "leaf", 4),
    ("event", "recorded_us", 4),
    ("event", "valid_us", 3),
    ("event", "type", 3),
    ("event", "subject", 4),
    ("event", "corrects", 2),
    ("event", "seq", 2),
    ("merkle_node", "hash", 4),
    ("merkle_node", "level", 1),
    ("merkle_node", "idx", 1),
    ("checkpoint", "note", 4),
    ("checkpoint", "size", 2),
    ("command", "request_hash", 2),
    ("command", "first_seq", 1),
    ("command", "last_seq", 1),
    ("command", "checkpoint_size", 1),
    ("command", "idempotency_key", 1),
    ("meta", "value", 2),
    ("meta", "key", 1),
    ("law_version", "sources", 1),
    ("law_version", "rules_hash", 1),
    ("projection", "body", 4),
    ("projection", "id", 1),
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One byte of `v` changed: a byte of a blob or text, a byte of an integer's 8 bytes; a NULL
/// becomes a one-byte value.
fn edit_value(v: Value, rng: &mut Rng) -> Value {
    let other = |b: u8, rng: &mut Rng| b ^ (1 + rng.below(255) as u8);
    match v {
        Value::Integer(n) => {
            let mut b = n.to_le_bytes();
            // Small numbers: change a low byte, so that the edit is a plausible value.
            let i = rng.below(if n.unsigned_abs() < 1 << 40 { 2 } else { 8 }) as usize;
            b[i] = other(b[i], rng);
            Value::Integer(i64::from_le_bytes(b))
        }
        Value::Blob(mut b) => {
            let i = rng.below(b.len() as u64) as usize;
            b[i] = other(b[i], rng);
            Value::Blob(b)
        }
        Value::Text(t) => {
            let mut b = t.into_bytes();
            let i = rng.below(b.len() as u64) as usize;
            // Another printable character for a printable one, so the text stays text.
            b[i] = match b[i] {
                c @ b' '..=b'~' => b' ' + ((c - b' ' + 1 + rng.below(90) as u8) % 95),
                c if c.is_ascii() => b'X',
                _ => b'?',
            };
            Value::Text(String::from_utf8_lossy(&b).into_owned())
        }
        Value::Null => Value::Text("X".into()),
        Value::Real(f) => Value::Real(f + 1.0),
    }
}

fn int(c: &Connection, sql: &str, p: impl rusqlite::Params) -> i64 {
    c.query_row(sql, p, |r| r.get(0)).unwrap()
}

/// The size of the checkpoint before `size` (0 for the first): where its commit begins.
fn commit_start(c: &Connection, size: i64) -> i64 {
    int(c, "SELECT COALESCE(MAX(size), 0) FROM checkpoint WHERE size < ?1", [size])
}

/// The sequence number `verify` must name for an edit of `column` in `row` of `table`
/// (`None`: the projection, which `rebuild` checks and names by record).
fn expected(c: &Connection, table: &str, column: &str, row: &[Value]) -> Option<i64> {
    let i = |k: usize| match &row[k] {
        Value::Integer(n) => *n,
        _ => panic!("an integer column"),
    };
    Some(match table {
        "event" => i(0),
        "merkle_node" => i(1) << i(0),
        "checkpoint" => commit_start(c, i(0)),
        "command" => i(2),
        "meta" => 0,
        "law_version" => {
            let Value::Text(h) = &row[0] else { panic!() };
            int(c, "SELECT MIN(seq) FROM event WHERE instr(bytes, ?1) > 0", [h])
        }
        "projection" => return None,
        _ => unreachable!("{column}"),
    })
}

/// The key columns of each table, in the order `expected` reads them, and all its columns.
fn key_and_columns(table: &str) -> (&'static str, &'static str) {
    match table {
        "event" => ("seq", "seq, bytes, leaf, recorded_us, valid_us, type, subject, corrects"),
        "merkle_node" => ("level, idx", "level, idx, hash"),
        "checkpoint" => ("size", "size, note"),
        "command" => (
            "idempotency_key, request_hash, first_seq",
            "idempotency_key, request_hash, first_seq, last_seq, checkpoint_size",
        ),
        "meta" => ("key", "key, value"),
        "law_version" => ("rules_hash", "rules_hash, sources"),
        "projection" => ("kind, id", "kind, id, body"),
        _ => unreachable!(),
    }
}

#[test]
fn random_one_byte_edits_of_any_column_are_caught_and_name_the_right_event() {
    let (cases, edits) = (env("LIAISON_TAMPER_CASES", 25), env("LIAISON_TAMPER_EDITS", 60));
    let (dir, db) = demo_store();
    populate(dir.path(), &db, cases);
    {
        let c = Connection::open(&db).unwrap();
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
        c.execute_batch(
            "DROP TRIGGER event_no_update; DROP TRIGGER event_no_delete;
             DROP TRIGGER checkpoint_no_update; DROP TRIGGER checkpoint_no_delete;",
        )
        .unwrap();
    }
    let events = int(&Connection::open(&db).unwrap(), "SELECT COUNT(*) FROM event", []);
    let total_weight: u32 = COLUMNS.iter().map(|c| c.2).sum();
    let mut rng = Rng(0x7A3B_E11D_0000_0001);
    let trial = dir.path().join("trial.db");
    let (mut tried, mut caught, mut named, mut seq_checked) = (0, 0, 0, 0);
    let mut misses = Vec::new();
    while tried < edits {
        let _ = std::fs::remove_file(&trial);
        std::fs::copy(&db, &trial).unwrap();
        std::fs::copy(format!("{}.key", s(&db)), format!("{}.key", s(&trial))).unwrap();
        let mut pick = rng.below(u64::from(total_weight)) as u32;
        let &(table, column, _) = COLUMNS
            .iter()
            .find(|c| {
                let hit = pick < c.2;
                pick = pick.saturating_sub(c.2);
                hit
            })
            .unwrap();
        let c = Connection::open(&trial).unwrap();
        let (_, cols) = key_and_columns(table);
        let rows = int(&c, &format!("SELECT COUNT(*) FROM {table}"), []);
        let offset = rng.below(rows as u64) as i64;
        let n = cols.split(',').count();
        let row: Vec<Value> = c
            .query_row(&format!("SELECT {cols} FROM {table} LIMIT 1 OFFSET ?1"), [offset], |r| {
                Ok((0..n).map(|i| r.get::<_, Value>(i).unwrap()).collect())
            })
            .unwrap();
        let want = expected(&c, table, column, &row);
        let names: Vec<&str> = cols.split(", ").collect();
        let at = names.iter().position(|n| *n == column).unwrap();
        let new = edit_value(row[at].clone(), &mut rng);
        let (key, _) = key_and_columns(table);
        let where_key: Vec<String> = key.split(", ").enumerate().map(|(i, k)| format!("{k} IS ?{}", i + 2)).collect();
        let key_values: Vec<Value> =
            key.split(", ").map(|k| row[names.iter().position(|n| n == &k).unwrap()].clone()).collect();
        let mut params: Vec<Value> = vec![new];
        params.extend(key_values);
        let sql = format!("UPDATE {table} SET {column} = ?1 WHERE {}", where_key.join(" AND "));
        if c.execute(&sql, rusqlite::params_from_iter(params)).is_err() {
            continue; // The edit collides with another row's key: not an edit one can make.
        }
        drop(c);
        tried += 1;
        let o = liaison(&["--json", "verify", "--db", s(&trial)]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        let code = o.status.code();
        let rebuilt = || liaison(&["--json", "rebuild", "--db", s(&trial)]).status.code();
        let found = code == Some(3) || (code == Some(0) && rebuilt() == Some(4));
        if found {
            caught += 1;
        }
        if !found {
            misses.push(format!("{table}.{column}: not caught (verify exit {code:?}): {v}"));
        }
        if let Some(w) = want {
            seq_checked += 1;
            if v["first_bad_seq"].as_i64() == Some(w) {
                named += 1;
            } else if found {
                misses.push(format!("{table}.{column}: expected event {w}: {v}"));
            }
        }
    }
    eprintln!(
        "{events} events; {tried} one-byte edits: {caught} caught ({:.1}%), right first bad sequence number {named}/{seq_checked} ({:.1}%)",
        100.0 * caught as f64 / tried as f64,
        100.0 * named as f64 / seq_checked.max(1) as f64
    );
    assert!(misses.is_empty(), "{} misses:\n{}", misses.len(), misses.join("\n"));
}
