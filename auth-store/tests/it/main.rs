//! auth-store's integration tests, in one binary (one link instead of one
//! per file): the store contract on SQLite and PostgreSQL, restarts, and
//! several instances on one database. PostgreSQL is a real server that
//! `support::pg` starts on a loopback port (installed by `.ci/setup-postgres`).

mod contract;
mod pg_instances;
mod sqlite_restart;
mod support;
