//! The SQL `TokenStore` of `impl_sql_store!`: issued tokens, their listing
//! and their revocation.

/// Expands inside `impl_sql_store!`'s module, where its imports and
/// row helpers are in scope.
macro_rules! impl_sql_tokens {
    ($store:ident) => {
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
    };
}

pub(crate) use impl_sql_tokens;
