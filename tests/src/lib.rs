//! End-to-end tests for poem-auth; the tests themselves live in `tests/tests/`.

/// The code of the workspace README, compiled as a documentation test so it
/// stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct WorkspaceReadme;
