//! Handler configurations: typed settings that build an [`AuthHandler`],
//! described by a JSON Schema, and the [`HandlerRegistry`] that lists,
//! validates and builds them by id.
//!
//! A config is a serde struct with `#[derive(AuthHandlerConfig)]`; the
//! handler it builds implements [`FromConfig`]. `#[auth_handler(config = ..)]`
//! on the handler type adds the config to a process-wide list, so
//! [`HandlerRegistry::with_registered`] finds handlers from every crate linked
//! into the program without a central list; [`HandlerRegistry::register`]
//! adds one explicitly.
//!
//! ```
//! use auth_core::{
//!     async_trait, auth_handler, AuthContext, AuthHandler, AuthHandlerConfig, AuthMethod,
//!     AuthResult, FromConfig, HandlerRegistry, Principal,
//! };
//!
//! /// Accepts one fixed API key.
//! #[derive(AuthHandlerConfig, serde::Deserialize, schemars::JsonSchema)]
//! #[auth_config(name = "Fixed key", handler = FixedKey)]
//! struct FixedKeyConfig {
//!     /// The key callers present.
//!     key: String,
//! }
//!
//! #[auth_handler(config = FixedKeyConfig)]
//! struct FixedKey(String);
//!
//! impl FromConfig<FixedKeyConfig> for FixedKey {
//!     fn from_config(config: FixedKeyConfig) -> AuthResult<Self> {
//!         Ok(FixedKey(config.key))
//!     }
//! }
//!
//! #[async_trait]
//! impl AuthHandler for FixedKey {
//!     fn name(&self) -> &str { "fixed-key" }
//!     async fn authorize_key(&self, key: &str, _: &AuthContext) -> AuthResult<Option<Principal>> {
//!         // A real handler compares in constant time; see `ApiKeyHandler`.
//!         Ok((key == self.0).then(|| Principal::new("svc", AuthMethod::Custom { handler: "fixed-key".into() })))
//!     }
//! }
//!
//! let registry = HandlerRegistry::with_registered().unwrap();
//! let info = registry.get("FixedKeyConfig").unwrap();
//! assert_eq!(info.name, "Fixed key");
//! assert_eq!(info.description, "Accepts one fixed API key.");
//!
//! let err = registry.validate("FixedKeyConfig", &serde_json::json!({"key": 5})).unwrap_err();
//! assert_eq!(err.to_string(), "invalid handler config: /key: invalid type: integer `5`, expected a string");
//! let handler = registry.build("FixedKeyConfig", serde_json::json!({"key": "k-1"})).unwrap();
//! assert_eq!(handler.name(), "fixed-key");
//! ```

use std::any::TypeId;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt;
use std::sync::Arc;

use schemars::{JsonSchema, Schema};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::__private::ConfigOf;
use crate::error::{AuthError, AuthResult};
use crate::handlers::AuthHandler;

/// A handler's configuration: what the handler-settings routes list,
/// validate and activate.
///
/// Derive it (`#[derive(AuthHandlerConfig, Deserialize, JsonSchema)]` with
/// `#[auth_config(name = "...", handler = MyHandler)]`) rather than
/// implementing it by hand; see the [module docs](self).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an auth handler config",
    label = "not a handler config",
    note = "derive it: `#[derive(AuthHandlerConfig, serde::Deserialize, schemars::JsonSchema)]` with `#[auth_config(name = \"...\", handler = MyHandler)]`"
)]
pub trait AuthHandlerConfig: ConfigDeserialize + ConfigSchema + 'static {
    /// The handler this config builds.
    type Handler: FromConfig<Self>;
    /// The stable identifier stored in settings and used in routes; the type
    /// name unless `#[auth_config(id = "...")]` sets one. ASCII letters,
    /// digits, `_`, `-` and `.`.
    const ID: &'static str;
    /// A human-readable name, e.g. `"Custom IdP"`.
    const NAME: &'static str;
    /// What the handler does, for a settings page.
    const DESCRIPTION: &'static str;

    /// Builds the handler from this config, through [`FromConfig`].
    fn build(self) -> AuthResult<Arc<dyn AuthHandler>> {
        Ok(Arc::new(Self::Handler::from_config(self)?))
    }
}

