//! `#[requires]` on plain poem handlers: each kind of requirement, allowed and refused.

use super::*;

static PAIR: AtomicUsize = AtomicUsize::new(0);
static ROLE: AtomicUsize = AtomicUsize::new(0);
static SCOPE: AtomicUsize = AtomicUsize::new(0);
static ANY: AtomicUsize = AtomicUsize::new(0);
static ALL: AtomicUsize = AtomicUsize::new(0);
static OWNER: AtomicUsize = AtomicUsize::new(0);
static OWNER_PATTERN: AtomicUsize = AtomicUsize::new(0);
static SEVERAL: AtomicUsize = AtomicUsize::new(0);
static CUSTOM: AtomicUsize = AtomicUsize::new(0);

/// The handlers, in a module of their own: `#[handler]` makes each a unit
/// struct, which would shadow local variables of the same name.
mod plain {
    use super::*;

    /// A synchronous handler returning a bare `T`.
    #[requires(R::Conversation, P::Write)]
    #[handler]
    pub(super) fn pair() -> &'static str {
        PAIR.fetch_add(1, Ordering::SeqCst);
        "written"
    }

    /// An async handler returning `Result<T>`, which uses `?`.
    #[requires(role("admin"))]
    #[handler]
    pub(super) async fn role() -> poem::Result<String> {
        ROLE.fetch_add(1, Ordering::SeqCst);
        let n: u32 = "7".parse().map_err(poem::error::BadRequest)?;
        Ok(format!("admin {n}"))
    }

    /// Takes the caller itself: it is reused, not authenticated twice.
    #[requires(scope("openid"))]
    #[handler]
    pub(super) fn scope(user: Authenticated) -> String {
        SCOPE.fetch_add(1, Ordering::SeqCst);
        user.id.clone()
    }

    #[requires(any(role("admin"), (R::Users, P::Read)))]
    #[handler]
    pub(super) fn any() -> &'static str {
        ANY.fetch_add(1, Ordering::SeqCst);
        "any"
    }

    #[requires(all((R::Conversation, P::Read), (R::Memory, P::List)))]
    #[handler]
    pub(super) fn all() -> &'static str {
        ALL.fetch_add(1, Ordering::SeqCst);
        "all"
    }

    /// An ownership rule on a path argument.
    #[requires(any(role("admin"), expr = "user.id == id.0"))]
    #[handler]
    pub(super) fn owned(id: Path<String>) -> String {
        OWNER.fetch_add(1, Ordering::SeqCst);
        id.0
    }

    /// The same rule on a destructured argument.
    #[requires(expr = "user.id == *owner")]
    #[handler]
    pub(super) fn owner_pattern(Path(owner): Path<String>) -> String {
        OWNER_PATTERN.fetch_add(1, Ordering::SeqCst);
        owner
    }

    /// Several attributes: all of them.
    #[requires(R::Conversation, P::Read)]
    #[requires(role("editor"))]
    #[handler]
    pub(super) fn several() -> &'static str {
        SEVERAL.fetch_add(1, Ordering::SeqCst);
        "several"
    }

    #[requires(Billing::Invoice, P::Read)]
    #[handler]
    pub(super) fn custom() -> &'static str {
        CUSTOM.fetch_add(1, Ordering::SeqCst);
        "invoices"
    }
}

fn handlers(auth: PoemAuth) -> TestClient<impl Endpoint> {
    TestClient::new(
        Route::new()
            .at("/pair", get(plain::pair))
            .at("/role", get(plain::role))
            .at("/scope", get(plain::scope))
            .at("/any", get(plain::any))
            .at("/all", get(plain::all))
            .at("/owner/:id", get(plain::owned))
            .at("/owner-pattern/:owner", get(plain::owner_pattern))
            .at("/several", get(plain::several))
            .at("/custom", get(plain::custom))
            .data(auth),
    )
}

#[tokio::test]
async fn handler_pair_allows_holders_of_the_permission() {
    check_route(
        &handlers(auth()),
        "/pair",
        &PAIR,
        &["k-nobody", "k-u7"],
        &["k-reader"],
    )
    .await;
}

#[tokio::test]
async fn handler_role_allows_the_role_and_keeps_a_result_body() {
    let cli = handlers(auth());
    check_route(&cli, "/role", &ROLE, &["k-reader"], &["k-admin"]).await;
    call(&cli, "/role", Some("k-admin"))
        .await
        .assert_text("admin 7")
        .await;
}

#[tokio::test]
async fn handler_scope_allows_the_scope_and_authenticates_once() {
    let (auth, pipeline_runs) = auth_with_runs();
    let cli = handlers(auth);
    check_route(&cli, "/scope", &SCOPE, &["k-reader"], &["k-openid"]).await;
    let before = pipeline_runs.load(Ordering::SeqCst);
    call(&cli, "/scope", Some("k-openid"))
        .await
        .assert_text("o")
        .await;
    assert_eq!(pipeline_runs.load(Ordering::SeqCst), before + 1);
}

#[tokio::test]
async fn handler_any_allows_either() {
    check_route(
        &handlers(auth()),
        "/any",
        &ANY,
        &["k-reader"],
        &["k-admin", "k-u7"],
    )
    .await;
}

#[tokio::test]
async fn handler_all_needs_both() {
    check_route(
        &handlers(auth()),
        "/all",
        &ALL,
        &["k-u7", "k-admin"],
        &["k-reader"],
    )
    .await;
}

#[tokio::test]
async fn handler_expr_compares_the_caller_with_a_path_argument() {
    let cli = handlers(auth());
    check_route(
        &cli,
        "/owner/u7",
        &OWNER,
        &["k-reader"],
        &["k-u7", "k-admin"],
    )
    .await;
    call(&cli, "/owner/reader", Some("k-u7"))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    check_route(
        &cli,
        "/owner-pattern/u7",
        &OWNER_PATTERN,
        &["k-reader", "k-admin"],
        &["k-u7"],
    )
    .await;
}

#[tokio::test]
async fn handler_with_several_attributes_needs_all_of_them() {
    check_route(
        &handlers(auth()),
        "/several",
        &SEVERAL,
        &["k-reader", "k-admin"],
        &["k-editor"],
    )
    .await;
}

#[tokio::test]
async fn handler_pair_takes_an_application_resource() {
    check_route(
        &handlers(auth()),
        "/custom",
        &CUSTOM,
        &["k-reader"],
        &["k-billing"],
    )
    .await;
}

#[tokio::test]
async fn handler_reuses_the_principal_the_layer_stored() {
    let (auth, runs) = auth_with_runs();
    let cli = TestClient::new(Route::new().at("/any", get(plain::any)).with(auth.layer()));
    let before = runs.load(Ordering::SeqCst);
    call(&cli, "/any", Some("k-u7")).await.assert_status_is_ok();
    assert_eq!(runs.load(Ordering::SeqCst), before + 1);
}
