//! Runs the HTTP and blocking benchmarks, reads the in-process results
//! criterion left behind, prints every figure and writes the same text to
//! `BENCHMARKS.md`, with an SVG chart of the HTTP results.
//!
//! `bench/run` calls it after `cargo bench`; see there for the options.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use auth_core::jwt::Algorithm;
use poem_auth_bench::{PASSWORD, PATH, USER};
use serde_json::Value;

type Error = Box<dyn std::error::Error>;

/// The servers, in report order: (mode, label).
const SERVERS: [(&str, &str); 6] = [
    ("bare", "(1) poem-openapi, no auth"),
    (
        "handwritten",
        "(2) poem-openapi + hand-written SecurityScheme (jsonwebtoken)",
    ),
    ("grants", "(3) poem-grants #[protect] over the same checker"),
    ("authorizer", "(4) jwt-authorizer on axum"),
    ("ours", "(5) poem-auth #[requires], defaults"),
    (
        "ours-uncached",
        "(5b) poem-auth #[requires], verified-token cache off",
    ),
];

struct Options {
    root: PathBuf,
    criterion: PathBuf,
    serve: PathBuf,
    scale: PathBuf,
    chat: PathBuf,
    users_db: PathBuf,
    command: String,
    quick: bool,
    rounds: usize,
    secs: u64,
    connections: usize,
}

fn options() -> Result<Options, Error> {
    let mut root = None;
    let mut criterion = None;
    let mut serve = None;
    let mut scale = None;
    let mut chat = None;
    let mut users_db = None;
    let mut command = "bash bench/run".to_owned();
    let mut quick = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--root" => root = Some(PathBuf::from(value()?)),
            "--criterion" => criterion = Some(PathBuf::from(value()?)),
            "--serve" => serve = Some(PathBuf::from(value()?)),
            "--scale" => scale = Some(PathBuf::from(value()?)),
            "--chat" => chat = Some(PathBuf::from(value()?)),
            "--users-db" => users_db = Some(PathBuf::from(value()?)),
            "--command" => command = value()?,
            "--quick" => quick = true,
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    Ok(Options {
        root: root.ok_or("--root is required")?,
        criterion: criterion.ok_or("--criterion is required")?,
        serve: serve.ok_or("--serve is required")?,
        scale: scale.ok_or("--scale is required")?,
        chat: chat.ok_or("--chat is required")?,
        users_db: users_db.ok_or("--users-db is required")?,
        command,
        quick,
        rounds: if quick { 1 } else { 5 },
        secs: if quick { 1 } else { 3 },
        connections: 32,
    })
}

// ---- scale: the SQLite user lookup and the chat-service RSS ----

/// Runs `scale` with `args`, prints its line and returns its `key=value`
/// pairs.
fn scale(opts: &Options, args: &[&std::ffi::OsStr]) -> Result<BTreeMap<String, String>, Error> {
    let mut cmd = Command::new(&opts.scale);
    cmd.args(args);
    if opts.quick {
        cmd.arg("--quick");
    }
    let out = cmd.stderr(Stdio::inherit()).output()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    println!("{text}");
    if !out.status.success() {
        return Err(format!("scale {:?} failed: {text}", args).into());
    }
    Ok(text
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

fn field(map: &BTreeMap<String, String>, key: &str) -> Result<f64, Error> {
    Ok(map
        .get(key)
        .ok_or_else(|| format!("scale printed no `{key}`"))?
        .parse()?)
}

// ---- a minimal HTTP/1.1 client over one keep-alive connection ----

struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn open(port: u16) -> std::io::Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Self {
            reader: BufReader::new(stream),
        })
    }

    /// Sends a request and reads the answer: (status, body).
    fn send(&mut self, request: &[u8]) -> Result<(u16, Vec<u8>), Error> {
        self.reader.get_mut().write_all(request)?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {line:?}"))?;
        let mut len = None;
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((name, value)) = l.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    len = Some(value.trim().parse::<usize>()?);
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    return Err("chunked answers are not expected".into());
                }
            }
        }
        let mut body = vec![0; len.unwrap_or(0)];
        self.reader.read_exact(&mut body)?;
        Ok((status, body))
    }
}

fn get(path: &str, token: Option<&str>) -> Vec<u8> {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n").into_bytes()
}

fn login_body() -> String {
    serde_json::json!({"username": USER, "password": PASSWORD}).to_string()
}

// ---- servers ----

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(opts: &Options, mode: &str, port: u16, token: &str) -> Result<Server, Error> {
    let mut cmd = Command::new(&opts.serve);
    cmd.args([mode, &format!("127.0.0.1:{port}")]);
    launch(cmd, mode, port, token, Duration::from_secs(20))
}

