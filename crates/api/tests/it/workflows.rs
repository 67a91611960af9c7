//! One test per workflow, through HTTP.

use crate::{Harness, arrest, new_subject};
use serde_json::json;

#[test]
fn an_arrest_is_decided_by_the_law_and_the_decision_comes_back() {
    let h = Harness::start();
    let s = new_subject(&h, "field_officer", "S-T-ARREST");
    let a = arrest(&h, &s);
    assert_eq!(a.status, 201, "{a:?}");
    assert_eq!(a.body["events"][0]["type"], "encounter_recorded");
    let d = &a.body["decision"];
    assert!(matches!(d["effect"].as_str(), Some("allow" | "allow_with_flags")), "{d}");
    assert!(d["reasons"].as_array().unwrap().iter().any(|r| !r["citation"].as_str().unwrap().is_empty()));
    // The decision is in the ledger with the event.
    let ev = h.get("oversight", &format!("/v1/audit/events?subject={s}&type=encounter_recorded"));
    assert_eq!(ev.body["items"][0]["decision"]["effect"], d["effect"]);
    // A jail clerk may not record an arrest (role), and a stop resting only on apparent
    // ethnicity is not lawful (law).
    let clerk = h.post("jail_staff", "/v1/encounters", json!({"subject": s, "location": {"lat": 32.6, "lon": -117.0}, "method": "PB", "authority": "warrantless_arrest_1357a2", "arrest": true, "jurisdictions": ["CA"]}));
    assert_eq!((clerk.status, clerk.body["code"].as_str()), (403, Some("forbidden")), "{clerk:?}");
    let before = h.log_size();
    let profiled = h.post("field_officer", "/v1/encounters", json!({"subject": s, "location": {"lat": 34.05, "lon": -118.25}, "method": "PB", "authority": "interrogation_1357a1", "suspicion_factors": ["apparent_race_or_ethnicity", "language_or_accent"], "arrest": false, "jurisdictions": ["CA"]}));
    assert_eq!((profiled.status, profiled.body["code"].as_str()), (403, Some("denied_by_law")), "{profiled:?}");
    assert!(profiled.body["decision"]["reasons"].as_array().unwrap().iter().any(|r| r["kind"] == "deny"));
    assert_eq!(h.log_size(), before, "a refused action appends nothing");
    h.stop_and_verify();
}

#[test]
fn custody_moves_by_offer_and_accept_and_a_rejected_or_expired_offer_leaves_it() {
    let h = Harness::start_with(|c| c.sweep_seconds = 1);
    let s = new_subject(&h, "field_officer", "S-T-HANDOFF");
    assert_eq!(arrest(&h, &s).status, 201);
    // Rejected.
    let o = h.post(
        "field_officer",
        "/v1/handoffs",
        json!({"id": "H-T-1", "subject": s, "receiving_agency": "ICE-ERO-SND"}),
    );
    assert_eq!(o.status, 201, "{o:?}");
    let r = h.post("supervisor", "/v1/handoffs/H-T-1/answer", json!({"answer": "reject", "reason": "no bed space"}));
    assert_eq!(r.status, 201, "{r:?}");
    // Expired: a one-second window, and the server's sweep closes it.
    let o = h.post(
        "field_officer",
        "/v1/handoffs",
        json!({"id": "H-T-2", "subject": s, "receiving_agency": "ICE-ERO-SND", "expires_in_seconds": 1}),
    );
    assert_eq!(o.status, 201, "{o:?}");
    let mut status = String::new();
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(200));
        status = h.get("field_officer", "/v1/handoffs/H-T-2").body["status"].as_str().unwrap_or("").to_string();
        if status == "expired" {
            break;
        }
    }
    assert_eq!(status, "expired");
    let late = h.post("supervisor", "/v1/handoffs/H-T-2/answer", json!({"answer": "accept"}));
    assert_eq!((late.status, late.body["code"].as_str()), (409, Some("invalid_transition")), "{late:?}");
    // Accepted: custody moves, and the decision says under which authority.
    h.post("field_officer", "/v1/handoffs", json!({"id": "H-T-3", "subject": s, "receiving_agency": "ICE-ERO-SND"}));
    let a = h.post("supervisor", "/v1/handoffs/H-T-3/answer", json!({"answer": "accept"}));
    assert_eq!(a.status, 201, "{a:?}");
    assert!(!a.body["decision"]["reasons"].as_array().unwrap().is_empty());
    let v = h.get("supervisor", &format!("/v1/subjects/{s}"));
    assert_eq!(v.body["custody"]["custodian"]["agency"], "ICE-ERO-SND", "{v:?}");
    // The former custodian no longer holds the subject but encountered them: still visible.
    assert_eq!(h.get("field_officer", &format!("/v1/subjects/{s}")).status, 200);
    let chain = h.get("supervisor", &format!("/v1/subjects/{s}/custody-chain"));
    let steps: Vec<&str> = chain.body.as_array().unwrap().iter().map(|s| s["what"].as_str().unwrap()).collect();
    assert!(steps.iter().any(|w| w.contains("expired")) && steps.last().unwrap().contains("accepted"), "{steps:?}");
    h.stop_and_verify();
}

