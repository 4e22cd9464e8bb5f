//! SECURITY-CHECKLIST.md names, for each requirement met, the tests that prove it as
//! `path::test_name`. This keeps those names true: each file must exist and define that test.

use std::path::Path;

#[test]
fn every_test_the_security_checklist_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let checklist = std::fs::read_to_string(root.join("SECURITY-CHECKLIST.md")).expect("SECURITY-CHECKLIST.md");
    let mut named = 0;
    for reference in checklist.split('`').skip(1).step_by(2) {
        let Some((path, test)) = reference.split_once("::") else { continue };
        if !path.ends_with(".rs") {
            continue;
        }
        let source = std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        let defined = source.contains(&format!("fn {test}(")) || source.contains(&format!("    {test},"));
        assert!(defined, "SECURITY-CHECKLIST.md names `{reference}`, which {path} does not define");
        named += 1;
    }
    assert!(named >= 40, "only {named} test references found: has the checklist's format changed?");
}

#[test]
fn every_requirement_has_a_status() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let checklist = std::fs::read_to_string(root.join("SECURITY-CHECKLIST.md")).expect("SECURITY-CHECKLIST.md");
    for row in checklist.lines().filter(|l| l.starts_with("| ") && l.as_bytes().get(2).is_some_and(u8::is_ascii_digit))
    {
        let cells: Vec<&str> = row.split(" | ").collect();
        assert!(cells.len() >= 5, "a malformed row: {row}");
        assert!(["met", "partly", "not met", "n/a"].contains(&cells[3]), "unknown status in: {row}");
        assert!(cells[4].trim_end_matches(" |").len() > 5, "no proof or reason in: {row}");
    }
}
