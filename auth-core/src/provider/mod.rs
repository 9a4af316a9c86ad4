//! Identity providers: who the clients are, how they log in and how they are
//! managed.
//!
//! A provider declares its own login package ([`AuthProvider::AuthPackage`]),
//! so the login route reads the request body into it and the OpenAPI
//! document shows its schema. Everything beyond logging in is an optional
//! capability: a method a provider does not override answers
//! [`ManageError::Unsupported`], which the routes turn into 501.

pub mod dynamic;
pub mod store;

pub use dynamic::DynProvider;
pub use store::StoreProvider;

use std::collections::BTreeSet;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::principal::{AuthMethod, Principal};
use crate::store::{ManageError, ManageResult, Page, UserFilter};

/// A client (user) as a provider describes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClientData {
    /// The client's stable id: the `sub` of its tokens.
    pub client_id: String,
    /// Its role names.
    pub roles: BTreeSet<String>,
    /// Whatever else the provider knows (name, mail, enabled flag...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ClientData {
    /// The client as a principal: its id, `extra.username` as name (else
    /// the id), its roles (not expanded), and `extra.permissions` when they
    /// read as a permission set (otherwise none: roles alone grant then).
    pub fn principal(&self) -> Principal {
        let name = self
            .extra
            .get("username")
            .and_then(|u| u.as_str())
            .unwrap_or(&self.client_id)
            .to_owned();
        let mut p = Principal::new(self.client_id.clone(), AuthMethod::Jwt).with_name(name);
        p.roles = self.roles.clone();
        if let Some(permissions) = self.extra.get("permissions") {
            p.permissions = serde_json::from_value(permissions.clone()).unwrap_or_default();
        }
        p
    }
}

/// The package of a capability that takes no input, or that a provider does
/// not offer: any JSON object is accepted and ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NoPackage {}