#[test]
fn a_thousand_concurrent_accepts_of_one_offer_leave_exactly_one_custodian() {
    let h = Harness::start();
    let s = new_subject(&h, "field_officer", "S-T-RACE");
    assert_eq!(arrest(&h, &s).status, 201);
    let o = h.post(
        "field_officer",
        "/v1/handoffs",
        json!({"id": "H-T-RACE", "subject": s, "receiving_agency": "ICE-ERO-SND"}),
    );
    assert_eq!(o.status, 201);
    let statuses = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..50 {
            scope.spawn(|| {
                for _ in 0..20 {
                    let a = h.post("supervisor", "/v1/handoffs/H-T-RACE/answer", json!({"answer": "accept"}));
                    statuses.lock().unwrap().push((a.status, a.body["code"].as_str().map(str::to_string)));
                }
            });
        }
    });
    let statuses = statuses.into_inner().unwrap();
    assert_eq!(statuses.len(), 1000);
    let won = statuses.iter().filter(|(s, _)| *s == 201).count();
    let lost = statuses.iter().filter(|(s, c)| *s == 409 && c.as_deref() == Some("invalid_transition")).count();
    assert_eq!((won, lost), (1, 999), "{:?}", &statuses[..5]);
    let v = h.get("oversight", &format!("/v1/subjects/{s}"));
    assert_eq!(v.body["custody"]["custodian"]["agency"], "ICE-ERO-SND");
    let accepted = h.get("oversight", &format!("/v1/audit/events?subject={s}&type=handoff_accepted"));
    assert_eq!(accepted.body["items"].as_array().unwrap().len(), 1);
    h.stop_and_verify();
}

#[test]
fn a_detainer_runs_from_issue_to_custody_with_its_hold_deadline() {
    let h = Harness::start();
    // ICE knows the person; the booking's identity check matches and so notifies ICE.
    register(&h, "supervisor", "S-T-DET-ICE", "Ines Halvorsen", "1990-03-02", Some("A012340001"));
    register(&h, "jail_staff", "S-T-DET", "Ines Halvorsen", "1990-03-02", Some("A012340001"));
    let s = "S-T-DET".to_string();
    assert_eq!(book_in_texas(&h, &s)["result"], "match");
    let mut issue = detainer_for(&s);
    issue["id"] = json!("D-T-1");
    let d = h.post("supervisor", "/v1/detainers", issue);
    assert_eq!(d.status, 201, "{d:?}");
    assert!(
        d.body["decision"]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["rule_id"].as_str().unwrap().starts_with("R"))
    );
    // Only the recipient answers; the issuing side gets a clear refusal.
    let wrong = h.post("supervisor", "/v1/detainers/D-T-1/steps", json!({"step": "answer", "accepted": true}));
    assert_eq!(wrong.status, 403, "{wrong:?}");
    for step in [json!({"step": "answer", "accepted": true}), json!({"step": "release_eligible"})] {
        let a = h.post("jail_staff", "/v1/detainers/D-T-1/steps", step);
        assert_eq!(a.status, 201, "{a:?}");
    }
    let v = h.get("jail_staff", "/v1/detainers/D-T-1");
    assert_eq!(v.body["detainer"]["status"], "holding", "{v:?}");
    let hold = &v.body["hold"];
    let t0: jiff::Timestamp = hold["release_eligible_at"].as_str().unwrap().parse().unwrap();
    let deadline: jiff::Timestamp = hold["deadline"].as_str().unwrap().parse().unwrap();
    assert_eq!(deadline.duration_since(t0), jiff::SignedDuration::from_hours(48));
    let a = h.post("supervisor", "/v1/detainers/D-T-1/steps", json!({"step": "assume_custody"}));
    assert_eq!(a.status, 201, "{a:?}");
    let v = h.get("supervisor", &format!("/v1/subjects/{s}"));
    assert_eq!(v.body["custody"]["custodian"]["agency"], "ICE-ERO-SND");
    // The jail named in the detainer still sees it; the Border Patrol, never involved, does not.
    assert_eq!(h.get("jail_staff", &format!("/v1/subjects/{s}")).status, 200);
    assert_eq!(h.get("field_officer", &format!("/v1/subjects/{s}")).status, 404);
    h.stop_and_verify();
}

