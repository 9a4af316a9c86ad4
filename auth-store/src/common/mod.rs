//! What both backends share: the revocation events, the dynamic `WHERE`
//! builder, and the SQL implementation of every store trait, written once
//! as a macro over the backend's `Db` type and its `dialect` module.

use std::collections::BTreeSet;

use auth_core::AuthResult;
use auth_core::store::MemoryRevocations;
use serde::{Deserialize, Serialize};

use crate::error;

mod handler_configs;
mod refresh;
mod throttle;
mod tokens;
mod users;

pub(crate) use handler_configs::impl_sql_handler_configs;
pub(crate) use refresh::impl_sql_refresh;
pub(crate) use throttle::impl_sql_throttle;
pub(crate) use tokens::impl_sql_tokens;
pub(crate) use users::impl_sql_users;

/// The current time in Unix seconds.
pub(crate) use auth_core::clock::unix_now as now_secs;

/// A revocation, as one instance tells the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RevocationEvent {
    /// Single tokens: `(jti, expires_at)`.
    Tokens(Vec<(String, i64)>),
    /// Every token of these sessions: `(sid, expires_at)`.
    Sessions(Vec<(String, i64)>),
    /// Every token of a client issued at or before `cutoff`.
    Client {
        /// The client.
        client_id: String,
        /// The cut-off (Unix seconds).
        cutoff: i64,
    },
    /// Too many to tell: reload every revocation from the database.
    Reload,
}

impl RevocationEvent {
    /// The largest payload sent as is; PostgreSQL refuses more than 8000 bytes.
    pub(crate) const MAX_PAYLOAD: usize = 7000;

    /// Applies the event to the in-memory list; `Reload` is the caller's job.
    pub(crate) fn apply(&self, revocations: &MemoryRevocations) {
        match self {
            Self::Tokens(tokens) => {
                for (jti, exp) in tokens {
                    revocations.revoke_jti(jti, *exp);
                }
            }
            Self::Sessions(sessions) => {
                for (sid, exp) in sessions {
                    revocations.revoke_session(sid, *exp);
                }
            }
            Self::Client { client_id, cutoff } => {
                revocations.revoke_user_tokens(client_id, *cutoff);
            }
            Self::Reload => {}
        }
    }

    /// The notification payload: the event, or `Reload` when it is too long.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn payload(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        if text.is_empty() || text.len() > Self::MAX_PAYLOAD {
            r#""reload""#.to_owned()
        } else {
            text
        }
    }
}

