//! The routes a [`PoemAuth`](crate::PoemAuth) serves, each a poem-openapi
//! API: the token service ([`token`]), the token registry ([`tokens`]),
//! user management ([`users`]) and live handler switching ([`handlers`]),
//! with the error answers of the management routes ([`error`]).
//! [`PoemAuth::routes`](crate::PoemAuth::routes) serves them together.

pub mod error;
pub mod handlers;
pub mod token;
pub mod tokens;
pub mod users;

pub use token::*;
