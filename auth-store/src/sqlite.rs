//! [`SqliteStore`]: every store in one SQLite file, the embedded default.

use std::path::Path;
use std::sync::Arc;

use auth_core::store::MemoryRevocations;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::common::{RevocationEvent, impl_sql_store};
use crate::error::StoreError;
use crate::{StoreOptions, migrations};

type Db = sqlx::Sqlite;

/// The SQL that differs between the backends.
mod dialect {
    /// Write transactions take the write lock at once, so two writers wait
    /// for each other instead of failing when a read turns into a write.
    pub(super) const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
    /// The roles of user `u`, as a JSON array.
    pub(super) const ROLES_OF_USER: &str =
        "(SELECT json_group_array(r.role) FROM user_roles r WHERE r.user_id = u.id)";
    /// The larger of two numbers.
    pub(super) const GREATEST: &str = "MAX";

    /// `column` contains the text of parameter `param` (case-sensitive).
    pub(super) fn contains(column: &str, param: &str) -> String {
        format!("instr({column}, {param}) > 0")
    }

    /// The JSON array in `column` holds the text of parameter `param`.
    pub(super) fn has_role(column: &str, param: &str) -> String {
        format!("EXISTS (SELECT 1 FROM json_each({column}) j WHERE j.value = {param})")
    }
}

/// Users, refresh tokens, issued tokens, revocations and handler settings in
/// one SQLite file: the embedded default, for a single instance.
///
/// The file (and its directory) is created on first open; the schema is
/// brought up to date by versioned migrations; the journal is WAL and
/// foreign keys are enforced. Everything is on disk when a call returns, so
/// a restart loses nothing; revocations are loaded back into
/// [`revocations`](Self::revocations) on open.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use auth_core::UserStore;
/// use auth_store::SqliteStore;
///
/// let dir = std::env::temp_dir().join(format!("auth-store-doc-{}", std::process::id()));
/// let store = SqliteStore::open(dir.join("auth.db")).await?;
/// assert!(store.find_by_username("nobody").await?.is_none());
/// # store.close().await;
/// # let _ = std::fs::remove_dir_all(dir);
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: sqlx::SqlitePool,
    revocations: Arc<MemoryRevocations>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` with the
    /// default [`StoreOptions`].
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, &StoreOptions::default()).await
    }

    /// Opens (creating if needed) the database file at `path`.
    pub async fn open_with(
        path: impl AsRef<Path>,
        options: &StoreOptions,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Invalid(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let connect = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(options.acquire_timeout);
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await?;
        migrations::migrator(migrations::SQLITE)
            .await?
            .run(&pool)
            .await?;
        let revocations = Arc::new(MemoryRevocations::default());
        Self::load_revocations(&pool, &revocations).await?;
        Ok(Self { pool, revocations })
    }

    /// SQLite has one instance: there is no one to tell.
    async fn publish(
        _tx: &mut sqlx::Transaction<'static, Db>,
        _event: &RevocationEvent,
    ) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

impl_sql_store!(SqliteStore);
