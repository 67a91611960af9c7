//! Authorization coverage: every endpoint × every role (and no token), with the statuses
//! checked in at `crates/api/tests/coverage.txt`. Refresh with `UPDATE_EXPECT=1`.

use crate::{Harness, ROLES};

/// Every endpoint, with a request that is valid for at least one role.
const ENDPOINTS: &[(&str, &str, &str)] = &[
    ("POST", "/v1/subjects", r#"{"names":["Coverage Person"]}"#),
    ("GET", "/v1/subjects/S-DEMO-0001", ""),
    ("GET", "/v1/subjects/S-DEMO-0002", ""),
    ("GET", "/v1/subjects/S-DEMO-0003", ""),
    ("GET", "/v1/subjects/S-DEMO-0001/custody-chain", ""),
    ("GET", "/v1/subjects/S-DEMO-0002/custody-chain", ""),
    ("GET", "/v1/subjects/S-DEMO-0003/custody-chain", ""),
    ("POST", "/v1/subjects/S-DEMO-0002/releases", r#"{"reason":"coverage","code":"OREC"}"#),
    ("POST", "/v1/subjects/S-DEMO-0003/releases", r#"{"reason":"coverage","code":"OREC"}"#),
    (
        "POST",
        "/v1/subjects/S-DEMO-0003/custody-conflict-resolutions",
        r#"{"custodian":"ICE-ERO-MIA","basis":"coverage"}"#,
    ),
    ("GET", "/v1/custody-conflicts", ""),
    ("POST", "/v1/subjects/S-DEMO-0001/citizenship-claims", r#"{"country":"MX","evidence":["statement_only"]}"#),
    ("POST", "/v1/subjects/S-DEMO-0001/citizenship-determinations", r#"{"us_citizen":true,"basis":"coverage"}"#),
    ("POST", "/v1/subjects/S-DEMO-0001/identity-verifications", r#"{"basis":"coverage"}"#),
    (
        "POST",
        "/v1/encounters",
        r#"{"subject":"S-DEMO-0001","location":{"lat":32.6,"lon":-117.0},"method":"PB","authority":"warrantless_arrest_1357a2","suspicion_factors":["recent_illegal_crossings_in_area"],"arrest":false,"jurisdictions":["CA"]}"#,
    ),
    ("POST", "/v1/bookings", r#"{"subject":"S-DEMO-0002","facility":"F-TX-ANG-JAIL","charge":"test"}"#),
    ("POST", "/v1/handoffs", r#"{"subject":"S-DEMO-0003","receiving_agency":"ICE-ERO-SND"}"#),
    ("POST", "/v1/handoffs/H-DEMO-0001/answer", r#"{"answer":"reject","reason":"coverage"}"#),
    ("GET", "/v1/handoffs/H-DEMO-0001", ""),
    ("GET", "/v1/handoffs/H-DEMO-0003", ""),
    (
        "POST",
        "/v1/detainers",
        r#"{"subject":"S-DEMO-0002","recipient_agency":"TX-ANGELINA-COUNTY-SHERIFFS-OFFICE","notification_only":true,"probable_cause":["pending_removal_proceedings"],"warrant":{"form":"I-200","signed_by":"O-ERO-SND-0001","signed_at":"2026-11-01T10:00:00Z"}}"#,
    ),
    ("POST", "/v1/detainers/D-DEMO-0001/steps", r#"{"step":"serve"}"#),
    ("GET", "/v1/detainers/D-DEMO-0001", ""),
    (
        "POST",
        "/v1/operations",
        r#"{"name":"Coverage","city":"Houston","state":"TX","starts_on":"2026-12-01","participants":[{"agency":"ICE-ERO-SND","headcount":3},{"agency":"ICE-ERO-HOU","headcount":3}]}"#,
    ),
    ("GET", "/v1/operations/OP-NONE", ""),
    ("GET", "/v1/operations/OP-COVERAGE", ""),
    (
        "POST",
        "/v1/encounters",
        r#"{"subject":"S-DEMO-0001","location":{"lat":32.6,"lon":-117.0},"method":"PB","authority":"warrantless_arrest_1357a2","suspicion_factors":["recent_illegal_crossings_in_area"],"arrest":false,"jurisdictions":["CA"],"operation":"OP-COVERAGE"}"#,
    ),
    ("POST", "/v1/operations/OP-COVERAGE/status", r#"{"status":"active"}"#),
    ("POST", "/v1/operations/OP-NONE/status", r#"{"status":"active"}"#),
    ("POST", "/v1/complaints", r#"{"id":"C-COVERAGE","events":[3465],"text":"coverage"}"#),
    ("GET", "/v1/complaints/C-COVERAGE", ""),
    ("GET", "/v1/complaints/C-NONE", ""),
    ("POST", "/v1/complaints/C-COVERAGE/resolution", r#"{"outcome":"unfounded","resolution":"coverage"}"#),
    ("POST", "/v1/complaints/C-COVERAGE/assignment", r#"{"assignee":"coverage"}"#),
    ("POST", "/v1/complaints/C-NONE/assignment", r#"{"assignee":"coverage"}"#),
    ("GET", "/v1/agreements?limit=1", ""),
    (
        "POST",
        "/v1/agreements",
        r#"{"id":"287G-COVERAGE","terms":{"kind":"task_force_mou"},"parties":["ICE-ERO","TX-ANGELINA-COUNTY-SHERIFFS-OFFICE"],"signed_on":"2026-01-01"}"#,
    ),
    ("GET", "/v1/agreements/287G-AK-KODIAK-POLICE-DEPARTMENT-WSO-20200720", ""),
    ("POST", "/v1/agreements/287G-AK-KODIAK-POLICE-DEPARTMENT-WSO-20200720/status", r#"{"status":"removed"}"#),
    ("POST", "/v1/officers", r#"{"id":"O-COVERAGE","name":"Coverage Officer","role":"auditor"}"#),
    ("GET", "/v1/officers/O-FL-COL-0001", ""),
    ("POST", "/v1/officers/O-FL-COL-0001/designations", r#"{"authority":{"source":"cfr287_5"},"scope":"coverage"}"#),
    ("POST", "/v1/officers/O-FL-COL-0001/training", r#"{"course":"coverage","completed_at":"2026-01-01T00:00:00Z"}"#),
    ("GET", "/v1/audit/events?limit=1", ""),
    ("GET", "/v1/ledger/checkpoint", ""),
    ("GET", "/v1/ledger/export?from=3400&limit=10", ""),
    ("GET", "/v1/ledger/proofs/inclusion?seq=0&size=10", ""),
    ("GET", "/v1/ledger/proofs/consistency?old=5&new=10", ""),
    ("GET", "/healthz", ""),
    ("GET", "/readyz", ""),
    ("GET", "/metrics", ""),
    ("GET", "/openapi.json", ""),
];

/// How each demo role stands to each demo subject (the relation dimension of the file).
const RELATIONS: &str = "\
# relations: S-DEMO-0001 was arrested by Border Patrol San Diego (field_officer: own) and handed
#   to ICE ERO San Diego (supervisor: own, its custodian); other agencies' record for the rest.
# S-DEMO-0002 was booked by the Angelina County jail (jail_staff: own) and named in ICE ERO
#   Houston's detainer to it (jail_staff: named in a detainer it received); other agencies'
#   record for field_officer, supervisor (ERO San Diego) and officer_287g.
# S-DEMO-0003 went from the Collier County 287(g) jail (officer_287g: own) to ICE ERO Miami;
#   other agencies' record for the rest.
# OP-COVERAGE is ICE ERO San Diego's active operation in San Diego (supervisor: in my
#   operation); Border Patrol, which may know S-DEMO-0001, takes no part (field_officer:
#   another agency's operation, so it may neither read it nor attach an encounter to it).
# C-COVERAGE is Border Patrol's complaint about event 3465 (S-DEMO-0001's handoff acceptance):
#   known to Border Patrol and oversight; only oversight assigns and resolves it.
# oversight reads everything and writes only its handling of complaints; administrator keeps
#   the registry only.
";

#[test]
fn every_endpoint_for_every_role() {
    let h = Harness::start();
    let op = h.post(
        "supervisor",
        "/v1/operations",
        serde_json::json!({"id": "OP-COVERAGE", "name": "Coverage", "city": "San Diego", "state": "CA",
            "starts_on": "2026-11-01", "participants": [{"agency": "ICE-ERO-SND", "headcount": 4}]}),
    );
    assert_eq!(op.status, 201, "{op:?}");
    let act = h.post("supervisor", "/v1/operations/OP-COVERAGE/status", serde_json::json!({"status": "active"}));
    assert_eq!(act.status, 201, "{act:?}");
    let mut out = String::from("# status by role; `none` sends no token. Refresh: UPDATE_EXPECT=1 cargo test -p api\n");
    out.push_str(RELATIONS);
    // What each role may know of the demo subjects, to check that no refusal names the others.
    let subjects = ["S-DEMO-0001", "S-DEMO-0002", "S-DEMO-0003"];
    let hidden: Vec<(&str, Vec<&str>)> = ROLES
        .iter()
        .map(|r| {
            (*r, subjects.iter().copied().filter(|s| h.get(r, &format!("/v1/subjects/{s}")).status == 404).collect())
        })
        .collect();
    let who: Vec<&str> = ROLES.iter().copied().chain(["none"]).collect();
    let request_names = |body: &str, s: &str| body.contains(s);
    for (method, path, body) in ENDPOINTS {
        let body_sent: &str = body;
        out.push_str(&format!("{method} {path}\n "));
        for role in &who {
            let a = if *method == "POST" {
                h.post_raw(role, path, body.as_bytes(), &[("Content-Type", "application/json")])
            } else {
                h.get(role, path)
            };
            assert!(a.status < 500, "{method} {path} as {role}: {a:?}");
            // Oversight writes nothing but its handling of complaints (and its own complaints).
            if *role == "oversight" && *method == "POST" && !path.starts_with("/v1/complaints") {
                assert!(a.status >= 400, "oversight is read-only: {method} {path}");
            }
            if a.status >= 400 {
                assert_eq!(a.content_type, "application/problem+json", "{method} {path} as {role}");
                // A refusal never names a subject the caller may not know exists, nor who
                // holds one (the same 404 as for a record that does not exist).
                let unseen = hidden.iter().find(|(r, _)| r == role).map(|(_, v)| v.as_slice()).unwrap_or(&[]);
                let body = a.body.to_string();
                // (A 404 may echo the id the request itself named.)
                for s in unseen.iter().filter(|s| !path.contains(*s) && !request_names(body_sent, s)) {
                    assert!(!body.contains(s), "{method} {path} as {role} names {s}: {body}");
                }
                if a.status == 404 {
                    assert_eq!(a.body["code"], "not_found", "{method} {path} as {role}");
                }
            }
            let code = a.body.get("code").and_then(|c| c.as_str()).map(|c| format!(":{c}")).unwrap_or_default();
            out.push_str(&format!(" {role}={}{code}", a.status));
        }
        out.push('\n');
    }
    expect_test::expect_file!["../coverage.txt"].assert_eq(&out);
    h.stop_and_verify();
}

#[test]
fn the_checked_in_openapi_document_is_the_generated_one() {
    expect_test::expect_file!["../../../../docs/openapi.json"].assert_eq(&api::openapi());
    let doc: serde_json::Value = serde_json::from_str(&api::openapi()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    // An event search filtered by a subject nobody may know of answers 404 (found by the long
    // contract run: the status was undocumented).
    let h = Harness::start();
    assert_eq!(h.get("oversight", "/v1/audit/events?subject=S-NOBODY").status, 404);
    assert!(doc["paths"]["/v1/audit/events"]["get"]["responses"]["404"].is_object());
    h.stop_and_verify();
    // Every route the router serves under /v1 is documented.
    for (_, path, _) in ENDPOINTS.iter().filter(|e| e.1.starts_with("/v1") || e.1.ends_with("z")) {
        let p = path.split('?').next().unwrap();
        let documented = doc["paths"].as_object().unwrap().keys().any(|k| {
            let ks: Vec<&str> = k.split('/').collect();
            let ps: Vec<&str> = p.split('/').collect();
            ks.len() == ps.len() && ks.iter().zip(&ps).all(|(a, b)| a.starts_with('{') || a == b)
        });
        assert!(documented, "{p} is not in the OpenAPI document");
    }
}
