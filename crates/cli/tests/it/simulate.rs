//! `liaison simulate` from the command line: the same seed writes the same bytes, the monthly
//! series is in ICE's names, and bad scenarios and what-ifs are refused with what was wrong.

use crate::{liaison, s, stderr};

#[test]
fn same_seed_writes_the_same_files() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    for out in [&a, &b] {
        let o = liaison(&[
            "simulate",
            "--scenario",
            "seeds-2025",
            "--days",
            "90",
            "--runs",
            "2",
            "--seed",
            "5",
            "--out",
            s(out),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    for f in ["monthly.csv", "aor_monthly.csv", "daily.csv", "series.json", "summary.txt", "report.html"] {
        let (x, y) = (std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap());
        assert!(x == y, "{f} differs between two runs with the same seed");
    }
    let monthly = std::fs::read_to_string(a.join("monthly.csv")).unwrap();
    assert!(monthly.starts_with("period,metric,arresting_agency,value,p05,p95\n"), "{monthly}");
    assert!(monthly.lines().any(|l| l.starts_with("2024-12,initial_book_ins,CBP,")));
    let html = std::fs::read_to_string(a.join("report.html")).unwrap();
    assert!(html.contains("<svg") && !html.contains("<script"), "an offline report with SVG charts");
    assert!(html.contains("Can ICE reach 3,000 arrests a day"));
}

#[test]
fn bad_scenarios_and_what_ifs_say_what_was_wrong() {
    let o = liaison(&["simulate", "--scenario", "nope", "--days", "5"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("neither a bundled scenario"), "{}", stderr(&o));
    let o = liaison(&["simulate", "--scenario", "seeds-2025", "--set", "beds=-5"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("beds = -5 is outside"), "{}", stderr(&o));
    let o = liaison(&["simulate", "--scenario", "seeds-2025", "--days", "0"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--days 0"), "{}", stderr(&o));
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("s.toml");
    std::fs::write(&f, "[scenario]\nname = 1\n").unwrap();
    let o = liaison(&["simulate", "--scenario", s(&f)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("s.toml"), "{}", stderr(&o));
}

#[test]
fn into_replays_simulated_people_through_the_law_and_the_store_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sim.db");
    let run = || {
        let o = liaison(&[
            "--json",
            "simulate",
            "--scenario",
            "seeds-2025",
            "--from",
            "2026-03-03",
            "--days",
            "14",
            "--no-answers",
            "--into",
            s(&db),
            "--people",
            "60",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["into"]["replayed"].clone()
    };
    // A new store gets the reference data and the demo's cast, then the replay.
    let first = run();
    assert!(first["people"].as_u64().unwrap() >= 30, "{first}");
    let sent = first["commands"].as_u64().unwrap();
    let outcomes = first["allowed"].as_u64().unwrap()
        + first["flagged"].as_u64().unwrap()
        + first["denied"].as_u64().unwrap()
        + first["refused"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum::<u64>();
    assert_eq!(outcomes, sent, "{first}");
    let after_first = super::events_of(&db);
    // A second replay into the same store adds its own people (no id collides).
    let second = run();
    assert_eq!(second["refused"].as_object().unwrap().get("already_exists"), None, "{second}");
    assert!(super::events_of(&db) > after_first);
    // Every flow reached the law: arrests, bookings, detainers and their answers, handoffs.
    for c in ["record_encounter", "book_into_jail", "issue_detainer", "update_detainer"] {
        assert!(first["by_command"][c][0].as_u64().unwrap() > 0, "no {c} in {first}");
    }
}

#[test]
fn into_a_path_that_cannot_be_created_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("no-such-dir").join("sim.db");
    let o = liaison(&["simulate", "--scenario", "seeds-2025", "--days", "3", "--no-answers", "--into", s(&db)]);
    assert_ne!(o.status.code(), Some(0));
    assert!(!db.exists());
    let o = liaison(&["simulate", "--scenario", "seeds-2025", "--days", "3", "--people", "5"]);
    assert_ne!(o.status.code(), Some(0), "--people without --into is refused");
}