/// Spawns `cmd`, a server of `mode` on `port`, and waits up to `wait` for
/// it to answer as every server must.
fn launch(
    mut cmd: Command,
    mode: &str,
    port: u16,
    token: &str,
    wait: Duration,
) -> Result<Server, Error> {
    let child = cmd.stdout(Stdio::null()).spawn()?;
    let server = Server { child, port };
    let deadline = Instant::now() + wait;
    let mut conn = loop {
        match Conn::open(port) {
            Ok(c) => break c,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("{mode} did not start: {e}").into()),
        }
    };
    // Every server must answer the token with the one body, and refuse
    // a request without one: a server that answers 401 fast measures nothing.
    let (status, body) = conn.send(&get(PATH, Some(token)))?;
    let body: Value = serde_json::from_slice(&body)?;
    if status != 200 || body != serde_json::json!({"message": "hello"}) {
        return Err(format!("{mode} answered {status} {body}").into());
    }
    if mode != "bare" {
        let (status, _) = Conn::open(port)?.send(&get(PATH, None))?;
        if status != 401 {
            return Err(format!("{mode} answered {status} without a token").into());
        }
    }
    Ok(server)
}

// ---- wrk ----

#[derive(Debug, Clone, Copy, Default)]
struct Load {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
}

fn duration_us(s: &str) -> Option<f64> {
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic())?);
    let n: f64 = num.parse().ok()?;
    Some(match unit {
        "us" => n,
        "ms" => n * 1e3,
        "s" => n * 1e6,
        "m" => n * 60e6,
        _ => return None,
    })
}

fn wrk(args: &[String]) -> Result<Load, Error> {
    let out = Command::new("wrk").args(args).output()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!("wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr)).into());
    }
    if let Some(line) = text.lines().find(|l| l.contains("Non-2xx")) {
        return Err(format!("wrk saw refusals: {line}").into());
    }
    let mut load = Load::default();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", v] => load.rps = v.parse()?,
            ["50%", v] => load.p50_us = duration_us(v).ok_or("bad p50")?,
            ["99%", v] => load.p99_us = duration_us(v).ok_or("bad p99")?,
            _ => {}
        }
    }
    if load.rps == 0.0 {
        return Err(format!("no throughput in wrk's output: {text}").into());
    }
    Ok(load)
}

fn wrk_get(opts: &Options, port: u16, token: &str, secs: u64) -> Result<Load, Error> {
    wrk(&[
        "-t1".into(),
        format!("-c{}", opts.connections),
        format!("-d{secs}s"),
        "--latency".into(),
        "-H".into(),
        format!("Authorization: Bearer {token}"),
        format!("http://127.0.0.1:{port}{PATH}"),
    ])
}

struct Http {
    /// Per server: one measurement per round.
    runs: Vec<Vec<Load>>,
}

fn http(opts: &Options, token: &str) -> Result<Http, Error> {
    let mut runs = vec![Vec::new(); SERVERS.len()];
    for round in 0..opts.rounds {
        // Each round starts at another server, so drift hits each alike.
        for i in 0..SERVERS.len() {
            let idx = (i + round) % SERVERS.len();
            let (mode, _) = SERVERS[idx];
            let port = 18_080 + u16::try_from(idx)?;
            let server = start(opts, mode, port, token)?;
            if !opts.quick {
                wrk_get(opts, server.port, token, 1)?; // warm-up
            }
            let load = wrk_get(opts, server.port, token, opts.secs)?;
            println!(
                "round {} {mode:<11} {:>9.0} req/s  p50 {:>7.0} us  p99 {:>7.0} us",
                round + 1,
                load.rps,
                load.p50_us,
                load.p99_us
            );
            runs[idx].push(load);
        }
    }
    Ok(Http { runs })
}

