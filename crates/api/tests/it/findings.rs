//! The outside review's findings of issue 9, one test each (each failed before its fix).
//!
//! Demo principals: field_officer is Border Patrol San Diego, supervisor ICE ERO San Diego,
//! jail_staff the Angelina County (TX) jail, officer_287g Collier County (FL), administrator
//! ICE ERO headquarters. S-DEMO-0002 was booked in Angelina and taken by ICE ERO Houston on a
//! detainer; S-DEMO-0003 went from Collier County to ICE ERO Miami.

use crate::{Harness, new_subject};
use serde_json::json;

/// A1: the audit search shows only what the caller may know, and logs each subject it shows.
#[test]
fn the_audit_search_shows_only_visible_subjects_and_logs_every_one_it_shows() {
    let h = Harness::start();
    // ICE ERO headquarters' administrator may not know S-DEMO-0001 (Border Patrol to ERO San Diego).
    assert_eq!(h.get("administrator", "/v1/subjects/S-DEMO-0001").status, 404);
    let by_type = h.get("administrator", "/v1/audit/events?type=subject_registered&limit=1000");
    assert_eq!(by_type.status, 200, "{by_type:?}");
    assert!(!by_type.body.to_string().contains("S-DEMO-0001"), "{by_type:?}");
    let all = h.get("administrator", "/v1/audit/events?limit=1000");
    assert!(!all.body.to_string().contains("Demo Person One"), "an unfiltered search leaks");
    let one = h.get("administrator", "/v1/audit/events?subject=S-DEMO-0001");
    assert_eq!(one.status, 404, "{one:?}");
    // Oversight sees everything, and its unfiltered search is a logged read of each subject shown.
    let seen = h.get("oversight", "/v1/audit/events?type=subject_registered&limit=1000");
    assert!(seen.body.to_string().contains("S-DEMO-0001"));
    let reads = h.get("oversight", "/v1/audit/events?type=subject_record_read&limit=1000");
    let logged: Vec<&str> = reads.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["what"] == "audit events" && e["event"]["agency"] == "DHS-CRCL")
        .filter_map(|e| e["event"]["subject"].as_str())
        .collect();
    for s in ["S-DEMO-0001", "S-DEMO-0002", "S-DEMO-0003"] {
        assert!(logged.contains(&s), "the read of {s} is not logged: {logged:?}");
    }
    // A cursor past the last sequence number is an empty last page, not a restart.
    let past = h.get("oversight", "/v1/audit/events?after=18446744073709551615");
    assert_eq!((past.status, past.body["items"].as_array().map(Vec::len)), (200, Some(0)), "{past:?}");
    h.stop_and_verify();
}

/// A2 and A3: writing about a record the caller may not know is "not found", changes nothing,
/// and makes nothing visible; a taken id is "already exists" only to whoever may know it.
#[test]
fn writes_about_invisible_records_are_not_found_and_reveal_nothing() {
    let h = Harness::start();
    let size = h.log_size();
    let encounter = json!({"subject": "S-DEMO-0003", "location": {"lat": 32.6, "lon": -117.0}, "method": "PB",
        "authority": "warrantless_arrest_1357a2", "suspicion_factors": ["recent_illegal_crossings_in_area"],
        "arrest": false, "jurisdictions": ["CA"]});
    let e = h.post("field_officer", "/v1/encounters", encounter);
    assert_eq!(e.status, 404, "{e:?}");
    assert_eq!(h.get("field_officer", "/v1/subjects/S-DEMO-0003").status, 404);
    let d = h.post(
        "supervisor",
        "/v1/detainers",
        json!({"subject": "S-DEMO-0002", "recipient_agency": "TX-ANGELINA-COUNTY-SHERIFFS-OFFICE",
            "probable_cause": ["pending_removal_proceedings"],
            "warrant": {"form": "I-200", "signed_by": "O-ERO-SND-0001", "signed_at": "2026-11-01T10:00:00Z"}}),
    );
    assert_eq!(d.status, 404, "{d:?}");
    let nobody = h.post(
        "supervisor",
        "/v1/subjects/S-NOBODY/citizenship-claims",
        json!({"country": "MX", "evidence": ["statement_only"]}),
    );
    let hidden = h.post(
        "supervisor",
        "/v1/subjects/S-DEMO-0002/citizenship-claims",
        json!({"country": "MX", "evidence": ["statement_only"]}),
    );
    assert_eq!(nobody.status, 404);
    assert_eq!(
        hidden.body["detail"].as_str().unwrap().replace("S-DEMO-0002", "X"),
        nobody.body["detail"].as_str().unwrap().replace("S-NOBODY", "X"),
        "the same answer for a hidden record as for none"
    );
    // A taken id.
    let taken = h.post("jail_staff", "/v1/subjects", json!({"id": "S-DEMO-0001", "names": ["Someone"]}));
    assert_eq!((taken.status, taken.body["code"].as_str()), (404, Some("not_found")), "{taken:?}");
    let known = h.post("supervisor", "/v1/subjects", json!({"id": "S-DEMO-0001", "names": ["Someone"]}));
    assert_eq!((known.status, known.body["code"].as_str()), (409, Some("already_exists")), "{known:?}");
    assert_eq!(h.log_size(), size, "refused writes append nothing");
    h.stop_and_verify();
}

