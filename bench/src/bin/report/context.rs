//! What the report reads besides its own runs: criterion's results, the
//! machine and the locked versions; and the chart it draws.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::*;

// ---- criterion's results ----

/// One paired measurement (`paired.json`): medians, in ns.
pub(super) struct Paired {
    pub(super) ours: f64,
    pub(super) floor: f64,
    pub(super) overhead: f64,
}

/// Typical time per id, in ns: criterion's slope estimate, or its mean
/// when there is no slope (what it prints as the middle `time` figure).
pub(super) fn criterion_results(dir: &Path) -> Result<BTreeMap<String, f64>, Error> {
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

pub(super) fn sh(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

pub(super) fn cpu_model() -> String {
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

pub(super) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Every version of each package in `bench/Cargo.lock`, joined with " and ".
pub(super) fn lock_versions(root: &Path) -> BTreeMap<String, String> {
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

pub(super) fn chart(http: &Http) -> String {
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

pub(super) fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
