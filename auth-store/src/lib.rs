#![doc = include_str!("../README.md")]

mod common;
mod error;
mod migrations;
#[cfg(feature = "postgres")]
mod postgres;
mod settings;
mod sqlite;

pub use error::StoreError;
#[cfg(feature = "postgres")]
pub use postgres::PgStore;
pub use settings::{StoreOptions, StoreSettings, Stores};
pub use sqlite::SqliteStore;
