//! trybuild UI tests: every message the macros emit
//! (`tests/ui/<macro>/fail/*.rs`, one case per message, named after the
//! mistake, with its `.stderr`). Only failing cases live here: trybuild then
//! only checks its project, with no code generation or linking. The
//! expansions that must compile and run are ordinary tests (`tests/expand`).
//!
//! The `.stderr` files hold rustc's exact output, which changes between
//! releases: they were written with rustc 1.95. With another compiler the
//! tests are skipped with a message, except in CI (`CI=true`), where they
//! fail. Regenerate them with
//! `TRYBUILD=overwrite cargo test --workspace --test ui`.

use std::io::Write as _;
use std::process::Command;

/// The compiler the `.stderr` files were written with.
const PINNED: &str = "1.95.";

/// Whether this is the pinned compiler; outside CI, says why it skips.
fn pinned_compiler(what: &str) -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = Command::new(&rustc)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|e| format!("`{rustc} --version` failed: {e}"));
    if version.starts_with(&format!("rustc {PINNED}")) {
        return true;
    }
    let why =
        format!("the UI tests' .stderr files were written with rustc {PINNED}x; this is {version}");
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
    // Straight to stderr: the harness would swallow `eprintln!` of a passing test.
    let _ = writeln!(std::io::stderr(), "skipping the UI tests of {what}: {why}");
    false
}

/// Every macro's failing cases, in one trybuild project: one check of them all.
#[test]
fn ui() {
    if !pinned_compiler("the macros") {
        return;
    }
    let t = trybuild::TestCases::new();
    for dir in [
        "after_authentication",
        "api",
        "auth_handler",
        "auth_handler_config",
        "before_authentication",
        "permission",
        "requires",
        "resource",
    ] {
        t.compile_fail(format!("tests/ui/{dir}/fail/*.rs"));
    }
}
