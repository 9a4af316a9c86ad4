//! Handler settings at run time: a [`SwitchableHandler`] the pipeline holds,
//! and the [`LiveHandlers`] service that lists the registered handler
//! configs, validates new values, persists them and activates the handler
//! they build, without a restart.
//!
//! # Secrets
//!
//! Values shown by [`LiveHandlers::list`] and [`LiveHandlers::get`]
//! have their secrets replaced by [`MASK`] (`"*****"`). A field is secret
//! when its JSON Schema says `"writeOnly": true` or `"format": "password"`,
//! or when its name contains `password`, `secret`, `token` or `key` (in any
//! case: `api_key`, `clientSecret`, `keys` all count). A secret object or
//! array is masked whole. Sending [`MASK`] back for a secret field keeps the
//! stored value, so a settings form can round-trip what it was shown.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use auth_core::handlers::live::{LiveHandlers, SwitchableHandler};
//! use auth_core::store::MemoryHandlerConfigStore;
//! use auth_core::{
//!     async_trait, auth_handler, AuthContext, AuthHandler, AuthHandlerConfig, AuthMethod,
//!     AuthResult, Credential, FromConfig, HandlerRegistry, Pipeline, Principal,
//! };
//!
//! /// Accepts one fixed API key.
//! #[derive(AuthHandlerConfig, serde::Deserialize, schemars::JsonSchema)]
//! #[auth_config(name = "Fixed key", handler = SettingsDemo)]
//! struct SettingsDemoConfig { api_key: String }
//!
//! #[auth_handler(config = SettingsDemoConfig)]
//! struct SettingsDemo(String);
//!
//! impl FromConfig<SettingsDemoConfig> for SettingsDemo {
//!     fn from_config(c: SettingsDemoConfig) -> AuthResult<Self> { Ok(SettingsDemo(c.api_key)) }
//! }
//!
//! #[async_trait]
//! impl AuthHandler for SettingsDemo {
//!     fn name(&self) -> &str { "fixed-key" }
//!     async fn authorize_key(&self, key: &str, _: &AuthContext) -> AuthResult<Option<Principal>> {
//!         // A real handler compares in constant time.
//!         Ok((key == self.0).then(|| Principal::new("svc", AuthMethod::Custom { handler: "fixed-key".into() })))
//!     }
//! }
//!
//! let switch = Arc::new(SwitchableHandler::new());
//! let pipeline = Pipeline::builder().handler_arc(switch.clone()).build().unwrap();
//! let mut registry = HandlerRegistry::new();
//! registry.register::<SettingsDemoConfig>().unwrap();
//! let settings = LiveHandlers::new(registry, Arc::new(MemoryHandlerConfigStore::new()), switch);
//! settings.start().await.unwrap();
//!
//! let cred = || Some(Credential::api_key("k-1"));
//! assert!(pipeline.authenticate(cred(), AuthContext::http()).await.is_err());
//! settings.update("SettingsDemoConfig", serde_json::json!({"api_key": "k-1"})).await.unwrap();
//! assert_eq!(pipeline.authenticate(cred(), AuthContext::http()).await.unwrap().id, "svc");
//! let shown = settings.get("SettingsDemoConfig").await.unwrap();
//! assert_eq!(shown.values, Some(serde_json::json!({"api_key": "*****"})));
//! # });
//! ```

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use async_trait::async_trait;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::clock::{Clock, SystemClock};
use crate::context::AuthContext;
use crate::credential::Credential;
use crate::error::{AuthError, AuthResult};
use crate::handlers::AuthHandler;
use crate::handlers::config::{ConfigError, FieldError, HandlerRegistry};
use crate::principal::Principal;
use crate::store::{HandlerConfigStore, ManageError, StoredHandlerConfig};

/// What a secret value is shown as, and what, sent back, keeps it.
pub const MASK: &str = "*****";

/// The handler in force, swapped as a whole.
struct Active {
    id: String,
    handler: Arc<dyn AuthHandler>,
}