fn mean(xs: impl IntoIterator<Item = f64>) -> f64 {
    let v: Vec<f64> = xs.into_iter().collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn median(xs: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = xs.into_iter().collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

impl Http {
    fn rps(&self, i: usize) -> f64 {
        mean(self.runs[i].iter().map(|l| l.rps))
    }
    /// The mean over rounds of the ratio to (1) in the same round.
    fn ratio(&self, i: usize) -> f64 {
        mean(
            self.runs[i]
                .iter()
                .zip(&self.runs[0])
                .map(|(l, bare)| l.rps / bare.rps),
        )
    }
    fn p50(&self, i: usize) -> f64 {
        median(self.runs[i].iter().map(|l| l.p50_us))
    }
    fn p99(&self, i: usize) -> f64 {
        median(self.runs[i].iter().map(|l| l.p99_us))
    }
}

// ---- work per request: instructions counted by callgrind ----

/// Requests counted per server (after as many again to warm up).
fn work_requests(opts: &Options) -> u32 {
    if opts.quick { 200 } else { 2_000 }
}

/// The instructions each server executes per request, in `SERVERS` order:
/// each server runs under callgrind, answers a warm-up, then its counters
/// are zeroed, `n` requests are sent one after another on one keep-alive
/// connection, and the counters dumped. Unlike req/s, the count does not
/// move with the speed of a shared host, and it leaves out the load
/// generator.
fn work(opts: &Options, token: &str) -> Result<Vec<f64>, Error> {
    let n = work_requests(opts);
    let dir =
        std::env::temp_dir().join(format!("poem-auth-bench-callgrind-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let request = get(PATH, Some(token));
    let mut per_request = Vec::new();
    for (idx, (mode, _)) in SERVERS.iter().enumerate() {
        let port = 18_100 + u16::try_from(idx)?;
        let mut cmd = Command::new("valgrind");
        cmd.arg("--tool=callgrind")
            .arg(format!(
                "--callgrind-out-file={}",
                dir.join(format!("{mode}.%p")).display()
            ))
            .arg(&opts.serve)
            .args([*mode, &format!("127.0.0.1:{port}")])
            .stderr(Stdio::null());
        let server = launch(cmd, mode, port, token, Duration::from_secs(120))?;
        let pid = server.child.id().to_string();
        let mut conn = Conn::open(port)?;
        for _ in 0..n {
            conn.send(&request)?;
        }
        callgrind_control("-z", &pid)?;
        for _ in 0..n {
            let (status, _) = conn.send(&request)?;
            if status != 200 {
                return Err(format!("{mode} answered {status} under callgrind").into());
            }
        }
        callgrind_control("-d", &pid)?;
        drop(server);
        let dump = std::fs::read_to_string(dir.join(format!("{mode}.{pid}.1")))?;
        let total: f64 = dump
            .lines()
            .find_map(|l| l.strip_prefix("summary: "))
            .ok_or_else(|| format!("no summary in the callgrind dump of {mode}"))?
            .trim()
            .parse()?;
        let each = total / f64::from(n);
        println!("{mode:<13} {each:>9.0} instructions per request");
        per_request.push(each);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(per_request)
}

fn callgrind_control(action: &str, pid: &str) -> Result<(), Error> {
    let out = Command::new("callgrind_control")
        .args([action, pid])
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "callgrind_control {action} {pid} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(())
}

// ---- blocking: a protected GET while 50 clients log in ----

struct Blocking {
    idle_p99_us: f64,
    loaded_p99_us: f64,
    idle_p50_us: f64,
    loaded_p50_us: f64,
    logins_per_sec: f64,
}

/// Sequential protected GETs on one connection, one every 2 ms.
fn probe(port: u16, token: &str, secs: u64) -> Result<Vec<f64>, Error> {
    let mut conn = Conn::open(port)?;
    let request = get(PATH, Some(token));
    let end = Instant::now() + Duration::from_secs(secs);
    let mut lat = Vec::new();
    while Instant::now() < end {
        let t = Instant::now();
        let (status, _) = conn.send(&request)?;
        lat.push(t.elapsed().as_secs_f64() * 1e6);
        if status != 200 {
            return Err(format!("the protected GET answered {status}").into());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(lat)
}

fn percentile(lat: &[f64], p: f64) -> f64 {
    let mut v = lat.to_vec();
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or(f64::NAN)
}

fn blocking(opts: &Options, token: &str) -> Result<Blocking, Error> {
    let port = 18_090;
    let server = start(opts, "ours", port, token)?;
    let login = format!(
        "POST /auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        login_body().len(),
        login_body()
    );
    let (status, body) = Conn::open(port)?.send(login.as_bytes())?;
    if status != 200 {
        return Err(format!(
            "login answered {status}: {}",
            String::from_utf8_lossy(&body)
        )
        .into());
    }
    let secs = if opts.quick { 3 } else { 10 };
    let idle = probe(port, token, secs)?;

    let script = std::env::temp_dir().join("poem-auth-bench-login.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = '{}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n",
            login_body()
        ),
    )?;
    let args: Vec<String> = vec![
        "-t1".into(),
        "-c50".into(),
        format!("-d{}s", secs + 4),
        "--timeout".into(),
        "30s".into(),
        "-s".into(),
        script.display().to_string(),
        format!("http://127.0.0.1:{}/auth/token", server.port),
    ];
    let logins = std::thread::spawn(move || wrk(&args).map_err(|e| e.to_string()));
    std::thread::sleep(Duration::from_secs(1));
    let loaded = probe(port, token, secs)?;
    let logins = logins.join().map_err(|_| "the login load panicked")??;
    Ok(Blocking {
        idle_p99_us: percentile(&idle, 0.99),
        loaded_p99_us: percentile(&loaded, 0.99),
        idle_p50_us: percentile(&idle, 0.5),
        loaded_p50_us: percentile(&loaded, 0.5),
        logins_per_sec: logins.rps,
    })
}

// ---- criterion's results ----

/// One paired measurement (`paired.json`): medians, in ns.
struct Paired {
    ours: f64,
    floor: f64,
    overhead: f64,
}

/// Typical time per id, in ns: criterion's slope estimate, or its mean
/// when there is no slope (what it prints as the middle `time` figure).
fn criterion_results(dir: &Path) -> Result<BTreeMap<String, f64>, Error> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "new") {
                    let bench: Value =
                        serde_json::from_slice(&std::fs::read(path.join("benchmark.json"))?)?;
                    let est: Value =
                        serde_json::from_slice(&std::fs::read(path.join("estimates.json"))?)?;
                    let typical = est["slope"]["point_estimate"]
                        .as_f64()
                        .or_else(|| est["mean"]["point_estimate"].as_f64())
                        .ok_or("no estimate")?;
                    let id = bench["full_id"].as_str().ok_or("no id")?.to_owned();
                    out.insert(id, typical);
                } else {
                    stack.push(path);
                }
            }
        }
    }
    Ok(out)
}

// ---- the machine ----

fn sh(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Every version of each package in `bench/Cargo.lock`, joined with " and ".
fn lock_versions(root: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(root.join("bench/Cargo.lock")).unwrap_or_default();
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_owned());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            let entry = out.entry(n).or_default();
            if !entry.is_empty() {
                entry.push_str(" and ");
            }
            entry.push_str(v.trim_matches('"'));
        }
    }
    out
}

