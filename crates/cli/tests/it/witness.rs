//! Witnessed checkpoints end to end: a `liaison witness` process cosigns a real server's
//! checkpoints, refuses a fork of the same log, and a checkpoint it cosigned catches a fork
//! and a truncation that removed every other trace.

use super::{demo_store, liaison, s, stderr};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// Appends a one-event correction to a store directly (the holder of its signing key).
fn append_one(db: &std::path::Path, note: &str) {
    let mut st = store::SqliteStore::open(db).unwrap();
    let now = jiff::Timestamp::now();
    let ev = store::NewEvent {
        corrects: Some(3476),
        ..store::NewEvent::new(now, "test", domain::Event::ValidTimeCorrected { note: note.into() })
    };
    store::Store::append(&mut st, &[ev], None, now).unwrap();
}

#[test]
fn a_witness_cosigns_a_servers_checkpoints_refuses_a_fork_and_catches_a_truncation() {
    let (dir, db) = super::scenario_store();
    let d = dir.path();
    // A fork-to-be: the same log, copied with its signing key.
    let fork = d.join("fork.db");
    std::fs::copy(&db, &fork).unwrap();
    std::fs::copy(format!("{}.key", s(&db)), format!("{}.key", s(&fork))).unwrap();
    let cp: serde_json::Value =
        serde_json::from_slice(&liaison(&["--json", "checkpoint", "--db", s(&db)]).stdout).unwrap();
    let log_key = cp["verifier_key"].as_str().unwrap().to_string();

    // The witness.
    let wport = free_port();
    let mut w = super::server_command()
        .args(["--json", "witness", "--name", "oversight.test/w1", "--key", s(&d.join("w.key"))])
        .args(["--log", &log_key, "--state", s(&d.join("w.json")), "--addr", &format!("127.0.0.1:{wport}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first: serde_json::Value =
        serde_json::Deserializer::from_reader(w.stdout.take().unwrap()).into_iter().next().unwrap().unwrap();
    let _w = Killed(w);
    let wkey = first["verifier_key"].as_str().unwrap().to_string();

    // The log's server, asking the witness every second.
    let (tokens, by_role) = super::demo_tokens(d);
    let token = by_role["field_officer"].clone();
    let server = super::Served::start(
        &db,
        &tokens,
        &[("LIAISON_WITNESSES", format!("http://127.0.0.1:{wport} {wkey}")), ("LIAISON_WITNESS_SECONDS", "1".into())],
    );
    let base = server.base.clone();
    let a = agent();
    for i in 0..3 {
        let r = a
            .post(format!("{base}/v1/subjects"))
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(format!(r#"{{"id":"S-WIT-{i}","names":["Witnessed Person"]}}"#).as_bytes())
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
    }
    // Wait until the witness has cosigned the latest checkpoint.
    let start = Instant::now();
    let witnessed = loop {
        let mut r = a
            .get(format!("{base}/v1/ledger/checkpoint"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        if v["witnessed"]["size"] == v["size"] && v["size"].as_u64() == Some(3485) {
            break v["witnessed"].clone();
        }
        assert!(start.elapsed() < Duration::from_secs(30), "never witnessed: {v}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(witnessed["witnesses"][0], wkey.as_str());
    drop(server);
    let kept = d.join("witnessed.txt");
    std::fs::write(&kept, witnessed["note"].as_str().unwrap()).unwrap();

    // The store verifies, cosignatures included, and extends the witnessed checkpoint.
    let o = liaison(&["--json", "verify", "--db", s(&db), "--checkpoint", s(&kept), "--witness", &wkey]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", stderr(&o)));
    assert_eq!(o.status.code(), Some(0), "{v}");
    assert_eq!(v["witnessed"][0]["verified"], true, "{v}");
    assert!(v["cosignatures_checked"].as_u64().unwrap() >= 1, "{v}");

    // A fork of the same log (the key's holder appended other events): the witness refuses
    // to cosign it, whether it claims the same size or a later one.
    append_one(&fork, "a different history");
    append_one(&fork, "and more");
    append_one(&fork, "and more");
    let mut f = store::SqliteStore::open(&fork).unwrap();
    let n = store::Store::size(&mut f).unwrap();
    assert_eq!(n, 3485);
    let forked = store::Store::checkpoint_at(&mut f, n).unwrap().unwrap();
    let post = |body: String| {
        let mut r = a.post(format!("http://127.0.0.1:{wport}/add-checkpoint")).send(body.as_bytes()).unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    };
    let same_size = ledger::witness::AddCheckpoint { old: 3485, proof: vec![], note: forked.to_note() };
    assert_eq!(post(same_size.to_body()), (409, "3485\n".to_string()), "a fork at the witnessed size");
    append_one(&fork, "further");
    let later = store::Store::checkpoint_at(&mut f, 3486).unwrap().unwrap();
    let proof = store::Store::consistency_proof(&mut f, 3485, 3486).unwrap();
    let ahead = ledger::witness::AddCheckpoint { old: 3485, proof, note: later.to_note() };
    assert_eq!(post(ahead.to_body()).0, 422, "a fork that grew past the witnessed size");
    // Anyone holding the witnessed checkpoint catches the fork.
    drop(f);
    let o = liaison(&["--json", "verify", "--db", s(&fork), "--checkpoint", s(&kept)]);
    assert_eq!(o.status.code(), Some(3), "{}", super::stdout(&o));

    // A truncation that removed every trace passes alone, not against the witnessed checkpoint.
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch(
        "DROP TRIGGER event_no_update; DROP TRIGGER event_no_delete;
         DROP TRIGGER checkpoint_no_update; DROP TRIGGER checkpoint_no_delete;
         DELETE FROM event WHERE seq >= 3477; DELETE FROM checkpoint WHERE size > 3477;
         DELETE FROM command WHERE first_seq >= 3477; DELETE FROM cosignature;
         DELETE FROM merkle_node WHERE (idx + 1) << level > 3477;",
    )
    .unwrap();
    drop(c);
    assert_eq!(liaison(&["verify", "--db", s(&db)]).status.code(), Some(0));
    let o = liaison(&["--json", "verify", "--db", s(&db), "--checkpoint", s(&kept), "--witness", &wkey]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((o.status.code(), v["first_bad_seq"].as_u64()), (Some(3), Some(3477)), "{v}");
    assert!(v["error"].as_str().unwrap().contains("truncated"), "{v}");
}

#[test]
fn a_mirror_follows_a_running_server_through_its_api_and_keeps_its_signatures() {
    let (dir, db) = demo_store();
    let served = super::events_of(&db);
    let d = dir.path();
    let (tokens, by_role) = super::demo_tokens(d);
    let (field, oversight) = (by_role["field_officer"].clone(), by_role["oversight"].clone());
    let (oversight_file, field_file) = (d.join("oversight.token"), d.join("field.token"));
    std::fs::write(&oversight_file, &oversight).unwrap();
    std::fs::write(&field_file, &field).unwrap();
    let server = super::Served::start(&db, &tokens, &[]);
    let base = server.base.clone();
    let a = agent();
    let mirror = d.join("mirror.db");
    let pull = || {
        liaison(&[
            "--json",
            "mirror",
            "--from",
            &base,
            "--token-file",
            s(&oversight_file),
            "--db",
            s(&mirror),
            "--limit",
            "500",
        ])
    };
    let o = pull();
    assert!(o.status.success(), "{}", stderr(&o));
    let verify = |db: &std::path::Path| -> serde_json::Value {
        serde_json::from_slice(&liaison(&["--json", "verify", "--db", s(db)]).stdout).unwrap()
    };
    let m = verify(&mirror);
    assert_eq!((m["intact"].clone(), m["events"].as_u64()), (serde_json::json!(true), Some(served)), "{m}");
    // New writes on the server; the next pull catches up, and the copy is the same log.
    let r = a
        .post(format!("{base}/v1/subjects"))
        .header("Authorization", &format!("Bearer {field}"))
        .header("Content-Type", "application/json")
        .send(r#"{"id":"S-MIRROR-1","names":["Mirrored Person"]}"#.as_bytes())
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert!(pull().status.success());
    let (m, o) = (verify(&mirror), verify(&db));
    assert_eq!((m["events"].clone(), m["root"].clone()), (o["events"].clone(), o["root"].clone()), "{m} {o}");
    // Only oversight and administrators may copy the whole log.
    let o = liaison(&["mirror", "--from", &base, "--token-file", s(&field_file), "--db", s(&d.join("other.db"))]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("403"), "{}", stderr(&o));
}
