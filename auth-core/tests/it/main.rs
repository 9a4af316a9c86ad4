//! auth-core's integration tests, in one binary (one link instead of one
//! per file): the public API as a user of the crate calls it. Key files are
//! in `tests/keys/`, the Wycheproof vectors in `../shared/testdata/`.

mod default_mapper;
mod enum_derives;
mod handler_registry;
mod hook_macros;
mod jwt;
mod jwt_cache;
mod pipeline;
mod rotation;
mod session;
mod wycheproof;
