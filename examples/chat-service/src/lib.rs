//! The flagship poem-auth example: a chat service whose auth API is
//! wire-compatible with a well-known chat-assistant server's documented one.
//!
//! See the crate's `README.md` for the routes and settings; [`build`] makes
//! the service from a [`Config`], and `main.rs` runs it.

pub mod chat;
pub mod custom;
pub mod loopback;

use std::error::Error;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use auth_core::handlers::live::{LiveHandlers, SwitchableHandler};
use auth_core::throttle::{LoginThrottle, ThrottlePolicy};
use auth_core::{
    AuthContext, AuthMethod, Channel, HandlerRegistry, PermissionSet, Principal, RoleMap, Settings,
};
use auth_poem::{PoemAuth, RequestLog};
use auth_store::StoreSettings;
use poem::http::StatusCode;
use poem::{Endpoint, EndpointExt, Route, get};
use poem_openapi::OpenApiService;
use secrecy::SecretString;
use serde_json::json;

/// The prefix of every setting in the environment.
pub const ENV_PREFIX: &str = "CCAT_";
/// Where the service listens when told nothing else.
pub const DEFAULT_BIND: &str = "127.0.0.1:1865";
/// The variable holding the `admin` user's password.
pub const ADMIN_PASSWORD_VAR: &str = "CCAT_ADMIN_PASSWORD";
/// The file, under the data directory, holding the JWT secret made when
/// `CCAT_JWT_SECRET` is unset, so tokens survive a restart.
pub const JWT_SECRET_FILE: &str = "jwt-secret";

/// Everything [`build`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Auth settings, from `CCAT_*` variables.
    pub settings: Settings,
    /// Where the service keeps its data.
    pub data_dir: PathBuf,
    /// The database: a `sqlite://` or `postgres://` URL; `None` keeps a
    /// SQLite file, `auth.db`, in the data directory.
    pub database_url: Option<String>,
    /// The password of the `admin` user seeded at first start; `None`
    /// generates one and prints it once.
    pub admin_password: Option<SecretString>,
    /// Proxies whose `X-Forwarded-For` is believed: by the request log, the
    /// request spans and the login throttle.
    pub trusted_proxies: Vec<IpAddr>,
}

/// What a started service tells about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenChannels {
    /// HTTP requests without a credential are let in.
    pub http: bool,
    /// WebSocket upgrades without a credential are let in.
    pub websocket: bool,
}

impl OpenChannels {
    /// Which channels `settings` leaves without a key.
    pub fn of(settings: &Settings) -> Self {
        Self {
            http: settings.api_key.is_none(),
            websocket: settings.api_key_ws.is_none(),
        }
    }

    /// Whether any channel is open.
    pub fn any(&self) -> bool {
        self.http || self.websocket
    }
}

/// Refuses to serve an open channel on anything but a loopback address.
///
/// Web pages in a local browser can still reach loopback; [`build`] keeps
/// them out of an open service with [`loopback::LoopbackOnly`].
pub fn check_bind(bind: &str, open: OpenChannels) -> Result<(), String> {
    if !open.any() {
        return Ok(());
    }
    let addr: SocketAddr = bind
        .parse()
        .map_err(|_| format!("`{bind}` is not an ADDR:PORT such as 127.0.0.1:1865"))?;
    if addr.ip().is_loopback() {
        return Ok(());
    }
    let which = match (open.http, open.websocket) {
        (true, true) => "CCAT_API_KEY and CCAT_API_KEY_WS are",
        (true, false) => "CCAT_API_KEY is",
        _ => "CCAT_API_KEY_WS is",
    };
    Err(format!(
        "refusing to serve on {addr}: {which} not set, so anyone who can reach the address \
         could use the service; set the key(s), or bind to a loopback address such as \
         127.0.0.1:1865"
    ))
}