/// An identity provider: authenticates clients and, optionally, manages them.
///
/// ```
/// use auth_core::provider::{AuthProvider, ClientData, NoPackage};
/// use auth_core::store::{ManageError, ManageResult};
/// use auth_core::async_trait;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Pin { pin: String }
///
/// struct PinProvider;
///
/// #[async_trait]
/// impl AuthProvider for PinProvider {
///     type AuthPackage = Pin;
///     type CreatePackage = NoPackage;
///     type RegisterPackage = NoPackage;
///     type UpdatePackage = NoPackage;
///     type SelfUpdatePackage = NoPackage;
///
///     fn name(&self) -> &str { "pin" }
///
///     async fn authenticate(&self, package: Pin) -> ManageResult<ClientData> {
///         // A real provider compares in constant time.
///         if package.pin == "1234" {
///             Ok(ClientData { client_id: "kiosk".into(), ..Default::default() })
///         } else {
///             Err(ManageError::Unauthenticated)
///         }
///     }
/// }
/// ```
#[async_trait]
pub trait AuthProvider: Send + Sync + 'static {
    /// What a client sends to log in.
    type AuthPackage: DeserializeOwned + JsonSchema + Send + 'static;
    /// What an administrator sends to create a client.
    type CreatePackage: DeserializeOwned + JsonSchema + Send + 'static;
    /// What a client sends to register itself.
    type RegisterPackage: DeserializeOwned + JsonSchema + Send + 'static;
    /// What an administrator sends to change a client.
    type UpdatePackage: DeserializeOwned + JsonSchema + Send + 'static;
    /// What a client sends to change itself.
    type SelfUpdatePackage: DeserializeOwned + JsonSchema + Send + 'static;

    /// The provider's name, for logs and settings.
    fn name(&self) -> &str;

    /// Checks a login package. Every credential failure is
    /// [`ManageError::Unauthenticated`], whatever the reason.
    async fn authenticate(&self, package: Self::AuthPackage) -> ManageResult<ClientData>;

    /// Whether the provider is ready (e.g. an administrator exists).
    async fn initialized(&self) -> ManageResult<bool> {
        Err(ManageError::Unsupported("initialized"))
    }

    /// Creates a client (administrator).
    async fn create_client(&self, package: Self::CreatePackage) -> ManageResult<ClientData> {
        let _ = package;
        Err(ManageError::Unsupported("create_client"))
    }

    /// Lets a client register itself.
    async fn client_self_register(
        &self,
        package: Self::RegisterPackage,
    ) -> ManageResult<ClientData> {
        let _ = package;
        Err(ManageError::Unsupported("client_self_register"))
    }

    /// Allows a client to log in again.
    async fn enable_client(&self, client_id: &str) -> ManageResult<()> {
        let _ = client_id;
        Err(ManageError::Unsupported("enable_client"))
    }

    /// Stops a client from logging in.
    async fn disable_client(&self, client_id: &str) -> ManageResult<()> {
        let _ = client_id;
        Err(ManageError::Unsupported("disable_client"))
    }

    /// Deletes a client.
    async fn delete_client(&self, client_id: &str) -> ManageResult<()> {
        let _ = client_id;
        Err(ManageError::Unsupported("delete_client"))
    }

    /// Grants roles to a client.
    async fn add_roles(
        &self,
        client_id: &str,
        roles: &BTreeSet<String>,
    ) -> ManageResult<ClientData> {
        let _ = (client_id, roles);
        Err(ManageError::Unsupported("add_roles"))
    }

    /// Takes roles from a client.
    async fn delete_roles(
        &self,
        client_id: &str,
        roles: &BTreeSet<String>,
    ) -> ManageResult<ClientData> {
        let _ = (client_id, roles);
        Err(ManageError::Unsupported("delete_roles"))
    }

    /// Changes a client (administrator).
    async fn update_client(
        &self,
        client_id: &str,
        package: Self::UpdatePackage,
    ) -> ManageResult<ClientData> {
        let _ = (client_id, package);
        Err(ManageError::Unsupported("update_client"))
    }

    /// Lets a client change itself.
    async fn client_self_update(
        &self,
        client_id: &str,
        package: Self::SelfUpdatePackage,
    ) -> ManageResult<ClientData> {
        let _ = (client_id, package);
        Err(ManageError::Unsupported("client_self_update"))
    }

    /// Lists clients, those holding `role` when it is set.
    async fn list_clients(&self, role: Option<&str>, page: Page) -> ManageResult<Vec<ClientData>> {
        let _ = (role, page);
        Err(ManageError::Unsupported("list_clients"))
    }

    /// One client by id.
    async fn get_client(&self, client_id: &str) -> ManageResult<ClientData> {
        let _ = client_id;
        Err(ManageError::Unsupported("get_client"))
    }

    /// Lists the clients matching every set field of `filter`.
    ///
    /// The default serves a role-only filter with
    /// [`list_clients`](Self::list_clients); for the username and enabled
    /// filters it reads [`list_clients`](Self::list_clients) page by page
    /// (at most [`SCAN_LIMIT`] clients) and keeps the matches, comparing
    /// with `client_id` or the `username` of `extra`, and the `enabled` of
    /// `extra` (a client without one counts as enabled). Providers that can
    /// filter at the source override it.
    async fn search_clients(
        &self,
        filter: &UserFilter,
        page: Page,
    ) -> ManageResult<Vec<ClientData>> {
        if filter.username_contains.is_none() && filter.enabled.is_none() {
            return self.list_clients(filter.role.as_deref(), page).await;
        }
        let limit = page.capped_limit() as usize;
        let mut skip = usize::try_from(page.offset).unwrap_or(usize::MAX);
        let mut found = Vec::new();
        let mut scanned: u64 = 0;
        while found.len() < limit && scanned < SCAN_LIMIT {
            let batch = self
                .list_clients(
                    filter.role.as_deref(),
                    Page {
                        offset: scanned,
                        limit: Page::MAX_LIMIT,
                    },
                )
                .await?;
            let len = batch.len();
            scanned += len as u64;
            for client in batch.into_iter().filter(|c| client_matches(c, filter)) {
                if skip > 0 {
                    skip -= 1;
                } else if found.len() < limit {
                    found.push(client);
                }
            }
            if len < Page::MAX_LIMIT as usize {
                break;
            }
        }
        Ok(found)
    }
}

/// The most clients the default [`AuthProvider::search_clients`] reads.
pub const SCAN_LIMIT: u64 = 10_000;

/// Whether a client matches a filter, by its `client_id` or `extra.username`,
/// its roles and its `extra.enabled` (absent: enabled).
pub fn client_matches(client: &ClientData, filter: &UserFilter) -> bool {
    let name_ok = filter.username_contains.as_deref().is_none_or(|part| {
        client.client_id.contains(part)
            || client
                .extra
                .get("username")
                .and_then(Value::as_str)
                .is_some_and(|u| u.contains(part))
    });
    let role_ok = filter
        .role
        .as_deref()
        .is_none_or(|role| client.roles.contains(role));
    let enabled = client
        .extra
        .get("enabled")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let enabled_ok = filter.enabled.is_none_or(|want| want == enabled);
    name_ok && role_ok && enabled_ok
}
