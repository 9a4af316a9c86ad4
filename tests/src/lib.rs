//! The tests that need a real server on the machine (OpenLDAP, an OpenID
//! provider, Chromium), in `tests/tests/it/`; this library only compiles the
//! workspace README's code as a documentation test.

/// The code of the workspace README, compiled as a documentation test so it
/// stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct WorkspaceReadme;