/// A4: nobody acts beyond their agency.
#[test]
fn operations_warrants_and_jail_processing_stay_within_the_agency() {
    let h = Harness::start();
    let op = |participants: serde_json::Value, ends: &str| {
        json!({"name": "Op", "city": "San Diego", "state": "CA", "starts_on": "2026-12-10", "ends_on": ends,
            "participants": participants})
    };
    let others =
        h.post("supervisor", "/v1/operations", op(json!([{"agency": "ICE-ERO-HOU", "headcount": 3}]), "2026-12-20"));
    assert_eq!(others.status, 422, "{others:?}");
    assert_eq!(h.post("supervisor", "/v1/operations", op(json!([]), "2026-12-20")).status, 422);
    let backwards =
        h.post("supervisor", "/v1/operations", op(json!([{"agency": "ICE-ERO-SND", "headcount": 3}]), "2026-12-01"));
    assert_eq!(backwards.status, 422, "{backwards:?}");
    // Another agency's operation cannot be named by a non-participant (404, as if absent).
    let mine =
        h.post("supervisor", "/v1/operations", op(json!([{"agency": "ICE-ERO-SND", "headcount": 3}]), "2026-12-20"));
    assert_eq!(mine.status, 201, "{mine:?}");
    let op_id = mine.body["id"].as_str().unwrap().to_string();
    let s = new_subject(&h, "field_officer", "S-F-OP");
    let e = h.post(
        "field_officer",
        "/v1/encounters",
        json!({"subject": s, "location": {"lat": 32.6, "lon": -117.0}, "method": "PB",
            "authority": "warrantless_arrest_1357a2", "suspicion_factors": ["recent_illegal_crossings_in_area"],
            "arrest": false, "jurisdictions": ["CA"], "operation": op_id}),
    );
    assert_eq!(e.status, 404, "{e:?}");
    // Detainer warrants: signed by an ICE officer of the issuing agency holding the power, in the past.
    new_subject(&h, "supervisor", "S-F-W");
    for (signer, at) in [
        ("O-TX-ANG-0001", "2026-11-01T10:00:00Z"),
        ("O-NOBODY", "2026-11-01T10:00:00Z"),
        ("O-ERO-SND-0001", "2099-01-01T00:00:00Z"),
    ] {
        let d = h.post(
            "supervisor",
            "/v1/detainers",
            json!({"subject": "S-F-W", "recipient_agency": "TX-ANGELINA-COUNTY-SHERIFFS-OFFICE",
                "probable_cause": ["pending_removal_proceedings"],
                "warrant": {"form": "I-200", "signed_by": signer, "signed_at": at}}),
        );
        assert_eq!((d.status, d.body["code"].as_str()), (422, Some("invalid_request")), "{signer} at {at}: {d:?}");
    }
    // 287(g) jail processing only of people in the officer's own jail: Collier County
    // registered this person but does not hold them.
    new_subject(&h, "officer_287g", "S-F-287");
    let p = h.post(
        "officer_287g",
        "/v1/encounters",
        json!({"subject": "S-F-287", "location": {"lat": 26.1, "lon": -81.7}, "method": "CLC",
            "authority": "delegated_287g", "arrest": true, "jurisdictions": ["FL"], "in_jail": true}),
    );
    assert_eq!((p.status, p.body["code"].as_str()), (409, Some("invalid_transition")), "{p:?}");
    h.stop_and_verify();
}

