//! The LDAP provider against a real OpenLDAP server: each test starts its
//! own `slapd` on a free loopback port with a temporary database seeded
//! from an LDIF (people and groups), and stops it when done.
//!
//! `bash .ci/setup-ldap` installs slapd (as root). Under CI (`CI=true`) a
//! missing slapd fails the tests; elsewhere they are skipped with a message.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use auth_core::jwt::Validation;
use auth_core::provider::dynamic::DynProvider;
use auth_core::store::ManageError;
use auth_core::{JwtHandler, Pipeline, RoleMap};
use auth_poem::PoemAuth;
use auth_store::ldap::{LdapProvider, LdapSettings};
use auth_test::{json_of, token_login};
use poem::http::StatusCode;
use poem::test::{TestClient, TestResponse};
use poem::{Endpoint, Route};
use secrecy::SecretString;
use serde_json::{Value, json};

const SLAPD: &str = "/usr/sbin/slapd";
const SLAPADD: &str = "/usr/sbin/slapadd";
const SUFFIX: &str = "dc=example,dc=org";
const ROOT_DN: &str = "cn=admin,dc=example,dc=org";
const ROOT_PASSWORD: &str = "root-secret";

const SEED: &str = "\
dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=org
objectClass: organizationalUnit
ou: groups

dn: uid=alice,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: Liddell
userPassword: alice-password

dn: uid=bob,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: Builder
userPassword: bob-password

dn: uid=carol,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: carol
cn: Carol
sn: Singer
userPassword: carol-password

dn: cn=admins,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: admins
member: uid=alice,ou=people,dc=example,dc=org

dn: cn=staff,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: staff
member: uid=alice,ou=people,dc=example,dc=org
member: uid=carol,ou=people,dc=example,dc=org

dn: cn=unmapped,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: unmapped
member: uid=bob,ou=people,dc=example,dc=org
";

