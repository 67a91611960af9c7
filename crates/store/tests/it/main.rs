//! Store integration tests: commands against a fresh SQLite store, through `check` helpers
//! that print what happened, plus model-based property tests of the invariants.

mod cache;
mod group_errors;
mod props;

use domain::custody::{Handoff, HandoffParty, HandoffStatus};
use domain::workload::{setup, subject_events};
use domain::{Event, Record, RecordKey, RecordKind, Timestamp};
use expect_test::{Expect, expect};
use jiff::SignedDuration;
use store::{NewEvent, SqliteStore, Store, StoreError, export, ops};

pub fn t(hours: i64) -> Timestamp {
    "2026-03-02T08:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_hours(hours)
}

pub fn fresh() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = SqliteStore::create(&dir.path().join("t.db")).unwrap();
    let setup: Vec<NewEvent> = setup().into_iter().map(|event| ev(0, event)).collect();
    s.append(&setup, None, t(0)).unwrap();
    (dir, s)
}

pub fn ev(hour: i64, event: Event) -> NewEvent {
    NewEvent::new(t(hour), "test", event)
}

/// Appends each command (recorded at hour = its index) and prints what the store said,
/// then the custody of every subject mentioned.
fn check(commands: Vec<Vec<NewEvent>>, expect: Expect) {
    let (_dir, mut s) = fresh();
    let mut out = String::new();
    for (i, c) in commands.iter().enumerate() {
        match s.append(c, None, t(100 + i as i64)) {
            Ok(r) => out.push_str(&format!("ok {}..={}\n", r.first_seq, r.last_seq)),
            Err(e) => out.push_str(&format!("refused: {e}\n")),
        }
    }
    for (kind, id, body) in s.projection_rows().unwrap() {
        if kind == "custody" {
            out.push_str(&format!("{id}: {}\n", String::from_utf8(body).unwrap()));
        }
    }
    let report = ops::verify(&mut s, &Default::default(), &mut |_| {}).unwrap();
    assert_eq!(ops::rebuild(&mut s, &mut |_| {}).unwrap().difference_count, 0);
    out.push_str(&format!("log: {} events\n", report.count));
    expect.assert_eq(&out);
}

fn subject(i: u64) -> Vec<NewEvent> {
    subject_events(i, t(1)).into_iter().map(|(at, e)| NewEvent::new(at, "test", e)).collect()
}

