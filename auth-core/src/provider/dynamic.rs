//! [`DynProvider`]: any [`AuthProvider`] behind one object-safe type, taking
//! JSON packages, so a web layer can hold `Arc<dyn DynProvider>` whatever
//! the provider's package types are.
//!
//! Each package is read with `serde_path_to_error`: a body that does not
//! fit is [`ManageError::Invalid`] naming the field (`password: missing
//! field` or `roles[1]: invalid type`). The packages' JSON Schemas are at
//! hand ([`DynProvider::package_schema`]) for the OpenAPI document.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use auth_core::provider::dynamic::{DynProvider, PackageKind};
//! use auth_core::store::ManageError;
//! use auth_core::provider::{AuthProvider, ClientData, NoPackage};
//! use auth_core::{async_trait, store::ManageResult};
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Pin { pin: u32 }
//!
//! struct PinProvider;
//!
//! #[async_trait]
//! impl AuthProvider for PinProvider {
//!     type AuthPackage = Pin;
//!     type CreatePackage = NoPackage;
//!     type RegisterPackage = NoPackage;
//!     type UpdatePackage = NoPackage;
//!     type SelfUpdatePackage = NoPackage;
//!     fn name(&self) -> &str { "pin" }
//!     async fn authenticate(&self, package: Pin) -> ManageResult<ClientData> {
//!         Err(ManageError::Unauthenticated)
//!     }
//! }
//!
//! let provider: Arc<dyn DynProvider> = Arc::new(PinProvider);
//! let err = provider.authenticate(serde_json::json!({"pin": "x"})).await.unwrap_err();
//! assert!(matches!(err, ManageError::Invalid(m) if m.starts_with("pin:")));
//! assert_eq!(provider.create_client(serde_json::json!({})).await.unwrap_err().status(), 501);
//! assert!(provider.package_schema(PackageKind::Auth)["properties"]["pin"].is_object());
//! # });
//! ```

use std::collections::BTreeSet;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::provider::{AuthProvider, ClientData};
use crate::store::{ManageError, ManageResult, Page, UserFilter};

/// Which of a provider's packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PackageKind {
    /// What a client sends to log in.
    Auth,
    /// What an administrator sends to create a client.
    Create,
    /// What a client sends to register itself.
    Register,
    /// What an administrator sends to change a client.
    Update,
    /// What a client sends to change itself.
    SelfUpdate,
}

impl PackageKind {
    /// Every kind.
    pub const ALL: [PackageKind; 5] = [
        Self::Auth,
        Self::Create,
        Self::Register,
        Self::Update,
        Self::SelfUpdate,
    ];
}

/// An identity provider with JSON packages: what the management routes hold.
///
/// Every [`AuthProvider`] is one (blanket implementation); wrap it in an
/// `Arc<dyn DynProvider>`. The methods mirror [`AuthProvider`]'s, and a
/// capability the provider does not offer answers
/// [`ManageError::Unsupported`] (501).
#[async_trait]
pub trait DynProvider: Send + Sync + 'static {
    /// The provider's name.
    fn name(&self) -> &str;

    /// The schema of one of its packages, as an OpenAPI 3.0 schema object
    /// (see [`schema_of`]).
    fn package_schema(&self, kind: PackageKind) -> Value;

    /// Checks a login package; see [`AuthProvider::authenticate`].
    async fn authenticate(&self, package: Value) -> ManageResult<ClientData>;

    /// See [`AuthProvider::initialized`].
    async fn initialized(&self) -> ManageResult<bool>;

    /// See [`AuthProvider::create_client`].
    async fn create_client(&self, package: Value) -> ManageResult<ClientData>;

    /// See [`AuthProvider::client_self_register`].
    async fn client_self_register(&self, package: Value) -> ManageResult<ClientData>;

    /// See [`AuthProvider::enable_client`].
    async fn enable_client(&self, client_id: &str) -> ManageResult<()>;

    /// See [`AuthProvider::disable_client`].
    async fn disable_client(&self, client_id: &str) -> ManageResult<()>;

    /// See [`AuthProvider::delete_client`].
    async fn delete_client(&self, client_id: &str) -> ManageResult<()>;

    /// See [`AuthProvider::add_roles`].
    async fn add_roles(
        &self,
        client_id: &str,
        roles: &BTreeSet<String>,
    ) -> ManageResult<ClientData>;

    /// See [`AuthProvider::delete_roles`].
    async fn delete_roles(
        &self,
        client_id: &str,
        roles: &BTreeSet<String>,
    ) -> ManageResult<ClientData>;

    /// See [`AuthProvider::update_client`].
    async fn update_client(&self, client_id: &str, package: Value) -> ManageResult<ClientData>;

    /// See [`AuthProvider::client_self_update`].
    async fn client_self_update(&self, client_id: &str, package: Value)
    -> ManageResult<ClientData>;

    /// See [`AuthProvider::list_clients`].
    async fn list_clients(&self, role: Option<&str>, page: Page) -> ManageResult<Vec<ClientData>>;

    /// See [`AuthProvider::search_clients`].
    async fn search_clients(
        &self,
        filter: &UserFilter,
        page: Page,
    ) -> ManageResult<Vec<ClientData>>;

    /// See [`AuthProvider::get_client`].
    async fn get_client(&self, client_id: &str) -> ManageResult<ClientData>;
}