/// How a handler is made from its config `C`: the contract between
/// `#[auth_config(handler = MyHandler)]` and the handler type.
///
/// ```
/// use auth_core::{async_trait, AuthError, AuthHandler, AuthResult, FromConfig};
///
/// struct IdpConfig { server_url: String }
/// struct IdpHandler { server_url: String }
///
/// impl FromConfig<IdpConfig> for IdpHandler {
///     fn from_config(config: IdpConfig) -> AuthResult<Self> {
///         if !config.server_url.starts_with("https://") {
///             return Err(AuthError::Misconfigured("the IdP must be reached over https".into()));
///         }
///         Ok(IdpHandler { server_url: config.server_url })
///     }
/// }
/// # #[async_trait] impl AuthHandler for IdpHandler { fn name(&self) -> &str { "idp" } }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be built from `{C}`",
    label = "no `FromConfig<{C}>` for this handler",
    note = "implement `auth_core::FromConfig<{C}>` for `{Self}`: `fn from_config(config: {C}) -> auth_core::AuthResult<Self>`"
)]
pub trait FromConfig<C>: AuthHandler + Sized {
    /// Builds the handler; an `Err` (usually [`AuthError::Misconfigured`])
    /// refuses the config.
    fn from_config(config: C) -> AuthResult<Self>;
}

/// Reads a config from JSON, naming the field of an invalid value.
///
/// Implemented for every type that implements `serde::Deserialize`; a config
/// needs nothing else.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be read from JSON settings",
    label = "does not implement `serde::Deserialize`",
    note = "a handler config must also derive `serde::Deserialize`: add `#[derive(serde::Deserialize)]` to `{Self}`"
)]
pub trait ConfigDeserialize: Sized {
    /// Deserializes `value`; the error names the first invalid field.
    fn from_json(value: &Value) -> Result<Self, FieldError>;
}

#[diagnostic::do_not_recommend]
impl<T: DeserializeOwned> ConfigDeserialize for T {
    fn from_json(value: &Value) -> Result<Self, FieldError> {
        serde_path_to_error::deserialize(value).map_err(FieldError::from_serde)
    }
}

/// Describes a config as a JSON Schema, for settings forms.
///
/// Implemented for every type that implements `schemars::JsonSchema`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no JSON Schema",
    label = "does not implement `schemars::JsonSchema`",
    note = "a handler config must also derive `schemars::JsonSchema`: add `#[derive(schemars::JsonSchema)]` to `{Self}`"
)]
pub trait ConfigSchema {
    /// The JSON Schema (draft 2020-12) of the type.
    fn config_schema() -> Schema;
}

#[diagnostic::do_not_recommend]
impl<T: JsonSchema> ConfigSchema for T {
    fn config_schema() -> Schema {
        schemars::SchemaGenerator::default().into_root_schema_for::<T>()
    }
}

/// One invalid value in a config: where, and what is wrong with it.
///
/// ```
/// use auth_core::handlers::config::FieldError;
///
/// let e = FieldError::new("/server_url", "missing field `server_url`");
/// assert_eq!(e.to_string(), "/server_url: missing field `server_url`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field, as a JSON Pointer (RFC 6901) into the config: `/server_url`,
    /// `/keys/0/kid`; empty for the config as a whole.
    pub path: String,
    /// What is wrong, as serde words it: `invalid type: integer `5`, expected a string`.
    pub message: String,
}

