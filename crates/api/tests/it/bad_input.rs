//! Bad input always gets a 4xx problem+json naming what was wrong, never a 5xx, and never
//! writes anything.

use crate::Harness;

#[test]
fn bad_input_gets_a_problem_and_writes_nothing() {
    let h = Harness::start();
    let json = [("Content-Type", "application/json")];
    let long_key = "k".repeat(101);
    let big = format!(r#"{{"names":["{}"]}}"#, "x".repeat(100_000));
    type Case<'a> = (&'a str, &'a str, String, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        ("malformed JSON", "/v1/subjects", r#"{"names": ["#.into(), json.to_vec(), "malformed_json"),
        ("not JSON at all", "/v1/subjects", "names=x".into(), json.to_vec(), "malformed_json"),
        ("unknown field", "/v1/subjects", r#"{"names":["X"],"nickname":"Y"}"#.into(), json.to_vec(), "invalid_body"),
        ("wrong type", "/v1/subjects", r#"{"names":"X"}"#.into(), json.to_vec(), "invalid_body"),
        ("missing field", "/v1/subjects", r#"{}"#.into(), json.to_vec(), "invalid_body"),
        ("impossible date", "/v1/subjects", r#"{"names":["X"],"date_of_birth":"2026-02-30"}"#.into(), json.to_vec(), "invalid_body"),
        ("bad A-number", "/v1/subjects", r#"{"names":["X"],"a_number":"A12"}"#.into(), json.to_vec(), "invalid_body"),
        ("bad id characters", "/v1/subjects", r#"{"id":"S 1","names":["X"]}"#.into(), json.to_vec(), "invalid_body"),
        ("empty names", "/v1/subjects", r#"{"names":[" "]}"#.into(), json.to_vec(), "invalid_request"),
        ("oversized body", "/v1/subjects", big, json.to_vec(), "body_too_large"),
        ("no content type", "/v1/subjects", r#"{"names":["X"]}"#.into(), vec![], "unsupported_media_type"),
        ("long idempotency key", "/v1/subjects", r#"{"names":["X"]}"#.into(), vec![("Content-Type", "application/json"), ("Idempotency-Key", long_key.as_str())], "invalid_idempotency_key"),
        ("latitude out of range", "/v1/encounters", r#"{"subject":"S-DEMO-0001","location":{"lat":200,"lon":0},"method":"PB","authority":"warrantless_arrest_1357a2","arrest":true,"jurisdictions":["CA"]}"#.into(), json.to_vec(), "invalid_body"),
        ("unknown method code", "/v1/encounters", r#"{"subject":"S-DEMO-0001","location":{"lat":32,"lon":-117},"method":"ZZ","authority":"warrantless_arrest_1357a2","arrest":true,"jurisdictions":["CA"]}"#.into(), json.to_vec(), "invalid_body"),
        ("unknown subject", "/v1/encounters", r#"{"subject":"S-NOBODY","location":{"lat":32.6,"lon":-117},"method":"PB","authority":"warrantless_arrest_1357a2","arrest":true,"jurisdictions":["CA"]}"#.into(), json.to_vec(), "not_found"),
        ("unknown receiving agency", "/v1/handoffs", r#"{"subject":"S-DEMO-0001","receiving_agency":"NO-SUCH-AGENCY"}"#.into(), json.to_vec(), "not_found"),
        ("zero-second offer", "/v1/handoffs", r#"{"subject":"S-DEMO-0001","receiving_agency":"USBP-SAN-DIEGO","expires_in_seconds":0}"#.into(), json.to_vec(), "invalid_request"),
        ("negative headcount", "/v1/operations", r#"{"name":"x","city":"y","state":"CA","starts_on":"2026-12-01","participants":[{"agency":"ICE-ERO-SND","headcount":-1}]}"#.into(), json.to_vec(), "invalid_body"),
        ("unknown detainer", "/v1/detainers/D-NONE/steps", r#"{"step":"serve"}"#.into(), json.to_vec(), "not_found"),
        ("unknown step", "/v1/detainers/D-DEMO-0001/steps", r#"{"step":"shred"}"#.into(), json.to_vec(), "invalid_body"),
        ("unknown handoff", "/v1/handoffs/H-NONE/answer", r#"{"answer":"accept"}"#.into(), json.to_vec(), "not_found"),
        ("bad path id", "/v1/handoffs/H%20X/answer", r#"{"answer":"accept"}"#.into(), json.to_vec(), "invalid_id"),
        ("verification of nobody", "/v1/subjects/S-NOBODY/identity-verifications", r#"{"basis":"x"}"#.into(), json.to_vec(), "not_found"),
        ("determination without basis", "/v1/subjects/S-DEMO-0001/citizenship-determinations", r#"{"us_citizen":true}"#.into(), json.to_vec(), "invalid_body"),
        ("unknown agreement kind", "/v1/agreements", r#"{"id":"A-X","terms":{"kind":"handshake"},"parties":["ICE-ERO","USBP-SAN-DIEGO"],"signed_on":"2026-01-01"}"#.into(), json.to_vec(), "invalid_body"),
        ("one-party agreement", "/v1/agreements", r#"{"id":"A-X","terms":{"kind":"task_force_mou"},"parties":["ICE-ERO"],"signed_on":"2026-01-01"}"#.into(), json.to_vec(), "invalid_request"),
        ("impossible signing date", "/v1/agreements", r#"{"id":"A-X","terms":{"kind":"task_force_mou"},"parties":["ICE-ERO","USBP-SAN-DIEGO"],"signed_on":"2026-13-01"}"#.into(), json.to_vec(), "invalid_body"),
        ("training for nobody", "/v1/officers/O-NOBODY/training", r#"{"course":"x","completed_at":"2026-01-01T00:00:00Z"}"#.into(), json.to_vec(), "not_found"),
        ("unknown operation status", "/v1/operations/OP-NONE/status", r#"{"status":"paused"}"#.into(), json.to_vec(), "invalid_body"),
    ];
    let size = h.log_size();
    for (what, path, body, headers, code) in &cases {
        let supervised = ["/v1/handoffs/", "/v1/detainers/", "/v1/operations", "/v1/subjects/S-"];
        let administered = ["/v1/agreements", "/v1/officers"];
        let role = if supervised.iter().any(|p| path.starts_with(p)) {
            "supervisor"
        } else if administered.iter().any(|p| path.starts_with(p)) {
            "administrator"
        } else {
            "field_officer"
        };
        let a = h.post_raw(role, path, body.as_bytes(), headers);
        assert!((400..500).contains(&a.status), "{what}: {a:?}");
        assert_eq!(a.content_type, "application/problem+json", "{what}");
        assert_eq!(a.body["code"].as_str(), Some(*code), "{what}: {a:?}");
        assert!(!a.body["detail"].as_str().unwrap().is_empty(), "{what}");
    }
    let gets: Vec<(&str, &str, u16, &str)> = vec![
        ("field_officer", "/v1/agreements?limit=abc", 400, "invalid_query"),
        ("field_officer", "/v1/agreements?limit=0", 400, "invalid_query"),
        ("field_officer", "/v1/agreements?colour=red", 400, "invalid_query"),
        ("field_officer", "/v1/subjects/S-NOBODY", 404, "not_found"),
        ("field_officer", "/v1/subjects/bad%20id", 400, "invalid_id"),
        ("oversight", "/v1/ledger/proofs/inclusion?seq=99999999&size=100000000", 422, "invalid_request"),
        ("oversight", "/v1/ledger/proofs/consistency?old=10&new=5", 422, "invalid_request"),
        ("oversight", "/v1/subjects/S-DEMO-0001/custody-chain?as_of=yesterday", 400, "invalid_query"),
        ("field_officer", "/v1/audit/events", 403, "forbidden"),
        ("nobody", "/v1/agreements", 401, "unauthenticated"),
        ("field_officer", "/v1/nowhere", 404, "no_route"),
    ];
    for (role, path, status, code) in gets {
        let a = h.get(role, path);
        assert_eq!((a.status, a.body["code"].as_str()), (status, Some(code)), "{path}: {a:?}");
        assert_eq!(a.content_type, "application/problem+json", "{path}");
    }
    let mut forged = h.tokens["field_officer"].clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    let mut req_tokens = h.tokens.clone();
    req_tokens.insert("field_officer", forged);
    let bad = Harness { tokens: req_tokens, ..h };
    assert_eq!(bad.get("field_officer", "/v1/agreements").status, 401);
    let wrong_method = bad.post("oversight", "/v1/ledger/checkpoint", serde_json::json!({}));
    assert_eq!(wrong_method.status, 405);
    assert_eq!(bad.log_size(), size, "bad input wrote nothing");
    bad.stop_and_verify();
}

#[test]
fn a_principal_without_roles_is_refused_so_none_can_pass_for_the_server() {
    let mut p = api::auth::demo_principals().remove(0);
    p.id = "liaison".into();
    p.roles.clear();
    let (_, entry) = api::auth::issue(p);
    let err = api::auth::Tokens::new(vec![entry]).err().expect("refused");
    assert!(err.to_string().contains("no roles"), "{err}");
}