/// An [`AuthHandler`] whose inner handler can be replaced while requests
/// run: the slot the [`LiveHandlers`] service activates handlers in.
///
/// Reading the active handler takes no lock (an atomic pointer load). With
/// no handler active it answers every credential "not mine" (`Ok(None)`), so
/// the pipeline asks its next handler, and refuses the credential when none
/// recognizes it.
pub struct SwitchableHandler {
    name: String,
    active: ArcSwapOption<Active>,
}

impl Default for SwitchableHandler {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for SwitchableHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwitchableHandler")
            .field("name", &self.name)
            .field("active", &self.active_id())
            .finish()
    }
}

impl SwitchableHandler {
    /// An empty slot named `settings`.
    pub fn new() -> Self {
        Self::named("settings")
    }

    /// An empty slot with this name (for logs and the pipeline's handler list).
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            active: ArcSwapOption::empty(),
        }
    }

    /// Makes `handler`, built from the config `id`, the active one.
    pub fn activate(&self, id: impl Into<String>, handler: Arc<dyn AuthHandler>) {
        self.active.store(Some(Arc::new(Active {
            id: id.into(),
            handler,
        })));
    }

    /// Deactivates the handler: credentials are "not mine" from now on.
    pub fn clear(&self) {
        self.active.store(None);
    }

    /// The config id of the active handler.
    pub fn active_id(&self) -> Option<String> {
        self.active.load().as_ref().map(|a| a.id.clone())
    }

    fn current(&self) -> Option<Arc<dyn AuthHandler>> {
        self.active.load().as_ref().map(|a| a.handler.clone())
    }
}

#[async_trait]
impl AuthHandler for SwitchableHandler {
    fn name(&self) -> &str {
        &self.name
    }

    async fn authorize_jwt(&self, token: &str, cx: &AuthContext) -> AuthResult<Option<Principal>> {
        match self.current() {
            Some(h) => h.authorize_jwt(token, cx).await,
            None => Ok(None),
        }
    }

    async fn authorize_key(&self, key: &str, cx: &AuthContext) -> AuthResult<Option<Principal>> {
        match self.current() {
            Some(h) => h.authorize_key(key, cx).await,
            None => Ok(None),
        }
    }

    async fn authorize_basic(
        &self,
        username: &str,
        password: &str,
        cx: &AuthContext,
    ) -> AuthResult<Option<Principal>> {
        match self.current() {
            Some(h) => h.authorize_basic(username, password, cx).await,
            None => Ok(None),
        }
    }

    async fn authorize(
        &self,
        credential: &Credential,
        cx: &AuthContext,
    ) -> AuthResult<Option<Principal>> {
        match self.current() {
            Some(h) => h.authorize(credential, cx).await,
            None => Ok(None),
        }
    }

    fn authorize_now(
        &self,
        credential: &Credential,
        cx: &AuthContext,
    ) -> Option<AuthResult<Option<Principal>>> {
        match self.current() {
            Some(h) => h.authorize_now(credential, cx),
            None => Some(Ok(None)),
        }
    }
}

/// One registered handler config as a settings page shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HandlerView {
    /// The config's id.
    pub id: String,
    /// The human-readable name.
    pub name: String,
    /// What the handler does.
    pub description: String,
    /// The config's JSON Schema.
    pub schema: Value,
    /// The stored values with secrets masked; `None` when never saved.
    pub values: Option<Value>,
    /// Whether this is the handler in force.
    pub active: bool,
    /// When the values were last saved (Unix seconds).
    pub updated_at: Option<i64>,
}

/// Why handler settings were not changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SwitchError {
    /// No registered config has this id (404).
    #[error("no auth handler config has the id `{0}`")]
    NotFound(String),
    /// The values do not fit the config (400); each error names a field.
    #[error("invalid handler config: {}", join(.0))]
    Invalid(Vec<FieldError>),
    /// The handler refused to build from valid values (400); the previous
    /// handler stays active.
    #[error("the handler could not be built: {0}")]
    Build(String),
    /// The store failed; nothing was changed.
    #[error(transparent)]
    Store(ManageError),
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl SwitchError {
    /// The HTTP status this outcome maps to.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound(_) => 404,
            Self::Invalid(_) | Self::Build(_) => 400,
            Self::Store(e) => e.status(),
        }
    }
}

