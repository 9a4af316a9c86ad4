#![doc = include_str!("../README.md")]

mod common;
mod error;
#[cfg(feature = "ldap")]
pub mod ldap;
mod migrations;
#[cfg(feature = "postgres")]
mod postgres;
pub mod provider;
mod settings;
mod sqlite;

pub use error::StoreError;
#[cfg(feature = "postgres")]
pub use postgres::PgStore;
pub use provider::{ProviderContext, ProviderSettings, StoreProviderSettings};
pub use settings::{StoreOptions, StoreSettings, Stores};
pub use sqlite::SqliteStore;