/// Reads a package, naming the field that does not fit.
///
/// ```
/// use auth_core::provider::dynamic::parse_package;
/// #[derive(Debug, serde::Deserialize)]
/// struct Login { username: String }
/// let err = parse_package::<Login>(serde_json::json!({"username": 7})).unwrap_err();
/// assert!(err.to_string().contains("username: invalid type"), "{err}");
/// ```
pub fn parse_package<T: DeserializeOwned>(package: Value) -> ManageResult<T> {
    serde_path_to_error::deserialize(package).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            ManageError::Invalid(inner.to_string())
        } else {
            ManageError::Invalid(format!("{path}: {inner}"))
        }
    })
}

/// The schema of `T` as an OpenAPI 3.0 schema object: self-contained
/// (subschemas inlined), `nullable` for optional values, no `$schema`.
pub fn schema_of<T: JsonSchema>() -> Value {
    let generator = schemars::generate::SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    serde_json::to_value(generator.into_root_schema_for::<T>()).unwrap_or(Value::Null)
}

#[async_trait]
impl<P: AuthProvider> DynProvider for P {
    fn name(&self) -> &str {
        AuthProvider::name(self)
    }

    fn package_schema(&self, kind: PackageKind) -> Value {
        match kind {
            PackageKind::Auth => schema_of::<P::AuthPackage>(),
            PackageKind::Create => schema_of::<P::CreatePackage>(),
            PackageKind::Register => schema_of::<P::RegisterPackage>(),
            PackageKind::Update => schema_of::<P::UpdatePackage>(),
            PackageKind::SelfUpdate => schema_of::<P::SelfUpdatePackage>(),
        }
    }

    async fn authenticate(&self, package: Value) -> ManageResult<ClientData> {
        AuthProvider::authenticate(self, parse_package(package)?).await
    }

    async fn initialized(&self) -> ManageResult<bool> {
        AuthProvider::initialized(self).await
    }

    async fn create_client(&self, package: Value) -> ManageResult<ClientData> {
        AuthProvider::create_client(self, parse_package(package)?).await
    }

    async fn client_self_register(&self, package: Value) -> ManageResult<ClientData> {
        AuthProvider::client_self_register(self, parse_package(package)?).await
    }

    async fn enable_client(&self, client_id: &str) -> ManageResult<()> {
        AuthProvider::enable_client(self, client_id).await
    }

    async fn disable_client(&self, client_id: &str) -> ManageResult<()> {
        AuthProvider::disable_client(self, client_id).await
    }

    async fn delete_client(&self, client_id: &str) -> ManageResult<()> {
        AuthProvider::delete_client(self, client_id).await
    }

    async fn add_roles(
        &self,
        client_id: &str,
        roles: &BTreeSet<String>,
    ) -> ManageResult<ClientData> {
        AuthProvider::add_roles(self, client_id, roles).await
    }

    async fn delete_roles(
        &self,
        client_id: &str,
        roles: &BTreeSet<String>,
    ) -> ManageResult<ClientData> {
        AuthProvider::delete_roles(self, client_id, roles).await
    }

