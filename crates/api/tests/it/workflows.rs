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
    let s = new_subject(&h, "jail_staff", "S-T-DET");
    let b = h.post(
        "jail_staff",
        "/v1/bookings",
        json!({"subject": s, "facility": "F-TX-ANG-JAIL", "charge": "Tex. Penal Code 49.04"}),
    );
    assert_eq!(b.status, 201, "{b:?}");
    let issue = json!({
        "id": "D-T-1", "subject": s, "recipient_agency": "TX-ANGELINA-COUNTY-SHERIFFS-OFFICE",
        "warrant": {"form": "I-200", "signed_by": "O-ERO-SND-0001", "signed_at": "2026-11-01T10:00:00Z"},
        "probable_cause": ["pending_removal_proceedings"]
    });
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
fn a_citizenship_claim_blocks_a_detainer_until_decided() {
    let h = Harness::start();
    let s = new_subject(&h, "jail_staff", "S-T-CIT");
    h.post(
        "jail_staff",
        "/v1/bookings",
        json!({"subject": s, "facility": "F-TX-ANG-JAIL", "charge": "Tex. Penal Code 49.04"}),
    );
    let c = h.post(
        "jail_staff",
        &format!("/v1/subjects/{s}/citizenship-claims"),
        json!({"country": "US", "evidence": ["birth_record"]}),
    );
    assert_eq!(c.status, 201, "{c:?}");
    let d = h.post(
        "supervisor",
        "/v1/detainers",
        json!({
            "subject": s, "recipient_agency": "TX-ANGELINA-COUNTY-SHERIFFS-OFFICE",
            "warrant": {"form": "I-200", "signed_by": "O-ERO-SND-0001", "signed_at": "2026-11-01T10:00:00Z"},
            "probable_cause": ["pending_removal_proceedings"]
        }),
    );
    assert_eq!(d.status, 403, "{d:?}");
    assert_eq!(d.body["code"], "denied_by_law");
    assert!(d.body["detail"].as_str().unwrap().contains("citizenship"), "{d:?}");
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