/// A5: no surprising 404s.
#[test]
fn registrants_see_their_records_and_a_releasing_agency_is_told_why_it_cannot_answer() {
    let h = Harness::start();
    let s = new_subject(&h, "jail_staff", "S-F-OWN");
    assert_eq!(h.get("jail_staff", &format!("/v1/subjects/{s}")).status, 200);
    // Border Patrol offered H-DEMO-0001 and can read it; answering is the receiver's.
    assert_eq!(h.get("field_officer", "/v1/handoffs/H-DEMO-0001").status, 200);
    let a = h.post("field_officer", "/v1/handoffs/H-DEMO-0001/answer", json!({"answer": "reject", "reason": "x"}));
    assert_eq!((a.status, a.body["code"].as_str()), (403, Some("forbidden")), "{a:?}");
    h.stop_and_verify();
}

/// A person ICE knows by `a_number` is booked into the Angelina County jail as `subject`; the
/// booking check matches ICE's record (and so notifies ICE), ICE ERO San Diego lodges
/// detainer `detainer` with the jail, and the jail accepts it.
fn jailed_with_detainer(h: &Harness, subject: &str, a_number: &str, detainer: &str) {
    lodged_detainer(h, subject, a_number, detainer);
    let a =
        h.post("jail_staff", &format!("/v1/detainers/{detainer}/steps"), json!({"step": "answer", "accepted": true}));
    assert_eq!(a.status, 201, "{a:?}");
}

/// As `jailed_with_detainer`, without the jail's answer.
fn lodged_detainer(h: &Harness, subject: &str, a_number: &str, detainer: &str) {
    for (role, id) in [("supervisor", format!("{subject}-ICE")), ("jail_staff", subject.to_string())] {
        let r = h.post(role, "/v1/subjects", json!({"id": id, "names": ["Orla Venn"], "a_number": a_number}));
        assert_eq!(r.status, 201, "{r:?}");
    }
    let b = h.post(
        "jail_staff",
        "/v1/bookings",
        json!({"subject": subject, "facility": "F-TX-ANG-JAIL", "charge": "Tex. Penal Code 49.04"}),
    );
    assert_eq!(b.status, 201, "{b:?}");
    let d = h.post(
        "supervisor",
        "/v1/detainers",
        json!({"id": detainer, "subject": subject, "recipient_agency": "TX-ANGELINA-COUNTY-SHERIFFS-OFFICE",
            "probable_cause": ["pending_removal_proceedings"],
            "warrant": {"form": "I-200", "signed_by": "O-ERO-SND-0001", "signed_at": "2026-11-01T10:00:00Z"}}),
    );
    assert_eq!(d.status, 201, "{d:?}");
}

/// Custody: moving custody by a detainer closes the open offer (it used to stay "offered"
/// forever), and a custodian can release with a NIEM reason code.
#[test]
fn custody_moving_by_a_detainer_closes_the_open_offer_and_a_release_is_recorded() {
    let h = Harness::start();
    jailed_with_detainer(&h, "S-F-JAIL", "A012340077", "D-F-1");
    let a = h.post("jail_staff", "/v1/detainers/D-F-1/steps", json!({"step": "release_eligible"}));
    assert_eq!(a.status, 201, "{a:?}");
    let offer = h.post(
        "jail_staff",
        "/v1/handoffs",
        json!({"id": "H-F-1", "subject": "S-F-JAIL", "receiving_agency": "ICE-ERO-HOU"}),
    );
    assert_eq!(offer.status, 201, "{offer:?}");
    let assumed = h.post("supervisor", "/v1/detainers/D-F-1/steps", json!({"step": "assume_custody"}));
    assert_eq!(assumed.status, 201, "{assumed:?}");
    let closed = h.get("jail_staff", "/v1/handoffs/H-F-1");
    assert_eq!(closed.body["status"], "expired", "{closed:?}");
    assert!(closed.body["note"].as_str().unwrap().contains("D-F-1"), "{closed:?}");
    // ICE releases on an order of supervision; an ICE release without a code is refused.
    let bare = h.post("supervisor", "/v1/subjects/S-F-JAIL/releases", json!({"reason": "released"}));
    assert_eq!(bare.status, 422, "{bare:?}");
    let r = h.post(
        "supervisor",
        "/v1/subjects/S-F-JAIL/releases",
        json!({"code": "OSUP", "reason": "order of supervision"}),
    );
    assert_eq!(r.status, 201, "{r:?}");
    let v = h.get("supervisor", "/v1/subjects/S-F-JAIL");
    assert!(v.body["custody"]["custodian"].is_null(), "{v:?}");
    let again = h.post("supervisor", "/v1/subjects/S-F-JAIL/releases", json!({"code": "OSUP", "reason": "again"}));
    assert_eq!(again.status, 409, "{again:?}");
    h.stop_and_verify();
}

