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