impl From<ManageError> for SwitchError {
    fn from(e: ManageError) -> Self {
        Self::Store(e)
    }
}

/// Lists, validates, persists and activates handler configs: the logic
/// behind the handler-settings routes (see the [module docs](self)).
pub struct LiveHandlers {
    registry: HandlerRegistry,
    store: Arc<dyn HandlerConfigStore>,
    switch: Arc<SwitchableHandler>,
    clock: Arc<dyn Clock>,
    /// One change at a time, so the stored and the active handler agree.
    changing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for LiveHandlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveHandlers")
            .field("registry", &self.registry)
            .field("switch", &self.switch)
            .finish_non_exhaustive()
    }
}

impl LiveHandlers {
    /// A service offering the configs of `registry`, persisting to `store`
    /// and activating in `switch` (which the pipeline holds).
    pub fn new(
        registry: HandlerRegistry,
        store: Arc<dyn HandlerConfigStore>,
        switch: Arc<SwitchableHandler>,
    ) -> Self {
        Self {
            registry,
            store,
            switch,
            clock: Arc::new(SystemClock),
            changing: tokio::sync::Mutex::new(()),
        }
    }

    /// Replaces the clock (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The slot handlers are activated in.
    pub fn switch(&self) -> &Arc<SwitchableHandler> {
        &self.switch
    }

    /// Activates the stored active config, if there is one; call it once at
    /// start. Returns its id.
    ///
    /// A stored config that is no longer registered or no longer builds is
    /// an error ([`ManageError::Misconfigured`]) and nothing is activated:
    /// the service does not start with a handler other than the one chosen.
    pub async fn start(&self) -> Result<Option<String>, ManageError> {
        let _changing = self.changing.lock().await;
        let stored = self.store.handler_configs().await?;
        let Some(active) = stored.into_iter().find(|s| s.active) else {
            return Ok(None);
        };
        let handler = self
            .registry
            .build(&active.id, active.config)
            .map_err(|e| {
                ManageError::Misconfigured(format!(
                    "the stored active handler `{}` cannot be built: {e}",
                    active.id
                ))
            })?;
        self.switch.activate(active.id.clone(), handler);
        tracing::info!(handler = %active.id, "activated the stored auth handler");
        Ok(Some(active.id))
    }

    /// Every registered config, sorted by id, with its stored values masked.
    pub async fn list(&self) -> Result<Vec<HandlerView>, SwitchError> {
        let stored = self.store.handler_configs().await?;
        let active = self.switch.active_id();
        Ok(self
            .registry
            .list()
            .map(|info| self.view(info.id, &stored, active.as_deref()))
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default())
    }

    /// One config by id.
    pub async fn get(&self, id: &str) -> Result<HandlerView, SwitchError> {
        if self.registry.get(id).is_none() {
            return Err(SwitchError::NotFound(id.to_owned()));
        }
        let stored = self.store.handler_configs().await?;
        let active = self.switch.active_id();
        self.view(id, &stored, active.as_deref())
            .ok_or_else(|| SwitchError::NotFound(id.to_owned()))
    }

    /// Validates `values` for the config `id`, builds its handler, persists
    /// the values as the active config and activates the handler, in that
    /// order: a config that does not validate or build changes nothing, and
    /// a store failure leaves the previous handler active.
    ///
    /// A secret field sent as [`MASK`] keeps its stored value.
    pub async fn update(&self, id: &str, values: Value) -> Result<HandlerView, SwitchError> {
        let Some(info) = self.registry.get(id) else {
            return Err(SwitchError::NotFound(id.to_owned()));
        };
        let schema = info.schema.as_value().clone();
        let _changing = self.changing.lock().await;
        let stored = self.store.handler_configs().await?;
        let previous = stored.iter().find(|s| s.id == id).map(|s| &s.config);
        let mut values = values;
        unmask(&mut values, previous, &schema, &schema, "")?;
        self.registry.validate(id, &values).map_err(|e| match e {
            ConfigError::Invalid(fields) => SwitchError::Invalid(fields),
            ConfigError::UnknownHandler(id) => SwitchError::NotFound(id),
            other => SwitchError::Build(other.to_string()),
        })?;
        let handler = self.registry.build(id, values.clone()).map_err(|e| {
            tracing::warn!(handler = %id, error = %e, "a new auth handler config did not build; the previous handler stays active");
            match e {
                AuthError::Misconfigured(m) => SwitchError::Build(m),
                other => SwitchError::Build(other.to_string()),
            }
        })?;
        let now = self.clock.now();
        self.store
            .save_handler_config(id, &values, true, now)
            .await?;
        self.switch.activate(id, handler);
        tracing::info!(handler = %id, "activated a new auth handler config");
        drop(_changing);
        self.get(id).await
    }