/// A release is decided by the law (it was recorded with no decision): a Texas jail that
/// releases a person on whom ICE has an open detainer, with no notice given, has the release
/// recorded with the state's two duties flagged; ICE's release of that person on bond is
/// flagged for the 1226(c) check Liaison cannot make.
#[test]
fn a_release_is_decided_by_the_law_with_what_it_owes_an_open_detainer() {
    let h = Harness::start();
    let rules = |r: &crate::Answer| -> Vec<String> {
        r.body["decision"]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["rule_id"].as_str().unwrap().to_string())
            .collect()
    };
    jailed_with_detainer(&h, "S-F-REL", "A012340088", "D-F-REL");
    let r = h.post("jail_staff", "/v1/subjects/S-F-REL/releases", json!({"reason": "charges dismissed"}));
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["decision"]["effect"], "allow_with_flags", "{r:?}");
    let got = rules(&r);
    for want in ["R5-custodian-decides", "TX-CCP-2.251-honor-detainers:release", "TX-CCP-2.251-notification:release"] {
        assert!(got.iter().any(|g| g == want), "{want} missing from {got:?}");
    }
    // The decision is on the record with the release, for oversight to read.
    let log = h.get("oversight", "/v1/audit/events?subject=S-F-REL&type=custody_released");
    assert_eq!(log.body["items"][0]["decision"]["effect"], "allow_with_flags", "{log:?}");
    // ICE ERO San Diego holds S-DEMO-0001 (handed over by Border Patrol) and releases on bond.
    let bond =
        h.post("supervisor", "/v1/subjects/S-DEMO-0001/releases", json!({"code": "BOND", "reason": "bond posted"}));
    assert_eq!(bond.status, 201, "{bond:?}");
    assert_eq!(bond.body["decision"]["effect"], "allow_with_flags", "{bond:?}");
    let got = rules(&bond);
    for want in ["R9-release-bond", "R9-release-mandatory-detention"] {
        assert!(got.iter().any(|g| g == want), "{want} missing from {got:?}");
    }
    h.stop_and_verify();
}

/// Contract edges: bad inputs refused with 422, spellings the standards allow accepted.
#[test]
fn bad_values_are_refused_and_standard_spellings_accepted() {
    let h = Harness::start();
    for body in [
        json!({"names": ["Future Person"], "date_of_birth": "2999-01-01"}),
        json!({"names": ["Nul\u{0}Person"]}),
        json!({"id": "..", "names": ["Dot Person"]}),
    ] {
        let a = h.post("field_officer", "/v1/subjects", body.clone());
        assert!(matches!(a.status, 400 | 422), "{body}: {a:?}");
    }
    let ok = h.post_raw(
        "field_officer",
        "/v1/subjects",
        json!({"names": ["Case Person"]}).to_string().as_bytes(),
        &[("Content-Type", "Application/JSON; charset=utf-8")],
    );
    assert_eq!(ok.status, 201, "{ok:?}");
    let token = h.token("oversight");
    let lower = h.get_raw("/v1/ledger/checkpoint", &[("Authorization", &format!("bearer {token}"))]);
    assert_eq!(lower.status, 200, "{lower:?}");
    h.stop_and_verify();
}

