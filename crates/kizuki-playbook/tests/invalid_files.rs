//! Data-driven error tests: every `tests/invalid/<case>.yml` must fail to parse with exactly the
//! text in `tests/invalid/<case>.expected` (one error per line: file:line:column: path: message).
//!
//! Run with `KIZUKI_BLESS=1` to (re)write the expected files after reviewing the output.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

#[test]
fn every_invalid_file_fails_with_the_expected_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid");
    let bless = std::env::var_os("KIZUKI_BLESS").is_some();
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 15,
        "expected the invalid corpus, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for path in &cases {
        let name = path.file_name().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        let actual = match kizuki_playbook::parse(name, &text) {
            Ok(_) => "<parsed without error>".to_string(),
            Err(e) => e.to_string(),
        };
        let expected_path = path.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, format!("{actual}\n")).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("missing {}", expected_path.display()));
        if expected.trim_end() != actual {
            failures.push(format!(
                "{name}\n  expected: {}\n  actual:   {actual}",
                expected.trim_end()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
