//! One of the five servers of the HTTP benchmark, each the same JSON handler
//! at `GET /hello` needing `CONVERSATION:READ`, guarded a different way:
//!
//! | mode | guard |
//! |---|---|
//! | `bare` | none (poem-openapi) |
//! | `handwritten` | a poem-openapi `SecurityScheme` checker calling jsonwebtoken |
//! | `grants` | poem-grants `#[protect]` over the same checker |
//! | `authorizer` | jwt-authorizer on axum |
//! | `ours` | poem-auth's `#[requires]` as configured by default (verified-token cache on), with the token routes at `/auth` |
//! | `ours-uncached` | the same with the verified-token cache turned off |
//!
//! ```text
//! serve MODE 127.0.0.1:PORT
//! ```

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use auth_core::jwt::{Algorithm, TokenIssuer, Validation};
use auth_core::password::PasswordHasher;
use auth_core::tokens::TokenService;
use auth_core::{AuthPermission as P, AuthResource as R, JwtHandler, MemoryUserStore, Pipeline};
use auth_poem::PoemAuth;
use poem::listener::TcpListener;
use poem::{EndpointExt, Request, Route, Server};
use poem_auth_bench::{Claims, Hello, PASSWORD, SECRET, USER};
use poem_openapi::payload::Json;
use poem_openapi::{OpenApi, OpenApiService, SecurityScheme};

/// The jsonwebtoken key and validation the hand-written checkers share.
fn verifier() -> &'static (jsonwebtoken::DecodingKey, jsonwebtoken::Validation) {
    static V: OnceLock<(jsonwebtoken::DecodingKey, jsonwebtoken::Validation)> = OnceLock::new();
    V.get_or_init(|| poem_auth_bench::jsonwebtoken_verifier(Algorithm::HS256))
}

// ---- (1) no auth ----

struct Bare;

#[OpenApi]
impl Bare {
    /// The handler.
    #[oai(path = "/hello", method = "get")]
    async fn hello(&self) -> Json<Hello> {
        Json(Hello::new())
    }
}

// ---- (2) a hand-written SecurityScheme ----

/// Bearer JWT checked with jsonwebtoken.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_bearer")]
struct Bearer(Claims);

async fn check_bearer(_req: &Request, bearer: poem_openapi::auth::Bearer) -> Option<Claims> {
    let (key, validation) = verifier();
    jsonwebtoken::decode::<Claims>(&bearer.token, key, validation)
        .ok()
        .map(|t| t.claims)
}

struct Handwritten;

#[OpenApi]
impl Handwritten {
    /// The handler.
    #[oai(path = "/hello", method = "get")]
    async fn hello(&self, auth: Bearer) -> poem::Result<Json<Hello>> {
        if !auth.0.may_read_conversations() {
            return Err(poem::Error::from_status(poem::http::StatusCode::FORBIDDEN));
        }
        Ok(Json(Hello::new()))
    }
}

// ---- (3) poem-grants over the same checker ----

async fn grants_extract(req: &Request) -> poem::Result<HashSet<String>> {
    let unauthorized = || poem::Error::from_status(poem::http::StatusCode::UNAUTHORIZED);
    let token = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(unauthorized)?;
    let (key, validation) = verifier();
    let claims = jsonwebtoken::decode::<Claims>(token, key, validation)
        .map_err(|_| unauthorized())?
        .claims;
    Ok(claims.authorities())
}

struct Grants;

#[poem_grants::open_api]
#[OpenApi]
impl Grants {
    /// The handler.
    #[protect("CONVERSATION:READ")]
    #[oai(path = "/hello", method = "get")]
    async fn hello(&self) -> Json<Hello> {
        Json(Hello::new())
    }
}

// ---- (4) jwt-authorizer on axum ----

async fn authorizer_hello(
    jwt_authorizer::JwtClaims(_claims): jwt_authorizer::JwtClaims<Claims>,
) -> axum::Json<Hello> {
    axum::Json(Hello::new())
}

async fn serve_authorizer(addr: &str) -> std::io::Result<()> {
    use jwt_authorizer::{Authorizer, IntoLayer, JwtAuthorizer};
    let auth: Authorizer<Claims> = JwtAuthorizer::from_secret(SECRET)
        .check(Claims::may_read_conversations)
        .build()
        .await
        .map_err(std::io::Error::other)?;
    let app = axum::Router::new()
        .route("/hello", axum::routing::get(authorizer_hello))
        .layer(auth.into_layer());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await
}

// ---- (5) ours ----

struct Ours;

#[auth_poem::api]
#[OpenApi]
impl Ours {
    /// The handler.
    #[requires(R::Conversation, P::Read)]
    #[oai(path = "/hello", method = "get")]
    async fn hello(&self) -> Json<Hello> {
        Json(Hello::new())
    }
}

fn ours(cache: bool) -> Result<PoemAuth, Box<dyn std::error::Error>> {
    let keys = poem_auth_bench::verifying_keys(Algorithm::HS256);
    let users = Arc::new(MemoryUserStore::new(PasswordHasher::owasp()));
    users.add_user(USER, PASSWORD, auth_core::PermissionSet::base(), ["user"])?;
    let tokens = Arc::new(TokenService::new(
        TokenIssuer::new(keys.clone(), None)?,
        users,
    ));
    // `JwtHandler::new` remembers verified tokens by default.
    let mut jwt = JwtHandler::new(keys, Validation::new()).with_revocations(tokens.revocations());
    if !cache {
        jwt = jwt.without_verified_cache();
    }
    let pipeline = Pipeline::builder().handler(jwt).build()?;
    Ok(PoemAuth::from_pipeline(pipeline)
        .token_service(tokens)
        .build()?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(mode), Some(addr)) = (args.next(), args.next()) else {
        return Err(
            "usage: serve bare|handwritten|grants|authorizer|ours|ours-uncached ADDR:PORT".into(),
        );
    };
    let listener = TcpListener::bind(addr.clone());
    match mode.as_str() {
        "bare" => {
            let api = OpenApiService::new(Bare, "bare", "1");
            Server::new(listener)
                .run(Route::new().nest("/", api))
                .await?;
        }
        "handwritten" => {
            let api = OpenApiService::new(Handwritten, "handwritten", "1");
            Server::new(listener)
                .run(Route::new().nest("/", api))
                .await?;
        }
        "grants" => {
            let api = OpenApiService::new(Grants, "grants", "1");
            let app = Route::new().nest(
                "/",
                api.with(poem_grants::GrantsMiddleware::with_extractor(
                    grants_extract,
                )),
            );
            Server::new(listener).run(app).await?;
        }
        "authorizer" => serve_authorizer(&addr).await?,
        "ours" | "ours-uncached" => {
            let auth = ours(mode == "ours")?;
            let api = OpenApiService::new(Ours, "ours", "1");
            let app = Route::new()
                .nest("/auth", auth.routes())
                .nest("/", api)
                .data(auth);
            Server::new(listener).run(app).await?;
        }
        other => return Err(format!("unknown mode `{other}`").into()),
    }
    Ok(())
}
