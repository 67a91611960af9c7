//! The README's tour runs as written: every line of its `sh` block, in order, in a fresh
//! directory, with `liaison` the binary under test. Lines that need a PostgreSQL server, run
//! until Ctrl-C (`serve`) or name alternatives (`bench a|b`) are the ones the README says the
//! test leaves out, and only those.

use crate::{repo_path, s};
use std::process::Command;

#[test]
fn the_readme_tour_runs_as_written() {
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    let tour = readme.split("## A short tour").nth(1).expect("a tour section");
    let block = tour.split("```sh\n").nth(1).and_then(|b| b.split("```").next()).expect("a sh block");
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(repo_path("scenarios"), dir.path().join("scenarios")).unwrap();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_liaison"));
    let path = format!("{}:{}", s(bin.parent().unwrap()), std::env::var("PATH").unwrap_or_default());
    let (mut ran, mut left) = (0, vec![]);
    for line in block.lines().filter(|l| l.starts_with("liaison ")) {
        if line.contains("--pg ") || line.starts_with("liaison serve ") || line.starts_with("liaison bench ") {
            left.push(line);
            continue;
        }
        let o = Command::new("sh").arg("-c").arg(line).current_dir(dir.path()).env("PATH", &path).output().unwrap();
        assert!(
            o.status.success(),
            "{line}\nexit {:?}\n{}{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        ran += 1;
    }
    assert_eq!(left.len(), 3, "only the three lines the README names are left out: {left:?}");
    assert!(ran >= 20, "{ran}");
}

/// `--json` keeps its word on usage errors too, and enums print as people write them.
#[test]
fn json_usage_errors_and_enum_spellings() {
    let o = crate::liaison(&["--json", "log", "--db"]);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("pure JSON on stdout");
    assert!(v["error"].as_str().unwrap().contains("--db"), "{v}");
    // An argument that is not UTF-8 is a usage error too, not a panic.
    use std::os::unix::ffi::OsStrExt;
    let o = Command::new(env!("CARGO_BIN_EXE_liaison"))
        .args(["log", "--subject"])
        .arg(std::ffi::OsStr::from_bytes(b"S-\xff"))
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", crate::stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("pure JSON on stdout");
    assert!(v["error"].as_str().unwrap().contains("UTF-8"), "{v}");
    let o = crate::liaison(&["law", "check", s(&repo_path("scenarios/border-patrol.toml"))]);
    let summary = crate::stderr(&o);
    assert!(summary.contains(" as expected, 0 not"), "{summary}");
    serde_json::from_slice::<serde_json::Value>(&o.stdout).expect("stdout stays one JSON document");
    let (_d, db) = crate::demo_store();
    let o = crate::liaison(&["policy", "explain", "--db", s(&db), "--event", "3470"]);
    let text = crate::stdout(&o);
    assert!(text.contains("recorded: allow") && !text.contains("Allow"), "{text}");
}

/// `liaison token` names records of the store it will serve: an unknown agency, or an officer
/// of another agency, is refused; `--db` takes the store as `serve` does.
#[test]
fn token_checks_the_principal_against_the_store() {
    let (d, db) = crate::demo_store();
    let tokens = d.path().join("t.json");
    let url = format!("sqlite://{}", s(&db));
    let ok = crate::liaison(&[
        "token",
        "--db",
        &url,
        "--tokens",
        s(&tokens),
        "--id",
        "a-1",
        "--agency",
        "ICE-ERO-SND",
        "--role",
        "oversight",
    ]);
    assert!(ok.status.success(), "{}", crate::stderr(&ok));
    assert!(crate::stdout(&ok).starts_with("lsn_a-1_"));
    assert!(std::fs::read_to_string(&tokens).unwrap().contains("$argon2id$"));
    let bad = crate::liaison(&[
        "token",
        "--db",
        s(&db),
        "--tokens",
        s(&tokens),
        "--id",
        "a-2",
        "--agency",
        "NOPE",
        "--role",
        "oversight",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(crate::stderr(&bad).contains("no agency NOPE"), "{}", crate::stderr(&bad));
    let other = crate::liaison(&[
        "token",
        "--db",
        s(&db),
        "--tokens",
        s(&tokens),
        "--id",
        "a-3",
        "--agency",
        "ICE-ERO-SND",
        "--officer",
        "O-USBP-0001",
        "--role",
        "field_officer",
    ]);
    assert_eq!(other.status.code(), Some(1));
    assert!(crate::stderr(&other).contains("is of USBP-SAN-DIEGO"), "{}", crate::stderr(&other));
}
