//! The LDAP identity provider (feature `ldap`): logs users in by binding as
//! them, and maps their groups to roles.
//!
//! Two ways to find the user's entry:
//!
//! - **bind as the user** with a DN template, `user_dn =
//!   "uid={username},ou=people,dc=example,dc=org"` (the username is
//!   escaped as an RDN value);
//! - **search, then bind**: with `user_base` (and `user_filter`, default
//!   `(uid={username})`, the username escaped for a filter), the provider
//!   searches as the service account (`bind_dn`, and its password in the
//!   variable `bind_password_env`) or anonymously, then binds as the DN
//!   found.
//!
//! Groups come from an attribute of the user's entry (`group_attribute`,
//! e.g. `memberOf`) and/or from a group search under `group_base` with
//! `group_filter` (default `(member={dn})`). Each group is looked up in the
//! `roles` table by its DN or by its `cn`; the roles of every matching
//! group are the user's. With `require_role = true`, a user in no mapped
//! group is refused like a wrong password.
//!
//! TLS: an `ldaps://` URL, or `starttls = true` on `ldap://`; `ca_file`
//! names a PEM file of trusted CAs (otherwise the system's). Verification
//! is on; `tls_verify = false` turns it off (for tests only: it is logged
//! as a warning).
//!
//! A wrong password, an unknown user, and an empty password (which LDAP
//! would take for an unauthenticated bind) all answer
//! [`ManageError::Unauthenticated`]. The provider manages no users:
//! creating, changing and deleting them answer 501; [`get_client`] and
//! [`list_clients`] need a search (a service account, or `user_base` on a
//! server that allows anonymous search), else they answer 501 too, and so
//! refreshing a session then ends it (the user logs in again).
//!
//! [`get_client`]: AuthProvider::get_client
//! [`list_clients`]: AuthProvider::list_clients

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry};
use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value};

use auth_core::provider::{AuthProvider, ClientData, NoPackage};
use auth_core::store::{ManageError, ManageResult, Page};
use auth_core::tokens::TokenService;

mod settings;

pub use settings::LdapSettings;

/// The LDAP result code of a failed bind.
const INVALID_CREDENTIALS: u32 = 49;
/// The LDAP result code of a search under a base that does not exist.
const NO_SUCH_OBJECT: u32 = 32;

/// The login package: `{"username": "...", "password": "..."}`.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LdapLogin {
    /// The login name.
    pub username: String,
    /// The password.
    #[schemars(extend("format" = "password", "writeOnly" = true))]
    pub password: String,
}

impl std::fmt::Debug for LdapLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapLogin")
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .finish()
    }
}

/// The LDAP identity provider: see the [module docs](self).
pub struct LdapProvider {
    settings: LdapSettings,
    bind_password: Option<SecretString>,
    tls: Option<Arc<rustls::ClientConfig>>,
    sessions: Option<Arc<TokenService>>,
}

impl std::fmt::Debug for LdapProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapProvider")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A user's entry, as found.
struct Entry {
    dn: String,
    attrs: std::collections::HashMap<String, Vec<String>>,
}

impl LdapProvider {
    /// Checks the settings (a URL of a known scheme, a way to find users,
    /// templates with their placeholders, a readable CA file, the service
    /// account's password variable set) and builds the provider. No
    /// connection is made until a request needs one.
    pub fn new(settings: LdapSettings) -> ManageResult<Self> {
        Self::build(settings, None)
    }

    /// [`new`](Self::new), with the service account's password given
    /// rather than read from `bind_password_env`.
    pub fn with_service_password(
        settings: LdapSettings,
        password: SecretString,
    ) -> ManageResult<Self> {
        Self::build(settings, Some(password))
    }

