//! Runs the HTTP and blocking benchmarks, reads the in-process results
//! criterion left behind, prints every figure and writes the same text to
//! `BENCHMARKS.md`, with an SVG chart of the HTTP results.
//!
//! `bench/run` calls it after `cargo bench`; see there for the options.

use std::fmt::Write as _;
use std::path::PathBuf;

use auth_core::jwt::Algorithm;
use serde_json::Value;

mod context;
mod measure;

use context::*;
use measure::*;

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
