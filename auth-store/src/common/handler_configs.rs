//! The SQL `HandlerConfigStore` of `impl_sql_store!`: the saved handler
//! configurations and the selected one.

/// Expands inside `impl_sql_store!`'s module, where its imports and
/// row helpers are in scope.
macro_rules! impl_sql_handler_configs {
    ($store:ident) => {
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
                let mut tx = self
                    .begin_write()
                    .await
                    .map_err(|e| error::manage(e, conflict))?;
                if activate {
                    sqlx::query(
                        "UPDATE handler_settings SET active = FALSE WHERE active AND id <> $1",
                    )
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
    };
}

pub(crate) use impl_sql_handler_configs;
