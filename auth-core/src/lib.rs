#![doc = include_str!("../README.md")]

// Lets `::auth_core::...` paths from the macros resolve inside this crate too.
extern crate self as auth_core;

#[doc(hidden)]
pub mod __private;

pub mod clock;
pub mod context;
pub mod credential;
pub mod error;
pub mod grant;
pub mod handlers;
pub mod hooks;
pub mod jwt;
pub mod oidc;
pub mod password;
pub mod permission;
pub mod pipeline;
pub mod principal;
pub mod provider;
pub mod random;
pub mod settings;
pub mod store;
pub mod throttle;
pub mod tokens;

pub use async_trait::async_trait;
/// The derives and attributes of `auth-macros`; each names its runtime items
/// through this crate.
pub use auth_macros::{
    AuthHandlerConfig, Permission, Resource, after_authentication, auth_handler,
    before_authentication,
};
pub use context::AuthContext;
pub use credential::Credential;
pub use error::{AuthError, AuthResult};
pub use handlers::AuthHandler;
pub use handlers::apikey::{ApiKeyHandler, ApiKeyHandlerBuilder, DEFAULT_USER_ID};
pub use handlers::basic::BasicHandler;
pub use handlers::config::{
    AuthHandlerConfig, ConfigError, FieldError, FromConfig, HandlerInfo, HandlerRegistry,
};
pub use hooks::{AfterAuth, AfterHook, BeforeAuth, BeforeHook, BoxFuture};
pub use jwt::{JwtHandler, TokenIssuer};
pub use oidc::OidcHandler;
pub use permission::{AuthPermission, AuthResource, Permission, PermissionSet, Resource, Scope};
pub use pipeline::{Pipeline, PipelineBuilder};
pub use principal::{AuthMethod, Channel, Principal, Requirement, RoleMap};
pub use settings::Settings;
pub use store::{MemoryUserStore, UserRecord, UserStore};
