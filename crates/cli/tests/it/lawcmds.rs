//! `liaison policy` and `liaison law` from the command line, and decisions recorded with
//! events that replay under their own rules after the rules change.

use super::{demo_store, liaison, s, stderr, stdout};
use domain::{Event, Timestamp};
use law::{Action, Context, Law, OwnedSources};
use store::{NewEvent, SqliteStore, Store};

#[test]
fn the_scenario_suite_passes_from_the_command_line() {
    let dir = super::repo_path("scenarios");
    let mut files: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path().display().to_string()).collect();
    files.sort();
    let mut args = vec!["law", "check"];
    args.extend(files.iter().map(String::as_str));
    let o = liaison(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.as_array().unwrap().len() >= 60);
}

#[test]
fn malformed_scenarios_and_coordinates_get_clear_errors() {
    let d = tempfile::tempdir().unwrap();
    let bad = d.path().join("bad.toml");
    std::fs::write(&bad, "[agency]\nid = \"X\"\nname = \"x\"\nkind = \"sheriff\"\n").unwrap();
    let o = liaison(&["law", "check", s(&bad)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("bad.toml") && stderr(&o).contains("unknown variant `sheriff`"), "{}", stderr(&o));
    let o = liaison(&["law", "zone", "--lat", "95", "--lon", "10"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("latitude"), "{}", stderr(&o));
    let o = liaison(&["law", "zone", "--lat", "31.76", "--lon", "-106.48"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("(land_border_mexico)"), "{}", stdout(&o));
}

#[test]
fn policy_validate_refuses_a_broken_policy_folder() {
    let o = liaison(&["policy", "validate"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("schema.cedarschema"), law::SCHEMA).unwrap();
    std::fs::write(d.path().join("authority.cedar"), law::POLICIES.replace("context.in_jail", "context.in_prison"))
        .unwrap();
    let o = liaison(&["policy", "validate", "--dir", s(d.path())]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("validation failed"), "{}", stderr(&o));
}

#[test]
fn demo_decisions_replay_identically() {
    let (_d, db) = demo_store();
    for seq in ["3463", "3467", "3470", "3473"] {
        let o = liaison(&["--json", "policy", "explain", "--db", s(&db), "--event", seq]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["identical"], true);
    }
    let o = liaison(&["policy", "explain", "--db", s(&db), "--event", "5"]);
    assert!(stderr(&o).contains("carries no legal decision"), "{}", stderr(&o));
}

#[test]
fn a_past_decision_replays_under_its_own_rules_after_the_rules_change() {
    let (_d, db) = demo_store();
    // Yesterday's rules: Texas forbade holds (a made-up change, for the test).
    let mut old = OwnedSources::bundled();
    old.jurisdictions = old.jurisdictions.replace(
        "id = \"TX-CCP-2.251-honor-detainers\"\naction = \"hold_on_detainer\"\neffect = \"require\"",
        "id = \"TX-CCP-2.251-honor-detainers\"\naction = \"hold_on_detainer\"\neffect = \"deny\"",
    );
    let old_law = Law::load(&old.as_sources()).unwrap();
    assert_ne!(old_law.rules_hash, Law::bundled().rules_hash);
    let mut store = SqliteStore::open(&db).unwrap();
    store.put_law_version(&old_law.rules_hash, &serde_json::to_string(&old).unwrap()).unwrap();
    let now: Timestamp = "2026-03-05T12:00:00Z".parse().unwrap();
    let ctx = Context { jurisdictions: vec!["TX".into()], actor_has_custody: Some(true), ..Context::default() };
    let inputs = law::Inputs {
        officer: match store.record(&domain::RecordKey::new(domain::RecordKind::Officer, "O-TX-ANG-0001")).unwrap() {
            Some(domain::Record::Officer(o)) => o,
            _ => panic!("demo officer"),
        },
        agency: match store
            .record(&domain::RecordKey::new(domain::RecordKind::Agency, "TX-ANGELINA-COUNTY-SHERIFFS-OFFICE"))
            .unwrap()
        {
            Some(domain::Record::Agency(a)) => a,
            _ => panic!("demo agency"),
        },
        agreements: vec![],
        action: Action::NotifyRelease,
        context: ctx,
        now,
    };
    let (_, rec) = old_law.record(inputs);
    let mut ev = NewEvent::new(now, "O-TX-ANG-0001", Event::ValidTimeCorrected { note: "decision carrier".into() });
    ev.corrects = Some(3470);
    ev.decision = Some(serde_json::to_value(&rec).unwrap());
    let r = store.append(&[ev], None, Timestamp::now()).unwrap();
    let o = liaison(&["--json", "policy", "explain", "--db", s(&db), "--event", &r.first_seq.to_string()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["identical"], true);
    assert_eq!(v["replayed"]["rules_hash"], old_law.rules_hash);
    assert_ne!(v["today"]["rules_hash"], old_law.rules_hash);
}
