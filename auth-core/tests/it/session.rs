//! Logins, refresh rotation with reuse detection, revocation and throttling.

use std::sync::Arc;

use auth_core::UserStore as _;
use auth_core::clock::ManualClock;
use auth_core::jwt::{Algorithm, JwtKey, KeySet, TokenIssuer, Validation};
use auth_core::password::PasswordHasher;
use auth_core::throttle::{LoginThrottle, ThrottlePolicy};
use auth_core::tokens::{LoginError, RefreshLifetimes, TokenService};
use auth_core::{
    AuthContext, AuthError, AuthHandler, Credential, JwtHandler, MemoryUserStore, PermissionSet,
    Principal,
};

const NOW: i64 = 1_750_000_000;

struct Fixture {
    service: TokenService,
    handler: JwtHandler,
    users: Arc<MemoryUserStore>,
    clock: ManualClock,
    rt: tokio::runtime::Runtime,
}

fn fixture() -> Fixture {
    fixture_with(RefreshLifetimes::default(), ThrottlePolicy::default())
}

fn fixture_with(policy: RefreshLifetimes, throttle: ThrottlePolicy) -> Fixture {
    let clock = ManualClock::new(NOW);
    let keys = Arc::new(KeySet::single(
        JwtKey::hmac(Algorithm::HS256, b"an-hmac-secret-for-the-session-tests").expect("key"),
    ));
    let hasher = PasswordHasher::fast_insecure_for_tests();
    let users = Arc::new(MemoryUserStore::new(hasher.clone()));
    users
        .add_user("alice", "wonderland", PermissionSet::base(), ["reader"])
        .expect("user");
    let issuer = TokenIssuer::new(keys.clone(), None)
        .expect("issuer")
        .lifetime_minutes(10)
        .with_clock(Arc::new(clock.clone()));
    let service = TokenService::new(issuer, users.clone())
        .with_hasher(hasher)
        .with_policy(policy)
        .with_throttle(LoginThrottle::new(throttle))
        .with_clock(Arc::new(clock.clone()));
    let handler = JwtHandler::new(keys, Validation::new())
        .with_clock(Arc::new(clock.clone()))
        .with_revocations(service.revocations());
    Fixture {
        service,
        handler,
        users,
        clock,
        rt: tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime"),
    }
}

impl Fixture {
    fn access(&self, token: &str) -> Result<Option<Principal>, AuthError> {
        self.rt.block_on(
            self.handler
                .authorize(&Credential::bearer(token), &AuthContext::http()),
        )
    }
}

#[test]
fn login_gives_an_access_token_and_an_opaque_refresh_token() {
    let f = fixture();
    let pair =
        f.rt.block_on(f.service.login("alice", "wonderland", "127.0.0.1"))
            .expect("login");
    let p = f
        .access(pair.access.expose())
        .expect("valid")
        .expect("principal");
    assert_eq!(p.id, "alice");
    assert!(p.has_role("reader"));
    assert!(p.extra.contains_key("sid"));
    assert!(!auth_core::credential::looks_like_jwt(pair.refresh_token()));
    assert!(pair.refresh_token().len() >= 43, "at least 256 bits");
    assert!(!format!("{pair:?}").contains(pair.refresh_token()));
}

#[test]
fn wrong_password_unknown_user_and_disabled_user_fail_alike() {
    let f = fixture();
    let wrong = f.rt.block_on(f.service.login("alice", "nope", "a"));
    let unknown = f.rt.block_on(f.service.login("nobody", "wonderland", "b"));
    f.rt.block_on(f.users.set_enabled("alice", false))
        .expect("disable");
    let disabled = f.rt.block_on(f.service.login("alice", "wonderland", "c"));
    for r in [wrong, unknown, disabled] {
        assert_eq!(r.expect_err("refused"), LoginError::InvalidCredentials);
    }
}

