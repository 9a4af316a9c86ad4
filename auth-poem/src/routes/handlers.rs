//! The handler-settings routes: list the registered handler configs, read
//! one, and put new values that are validated, persisted and activated
//! without a restart.
//!
//! | route | needs |
//! |---|---|
//! | `GET /auth_handler/settings` | `AUTH_HANDLER:LIST` |
//! | `GET /auth_handler/settings/:id` | `AUTH_HANDLER:READ` |
//! | `PUT /auth_handler/settings/:id` | `AUTH_HANDLER:EDIT` |
//!
//! Secret values are shown as `"*****"`; the rule that makes a field secret
//! is in [`auth_core::handlers::live`]. Without a
//! [`LiveHandlers`] service
//! ([`PoemAuthBuilder::live_handlers`](crate::PoemAuthBuilder::live_handlers))
//! the routes answer 501.

use std::sync::Arc;

use auth_core::handlers::live::{HandlerView, LiveHandlers};
use auth_core::store::ManageError;
use auth_core::{AuthPermission, AuthResource};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use crate::routes::AuthTag;
use crate::routes::error::ManageFailure;

/// One handler config.
#[derive(Debug, Clone, Object)]
pub struct HandlerSettingsView {
    /// The config's id, used in the routes.
    pub id: String,
    /// The human-readable name.
    pub name: String,
    /// What the handler does.
    pub description: String,
    /// The config's JSON Schema.
    pub schema: serde_json::Value,
    /// The stored values, secrets shown as `"*****"`; absent when never saved.
    pub values: Option<serde_json::Value>,
    /// Whether this handler is in force.
    pub active: bool,
    /// When the values were last saved (Unix seconds).
    pub updated_at: Option<i64>,
}

impl From<HandlerView> for HandlerSettingsView {
    fn from(v: HandlerView) -> Self {
        Self {
            id: v.id,
            name: v.name,
            description: v.description,
            schema: v.schema,
            values: v.values,
            active: v.active,
            updated_at: v.updated_at,
        }
    }
}

/// Every registered handler config.
#[derive(Debug, Clone, Object)]
pub struct HandlerSettingsList {
    /// The configs, sorted by id.
    pub handlers: Vec<HandlerSettingsView>,
    /// The id of the handler in force, if any.
    pub active: Option<String>,
}

/// The handler-settings routes, as a poem-openapi API (see the module docs).
pub struct LiveHandlersApi {
    settings: Option<Arc<LiveHandlers>>,
}

impl LiveHandlersApi {
    pub(crate) fn new(settings: Option<Arc<LiveHandlers>>) -> Self {
        Self { settings }
    }

    fn settings(&self) -> Result<&LiveHandlers, ManageFailure> {
        self.settings
            .as_deref()
            .ok_or_else(|| ManageError::Unsupported("handler settings").into())
    }
}

#[auth_poem::api]
#[OpenApi(prefix_path = "/", tag = "AuthTag::Auth")]
impl LiveHandlersApi {
    /// List the handler configs: name, description, JSON Schema, current
    /// values with secrets masked, and which one is active.
    #[requires(AuthResource::AuthHandler, AuthPermission::List)]
    #[oai(path = "/auth_handler/settings", method = "get")]
    async fn list_handlers(&self) -> Result<Json<HandlerSettingsList>, ManageFailure> {
        let settings = self.settings()?;
        let handlers: Vec<HandlerSettingsView> = settings
            .list()
            .await?
            .into_iter()
            .map(HandlerSettingsView::from)
            .collect();
        let active = handlers.iter().find(|h| h.active).map(|h| h.id.clone());
        Ok(Json(HandlerSettingsList { handlers, active }))
    }

    /// One handler config. 404 for an id no registered config has.
    #[requires(AuthResource::AuthHandler, AuthPermission::Read)]
    #[oai(path = "/auth_handler/settings/:id", method = "get")]
    async fn get_handler(
        &self,
        /// The config's id.
        id: Path<String>,
    ) -> Result<Json<HandlerSettingsView>, ManageFailure> {
        Ok(Json(self.settings()?.get(&id.0).await?.into()))
    }

    /// Set a handler's values and make it the active handler, without a
    /// restart.
    ///
    /// The body is the config as JSON; a secret sent as `"*****"` keeps its
    /// stored value. Invalid values answer 400 with the invalid fields; a
    /// handler that fails to build answers 400 and the previous handler
    /// stays active; nothing is saved in either case.
    #[requires(AuthResource::AuthHandler, AuthPermission::Edit)]
    #[oai(path = "/auth_handler/settings/:id", method = "put")]
    async fn put_handler(
        &self,
        /// The config's id.
        id: Path<String>,
        values: Json<serde_json::Value>,
    ) -> Result<Json<HandlerSettingsView>, ManageFailure> {
        Ok(Json(self.settings()?.update(&id.0, values.0).await?.into()))
    }
}