#[test]
fn a_retry_with_the_same_key_is_answered_once_and_a_reused_key_is_refused() {
    let h = Harness::start();
    let body = json!({"names": ["Retry Person"]});
    let first = h.post_keyed("field_officer", "/v1/subjects", "k-1", body.clone());
    let again = h.post_keyed("field_officer", "/v1/subjects", "k-1", body);
    assert_eq!((first.status, again.status), (201, 200), "{again:?}");
    assert_eq!(first.body["id"], again.body["id"]);
    assert_eq!(first.body["first_seq"], again.body["first_seq"]);
    assert_eq!(again.body["replayed"], true);
    assert_eq!(again.body["events"], first.body["events"]);
    let other = h.post_keyed("field_officer", "/v1/subjects", "k-1", json!({"names": ["Someone Else"]}));
    assert_eq!((other.status, other.body["code"].as_str()), (409, Some("idempotency_key_reused")), "{other:?}");
    // Keys belong to their principal: another principal's same key is a new request.
    let mine = h.post_keyed("jail_staff", "/v1/subjects", "k-1", json!({"names": ["Retry Person"]}));
    assert_eq!(mine.status, 201, "{mine:?}");
    h.stop_and_verify();
}

#[test]
fn operations_lists_reads_and_the_ledger() {
    let h = Harness::start();
    let op = h.post("supervisor", "/v1/operations", json!({"id": "OP-T-1", "name": "Test deployment", "city": "Chicago", "state": "IL", "starts_on": "2026-12-01", "participants": [{"agency": "ICE-ERO-SND", "headcount": 12}]}));
    assert_eq!(op.status, 201, "{op:?}");
    assert_eq!(h.get("supervisor", "/v1/operations/OP-T-1").body["city"], "Chicago");
    assert_eq!(h.get("jail_staff", "/v1/operations/OP-T-1").status, 404);
    // An id in use is refused (the writer looks new ids up for its whole group at once).
    let again = h.post("supervisor", "/v1/operations", json!({"id": "OP-T-1", "name": "Another", "city": "Denver", "state": "CO", "starts_on": "2026-12-02", "participants": [{"agency": "ICE-ERO-SND", "headcount": 1}]}));
    assert_eq!((again.status, again.body["code"].as_str()), (409, Some("already_exists")), "{again:?}");
    assert_eq!(h.get("supervisor", "/v1/operations/OP-T-1").body["city"], "Chicago");
    // Pages of the 287(g) registry follow one another without overlap.
    let p1 = h.get("administrator", "/v1/agreements?limit=3");
    let next = p1.body["next"].as_str().unwrap().to_string();
    let p2 = h.get("administrator", &format!("/v1/agreements?limit=3&after={next}"));
    assert_eq!(p2.body["items"].as_array().unwrap().len(), 3);
    assert!(p2.body["items"][0]["id"].as_str().unwrap() > next.as_str());
    // Oversight's reads are logged like anyone's.
    assert_eq!(h.get("oversight", "/v1/subjects/S-DEMO-0001").status, 200);
    let reads = h.get("oversight", "/v1/audit/events?subject=S-DEMO-0001&type=subject_record_read");
    assert_eq!(reads.body["items"][0]["event"]["reader"], "oversight-crcl");
    // Proofs for auditors.
    let cp = h.get("oversight", "/v1/ledger/checkpoint");
    let size = cp.body["size"].as_u64().unwrap();
    let inc = h.get("oversight", &format!("/v1/ledger/proofs/inclusion?seq=5&size={size}"));
    assert_eq!(inc.body["root"], cp.body["root"]);
    let con = h.get("oversight", &format!("/v1/ledger/proofs/consistency?old=100&new={size}"));
    assert!(!con.body["proof"].as_array().unwrap().is_empty());
    let health = h.get("none", "/healthz");
    assert_eq!(health.status, 200);
    assert_eq!(h.get("none", "/readyz").status, 200);
    let m = h.get("none", "/metrics");
    assert!(m.body.as_str().unwrap().contains("liaison_http_requests_total"), "{m:?}");
    h.stop_and_verify();
}

