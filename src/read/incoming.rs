//! Raw message bytes → [`Incoming`]: everything the decision rules (SPEC §3) need, as plain data.
//!
//! Pure and total: any byte string gives an `Incoming`; one that cannot be read as a message (or has
//! no usable From) carries `malformed` with the reason, and the caller files it rather than
//! dropping it. Parsing is mail-parser's (MIME, RFC 2047, charsets, transfer encodings); which
//! body to read (the first text part, or HTML when there is no text) and the trimming of quoted
//! history and signatures are [`crate::read::words`]'s.
//!
//! [`read`] goes in steps: the header fields, the sender ([`plain_address`]: SPEC §3 rule 1), the
//! body. Which headers mark a message as automatic (rule 3) is `automatic.rs`'s; the byte scans
//! of the raw header block ([`header_anomaly`] for rule 4, [`message_id_of`] for the journal) are
//! `header_block.rs`'s.

use mail_parser::{Address, HeaderName, Message, MessageParser, MimeHeaders, PartType};
use serde::{Deserialize, Serialize};

use crate::model::bare_message_id;
use crate::read::words;

mod automatic;
mod header_block;

pub use automatic::AUTO_REPLY_SUBJECTS;
use automatic::{auto_generated, auto_reply_subject};
pub use header_block::{header_anomaly, message_id_of};

/// The sender as the From field names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// A plain `local@domain`, lower-cased in ASCII only (see [`plain_address`]).
    pub address: String,
    pub name: Option<String>,
}

impl Author {
    pub fn domain(&self) -> &str {
        self.address.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
}

/// One incoming message, read. Plain data: it crosses from the reading process to the service
/// as JSON (see [`crate::read::isolate`]).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Incoming {
    /// Why the message is unusable (SPEC §3 rule 1), if it is.
    pub malformed: Option<String>,
    pub from: Option<Author>,
    /// Without `<>`.
    pub message_id: Option<String>,
    pub subject: Option<String>,
    /// Without `<>`.
    pub in_reply_to: Vec<String>,
    /// Without `<>`.
    pub references: Vec<String>,
    /// Where it was sent: the addresses of `To`, `Cc`, `Delivered-To` and `X-Original-To`,
    /// lower-cased (a notification's reply key may be in one of them, SPEC §7).
    pub recipients: Vec<String>,
    /// Which header marked the message as auto-generated (SPEC §3 rule 3), if any.
    pub auto_submitted: Option<String>,
    /// The `Date` field, in seconds since 1970 (SPEC §3 rule 3a); `None` when absent or
    /// unreadable.
    pub date: Option<i64>,
    /// Why the header block could be read differently by another parser (the MTA that
    /// authenticated the message): then nothing in it authenticates the sender (rule 4).
    pub header_anomaly: Option<String>,
    /// `Authentication-Results` values, topmost first, unfolded as written.
    pub auth_results: Vec<String>,
    /// `X-MS-Exchange-Organization-AuthAs` values.
    pub exchange_auth_as: Vec<String>,
    /// The approver's own new words (SPEC §2 `justification`).
    pub new_text: String,
    /// Quoted history, attribution lines, signatures and footers: searched for request IDs after the
    /// new text (SPEC §3).
    pub rest: String,
    /// The body came from an HTML part (there was no text part).
    pub html_only: bool,
    /// The body is encrypted and cannot be read (SPEC §3 rule 5b): which kind.
    #[serde(default)]
    pub encrypted: Option<String>,
}

/// Whether a top-level content type is an encrypted body (SPEC §3 rule 5b): `multipart/encrypted`
/// (PGP/MIME), or S/MIME `application/pkcs7-mime` that is not signed-only (`smime-type`
/// `enveloped-data`, `authEnveloped-data`, or none given). Names the kind.
fn encrypted_kind(ctype: &str, subtype: &str, smime_type: Option<&str>) -> Option<String> {
    let (t, s) = (ctype.to_ascii_lowercase(), subtype.to_ascii_lowercase());
    match (t.as_str(), s.as_str()) {
        ("multipart", "encrypted") => Some("multipart/encrypted".into()),
        ("application", "pkcs7-mime" | "x-pkcs7-mime") => match smime_type {
            Some(k) if k.eq_ignore_ascii_case("signed-data") => None,
            Some(k) => Some(format!("S/MIME {}", k.to_ascii_lowercase())),
            None => Some("S/MIME (application/pkcs7-mime)".into()),
        },
        _ => None,
    }
}

