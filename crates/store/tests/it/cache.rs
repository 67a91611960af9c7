//! The writer's record cache keeps what its transactions read; a record one of them found
//! absent must be seen once another handle has written it.

use super::{ev, t};
use domain::workload::{setup, subject_events};
use domain::{RecordKey, RecordKind};
use store::{NewEvent, SqliteStore, Store};

#[test]
fn a_record_found_absent_is_seen_once_another_handle_writes_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let mut a = SqliteStore::create(&path).unwrap();
    a.append(&setup().into_iter().map(|e| ev(0, e)).collect::<Vec<_>>(), None, t(0)).unwrap();
    let key = RecordKey { kind: RecordKind::Subject, id: "WL-S-0000000001".into() };
    let seen = |s: &mut SqliteStore| {
        let mut found = None;
        s.transact(t(3), &mut |b| {
            found = Some(b.record(&key)?.is_some());
            Ok(())
        })
        .unwrap();
        found.unwrap()
    };
    assert!(!seen(&mut a));
    assert!(!seen(&mut a), "still absent");
    let mut b = SqliteStore::open(&path).unwrap();
    b.append(&[NewEvent::new(t(1), "test", subject_events(1, t(1)).swap_remove(0).1)], None, t(2)).unwrap();
    assert!(seen(&mut a), "the other handle's write is seen");
}
