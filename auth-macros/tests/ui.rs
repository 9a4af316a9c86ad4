//! trybuild UI tests: every message the macros emit, and expansions that
//! must compile (`tests/ui/<macro>/{pass,fail}/*.rs`).
//!
//! The `.stderr` files hold rustc's exact output, which changes between
//! releases: they were written with rustc 1.95. With another compiler the
//! test is skipped with a message, except in CI (`CI=true`), where it fails.

use std::io::Write as _;
use std::process::Command;

/// The compiler the `.stderr` files were written with.
const PINNED: &str = "1.95.";

#[test]
fn ui() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = Command::new(&rustc)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|e| format!("`{rustc} --version` failed: {e}"));
    if !version.starts_with(&format!("rustc {PINNED}")) {
        let why = format!(
            "the UI tests' .stderr files were written with rustc {PINNED}x; this is {version}"
        );
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
        // Straight to stderr: the harness would swallow `eprintln!` of a passing test.
        let _ = writeln!(std::io::stderr(), "skipping the UI tests: {why}");
        return;
    }
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/*/pass/*.rs");
    t.compile_fail("tests/ui/*/fail/*.rs");
}
