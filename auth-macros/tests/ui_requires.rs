//! Compile-time tests of `#[requires]` and `#[auth_poem::api]`: what
//! compiles (`pass/`) and the message of every mistake (`fail/`, one case
//! per message, named after the mistake, with its `.stderr`).
//!
//! The `.stderr` files are written with rustc 1.95: compiler messages
//! change between releases, so with another compiler the test skips (and
//! fails in CI, where `CI=true`). Regenerate them with
//! `TRYBUILD=overwrite cargo test -p auth-macros --test ui_requires`.

use std::process::Command;

/// The compiler release the `.stderr` files were written with.
const PINNED: &str = "rustc 1.95.";

/// Whether this is the pinned compiler; outside CI, says why it skips.
fn pinned_compiler() -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = Command::new(rustc)
        .arg("--version")
        .output()
        .expect("rustc --version runs");
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if version.starts_with(PINNED) {
        return true;
    }
    let message =
        format!("the UI tests' .stderr files are written with {PINNED}x; this is `{version}`");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{message}");
    }
    eprintln!("skipping the UI tests of #[requires] and #[auth_poem::api]: {message}");
    false
}

#[test]
fn ui_requires_and_api() {
    if !pinned_compiler() {
        return;
    }
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/requires/pass/*.rs");
    cases.compile_fail("tests/ui/requires/fail/*.rs");
    cases.pass("tests/ui/api/pass/*.rs");
    cases.compile_fail("tests/ui/api/fail/*.rs");
}
