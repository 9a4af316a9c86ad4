//! The measurements that run servers: scale, throughput and latency under
//! wrk, work per request under callgrind, and blocking under logins.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use poem_auth_bench::{PASSWORD, PATH, USER};
use serde_json::Value;

use super::*;

// ---- scale: the SQLite user lookup and the chat-service RSS ----

/// Runs `scale` with `args`, prints its line and returns its `key=value`
/// pairs.
pub(super) fn scale(
    opts: &Options,
    args: &[&std::ffi::OsStr],
) -> Result<BTreeMap<String, String>, Error> {
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

pub(super) fn field(map: &BTreeMap<String, String>, key: &str) -> Result<f64, Error> {
    Ok(map
        .get(key)
        .ok_or_else(|| format!("scale printed no `{key}`"))?
        .parse()?)
}

// ---- a minimal HTTP/1.1 client over one keep-alive connection ----

pub(super) struct Conn {
    pub(super) reader: BufReader<TcpStream>,
}

impl Conn {
    pub(super) fn open(port: u16) -> std::io::Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Self {
            reader: BufReader::new(stream),
        })
    }

    /// Sends a request and reads the answer: (status, body).
    pub(super) fn send(&mut self, request: &[u8]) -> Result<(u16, Vec<u8>), Error> {
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

pub(super) fn get(path: &str, token: Option<&str>) -> Vec<u8> {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n").into_bytes()
}

pub(super) fn login_body() -> String {
    serde_json::json!({"username": USER, "password": PASSWORD}).to_string()
}

// ---- servers ----

pub(super) struct Server {
    pub(super) child: Child,
    pub(super) port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn start(opts: &Options, mode: &str, port: u16, token: &str) -> Result<Server, Error> {
    let mut cmd = Command::new(&opts.serve);
    cmd.args([mode, &format!("127.0.0.1:{port}")]);
    launch(cmd, mode, port, token, Duration::from_secs(20))
}

/// Spawns `cmd`, a server of `mode` on `port`, and waits up to `wait` for
/// it to answer as every server must.
pub(super) fn launch(
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
pub(super) struct Load {
    pub(super) rps: f64,
    p50_us: f64,
    p99_us: f64,
}

pub(super) fn duration_us(s: &str) -> Option<f64> {
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

pub(super) fn wrk(args: &[String]) -> Result<Load, Error> {
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

pub(super) fn wrk_get(opts: &Options, port: u16, token: &str, secs: u64) -> Result<Load, Error> {
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

pub(super) struct Http {
    /// Per server: one measurement per round.
    pub(super) runs: Vec<Vec<Load>>,
}

pub(super) fn http(opts: &Options, token: &str) -> Result<Http, Error> {
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

pub(super) fn mean(xs: impl IntoIterator<Item = f64>) -> f64 {
    let v: Vec<f64> = xs.into_iter().collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

pub(super) fn median(xs: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = xs.into_iter().collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

impl Http {
    pub(super) fn rps(&self, i: usize) -> f64 {
        mean(self.runs[i].iter().map(|l| l.rps))
    }
    /// The mean over rounds of the ratio to (1) in the same round.
    pub(super) fn ratio(&self, i: usize) -> f64 {
        mean(
            self.runs[i]
                .iter()
                .zip(&self.runs[0])
                .map(|(l, bare)| l.rps / bare.rps),
        )
    }
    pub(super) fn p50(&self, i: usize) -> f64 {
        median(self.runs[i].iter().map(|l| l.p50_us))
    }
    pub(super) fn p99(&self, i: usize) -> f64 {
        median(self.runs[i].iter().map(|l| l.p99_us))
    }
}

// ---- work per request: instructions counted by callgrind ----

/// Requests counted per server (after as many again to warm up).
pub(super) fn work_requests(opts: &Options) -> u32 {
    if opts.quick { 200 } else { 2_000 }
}

/// The instructions each server executes per request, in `SERVERS` order:
/// each server runs under callgrind, answers a warm-up, then its counters
/// are zeroed, `n` requests are sent one after another on one keep-alive
/// connection, and the counters dumped. Unlike req/s, the count does not
/// move with the speed of a shared host, and it leaves out the load
/// generator.
pub(super) fn work(opts: &Options, token: &str) -> Result<Vec<f64>, Error> {
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

pub(super) fn callgrind_control(action: &str, pid: &str) -> Result<(), Error> {
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

pub(super) struct Blocking {
    pub(super) idle_p99_us: f64,
    pub(super) loaded_p99_us: f64,
    pub(super) idle_p50_us: f64,
    pub(super) loaded_p50_us: f64,
    pub(super) logins_per_sec: f64,
}

/// Sequential protected GETs on one connection, one every 2 ms.
pub(super) fn probe(port: u16, token: &str, secs: u64) -> Result<Vec<f64>, Error> {
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

pub(super) fn percentile(lat: &[f64], p: f64) -> f64 {
    let mut v = lat.to_vec();
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or(f64::NAN)
}

pub(super) fn blocking(opts: &Options, token: &str) -> Result<Blocking, Error> {
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
