//! A database error inside a group commit. On SQLite statements run at once, so the error
//! meets the command that caused it, which is rolled back alone. On PostgreSQL inserts are held
//! back and pipelined, so the error surfaces later (here: in the next command's idempotency
//! lookup); the whole group must then fail and nothing of it persist, because PostgreSQL
//! answers COMMIT in an aborted transaction with a silent rollback.
//!
//! The PostgreSQL half runs when `LIAISON_TEST_PG_URL` names a database it may create others
//! from (`.ci/run` sets it for its PostgreSQL pass, which runs this module).

use super::{ev, t};
use domain::workload::{setup, subject_events};
use domain::{RecordKey, RecordKind};
use store::{NewEvent, PgStore, SqliteStore, Store, StoreError};

/// The first event of synthetic subject `i` (its registration).
fn register(i: u64) -> Vec<NewEvent> {
    vec![NewEvent::new(t(1), "test", subject_events(i, t(1)).swap_remove(0).1)]
}

fn subject(i: u64) -> RecordKey {
    RecordKey { kind: RecordKind::Subject, id: format!("WL-S-{i:010}") }
}

/// Runs one group: subject 1 (whose projection row the database refuses), then subject 2
/// under an idempotency key. Returns what each command and the commit said.
fn poisoned_group(s: &mut dyn Store) -> (String, String, Result<(), StoreError>) {
    let (mut first, mut second) = (String::new(), String::new());
    let committed = s
        .transact(t(2), &mut |b| {
            first = format!("{:?}", b.command(&register(1), None).map(|p| p.first_seq));
            second = format!("{:?}", b.command(&register(2), Some(("k2", [7; 32]))).map(|p| p.first_seq));
            Ok(())
        })
        .map(|_| ());
    (first, second, committed)
}

fn setup_events() -> Vec<NewEvent> {
    setup().into_iter().map(|e| ev(0, e)).collect()
}

#[test]
fn sqlite_rolls_back_only_the_failing_command() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let mut s = SqliteStore::create(&path).unwrap();
    s.append(&setup_events(), None, t(0)).unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER poison BEFORE INSERT ON projection WHEN NEW.id = 'WL-S-0000000001'
             BEGIN SELECT RAISE(ABORT, 'poisoned by the test'); END;",
        )
        .unwrap();
    let size = s.size().unwrap();
    let (first, second, committed) = poisoned_group(&mut s);
    assert!(first.contains("poisoned by the test"), "{first}");
    assert_eq!(second, format!("Ok({size})"));
    committed.unwrap();
    assert_eq!(s.size().unwrap(), size + 1);
    assert!(s.record(&subject(1)).unwrap().is_none());
    assert!(s.record(&subject(2)).unwrap().is_some());
}

#[test]
fn postgres_fails_the_whole_group() {
    let Ok(admin) = std::env::var("LIAISON_TEST_PG_URL") else {
        eprintln!("LIAISON_TEST_PG_URL is not set: the PostgreSQL half runs in .ci/run's PostgreSQL pass");
        return;
    };
    let name = format!("liaison_group_{}", std::process::id());
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).unwrap();
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let dir = tempfile::tempdir().unwrap();
    let mut s = PgStore::create(&url, &dir.path().join("pg.key")).unwrap();
    s.append(&setup_events(), None, t(0)).unwrap();
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    db.batch_execute(
        "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'poisoned by the test'; END $$;
         CREATE TRIGGER poison BEFORE INSERT ON projection FOR EACH ROW
         WHEN (NEW.id = 'WL-S-0000000001') EXECUTE FUNCTION poison();",
    )
    .unwrap();
    let size = s.size().unwrap();
    let (_, _, committed) = poisoned_group(&mut s);
    let err = committed.expect_err("a group with a failed statement must not commit");
    assert!(err.to_string().contains("poisoned by the test"), "{err}");
    assert_eq!(s.size().unwrap(), size, "nothing of the group persists");
    assert!(s.record(&subject(2)).unwrap().is_none());
    // The connection is usable again, and the same group commits once the trigger is gone.
    db.batch_execute("DROP TRIGGER poison ON projection").unwrap();
    let (first, second, committed) = poisoned_group(&mut s);
    committed.unwrap();
    assert_eq!((first, second), (format!("Ok({size})"), format!("Ok({})", size + 1)));
    drop(s);
    drop(db);
    c.batch_execute(&format!("DROP DATABASE {name}")).unwrap();
}