fn register(h: &Harness, role: &str, id: &str, name: &str, dob: &str, a_number: Option<&str>) {
    let mut body = json!({"id": id, "names": [name], "date_of_birth": dob});
    if let Some(a) = a_number {
        body["a_number"] = json!(a);
    }
    let r = h.post(role, "/v1/subjects", body);
    assert_eq!(r.status, 201, "{r:?}");
}

fn book_in_texas(h: &Harness, subject: &str) -> serde_json::Value {
    let b = h.post(
        "jail_staff",
        "/v1/bookings",
        json!({"subject": subject, "facility": "F-TX-ANG-JAIL", "charge": "Tex. Penal Code 49.04"}),
    );
    assert_eq!(b.status, 201, "{b:?}");
    assert_eq!(b.body["events"][1]["type"], "identity_checked", "{b:?}");
    b.body["events"][1]["check"].clone()
}

fn detainer_for(subject: &str) -> serde_json::Value {
    json!({
        "subject": subject, "recipient_agency": "TX-ANGELINA-COUNTY-SHERIFFS-OFFICE",
        "warrant": {"form": "I-200", "signed_by": "O-ERO-SND-0001", "signed_at": "2026-11-01T10:00:00Z"},
        "probable_cause": ["pending_removal_proceedings"]
    })
}

fn denied_by(a: &crate::Answer, rule: &str) -> bool {
    a.status == 403
        && a.body["code"] == "denied_by_law"
        && a.body["decision"]["reasons"].as_array().unwrap().iter().any(|r| r["rule_id"] == rule && r["kind"] == "deny")
}

#[test]
fn a_booking_checks_identity_and_an_ambiguous_match_needs_a_person_before_a_detainer() {
    let h = Harness::start();
    // ICE's own case, with an A-number.
    register(&h, "supervisor", "S-T-ID-KNOWN", "Rosa Quintero Vidal", "1988-04-09", Some("A098765432"));
    // The jail books a person with the same name and date of birth: one strong candidate.
    register(&h, "jail_staff", "S-T-ID-BOOKED", "ROSA QUINTERO-VIDAL", "1988-04-09", None);
    let c = book_in_texas(&h, "S-T-ID-BOOKED");
    assert_eq!((c["result"].as_str(), c["confidence"].as_u64()), (Some("match"), Some(90)), "{c}");
    assert_eq!(c["candidates"][0]["subject"], "S-T-ID-KNOWN");
    assert_eq!(c["status"], "a_file_on_record");
    // A match is shared with ICE (Secure Communities): the booked subject is now visible to it.
    assert_eq!(h.get("supervisor", "/v1/subjects/S-T-ID-BOOKED").status, 200);
    // Nobody of that name and date of birth: no match, and the Border Patrol never sees it.
    register(&h, "jail_staff", "S-T-ID-NEW", "Tomas Ebright", "1979-12-30", None);
    let c = book_in_texas(&h, "S-T-ID-NEW");
    assert_eq!((c["result"].as_str(), c["confidence"].as_u64()), (Some("no_match"), Some(90)), "{c}");
    assert_eq!(h.get("field_officer", "/v1/subjects/S-T-ID-NEW").status, 404);

    // Two people share the surname and date of birth: ambiguous.
    register(&h, "supervisor", "S-T-AMB-1", "Ines Marlowe", "1990-07-01", Some("A011112222"));
    register(&h, "supervisor", "S-T-AMB-2", "Petra Marlowe", "1990-07-01", Some("A033334444"));
    register(&h, "jail_staff", "S-T-AMB", "Ines Marlowe", "1990-07-01", None);
    let c = book_in_texas(&h, "S-T-AMB");
    assert_eq!((c["result"].as_str(), c["confidence"].as_u64()), (Some("ambiguous"), Some(90)), "{c}");
    assert_eq!(c["candidates"].as_array().unwrap().len(), 2);
    // No detainer until a person verifies who this is; nothing is written by the refusal.
    let before = h.log_size();
    let d = h.post("supervisor", "/v1/detainers", detainer_for("S-T-AMB"));
    assert!(denied_by(&d, "R6-identity-verification"), "{d:?}");
    assert_eq!(h.log_size(), before);
    // The verification must name a candidate (or none) and give its basis.
    let path = "/v1/subjects/S-T-AMB/identity-verifications";
    let bad = h.post("jail_staff", path, json!({"same_as": "S-T-ID-KNOWN", "basis": "photo comparison"}));
    assert_eq!(bad.status, 422, "{bad:?}");
    let blank = h.post("jail_staff", path, json!({"same_as": "S-T-AMB-1", "basis": " "}));
    assert_eq!(blank.status, 422, "{blank:?}");
    let v = h.post(
        "jail_staff",
        path,
        json!({"same_as": "S-T-AMB-1", "basis": "booking fingerprints compared with the A-file"}),
    );
    assert_eq!(v.status, 201, "{v:?}");
    let again = h.post("jail_staff", path, json!({"basis": "second look"}));
    assert_eq!((again.status, again.body["code"].as_str()), (409, Some("invalid_transition")), "{again:?}");
    let s = h.get("jail_staff", "/v1/subjects/S-T-AMB");
    assert_eq!(s.body["subject"]["identity_check"]["verification"]["same_as"], "S-T-AMB-1", "{s:?}");
    let d = h.post("supervisor", "/v1/detainers", detainer_for("S-T-AMB"));
    assert_eq!(d.status, 201, "{d:?}");
    h.stop_and_verify();
}

