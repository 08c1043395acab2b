//! The fuzz harness of the reader on stable Rust: a generative grammar of mail (headers, MIME
//! structure, transfer encodings, line ends, plain reply text and HTML markup), seeded with the
//! golden fixtures and the hostile shapes of [`super::hostile`], and the properties every read must
//! keep ([`check`]). `tests/fuzz.rs` runs a few hundred cases per test run; `cargo bench --bench
//! fuzz` runs it for as long as asked and keeps what fails as regression fixtures in
//! `tests/fixtures/crashers/`.
//!
//! Used by tests (through `mod support`) and by the benchmark (through `#[path]`).

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use reject_bridge::decide::assent;
use reject_bridge::decide::{self, Policy};
use reject_bridge::model::Verdict;
use reject_bridge::read::incoming;

use super::hostile;

const ID: &str = "6f1c2d3e-4a5b-4c6d-8e7f-90a1b2c3d4e5";
const ID2: &str = "0b5e6f7a-1c2d-4e3f-8a9b-0c1d2e3f4a5b";

/// Every `.eml` of the golden fixtures (the seeds).
pub fn seeds() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for dir in [root.clone(), root.join("replies"), root.join("hostile")] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.extension().is_some_and(|e| e == "eml")
                && let Ok(raw) = std::fs::read(&p)
            {
                out.push(raw);
            }
        }
    }
    out
}

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(items)
}

/// Words and phrases the decision rules look at, in the languages we read, and noise.
const WORDS: &[&str] = &[
    "No",
    "not",
    "approve",
    "Approved",
    "yes",
    "OK",
    "go ahead",
    "no problem",
    "nein",
    "genehmigt",
    "oui",
    "d'accord",
    "sí",
    "承認",
    "不同意",
    "ません",
    "👍",
    "✔️",
    "reject",
    "Hi Bob,",
    "Hello!",
    "Thanks,",
    "-- ",
    "--",
    "Sent from my iPhone",
    ID,
    ID2,
    "On Mon, 1 Jun 2026 at 10:00, Carol <carol@example.test> wrote:",
    "> quoted",
    ">",
    "From: Intune",
    "Sent: Monday",
    "-----Original Message-----",
    "\u{212A}",
    "\u{a0}",
    "\u{200b}",
    "é",
    "e\u{301}",
    "&amp;",
    "<",
    ">",
    ";",
    ".",
    "!",
    "?",
    "\t",
    "x",
];

/// One line of reply text.
fn text_line() -> impl Strategy<Value = String> {
    proptest::collection::vec(pick(WORDS), 0..8).prop_map(|w| w.join(" "))
}

/// A plain reply body.
fn plain_body() -> impl Strategy<Value = String> {
    proptest::collection::vec(text_line(), 0..20).prop_map(|l| l.join("\n"))
}

/// HTML markup: elements nested up to a few levels, with the attributes and tags that once
/// mattered (colspan/rowspan, quote containers, unclosed and stray tags, comments).
fn html() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        text_line(),
        pick(&[
            "<br>",
            "<hr>",
            "<img alt=x src=y>",
            "</x>",
            "<a<a<a",
            "<div/>",
            "<!-->",
            "<!-- c --!>",
            "<td colspan=2>",
            "<td rowspan=3>",
            "<td colspan=0 rowspan=2>",
            "&nbsp;",
            "&#x10FFFF;",
            "&#0;",
            "<p class=MsoNormal>",
            "<style>p{margin:0}</style>",
            "<script>x</script>",
            "<plaintext>",
        ])
        .prop_map(str::to_string),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        (
            pick(&[
                "div",
                "p",
                "span",
                "b",
                "a href=\"https://x.test/?id=6f1c2d3e-4a5b-4c6d-8e7f-90a1b2c3d4e5\"",
                "table",
                "tr",
                "td",
                "th colspan=2",
                "tbody",
                "blockquote",
                "div class=gmail_quote",
                "div id=divRplyFwdMsg",
                "div id=appendonsend",
                "ul",
                "ol start=4294967295",
                "li",
                "pre",
                "font",
                "caption",
            ]),
            proptest::collection::vec(inner, 0..6),
            any::<bool>(),
        )
            .prop_map(|(tag, children, close)| {
                let name = tag.split(' ').next().unwrap_or(tag);
                format!(
                    "<{tag}>{}{}",
                    children.join(""),
                    if close {
                        format!("</{name}>")
                    } else {
                        String::new()
                    }
                )
            })
    })
}