impl FieldError {
    /// An error at `path` (a JSON Pointer).
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }

    fn from_serde(err: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let mut path = String::new();
        for segment in err.path().iter() {
            use serde_path_to_error::Segment;
            match segment {
                Segment::Seq { index } => push_pointer(&mut path, &index.to_string()),
                Segment::Map { key } => push_pointer(&mut path, key),
                Segment::Enum { variant } => push_pointer(&mut path, variant),
                Segment::Unknown => push_pointer(&mut path, "?"),
            }
        }
        let message = err.into_inner().to_string();
        // serde reports a missing field at the struct that lacks it; the
        // field's own path is the one a form can point at. (An unknown field
        // already has its own path.)
        if let Some(field) = quoted_field(&message, "missing field `") {
            push_pointer(&mut path, field);
        }
        Self { path, message }
    }
}

/// The name in serde's "missing field `x`" / "unknown field `x`, ..." messages.
fn quoted_field<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split_once('`').map(|(field, _)| field)
}

fn push_pointer(path: &mut String, token: &str) {
    path.push('/');
    path.push_str(&token.replace('~', "~0").replace('/', "~1"));
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Why a registry refused a config or a registration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// No registered config has this id.
    #[error("no auth handler config has the id `{0}`")]
    UnknownHandler(String),
    /// The JSON is not a valid config; each error names a field.
    #[error("invalid handler config: {}", join(.0))]
    Invalid(Vec<FieldError>),
    /// Two different config types claim the same id.
    #[error("the handler config id `{id}` is claimed by both `{first}` and `{second}`")]
    DuplicateId {
        /// The contested id.
        id: &'static str,
        /// The type registered first.
        first: &'static str,
        /// The type that was refused.
        second: &'static str,
    },
    /// A hand-written [`AuthHandlerConfig`] has an id the routes cannot carry.
    #[error("`{0}` is not a valid handler config id: use ASCII letters, digits, `_`, `-` and `.`")]
    InvalidId(&'static str),
}

impl ConfigError {
    /// The field errors, when the config itself was invalid.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Invalid(errors) => errors,
            _ => &[],
        }
    }
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<ConfigError> for AuthError {
    fn from(err: ConfigError) -> Self {
        AuthError::Misconfigured(err.to_string())
    }
}

/// What the registry tells about one config: for a list of handlers a
/// settings page can offer.
#[derive(Debug, Clone, Serialize)]
pub struct HandlerInfo {
    /// The stable identifier ([`AuthHandlerConfig::ID`]).
    pub id: &'static str,
    /// The human-readable name.
    pub name: &'static str,
    /// What the handler does.
    pub description: &'static str,
    /// The config's JSON Schema.
    pub schema: Schema,
}

type BuildFn = fn(&Value) -> Result<AuthResult<Arc<dyn AuthHandler>>, FieldError>;

struct Registered {
    info: HandlerInfo,
    type_id: TypeId,
    type_name: &'static str,
    validate: fn(&Value) -> Result<(), FieldError>,
    build: BuildFn,
}

/// The configs a program knows, by id: lists them, validates JSON against
/// them and builds handlers from them.
///
/// Ids are listed in sorted order. See the [module docs](self) for an example.
#[derive(Default)]
pub struct HandlerRegistry {
    entries: BTreeMap<&'static str, Registered>,
}

impl fmt::Debug for HandlerRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.entries.keys()).finish()
    }
}