    async fn update_client(&self, client_id: &str, package: Value) -> ManageResult<ClientData> {
        AuthProvider::update_client(self, client_id, parse_package(package)?).await
    }

    async fn client_self_update(
        &self,
        client_id: &str,
        package: Value,
    ) -> ManageResult<ClientData> {
        AuthProvider::client_self_update(self, client_id, parse_package(package)?).await
    }

    async fn list_clients(&self, role: Option<&str>, page: Page) -> ManageResult<Vec<ClientData>> {
        AuthProvider::list_clients(self, role, page).await
    }

    async fn search_clients(
        &self,
        filter: &UserFilter,
        page: Page,
    ) -> ManageResult<Vec<ClientData>> {
        AuthProvider::search_clients(self, filter, page).await
    }

    async fn get_client(&self, client_id: &str) -> ManageResult<ClientData> {
        AuthProvider::get_client(self, client_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::NoPackage;

    #[derive(Debug, serde::Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Login {
        username: String,
        #[allow(dead_code)]
        roles: Vec<String>,
    }

    struct Fixed;

    #[async_trait]
    impl AuthProvider for Fixed {
        type AuthPackage = Login;
        type CreatePackage = NoPackage;
        type RegisterPackage = NoPackage;
        type UpdatePackage = NoPackage;
        type SelfUpdatePackage = NoPackage;

        fn name(&self) -> &str {
            "fixed"
        }

        async fn authenticate(&self, package: Login) -> ManageResult<ClientData> {
            Ok(ClientData {
                client_id: package.username,
                ..ClientData::default()
            })
        }
    }

    fn provider() -> std::sync::Arc<dyn DynProvider> {
        std::sync::Arc::new(Fixed)
    }

    #[tokio::test]
    async fn a_bad_package_is_invalid_naming_the_field() {
        let p = provider();
        let err = p
            .authenticate(serde_json::json!({"username": "a", "roles": ["x", 2]}))
            .await
            .expect_err("bad");
        assert!(
            matches!(&err, ManageError::Invalid(m) if m.starts_with("roles[1]:")),
            "{err}"
        );
        let err = p
            .authenticate(serde_json::json!({"roles": []}))
            .await
            .expect_err("missing");
        assert!(
            matches!(&err, ManageError::Invalid(m) if m.contains("username")),
            "{err}"
        );
        let err = p
            .authenticate(serde_json::json!("text"))
            .await
            .expect_err("not an object");
        assert_eq!(err.status(), 400);
    }

    #[tokio::test]
    async fn a_good_package_reaches_the_provider() {
        let client = provider()
            .authenticate(serde_json::json!({"username": "ann", "roles": []}))
            .await
            .expect("ok");
        assert_eq!(client.client_id, "ann");
    }

    #[tokio::test]
    async fn capabilities_left_out_answer_unsupported() {
        let p = provider();
        let none = BTreeSet::new();
        let page = Page::default();
        let outcomes = [
            p.initialized().await.err(),
            p.create_client(serde_json::json!({})).await.err(),
            p.client_self_register(serde_json::json!({})).await.err(),
            p.enable_client("a").await.err(),
            p.disable_client("a").await.err(),
            p.delete_client("a").await.err(),
            p.add_roles("a", &none).await.err(),
            p.delete_roles("a", &none).await.err(),
            p.update_client("a", serde_json::json!({})).await.err(),
            p.client_self_update("a", serde_json::json!({})).await.err(),
            p.list_clients(None, page).await.err(),
            p.search_clients(&UserFilter::default(), page).await.err(),
            p.get_client("a").await.err(),
        ];
        for outcome in outcomes {
            assert_eq!(outcome.map(|e| e.status()), Some(501));
        }
    }

    #[test]
    fn package_schemas_describe_the_packages() {
        let p = provider();
        let auth = p.package_schema(PackageKind::Auth);
        assert_eq!(auth["type"], "object");
        assert!(auth["properties"]["username"].is_object(), "{auth}");
        assert_eq!(
            p.package_schema(PackageKind::Create)["type"],
            "object",
            "NoPackage is an empty object"
        );
    }
}
