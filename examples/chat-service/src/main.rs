//! Runs the chat service: `cargo run --release -p chat-service`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use auth_core::Settings;
use chat_service::{
    ADMIN_PASSWORD_VAR, Config, DEFAULT_BIND, ENV_PREFIX, OpenChannels, build, check_bind,
};
use poem::Server;
use poem::listener::TcpListener;
use tracing_subscriber::EnvFilter;

/// How long in-flight requests get to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

const USAGE: &str = "usage: chat-service [--bind ADDR:PORT] [--data DIR]

A chat service (an echo bot) behind poem-auth. Listens on --bind, else
CCAT_BIND, else 127.0.0.1:1865; keeps its data in --data, else CCAT_DATA_DIR,
else ./data. Settings: CCAT_API_KEY (locks HTTP), CCAT_API_KEY_WS (locks
WebSocket), CCAT_JWT_SECRET, CCAT_JWT_EXPIRE_MINUTES, CCAT_ADMIN_PASSWORD,
CCAT_TRUSTED_PROXIES (comma-separated IPs), CCAT_DATABASE_URL (sqlite:// or
postgres://; default: data/auth.db), CCAT_OIDC_ISSUER or CCAT_JWKS_URL with
CCAT_JWT_AUDIENCE (tokens of an outside identity provider). Spec at /openapi.json, Swagger UI
at /docs.";

struct Args {
    bind: String,
    data_dir: PathBuf,
}

fn parse_args(
    mut args: impl Iterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Args>, String> {
    let mut bind = None;
    let mut data = None;
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .filter(|v| !v.trim().is_empty())
                .ok_or(format!("{name} needs a value, e.g. {name} {what}"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--bind" => bind = Some(value("127.0.0.1:1865")?),
            "--data" => data = Some(value("./data")?),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let nonempty = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    Ok(Some(Args {
        bind: bind
            .or_else(|| nonempty(env("CCAT_BIND")))
            .unwrap_or_else(|| DEFAULT_BIND.to_owned()),
        data_dir: data
            .or_else(|| nonempty(env("CCAT_DATA_DIR")))
            .unwrap_or_else(|| "data".to_owned())
            .into(),
    }))
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let env = |name: &str| std::env::var(name).ok();
    let args = match parse_args(std::env::args().skip(1), env) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("chat-service: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let settings = match Settings::from_env_prefixed(ENV_PREFIX) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("chat-service: {e}");
            return ExitCode::FAILURE;
        }
    };
    let open = OpenChannels::of(&settings);
    if let Err(e) = check_bind(&args.bind, open) {
        eprintln!("chat-service: {e}");
        return ExitCode::FAILURE;
    }
    let trusted_proxies = match env("CCAT_TRUSTED_PROXIES")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("`{s}` is not an IP address")))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("chat-service: CCAT_TRUSTED_PROXIES: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = Config {
        settings,
        data_dir: args.data_dir.clone(),
        database_url: env("CCAT_DATABASE_URL").filter(|u| !u.trim().is_empty()),
        admin_password: env(ADMIN_PASSWORD_VAR)
            .filter(|p| !p.is_empty())
            .map(Into::into),
        trusted_proxies,
    };
    let app = match build(config).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("chat-service: refusing to start: {e}");
            return ExitCode::FAILURE;
        }
    };
    if open.http {
        tracing::warn!("CCAT_API_KEY is not set: HTTP requests need no credential");
    }
    if open.websocket {
        tracing::warn!("CCAT_API_KEY_WS is not set: WebSocket connections need no credential");
    }
    if !open.any() {
        tracing::warn!(
            "both API keys are set: keep them secret, and put the service behind TLS when it leaves this machine"
        );
    }
    tracing::info!(data = %args.data_dir.display(), "serving on http://{}; Swagger UI at /docs", args.bind);
    let served = Server::new(TcpListener::bind(args.bind.as_str()))
        .run_with_graceful_shutdown(app, shutdown_signal(), Some(SHUTDOWN_GRACE))
        .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chat-service: cannot serve on {}: {e}", args.bind);
            ExitCode::FAILURE
        }
    }
}
