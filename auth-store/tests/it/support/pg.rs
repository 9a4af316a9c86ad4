//! A private PostgreSQL cluster for tests: `initdb` into a temporary
//! directory, `postgres` on a free loopback port, a database per test, and
//! the server stopped when the guard is dropped, when the test process ends
//! (even on a panic or an abort), or on [`PgCluster::stop`].
//!
//! The server binaries come from Debian's `/usr/lib/postgresql/<ver>/bin`
//! or the `PATH`; `.ci/setup-postgres` installs them. PostgreSQL refuses to
//! run as root, so as root the cluster runs as the `postgres` OS user.
//!
//! In CI (`CI=true`) a cluster that cannot start fails the test; elsewhere
//! [`PgCluster::shared`] and [`PgCluster::start_or_skip`] return `None`
//! after printing how to install the server.
#![allow(dead_code, unreachable_pub)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A running cluster; dropping it stops the server and removes its data.
pub struct PgCluster {
    port: u16,
    /// The watchdog shell: it stops the server when its stdin closes.
    watchdog: Option<Child>,
    stdin: Option<ChildStdin>,
    dir: tempfile::TempDir,
}

impl std::fmt::Debug for PgCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgCluster")
            .field("port", &self.port)
            .finish()
    }
}

static SHARED: OnceLock<Option<PgCluster>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// What to do when the server cannot start: fail in CI, skip elsewhere.
fn unavailable(reason: &str) -> Option<PgCluster> {
    if in_ci() {
        panic!("PostgreSQL test cluster cannot start in CI: {reason}");
    }
    eprintln!(
        "skipping: PostgreSQL is not available ({reason}); run `sudo bash .ci/setup-postgres` to enable this test"
    );
    None
}

impl PgCluster {
    /// One cluster for the whole test binary, started on first use; each
    /// test takes its own database with [`create_database`](Self::create_database).
    pub fn shared() -> Option<&'static PgCluster> {
        SHARED
            .get_or_init(|| match Self::start() {
                Ok(c) => Some(c),
                Err(e) => unavailable(&e),
            })
            .as_ref()
    }

    /// A cluster of this test's own (to stop it), or `None` outside CI when
    /// the server is missing.
    pub fn start_or_skip() -> Option<PgCluster> {
        match Self::start() {
            Ok(c) => Some(c),
            Err(e) => unavailable(&e),
        }
    }

    /// Creates, starts and waits for a new cluster.
    pub fn start() -> Result<PgCluster, String> {
        let bin = bin_dir().ok_or("initdb not found")?;
        let dir = tempfile::Builder::new()
            .prefix("auth-store-pg-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let data = dir.path().join("data");
        std::fs::create_dir(&data).map_err(|e| format!("data dir: {e}"))?;
        let as_root = is_root();
        if as_root {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path()))?;
        }
        run(as_server_user(as_root, &bin.join("initdb"))
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
                "-D",
            ])
            .arg(&data))?;
        let port = free_port()?;
        // The shell starts the server and stops it once our end of its stdin
        // closes: on drop, and when this process ends however it ends.
        let server = as_server_user(as_root, &bin.join("postgres"));
        let mut argv: Vec<String> = std::iter::once(server.get_program())
            .chain(server.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        argv.extend(
            [
                "-D",
                &data.to_string_lossy(),
                "-k",
                &dir.path().to_string_lossy(),
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=400",
            ]
            .map(str::to_owned),
        );
        let script = r#"dir="$1"; shift; "$@" >"$dir/server.log" 2>&1 & pid=$!; read _; kill -INT "$pid"; wait "$pid"; rm -rf "$dir""#;
        let mut watchdog = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("pg-watchdog")
            .arg(dir.path())
            .args(&argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start postgres: {e}"))?;
        let stdin = watchdog.stdin.take();
        let cluster = PgCluster {
            port,
            watchdog: Some(watchdog),
            stdin,
            dir,
        };
        cluster.wait_ready(&bin)?;
        Ok(cluster)
    }

    fn wait_ready(&self, bin: &Path) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = Command::new(bin.join("pg_isready"))
                .args([
                    "-q",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                ])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                let log =
                    std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
                return Err(format!("postgres did not become ready:\n{log}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates a fresh database and returns its URL.
    pub async fn create_database(&self) -> String {
        use sqlx::Connection as _;
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = sqlx::PgConnection::connect(&self.url("postgres"))
            .await
            .expect("connect to the test cluster");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create database");
        conn.close().await.ok();
        self.url(&name)
    }

    /// Stops the server now (fast shutdown) and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"stop\n");
        }
        if let Some(mut child) = self.watchdog.take() {
            let _ = child.wait();
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program` run as the `postgres` user when we are root.
fn as_server_user(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
            .arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Debian's newest `/usr/lib/postgresql/<ver>/bin`, else the directory of
/// `initdb` on the `PATH`.
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|d| d.join("initdb").exists() && d.join("postgres").exists())
    })
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