// ---- the chart ----

fn chart(http: &Http) -> String {
    let (w, bar_h, gap, left, top) = (760.0, 28.0, 14.0, 330.0, 40.0);
    let max = (0..SERVERS.len()).map(|i| http.rps(i)).fold(1.0, f64::max);
    let h = top + SERVERS.len() as f64 * (bar_h + gap) + 20.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"13\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"24\" font-size=\"15\" font-weight=\"bold\">GET /hello over HTTP, requests per second (higher is better)</text>\n"
    );
    for (i, (mode, label)) in SERVERS.iter().enumerate() {
        let y = top + i as f64 * (bar_h + gap);
        let bw = (w - left - 150.0) * http.rps(i) / max;
        let fill = if mode.starts_with("ours") {
            "#2b7bb9"
        } else {
            "#9aa5b1"
        };
        let short = label.split(" (jsonwebtoken)").next().unwrap_or(label);
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n<rect x=\"{left}\" y=\"{y}\" width=\"{bw:.1}\" height=\"{bar_h}\" fill=\"{fill}\"/>\n<text x=\"{:.1}\" y=\"{}\">{:.0} ({:.2}x)</text>",
            left - 8.0,
            y + 19.0,
            xml(short),
            left + bw + 6.0,
            y + 19.0,
            http.rps(i),
            http.ratio(i)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

// ---- the report ----

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "not met" }
}

