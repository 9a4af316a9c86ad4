//! chat-service's integration tests, in one binary: the built service run
//! as a process (`e2e`) and its custom handler against a loopback identity
//! provider (`custom_handler`).

mod custom_handler;
mod e2e;