impl HandlerRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry holding every config that an `#[auth_handler(config = ..)]`
    /// in the program registered, from any crate linked into it.
    ///
    /// Fails when two different config types claim one id.
    pub fn with_registered() -> Result<Self, ConfigError> {
        let mut registry = Self::new();
        for registration in inventory::iter::<Registration> {
            (registration.register)(&mut registry)?;
        }
        Ok(registry)
    }

    /// Adds `C`. Adding the same type again changes nothing; another type
    /// with the same id is refused.
    pub fn register<C: AuthHandlerConfig>(&mut self) -> Result<&mut Self, ConfigError> {
        if !valid_id(C::ID) {
            return Err(ConfigError::InvalidId(C::ID));
        }
        let type_name = std::any::type_name::<C>();
        match self.entries.entry(C::ID) {
            Entry::Occupied(existing) => {
                if existing.get().type_id != TypeId::of::<C>() {
                    return Err(ConfigError::DuplicateId {
                        id: C::ID,
                        first: existing.get().type_name,
                        second: type_name,
                    });
                }
            }
            Entry::Vacant(slot) => {
                slot.insert(Registered {
                    info: HandlerInfo {
                        id: C::ID,
                        name: C::NAME,
                        description: C::DESCRIPTION,
                        schema: C::config_schema(),
                    },
                    type_id: TypeId::of::<C>(),
                    type_name,
                    validate: |value| C::from_json(value).map(drop),
                    build: |value| C::from_json(value).map(C::build),
                });
            }
        }
        Ok(self)
    }

    /// Every config, sorted by id.
    pub fn list(&self) -> impl ExactSizeIterator<Item = &HandlerInfo> {
        self.entries.values().map(|e| &e.info)
    }

    /// The config with this id.
    pub fn get(&self, id: &str) -> Option<&HandlerInfo> {
        self.entries.get(id).map(|e| &e.info)
    }

    /// Checks `config` against the config type with this id, without building
    /// anything.
    ///
    /// serde stops at the first invalid value, so [`ConfigError::Invalid`]
    /// holds one error today; its path names the field.
    pub fn validate(&self, id: &str, config: &Value) -> Result<(), ConfigError> {
        let entry = self.entry(id)?;
        (entry.validate)(config).map_err(|e| ConfigError::Invalid(vec![e]))
    }

    /// Builds the handler for `config`. An unknown id or an invalid config is
    /// [`AuthError::Misconfigured`] with the [`ConfigError`]'s message; the
    /// handler's own [`FromConfig`] error is returned as it is.
    pub fn build(&self, id: &str, config: Value) -> AuthResult<Arc<dyn AuthHandler>> {
        let entry = self.entry(id)?;
        (entry.build)(&config).map_err(|e| ConfigError::Invalid(vec![e]))?
    }

    fn entry(&self, id: &str) -> Result<&Registered, ConfigError> {
        self.entries
            .get(id)
            .ok_or_else(|| ConfigError::UnknownHandler(id.to_owned()))
    }
}

/// Whether an id can stand in a URL path segment as it is.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// One `#[auth_handler(config = ..)]`, collected process-wide by `inventory`.
#[doc(hidden)]
pub struct Registration {
    register: fn(&mut HandlerRegistry) -> Result<(), ConfigError>,
}

impl Registration {
    /// The registration of `C`, the config of handler `H`.
    pub const fn of<C: ConfigOf<H>, H>() -> Self {
        Self {
            register: register_as::<C>,
        }
    }
}

fn register_as<C: AuthHandlerConfig>(registry: &mut HandlerRegistry) -> Result<(), ConfigError> {
    registry.register::<C>().map(drop)
}

inventory::collect!(Registration);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_fit_a_url_segment() {
        assert!(valid_id("IdpConfig"));
        assert!(valid_id("idp.v2-beta_1"));
        assert!(!valid_id(""));
        assert!(!valid_id("my idp"));
        assert!(!valid_id("idp/2"));
    }

    #[test]
    fn pointer_tokens_are_escaped() {
        let mut p = String::new();
        push_pointer(&mut p, "a/b");
        push_pointer(&mut p, "c~d");
        assert_eq!(p, "/a~1b/c~0d");
    }

    #[test]
    fn field_names_are_read_from_serde_messages() {
        assert_eq!(
            quoted_field("missing field `url`", "missing field `"),
            Some("url")
        );
        assert_eq!(
            quoted_field("missing field `a`, b", "missing field `"),
            Some("a")
        );
        assert_eq!(quoted_field("invalid type", "missing field `"), None);
    }
}
