//! auth-client's integration tests, in one binary (one link instead of one
//! per file): every authenticator against loopback upstreams, with TLS from
//! the certificates in `tests/fixtures/`.

mod authenticators;
mod common;
mod refresh;
