//! Scores the reply reader (`reject_bridge::read::words`) against the public reply-trimming corpus
//! (`../shared/corpus/public`, see its README): exact-match share per source, per scope, and the
//! headline (cases whose scope is not `quotes_only` and which `spec-conflicts.jsonl` does not list
//! as `conflict`).
//!
//! ```text
//! cargo run --example corpus_eval -- [--corpus DIR] [--min PERCENT] [--verbose]
//! ```
//! With `--min P` the exit code is 1 when the headline is below P (the CI ratchet, `.ci/corpus-min`).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mail_parser::{MessageParser, MimeHeaders, PartType};
use reject_bridge::read::words::{read_html, read_plain, unflow};
use serde_json::Value;

struct Args {
    corpus: PathBuf,
    min: Option<f64>,
    verbose: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        corpus: Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/public"),
        min: None,
        verbose: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--corpus" => args.corpus = it.next().ok_or("--corpus needs a folder")?.into(),
            "--min" => {
                let v = it.next().ok_or("--min needs a percentage")?;
                args.min = Some(v.parse().map_err(|_| format!("--min: not a number: {v}"))?);
            }
            "--verbose" | "-v" => args.verbose = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// The corpus README's normalisation: LF line ends, no trailing white space, trimmed blank lines.
fn norm(t: &str) -> String {
    let t = t.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = t.split('\n').map(|l| l.trim_end()).collect();
    let start = lines
        .iter()
        .position(|l| !l.is_empty())
        .unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(start, |e| e + 1);
    lines[start..end.max(start)].join("\n")
}

fn no_ws(t: &str) -> String {
    t.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The first text/plain part of a raw message, unwrapped when it is format=flowed.
fn eml_text(raw: &[u8]) -> Option<String> {
    let msg = MessageParser::default().parse(raw)?;
    for part in &msg.parts {
        let PartType::Text(text) = &part.body else {
            continue;
        };
        let ct = part.content_type();
        let plain = ct.is_none_or(|c| {
            c.ctype().eq_ignore_ascii_case("text")
                && c.subtype().is_none_or(|s| s.eq_ignore_ascii_case("plain"))
        });
        if !plain {
            continue;
        }
        let flowed = ct
            .and_then(|c| c.attribute("format"))
            .is_some_and(|f| f.eq_ignore_ascii_case("flowed"));
        let delsp = ct
            .and_then(|c| c.attribute("delsp"))
            .is_some_and(|f| f.eq_ignore_ascii_case("yes"));
        return Some(if flowed {
            unflow(text, delsp)
        } else {
            text.to_string()
        });
    }
    None
}

#[derive(Default)]
struct Tally {
    ok: usize,
    all: usize,
}

impl Tally {
    fn add(&mut self, ok: bool) {
        self.all += 1;
        self.ok += usize::from(ok);
    }
    fn pct(&self) -> f64 {
        if self.all == 0 {
            0.0
        } else {
            100.0 * self.ok as f64 / self.all as f64
        }
    }
}

fn diff(expected: &str, got: &str) -> String {
    let (e, g): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), got.lines().collect());
    let mut out = String::new();
    for i in 0..e.len().max(g.len()) {
        match (e.get(i), g.get(i)) {
            (Some(a), Some(b)) if a == b => out.push_str(&format!("    {a}\n")),
            (a, b) => {
                if let Some(a) = a {
                    out.push_str(&format!("  - {a}\n"));
                }
                if let Some(b) = b {
                    out.push_str(&format!("  + {b}\n"));
                }
            }
        }
    }
    out
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("corpus_eval: {e}");
            return ExitCode::from(2);
        }
    };
    let dir = &args.corpus;
    let read = |p: &str| std::fs::read(dir.join(p));
    let (cases, conflicts) = match (
        std::fs::read_to_string(dir.join("cases.jsonl")),
        std::fs::read_to_string(dir.join("spec-conflicts.jsonl")),
    ) {
        (Ok(c), Ok(s)) => (c, s),
        _ => {
            eprintln!(
                "corpus_eval: cannot read cases.jsonl / spec-conflicts.jsonl in {}",
                dir.display()
            );
            return ExitCode::from(2);
        }
    };
    let conflict: HashSet<String> = conflicts
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["verdict"] == "conflict")
        .filter_map(|v| v["id"].as_str().map(str::to_owned))
        .collect();

    let mut by_source: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_scope: BTreeMap<String, Tally> = BTreeMap::new();
    let mut headline = Tally::default();
    for line in cases.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(case) = serde_json::from_str::<Value>(line) else {
            eprintln!("corpus_eval: bad case line: {line}");
            return ExitCode::from(2);
        };
        let id = case["id"].as_str().unwrap_or_default().to_owned();
        let kind = case["kind"].as_str().unwrap_or("body");
        let scope = case["scope"].as_str().unwrap_or_default().to_owned();
        let Ok(input) = read(case["input"].as_str().unwrap_or_default()) else {
            eprintln!("corpus_eval: {id}: cannot read input");
            return ExitCode::from(2);
        };
        let expected = match (&case["expected"], &case["expected_text"]) {
            (Value::String(p), _) => match read(p) {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(_) => {
                    eprintln!("corpus_eval: {id}: cannot read expected file {p}");
                    return ExitCode::from(2);
                }
            },
            (_, Value::String(t)) => t.clone(),
            _ => String::new(),
        };
        let got = match kind {
            "eml" => eml_text(&input)
                .map(|t| read_plain(&t).new_text)
                .unwrap_or_default(),
            "html" => read_html(&String::from_utf8_lossy(&input)).new_text,
            _ => read_plain(&String::from_utf8_lossy(&input)).new_text,
        };
        let ws = kind == "html" || case["compare"] == "ignore_whitespace";
        let (e, g) = if ws {
            (no_ws(&expected), no_ws(&got))
        } else {
            (norm(&expected), norm(&got))
        };
        let ok = e == g;
        let source = id.split('/').next().unwrap_or_default().to_owned();
        by_source.entry(source).or_default().add(ok);
        by_scope.entry(scope.clone()).or_default().add(ok);
        let in_headline = scope != "quotes_only" && !conflict.contains(&id);
        if in_headline {
            headline.add(ok);
        }
        if !ok && args.verbose {
            let mark = if in_headline { "HEADLINE" } else { "other" };
            println!(
                "--- MISS {id} ({mark}, {scope})\n{}",
                diff(&norm(&expected), &norm(&got))
            );
        }
    }
    println!("per source:");
    for (k, t) in &by_source {
        println!("  {k:<28} {:>3}/{:<3} {:5.1}%", t.ok, t.all, t.pct());
    }
    println!("per scope:");
    for (k, t) in &by_scope {
        println!("  {k:<28} {:>3}/{:<3} {:5.1}%", t.ok, t.all, t.pct());
    }
    println!(
        "HEADLINE {}/{} = {:.1}%",
        headline.ok,
        headline.all,
        headline.pct()
    );
    match args.min {
        Some(min) if headline.pct() + 1e-9 < min => {
            eprintln!(
                "corpus_eval: headline {:.1}% is below --min {min}",
                headline.pct()
            );
            ExitCode::from(1)
        }
        _ => ExitCode::SUCCESS,
    }
}