#[test]
fn bp_apprehension_handed_to_ero_and_released() {
    let s = subject(1);
    check(
        vec![s[0..2].to_vec(), s[2..3].to_vec(), s[3..4].to_vec(), s[4..5].to_vec()],
        expect![[r#"
            ok 4..=5
            ok 6..=6
            ok 7..=7
            ok 8..=8
            WL-S-0000000001: {"subject":"WL-S-0000000001"}
            log: 9 events
        "#]],
    );
}

#[test]
fn custody_never_doubles_and_a_bad_command_appends_nothing() {
    let s = subject(2);
    let mut second_arrest = s[1].clone();
    if let Event::EncounterRecorded { encounter } = &mut second_arrest.event {
        // Another agency's arrest of a subject already held: refused (custody moves by handoff).
        encounter.id = domain::EncounterId::parse("WL-E-AGAIN").unwrap();
        encounter.agency = domain::AgencyId::parse("WL-ERO").unwrap();
        encounter.officer = domain::OfficerId::parse("WL-O-ERO").unwrap();
    }
    check(
        vec![
            s[0..2].to_vec(),
            vec![second_arrest],
            // A three-event command whose last event is refused: none of it lands.
            vec![s[2].clone(), s[3].clone(), s[3].clone()],
            vec![s[4].clone()],
        ],
        expect![[r#"
            ok 4..=5
            refused: event 0 of the batch: custody of subject WL-S-0000000002: cannot take into custody while in custody of WL-USBP: the subject is already in custody; custody moves only by handoff
            refused: event 2 of the batch: handoff WL-H-0000000002: cannot answer while accepted: the offer was already answered or expired
            refused: event 0 of the batch: custody of subject WL-S-0000000002: cannot release while in custody of WL-USBP: only the custodian can release the subject
            WL-S-0000000002: {"subject":"WL-S-0000000002","custodian":{"agency":"WL-USBP","basis":"immigration_arrest","since":"2026-03-02T09:01:00Z"}}
            log: 6 events
        "#]],
    );
}

#[test]
fn an_unanswered_offer_expires_only_after_its_window() {
    let s = subject(3);
    let expire = |h| ev(h, Event::HandoffExpired { handoff: domain::HandoffId::parse("WL-H-0000000003").unwrap() });
    check(
        vec![s[0..3].to_vec(), vec![expire(5)], vec![expire(14)], vec![s[3].clone()]],
        expect![[r#"
            ok 4..=6
            refused: event 0 of the batch: handoff WL-H-0000000003 does not expire until 2026-03-02T22:00:00Z
            ok 7..=7
            refused: event 0 of the batch: handoff WL-H-0000000003: cannot answer while expired: the offer was already answered or expired
            WL-S-0000000003: {"subject":"WL-S-0000000003","custodian":{"agency":"WL-USBP","basis":"immigration_arrest","since":"2026-03-02T09:01:00Z"}}
            log: 8 events
        "#]],
    );
}

#[test]
fn idempotent_retry_appends_once_and_a_reused_key_is_refused() {
    let (_d, mut s) = fresh();
    let c = subject(4);
    let first = s.append(&c[0..2], Some("k-1"), t(10)).unwrap();
    let retry = s.append(&c[0..2], Some("k-1"), t(11)).unwrap();
    assert!(!first.replayed && retry.replayed);
    assert_eq!((first.first_seq, first.last_seq), (retry.first_seq, retry.last_seq));
    assert_eq!(first.checkpoint, retry.checkpoint);
    assert_eq!(s.size().unwrap(), 6);
    let err = s.append(&c[2..3], Some("k-1"), t(12)).unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyConflict { .. }), "{err}");
    assert_eq!(s.size().unwrap(), 6);
}

#[test]
fn a_second_handle_sees_and_extends_the_same_log() {
    let (dir, mut a) = fresh();
    let mut b = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    a.append(&subject(5)[0..2], None, t(1)).unwrap();
    b.append(&subject(5)[2..3], None, t(2)).unwrap();
    a.append(&subject(5)[3..4], None, t(3)).unwrap();
    assert_eq!(ops::verify(&mut b, &Default::default(), &mut |_| {}).unwrap().count, 8);
}

#[test]
fn as_of_shows_what_was_known_then_including_corrections() {
    let (_d, mut s) = fresh();
    let c = subject(6);
    s.append(&c[0..2], None, t(10)).unwrap();
    s.append(&c[2..3], None, t(11)).unwrap();
    let accepted = s.append(&c[3..4], None, t(12)).unwrap();
    let fix = NewEvent {
        valid_at: t(2),
        actor: "test".into(),
        corrects: Some(accepted.first_seq),
        event: Event::ValidTimeCorrected { note: "accepted earlier".into() },
        decision: None,
    };
    s.append(&[fix], None, t(20)).unwrap();
    let chain = |s: &mut SqliteStore, at: i64| {
        ops::custody_chain(s, "WL-S-0000000006", Some(t(at)))
            .unwrap()
            .iter()
            .map(|c| format!("#{} {} {:?}", c.seq, c.valid_at, c.corrected_by))
            .collect::<Vec<_>>()
            .join("\n")
    };
    expect![[r#"
        #5 2026-03-02T09:01:00Z None
        #6 2026-03-02T10:00:00Z None"#]]
    .assert_eq(&chain(&mut s, 11));
    expect![[r#"
        #5 2026-03-02T09:01:00Z None
        #6 2026-03-02T10:00:00Z None
        #7 2026-03-02T11:00:00Z None"#]]
    .assert_eq(&chain(&mut s, 19));
    expect![[r#"
        #5 2026-03-02T09:01:00Z None
        #6 2026-03-02T10:00:00Z None
        #7 2026-03-02T10:00:00Z Some(8)"#]]
    .assert_eq(&chain(&mut s, 20));
}

#[test]
fn corrections_must_name_an_earlier_event_and_only_corrections_may() {
    let (_d, mut s) = fresh();
    let fix = |corrects| NewEvent {
        valid_at: t(1),
        actor: "test".into(),
        corrects,
        event: Event::ValidTimeCorrected { note: "x".into() },
        decision: None,
    };
    assert!(s.append(&[fix(None)], None, t(1)).unwrap_err().to_string().contains("must name the event it corrects"));
    assert!(s.append(&[fix(Some(99))], None, t(1)).unwrap_err().to_string().contains("not earlier"));
    let mut plain = subject(7)[0].clone();
    plain.corrects = Some(1);
    assert!(s.append(&[plain], None, t(1)).unwrap_err().to_string().contains("is not a correction"));
    assert_eq!(s.size().unwrap(), 4);
}

#[test]
fn recorded_time_moves_forward_with_each_commit_and_never_far_past_the_clock() {
    let (_d, mut s) = fresh();
    s.append(&subject(8)[0..1], None, t(10)).unwrap();
    // A clock a minute behind the log: the commit is recorded just after the last one.
    s.append(&subject(8)[1..2], None, t(10) - SignedDuration::from_mins(1)).unwrap();
    let e = s.entries(0, 10).unwrap();
    let times: Vec<_> = e.iter().map(|x| x.decode().unwrap().recorded_at).collect();
    assert_eq!(times[times.len() - 1], times[times.len() - 2] + SignedDuration::from_micros(1), "{times:?}");
    // A clock five hours behind: the store refuses rather than stamp events in its future.
    let err = s.append(&subject(8)[2..3], None, t(5)).unwrap_err();
    assert!(err.to_string().contains("ahead of this server's clock"), "{err}");
}

#[test]
fn proofs_from_the_store_verify_and_bind_to_checkpoints() {
    let (_d, mut s) = fresh();
    let mut sizes = vec![];
    for i in 0..40 {
        sizes.push(s.append(&subject(100 + i), None, t(1)).unwrap().checkpoint);
    }
    let n = s.size().unwrap();
    let key = s.verifying_key().unwrap();
    for cp in &sizes {
        cp.verify(&key).unwrap();
        assert_eq!(s.root_at(cp.checkpoint.size).unwrap(), cp.checkpoint.root);
    }
    let last = sizes.last().unwrap().checkpoint.clone();
    for seq in [0, 1, 17, n / 2, n - 1] {
        let proof = s.inclusion_proof(seq, n).unwrap();
        let bytes = s.entries(seq, 1).unwrap().remove(0).bytes;
        assert!(ledger::merkle::verify_inclusion(&last.root, n, seq, &bytes, &proof));
    }
    let old = &sizes[3].checkpoint;
    let proof = s.consistency_proof(old.size, n).unwrap();
    assert!(ledger::merkle::verify_consistency(&old.root, old.size, &last.root, n, &proof));
    assert!(s.inclusion_proof(n, n).is_err());
}

fn export_of(s: &mut SqliteStore) -> Vec<u8> {
    let mut buf = Vec::new();
    export::export(s, &mut buf, &mut |_| {}).unwrap();
    buf
}

fn verify_export(buf: &[u8]) -> Result<ops::VerifyReport, ops::VerifyError> {
    export::verify_export(&mut &buf[..], &Default::default(), &mut |_| {})
}

/// A mirror made from an export: the original's origin and key, no signing key.
fn mirror_of(dir: &std::path::Path, buf: &[u8]) -> SqliteStore {
    let head = export::Reader::new(buf).unwrap();
    SqliteStore::create_mirror(&dir.join("mirror.db"), &head.origin, &head.key).unwrap()
}

#[test]
fn an_export_checks_offline_and_imports_as_a_mirror_that_keeps_the_original_signatures() {
    let (d, mut s) = fresh();
    for i in 0..30 {
        s.append(&subject(200 + i), None, t(1)).unwrap();
    }
    let buf = export_of(&mut s);
    let offline = verify_export(&buf).unwrap();
    let mut copy = mirror_of(d.path(), &buf);
    let mut acks = vec![];
    let r = export::import(&mut copy, &mut &buf[..], &mut |a| acks.push(a)).unwrap();
    assert_eq!((r.imported, r.checkpoints, acks), (154, 31, vec![153]));
    let (a, b) = (
        ops::verify(&mut s, &Default::default(), &mut |_| {}).unwrap(),
        ops::verify(&mut copy, &Default::default(), &mut |_| {}).unwrap(),
    );
    assert_eq!((a.root, a.count), (b.root, b.count));
    assert_eq!(offline.root, a.root);
    // The mirror holds the original's checkpoints, byte for byte, and cannot sign.
    assert_eq!(s.checkpoints().unwrap(), copy.checkpoints().unwrap());
    assert_eq!(s.projection_rows().unwrap(), copy.projection_rows().unwrap());
    let err = copy.append(&subject(299), None, t(2)).unwrap_err();
    assert!(err.to_string().contains("has no signing key"), "{err}");
    // Importing again adds nothing.
    assert_eq!(export::import(&mut copy, &mut &buf[..], &mut |_| {}).unwrap().imported, 0);
    // The original grows; the mirror catches up from a newer export.
    s.append(&subject(300), None, t(3)).unwrap();
    let newer = export_of(&mut s);
    let r = export::import(&mut copy, &mut &newer[..], &mut |_| {}).unwrap();
    assert_eq!((r.imported, r.already_present), (5, 154));
    let n = s.size().unwrap();
    assert_eq!(ops::verify(&mut copy, &Default::default(), &mut |_| {}).unwrap().root, s.root_at(n).unwrap());
}

#[test]
fn an_edited_reordered_or_cut_export_fails_naming_the_first_bad_entry() {
    let (_d, mut s) = fresh();
    for i in 0..30 {
        s.append(&subject(200 + i), None, t(1)).unwrap();
    }
    let text = String::from_utf8(export_of(&mut s)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let at = |seq: u64| lines.iter().position(|l| l.starts_with(&format!("{{\"v\":1,\"seq\":{seq},"))).unwrap();
    let with = |i: usize, line: &str| {
        let mut l = lines.clone();
        l[i] = line;
        l.join("\n") + "\n"
    };
    // An entry edited by hand: the next entry's link names it.
    let edited = lines[at(3)].replace("WL-ERO", "WL-ERX");
    assert_ne!(edited, lines[at(3)]);
    let err = verify_export(with(at(3), &edited).as_bytes()).unwrap_err();
    assert_eq!(err.first_bad_seq(), Some(3), "{err}");
    // The last entry edited: only its commit's signed checkpoint can tell.
    let last = s.size().unwrap() - 1;
    let edited = lines[at(last)].replace("WL-ERO", "WL-ERX");
    let err = verify_export(with(at(last), &edited).as_bytes()).unwrap_err();
    assert!(err.to_string().contains("do not match the signed checkpoint"), "{err}");
    assert_eq!(err.first_bad_seq(), Some(last + 1 - 5), "the last command appended 5 events: {err}");
    // Not in canonical form.
    let err = verify_export(text.replacen("{\"v\":1,\"seq\":5,", "{\"seq\":5,\"v\":1,", 1).as_bytes()).unwrap_err();
    assert!(err.to_string().contains("not an export line") || err.to_string().contains("canonical"), "{err}");
    // Two entries swapped.
    let mut swapped = lines.clone();
    swapped.swap(at(7), at(8));
    let err = verify_export((swapped.join("\n") + "\n").as_bytes()).unwrap_err();
    assert_eq!(err.first_bad_seq(), Some(7), "{err}");
    // Cut at a line boundary, even right after a checkpoint: the end line is missing.
    for keep in [lines.len() - 1, lines.len() - 2, at(last)] {
        let cut = lines[..keep].join("\n") + "\n";
        let err = verify_export(cut.as_bytes()).unwrap_err();
        assert!(matches!(err, ops::VerifyError::Export { .. } | ops::VerifyError::Tamper(_)), "{err}");
    }
    // Cut in the middle of a line.
    let err = verify_export(&text.as_bytes()[..text.len() - 3]).unwrap_err();
    assert!(err.to_string().contains("cut"), "{err}");
}

/// A line past the limit is refused after reading about the limit, not the whole line: the
/// reader here would serve gigabytes of one line.
#[test]
fn import_refuses_an_overlong_line_without_reading_it_whole() {
    struct Endless(usize);
    impl std::io::Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            buf.fill(b'x');
            self.0 += buf.len();
            Ok(buf.len())
        }
    }
    let mut r = std::io::BufReader::new(Endless(0));
    let Err(err) = export::Reader::new(&mut r) else { panic!("an endless line was read") };
    assert_eq!(err.line, 1);
    assert!(err.reason.starts_with("longer than"), "{err}");
    let served = r.get_ref().0;
    assert!(served <= export::IMPORT_LINE_BYTES_MAX + 64 * 1024, "read {served} bytes of one line");
}

#[test]
fn import_refuses_another_logs_export_and_entries_that_do_not_continue_the_log() {
    let (d, mut s) = fresh();
    s.append(&subject(300), None, t(1)).unwrap();
    let buf = export_of(&mut s);
    // A store of another log cannot take this log.
    let (_d2, mut other) = fresh();
    let err = export::import(&mut other, &mut &buf[..], &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("a store takes only its own log"), "{err}");
    // Entries that skip ahead are refused, and nothing is written.
    let mut mirror = mirror_of(d.path(), &buf);
    let entries = s.entries(3, 10).unwrap();
    let err = mirror.append_entries(&entries, &[]).unwrap_err();
    assert!(err.to_string().contains("does not continue the log"), "{err}");
    assert_eq!(mirror.size().unwrap(), 0);
}

#[test]
fn rebuild_finds_a_tampered_projection_row() {
    let (_d, mut s) = fresh();
    s.append(&subject(400)[0..2], None, t(1)).unwrap();
    let mut rows = s.projection_rows().unwrap();
    let row = rows.iter_mut().find(|r| r.0 == "custody").unwrap();
    row.2 = br#"{"subject":"WL-S-0000000400"}"#.to_vec();
    s.replace_projection(&rows).unwrap();
    let report = ops::rebuild(&mut s, &mut |_| {}).unwrap();
    assert_eq!(report.differences, vec!["custody/WL-S-0000000400".to_string()]);
    let record = s.record(&RecordKey::new(RecordKind::Custody, "WL-S-0000000400")).unwrap();
    assert!(matches!(record, Some(Record::Custody(c)) if c.custodian.is_none()));
}

#[test]
fn offers_need_the_releasing_agency_to_hold_the_subject() {
    let s = subject(9);
    let wrong = Handoff {
        id: domain::HandoffId::parse("H-X").unwrap(),
        subject: domain::SubjectId::parse("WL-S-0000000009").unwrap(),
        releasing: HandoffParty { agency: domain::AgencyId::parse("WL-ERO").unwrap(), facility: None, official: None },
        receiving: HandoffParty { agency: domain::AgencyId::parse("WL-USBP").unwrap(), facility: None, official: None },
        offered_at: t(2),
        expires_at: t(3),
        status: HandoffStatus::Offered,
        answered_at: None,
        note: None,
    };
    check(
        vec![s[0..2].to_vec(), vec![ev(2, Event::HandoffOffered { handoff: wrong })]],
        expect![[r#"
            ok 4..=5
            refused: event 0 of the batch: subject WL-S-0000000009 is not in the custody of WL-ERO
            WL-S-0000000009: {"subject":"WL-S-0000000009","custodian":{"agency":"WL-USBP","basis":"immigration_arrest","since":"2026-03-02T09:01:00Z"}}
            log: 6 events
        "#]],
    );
}

#[test]
fn a_group_commit_sees_earlier_commands_and_refuses_one_command_alone() {
    let (_d, mut s) = fresh();
    let size = s.size().unwrap();
    let c = subject(5);
    let mut outcomes = Vec::new();
    let mut saw_subject = false;
    let cp = s
        .transact(t(20), &mut |b| {
            outcomes.push(b.command(&c[0..1], Some(("g-1", [1; 32]))).map_err(|e| e.to_string()));
            // The subject registered by the first command is visible to the next ones.
            saw_subject = b.record(&RecordKey::new(RecordKind::Subject, "WL-S-0000000005"))?.is_some();
            // Accepting a handoff nobody offered is refused, and leaves the batch as it was.
            outcomes.push(b.command(&c[3..4], None).map_err(|e| e.to_string()));
            outcomes.push(
                b.command(&c[1..3], Some(("g-2", store::leaf_hash(&serde_json::to_vec(&c[1..3]).unwrap()))))
                    .map_err(|e| e.to_string()),
            );
            outcomes.push(b.command(&c[0..1], Some(("g-1", [1; 32]))).map_err(|e| e.to_string()));
            Ok(())
        })
        .unwrap()
        .unwrap();
    assert!(saw_subject);
    assert!(outcomes[1].is_err(), "{:?}", outcomes[1]);
    let first = outcomes[0].clone().unwrap();
    let third = outcomes[2].clone().unwrap();
    let retry = outcomes[3].clone().unwrap();
    assert_eq!((first.first_seq, third.first_seq, third.last_seq), (size, size + 1, size + 2));
    assert!(retry.replayed && retry.first_seq == size && retry.checkpoint.is_none());
    assert_eq!(cp.checkpoint.size, size + 3);
    assert_eq!(s.size().unwrap(), size + 3);
    // One checkpoint for the whole transaction, and a later retry gets it back.
    let again = s.append(&c[1..3], Some("g-2"), t(21)).unwrap();
    assert!(again.replayed && again.checkpoint == cp);
    ops::verify(&mut s, &Default::default(), &mut |_| {}).unwrap();
    assert_eq!(ops::rebuild(&mut s, &mut |_| {}).unwrap().difference_count, 0);
}