fn header_is(name: &HeaderName<'_>, wanted: &str) -> bool {
    name.as_str().eq_ignore_ascii_case(wanted)
}

fn id_list(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    match value {
        mail_parser::HeaderValue::Text(t) => vec![bare_message_id(t).to_string()],
        mail_parser::HeaderValue::TextList(list) => list
            .iter()
            .map(|t| bare_message_id(t).to_string())
            .collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect()
}

/// A plain `local@domain` address, as the rules compare them: one `@`; a dot-atom local part
/// (no quoted strings, comments, spaces or controls); a domain of dot-separated labels of letters,
/// digits and hyphens (letters of any script: internationalised addresses are plain too). What a
/// parser may have made of anything else (`"a b"@x`, `a@b@c`, a source route, `a@[1.2.3.4]`) is
/// not something an allow-list entry can be compared with.
pub fn plain_address(address: &str) -> bool {
    const MAX: usize = 254;
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let atext = |c: char| {
        c.is_ascii_alphanumeric()
            || "!#$%&'*+/=?^_`{|}~-".contains(c)
            || (!c.is_ascii() && c.is_alphanumeric())
    };
    let label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    address.len() <= MAX
        && !local.is_empty()
        && local
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(atext))
        && domain.split('.').all(label)
}

/// The addresses of `To`, `Cc`, `Delivered-To` and `X-Original-To`, lower-cased, each once.
fn recipients(msg: &Message<'_>, raw_headers: &[(String, String)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // A set beside the list: a message with tens of thousands of recipients stays linear.
    let mut seen = std::collections::HashSet::new();
    let mut add = |a: &str| {
        let a = a
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim();
        if a.contains('@') {
            let a = a.to_ascii_lowercase();
            if seen.insert(a.clone()) {
                out.push(a);
            }
        }
    };
    for field in [msg.to(), msg.cc()].into_iter().flatten() {
        let addrs: Vec<&mail_parser::Addr<'_>> = match field {
            Address::List(list) => list.iter().collect(),
            Address::Group(groups) => groups.iter().flat_map(|g| g.addresses.iter()).collect(),
        };
        for a in addrs {
            if let Some(addr) = a.address() {
                add(addr);
            }
        }
    }
    for (name, value) in raw_headers {
        if name.eq_ignore_ascii_case("Delivered-To") || name.eq_ignore_ascii_case("X-Original-To") {
            add(value);
        }
    }
    out
}

/// Reads one message. Never panics, whatever the bytes.
pub fn read(raw: &[u8]) -> Incoming {
    let mut reply = Incoming::default();
    let Some(msg) = MessageParser::default().parse(raw) else {
        reply.malformed = Some("not an RFC 5322 message".into());
        return reply;
    };
    if msg.headers().is_empty() {
        reply.malformed = Some("no header fields".into());
        return reply;
    }
    let raw_headers = raw_headers(&msg, raw);
    read_fields(&mut reply, &msg, &raw_headers);
    reply.header_anomaly = header_anomaly(raw);
    match author(&msg) {
        Ok(author) => reply.from = Some(author),
        Err(why) => reply.malformed = Some(why.into()),
    }
    if let Some((read, html_only)) = body(&msg) {
        reply.new_text = read.new_text;
        reply.rest = read.rest;
        reply.html_only = html_only;
    }
    reply
}

/// The top-level header fields as written: each name, and the raw text of its value (not
/// decoded).
fn raw_headers(msg: &Message<'_>, raw: &[u8]) -> Vec<(String, String)> {
    msg.headers()
        .iter()
        .map(|h| {
            let start = (h.offset_start as usize).min(raw.len());
            let end = (h.offset_end as usize).clamp(start, raw.len());
            (
                h.name.as_str().to_string(),
                String::from_utf8_lossy(&raw[start..end]).into_owned(),
            )
        })
        .collect()
}

