//! trybuild UI tests: every message the macros emit, and expansions that
//! must compile (`tests/ui/<macro>/{pass,fail}/*.rs`, one `fail` case per
//! message, named after the mistake, with its `.stderr`).
//!
//! The `.stderr` files hold rustc's exact output, which changes between
//! releases: they were written with rustc 1.95. With another compiler the
//! tests are skipped with a message, except in CI (`CI=true`), where they
//! fail. Regenerate them with
//! `TRYBUILD=overwrite cargo test -p auth-macros --test ui`.

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

/// The derives, the handler and hook attributes, and hygiene.
#[test]
fn ui() {
    if !pinned_compiler("the derives and handler attributes") {
        return;
    }
    let t = trybuild::TestCases::new();
    for dir in [
        "after_authentication",
        "auth_handler",
        "auth_handler_config",
        "before_authentication",
        "hygiene",
        "permission",
        "resource",
    ] {
        t.pass(format!("tests/ui/{dir}/pass/*.rs"));
        if std::path::Path::new(&format!("tests/ui/{dir}/fail")).is_dir() {
            t.compile_fail(format!("tests/ui/{dir}/fail/*.rs"));
        }
    }
}

/// `#[requires]` and `#[auth_poem::api]`.
#[test]
fn ui_requires_and_api() {
    if !pinned_compiler("#[requires] and #[auth_poem::api]") {
        return;
    }
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/requires/pass/*.rs");
    t.compile_fail("tests/ui/requires/fail/*.rs");
    t.pass("tests/ui/api/pass/*.rs");
    t.compile_fail("tests/ui/api/fail/*.rs");
}
