#![doc = include_str!("../README.md")]

pub mod apikey;
pub mod basic;
pub mod context;
pub mod credential;
pub mod error;
pub mod handler;
pub mod hooks;
pub mod jwt;
pub mod password;
pub mod permission;
pub mod pipeline;
pub mod principal;
pub mod revocation;
pub mod session;
pub mod settings;
pub mod store;
pub mod throttle;

pub use apikey::{ApiKeyHandler, ApiKeyHandlerBuilder, DEFAULT_USER_ID};
pub use async_trait::async_trait;
pub use basic::BasicHandler;
pub use context::AuthContext;
pub use credential::Credential;
pub use error::{AuthError, AuthResult};
pub use handler::AuthHandler;
pub use hooks::{AfterAuth, AfterHook, BeforeAuth, BeforeHook, BoxFuture};
pub use jwt::{JwtHandler, TokenIssuer};
pub use permission::{AuthPermission, AuthResource, Permission, PermissionSet, Resource, Scope};
pub use pipeline::{Pipeline, PipelineBuilder};
pub use principal::{AuthMethod, Channel, Principal, Requirement, RoleMap};
pub use settings::Settings;
pub use store::{MemoryUserStore, UserRecord, UserStore};