#[test]
fn a_citizenship_claim_holds_detainers_until_a_supervisor_determines_it() {
    let h = Harness::start();
    register(&h, "supervisor", "S-T-CD-ICE", "Marek Olufemi", "1985-01-15", Some("A055556666"));
    register(&h, "jail_staff", "S-T-CD", "Marek Olufemi", "1985-01-15", None);
    assert_eq!(book_in_texas(&h, "S-T-CD")["result"], "match");
    let claim = json!({"country": "US", "evidence": ["us_passport"]});
    assert_eq!(h.post("jail_staff", "/v1/subjects/S-T-CD/citizenship-claims", claim.clone()).status, 201);
    let d = h.post("supervisor", "/v1/detainers", detainer_for("S-T-CD"));
    assert!(denied_by(&d, "R6-citizenship-safeguard"), "{d:?}");
    // Determinations are a supervisor's, and "not a citizen" is DHS's alone.
    let path = "/v1/subjects/S-T-CD/citizenship-determinations";
    let clerk = h.post("jail_staff", path, json!({"us_citizen": false, "basis": "no record"}));
    assert_eq!((clerk.status, clerk.body["code"].as_str()), (403, Some("forbidden")), "{clerk:?}");
    let no = h.post(
        "supervisor",
        path,
        json!({"us_citizen": false, "basis": "passport found to be another person's; A-file birth record abroad"}),
    );
    assert_eq!(no.status, 201, "{no:?}");
    let d = h.post("supervisor", "/v1/detainers", detainer_for("S-T-CD"));
    assert_eq!(d.status, 201, "{d:?}");
    // A new claim suspends again; a finding of citizenship ends detainer actions for good.
    assert_eq!(h.post("jail_staff", "/v1/subjects/S-T-CD/citizenship-claims", claim).status, 201);
    let yes =
        h.post("supervisor", path, json!({"us_citizen": true, "basis": "passport verified with the State Department"}));
    assert_eq!(yes.status, 201, "{yes:?}");
    let d = h.post("supervisor", "/v1/detainers", detainer_for("S-T-CD"));
    assert!(denied_by(&d, "R6-us-citizen"), "{d:?}");
    // The jail's hold on the earlier detainer is refused too.
    let did = h.get("oversight", "/v1/audit/events?subject=S-T-CD&type=detainer_issued").body["items"][0]["event"]["detainer"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let a = h.post("jail_staff", &format!("/v1/detainers/{did}/steps"), json!({"step": "answer", "accepted": true}));
    assert!(denied_by(&a, "R6-us-citizen"), "{a:?}");
    // No claim, nothing to determine.
    let none = h.post(
        "supervisor",
        "/v1/subjects/S-T-CD-ICE/citizenship-determinations",
        json!({"us_citizen": true, "basis": "x"}),
    );
    assert_eq!((none.status, none.body["code"].as_str()), (409, Some("invalid_transition")), "{none:?}");
    h.stop_and_verify();
}

#[test]
fn an_operation_counts_the_encounters_and_arrests_made_in_it() {
    let h = Harness::start();
    let op = json!({"id": "OP-T-CNT", "name": "Border deployment", "city": "San Diego", "state": "CA", "starts_on": "2026-11-01", "participants": [{"agency": "USBP-SAN-DIEGO", "headcount": 40}, {"agency": "ICE-ERO-SND", "headcount": 8}]});
    assert_eq!(h.post("supervisor", "/v1/operations", op).status, 201);
    let s = new_subject(&h, "field_officer", "S-T-OP");
    let mut enc = json!({"subject": s, "location": {"lat": 32.6, "lon": -117.0}, "method": "PB", "authority": "warrantless_arrest_1357a2", "suspicion_factors": ["recent_illegal_crossings_in_area", "fleeing_or_hiding"], "arrest": true, "escape_risk": "Synthetic: ran toward the fence line", "jurisdictions": ["CA"], "operation": "OP-T-CNT"});
    let planned = h.post("field_officer", "/v1/encounters", enc.clone());
    assert_eq!(planned.status, 422, "an operation takes encounters only while active: {planned:?}");
    let act = h.post("supervisor", "/v1/operations/OP-T-CNT/status", json!({"status": "active"}));
    assert_eq!(act.status, 201, "{act:?}");
    assert_eq!(h.post("field_officer", "/v1/encounters", enc.clone()).status, 201);
    enc["arrest"] = json!(false);
    enc["subject"] = json!(new_subject(&h, "field_officer", "S-T-OP-2"));
    assert_eq!(h.post("field_officer", "/v1/encounters", enc).status, 201);
    let v = h.get("field_officer", "/v1/operations/OP-T-CNT");
    assert_eq!((v.body["encounters"].as_u64(), v.body["arrests"].as_u64()), (Some(2), Some(1)), "{v:?}");
    let done = h.post("supervisor", "/v1/operations/OP-T-CNT/status", json!({"status": "concluded"}));
    assert_eq!(done.status, 201);
    let back = h.post("supervisor", "/v1/operations/OP-T-CNT/status", json!({"status": "active"}));
    assert_eq!(back.status, 409, "{back:?}");
    h.stop_and_verify();
}

#[test]
fn administrators_keep_the_287g_registry_and_the_law_reads_it() {
    let h = Harness::start();
    let agreement = json!({"id": "287G-T-ANGELINA-WSO", "terms": {"kind": "moa287g", "model": "warrant_service_officer"}, "parties": ["ICE-ERO", "TX-ANGELINA-COUNTY-SHERIFFS-OFFICE"], "signed_on": "2026-10-01"});
    let clerk = h.post("jail_staff", "/v1/agreements", agreement.clone());
    assert_eq!(clerk.status, 403, "{clerk:?}");
    let a = h.post("administrator", "/v1/agreements", agreement);
    assert_eq!(a.status, 201, "{a:?}");
    let o = h.post("administrator", "/v1/officers", json!({"id": "O-T-ANG-WSO", "agency": "TX-ANGELINA-COUNTY-SHERIFFS-OFFICE", "name": "Deputy Test", "role": "local_officer"}));
    assert_eq!(o.status, 201, "{o:?}");
    let g = h.post("administrator", "/v1/officers/O-T-ANG-WSO/designations", json!({"authority": {"source": "agreement287g", "agreement": "287G-T-ANGELINA-WSO"}, "scope": "jail: Angelina County Jail"}));
    assert_eq!(g.status, 201, "{g:?}");
    let future = h.post(
        "administrator",
        "/v1/officers/O-T-ANG-WSO/training",
        json!({"course": "WSO online", "completed_at": "2099-01-01T00:00:00Z"}),
    );
    assert_eq!(future.status, 422, "{future:?}");
    let t = h.post("administrator", "/v1/officers/O-T-ANG-WSO/training", json!({"course": "287(g) WSO online course", "completed_at": "2026-10-15T00:00:00Z", "valid_until": "2028-10-15T00:00:00Z"}));
    assert_eq!(t.status, 201, "{t:?}");
    let view = h.get("jail_staff", "/v1/officers/O-T-ANG-WSO");
    assert_eq!(view.body["designations"][0]["authority"]["agreement"], "287G-T-ANGELINA-WSO", "{view:?}");
    assert_eq!(view.body["training"].as_array().unwrap().len(), 1);
    let end = h.post("administrator", "/v1/agreements/287G-T-ANGELINA-WSO/status", json!({"status": "terminated"}));
    assert_eq!(end.status, 201, "{end:?}");
    assert_eq!(h.get("oversight", "/v1/agreements/287G-T-ANGELINA-WSO").body["status"], "terminated");
    let revive = h.post("administrator", "/v1/agreements/287G-T-ANGELINA-WSO/status", json!({"status": "active"}));
    assert_eq!(revive.status, 409, "{revive:?}");
    h.stop_and_verify();
}

#[test]
fn a_warrant_service_arrest_in_a_287g_jail_then_a_handoff_to_ice() {
    let h = Harness::start();
    let s = new_subject(&h, "officer_287g", "S-T-WSO");
    let b = h.post(
        "officer_287g",
        "/v1/bookings",
        json!({"subject": s, "facility": "F-FL-COL-JAIL", "charge": "Fla. Stat. 316.193"}),
    );
    assert_eq!(b.status, 201, "{b:?}");
    let mut arrest = json!({"subject": s, "location": {"lat": 26.142, "lon": -81.7948}, "method": "CLC", "authority": "administrative_warrant", "arrest": true, "in_jail": true, "jurisdictions": ["FL"]});
    let no_warrant = h.post("officer_287g", "/v1/encounters", arrest.clone());
    assert_eq!(no_warrant.status, 422, "{no_warrant:?}");
    arrest["warrant"] = json!({"form": "I-200", "signed_by": "O-ERO-MIA-0001", "signed_at": "2026-11-01T10:00:00Z"});
    let a = h.post("officer_287g", "/v1/encounters", arrest);
    assert_eq!(a.status, 201, "{a:?}");
    assert!(
        a.body["decision"]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["rule_id"].as_str().unwrap().contains("287g")),
        "{a:?}"
    );
    let v = h.get("officer_287g", &format!("/v1/subjects/{s}"));
    let custodian = &v.body["custody"]["custodian"];
    assert_eq!(
        (custodian["agency"].as_str(), custodian["basis"].as_str()),
        (Some("FL-COLLIER-COUNTY-SHERIFFS-OFFICE"), Some("immigration_arrest")),
        "{v:?}"
    );
    let o = h.post("officer_287g", "/v1/handoffs", json!({"subject": s, "receiving_agency": "ICE-ERO-MIA"}));
    assert_eq!(o.status, 201, "{o:?}");
    assert!(o.body["decision"].is_object(), "a transfer to ICE is decided by the law: {o:?}");
    h.stop_and_verify();
}