    fn build(settings: LdapSettings, given: Option<SecretString>) -> ManageResult<Self> {
        let bad = |m: String| Err(ManageError::Misconfigured(format!("ldap provider: {m}")));
        let url = settings.url.to_ascii_lowercase();
        let tls_url = url.starts_with("ldaps://");
        if !tls_url && !url.starts_with("ldap://") {
            return bad(format!(
                "url `{}` is not ldap:// nor ldaps://",
                settings.url
            ));
        }
        if tls_url && settings.starttls {
            return bad("starttls is for ldap:// URLs; ldaps:// is TLS already".into());
        }
        match (&settings.user_dn, &settings.user_base) {
            (None, None) => {
                return bad(
                    "set user_dn (bind as the user) or user_base (search, then bind)".into(),
                );
            }
            (Some(t), _) if !t.contains("{username}") => {
                return bad("user_dn must contain {username}".into());
            }
            _ => {}
        }
        if settings.user_base.is_some() && !settings.user_filter.contains("{username}") {
            return bad("user_filter must contain {username}".into());
        }
        if settings.group_base.is_some()
            && !(settings.group_filter.contains("{dn}")
                || settings.group_filter.contains("{username}"))
        {
            return bad("group_filter must contain {dn} or {username}".into());
        }
        let bind_password = match (&settings.bind_dn, &settings.bind_password_env) {
            (Some(_), _) if given.is_some() => given,
            (Some(_), Some(var)) => match std::env::var(var) {
                Ok(p) if !p.is_empty() => Some(SecretString::from(p)),
                _ => return bad(format!("bind_dn is set but {var} is unset or empty")),
            },
            (Some(_), None) => {
                return bad("bind_dn needs bind_password_env, the variable of its password".into());
            }
            (None, _) => None,
        };
        let tls = match &settings.ca_file {
            Some(path) => Some(tls_config(path)?),
            None => None,
        };
        if !settings.tls_verify {
            tracing::warn!(url = %settings.url, "LDAP TLS certificate verification is OFF");
        } else if !tls_url && !settings.starttls {
            tracing::warn!(url = %settings.url, "LDAP passwords travel without TLS: use ldaps:// or starttls");
        }
        Ok(Self {
            settings,
            bind_password,
            tls,
            sessions: None,
        })
    }

    /// The token service, kept for symmetry with the store provider: LDAP
    /// users are managed in the directory, so no change here ends sessions.
    #[must_use]
    pub fn with_sessions(mut self, tokens: Arc<TokenService>) -> Self {
        self.sessions = Some(tokens);
        self
    }

    /// The settings.
    pub fn settings(&self) -> &LdapSettings {
        &self.settings
    }

