//! The JWT engine: keys, validation, claims mapping, the handler and the issuer.
//!
//! ```
//! use auth_core::jwt::{Algorithm, JwtHandler, JwtKey, KeySet, TokenIssuer, Validation};
//! use auth_core::{AuthMethod, PermissionSet, Principal};
//!
//! let key = JwtKey::hmac(Algorithm::HS256, b"an-hmac-secret-of-at-least-32-bytes!").unwrap();
//! let keys = std::sync::Arc::new(KeySet::single(key));
//! let issuer = TokenIssuer::new(keys.clone(), None).unwrap().issuer("me").audience("api");
//! let token = issuer
//!     .issue(&Principal::new("42", AuthMethod::Basic).with_permissions(PermissionSet::base()))
//!     .unwrap();
//!
//! let handler = JwtHandler::new(keys, Validation::new().issuer("me").audience("api"));
//! let claims = handler.validator().validate(token.expose()).unwrap().claims;
//! assert_eq!(claims["sub"], "42");
//! ```

mod cache;
mod claims;
mod handler;
mod issuer;
pub(crate) mod json;
mod key;
mod mapper;
mod validate;
mod weak;

pub use cache::VerifiedCache;
pub use claims::{ClaimMapping, ClaimPath};
pub use key::{Algorithm, JwtKey, KeyError, KeySet, MIN_RSA_BITS};
pub(crate) use validate::strip_prefix_ci;
pub use validate::{
    DEFAULT_LEEWAY, DEFAULT_MAX_HEADER_LEN, DEFAULT_MAX_LIFETIME, DEFAULT_MAX_TOKEN_LEN,
    JwtRejection, JwtValidator, ValidToken, Validation,
};

pub use handler::{DEFAULT_VERIFIED_CACHE, JwtHandler};
pub use issuer::{DEFAULT_TOKEN_MINUTES, IssuedToken, TokenIssuer, sign_compact};
pub use mapper::{ClaimsMapper, DefaultClaimsMapper};
