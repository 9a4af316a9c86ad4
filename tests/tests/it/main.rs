//! The tests that need a real server installed on the machine, in one
//! binary: OpenLDAP's slapd, panva's oidc-provider and headless Chromium,
//! each installed by its `.ci/setup-*` script and started by the test on a
//! loopback port. In CI (`CI=true`) a missing server fails the test;
//! elsewhere the test skips and names the set-up command.

mod ldap_provider;
mod oidc_provider;
mod swagger_ui;