/// Header fields, good and bad.
fn header() -> impl Strategy<Value = String> {
    prop_oneof![
        pick(&[
            "From: Alice <alice@example.test>",
            "From: alice@example.test",
            "From: \"a b\"@example.test",
            "From: Team: alice@example.test;",
            "From: bob@\u{212A}ontoso.test",
            "From: a@b@c",
            "From : alice@example.test",
            "Authentication-Results: mx.example.test; dmarc=pass header.from=example.test",
            "Authentication-Results: mx.example.test; dkim=pass header.d=example.test (dmarc=pass)",
            "Authentication-Results: other.test; dmarc=pass header.from=example.test",
            "Authentication-Results: mx.example.test; dmarc=pass",
            "Authentication-Results: ((((",
            "X-MS-Exchange-Organization-AuthAs: Internal",
            "Auto-Submitted: auto-replied",
            "Auto-Submitted: no (typed)",
            "Precedence: auto_reply",
            "List-Id: <x.example.test>",
            "Date: Mon, 1 Jun 2026 10:00:00 +0000",
            "Date: someday",
            "Message-ID: <m@example.test>",
            "In-Reply-To: <reply.0123456789abcdef01234567@example.test>",
            "Subject: Automatic reply: away",
            "Subject: =?utf-8?q?R=C3=A9ponse_automatique_=3A?= x",
            "Subject: =?utf-8?b?5om55YeG?=",
            "Return-Path: <>",
            " folded continuation",
            " \t",
        ])
        .prop_map(str::to_string),
        (text_line(), pick(&[ID, ID2, ""])).prop_map(|(t, id)| format!("Subject: Re: {t} {id}")),
        proptest::collection::vec(pick(&["<r@x>", "<a b>", "<>", "x"]), 0..40)
            .prop_map(|r| format!("References: {}", r.join(" "))),
    ]
}

/// A body part: plain or HTML, in some transfer encoding and charset.
fn part() -> impl Strategy<Value = String> {
    (
        prop_oneof![plain_body().prop_map(|b| (false, b)), html().prop_map(|b| (true, b))],
        pick(&["8bit", "quoted-printable", "base64", "7bit", "x-unknown"]),
        pick(&["utf-8", "iso-8859-1", "windows-1252", "shift_jis", "nonsense"]),
        any::<bool>(),
    )
        .prop_map(|((html, body), cte, charset, flowed)| {
            let encoded = match cte {
                "base64" => {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD.encode(body.as_bytes())
                }
                "quoted-printable" => body.replace('=', "=3D").replace('\n', "=\n\n"),
                _ => body,
            };
            format!(
                "Content-Type: text/{}; charset={charset}{}\nContent-Transfer-Encoding: {cte}\n\n{encoded}",
                if html { "html" } else { "plain" },
                if flowed { "; format=flowed; delsp=yes" } else { "" },
            )
        })
}