    fn view(
        &self,
        id: &str,
        stored: &[StoredHandlerConfig],
        active: Option<&str>,
    ) -> Option<HandlerView> {
        let info = self.registry.get(id)?;
        let schema = info.schema.as_value().clone();
        let saved = stored.iter().find(|s| s.id == id);
        Some(HandlerView {
            id: info.id.to_owned(),
            name: info.name.to_owned(),
            description: info.description.to_owned(),
            values: saved.map(|s| {
                let mut v = s.config.clone();
                mask(&mut v, &schema, &schema, false);
                v
            }),
            schema,
            active: active == Some(id),
            updated_at: saved.map(|s| s.updated_at),
        })
    }
}

/// Whether a field name says it holds a secret.
fn secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "secret", "token", "key"]
        .iter()
        .any(|word| name.contains(word))
}

/// `schema` with a local `$ref` followed (once per level).
fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix('#')
            .and_then(|p| root.pointer(p))
            .unwrap_or(schema),
        None => schema,
    }
}

/// Whether the schema of a field marks it secret.
fn secret_schema(schema: &Value) -> bool {
    schema.get("writeOnly") == Some(&Value::Bool(true))
        || schema.get("format").and_then(Value::as_str) == Some("password")
}

/// The schema of property `name` of an object schema.
fn property<'a>(schema: &'a Value, root: &'a Value, name: &str) -> &'a Value {
    static NONE: Value = Value::Null;
    resolve(schema, root)
        .get("properties")
        .and_then(|p| p.get(name))
        .map_or(&NONE, |s| resolve(s, root))
}

/// Replaces every secret in `value` with [`MASK`].
fn mask(value: &mut Value, schema: &Value, root: &Value, secret: bool) {
    if value.is_null() {
        return;
    }
    if secret || secret_schema(resolve(schema, root)) {
        *value = Value::String(MASK.to_owned());
        return;
    }
    match value {
        Value::Object(map) => {
            for (name, v) in map.iter_mut() {
                mask(v, property(schema, root, name), root, secret_name(name));
            }
        }
        Value::Array(items) => {
            let item = resolve(schema, root).get("items").unwrap_or(&Value::Null);
            for v in items {
                mask(v, item, root, false);
            }
        }
        _ => {}
    }
}

/// Puts the stored value back wherever a secret field was sent as [`MASK`].
fn unmask(
    value: &mut Value,
    previous: Option<&Value>,
    schema: &Value,
    root: &Value,
    path: &str,
) -> Result<(), SwitchError> {
    let Value::Object(map) = value else {
        return Ok(());
    };
    let empty = Map::new();
    let previous = previous.and_then(Value::as_object).unwrap_or(&empty);
    for (name, v) in map.iter_mut() {
        let field = property(schema, root, name);
        let here = format!("{path}/{}", name.replace('~', "~0").replace('/', "~1"));
        let secret = secret_name(name) || secret_schema(field);
        if secret && v.as_str() == Some(MASK) {
            match previous.get(name) {
                Some(stored) => *v = stored.clone(),
                None => {
                    return Err(SwitchError::Invalid(vec![FieldError::new(
                        here,
                        "no value is stored to keep: send the secret itself",
                    )]));
                }
            }
        } else if !secret {
            unmask(v, previous.get(name), field, root, &here)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