    async fn connect(&self) -> ManageResult<Ldap> {
        let mut conn = LdapConnSettings::new()
            .set_conn_timeout(self.timeout())
            .set_starttls(self.settings.starttls)
            .set_no_tls_verify(!self.settings.tls_verify);
        if let Some(tls) = &self.tls {
            conn = conn.set_config(tls.clone());
        }
        let (driver, mut ldap) = LdapConnAsync::with_settings(conn, &self.settings.url)
            .await
            .map_err(unavailable)?;
        tokio::spawn(async move {
            if let Err(e) = driver.drive().await {
                tracing::debug!(error = %e, "LDAP connection ended");
            }
        });
        ldap.with_timeout(self.timeout());
        Ok(ldap)
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.settings.timeout_secs.max(1))
    }

    /// Whether the provider can search for users by itself.
    fn can_search(&self) -> bool {
        self.settings.user_base.is_some()
    }

    /// Binds as the service account, if there is one; otherwise the
    /// connection stays anonymous.
    async fn bind_service(&self, ldap: &mut Ldap) -> ManageResult<()> {
        if let (Some(dn), Some(pw)) = (&self.settings.bind_dn, &self.bind_password) {
            ldap.simple_bind(dn, pw.expose_secret())
                .await
                .map_err(unavailable)?
                .success()
                .map_err(|e| {
                    ManageError::Misconfigured(format!("ldap service account bind failed: {e}"))
                })?;
        }
        Ok(())
    }

    fn entry_attributes(&self) -> Vec<String> {
        let mut attrs = vec![self.settings.username_attribute.clone()];
        if let Some(a) = &self.settings.group_attribute {
            attrs.push(a.clone());
        }
        attrs
    }

    /// Finds a user by username under `user_base`: `None` when there is
    /// not exactly one.
    async fn find_user(&self, ldap: &mut Ldap, username: &str) -> ManageResult<Option<Entry>> {
        let Some(base) = &self.settings.user_base else {
            return Ok(None);
        };
        let filter = self
            .settings
            .user_filter
            .replace("{username}", &ldap3::ldap_escape(username));
        let mut entries = self.search(ldap, base, Scope::Subtree, &filter).await?;
        if entries.len() != 1 {
            return Ok(None);
        }
        Ok(entries.pop())
    }

    async fn search(
        &self,
        ldap: &mut Ldap,
        base: &str,
        scope: Scope,
        filter: &str,
    ) -> ManageResult<Vec<Entry>> {
        let result = ldap
            .search(base, scope, filter, self.entry_attributes())
            .await
            .map_err(unavailable)?;
        if result.1.rc == NO_SUCH_OBJECT {
            return Ok(Vec::new());
        }
        let (entries, _) = result.success().map_err(unavailable)?;
        Ok(entries
            .into_iter()
            .map(|e| {
                let e = SearchEntry::construct(e);
                Entry {
                    dn: e.dn,
                    attrs: e.attrs,
                }
            })
            .collect())
    }

    /// The client of an entry: its username, groups and roles.
    async fn client_of(
        &self,
        ldap: &mut Ldap,
        entry: &Entry,
        username: &str,
    ) -> ManageResult<ClientData> {
        let mut groups: BTreeSet<String> = BTreeSet::new();
        if let Some(attr) = &self.settings.group_attribute {
            let values = entry
                .attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(attr))
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            groups.extend(values);
        }
        if let Some(base) = &self.settings.group_base {
            let filter = self
                .settings
                .group_filter
                .replace("{dn}", &ldap3::ldap_escape(entry.dn.as_str()))
                .replace("{username}", &ldap3::ldap_escape(username));
            let result = ldap
                .search(base, Scope::Subtree, &filter, vec!["cn"])
                .await
                .map_err(unavailable)?;
            if result.1.rc != NO_SUCH_OBJECT {
                let (found, _) = result.success().map_err(unavailable)?;
                groups.extend(found.into_iter().map(|e| SearchEntry::construct(e).dn));
            }
        }
        let roles = self.roles_of(&groups);
        let name = entry
            .attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&self.settings.username_attribute))
            .and_then(|(_, v)| v.first().cloned())
            .unwrap_or_else(|| username.to_owned());
        let mut extra = Map::new();
        extra.insert("username".into(), name.clone().into());
        extra.insert("dn".into(), entry.dn.clone().into());
        extra.insert(
            "groups".into(),
            Value::Array(groups.into_iter().map(Value::from).collect()),
        );
        Ok(ClientData {
            client_id: name,
            roles,
            extra,
        })
    }

    /// The roles of a set of group DNs, by DN (case-insensitive) or `cn`.
    fn roles_of(&self, groups: &BTreeSet<String>) -> BTreeSet<String> {
        let mut roles = BTreeSet::new();
        for group in groups {
            let cn = first_rdn_value(group);
            for (key, mapped) in &self.settings.roles {
                let hit = key.eq_ignore_ascii_case(group)
                    || cn.as_deref().is_some_and(|cn| key.eq_ignore_ascii_case(cn));
                if hit {
                    roles.extend(mapped.iter().cloned());
                }
            }
        }
        roles
    }

    async fn login(
        &self,
        ldap: &mut Ldap,
        username: &str,
        password: &str,
    ) -> ManageResult<ClientData> {
        let dn = match &self.settings.user_dn {
            Some(template) => template.replace("{username}", &ldap3::dn_escape(username)),
            None => {
                self.bind_service(ldap).await?;
                match self.find_user(ldap, username).await? {
                    Some(entry) => entry.dn,
                    None => return Err(ManageError::Unauthenticated),
                }
            }
        };
        let bound = ldap.simple_bind(&dn, password).await.map_err(unavailable)?;
        match bound.rc {
            0 => {}
            INVALID_CREDENTIALS => return Err(ManageError::Unauthenticated),
            // Other refusals (no such object, inappropriate auth, ...) say
            // nothing more to the client.
            rc if rc < 80 => {
                tracing::debug!(rc, "LDAP bind refused");
                return Err(ManageError::Unauthenticated);
            }
            _ => return Err(unavailable(LdapError::from(bound))),
        }
        // Read the entry: as the service account when there is one (it may
        // see the groups), else as the user.
        if self.settings.bind_dn.is_some() {
            self.bind_service(ldap).await?;
        }
        let entry = self
            .search(ldap, &dn, Scope::Base, "(objectClass=*)")
            .await?
            .pop()
            .unwrap_or(Entry {
                dn: dn.clone(),
                attrs: Default::default(),
            });
        let client = self.client_of(ldap, &entry, username).await?;
        if self.settings.require_role && client.roles.is_empty() {
            tracing::debug!(user = %client.client_id, "LDAP user in no mapped group; refused");
            return Err(ManageError::Unauthenticated);
        }
        Ok(client)
    }
}

