//! The store contract, run against SQLite and against a real PostgreSQL
//! server: every trait method's behaviour, conflicts, not-found, paging,
//! filters, and atomicity under concurrency.

use std::collections::BTreeSet;
use std::sync::Arc;

use auth_core::store::{
    HandlerConfigStore, ManageError, NewUser, Page, TokenFilter, TokenRecord, TokenStore,
    UserAdmin, UserFilter, UserUpdate,
};
use auth_core::store::{MemoryRevocations, RevocationCheck};
use auth_core::store::{RefreshRecord, RefreshStore, Rotation, hash_refresh_token};
use auth_core::{AuthPermission, AuthResource, PermissionSet};
use auth_store::{PgStore, SqliteStore};
use serde_json::json;

mod tokens;
mod users;

use tokens::*;
use users::*;

/// A store under test.
trait Backend:
    UserAdmin + RefreshStore + TokenStore + HandlerConfigStore + Clone + Send + Sync + 'static
{
    fn revs(&self) -> Arc<MemoryRevocations>;
}

impl Backend for SqliteStore {
    fn revs(&self) -> Arc<MemoryRevocations> {
        self.revocations()
    }
}

impl Backend for PgStore {
    fn revs(&self) -> Arc<MemoryRevocations> {
        self.revocations()
    }
}

const NOW: i64 = 1_700_000_000;

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn new_user(name: &str, roles: &[&str]) -> NewUser {
    NewUser {
        username: name.to_owned(),
        password_hash: format!("$argon2id$fake${name}"),
        roles: set(roles),
        permissions: PermissionSet::base(),
        enabled: true,
        extra: serde_json::Map::new(),
    }
}

fn token(jti: &str, client: &str, roles: &[&str], created: i64, expires: i64) -> TokenRecord {
    TokenRecord {
        jti: jti.to_owned(),
        client_id: client.to_owned(),
        roles: set(roles),
        created_at: created,
        expires_at: expires,
        issued_by: "login".to_owned(),
        revoked: false,
    }
}

fn refresh(family: &str, user: &str, expires: i64) -> RefreshRecord {
    RefreshRecord {
        family: family.to_owned(),
        user_id: user.to_owned(),
        created_at: NOW,
        expires_at: expires,
        family_expires_at: NOW + 10_000,
        used: false,
    }
}

fn all() -> Page {
    Page {
        offset: 0,
        limit: 100,
    }
}

async fn names<S: Backend>(s: &S, filter: UserFilter, page: Page) -> Vec<String> {
    s.list_users(&filter, page)
        .await
        .expect("list")
        .into_iter()
        .map(|u| u.username)
        .collect()
}

/// Runs each contract function against both backends, as `sqlite::<name>`
/// and `postgres::<name>`.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let dir = tempfile::tempdir().expect("temp dir");
                    let store = auth_store::SqliteStore::open(dir.path().join("auth.db"))
                        .await
                        .expect("open");
                    super::$name(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(cluster) = crate::support::pg::PgCluster::shared() else {
                        return;
                    };
                    let url = cluster.create_database().await;
                    let store = auth_store::PgStore::connect(&url).await.expect("connect");
                    super::$name(store).await;
                }
            )*
        }
    };
}

contract!(
    created_user_is_found_by_name_and_id_with_every_field,
    duplicate_username_is_a_conflict,
    unknown_user_is_none_or_not_found,
    empty_username_is_invalid,
    set_enabled_and_password_hash_change_the_user,
    replace_password_hash_replaces_only_the_hash_it_was_given,
    list_users_pages_in_username_order,
    list_users_filters_by_text_role_and_enabled,
    update_user_replaces_only_the_given_fields,
    delete_user_removes_the_user_and_their_roles,
    add_and_remove_roles_change_only_those_roles,
    concurrent_role_changes_lose_no_role,
    rotation_consumes_the_token_and_chains_the_family,
    reused_refresh_token_revokes_its_family,
    expired_or_unknown_refresh_token_is_invalid,
    concurrent_rotations_of_one_token_have_one_winner,
    revoking_a_family_or_a_user_deletes_their_tokens,
    recorded_tokens_list_newest_first_with_filters_and_pages,
    revoke_tokens_marks_matching_unexpired_tokens_and_refuses_them,
    revoke_client_tokens_refuses_every_token_up_to_the_cutoff,
    revoke_session_refuses_every_token_of_the_session_until_it_expires,
    delete_expired_removes_only_expired_tokens,
    saving_settings_keeps_exactly_one_active_handler,
);