fn main() -> Result<(), Error> {
    let opts = options()?;
    let load_before = loadavg();
    let started = sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let token = poem_auth_bench::token(Algorithm::HS256);

    println!("== HTTP: the same handler served five ways ==");
    let http = http(&opts, &token)?;
    println!("== work per request: instructions under callgrind ==");
    let work = work(&opts, &token)?;
    println!("== blocking: a protected GET while 50 clients log in ==");
    let blocking = blocking(&opts, &token)?;
    println!("== scale: a user lookup among 1,000,000 users in SQLite ==");
    let users = scale(
        &opts,
        &["users".as_ref(), "--db".as_ref(), opts.users_db.as_os_str()],
    )?;
    println!("== scale: RSS of the chat-service example after 100,000 distinct tokens ==");
    let rss = scale(
        &opts,
        &["chat-rss".as_ref(), "--exe".as_ref(), opts.chat.as_os_str()],
    )?;
    let ns = criterion_results(&opts.criterion)?;
    let paired: Value =
        serde_json::from_slice(&std::fs::read(opts.criterion.join("paired.json"))?)?;
    let p = |id: &str| -> Result<Paired, Error> {
        let v = &paired[id];
        let f = |k: &str| {
            v[k].as_f64()
                .ok_or_else(|| format!("no paired `{k}` for `{id}`"))
        };
        Ok(Paired {
            ours: f("ours_ns")?,
            floor: f("floor_ns")?,
            overhead: f("overhead_ns")?,
        })
    };
    let paired_rounds = paired["HS256"]["rounds"].as_u64().unwrap_or(0);
    let load_after = loadavg();
    let t = |id: &str| -> Result<f64, Error> {
        ns.get(id)
            .copied()
            .ok_or_else(|| format!("no criterion result for `{id}`").into())
    };

    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# Benchmarks\n");
    let _ = writeln!(
        w,
        "What poem-auth costs per request, next to the bare framework, what a user would write \
         without it, and the cryptographic floor. Every figure below was printed by the run that \
         wrote this file.\n"
    );
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let _ = writeln!(w, "| | |\n|---|---|");
    let _ = writeln!(w, "| command | `{}` |", opts.command);
    let _ = writeln!(w, "| date | {started} |");
    let _ = writeln!(w, "| CPU | {} |", cpu_model());
    let _ = writeln!(w, "| cores | {cores} |");
    let _ = writeln!(
        w,
        "| kernel | {} |",
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
    );
    let _ = writeln!(w, "| rustc | {} |", sh("rustc", &["--version"]));
    let _ = writeln!(
        w,
        "| load average (1, 5, 15 min) | {load_before} at the start of the HTTP runs, {load_after} at the end |"
    );
    let busy = |l: &str| {
        l.split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .is_some_and(|v| v > cores as f64 / 2.0)
    };
    if busy(&load_before) || busy(&load_after) {
        let _ = writeln!(
            w,
            "| note | the machine was **not idle** (other builds shared its cores): absolute \
             figures are higher and noisier than on an idle machine; compare ratios within \
             this run |"
        );
    }
    if opts.quick {
        let _ = writeln!(
            w,
            "| mode | **quick** (smoke run: one short round, figures are not meaningful) |"
        );
    }

    // HTTP
    let _ = writeln!(w, "\n## Over HTTP\n");
    let _ = writeln!(
        w,
        "`GET /hello` answering `{{\"message\":\"hello\"}}`, needing `CONVERSATION:READ` from an \
         HS256 token (except in (1)), each server its own process on loopback, loaded by `wrk -t1 \
         -c{} -d{}s` after a warm-up; {} round(s), each starting at another server so that \
         machine drift spreads evenly. req/s is the mean over rounds, p50/p99 the median over \
         rounds, and the ratio the mean of each round's ratio to (1).\n",
        opts.connections, opts.secs, opts.rounds
    );
    let _ = writeln!(w, "![HTTP throughput](bench/http.svg)\n");
    let _ = writeln!(w, "| server | req/s | p50 (µs) | p99 (µs) | ratio to (1) |");
    let _ = writeln!(w, "|---|---:|---:|---:|---:|");
    for (i, (_, label)) in SERVERS.iter().enumerate() {
        let _ = writeln!(
            w,
            "| {label} | {:.0} | {:.0} | {:.0} | {:.3} |",
            http.rps(i),
            http.p50(i),
            http.p99(i),
            http.ratio(i)
        );
    }
    let versions = lock_versions(&opts.root);
    let v = |n: &str| versions.get(n).cloned().unwrap_or_else(|| "?".into());
    let _ = writeln!(
        w,
        "\nThe peers are built from their published crates, used as their documentation shows, \
         with the same handler body: poem {}, poem-openapi {}, poem-grants {} (its \
         `GrantsMiddleware::with_extractor` and `#[protect]` in a `#[poem_grants::open_api]` \
         API), jwt-authorizer {} on axum {} (`JwtAuthorizer::from_secret(..).check(..)` and \
         `JwtClaims`), jsonwebtoken {} (the hand-written checker of (2) and (3) uses the \
         newest; jwt-authorizer brings its own). (5) is `#[requires(R::Conversation, P::Read)]` \
         in an `#[auth_poem::api]` API over a `JwtHandler::new` with a revocation check, the token \
         routes mounted beside it, as configured by default: its verified-token cache is on, \
         so a token seen before is not verified or parsed again (the clock checks and the \
         revocation check still run). No peer has such a cache; (5b) is the same server with \
         `.without_verified_cache()`, verifying and parsing the token on every request as the \
         peers do. The server sources are `bench/src/bin/serve.rs`.",
        v("poem"),
        v("poem-openapi"),
        v("poem-grants"),
        v("jwt-authorizer"),
        v("axum"),
        v("jsonwebtoken")
    );

    let _ = writeln!(w, "\n### Work per request\n");
    let _ = writeln!(
        w,
        "The instructions each server executes per request, counted by callgrind (valgrind): \
         each server answers {n} requests to warm up, then {n} more, one after another on one \
         keep-alive connection, with its counters zeroed in between. The count does not move \
         with the host's speed as req/s does, and it leaves out the load generator, so it shows \
         what each guard adds to the same server more sharply than the ratios above. (4) runs \
         on axum, so its count holds axum's own work against poem-openapi's.\n",
        n = work_requests(&opts)
    );
    let _ = writeln!(
        w,
        "| server | instructions per request | ratio to (1) | added to (1) |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|");
    for (i, (_, label)) in SERVERS.iter().enumerate() {
        let _ = writeln!(
            w,
            "| {label} | {:.0} | {:.2} | {:.0} |",
            work[i],
            work[i] / work[0],
            work[i] - work[0]
        );
    }

    // In-process
    let _ = writeln!(w, "\n## In process\n");
    let _ = writeln!(
        w,
        "From a `poem::Request` carrying the credential to a `Principal` checked against \
         `CONVERSATION:READ` (`PoemAuth::authenticate` then `Principal::satisfies`), measured \
         with criterion (`bench/benches/inproc.rs`). The floor is the same token verified and \
         checked with jsonwebtoken alone (`decode` into a struct, then the grant); for HS256 also \
         the HMAC alone; for the API key, reading the header and a constant-time comparison. \
         \"ours\" is a token seen for the first time (the verified-token cache off); \"seen \
         before\" is the default `JwtHandler`, the token in its cache. Times in ns.\n\n\
         The overhead is not the difference of the two criterion figures, which are measured \
         seconds apart: on this shared machine the speed drifted between runs by more than the \
         overhead itself. It is measured paired: ours and the floor alternate in blocks of about \
         a millisecond, {} rounds for HS256 and the API key, and the figure is the median of \
         the per-call differences (`paired` in `bench/benches/inproc.rs`, written to \
         `paired.json`); the \"paired\" columns give the median time of each side in those \
         blocks.\n",
        paired_rounds
    );
    let _ = writeln!(
        w,
        "| credential | ours | seen before | jsonwebtoken floor | HMAC alone | ours, paired | floor, paired | overhead over the floor, paired |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|");
    let api = t("path/api_key")?;
    let api_floor = t("floor/api_key")?;
    let api_paired = p("api_key")?;
    let _ = writeln!(
        w,
        "| API key | {api:.0} | | {api_floor:.0} (header + compare) | | {:.0} | {:.0} | {:.0} |",
        api_paired.ours, api_paired.floor, api_paired.overhead
    );
    for alg in poem_auth_bench::ALGORITHMS {
        let ours = t(&format!("path/{alg}"))?;
        let cached = t(&format!("cached/{alg}"))?;
        let floor = t(&format!("floor/jsonwebtoken/{alg}"))?;
        let hmac = if alg == Algorithm::HS256 {
            format!("{:.0}", t("floor/hmac/HS256")?)
        } else {
            String::new()
        };
        let pair = p(&alg.to_string())?;
        let _ = writeln!(
            w,
            "| JWT {alg} | {ours:.0} | {cached:.0} | {floor:.0} | {hmac} | {:.0} | {:.0} | {:.0} |",
            pair.ours, pair.floor, pair.overhead
        );
    }
    let _ = writeln!(
        w,
        "| permission check alone | {:.1} | | | | |",
        t("permission/check")?
    );

    // Scale
    let _ = writeln!(w, "\n## Scale\n");
    let _ = writeln!(w, "| measure | result |\n|---|---:|");
    let _ = writeln!(
        w,
        "| permission check, principal with 100 resources x 10 permissions | {:.1} ns |",
        t("scale/permission_100x10")?
    );
    let _ = writeln!(
        w,
        "| revocation check, 1,000,000 revoked `jti`s, token not revoked | {:.1} ns |",
        t("scale/revocation_1M_miss")?
    );
    let _ = writeln!(
        w,
        "| revocation check, 1,000,000 revoked `jti`s, token revoked | {:.1} ns |",
        t("scale/revocation_1M_hit")?
    );
    let _ = writeln!(
        w,
        "| user lookup (`SqliteStore::find_by_username`), 1,000,000 users in SQLite, mean / p50 / p99 | {:.1} / {:.1} / {:.1} µs |",
        field(&users, "mean_us")?,
        field(&users, "p50_us")?,
        field(&users, "p99_us")?
    );
    let (before, after) = (field(&rss, "before_kib")?, field(&rss, "after_kib")?);
    let _ = writeln!(
        w,
        "| RSS of the chat-service example, at start / after {} distinct tokens | {:.1} / {:.1} MiB |",
        group(field(&rss, "tokens")? as u64),
        before / 1024.0,
        after / 1024.0
    );
    let _ = writeln!(
        w,
        "\nThe user lookup runs against one SQLite file (WAL) seeded once with {} users \
         (`bench/target/scale/users-1M.db`, reused by later runs; every user has the same \
         argon2id PHC string), over {} lookups of users spread across the table, each timed \
         alone. The RSS is `VmRSS` from `/proc/<pid>/status` of the release `chat-service` \
         (its default SQLite store in a fresh data directory), read after one warm-up request \
         and again after each token was sent once as `Authorization: Bearer` to `GET /` over 4 \
         keep-alive connections ({} of them answered 200). The tokens are HS256, minted in the \
         bench with the service's secret through the same `Settings::token_issuer` (`sub`, \
         `username`, `permissions`, `roles`, `iat`, `exp`, `jti`). The service keeps at most \
         10,000 verified tokens (`with_verified_cache(10_000)`), so its memory stays bounded \
         however many distinct tokens it sees: the growth is at most that cache full, not one \
         entry per token.",
        group(field(&users, "users")? as u64),
        group(field(&users, "lookups")? as u64),
        group(field(&rss, "ok")? as u64)
    );

    // Blocking
    let _ = writeln!(w, "\n## Blocking\n");
    let _ = writeln!(
        w,
        "Server (5) with a real user (argon2id, OWASP parameters). A single client sends \
         protected `GET /hello` requests one after another (one every 2 ms) for a while with \
         nothing else running, then again while `wrk` keeps 50 connections logging in through \
         `POST /auth/token`.\n"
    );
    let _ = writeln!(w, "| | idle | 50 clients logging in |\n|---|---:|---:|");
    let _ = writeln!(
        w,
        "| GET p50 (µs) | {:.0} | {:.0} |",
        blocking.idle_p50_us, blocking.loaded_p50_us
    );
    let _ = writeln!(
        w,
        "| GET p99 (µs) | {:.0} | {:.0} |",
        blocking.idle_p99_us, blocking.loaded_p99_us
    );
    let _ = writeln!(
        w,
        "| logins per second | | {:.1} |",
        blocking.logins_per_sec
    );

    // Targets
    let (ours, uncached) = (4, 5);
    let hs_over = p("HS256")?.overhead;
    let hs = t("path/HS256")?;
    let worst_cached = ["ES256", "EdDSA", "RS256"]
        .iter()
        .map(|a| t(&format!("cached/{a}")))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .fold(0.0, f64::max);
    let revocation = t("scale/revocation_1M_miss")?.max(t("scale/revocation_1M_hit")?);
    let peers_best = (1..ours).map(|i| http.rps(i)).fold(0.0, f64::max);
    let blocking_ratio = blocking.loaded_p99_us / blocking.idle_p99_us;
    let _ = writeln!(w, "\n## Targets\n");
    let _ = writeln!(w, "| target | figure | |\n|---|---|---|");
    for (i, what) in [(ours, "(5), defaults"), (uncached, "(5b), cache off")] {
        let ratio = http.ratio(i);
        let _ = writeln!(
            w,
            "| protected HS256 throughput >= 95% of unprotected, {what} | {:.1}% | {} |",
            ratio * 100.0,
            met(ratio >= 0.95)
        );
        let _ = writeln!(
            w,
            "| ahead of (2), (3) and (4), {what} | {:.0} req/s against at best {:.0} | {} |",
            http.rps(i),
            peers_best,
            met(http.rps(i) > peers_best)
        );
    }
    let _ = writeln!(
        w,
        "| in-process overhead over jsonwebtoken <= 500 ns, HS256 | {hs_over:.0} ns | {} |",
        met(hs_over <= 500.0)
    );
    let _ = writeln!(
        w,
        "| API-key path <= 200 ns | {:.0} ns in all, paired ({api:.0} ns by criterion; {:.0} ns over its floor) | {} |",
        api_paired.ours,
        api_paired.overhead,
        met(api_paired.ours <= 200.0)
    );
    let _ = writeln!(
        w,
        "| repeated ES256/EdDSA/RS256 token within 2x of HS256 (verified-token cache) | slowest {worst_cached:.0} ns against {hs:.0} ns ({:.2}x) | {} |",
        worst_cached / hs,
        met(worst_cached <= 2.0 * hs)
    );
    let _ = writeln!(
        w,
        "| revocation check <= 100 ns at 1,000,000 entries | {revocation:.1} ns | {} |",
        met(revocation <= 100.0)
    );
    let _ = writeln!(
        w,
        "| protected GET p99 while 50 clients log in <= 2x idle p99 | {:.0} µs against {:.0} µs ({:.2}x) | {} |",
        blocking.loaded_p99_us,
        blocking.idle_p99_us,
        blocking_ratio,
        met(blocking_ratio <= 2.0)
    );

    // What holds back each target that is not met, from this run's figures.
    let mut notes = Vec::new();
    let cached_hs = t("cached/HS256")?;
    if http.ratio(ours) < 0.95 || http.ratio(uncached) < 0.95 {
        // The CPU time of one bare request, both cores counted: what the
        // 5% margin is a share of.
        let bare_us = cores as f64 * 1e6 / http.rps(0);
        notes.push(format!(
            "**Throughput against (1).** The handler does next to nothing, so the ratio is the \
             share of a request's CPU that authentication takes. Here wrk and the server share \
             the same {cores} cores, so a bare request costs about {bare_us:.0} µs of CPU in all \
             (the load generator's share included) and 95% leaves about {:.1} µs for \
             authentication. Checking an HS256 token seen before costs {:.1} µs in process \
             (the default, (5)); verifying and parsing it costs {:.1} µs (cache off, (5b)), \
             about what jsonwebtoken alone costs. In instructions the server executes (work \
             per request, above), (5) adds {:.0} to (1)'s {:.0} ({:.0}%), and (5b) {:.0}. With \
             a handler that does real work the ratio rises, the same cost being a smaller share. \
             With the load generator on another machine it would fall, toward the ratio of \
             instructions: the server would have both cores to itself, and the bare server would \
             gain the most.",
            bare_us * 0.05,
            cached_hs / 1e3,
            hs / 1e3,
            work[ours] - work[0],
            work[0],
            (work[ours] / work[0] - 1.0) * 100.0,
            work[uncached] - work[0],
        ));
    }
    if http.rps(ours) <= peers_best || http.rps(uncached) <= peers_best {
        notes.push(format!(
            "**Against the peers.** (2), (3) and (4) verify and parse the token on every \
             request, as (5b) does: its in-process cost is the floor's within {:.0} ns (paired, \
             above), it executes {:.0} instructions per request against {:.0} for (2), and over \
             HTTP the order between these four is within the spread between rounds. (4) also runs on axum, not poem: its ratio holds axum's own cost against \
             poem-openapi's, which this run does not measure apart. (5) is ahead because it does \
             not repeat that work for a token it has seen.",
            p("HS256")?.overhead.abs(),
            work[uncached],
            work[1],
        ));
    }
    if hs_over > 500.0 {
        notes.push(
            "**HS256 overhead.** Beyond the jsonwebtoken floor, the path reads the claims into a \
             generic JSON map (so any claim can reach `Principal::extra` and the hooks) and \
             builds the principal's permission set from them; the \"seen before\" column \
             shows the cost without the parsing."
                .to_owned(),
        );
    }
    if api_paired.ours > 200.0 {
        notes.push(format!(
            "**API-key path.** It hashes the presented key with SHA-256 before a constant-time \
             comparison (the handler keeps only digests, and neither the key's length nor its \
             prefix leaks through timing), reads the `Authorization`, API-key, user-id and \
             `User-Agent` headers, copies the key into a zeroized credential and builds a \
             `Principal` that owns its id and name: {:.0} ns here (paired), against {:.0} ns for \
             reading the header and comparing alone. The handler already answers through \
             `AuthHandler::authorize_now`, without a boxed future. What is left is allocation: \
             the principal's owned strings (public fields) and the credential's copy of the \
             key.",
            api_paired.ours, api_paired.floor
        ));
    }
    if blocking_ratio > 2.0 {
        notes.push(
            "**Blocking.** Password hashing runs on the blocking pool, at most half the cores at \
             once; the rest of the slowdown is the CPU the hashing takes from the machine."
                .to_owned(),
        );
    }
    if !notes.is_empty() {
        let _ = writeln!(w, "\n### What holds back the targets not met\n");
        for n in notes {
            let _ = writeln!(w, "- {n}");
        }
    }

    print!("\n{md}");
    std::fs::write(opts.root.join("BENCHMARKS.md"), &md)?;
    std::fs::write(opts.root.join("bench/http.svg"), chart(&http))?;
    println!(
        "\nwrote {} and {}",
        opts.root.join("BENCHMARKS.md").display(),
        opts.root.join("bench/http.svg").display()
    );
    Ok(())
}

/// 1000000 as "1,000,000".
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
