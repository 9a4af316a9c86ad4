//! The two scale measurements that need more than criterion:
//!
//! * `scale users --db PATH [--quick]`: `SqliteStore::find_by_username`
//!   with 1,000,000 users. The database is seeded once (one `INSERT ..
//!   SELECT` in one transaction, every user with the same precomputed PHC
//!   string) and kept at PATH, so later runs reuse it.
//! * `scale chat-rss --exe PATH [--quick]`: the RSS of the chat-service
//!   example before and after 100,000 distinct valid HS256 tokens, each sent
//!   once to `GET /`.
//!
//! Each prints one line of `key=value` pairs that `report` reads.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use auth_core::UserStore;
use auth_core::{Settings, jwt::TokenIssuer};
use auth_store::SqliteStore;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type Error = Box<dyn std::error::Error + Send + Sync>;

const USERS: u64 = 1_000_000;
const TOKENS: usize = 100_000;
/// An argon2id PHC string (OWASP parameters), shared by every seeded user.
const PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzYWx0YmVuY2g$4mzmJ7XhyZ1xZ6y0tUxNqzq8G0D5wIYbW6rYQfJbq3Y";
const SECRET: &str = "bench-chat-service-jwt-secret-0123456789abcdef";

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let quick = std::env::args().any(|a| a == "--quick");
    match std::env::args().nth(1).as_deref() {
        Some("users") => users(PathBuf::from(arg("--db").ok_or("--db PATH")?), quick).await,
        Some("chat-rss") => chat_rss(PathBuf::from(arg("--exe").ok_or("--exe PATH")?), quick).await,
        _ => Err("usage: scale users --db PATH | scale chat-rss --exe PATH".into()),
    }
}

fn username(i: u64) -> String {
    format!("user{i:07}")
}

async fn users(db: PathBuf, quick: bool) -> Result<(), Error> {
    if !db.exists() {
        let started = Instant::now();
        let tmp = db.with_extension("seeding");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", tmp.display()));
        }
        // The schema, by the store's own migrations.
        SqliteStore::open(&tmp).await?.close().await;
        let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&tmp);
        let pool = sqlx::SqlitePool::connect_with(opts).await?;
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO users (id, username, password_hash, enabled, permissions, extra, \
             created_at, updated_at) \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
             SELECT printf('id%07d', i), printf('user%07d', i), $2, 1, \
             '{\"CONVERSATION\":[\"READ\"]}', '{}', $3, $3 FROM n",
        )
        .bind(USERS as i64)
        .bind(PHC)
        .bind(1_700_000_000_i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        pool.close().await;
        std::fs::rename(&tmp, &db)?;
        eprintln!(
            "scale: seeded {USERS} users into {} in {:.1} s",
            db.display(),
            started.elapsed().as_secs_f64()
        );
    }
    let store = SqliteStore::open(&db).await?;
    // Spread over the whole table: a multiplicative step modulo the count.
    let pick = |k: u64| 1 + (k.wrapping_mul(2_654_435_761) % USERS);
    for k in 0..1_000 {
        store
            .find_by_username(&username(pick(k)))
            .await?
            .ok_or("a seeded user is missing")?;
    }
    let n = if quick { 2_000 } else { 50_000 };
    let mut us = Vec::with_capacity(n);
    for k in 0..n as u64 {
        let name = username(pick(k + 1_000));
        let t = Instant::now();
        let found = store.find_by_username(&name).await?;
        us.push(t.elapsed().as_secs_f64() * 1e6);
        found.ok_or("a seeded user is missing")?;
    }
    let miss = store.find_by_username("nobody-at-all").await?;
    assert!(miss.is_none());
    store.close().await;
    let mean = us.iter().sum::<f64>() / us.len() as f64;
    us.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| us[((us.len() as f64 * p) as usize).min(us.len() - 1)];
    println!(
        "users users={USERS} lookups={n} mean_us={mean:.1} p50_us={:.1} p99_us={:.1}",
        q(0.50),
        q(0.99)
    );
    Ok(())
}

fn rss_kib(pid: u32) -> Result<u64, Error> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).ok_or("VmRSS")?.parse()?)
}

/// Sends `GET /` with each token in turn on one keep-alive connection;
/// returns how many answered 200.
async fn send(port: u16, tokens: Arc<Vec<String>>, next: Arc<AtomicUsize>) -> Result<usize, Error> {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).await?;
    conn.set_nodelay(true)?;
    let mut ok = 0;
    let mut buf = Vec::with_capacity(4096);
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(token) = tokens.get(i) else {
            return Ok(ok);
        };
        let req =
            format!("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n");
        conn.write_all(req.as_bytes()).await?;
        buf.clear();
        let (head_end, len) = loop {
            let mut chunk = [0u8; 4096];
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Err("connection closed".into());
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..p]).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap_or(0));
                if head.starts_with("http/1.1 200") {
                    ok += 1;
                }
                break (p + 4, len);
            }
        };
        while buf.len() < head_end + len {
            let mut chunk = [0u8; 4096];
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Err("connection closed".into());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }
}

async fn chat_rss(exe: PathBuf, quick: bool) -> Result<(), Error> {
    let count = if quick { 5_000 } else { TOKENS };
    // Tokens as the service mints them: the same settings, the same issuer.
    let settings = Settings::from_vars("CCAT_", [("CCAT_JWT_SECRET", SECRET)])?;
    let issuer: TokenIssuer = settings.token_issuer(settings.jwt_keys()?)?;
    let tokens: Vec<String> = (0..count)
        .map(|i| {
            let mut claims = Map::new();
            claims.insert("sub".into(), format!("bench-user-{i}").into());
            claims.insert("username".into(), format!("bench-user-{i}").into());
            claims.insert("permissions".into(), json!({"STATUS": ["READ"]}));
            claims.insert("roles".into(), Value::Array(vec![]));
            issuer.issue_claims(claims).map(|t| t.expose().to_owned())
        })
        .collect::<Result<_, _>>()?;
    let tokens = Arc::new(tokens);

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let data = std::env::temp_dir().join(format!("bench-chat-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut child = Command::new(&exe)
        .args(["--bind", &format!("127.0.0.1:{port}"), "--data"])
        .arg(&data)
        .env("CCAT_API_KEY", "bench-api-key-0123456789")
        .env("CCAT_JWT_SECRET", SECRET)
        .env("CCAT_ADMIN_PASSWORD", "bench-admin-password-0123")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let result = async {
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if Instant::now() > deadline {
                return Err::<_, Error>("chat-service did not start".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // One request warms the path, then the figure before.
        let warm = Arc::new(vec![tokens[0].clone()]);
        send(port, warm, Arc::new(AtomicUsize::new(0))).await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = rss_kib(pid)?;
        let next = Arc::new(AtomicUsize::new(1));
        let started = Instant::now();
        let tasks: Vec<_> = (0..4)
            .map(|_| tokio::spawn(send(port, tokens.clone(), next.clone())))
            .collect();
        let mut ok = 0;
        for t in tasks {
            ok += t.await??;
        }
        let secs = started.elapsed().as_secs_f64();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let after = rss_kib(pid)?;
        Ok((before, after, ok + 1, secs))
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&data);
    let (before, after, ok, secs) = result?;
    println!(
        "chat-rss tokens={count} ok={ok} before_kib={before} after_kib={after} secs={secs:.1}"
    );
    if ok != count {
        return Err(format!("only {ok} of {count} tokens were accepted").into());
    }
    Ok(())
}