/// A value bound to a dynamically built statement.
pub(crate) enum Bind {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// A `WHERE` clause built from optional filters, numbering `$n` parameters.
#[derive(Default)]
pub(crate) struct Where {
    clauses: Vec<String>,
    pub(crate) binds: Vec<Bind>,
}

impl Where {
    /// Adds a bound value; returns its placeholder.
    pub(crate) fn param(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    /// Adds a condition.
    pub(crate) fn and(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    /// ` WHERE a AND b`, or nothing.
    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
}

/// Parses a stored JSON column.
pub(crate) fn json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> AuthResult<T> {
    serde_json::from_str(text).map_err(|e| error::corrupt(what, &e))
}

/// Serializes a value for a JSON column.
pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    // Maps with string keys, sets of strings and permission sets always serialize.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// The role names of a stored JSON array.
pub(crate) fn roles(text: &str) -> AuthResult<BTreeSet<String>> {
    json("roles", text)
}

/// An offset as the databases take it.
pub(crate) fn offset(page: auth_core::store::Page) -> i64 {
    i64::try_from(page.offset).unwrap_or(i64::MAX)
}

/// Implements `UserStore`, `UserAdmin`, `RefreshStore`, `TokenStore` and
/// `HandlerConfigStore` for `$store`, a struct with `pool: Pool<Db>` and
/// `revocations: Arc<MemoryRevocations>` fields and an
/// `async fn publish(tx, &RevocationEvent)`, in a module that has a `Db`
/// type alias and a `dialect` module with the backend's SQL fragments.
macro_rules! impl_sql_store {
    ($store:ident) => {
        mod sql_impl {
            use super::*;
            use std::collections::BTreeSet;
            use std::sync::Arc;

            use auth_core::AuthResult;
            use auth_core::store::MemoryRevocations;
            use auth_core::store::{
                HandlerConfigStore, ManageError, ManageResult, NewUser, Page, StoredHandlerConfig,
                TokenFilter, TokenRecord, TokenStore, UserAdmin, UserFilter, UserUpdate,
            };
            use auth_core::store::{RefreshRecord, RefreshStore, Rotation, TokenHash};
            use auth_core::store::{UserRecord, UserStore};
            use auth_core::throttle::{Failures, ThrottleStore};
            use sqlx::Row as _;

            use crate::common::{
                Bind, RevocationEvent, Where, json, now_secs, offset, roles, to_json,
            };
            use crate::error;

            type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>;
            type DbRow = <Db as sqlx::Database>::Row;

            fn bind_all(mut q: Query<'_>, binds: Vec<Bind>) -> Query<'_> {
                for b in binds {
                    q = match b {
                        Bind::Text(v) => q.bind(v),
                        Bind::Int(v) => q.bind(v),
                        Bind::Bool(v) => q.bind(v),
                    };
                }
                q
            }

            fn user_select() -> String {
                format!(
                    "SELECT u.id, u.username, u.password_hash, u.enabled, u.permissions, u.extra, \
                 {} AS roles FROM users u",
                    dialect::ROLES_OF_USER
                )
            }

            fn user_of(row: &DbRow) -> AuthResult<UserRecord> {
                let text = |col: &str| row.try_get::<String, _>(col).map_err(error::auth);
                Ok(UserRecord {
                    id: text("id")?,
                    username: text("username")?,
                    password_hash: text("password_hash")?,
                    enabled: row.try_get::<bool, _>("enabled").map_err(error::auth)?,
                    permissions: json("permissions", &text("permissions")?)?,
                    extra: json("extra", &text("extra")?)?,
                    roles: roles(&text("roles")?)?,
                })
            }

            fn token_of(row: &DbRow) -> AuthResult<TokenRecord> {
                let text = |col: &str| row.try_get::<String, _>(col).map_err(error::auth);
                let int = |col: &str| row.try_get::<i64, _>(col).map_err(error::auth);
                Ok(TokenRecord {
                    jti: text("jti")?,
                    client_id: text("client_id")?,
                    roles: roles(&text("roles")?)?,
                    created_at: int("created_at")?,
                    expires_at: int("expires_at")?,
                    issued_by: text("issued_by")?,
                    revoked: row.try_get::<bool, _>("revoked").map_err(error::auth)?,
                })
            }

            fn token_filter(filter: &TokenFilter, now: i64, w: &mut Where) {
                if let Some(jti) = &filter.jti {
                    let p = w.param(Bind::Text(jti.clone()));
                    w.and(format!("t.jti = {p}"));
                }
                if let Some(client) = &filter.client_id {
                    let p = w.param(Bind::Text(client.clone()));
                    w.and(format!("t.client_id = {p}"));
                }
                if let Some(role) = &filter.role {
                    let p = w.param(Bind::Text(role.clone()));
                    w.and(dialect::has_role("t.roles", &p));
                }
                if !filter.include_expired {
                    let p = w.param(Bind::Int(now));
                    w.and(format!("t.expires_at > {p}"));
                }
            }

            fn conflict_name(username: &str) -> String {
                format!("a user named {username:?} exists already")
            }

            impl $store {
                /// The revocation list this store keeps current: hand it to
                /// [`JwtHandler::with_revocations`](auth_core::JwtHandler::with_revocations).
                pub fn revocations(&self) -> Arc<MemoryRevocations> {
                    self.revocations.clone()
                }

                /// Closes every connection, waiting for them to be returned.
                pub async fn close(&self) {
                    self.pool.close().await;
                }

                async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
                    self.pool.begin_with(dialect::BEGIN_WRITE).await
                }

                /// Loads every unexpired revocation from the database into `revocations`.
                pub(crate) async fn load_revocations(
                    pool: &sqlx::Pool<Db>,
                    revocations: &MemoryRevocations,
                ) -> Result<(), sqlx::Error> {
                    let now = now_secs();
                    let jtis = sqlx::query(
                        "SELECT jti, expires_at FROM revoked_jtis WHERE expires_at >= $1",
                    )
                    .bind(now)
                    .fetch_all(pool)
                    .await?;
                    for row in &jtis {
                        revocations
                            .revoke_jti(&row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?);
                    }
                    let sessions = sqlx::query(
                        "SELECT sid, expires_at FROM revoked_sessions WHERE expires_at >= $1",
                    )
                    .bind(now)
                    .fetch_all(pool)
                    .await?;
                    for row in &sessions {
                        revocations.revoke_session(
                            &row.try_get::<String, _>(0)?,
                            row.try_get::<i64, _>(1)?,
                        );
                    }
                    let users = sqlx::query("SELECT client_id, cutoff FROM revoked_users")
                        .fetch_all(pool)
                        .await?;
                    for row in &users {
                        revocations.revoke_user_tokens(
                            &row.try_get::<String, _>(0)?,
                            row.try_get::<i64, _>(1)?,
                        );
                    }
                    Ok(())
                }

                async fn user_where(
                    executor: impl sqlx::Executor<'_, Database = Db>,
                    column: &str,
                    value: &str,
                ) -> Result<Option<DbRow>, sqlx::Error> {
                    let sql = format!("{} WHERE u.{column} = $1", user_select());
                    sqlx::query(&sql).bind(value).fetch_optional(executor).await
                }

                /// Marks the user as changed; false when there is no such user.
                /// Every write transaction on a user starts here, so SQLite takes
                /// its write lock before reading.
                async fn touch_user(
                    tx: &mut sqlx::Transaction<'static, Db>,
                    id: &str,
                ) -> ManageResult<()> {
                    let done = sqlx::query("UPDATE users SET updated_at = $1 WHERE id = $2")
                        .bind(now_secs())
                        .bind(id)
                        .execute(&mut **tx)
                        .await
                        .map_err(|e| error::manage(e, id))?;
                    if done.rows_affected() == 0 {
                        return Err(ManageError::NotFound(format!("user {id:?}")));
                    }
                    Ok(())
                }

                /// Gives user `id` each of `roles` (a role it has already is
                /// left as it is); `subject` names what a failure is about.
                async fn insert_roles(
                    tx: &mut sqlx::Transaction<'static, Db>,
                    id: &str,
                    roles: &BTreeSet<String>,
                    subject: &str,
                ) -> ManageResult<()> {
                    for role in roles {
                        sqlx::query(
                            "INSERT INTO user_roles (user_id, role) VALUES ($1, $2) \
                         ON CONFLICT (user_id, role) DO NOTHING",
                        )
                        .bind(id)
                        .bind(role)
                        .execute(&mut **tx)
                        .await
                        .map_err(|e| error::manage(e, subject))?;
                    }
                    Ok(())
                }

                async fn reread_user(
                    tx: &mut sqlx::Transaction<'static, Db>,
                    id: &str,
                ) -> ManageResult<UserRecord> {
                    let row = Self::user_where(&mut **tx, "id", id)
                        .await
                        .map_err(|e| error::manage(e, id))?
                        .ok_or_else(|| ManageError::NotFound(format!("user {id:?}")))?;
                    Ok(user_of(&row)?)
                }
            }

            crate::common::impl_sql_users!($store);
            crate::common::impl_sql_refresh!($store);
            crate::common::impl_sql_tokens!($store);
            crate::common::impl_sql_handler_configs!($store);
            crate::common::impl_sql_throttle!($store);
        }
    };
}

pub(crate) use impl_sql_store;

#[cfg(test)]
mod tests;