/// Runs `cmd` as the demo principal with `role`, as if at `now` (the valid time of what it
/// records), straight on the store. The store records it at the clock's time: it never
/// records a time earlier than its last.
fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn run_at(s: &mut dyn store::Store, role: &str, cmd: service::Command, now: jiff::Timestamp) {
    let p = api::auth::demo_principals().into_iter().find(|p| p.roles[0].as_str() == role).unwrap();
    let law = law::Law::bundled();
    let mut result = None;
    s.transact(jiff::Timestamp::now(), &mut |b| {
        let req = service::Request { principal: &p, command: &cmd, key: None, as_system: false };
        result = Some(service::execute(b, &law, &service::Settings::default(), &req, now).map(|_| ()));
        Ok(())
    })
    .unwrap();
    result.unwrap().unwrap_or_else(|e| panic!("{role}: {e}"));
}

#[test]
fn a_hold_whose_clock_ran_out_is_expired_by_the_server() {
    use service::{Command, DetainerUpdate, NewBooking, NewDetainer, NewSubject};
    let t0 = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(72);
    let h = Harness::start_seeded(
        |s| {
            // ICE's record of the person, which the booking's identity check matches.
            let known: NewSubject =
                parse(json!({"id": "S-T-EXP-ICE", "names": ["Held Person"], "a_number": "A012340002"}));
            run_at(s, "supervisor", Command::RegisterSubject(known), t0);
            let subject: NewSubject =
                parse(json!({"id": "S-T-EXP", "names": ["Held Person"], "a_number": "A012340002"}));
            run_at(s, "jail_staff", Command::RegisterSubject(subject), t0);
            let booking: NewBooking =
                parse(json!({"subject": "S-T-EXP", "facility": "F-TX-ANG-JAIL", "charge": "Tex. Penal Code 49.04"}));
            run_at(s, "jail_staff", Command::BookIntoJail(booking), t0);
            let mut d = detainer_for("S-T-EXP");
            d["id"] = json!("D-T-EXP");
            let d: NewDetainer = parse(d);
            run_at(s, "supervisor", Command::IssueDetainer(d), t0);
            let id = domain::DetainerId::parse("D-T-EXP").unwrap();
            for update in
                [DetainerUpdate::Answer { answer: None, accepted: Some(true) }, DetainerUpdate::ReleaseEligible]
            {
                run_at(s, "jail_staff", Command::UpdateDetainer { detainer: id.clone(), update }, t0);
            }
        },
        |c| c.sweep_seconds = 1,
    );
    let mut status = String::new();
    for _ in 0..50 {
        status = h.get("jail_staff", "/v1/detainers/D-T-EXP").body["detainer"]["status"].as_str().unwrap().to_string();
        if status == "expired" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(status, "expired", "a hold 72 hours past release eligibility ends");
    let late = h.post("supervisor", "/v1/detainers/D-T-EXP/steps", json!({"step": "assume_custody"}));
    assert_eq!((late.status, late.body["code"].as_str()), (409, Some("invalid_transition")), "{late:?}");
    let ev = h.get("oversight", "/v1/audit/events?subject=S-T-EXP&type=detainer_expired");
    assert_eq!(ev.body["items"][0]["actor"], "liaison", "{ev:?}");
    h.stop_and_verify();
}

#[test]
fn a_jwt_from_a_configured_issuer_names_a_principal_registered_server_side() {
    use base64::Engine as _;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let keys = tempfile::tempdir().unwrap();
    let seed = [7u8; 32];
    let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public.as_bytes());
    let jwks = keys.path().join("jwks.json");
    std::fs::write(
        &jwks,
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "idp-1", "alg": "EdDSA"}]}).to_string(),
    )
    .unwrap();
    let mut der = hex::decode("302e020100300506032b657004220420").unwrap();
    der.extend_from_slice(&seed);
    let principal: service::Principal = parse(
        json!({"id": "idp-ero-sup", "agency": "ICE-ERO-SND", "officer": "O-ERO-SND-0001", "roles": ["supervisor"]}),
    );
    let entry = api::auth::TokenEntry {
        principal,
        token_hash: None,
        oidc: Some(api::oidc::OidcSubject { issuer: "https://idp.dhs.test".into(), subject: "00u1ero".into() }),
    };
    let issuer = api::oidc::IssuerConfig {
        issuer: "https://idp.dhs.test".into(),
        audience: "liaison-api".into(),
        jwks_file: jwks.clone(),
    };
    let h = Harness::start_full(|_| {}, |c| c.oidc = vec![issuer], vec![entry]);
    let sign = |sub: &str| {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("idp-1".into());
        let now = jiff::Timestamp::now().as_second();
        let claims = json!({"iss": "https://idp.dhs.test", "aud": "liaison-api", "sub": sub, "exp": now + 600,
            // Claims about agency or roles are ignored: the principal is looked up.
            "roles": ["oversight"], "agency": "DHS-CRCL"});
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(&der)).unwrap()
    };
    let get = |token: &str, path: &str| {
        let r =
            h.agent.get(format!("{}{path}", h.base)).header("Authorization", format!("Bearer {token}")).call().unwrap();
        (r.status().as_u16(), crate::Harness::answer(r).body)
    };
    assert_eq!(get(&sign("00u1ero"), "/v1/subjects/S-DEMO-0001").0, 200);
    let reads = h.get("oversight", "/v1/audit/events?subject=S-DEMO-0001&type=subject_record_read");
    assert!(reads.body["items"].as_array().unwrap().iter().any(|e| e["event"]["reader"] == "idp-ero-sup"), "{reads:?}");
    // The audit search is the oversight role's, which the token's own claim cannot grant.
    assert_eq!(get(&sign("00u1ero"), "/v1/audit/events").0, 403);
    assert_eq!(get(&sign("someone-else"), "/v1/subjects/S-DEMO-0001").0, 401);
    // One character of the signature changed (well inside it, so no padding bits).
    let mut forged = sign("00u1ero").into_bytes();
    let i = forged.len() - 20;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let (status, body) = get(&forged, "/v1/subjects/S-DEMO-0001");
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthenticated")));
    h.stop_and_verify();
}
