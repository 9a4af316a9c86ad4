//! [`PgStore`]: every store in PostgreSQL, for several instances on one
//! database, with revocations shared through `LISTEN`/`NOTIFY`.

use std::sync::Arc;
use std::time::Duration;

use auth_core::store::MemoryRevocations;
use sqlx::postgres::{PgListener, PgPoolOptions};
use tokio::task::JoinHandle;

use crate::common::{RevocationEvent, impl_sql_store};
use crate::error::StoreError;
use crate::{StoreOptions, migrations};

type Db = sqlx::Postgres;

/// The channel revocations are announced on.
const CHANNEL: &str = "auth_revocations";

/// The SQL that differs between the backends.
mod dialect {
    /// Row locks do the work; a plain transaction is enough.
    pub(super) const BEGIN_WRITE: &str = "BEGIN";
    /// The roles of user `u`, as a JSON array.
    pub(super) const ROLES_OF_USER: &str = "(SELECT COALESCE(json_agg(r.role), '[]'::json)::text \
         FROM user_roles r WHERE r.user_id = u.id)";
    /// The larger of two numbers.
    pub(super) const GREATEST: &str = "GREATEST";

    /// `column` contains the text of parameter `param` (case-sensitive).
    pub(super) fn contains(column: &str, param: &str) -> String {
        format!("strpos({column}, {param}) > 0")
    }

    /// The JSON array in `column` holds the text of parameter `param`.
    pub(super) fn has_role(column: &str, param: &str) -> String {
        format!("({column})::jsonb @> jsonb_build_array({param}::text)")
    }
}

/// Users, refresh tokens, issued tokens, revocations and handler settings in
/// PostgreSQL, for several instances sharing one database.
///
/// Each instance keeps the revocations in memory
/// ([`revocations`](Self::revocations)), loaded on connect. A revocation
/// made through one instance is committed together with a `NOTIFY`, and a
/// background task of every other instance `LISTEN`s and applies it as soon
/// as it arrives. When that listening connection is lost, the task
/// reconnects, listens again and then reloads every revocation, so nothing
/// announced in between is missed. The task never holds a lock the request
/// path waits on, and ends when the last clone of the store is dropped.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: sqlx::PgPool,
    revocations: Arc<MemoryRevocations>,
    _listener: Arc<AbortOnDrop>,
}

#[derive(Debug)]
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/db`) with the
    /// default [`StoreOptions`], applies the migrations and loads the
    /// revocations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, &StoreOptions::default()).await
    }

    /// Connects to `url` with these limits.
    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect(url)
            .await?;
        migrations::migrator(migrations::POSTGRES)
            .await?
            .run(&pool)
            .await?;
        let revocations = Arc::new(MemoryRevocations::default());
        // Listen before loading, so a revocation committed in between is
        // announced to us rather than lost.
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        Self::load_revocations(&pool, &revocations).await?;
        let task = tokio::spawn(listen(pool.clone(), revocations.clone(), listener));
        Ok(Self {
            pool,
            revocations,
            _listener: Arc::new(AbortOnDrop(task)),
        })
    }

    /// Announces `event` to every instance when `tx` commits.
    async fn publish(
        tx: &mut sqlx::Transaction<'static, Db>,
        event: &RevocationEvent,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(event.payload())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

impl_sql_store!(PgStore);

/// Applies announced revocations until the store is dropped; on a lost
/// connection, reconnects, listens and reloads everything.
async fn listen(pool: sqlx::PgPool, revocations: Arc<MemoryRevocations>, first: PgListener) {
    let mut listener = Some(first);
    loop {
        let mut current = match listener.take() {
            Some(l) => l,
            None => match resubscribe(&pool, &revocations).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "revocation listener cannot reconnect; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            },
        };
        loop {
            match current.try_recv().await {
                Ok(Some(note)) => match serde_json::from_str::<RevocationEvent>(note.payload()) {
                    Ok(RevocationEvent::Reload) | Err(_) => {
                        if let Err(e) = PgStore::load_revocations(&pool, &revocations).await {
                            tracing::warn!(error = %e, "reloading revocations failed");
                            break;
                        }
                    }
                    Ok(event) => event.apply(&revocations),
                },
                // The connection was lost: start over on a new one.
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "revocation listener failed");
                    break;
                }
            }
        }
    }
}

/// A new listening connection, after which every revocation is reloaded.
async fn resubscribe(
    pool: &sqlx::PgPool,
    revocations: &MemoryRevocations,
) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    PgStore::load_revocations(pool, revocations).await?;
    Ok(listener)
}
