#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Golden files: every `fixtures/email/NAME.eml` parses to `NAME.json`.
//!
//! On a mismatch the test writes `NAME.actual` next to it and fails naming
//! the file; compare the two, fix the parser or, when the new output is the
//! correct one, accept it with `RAPPORT_BLESS=1 cargo test -p rapport-channels --test golden`.

mod parse_support;

use std::fs;

#[test]
fn every_fixture_matches_its_golden_file() {
    let bless = std::env::var("RAPPORT_BLESS").is_ok_and(|value| value == "1");
    let dir = parse_support::fixtures().join("email");
    let mut emls: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "eml"))
        .collect();
    emls.sort();
    assert!(emls.len() >= 30, "expected at least 30 fixtures in {}, found {}", dir.display(), emls.len());

    let mut mismatches = Vec::new();
    for eml in &emls {
        let actual = parse_support::render(&fs::read(eml).unwrap());
        let golden = eml.with_extension("json");
        let actual_path = eml.with_extension("actual");
        if bless {
            fs::write(&golden, &actual).unwrap();
            let _ = fs::remove_file(&actual_path);
            continue;
        }
        match fs::read_to_string(&golden) {
            Ok(expected) if expected == actual => {
                let _ = fs::remove_file(&actual_path);
            }
            Ok(_) => {
                fs::write(&actual_path, &actual).unwrap();
                mismatches.push(format!("{} differs from {}", actual_path.display(), golden.display()));
            }
            Err(_) => {
                fs::write(&actual_path, &actual).unwrap();
                mismatches.push(format!("{} has no golden file {}", eml.display(), golden.display()));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "golden mismatches (RAPPORT_BLESS=1 accepts the .actual output):\n{}",
        mismatches.join("\n")
    );
}