/// The same JSON re-sent under the same Idempotency-Key with other spacing and key order is a
/// replay, not a reused key.
#[test]
fn a_retry_differing_only_in_spacing_or_key_order_is_a_replay() {
    let h = Harness::start();
    let json = [("Content-Type", "application/json"), ("Idempotency-Key", "space-1")];
    let first = h.post_raw("field_officer", "/v1/subjects", br#"{"names":["Spaced Person"],"id":"S-SPACE-1"}"#, &json);
    assert_eq!(first.status, 201, "{first:?}");
    let again = h.post_raw(
        "field_officer",
        "/v1/subjects",
        b"{ \"id\" : \"S-SPACE-1\",\n  \"names\": [ \"Spaced Person\" ] }",
        &json,
    );
    assert_eq!((again.status, again.body["replayed"].as_bool()), (200, Some(true)), "{again:?}");
    h.stop_and_verify();
}

/// Failed token checks are limited per client address: past the limit, 429 without a check.
#[test]
fn repeated_bad_tokens_are_rate_limited() {
    let h = Harness::start();
    assert_eq!(h.get("oversight", "/v1/ledger/checkpoint").status, 200);
    let mut statuses = Vec::new();
    let max = api::Config::default().auth_failures_per_minute;
    for i in 0..(max + 2) {
        let a = h.get_raw("/v1/ledger/checkpoint", &[("Authorization", &format!("Bearer lsn_nobody_{i:04}"))]);
        statuses.push(a.status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), max as usize, "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429));
    // A token already verified still works from the same address.
    assert_eq!(h.get("oversight", "/v1/ledger/checkpoint").status, 200);
    h.stop_and_verify();
}

/// Config values are parsed with bounds: the value that panicked the writer is refused.
#[test]
fn out_of_range_config_values_are_refused() {
    let env = |k: &str, v: &str| vec![("LIAISON_DB".to_string(), "x.db".to_string()), (k.to_string(), v.to_string())];
    for (k, v) in [
        ("LIAISON_HANDOFF_WINDOW_MINUTES", "4294967295"),
        ("LIAISON_HANDOFF_WINDOW_MINUTES", "99999999999"),
        ("LIAISON_READERS", "0"),
        ("LIAISON_BATCH_MAX", "18446744073709551616"),
    ] {
        let e = api::Config::load(None, env(k, v).into_iter()).unwrap_err();
        assert!(
            format!("{e:#}").contains(k.strip_prefix("LIAISON_").unwrap().to_lowercase().as_str())
                || format!("{e:#}").contains(k),
            "{k}={v}: {e:#}"
        );
    }
    assert!(api::Config::load(None, env("LIAISON_HANDOFF_WINDOW_MINUTES", "240").into_iter()).is_ok());
}

/// A panic in one command (injected by a stand-in for `service::execute`) fails that command
/// alone with a 500; the rest of its group commits and the writer goes on.
#[test]
fn a_panicking_command_fails_alone_and_the_writer_goes_on() {
    use service::{Command, Done, Request, ServiceError, Settings};
    use store::Store;
    fn panicky(
        b: &mut dyn store::Batch,
        law: &law::Law,
        settings: &Settings,
        req: &Request,
        now: jiff::Timestamp,
    ) -> Result<Done, ServiceError> {
        if let Command::RegisterSubject(n) = req.command
            && n.names[0] == "Panic"
        {
            panic!("injected fault");
        }
        service::execute(b, law, settings, req, now)
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    crate::populate(&mut store::SqliteStore::create(&path).unwrap());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let p = api::auth::demo_principals().into_iter().find(|p| p.roles[0].as_str() == "field_officer").unwrap();
    let cmd = |id: &str, name: &str| {
        Command::RegisterSubject(serde_json::from_value(json!({"id": id, "names": [name]})).unwrap())
    };
    rt.block_on(async {
        let p2 = path.clone();
        let open = move || -> anyhow::Result<Box<dyn Store + Send>> { Ok(Box::new(store::SqliteStore::open(&p2)?)) };
        let law = std::sync::Arc::new(law::Law::bundled());
        let (w, thread) = api::writer::Writer::start_with(open, law, Settings::default(), 16, panicky).await.unwrap();
        let (a, b, c) = tokio::join!(
            w.run(p.clone(), cmd("S-W-A", "Ann"), None),
            w.run(p.clone(), cmd("S-W-P", "Panic"), None),
            w.run(p.clone(), cmd("S-W-C", "Cy"), None),
        );
        assert!(a.is_ok() && c.is_ok(), "{a:?} {c:?}");
        assert_eq!(b.unwrap_err().status, 500);
        assert!(w.run(p.clone(), cmd("S-W-D", "Di"), None).await.is_ok(), "the writer goes on");
        assert!(w.ready().is_ok());
        drop(w);
        tokio::task::spawn_blocking(move || thread.join().unwrap()).await.unwrap();
    });
    let mut s = store::SqliteStore::open(&path).unwrap();
    for (id, present) in [("S-W-A", true), ("S-W-P", false), ("S-W-C", true), ("S-W-D", true)] {
        let key = domain::RecordKey::new(domain::RecordKind::Subject, id);
        assert_eq!(s.record(&key).unwrap().is_some(), present, "{id}");
    }
}

/// A client that sends half its headers is cut off by the header timeout, and one that stalls
/// at shutdown does not keep the server from stopping.
#[test]
fn a_stalled_client_is_cut_off_and_does_not_hold_up_shutdown() {
    use std::io::{Read, Write};
    let h = Harness::start_with(|c| {
        c.header_timeout_seconds = 1;
        c.shutdown_seconds = 1;
    });
    let addr = h.base.strip_prefix("http://").unwrap().to_string();
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: liaison\r\n").unwrap();
    // The server closes the connection (after a 408 or without a word): the read ends.
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    let text = String::from_utf8_lossy(&rest);
    assert!(rest.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    // Another half-sent request stays open while the server stops.
    let mut stalled = std::net::TcpStream::connect(&addr).unwrap();
    stalled.write_all(b"POST /v1/subjects HTTP/1.1\r\nHost: liaison\r\nContent-Length: 100\r\n\r\n{").unwrap();
    h.stop_and_verify();
}

/// One verified person, two custodians: a "same as" verification links the two records, the
/// conflict shows on both and in each custodian's queue, and a supervisor of one custodian
/// resolves it, leaving one custodian.
#[test]
fn a_same_as_link_with_two_custodians_is_a_conflict_until_resolved() {
    let h = Harness::start();
    // ICE ERO San Diego holds S-LINK-A (a Border Patrol arrest handed over).
    let a = h.post(
        "field_officer",
        "/v1/subjects",
        json!({"id": "S-LINK-A", "names": ["Linked Person"], "a_number": "A123456789"}),
    );
    assert_eq!(a.status, 201, "{a:?}");
    assert_eq!(crate::arrest(&h, "S-LINK-A").status, 201);
    let offer = h.post(
        "field_officer",
        "/v1/handoffs",
        json!({"id": "H-LINK-1", "subject": "S-LINK-A", "receiving_agency": "ICE-ERO-SND"}),
    );
    assert_eq!(offer.status, 201, "{offer:?}");
    assert_eq!(h.post("supervisor", "/v1/handoffs/H-LINK-1/answer", json!({"answer": "accept"})).status, 201);
    // The Angelina County jail books the same person under a new record; the check matches.
    let b = h.post(
        "jail_staff",
        "/v1/subjects",
        json!({"id": "S-LINK-B", "names": ["Linked Person"], "a_number": "A123456789"}),
    );
    assert_eq!(b.status, 201, "{b:?}");
    let booked = h.post(
        "jail_staff",
        "/v1/bookings",
        json!({"subject": "S-LINK-B", "facility": "F-TX-ANG-JAIL", "charge": "Tex. Penal Code 49.04"}),
    );
    assert_eq!(booked.status, 201, "{booked:?}");
    let same = h.post(
        "jail_staff",
        "/v1/subjects/S-LINK-B/identity-verifications",
        json!({"same_as": "S-LINK-A", "basis": "A-number and photograph compared"}),
    );
    assert_eq!(same.status, 201, "{same:?}");
    // Never two custodians in silence: both records show the conflict.
    let jail_view = h.get("jail_staff", "/v1/subjects/S-LINK-B");
    assert_eq!(
        jail_view.body["custody"]["conflict"],
        json!({"with": "S-LINK-A", "held_by": "ICE-ERO-SND"}),
        "{jail_view:?}"
    );
    assert_eq!(jail_view.body["subject"]["same_person"], json!(["S-LINK-A"]));
    let ice_view = h.get("supervisor", "/v1/subjects/S-LINK-A");
    let jail = "TX-ANGELINA-COUNTY-SHERIFFS-OFFICE";
    assert_eq!(ice_view.body["custody"]["conflict"], json!({"with": "S-LINK-B", "held_by": jail}), "{ice_view:?}");
    // ICE may now know the jail's record it conflicts with; the queue lists both for it.
    assert_eq!(h.get("supervisor", "/v1/subjects/S-LINK-B").status, 200);
    let queue = h.get("supervisor", "/v1/custody-conflicts");
    let ids: Vec<&str> =
        queue.body["items"].as_array().unwrap().iter().map(|c| c["subject"].as_str().unwrap()).collect();
    assert_eq!(ids, ["S-LINK-A", "S-LINK-B"], "{queue:?}");
    // An agency holding neither record sees no conflict there.
    assert_eq!(h.get("officer_287g", "/v1/custody-conflicts").body["items"], json!([]));
    // Border Patrol, which registered and handed over S-LINK-A, may know it but not the
    // jail's record: neither the link nor the conflict names S-LINK-B to it.
    assert_eq!(h.get("field_officer", "/v1/subjects/S-LINK-B").status, 404);
    let bp_view = h.get("field_officer", "/v1/subjects/S-LINK-A");
    assert_eq!(bp_view.status, 200, "{bp_view:?}");
    assert!(!bp_view.body.to_string().contains("S-LINK-B"), "{bp_view:?}");
    assert_eq!(h.get("field_officer", "/v1/custody-conflicts").body["items"], json!([]));
    // The resolution names one of the two custodians; the other record's custody ends.
    let wrong = h.post(
        "supervisor",
        "/v1/subjects/S-LINK-A/custody-conflict-resolutions",
        json!({"custodian": "ICE-ERO-MIA", "basis": "x"}),
    );
    assert_eq!(wrong.status, 422, "{wrong:?}");
    let done = h.post("supervisor", "/v1/subjects/S-LINK-A/custody-conflict-resolutions", json!({"custodian": jail, "basis": "the person is in the Angelina County jail; the ICE record was a duplicate"}));
    assert_eq!(done.status, 201, "{done:?}");
    let a = h.get("supervisor", "/v1/subjects/S-LINK-A");
    assert!(a.body["custody"].get("custodian").is_none() && a.body["custody"].get("conflict").is_none(), "{a:?}");
    let b = h.get("jail_staff", "/v1/subjects/S-LINK-B");
    assert_eq!(b.body["custody"]["custodian"]["agency"], jail);
    assert!(b.body["custody"].get("conflict").is_none(), "{b:?}");
    assert_eq!(h.get("supervisor", "/v1/custody-conflicts").body["items"], json!([]));
    let chain = h.get("field_officer", "/v1/subjects/S-LINK-A/custody-chain");
    let chain = chain.body.to_string();
    assert!(chain.contains("resolved by") && !chain.contains("S-LINK-B"), "{chain}");
    let again = h.post(
        "supervisor",
        "/v1/subjects/S-LINK-A/custody-conflict-resolutions",
        json!({"custodian": jail, "basis": "again"}),
    );
    assert_eq!(again.status, 409, "{again:?}");
    h.stop_and_verify();
}

/// The database goes away under write load and comes back: requests in the outage get 503
/// (never another 5xx), every acknowledged write is in the log afterwards, and writes
/// resume without restarting the server. (On SQLite there is no connection to lose; the
/// load and the checks run the same.)
#[test]
fn writes_resume_after_the_database_comes_back_and_no_acknowledged_write_is_lost() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let h = Harness::start();
    let stop = AtomicBool::new(false);
    let (acked, statuses) = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let (h, stop) = (&h, &stop);
                scope.spawn(move || {
                    let (mut acked, mut statuses) = (vec![], std::collections::BTreeSet::new());
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let id = format!("S-LOAD-{w}-{i}");
                        let a = h.post("field_officer", "/v1/subjects", json!({"id": id, "names": ["Load Person"]}));
                        statuses.insert(a.status);
                        if a.status == 201 {
                            acked.push(id);
                        }
                        i += 1;
                    }
                    (acked, statuses)
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(500));
        h.interrupt_database(std::time::Duration::from_secs(2));
        let up = std::time::Instant::now();
        // The first write committed after the database is back.
        let mut n = 0;
        let recovered = loop {
            let a = h.post("field_officer", "/v1/subjects", json!({"id": format!("S-BACK-{n}"), "names": ["Back"]}));
            if a.status == 201 {
                break up.elapsed();
            }
            assert_eq!(a.status, 503, "only 'unavailable' while the database is away: {a:?}");
            assert!(up.elapsed() < std::time::Duration::from_secs(60), "writes did not resume: {a:?}");
            n += 1;
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        eprintln!("writes resumed {recovered:?} after the database accepted connections again");
        std::thread::sleep(std::time::Duration::from_millis(500));
        stop.store(true, Ordering::Relaxed);
        let mut all = (vec![], std::collections::BTreeSet::new());
        for w in writers {
            let (a, s) = w.join().unwrap();
            all.0.extend(a);
            all.1.extend(s);
        }
        all
    });
    assert!(statuses.iter().all(|s| matches!(s, 201 | 503)), "{statuses:?}");
    assert!(!acked.is_empty());
    for id in &acked {
        let a = h.get("oversight", &format!("/v1/subjects/{id}"));
        assert_eq!(a.status, 200, "acknowledged {id} is lost: {a:?}");
    }
    eprintln!("{} acknowledged writes, all kept; statuses {statuses:?}", acked.len());
    h.stop_and_verify();
}

/// Issue 11: a jail's answer to a detainer is a legal decision. The Angelina County jail is
/// in Lufkin, Texas, where the law mandates honoring: a decline is refused with the rule, and
/// the honor carries the mandate as an obligation, its place established from the jail's
/// location rather than from the agency's declared state.
#[test]
fn a_detainer_answer_is_decided_with_its_obligations_at_the_jails_place() {
    let h = Harness::start();
    lodged_detainer(&h, "S-F-ANS", "A012340078", "D-F-ANS");
    let steps = "/v1/detainers/D-F-ANS/steps";
    let declined = h.post("jail_staff", steps, json!({"step": "answer", "answer": "decline"}));
    assert_eq!((declined.status, declined.body["code"].as_str()), (403, Some("denied_by_law")), "{declined:?}");
    assert!(declined.body["detail"].as_str().unwrap().contains("TX-CCP-2.251-honor-detainers"), "{declined:?}");
    let both = h.post("jail_staff", steps, json!({"step": "answer", "answer": "honor", "accepted": true}));
    assert_eq!(both.status, 422, "{both:?}");
    let honored = h.post("jail_staff", steps, json!({"step": "answer", "answer": "honor"}));
    assert_eq!(honored.status, 201, "{honored:?}");
    let decision = &honored.body["decision"];
    let duties: Vec<&str> =
        decision["obligations"].as_array().unwrap().iter().map(|o| o["rule_id"].as_str().unwrap()).collect();
    assert!(duties.contains(&"TX-CCP-2.251-honor-detainers"), "{decision}");
    assert_eq!(decision["place"]["county"], "Angelina", "{decision}");
    assert_eq!(decision["place"]["time_zone"], "America/Chicago", "{decision}");
    h.stop_and_verify();
}

/// Issue 11: the registry's 287(g) agreement writes go through the law. A Texas sheriff's
/// office entering one meets the duty Gov. Code ch. 753 puts on sheriffs who run jails (an
/// obligation, not a warning); ending it leaves that duty unmet (a warning).
#[test]
fn agreement_writes_are_decided_by_the_law_with_the_state_duty() {
    let h = Harness::start();
    let rec = h.post(
        "administrator",
        "/v1/agreements",
        json!({"id": "A-F-TX-JEM", "terms": {"kind": "moa287g", "model": "jail_enforcement_model"},
            "parties": ["ICE-ERO", "TX-ANGELINA-COUNTY-SHERIFFS-OFFICE"], "signed_on": "2026-11-02"}),
    );
    assert_eq!(rec.status, 201, "{rec:?}");
    let d = &rec.body["decision"];
    assert_eq!(d["obligations"][0]["rule_id"], "TX-Gov-753-sheriffs-must-enter", "{d}");
    assert_eq!(d["obligations"][0]["due"], "2026-12-01T06:00:00Z", "{d}");
    let end = h.post("administrator", "/v1/agreements/A-F-TX-JEM/status", json!({"status": "terminated"}));
    assert_eq!(end.status, 201, "{end:?}");
    let flags: Vec<&str> = end.body["decision"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "flag")
        .map(|r| r["rule_id"].as_str().unwrap())
        .collect();
    assert!(flags.contains(&"TX-Gov-753-termination-leaves-duty"), "{end:?}");
    h.stop_and_verify();
}
