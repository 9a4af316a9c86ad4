//! What both backends share: the revocation events, the dynamic `WHERE`
//! builder, and the SQL implementation of every store trait, written once
//! as a macro over the backend's `Db` type and its `dialect` module.

use std::collections::BTreeSet;

use auth_core::AuthResult;
use auth_core::store::MemoryRevocations;
use serde::{Deserialize, Serialize};

use crate::error;

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

        use auth_core::store::{
            ManageError, ManageResult, NewUser, Page, HandlerConfigStore, StoredHandlerConfig,
            TokenFilter, TokenRecord, TokenStore, UserAdmin, UserFilter, UserUpdate,
        };
        use auth_core::store::MemoryRevocations;
        use auth_core::tokens::{RefreshRecord, RefreshStore, Rotation, TokenHash};
        use auth_core::store::{UserRecord, UserStore};
        use auth_core::throttle::{Failures, ThrottleStore};
        use auth_core::AuthResult;
        use sqlx::Row as _;

        use crate::common::{Bind, RevocationEvent, Where, json, now_secs, offset, roles, to_json};
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
                let jtis = sqlx::query("SELECT jti, expires_at FROM revoked_jtis WHERE expires_at >= $1")
                    .bind(now)
                    .fetch_all(pool)
                    .await?;
                for row in &jtis {
                    revocations.revoke_jti(&row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?);
                }
                let sessions =
                    sqlx::query("SELECT sid, expires_at FROM revoked_sessions WHERE expires_at >= $1")
                        .bind(now)
                        .fetch_all(pool)
                        .await?;
                for row in &sessions {
                    revocations
                        .revoke_session(&row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?);
                }
                let users = sqlx::query("SELECT client_id, cutoff FROM revoked_users")
                    .fetch_all(pool)
                    .await?;
                for row in &users {
                    revocations
                        .revoke_user_tokens(&row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?);
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

        #[async_trait::async_trait]
        impl UserStore for $store {
            async fn find_by_username(&self, username: &str) -> AuthResult<Option<UserRecord>> {
                Self::user_where(&self.pool, "username", username)
                    .await
                    .map_err(error::auth)?
                    .as_ref()
                    .map(user_of)
                    .transpose()
            }

            async fn find_by_id(&self, id: &str) -> AuthResult<Option<UserRecord>> {
                Self::user_where(&self.pool, "id", id)
                    .await
                    .map_err(error::auth)?
                    .as_ref()
                    .map(user_of)
                    .transpose()
            }

            async fn set_enabled(&self, username: &str, enabled: bool) -> AuthResult<bool> {
                let done = sqlx::query(
                    "UPDATE users SET enabled = $1, updated_at = $2 WHERE username = $3",
                )
                .bind(enabled)
                .bind(now_secs())
                .bind(username)
                .execute(&self.pool)
                .await
                .map_err(error::auth)?;
                Ok(done.rows_affected() > 0)
            }

            async fn set_password_hash(&self, username: &str, phc: String) -> AuthResult<bool> {
                let done = sqlx::query(
                    "UPDATE users SET password_hash = $1, updated_at = $2 WHERE username = $3",
                )
                .bind(phc)
                .bind(now_secs())
                .bind(username)
                .execute(&self.pool)
                .await
                .map_err(error::auth)?;
                Ok(done.rows_affected() > 0)
            }

            async fn replace_password_hash(
                &self,
                username: &str,
                current: &str,
                phc: String,
            ) -> AuthResult<bool> {
                let done = sqlx::query(
                    "UPDATE users SET password_hash = $1, updated_at = $2 \
                     WHERE username = $3 AND password_hash = $4",
                )
                .bind(phc)
                .bind(now_secs())
                .bind(username)
                .bind(current)
                .execute(&self.pool)
                .await
                .map_err(error::auth)?;
                Ok(done.rows_affected() > 0)
            }
        }

        #[async_trait::async_trait]
        impl UserAdmin for $store {
            async fn create_user(&self, user: NewUser) -> ManageResult<UserRecord> {
                if user.username.trim().is_empty() {
                    return Err(ManageError::Invalid("the username is empty".into()));
                }
                let id = auth_core::random::random_id()?;
                let now = now_secs();
                let conflict = conflict_name(&user.username);
                let mut tx = self.begin_write().await.map_err(|e| error::manage(e, &conflict))?;
                sqlx::query(
                    "INSERT INTO users (id, username, password_hash, enabled, permissions, extra, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(&id)
                .bind(&user.username)
                .bind(&user.password_hash)
                .bind(user.enabled)
                .bind(to_json(&user.permissions))
                .bind(to_json(&user.extra))
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| error::manage(e, &conflict))?;
                Self::insert_roles(&mut tx, &id, &user.roles, &conflict).await?;
                tx.commit().await.map_err(|e| error::manage(e, &conflict))?;
                Ok(UserRecord {
                    id,
                    username: user.username,
                    password_hash: user.password_hash,
                    roles: user.roles,
                    permissions: user.permissions,
                    enabled: user.enabled,
                    extra: user.extra,
                })
            }

            async fn list_users(
                &self,
                filter: &UserFilter,
                page: Page,
            ) -> ManageResult<Vec<UserRecord>> {
                let mut w = Where::default();
                if let Some(text) = &filter.username_contains {
                    let p = w.param(Bind::Text(text.clone()));
                    w.and(dialect::contains("u.username", &p));
                }
                if let Some(role) = &filter.role {
                    let p = w.param(Bind::Text(role.clone()));
                    w.and(format!(
                        "EXISTS (SELECT 1 FROM user_roles f WHERE f.user_id = u.id AND f.role = {p})"
                    ));
                }
                if let Some(enabled) = filter.enabled {
                    let p = w.param(Bind::Bool(enabled));
                    w.and(format!("u.enabled = {p}"));
                }
                let limit = w.param(Bind::Int(i64::from(page.capped_limit())));
                let skip = w.param(Bind::Int(offset(page)));
                let sql = format!(
                    "{}{} ORDER BY u.username LIMIT {limit} OFFSET {skip}",
                    user_select(),
                    w.sql()
                );
                let rows = bind_all(sqlx::query(&sql), w.binds)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| error::manage(e, "users"))?;
                Ok(rows.iter().map(user_of).collect::<AuthResult<_>>()?)
            }

            async fn update_user(&self, id: &str, update: UserUpdate) -> ManageResult<UserRecord> {
                if update.username.as_deref().is_some_and(|u| u.trim().is_empty()) {
                    return Err(ManageError::Invalid("the username is empty".into()));
                }
                let conflict = conflict_name(update.username.as_deref().unwrap_or_default());
                let mut tx = self.begin_write().await.map_err(|e| error::manage(e, &conflict))?;
                let done = sqlx::query(
                    "UPDATE users SET username = COALESCE($1, username), \
                     password_hash = COALESCE($2, password_hash), enabled = COALESCE($3, enabled), \
                     permissions = COALESCE($4, permissions), extra = COALESCE($5, extra), \
                     updated_at = $6 WHERE id = $7",
                )
                .bind(update.username.as_deref())
                .bind(update.password_hash.as_deref())
                .bind(update.enabled)
                .bind(update.permissions.as_ref().map(to_json))
                .bind(update.extra.as_ref().map(to_json))
                .bind(now_secs())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| error::manage(e, &conflict))?;
                if done.rows_affected() == 0 {
                    return Err(ManageError::NotFound(format!("user {id:?}")));
                }
                if let Some(roles) = &update.roles {
                    sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| error::manage(e, id))?;
                    Self::insert_roles(&mut tx, id, roles, id).await?;
                }
                let user = Self::reread_user(&mut tx, id).await?;
                tx.commit().await.map_err(|e| error::manage(e, id))?;
                Ok(user)
            }

            async fn delete_user(&self, id: &str) -> ManageResult<()> {
                let done = sqlx::query("DELETE FROM users WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| error::manage(e, id))?;
                if done.rows_affected() == 0 {
                    return Err(ManageError::NotFound(format!("user {id:?}")));
                }
                Ok(())
            }

            async fn add_roles(&self, id: &str, roles: &BTreeSet<String>) -> ManageResult<UserRecord> {
                let mut tx = self.begin_write().await.map_err(|e| error::manage(e, id))?;
                Self::touch_user(&mut tx, id).await?;
                Self::insert_roles(&mut tx, id, roles, id).await?;
                let user = Self::reread_user(&mut tx, id).await?;
                tx.commit().await.map_err(|e| error::manage(e, id))?;
                Ok(user)
            }

            async fn remove_roles(
                &self,
                id: &str,
                roles: &BTreeSet<String>,
            ) -> ManageResult<UserRecord> {
                let mut tx = self.begin_write().await.map_err(|e| error::manage(e, id))?;
                Self::touch_user(&mut tx, id).await?;
                for role in roles {
                    sqlx::query("DELETE FROM user_roles WHERE user_id = $1 AND role = $2")
                        .bind(id)
                        .bind(role)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| error::manage(e, id))?;
                }
                let user = Self::reread_user(&mut tx, id).await?;
                tx.commit().await.map_err(|e| error::manage(e, id))?;
                Ok(user)
            }

            async fn count_users(&self) -> ManageResult<u64> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| error::manage(e, "users"))?;
                Ok(u64::try_from(n).unwrap_or(0))
            }
        }

        #[async_trait::async_trait]
        impl RefreshStore for $store {
            async fn insert(&self, hash: TokenHash, record: RefreshRecord) -> AuthResult<()> {
                sqlx::query(
                    "INSERT INTO refresh_tokens (token_hash, family, user_id, created_at, \
                     expires_at, family_expires_at, used) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(hash.to_vec())
                .bind(&record.family)
                .bind(&record.user_id)
                .bind(record.created_at)
                .bind(record.expires_at)
                .bind(record.family_expires_at)
                .bind(record.used)
                .execute(&self.pool)
                .await
                .map_err(error::auth)?;
                Ok(())
            }

            async fn rotate(
                &self,
                presented: &TokenHash,
                successor: TokenHash,
                now: i64,
                sliding_secs: i64,
            ) -> AuthResult<Rotation> {
                let mut tx = self.begin_write().await.map_err(error::auth)?;
                // One statement decides the race: of two rotations of one
                // token, only the first finds it unused.
                let claimed = sqlx::query(
                    "UPDATE refresh_tokens SET used = TRUE WHERE token_hash = $1 AND used = FALSE \
                     AND expires_at > $2 AND family_expires_at > $2 \
                     RETURNING family, user_id, family_expires_at",
                )
                .bind(presented.to_vec())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await
                .map_err(error::auth)?;
                let Some(row) = claimed else {
                    let found = sqlx::query(
                        "SELECT family, used FROM refresh_tokens WHERE token_hash = $1",
                    )
                    .bind(presented.to_vec())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(error::auth)?;
                    let outcome = match found {
                        Some(row) if row.try_get::<bool, _>("used").map_err(error::auth)? => {
                            let family: String = row.try_get("family").map_err(error::auth)?;
                            sqlx::query("DELETE FROM refresh_tokens WHERE family = $1")
                                .bind(&family)
                                .execute(&mut *tx)
                                .await
                                .map_err(error::auth)?;
                            Rotation::Reused { family }
                        }
                        _ => Rotation::Invalid,
                    };
                    tx.commit().await.map_err(error::auth)?;
                    return Ok(outcome);
                };
                let family_expires_at: i64 = row.try_get("family_expires_at").map_err(error::auth)?;
                let next = RefreshRecord {
                    family: row.try_get("family").map_err(error::auth)?,
                    user_id: row.try_get("user_id").map_err(error::auth)?,
                    created_at: now,
                    expires_at: now.saturating_add(sliding_secs).min(family_expires_at),
                    family_expires_at,
                    used: false,
                };
                sqlx::query(
                    "INSERT INTO refresh_tokens (token_hash, family, user_id, created_at, \
                     expires_at, family_expires_at, used) VALUES ($1, $2, $3, $4, $5, $6, FALSE)",
                )
                .bind(successor.to_vec())
                .bind(&next.family)
                .bind(&next.user_id)
                .bind(next.created_at)
                .bind(next.expires_at)
                .bind(next.family_expires_at)
                .execute(&mut *tx)
                .await
                .map_err(error::auth)?;
                tx.commit().await.map_err(error::auth)?;
                Ok(Rotation::Rotated(next))
            }

            async fn revoke_family(&self, family: &str) -> AuthResult<Option<String>> {
                let users: Vec<String> =
                    sqlx::query_scalar("DELETE FROM refresh_tokens WHERE family = $1 RETURNING user_id")
                        .bind(family)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(error::auth)?;
                Ok(users.into_iter().next())
            }

            async fn family_of(&self, hash: &TokenHash) -> AuthResult<Option<String>> {
                sqlx::query_scalar("SELECT family FROM refresh_tokens WHERE token_hash = $1")
                    .bind(hash.to_vec())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(error::auth)
            }

            async fn revoke_user(&self, user_id: &str) -> AuthResult<()> {
                sqlx::query("DELETE FROM refresh_tokens WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&self.pool)
                    .await
                    .map_err(error::auth)?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl TokenStore for $store {
            async fn record_token(&self, token: TokenRecord) -> ManageResult<()> {
                let conflict = format!("a token with jti {:?} is recorded already", token.jti);
                sqlx::query(
                    "INSERT INTO access_tokens (jti, client_id, roles, created_at, expires_at, \
                     issued_by, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&token.jti)
                .bind(&token.client_id)
                .bind(to_json(&token.roles))
                .bind(token.created_at)
                .bind(token.expires_at)
                .bind(&token.issued_by)
                .bind(token.revoked)
                .execute(&self.pool)
                .await
                .map_err(|e| error::manage(e, &conflict))?;
                Ok(())
            }

            async fn list_tokens(
                &self,
                filter: &TokenFilter,
                now: i64,
                page: Page,
            ) -> ManageResult<Vec<TokenRecord>> {
                let mut w = Where::default();
                token_filter(filter, now, &mut w);
                let limit = w.param(Bind::Int(i64::from(page.capped_limit())));
                let skip = w.param(Bind::Int(offset(page)));
                let sql = format!(
                    "SELECT t.jti, t.client_id, t.roles, t.created_at, t.expires_at, t.issued_by, \
                     t.revoked FROM access_tokens t{} ORDER BY t.created_at DESC, t.jti \
                     LIMIT {limit} OFFSET {skip}",
                    w.sql()
                );
                let rows = bind_all(sqlx::query(&sql), w.binds)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| error::manage(e, "tokens"))?;
                Ok(rows.iter().map(token_of).collect::<AuthResult<_>>()?)
            }

            async fn revoke_tokens(&self, filter: &TokenFilter, now: i64) -> ManageResult<u64> {
                let filter = TokenFilter {
                    include_expired: false,
                    ..filter.clone()
                };
                let mut w = Where::default();
                token_filter(&filter, now, &mut w);
                w.and("t.revoked = FALSE".to_owned());
                let sql = format!(
                    "UPDATE access_tokens AS t SET revoked = TRUE{} RETURNING jti, expires_at",
                    w.sql()
                );
                let mut tx = self.begin_write().await.map_err(|e| error::manage(e, "tokens"))?;
                let rows = bind_all(sqlx::query(&sql), w.binds)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(|e| error::manage(e, "tokens"))?;
                let mut revoked = Vec::with_capacity(rows.len());
                for row in &rows {
                    let jti: String = row.try_get(0).map_err(error::auth)?;
                    let exp: i64 = row.try_get(1).map_err(error::auth)?;
                    sqlx::query(
                        "INSERT INTO revoked_jtis (jti, expires_at) VALUES ($1, $2) \
                         ON CONFLICT (jti) DO NOTHING",
                    )
                    .bind(&jti)
                    .bind(exp)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| error::manage(e, "tokens"))?;
                    revoked.push((jti, exp));
                }
                let count = revoked.len() as u64;
                if revoked.is_empty() {
                    tx.commit().await.map_err(|e| error::manage(e, "tokens"))?;
                    return Ok(0);
                }
                let event = RevocationEvent::Tokens(revoked);
                Self::publish(&mut tx, &event)
                    .await
                    .map_err(|e| error::manage(e, "tokens"))?;
                tx.commit().await.map_err(|e| error::manage(e, "tokens"))?;
                event.apply(&self.revocations);
                Ok(count)
            }

            async fn revoke_client_tokens(&self, client_id: &str, cutoff: i64) -> ManageResult<()> {
                let mut tx = self.begin_write().await.map_err(|e| error::manage(e, client_id))?;
                sqlx::query(&format!(
                    "INSERT INTO revoked_users (client_id, cutoff) VALUES ($1, $2) \
                     ON CONFLICT (client_id) DO UPDATE SET cutoff = {}(revoked_users.cutoff, excluded.cutoff)",
                    dialect::GREATEST
                ))
                .bind(client_id)
                .bind(cutoff)
                .execute(&mut *tx)
                .await
                .map_err(|e| error::manage(e, client_id))?;
                sqlx::query(
                    "UPDATE access_tokens SET revoked = TRUE WHERE client_id = $1 AND created_at <= $2",
                )
                .bind(client_id)
                .bind(cutoff)
                .execute(&mut *tx)
                .await
                .map_err(|e| error::manage(e, client_id))?;
                let event = RevocationEvent::Client {
                    client_id: client_id.to_owned(),
                    cutoff,
                };
                Self::publish(&mut tx, &event)
                    .await
                    .map_err(|e| error::manage(e, client_id))?;
                tx.commit().await.map_err(|e| error::manage(e, client_id))?;
                event.apply(&self.revocations);
                Ok(())
            }

            async fn revoke_session(&self, sid: &str, expires_at: i64) -> ManageResult<()> {
                let mut tx = self.begin_write().await.map_err(|e| error::manage(e, sid))?;
                sqlx::query(&format!(
                    "INSERT INTO revoked_sessions (sid, expires_at) VALUES ($1, $2) \
                     ON CONFLICT (sid) DO UPDATE SET expires_at = {}(revoked_sessions.expires_at, excluded.expires_at)",
                    dialect::GREATEST
                ))
                .bind(sid)
                .bind(expires_at)
                .execute(&mut *tx)
                .await
                .map_err(|e| error::manage(e, sid))?;
                let event = RevocationEvent::Sessions(vec![(sid.to_owned(), expires_at)]);
                Self::publish(&mut tx, &event)
                    .await
                    .map_err(|e| error::manage(e, sid))?;
                tx.commit().await.map_err(|e| error::manage(e, sid))?;
                event.apply(&self.revocations);
                Ok(())
            }

            async fn delete_expired(&self, now: i64) -> ManageResult<u64> {
                let mut tx = self.begin_write().await.map_err(|e| error::manage(e, "tokens"))?;
                let done = sqlx::query("DELETE FROM access_tokens WHERE expires_at < $1")
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| error::manage(e, "tokens"))?;
                sqlx::query("DELETE FROM revoked_jtis WHERE expires_at < $1")
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| error::manage(e, "tokens"))?;
                sqlx::query("DELETE FROM revoked_sessions WHERE expires_at < $1")
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| error::manage(e, "tokens"))?;
                // Failed logins a day old count for no throttle window.
                sqlx::query("DELETE FROM login_failures WHERE last_failure < $1")
                    .bind(now.saturating_sub(86_400))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| error::manage(e, "tokens"))?;
                sqlx::query(
                    "DELETE FROM refresh_tokens WHERE expires_at < $1 OR family_expires_at < $1",
                )
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| error::manage(e, "tokens"))?;
                tx.commit().await.map_err(|e| error::manage(e, "tokens"))?;
                self.revocations.prune(now);
                Ok(done.rows_affected())
            }
        }

        #[async_trait::async_trait]
        impl HandlerConfigStore for $store {
            async fn handler_configs(&self) -> ManageResult<Vec<StoredHandlerConfig>> {
                let rows = sqlx::query(
                    "SELECT id, config, active, updated_at FROM handler_settings ORDER BY id",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(|e| error::manage(e, "handler settings"))?;
                let mut out = Vec::with_capacity(rows.len());
                for row in &rows {
                    let config: String = row.try_get("config").map_err(error::auth)?;
                    out.push(StoredHandlerConfig {
                        id: row.try_get("id").map_err(error::auth)?,
                        config: json("handler settings", &config)?,
                        active: row.try_get("active").map_err(error::auth)?,
                        updated_at: row.try_get("updated_at").map_err(error::auth)?,
                    });
                }
                Ok(out)
            }

            async fn save_handler_config(
                &self,
                id: &str,
                config: &serde_json::Value,
                activate: bool,
                now: i64,
            ) -> ManageResult<()> {
                let conflict = "another handler was activated at the same time";
                let mut tx = self.begin_write().await.map_err(|e| error::manage(e, conflict))?;
                if activate {
                    sqlx::query("UPDATE handler_settings SET active = FALSE WHERE active AND id <> $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| error::manage(e, conflict))?;
                }
                sqlx::query(
                    "INSERT INTO handler_settings (id, config, active, updated_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET \
                     config = excluded.config, updated_at = excluded.updated_at, \
                     active = (excluded.active OR handler_settings.active)",
                )
                .bind(id)
                .bind(to_json(config))
                .bind(activate)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| error::manage(e, conflict))?;
                tx.commit().await.map_err(|e| error::manage(e, conflict))?;
                Ok(())
            }
        }

        /// The `addr` of an account's row of failures from every address:
        /// never a client address.
        const EVERY_ADDRESS: &str = "*";

        #[async_trait::async_trait]
        impl ThrottleStore for $store {
            async fn failures(&self, account: &str, addr: &str, since: i64) -> AuthResult<Failures> {
                let rows = sqlx::query(
                    "SELECT addr, failures, last_failure FROM login_failures \
                     WHERE account = $1 AND (addr = $2 OR addr = $3)",
                )
                .bind(account)
                .bind(addr)
                .bind(EVERY_ADDRESS)
                .fetch_all(&self.pool)
                .await
                .map_err(error::auth)?;
                let mut f = Failures::default();
                for row in &rows {
                    let which: String = row.try_get(0).map_err(error::auth)?;
                    let count: i64 = row.try_get(1).map_err(error::auth)?;
                    let last: i64 = row.try_get(2).map_err(error::auth)?;
                    let count = if last < since { 0 } else { u32::try_from(count).unwrap_or(u32::MAX) };
                    if which == EVERY_ADDRESS {
                        (f.account, f.account_last) = (count, last);
                    } else {
                        (f.pair, f.pair_last) = (count, last);
                    }
                }
                Ok(f)
            }

            async fn add_failure(
                &self,
                account: &str,
                addr: &str,
                now: i64,
                since: i64,
            ) -> AuthResult<Failures> {
                let mut tx = self.begin_write().await.map_err(error::auth)?;
                let mut counts = [0u32; 2];
                for (slot, which) in [addr, EVERY_ADDRESS].into_iter().enumerate() {
                    let count: i64 = sqlx::query_scalar(
                        "INSERT INTO login_failures (account, addr, failures, last_failure) \
                         VALUES ($1, $2, 1, $3) ON CONFLICT (account, addr) DO UPDATE SET \
                         failures = CASE WHEN login_failures.last_failure < $4 THEN 1 \
                         ELSE login_failures.failures + 1 END, last_failure = $3 \
                         RETURNING failures",
                    )
                    .bind(account)
                    .bind(which)
                    .bind(now)
                    .bind(since)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(error::auth)?;
                    counts[slot] = u32::try_from(count).unwrap_or(u32::MAX);
                }
                // The account's stale rows go as new ones come; other
                // accounts' go with the expired tokens (`delete_expired`),
                // so concurrent failures never contend on each other's rows.
                sqlx::query("DELETE FROM login_failures WHERE account = $1 AND last_failure < $2")
                    .bind(account)
                    .bind(since)
                    .execute(&mut *tx)
                    .await
                    .map_err(error::auth)?;
                tx.commit().await.map_err(error::auth)?;
                Ok(Failures {
                    pair: counts[0],
                    pair_last: now,
                    account: counts[1],
                    account_last: now,
                })
            }

            async fn clear(&self, account: &str, addr: &str) -> AuthResult<()> {
                sqlx::query("DELETE FROM login_failures WHERE account = $1 AND addr = $2")
                    .bind(account)
                    .bind(addr)
                    .execute(&self.pool)
                    .await
                    .map_err(error::auth)?;
                Ok(())
            }
        }
        }
    };
}

pub(crate) use impl_sql_store;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_announcement_carries_the_tokens() {
        let event = RevocationEvent::Tokens(vec![("abc".into(), 5)]);
        let back: RevocationEvent = serde_json::from_str(&event.payload()).expect("parse");
        assert_eq!(back, event);
    }

    #[test]
    fn oversized_announcement_asks_for_a_reload() {
        let many = (0..1000).map(|i| (format!("jti-{i:020}"), 1)).collect();
        let payload = RevocationEvent::Tokens(many).payload();
        assert!(payload.len() <= RevocationEvent::MAX_PAYLOAD);
        let back: RevocationEvent = serde_json::from_str(&payload).expect("parse");
        assert_eq!(back, RevocationEvent::Reload);
    }
}