/// The JWT secret: `CCAT_JWT_SECRET`, else the one kept in the data
/// directory, else a new random one written there (readable by the owner only).
pub fn jwt_secret(settings: &Settings, data_dir: &Path) -> Result<SecretString, Box<dyn Error>> {
    if let Some(secret) = &settings.jwt_secret {
        return Ok(secret.clone());
    }
    let path = data_dir.join(JWT_SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= 32 => return Ok(text.trim().to_owned().into()),
        Ok(_) => return Err(format!("{} is too short: delete it", path.display()).into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", path.display()).into()),
    }
    let secret = format!(
        "{}{}",
        auth_core::random::random_id()?,
        auth_core::random::random_id()?
    );
    write_private(&path, &secret)?;
    tracing::warn!(
        path = %path.display(),
        "CCAT_JWT_SECRET is not set: made a random secret and kept it in the data directory"
    );
    Ok(secret.into())
}

fn write_private(path: &Path, text: &str) -> Result<(), Box<dyn Error>> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// The refusal body the chat server's clients expect, for 401 and 403 alike.
fn invalid_credentials() -> serde_json::Value {
    json!({"detail": {"error": "Invalid Credentials"}})
}

/// Builds the service.
pub async fn build(config: Config) -> Result<impl Endpoint + use<>, Box<dyn Error>> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        format!(
            "cannot create the data directory {}: {e}",
            config.data_dir.display()
        )
    })?;
    let mut settings = config.settings.clone();
    settings.jwt_secret = Some(jwt_secret(&settings, &config.data_dir)?);
    let url = config
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", config.data_dir.join("auth.db").display()));
    let stores = StoreSettings::new(url).open().await?;

    // Handlers chosen at run time through /auth_handler/settings (the
    // example's CustomAuthHandlerConfig among them) live in this slot.
    let switch = Arc::new(SwitchableHandler::new());
    let live_handlers = Arc::new(LiveHandlers::new(
        HandlerRegistry::with_registered()?,
        stores.handler_configs.clone(),
        switch.clone(),
    ));
    if let Some(active) = live_handlers.start().await? {
        tracing::info!(handler = %active, "activated the stored auth handler");
    }

    let open = OpenChannels::of(&settings);
    // The pipeline: the API keys, our JWTs, an outside identity provider's
    // (CCAT_OIDC_ISSUER or CCAT_JWKS_URL), then the switchable handler.
    let mut auth = PoemAuth::from_settings(&settings)
        .users_arc(stores.users.clone())
        .roles(RoleMap::new().superuser("admin"))
        .verified_cache(10_000)
        .tokens_with({
            let stores = stores.clone();
            move |tokens| {
                tokens
                    .with_refresh_store(stores.refresh)
                    .with_token_store(stores.tokens)
                    .with_revocations(stores.revocations)
                    // Failed logins are counted in the database, so instances
                    // on one PostgreSQL share one budget per account.
                    .with_throttle(LoginThrottle::with_store(
                        ThrottlePolicy::default(),
                        stores.throttle,
                    ))
            }
        })
        .handler_arc(switch)
        .anonymous(move |cx: &AuthContext| {
            let (is_open, permissions) = match cx.channel {
                Channel::Http => (open.http, PermissionSet::full()),
                Channel::WebSocket => (open.websocket, PermissionSet::base()),
            };
            is_open.then(|| {
                Principal::new(
                    cx.user_id_hint().unwrap_or(auth_core::DEFAULT_USER_ID),
                    AuthMethod::Anonymous,
                )
                .with_permissions(permissions)
            })
        });
    // The HTTP key is the operator's, as the chat server's is: full
    // permissions and the superuser role, so it can also manage (or reset)
    // the administrator. The WebSocket key only chats.
    if let Some(keys) = settings.api_key_handler_with(|b| b.http_roles(["admin"])) {
        auth = auth.api_keys(keys);
    }
    let auth = auth
        .unauthorized_status(StatusCode::FORBIDDEN)
        .unauthorized_body(invalid_credentials())
        .forbidden_body(invalid_credentials())
        .user_id_header("user_id")
        .live_handlers(live_handlers)
        .trusted_proxies(config.trusted_proxies.iter().copied())
        .build()?;
    auth.seed_admin(
        ADMIN_PASSWORD_VAR,
        config.admin_password.as_ref().map(|password| {
            use secrecy::ExposeSecret as _;
            password.expose_secret().to_owned()
        }),
    )
    .await?;

    let api = OpenApiService::new(
        (chat::ChatApi, auth.users_api(), auth.live_handlers_api()),
        "chat-service",
        chat::VERSION,
    );
    let root = auth.api_routes(api);
    let tracing = auth.masked_tracing();
    Ok(Route::new()
        .nest("/auth", auth.routes())
        .at("/ws", auth.websocket(get(chat::websocket)))
        .at("/ws/:user_id", auth.websocket(get(chat::websocket)))
        .nest("/", root)
        .with(tracing)
        .with_if(open.any(), loopback::LoopbackOnly)
        .with(RequestLog::new().trusted_proxies(config.trusted_proxies)))
}
