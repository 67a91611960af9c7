//! Snapshot tests of the reports on fixed inputs (the shipped reference files).

/// Snapshot of the report on the shipped files: a change to any figure, source or note
/// shows up here (regenerate with LIAISON_BLESS=1 and review the diff).
#[test]
fn public_report_snapshot() {
    let r = reports::public::report(&reports::public::PublicInputs::bundled().unwrap());
    let got = reports::render::json(&r);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/public.json");
    if std::env::var_os("LIAISON_BLESS").is_some() {
        std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
        std::fs::write(path, &got).unwrap();
    }
    let want = std::fs::read_to_string(path).expect("snapshot exists (LIAISON_BLESS=1 to write it)");
    assert!(got == want, "the public report changed; rerun with LIAISON_BLESS=1 and review the diff");
}