/// The header fields the rules use, besides From: the IDs, the subject, the recipients, the
/// authentication headers, the auto-generated marker, the encryption and the date.
fn read_fields(reply: &mut Incoming, msg: &Message<'_>, raw_headers: &[(String, String)]) {
    reply.message_id = msg
        .message_id()
        .map(|id| bare_message_id(id).to_string())
        .filter(|s| !s.is_empty());
    reply.subject = msg.subject().map(|s| s.trim().to_string());
    reply.in_reply_to = id_list(msg.in_reply_to());
    reply.references = id_list(msg.references());
    reply.recipients = recipients(msg, raw_headers);
    reply.auth_results = raw_headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Authentication-Results"))
        .map(|(_, v)| v.clone())
        .collect();
    reply.exchange_auth_as = raw_headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("X-MS-Exchange-Organization-AuthAs"))
        .map(|(_, v)| v.clone())
        .collect();
    let top_type = msg.content_type().map(|ct| {
        (
            ct.ctype().to_string(),
            ct.subtype().unwrap_or_default().to_string(),
        )
    });
    reply.auto_submitted = auto_generated(raw_headers, top_type).or_else(|| {
        reply
            .subject
            .as_deref()
            .and_then(auto_reply_subject)
            .map(|p| format!("Subject: {p}"))
    });
    reply.encrypted = msg.content_type().and_then(|ct| {
        encrypted_kind(
            ct.ctype(),
            ct.subtype().unwrap_or_default(),
            ct.attribute("smime-type"),
        )
    });
    reply.date = msg.date().map(|d| d.to_timestamp());
}

/// The sender: exactly one From field holding exactly one plain address; else why the message
/// is malformed (SPEC §3 rule 1).
fn author(msg: &Message<'_>) -> Result<Author, &'static str> {
    let from_fields = msg
        .headers()
        .iter()
        .filter(|h| header_is(&h.name, "From"))
        .count();
    if from_fields == 0 {
        return Err("no From field");
    }
    if from_fields > 1 {
        return Err("the From field appears more than once");
    }
    let addrs: Vec<_> = match msg.from() {
        Some(Address::List(list)) => list.iter().collect(),
        Some(Address::Group(groups)) => groups.iter().flat_map(|g| g.addresses.iter()).collect(),
        None => Vec::new(),
    };
    let group = matches!(msg.from(), Some(Address::Group(_)));
    match addrs.as_slice() {
        [_] if group => Err("the From field is a group, not one address"),
        [one] => match one.address().map(str::trim) {
            Some(a) if plain_address(a) => Ok(Author {
                address: a.to_ascii_lowercase(),
                name: one.name().map(|n| n.to_string()),
            }),
            Some(a) if !a.is_empty() => Err("the From address is not a plain local@domain address"),
            _ => Err("the From field holds no address"),
        },
        [] => Err("the From field holds no address"),
        _ => Err("the From field holds more than one address"),
    }
}

/// The body, read by [`words`]: the first text part (unwrapped first when it is
/// `format=flowed`); HTML only when there is no text alternative. With whether it came from HTML;
/// `None` when there is no body to read.
fn body(msg: &Message<'_>) -> Option<(words::ReadText, bool)> {
    if let Some(part) = msg.text_bodies().next() {
        match &part.body {
            PartType::Text(text) => {
                let ct = part.content_type();
                let attr = |name: &str| {
                    ct.and_then(|c| c.attribute(name))
                        .map(|v| {
                            v.eq_ignore_ascii_case(match name {
                                "format" => "flowed",
                                _ => "yes",
                            })
                        })
                        .unwrap_or(false)
                };
                let body = if attr("format") {
                    words::unflow(text, attr("delsp"))
                } else {
                    text.to_string()
                };
                Some((words::read_plain(&body), false))
            }
            PartType::Html(html) => Some((words::read_html(html), true)),
            _ => None,
        }
    } else if let Some(part) = msg.html_bodies().next()
        && let PartType::Html(html) = &part.body
    {
        Some((words::read_html(html), true))
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