/// The value of a DN's first RDN (`admins` in `cn=admins,ou=groups,...`).
fn first_rdn_value(dn: &str) -> Option<String> {
    let first = dn.split(',').next()?;
    let (_, value) = first.split_once('=')?;
    Some(value.trim().to_owned())
}

fn unavailable(e: LdapError) -> ManageError {
    ManageError::Unavailable(format!("ldap: {e}"))
}

/// A rustls configuration trusting the CAs in a PEM file.
fn tls_config(path: &std::path::Path) -> ManageResult<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let bad =
        |m: String| ManageError::Misconfigured(format!("ldap ca_file {}: {m}", path.display()));
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))?;
    for cert in certs {
        roots
            .add(cert.map_err(|e| bad(e.to_string()))?)
            .map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("holds no certificate".into()));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[async_trait]
impl AuthProvider for LdapProvider {
    type AuthPackage = LdapLogin;
    type CreatePackage = NoPackage;
    type RegisterPackage = NoPackage;
    type UpdatePackage = NoPackage;
    type SelfUpdatePackage = NoPackage;

    fn name(&self) -> &str {
        "ldap"
    }

    async fn authenticate(&self, package: LdapLogin) -> ManageResult<ClientData> {
        // An empty password would be an unauthenticated bind, which LDAP
        // answers with success; a username with a NUL is never valid.
        if package.username.is_empty()
            || package.password.is_empty()
            || package.username.contains('\0')
        {
            return Err(ManageError::Unauthenticated);
        }
        let mut ldap = self.connect().await?;
        let outcome = self
            .login(&mut ldap, &package.username, &package.password)
            .await;
        let _ = ldap.unbind().await;
        outcome
    }

    async fn initialized(&self) -> ManageResult<bool> {
        Ok(true)
    }

    async fn get_client(&self, client_id: &str) -> ManageResult<ClientData> {
        if !self.can_search() {
            return Err(ManageError::Unsupported(
                "get_client (the ldap provider needs user_base to look users up)",
            ));
        }
        let mut ldap = self.connect().await?;
        let outcome = async {
            self.bind_service(&mut ldap).await?;
            let entry = self
                .find_user(&mut ldap, client_id)
                .await?
                .ok_or_else(|| ManageError::NotFound(format!("user {client_id}")))?;
            self.client_of(&mut ldap, &entry, client_id).await
        }
        .await;
        let _ = ldap.unbind().await;
        outcome
    }

    async fn list_clients(&self, role: Option<&str>, page: Page) -> ManageResult<Vec<ClientData>> {
        let Some(base) = self.settings.user_base.clone() else {
            return Err(ManageError::Unsupported(
                "list_clients (the ldap provider needs user_base to list users)",
            ));
        };
        let mut ldap = self.connect().await?;
        let outcome = async {
            self.bind_service(&mut ldap).await?;
            let filter = self.settings.user_filter.replace("{username}", "*");
            let entries = self
                .search(&mut ldap, &base, Scope::Subtree, &filter)
                .await?;
            let mut clients = Vec::with_capacity(entries.len());
            for entry in &entries {
                let name = entry
                    .attrs
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&self.settings.username_attribute))
                    .and_then(|(_, v)| v.first().cloned())
                    .unwrap_or_default();
                let client = self.client_of(&mut ldap, entry, &name).await?;
                if role.is_none_or(|r| client.roles.contains(r)) {
                    clients.push(client);
                }
            }
            clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
            Ok(clients
                .into_iter()
                .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
                .take(page.capped_limit() as usize)
                .collect())
        }
        .await;
        let _ = ldap.unbind().await;
        outcome
    }
}

#[cfg(test)]
mod tests;