#[test]
fn refresh_rotates_and_reuse_revokes_the_whole_family() {
    let f = fixture();
    let first =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("login");
    let second =
        f.rt.block_on(f.service.refresh(first.refresh_token()))
            .expect("rotated");
    assert_ne!(first.refresh_token(), second.refresh_token());
    assert!(f.access(second.access.expose()).is_ok());
    // The first token again: reuse. The family dies, successor included.
    assert_eq!(
        f.rt.block_on(f.service.refresh(first.refresh_token()))
            .expect_err("reuse"),
        AuthError::InvalidCredentials
    );
    assert_eq!(
        f.rt.block_on(f.service.refresh(second.refresh_token()))
            .expect_err("family revoked"),
        AuthError::InvalidCredentials
    );
    // Another login's family is untouched.
    let other =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("login");
    assert!(
        f.rt.block_on(f.service.refresh(other.refresh_token()))
            .is_ok()
    );
}

#[test]
fn of_two_concurrent_refreshes_exactly_one_succeeds() {
    let f = fixture();
    let pair =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("login");
    let token = pair.refresh_token().to_owned();
    let (a, b) =
        f.rt.block_on(async { tokio::join!(f.service.refresh(&token), f.service.refresh(&token)) });
    assert_eq!(
        usize::from(a.is_ok()) + usize::from(b.is_ok()),
        1,
        "{a:?} / {b:?}"
    );
}

#[test]
fn refresh_tokens_expire_by_sliding_and_absolute_lifetimes() {
    let f = fixture_with(
        RefreshLifetimes {
            sliding_secs: 100,
            absolute_secs: 250,
        },
        ThrottlePolicy::default(),
    );
    let mut pair =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("login");
    // Rotating every 90 s keeps the family alive until its absolute end.
    for _ in 0..2 {
        f.clock.advance(90);
        pair =
            f.rt.block_on(f.service.refresh(pair.refresh_token()))
                .expect("within sliding window");
    }
    assert_eq!(
        pair.refresh_expires_at,
        NOW + 250,
        "capped by the absolute lifetime"
    );
    f.clock.advance(90); // NOW + 270: past the family's absolute lifetime
    assert!(
        f.rt.block_on(f.service.refresh(pair.refresh_token()))
            .is_err()
    );

    let f = fixture_with(
        RefreshLifetimes {
            sliding_secs: 100,
            absolute_secs: 1000,
        },
        ThrottlePolicy::default(),
    );
    let pair =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("login");
    f.clock.advance(101);
    assert!(
        f.rt.block_on(f.service.refresh(pair.refresh_token()))
            .is_err(),
        "sliding lifetime passed"
    );
}

#[test]
fn refresh_and_access_tokens_are_not_interchangeable() {
    let f = fixture();
    let pair =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("login");
    assert!(
        f.access(pair.refresh_token()).expect("not mine").is_none(),
        "refresh token is no bearer JWT"
    );
    assert!(
        f.rt.block_on(f.service.refresh(pair.access.expose()))
            .is_err()
    );
}

#[test]
fn a_revoked_access_token_is_refused_at_once() {
    let f = fixture();
    let pair =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("login");
    assert!(f.access(pair.access.expose()).is_ok());
    f.rt.block_on(f.service.revoke(pair.access.expose()))
        .expect("revoked");
    assert_eq!(
        f.access(pair.access.expose()).expect_err("revoked"),
        AuthError::InvalidCredentials
    );
    // Revocation is by jti: the refresh token still works and its new access token too.
    let next =
        f.rt.block_on(f.service.refresh(pair.refresh_token()))
            .expect("refresh");
    assert!(f.access(next.access.expose()).is_ok());
}

#[test]
fn revoking_unknown_or_garbage_tokens_is_not_an_error() {
    let f = fixture();
    for token in ["", "nope", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.AAAA"] {
        assert!(f.rt.block_on(f.service.revoke(token)).is_ok(), "{token}");
    }
}

#[test]
fn revoking_a_refresh_token_ends_its_family() {
    let f = fixture();
    let pair =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("login");
    let next =
        f.rt.block_on(f.service.refresh(pair.refresh_token()))
            .expect("refresh");
    f.rt.block_on(f.service.revoke(next.refresh_token()))
        .expect("revoked");
    assert!(
        f.rt.block_on(f.service.refresh(next.refresh_token()))
            .is_err()
    );
}

