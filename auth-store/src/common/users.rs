//! The SQL `UserStore` and `UserAdmin` of `impl_sql_store!`: lookups, the
//! paged and filtered listing, and every change to an account.

/// Expands inside `impl_sql_store!`'s module, where its imports and
/// row helpers are in scope.
macro_rules! impl_sql_users {
    ($store:ident) => {
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
    };
}

pub(crate) use impl_sql_users;
