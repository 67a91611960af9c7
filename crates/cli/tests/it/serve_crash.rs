//! Crash test for the server: `liaison serve` is killed with SIGKILL while eight clients write
//! to it. Every write the server acknowledged (201) is in the store afterwards, and `verify`
//! passes. `LIAISON_SERVE_CRASH_RUNS` sets the number of kills (default 3). With
//! `LIAISON_TEST_PG_URL` set the store is a fresh PostgreSQL database (`.ci/run` runs it so).

use super::{demo_store, liaison, s};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::Store;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn sigkill_under_write_load_loses_no_acknowledged_write() {
    let (dir, sqlite_db) = demo_store();
    let pg = super::fresh_pg_database("crash").map(|url| {
        let key = dir.path().join("pg.key");
        let o = liaison(&["init", "--pg", &url, "--signing-key", s(&key)]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (url, key)
    });
    let db_arg = match &pg {
        Some((url, _)) => url.clone(),
        None => format!("sqlite://{}", s(&sqlite_db)),
    };
    let open = || -> Box<dyn Store> {
        match &pg {
            Some((url, key)) => Box::new(store::PgStore::open(url, key).unwrap()),
            None => Box::new(store::SqliteStore::open(&sqlite_db).unwrap()),
        }
    };
    let tokens_path = dir.path().join("tokens.json");
    let mut token = String::new();
    let mut entries = Vec::new();
    for p in api::auth::demo_principals() {
        let field = p.id == "O-USBP-0001";
        let (t, e) = api::auth::issue(p);
        if field {
            token = t;
        }
        entries.push(e);
    }
    std::fs::write(&tokens_path, serde_json::to_string(&entries).unwrap()).unwrap();
    let runs: usize = std::env::var("LIAISON_SERVE_CRASH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let mut total_acked = 0;
    for run in 0..runs {
        let port = free_port();
        let mut server = super::server_command()
            .args(["serve", "--db", &db_arg, "--tokens", s(&tokens_path)])
            .args(pg.iter().flat_map(|(_, key)| ["--signing-key", s(key)]))
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        while agent.get(format!("{base}/readyz")).call().map(|r| r.status().as_u16()).ok() != Some(200) {
            assert!(start.elapsed() < Duration::from_secs(30), "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let acked = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..8)
            .map(|c| {
                let (agent, acked, stop, base, token) =
                    (agent.clone(), acked.clone(), stop.clone(), base.clone(), token.clone());
                std::thread::spawn(move || {
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let id = format!("S-CRASH-{run}-{c}-{i}");
                        i += 1;
                        let body = format!(r#"{{"id":"{id}","names":["Crash Test"]}}"#);
                        let r = agent
                            .post(format!("{base}/v1/subjects"))
                            .header("Authorization", &format!("Bearer {token}"))
                            .header("Content-Type", "application/json")
                            .send(body.as_bytes());
                        match r {
                            Ok(resp) if resp.status().as_u16() == 201 => acked.lock().unwrap().push(id),
                            Ok(resp) => panic!("unexpected status {}", resp.status()),
                            Err(_) => break, // the server is gone
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300 + 200 * run as u64));
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().unwrap();
        }
        let acked = acked.lock().unwrap().clone();
        assert!(!acked.is_empty(), "run {run}: no write was acknowledged before the kill");
        total_acked += acked.len();
        let mut st = open();
        for id in &acked {
            let key = domain::RecordKey::new(domain::RecordKind::Subject, id);
            assert!(st.record(&key).unwrap().is_some(), "run {run}: acknowledged {id} is missing");
        }
        let report = store::ops::verify(st.as_mut(), &Default::default(), &mut |_| {});
        assert!(report.is_ok(), "run {run}: verify failed: {:?}", report.err());
        assert_eq!(store::ops::rebuild(st.as_mut(), &mut |_| {}).unwrap().difference_count, 0);
    }
    assert!(total_acked > 0);
}