#[test]
fn logout_ends_the_access_token_and_its_refresh_family() {
    let f = fixture();
    let pair =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("login");
    let p = f
        .access(pair.access.expose())
        .expect("valid")
        .expect("principal");
    f.rt.block_on(f.service.logout(&p)).expect("logout");
    assert!(f.access(pair.access.expose()).is_err());
    assert!(
        f.rt.block_on(f.service.refresh(pair.refresh_token()))
            .is_err()
    );
}

#[test]
fn logout_ends_every_access_token_of_the_session_and_no_other() {
    let f = fixture();
    let pair =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("login");
    let next =
        f.rt.block_on(f.service.refresh(pair.refresh_token()))
            .expect("refresh");
    let other =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("another session");
    let p = f
        .access(next.access.expose())
        .expect("valid")
        .expect("principal");
    f.rt.block_on(f.service.logout(&p)).expect("logout");
    assert!(
        f.access(pair.access.expose()).is_err(),
        "the session's earlier access token ends with it"
    );
    assert!(f.access(next.access.expose()).is_err());
    assert!(
        f.access(other.access.expose()).expect("valid").is_some(),
        "another session of the same user lives on"
    );
}

#[test]
fn a_reused_refresh_token_ends_the_access_tokens_minted_from_its_family() {
    let f = fixture();
    let victim =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("login");
    // The thief refreshes with the stolen token first...
    let thief =
        f.rt.block_on(f.service.refresh(victim.refresh_token()))
            .expect("thief refreshes");
    assert!(f.access(thief.access.expose()).expect("valid").is_some());
    // ...then the victim presents it again: reuse.
    assert!(
        f.rt.block_on(f.service.refresh(victim.refresh_token()))
            .is_err()
    );
    assert!(
        f.access(thief.access.expose()).is_err(),
        "the thief's access token dies with the family"
    );
    assert!(f.access(victim.access.expose()).is_err());
}

#[test]
fn revoking_a_refresh_token_ends_the_access_tokens_of_its_session() {
    let f = fixture();
    let pair =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("login");
    f.rt.block_on(f.service.revoke(pair.refresh_token()))
        .expect("revoked");
    assert!(f.access(pair.access.expose()).is_err());
}

#[test]
fn a_session_ended_by_id_refuses_its_tokens() {
    let f = fixture();
    let pair =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("login");
    let p = f
        .access(pair.access.expose())
        .expect("valid")
        .expect("principal");
    let sid = p.extra["sid"].as_str().expect("sid").to_owned();
    f.rt.block_on(f.service.end_session(&sid)).expect("ended");
    assert!(f.access(pair.access.expose()).is_err());
    assert!(
        f.rt.block_on(f.service.refresh(pair.refresh_token()))
            .is_err()
    );
}

#[test]
fn a_token_issued_in_the_second_of_its_users_cut_off_is_refused_and_the_next_second_is_not() {
    let f = fixture();
    f.rt.block_on(f.service.end_user_sessions("alice"))
        .expect("ended");
    let same_second =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("login");
    assert!(f.access(same_second.access.expose()).is_err());
    f.clock.advance(1);
    let next_second =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("login");
    assert!(
        f.access(next_second.access.expose())
            .expect("valid")
            .is_some()
    );
}

#[test]
fn ending_a_users_sessions_refuses_their_existing_tokens() {
    let f = fixture();
    let pair =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("login");
    f.clock.advance(5);
    f.rt.block_on(f.service.end_user_sessions("alice"))
        .expect("ended");
    assert!(f.access(pair.access.expose()).is_err());
    assert!(
        f.rt.block_on(f.service.refresh(pair.refresh_token()))
            .is_err()
    );
    // A later login works again.
    f.clock.advance(1);
    let fresh =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("login");
    assert!(f.access(fresh.access.expose()).expect("valid").is_some());
}

#[test]
fn refreshing_for_a_disabled_user_fails() {
    let f = fixture();
    let pair =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("login");
    f.rt.block_on(f.users.set_enabled("alice", false))
        .expect("disable");
    assert!(
        f.rt.block_on(f.service.refresh(pair.refresh_token()))
            .is_err()
    );
}