/// A slapd of our own; killed, and its directory removed, on drop.
struct Slapd {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Slapd {
    /// Starts one, or `None` (outside CI) when slapd is not installed.
    fn start(name: &str) -> Option<Self> {
        if !Path::new(SLAPD).exists() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "slapd is missing in CI: .ci/test runs `bash .ci/setup-ldap` first"
            );
            eprintln!("skipping {name}: slapd is not installed; run `sudo bash .ci/setup-ldap`");
            return None;
        }
        let dir =
            std::env::temp_dir().join(format!("poem-auth-slapd-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("db")).expect("temp dir");
        let conf = dir.join("slapd.conf");
        std::fs::write(
            &conf,
            format!(
                "include /etc/ldap/schema/core.schema\n\
                 include /etc/ldap/schema/cosine.schema\n\
                 include /etc/ldap/schema/inetorgperson.schema\n\
                 modulepath /usr/lib/ldap\n\
                 moduleload back_mdb\n\
                 pidfile {dir}/slapd.pid\n\
                 database mdb\n\
                 maxsize 16777216\n\
                 suffix \"{SUFFIX}\"\n\
                 rootdn \"{ROOT_DN}\"\n\
                 rootpw {ROOT_PASSWORD}\n\
                 directory {dir}/db\n\
                 access to attrs=userPassword by anonymous auth by * none\n\
                 access to * by * read\n",
                dir = dir.display()
            ),
        )
        .expect("slapd.conf");
        let ldif = dir.join("seed.ldif");
        std::fs::write(&ldif, SEED).expect("seed");
        let seeded = Command::new(SLAPADD)
            .arg("-f")
            .arg(&conf)
            .arg("-l")
            .arg(&ldif)
            .output()
            .expect("slapadd runs");
        assert!(
            seeded.status.success(),
            "slapadd: {}",
            String::from_utf8_lossy(&seeded.stderr)
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(SLAPD)
            .arg("-h")
            .arg(format!("ldap://127.0.0.1:{port}/"))
            .arg("-f")
            .arg(&conf)
            .arg("-d")
            .arg("0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("slapd starts");
        let mut slapd = Self { child, dir, port };
        slapd.wait_ready();
        Some(slapd)
    }

    /// Waits until slapd accepts connections (it exits on a bad config).
    fn wait_ready(&mut self) {
        for _ in 0..500 {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("slapd exited: {status}");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("slapd did not listen on port {}", self.port);
    }

    fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// Bind as the user with a DN template; groups found by a group search.
    fn bind_settings(&self) -> LdapSettings {
        let mut s =
            LdapSettings::bind_as_user(self.url(), "uid={username},ou=people,dc=example,dc=org");
        s.group_base = Some("ou=groups,dc=example,dc=org".into());
        s.roles.insert("admins".into(), ["admin".to_owned()].into());
        s.roles.insert(
            "cn=staff,ou=groups,dc=example,dc=org".into(),
            ["reader".to_owned()].into(),
        );
        s
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn app(provider: Arc<dyn DynProvider>) -> TestClient<impl Endpoint> {
    let roles = RoleMap::new().superuser("admin");
    let (keys, tokens) = auth_test::token_service(5, roles.clone());
    let pipeline = Pipeline::builder()
        .roles(roles)
        .handler(JwtHandler::new(keys, Validation::new()).with_revocations(tokens.revocations()))
        .build()
        .expect("pipeline");
    let auth = PoemAuth::from_pipeline(pipeline)
        .token_service(tokens)
        .provider(provider)
        .build()
        .expect("auth");
    TestClient::new(Route::new().nest("/auth", auth.routes()))
}

/// The principal of a login that must succeed.
async fn me<E: Endpoint>(cli: &TestClient<E>, login: TestResponse) -> Value {
    login.assert_status_is_ok();
    let token = json_of(login).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    auth_test::me(cli, &token).await
}

#[tokio::test]
async fn a_user_in_mapped_groups_logs_in_with_their_roles() {
    let Some(slapd) = Slapd::start("mapped") else {
        return;
    };
    let provider = Arc::new(LdapProvider::new(slapd.bind_settings()).expect("provider"));
    let cli = app(provider);
    let alice = me(&cli, token_login(&cli, "alice", "alice-password").await).await;
    assert_eq!(alice["id"], "alice");
    assert_eq!(alice["roles"], json!(["admin", "reader"]));
    let carol = me(&cli, token_login(&cli, "carol", "carol-password").await).await;
    assert_eq!(carol["roles"], json!(["reader"]));
}

#[tokio::test]
async fn a_user_in_no_mapped_group_gets_no_role_or_is_refused_when_a_role_is_required() {
    let Some(slapd) = Slapd::start("unmapped") else {
        return;
    };
    let provider = Arc::new(LdapProvider::new(slapd.bind_settings()).expect("provider"));
    let cli = app(provider);
    let bob = me(&cli, token_login(&cli, "bob", "bob-password").await).await;
    assert_eq!(bob["roles"], json!([]));

    let mut strict = slapd.bind_settings();
    strict.require_role = true;
    let cli = app(Arc::new(LdapProvider::new(strict).expect("provider")));
    token_login(&cli, "bob", "bob-password")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    token_login(&cli, "carol", "carol-password")
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn wrong_password_unknown_user_and_injection_get_the_same_refusal() {
    let Some(slapd) = Slapd::start("refusals") else {
        return;
    };
    let provider: Arc<dyn DynProvider> =
        Arc::new(LdapProvider::new(slapd.bind_settings()).expect("provider"));
    let login = |u: &str, p: &str| json!({"username": u, "password": p});
    let wrong = provider
        .authenticate(login("alice", "not-her-password"))
        .await
        .expect_err("wrong");
    let unknown = provider
        .authenticate(login("mallory", "alice-password"))
        .await
        .expect_err("unknown");
    let empty = provider
        .authenticate(login("alice", ""))
        .await
        .expect_err("empty");
    let injected = provider
        .authenticate(login("alice,ou=people", "alice-password"))
        .await
        .expect_err("injected");
    for refusal in [&wrong, &unknown, &empty, &injected] {
        assert_eq!(refusal, &ManageError::Unauthenticated);
    }

    let cli = app(provider);
    let wrong = token_login(&cli, "alice", "not-her-password").await;
    let unknown = token_login(&cli, "mallory", "alice-password").await;
    assert_eq!(wrong.0.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.0.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(wrong).await, json_of(unknown).await);
}

#[tokio::test]
async fn search_then_bind_with_a_service_account_finds_users_and_refreshes_sessions() {
    let Some(slapd) = Slapd::start("search") else {
        return;
    };
    let mut settings = slapd.bind_settings();
    settings.user_dn = None;
    settings.user_base = Some("ou=people,dc=example,dc=org".into());
    settings.bind_dn = Some(ROOT_DN.into());
    let refused = LdapProvider::new(settings.clone()).expect_err("no password variable");
    assert!(
        refused.to_string().contains("bind_password_env"),
        "{refused}"
    );
    settings.bind_password_env = Some("POEM_AUTH_TEST_UNSET_VARIABLE".into());
    assert!(
        LdapProvider::new(settings.clone()).is_err(),
        "the variable is unset"
    );
    let provider = LdapProvider::with_service_password(settings, SecretString::from(ROOT_PASSWORD))
        .expect("service account");
    let provider: Arc<dyn DynProvider> = Arc::new(provider);

    let alice = provider.get_client("alice").await.expect("found");
    assert_eq!(
        alice.roles,
        ["admin".to_owned(), "reader".to_owned()].into()
    );
    assert_eq!(alice.extra["dn"], "uid=alice,ou=people,dc=example,dc=org");
    assert!(matches!(
        provider.get_client("mallory").await,
        Err(ManageError::NotFound(_))
    ));
    let readers = provider
        .list_clients(Some("reader"), auth_core::store::Page::default())
        .await
        .expect("listed");
    let ids: Vec<_> = readers.iter().map(|c| c.client_id.as_str()).collect();
    assert_eq!(ids, ["alice", "carol"]);

    let cli = app(provider);
    let resp = token_login(&cli, "carol", "carol-password").await;
    resp.assert_status_is_ok();
    let pair = json_of(resp).await;
    let resp = cli
        .post("/auth/token")
        .body_json(&json!({"refresh_token": pair["refresh_token"]}))
        .send()
        .await;
    resp.assert_status_is_ok();
    token_login(&cli, "carol", "wrong-password")
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn capabilities_ldap_lacks_answer_501_through_the_routes() {
    let Some(slapd) = Slapd::start("unsupported") else {
        return;
    };
    let provider = Arc::new(LdapProvider::new(slapd.bind_settings()).expect("provider"));
    let cli = app(provider);
    let login = token_login(&cli, "alice", "alice-password").await;
    login.assert_status_is_ok();
    let token = json_of(login).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let create = cli
        .post("/auth/users")
        .header("authorization", format!("Bearer {token}"))
        .body_json(&json!({"username": "dave", "password": "dave-password"}))
        .send()
        .await;
    create.assert_status(StatusCode::NOT_IMPLEMENTED);
    let body = json_of(create).await;
    assert_eq!(body["error"], "not_implemented");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("create_client")),
        "{body}"
    );
    // Without a service account or user_base, looking a user up is not possible.
    cli.get("/auth/users/alice")
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .assert_status(StatusCode::NOT_IMPLEMENTED);
}

#[tokio::test]
async fn the_ldap_section_of_the_settings_builds_the_provider() {
    let Some(slapd) = Slapd::start("settings") else {
        return;
    };
    let settings: auth_store::ProviderSettings = serde_json::from_value(json!({
        "kind": "ldap",
        "url": slapd.url(),
        "user_dn": "uid={username},ou=people,dc=example,dc=org",
        "group_base": "ou=groups,dc=example,dc=org",
        "roles": {"admins": ["admin"]},
    }))
    .expect("settings");
    let cx = auth_store::ProviderContext::new(
        auth_core::password::PasswordHasher::fast_insecure_for_tests(),
    );
    let provider = settings.build(&cx).await.expect("built");
    assert_eq!(provider.name(), "ldap");
    let alice = provider
        .authenticate(json!({"username": "alice", "password": "alice-password"}))
        .await
        .expect("alice");
    assert_eq!(alice.roles, ["admin".to_owned()].into());
}
