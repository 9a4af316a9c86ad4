//! The versioned schema of each backend, embedded in the binary.
//!
//! sqlx's `migrate!` macro would pull in its proc-macro crate and build the
//! database driver a second time for the host; the migrations are few, so
//! they are listed here instead and applied with sqlx's own [`Migrator`]
//! (which records each version with its checksum in `_sqlx_migrations`).

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

/// `(version, description, sql)` of each migration, in order.
type Script = (i64, &'static str, &'static str);

pub(crate) const SQLITE: &[Script] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "sessions and throttle",
        include_str!("../migrations/sqlite/0002_sessions_and_throttle.sql"),
    ),
];

#[cfg(feature = "postgres")]
pub(crate) const POSTGRES: &[Script] = &[
    (
        1,
        "init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "sessions and throttle",
        include_str!("../migrations/postgres/0002_sessions_and_throttle.sql"),
    ),
];

#[derive(Debug)]
struct Embedded(&'static [Script]);

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        let migrations = self
            .0
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    Cow::Borrowed(*sql),
                    false,
                )
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

/// A migrator over `scripts`.
pub(crate) async fn migrator(
    scripts: &'static [Script],
) -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Embedded(scripts)).await
}