#[test]
fn failed_logins_back_off_then_lock_out_per_username_and_address() {
    let throttle = ThrottlePolicy {
        free_attempts: 2,
        base_delay_secs: 2,
        max_delay_secs: 60,
        lockout_after: 4,
        lockout_secs: 900,
        max_tracked: 100,
        ..ThrottlePolicy::default()
    };
    let f = fixture_with(RefreshLifetimes::default(), throttle);
    let login = |pw: &str, ip: &str| f.rt.block_on(f.service.login("alice", pw, ip));
    assert_eq!(
        login("x", "ip1").expect_err("wrong"),
        LoginError::InvalidCredentials
    );
    assert_eq!(
        login("x", "ip1").expect_err("wrong"),
        LoginError::InvalidCredentials
    );
    assert_eq!(
        login("x", "ip1").expect_err("wrong"),
        LoginError::InvalidCredentials
    );
    // Third failure set a 2 s delay: even the right password waits.
    assert_eq!(
        login("wonderland", "ip1").expect_err("throttled"),
        LoginError::Throttled { retry_after: 2 }
    );
    // Another address is not throttled.
    assert!(login("wonderland", "ip2").is_ok());
    f.clock.advance(2);
    assert_eq!(
        login("x", "ip1").expect_err("wrong"),
        LoginError::InvalidCredentials
    );
    assert_eq!(
        login("wonderland", "ip1").expect_err("locked"),
        LoginError::Throttled { retry_after: 900 }
    );
    f.clock.advance(900);
    assert!(login("wonderland", "ip1").is_ok());
}

#[test]
fn disabling_a_user_refuses_their_access_and_refresh_tokens_at_once() {
    let f = fixture();
    let pair =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("login");
    assert!(f.access(pair.access.expose()).is_ok());
    assert!(
        f.rt.block_on(f.service.disable_user("alice"))
            .expect("disabled")
    );
    assert!(f.access(pair.access.expose()).is_err());
    assert!(
        f.rt.block_on(f.service.refresh(pair.refresh_token()))
            .is_err()
    );
    assert!(
        !f.rt
            .block_on(f.service.disable_user("nobody"))
            .expect("no such user")
    );
}

#[test]
fn changing_the_password_ends_old_tokens_and_only_the_new_password_logs_in() {
    let f = fixture();
    let pair =
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect("login");
    assert!(
        f.rt.block_on(f.service.change_password("alice", "looking-glass"))
            .expect("changed")
    );
    assert!(f.access(pair.access.expose()).is_err());
    assert!(
        f.rt.block_on(f.service.refresh(pair.refresh_token()))
            .is_err()
    );
    f.clock.advance(1);
    assert_eq!(
        f.rt.block_on(f.service.login("alice", "wonderland", "ip"))
            .expect_err("old password"),
        LoginError::InvalidCredentials
    );
    let fresh =
        f.rt.block_on(f.service.login("alice", "looking-glass", "ip"))
            .expect("new password");
    assert!(f.access(fresh.access.expose()).expect("valid").is_some());
}

#[test]
fn a_login_upgrades_a_hash_of_old_parameters_once() {
    let old = PasswordHasher::fast_insecure_for_tests();
    let current = PasswordHasher::with_params(16, 2, 1).expect("valid");
    let users = Arc::new(MemoryUserStore::new(old));
    users
        .add_user("alice", "wonderland", PermissionSet::base(), ["reader"])
        .expect("user");
    let keys = Arc::new(KeySet::single(
        JwtKey::hmac(Algorithm::HS256, b"an-hmac-secret-for-the-session-tests").expect("key"),
    ));
    let issuer = TokenIssuer::new(keys, None).expect("issuer");
    let service = TokenService::new(issuer, users.clone()).with_hasher(current.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let hash = || {
        rt.block_on(users.find_by_username("alice"))
            .expect("store call")
            .expect("alice")
            .password_hash
    };
    let before = hash();
    assert!(current.needs_rehash(&before));
    rt.block_on(service.login("alice", "wonderland", "127.0.0.1"))
        .expect("login");
    let upgraded = hash();
    assert!(
        upgraded.starts_with("$argon2id$v=19$m=16,t=2,p=1$"),
        "{upgraded}"
    );
    rt.block_on(service.login("alice", "wonderland", "127.0.0.1"))
        .expect("login with the new hash");
    assert_eq!(hash(), upgraded, "a current hash is not rewritten");
}
