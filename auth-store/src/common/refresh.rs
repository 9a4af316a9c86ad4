//! The SQL `RefreshStore` of `impl_sql_store!`: refresh-token families,
//! rotation and reuse.

/// Expands inside `impl_sql_store!`'s module, where its imports and
/// row helpers are in scope.
macro_rules! impl_sql_refresh {
    ($store:ident) => {
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
    };
}

pub(crate) use impl_sql_refresh;
