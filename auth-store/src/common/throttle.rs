//! The SQL `ThrottleStore` of `impl_sql_store!`: failed logins per account
//! and address.

/// Expands inside `impl_sql_store!`'s module, where its imports and
/// row helpers are in scope.
macro_rules! impl_sql_throttle {
    ($store:ident) => {
        /// The `addr` of an account's row of failures from every address:
        /// never a client address.
        const EVERY_ADDRESS: &str = "*";

        #[async_trait::async_trait]
        impl ThrottleStore for $store {
            async fn failures(
                &self,
                account: &str,
                addr: &str,
                since: i64,
            ) -> AuthResult<Failures> {
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
                    let count = if last < since {
                        0
                    } else {
                        u32::try_from(count).unwrap_or(u32::MAX)
                    };
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
    };
}

pub(crate) use impl_sql_throttle;