/// A MIME body: one part, or a multipart of parts (nested once).
fn mime() -> impl Strategy<Value = String> {
    let single = part();
    let multi = (
        pick(&["alternative", "mixed", "related", "report", "encrypted"]),
        proptest::collection::vec(part(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(kind, parts, closed)| {
            let mut s = format!("Content-Type: multipart/{kind}; boundary=\"b1\"\n\n");
            for p in parts {
                s.push_str("--b1\n");
                s.push_str(&p);
                s.push('\n');
            }
            if closed {
                s.push_str("--b1--\n");
            }
            s
        });
    prop_oneof![single, multi]
}

/// The line ends a message is written with.
fn line_ends(text: String, style: u8) -> Vec<u8> {
    match style % 4 {
        0 => text.replace('\n', "\r\n").into_bytes(),
        1 => text.into_bytes(),
        // Mixed: every other line end a bare LF.
        2 => {
            let mut out = String::new();
            for (i, line) in text.split('\n').enumerate() {
                out.push_str(line);
                out.push_str(if i % 2 == 0 { "\r\n" } else { "\n" });
            }
            out.into_bytes()
        }
        _ => text.replace('\n', "\r").into_bytes(),
    }
}

/// A whole message from the grammar.
fn generated() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(header(), 0..10),
        mime(),
        any::<u8>(),
    )
        .prop_map(|(headers, body, style)| {
            let mut text = headers.join("\n");
            text.push_str("\nMIME-Version: 1.0\n");
            text.push_str(&body);
            line_ends(text, style)
        })
}

/// A golden fixture with a hostile fragment spliced in, or cut short.
fn mutated_seed(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let n = seeds.len().max(1);
    (
        0..n,
        any::<usize>(),
        prop_oneof![html(), header(), text_line()],
        any::<bool>(),
    )
        .prop_map(move |(i, at, fragment, cut)| {
            let seed = seeds.get(i).cloned().unwrap_or_default();
            if seed.is_empty() {
                return fragment.into_bytes();
            }
            let at = at % seed.len();
            let mut out = seed[..at].to_vec();
            if !cut {
                out.extend_from_slice(fragment.as_bytes());
                out.extend_from_slice(&seed[at..]);
            }
            out
        })
}

/// A hostile shape at a small, random size.
fn hostile_shape() -> impl Strategy<Value = Vec<u8>> {
    (0..hostile::SHAPES.len(), 1usize..400).prop_map(|(i, n)| {
        let shape = &hostile::SHAPES[i];
        hostile::message(
            shape,
            n,
            "alice@example.test",
            "approvals@example.test",
            true,
        )
        .into_bytes()
    })
}

/// Every kind of input the harness makes.
pub fn any_message() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => generated(),
        3 => mutated_seed(seeds()),
        2 => hostile_shape(),
        1 => proptest::collection::vec(any::<u8>(), 0..512),
    ]
}

/// The properties every read keeps; `Err` says which one broke.
pub fn check(raw: &[u8], policy: &Policy) -> Result<(), String> {
    let reply = incoming::read(raw);
    let out = reply.new_text.len() + reply.rest.len();
    if out > 2 * raw.len() + 64 * 1024 {
        return Err(format!("{out} bytes read out of {}", raw.len()));
    }
    let t = &reply.new_text;
    let normalised = !t.contains('\r')
        && t.split('\n').all(|l| l.trim_end() == l)
        && !t.starts_with('\n')
        && !t.ends_with('\n');
    if !normalised {
        return Err(format!("new text not normalised: {:?}", head(t)));
    }
    let d = decide::decide_at(&reply, None, policy, Some(1_780_308_000));
    if d.decision == Verdict::Reject {
        if reply.malformed.is_some() || reply.auto_submitted.is_some() {
            return Err(format!(
                "rejected a malformed or automatic message: {}",
                d.explanation
            ));
        }
        if reply.header_anomaly.is_some() && policy.approvers.require_authentication {
            return Err("rejected with an ambiguous header block".into());
        }
        if d.request_id.is_none() {
            return Err("rejected without a request ID".into());
        }
        let g = d.graph_justification.as_deref().unwrap_or_default();
        if g.encode_utf16().count() > 1024 {
            return Err("graph justification over 1024 UTF-16 units".into());
        }
        if let Some(w) = assent::reads_as_assent(&reply.new_text, &policy.approvers) {
            return Err(format!("rejected words that read as assent ({w})"));
        }
    }
    // Reading is a function of the bytes.
    let again = incoming::read(raw);
    if again.new_text != reply.new_text || again.rest != reply.rest {
        return Err("two readings differ".into());
    }
    Ok(())
}

fn head(t: &str) -> String {
    t.chars().take(120).collect()
}
