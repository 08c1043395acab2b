//! Raw message bytes → [`Incoming`]: everything the decision rules (SPEC §3) need, as plain data.
//!
//! Pure and total: any byte string gives an `Incoming`; one that cannot be read as a message (or has
//! no usable From) carries `malformed` with the reason, and the caller files it rather than
//! dropping it. Parsing is mail-parser's (MIME, RFC 2047, charsets, transfer encodings); which
//! body to read (the first text part, or HTML when there is no text) and the trimming of quoted
//! history and signatures are [`crate::read::words`]'s.

use mail_parser::{Address, HeaderName, MessageParser, MimeHeaders, PartType};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::model::bare_message_id;
use crate::read::words;

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

/// `text` without RFC 5322 comments (`( … )`, nested, `\` escapes).
fn without_comments(text: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if depth > 0 => {
                chars.next();
            }
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Subject prefixes of out-of-office and other automatic replies (SPEC §3 rule 3), compared in
/// any case, with or without a space before the colon.
pub const AUTO_REPLY_SUBJECTS: &[&str] = &[
    "automatic reply:",
    "auto-reply:",
    "out of office:",
    "automatische antwort:",
    "abwesend:",
    "réponse automatique:",
    "respuesta automática:",
    "automatisch antwoord:",
    "risposta automatica:",
    "resposta automática:",
    "autosvar:",
];

/// The out-of-office prefix `subject` starts with, if any.
fn auto_reply_subject(subject: &str) -> Option<&'static str> {
    // Only the start matters; a space before the colon (French typography) is dropped.
    let start: String = subject.trim_start().chars().take(64).collect();
    let mut head = String::new();
    for c in start.nfc().collect::<String>().to_lowercase().chars() {
        if c == ':' {
            while head.ends_with([' ', '\u{a0}', '\u{202f}']) {
                head.pop();
            }
        }
        head.push(c);
    }
    AUTO_REPLY_SUBJECTS
        .iter()
        .copied()
        .find(|p| head.starts_with(p))
}

/// Which header, if any, says that nobody typed this message (SPEC §3 rule 3).
fn auto_generated(
    headers: &[(String, String)],
    top_level_type: Option<(String, String)>,
) -> Option<String> {
    for (name, value) in headers {
        let v = value.trim().to_lowercase();
        // The keyword, without parameters (`; owner-email=…`) or comments (`no (typed by hand)`).
        let first = without_comments(v.split(';').next().unwrap_or(""))
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
        match name.to_lowercase().as_str() {
            "auto-submitted" if first != "no" => return Some(format!("Auto-Submitted: {first}")),
            "precedence" if matches!(first.as_str(), "bulk" | "junk" | "list" | "auto_reply") => {
                return Some(format!("Precedence: {first}"));
            }
            "list-id" => return Some("List-Id".into()),
            "x-autoreply" | "x-autorespond" if first != "no" => {
                return Some(format!("{name}: {first}"));
            }
            "return-path"
                if v.chars().filter(|c| !c.is_whitespace()).collect::<String>() == "<>" =>
            {
                return Some("Return-Path: <>".into());
            }
            _ => {}
        }
    }
    if let Some((t, s)) = top_level_type
        && t.eq_ignore_ascii_case("multipart")
        && s.eq_ignore_ascii_case("report")
    {
        return Some("Content-Type: multipart/report".into());
    }
    None
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

/// Why the header block of `raw` could be read differently by another parser, if it could
/// (SPEC §3 rule 4, "in both modes"): a bare CR, LF line ends mixed with CRLF, a line of only
/// white space before the empty line that ends the block, or white space between a field's name
/// and its colon (`From : …`). A block with LF line ends only (a message file on disk) is fine.
pub fn header_anomaly(raw: &[u8]) -> Option<String> {
    let (mut crlf, mut bare_lf) = (0usize, 0usize);
    let mut start = 0;
    let mut i = 0;
    while i < raw.len() {
        let (end, next) = match raw[i] {
            b'\r' if raw.get(i + 1) == Some(&b'\n') => {
                crlf += 1;
                (i, i + 2)
            }
            b'\r' => return Some("a bare CR in the header block".into()),
            b'\n' => {
                bare_lf += 1;
                (i, i + 1)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        let line = &raw[start..end];
        if line.is_empty() {
            break;
        }
        if line.iter().all(|b| *b == b' ' || *b == b'\t') {
            return Some("a line of only white space inside the header block".into());
        }
        if !matches!(line[0], b' ' | b'\t')
            && let Some(colon) = line.iter().position(|b| *b == b':')
        {
            let name = &line[..colon];
            let trimmed = name.trim_ascii_end();
            if trimmed.len() < name.len()
                && !trimmed.is_empty()
                && !trimmed.iter().any(|b| b.is_ascii_whitespace())
            {
                let shown: String = String::from_utf8_lossy(trimmed).chars().take(40).collect();
                return Some(format!(
                    "white space before the colon of the header field {shown:?}"
                ));
            }
        }
        start = next;
        i = next;
    }
    (crlf > 0 && bare_lf > 0).then(|| "LF and CRLF line ends mixed in the header block".into())
}

/// How much of a message [`message_id_of`] looks at: header blocks are far smaller.
const MESSAGE_ID_SCAN: usize = 1024 * 1024;
/// RFC 5322's line limit: a longer Message-ID is no Message-ID.
const MAX_MESSAGE_ID: usize = 998;

/// The Message-ID field of `raw` (without `<>`), from a scan of at most the first MiB of its
/// header block: cheap and bounded, for the journal row that must exist before the message is
/// read (see [`crate::read::isolate`]). `None` when there is none or it is unusable.
pub fn message_id_of(raw: &[u8]) -> Option<String> {
    let head = &raw[..raw.len().min(MESSAGE_ID_SCAN)];
    let mut value: Option<Vec<u8>> = None;
    for line in head.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(v) = value.as_mut() {
            if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                v.extend_from_slice(line);
                continue;
            }
            break;
        }
        if line.is_empty() {
            return None;
        }
        if line.len() >= 11 && line[..11].eq_ignore_ascii_case(b"message-id:") {
            value = Some(line[11..].to_vec());
        }
    }
    let value = String::from_utf8_lossy(&value?).into_owned();
    let value = value.trim();
    let id = match (value.find('<'), value.find('>')) {
        (Some(l), Some(r)) if l < r => value[l + 1..r].trim(),
        _ => bare_message_id(value),
    };
    (!id.is_empty() && id.len() <= MAX_MESSAGE_ID && !id.contains(char::is_whitespace))
        .then(|| id.to_string())
}

/// The addresses of `To`, `Cc`, `Delivered-To` and `X-Original-To`, lower-cased, each once.
fn recipients(msg: &mail_parser::Message<'_>, raw_headers: &[(String, String)]) -> Vec<String> {
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
    let root_headers = msg.headers();
    if root_headers.is_empty() {
        reply.malformed = Some("no header fields".into());
        return reply;
    }
    let raw_headers: Vec<(String, String)> = root_headers
        .iter()
        .map(|h| {
            let start = (h.offset_start as usize).min(raw.len());
            let end = (h.offset_end as usize).clamp(start, raw.len());
            (
                h.name.as_str().to_string(),
                String::from_utf8_lossy(&raw[start..end]).into_owned(),
            )
        })
        .collect();

    reply.message_id = msg
        .message_id()
        .map(|id| bare_message_id(id).to_string())
        .filter(|s| !s.is_empty());
    reply.subject = msg.subject().map(|s| s.trim().to_string());
    reply.in_reply_to = id_list(msg.in_reply_to());
    reply.references = id_list(msg.references());
    reply.recipients = recipients(&msg, &raw_headers);
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
    reply.auto_submitted = auto_generated(&raw_headers, top_type).or_else(|| {
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
    reply.header_anomaly = header_anomaly(raw);

    // From: exactly one field holding exactly one address.
    let from_fields = root_headers
        .iter()
        .filter(|h| header_is(&h.name, "From"))
        .count();
    if from_fields == 0 {
        reply.malformed = Some("no From field".into());
    } else if from_fields > 1 {
        reply.malformed = Some("the From field appears more than once".into());
    } else {
        let addrs: Vec<_> = match msg.from() {
            Some(Address::List(list)) => list.iter().collect(),
            Some(Address::Group(groups)) => {
                groups.iter().flat_map(|g| g.addresses.iter()).collect()
            }
            None => Vec::new(),
        };
        let group = matches!(msg.from(), Some(Address::Group(_)));
        match addrs.as_slice() {
            [_] if group => {
                reply.malformed = Some("the From field is a group, not one address".into())
            }
            [one] => match one.address().map(str::trim) {
                Some(a) if plain_address(a) => {
                    reply.from = Some(Author {
                        address: a.to_ascii_lowercase(),
                        name: one.name().map(|n| n.to_string()),
                    });
                }
                Some(a) if !a.is_empty() => {
                    reply.malformed =
                        Some("the From address is not a plain local@domain address".into())
                }
                _ => reply.malformed = Some("the From field holds no address".into()),
            },
            [] => reply.malformed = Some("the From field holds no address".into()),
            _ => reply.malformed = Some("the From field holds more than one address".into()),
        }
    }

    // The body: the first text part; HTML only when there is no text alternative.
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
                let read = words::read_plain(&body);
                reply.new_text = read.new_text;
                reply.rest = read.rest;
            }
            PartType::Html(html) => {
                let read = words::read_html(html);
                reply.new_text = read.new_text;
                reply.rest = read.rest;
                reply.html_only = true;
            }
            _ => {}
        }
    } else if let Some(part) = msg.html_bodies().next()
        && let PartType::Html(html) = &part.body
    {
        let read = words::read_html(html);
        reply.new_text = read.new_text;
        reply.rest = read.rest;
        reply.html_only = true;
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(headers: &str, body: &str) -> Vec<u8> {
        format!("{headers}\r\n\r\n{body}")
            .replace("\r\n", "\n")
            .replace('\n', "\r\n")
            .into_bytes()
    }

    #[test]
    fn reads_sender_ids_and_subject() {
        let r = read(&msg(
            "From: \"Alice A.\" <Alice@Example.TEST>\nSubject: =?utf-8?q?R=C3=A9ponse?=\nMessage-ID: <abc@x.test>\nIn-Reply-To: <n1@bridge.test>\nReferences: <n0@bridge.test> <n1@bridge.test>",
            "No way.\n",
        ));
        assert_eq!(r.malformed, None);
        let from = r.from.unwrap();
        assert_eq!(from.address, "alice@example.test");
        assert_eq!(from.domain(), "example.test");
        assert_eq!(r.subject.as_deref(), Some("Réponse"));
        assert_eq!(r.message_id.as_deref(), Some("abc@x.test"));
        assert_eq!(r.in_reply_to, vec!["n1@bridge.test"]);
        assert_eq!(r.references, vec!["n0@bridge.test", "n1@bridge.test"]);
        assert_eq!(r.new_text, "No way.");
    }

    #[test]
    fn recipients_come_from_to_cc_and_the_delivery_headers() {
        let r = read(&msg(
            "Delivered-To: Bridge+AbC@example.test\nX-Original-To: <bridge+abc@example.test>\nFrom: a@example.test\nTo: \"Approvals\" <Bridge+abc@Example.test>, other@example.test\nCc: team: c@example.test;",
            "x",
        ));
        assert_eq!(
            r.recipients,
            [
                "bridge+abc@example.test",
                "other@example.test",
                "c@example.test"
            ]
        );
    }

    #[test]
    fn display_name_spoofing_uses_the_real_address() {
        let r = read(&msg(
            "From: \"alice@example.test\" <mallory@evil.test>",
            "x",
        ));
        assert_eq!(r.from.unwrap().address, "mallory@evil.test");
    }

    #[test]
    fn from_twice_or_two_addresses_is_malformed() {
        let r = read(&msg("From: a@example.test\nFrom: b@example.test", "x"));
        assert!(r.malformed.unwrap().contains("more than once"));
        let r = read(&msg("From: a@example.test, b@example.test", "x"));
        assert!(r.malformed.unwrap().contains("more than one address"));
        let r = read(&msg("Subject: hi", "x"));
        assert!(r.malformed.unwrap().contains("no From"));
        let r = read(&msg("From: Just A Name", "x"));
        assert!(r.malformed.is_some());
    }

    #[test]
    fn auto_generated_markers() {
        for h in [
            "Auto-Submitted: auto-replied",
            "auto-submitted: Auto-Generated; owner-email=x@y",
            "Precedence: BULK",
            "Precedence: list",
            "X-Autoreply: yes",
            "X-Autorespond: anything",
            "Return-Path: <>",
            "Content-Type: multipart/report; report-type=delivery-status; boundary=x",
            "Precedence: auto_reply",
            "List-Id: Approvers <approvers.example.test>",
            "Subject: Automatic reply: Approval needed",
            "Subject: =?utf-8?q?R=C3=A9ponse_automatique_=3A_absent?=",
            "Subject: OUT OF OFFICE: back Monday",
            "Subject: Autosvar: Ledig",
            // Every prefix SPEC rule 3 names, in another case, with a space before the colon.
            "Subject: AUTO-REPLY : back Monday",
            "Subject: automatische antwort: x",
            "Subject: Abwesend: x",
            "Subject: =?utf-8?q?Respuesta_autom=C3=A1tica=3A_x?=",
            "Subject: Automatisch antwoord: x",
            "Subject: Risposta automatica: x",
            "Subject: =?utf-8?q?Resposta_autom=C3=A1tica=3A_x?=",
            "Subject: autosvar : x",
        ] {
            let r = read(&msg(&format!("From: a@example.test\n{h}"), "x"));
            assert!(r.auto_submitted.is_some(), "{h}");
        }
        for h in [
            "Auto-Submitted: no",
            "Auto-Submitted: no (typed by hand)",
            "Auto-Submitted: (comment) No",
            "X-Autoreply: NO",
            "Precedence: first-class",
            "Return-Path: <a@example.test>",
            "Subject: Re: Automatic reply: back Monday",
            "Subject: Out of office on Monday, reject it",
        ] {
            let r = read(&msg(&format!("From: a@example.test\n{h}"), "x"));
            assert!(r.auto_submitted.is_none(), "{h}");
        }
    }

    #[test]
    fn all_eleven_out_of_office_prefixes_are_known() {
        assert_eq!(AUTO_REPLY_SUBJECTS.len(), 11);
        for prefix in AUTO_REPLY_SUBJECTS {
            assert_eq!(auto_reply_subject(&format!("{prefix} x")), Some(*prefix));
            assert_eq!(
                auto_reply_subject(&format!("{} x", prefix.to_uppercase())),
                Some(*prefix)
            );
        }
        // Decomposed accents (NFD) are the same prefix.
        assert!(auto_reply_subject("Re\u{301}ponse automatique : absent").is_some());
    }

    #[test]
    fn from_must_be_a_plain_address_compared_in_ascii() {
        for from in [
            "\"a b\"@example.test",
            "a@b@example.test",
            "Team: alice@example.test;",
            "alice@[192.0.2.1]",
            "alice@example..test",
            "alice.@example.test",
            "<@relay.test:alice@example.test>",
        ] {
            let r = read(&msg(&format!("From: {from}"), "x"));
            assert!(r.malformed.is_some(), "{from}: {:?}", r.from);
        }
        let r = read(&msg("From: Bob <Bob.O'Neil+mma@Example.TEST>", "x"));
        assert_eq!(r.from.unwrap().address, "bob.o'neil+mma@example.test");
        // KELVIN SIGN stays what it is: lower-casing in Unicode would make it `k`.
        let r = read(&msg("From: bob@\u{212A}ontoso.test", "x"));
        assert_eq!(r.from.unwrap().address, "bob@\u{212A}ontoso.test");
        assert!(plain_address("用户@例子.广告"));
    }

    #[test]
    fn message_id_from_a_bounded_scan() {
        let raw = b"Subject: x\r\nMessage-ID:\r\n <abc@x.test> (comment)\r\nFrom: a@b\r\n\r\nMessage-ID: <body@x>";
        assert_eq!(message_id_of(raw).as_deref(), Some("abc@x.test"));
        assert_eq!(
            message_id_of(b"message-id: plain@x\n\n").as_deref(),
            Some("plain@x")
        );
        assert_eq!(
            message_id_of(b"Subject: x\r\n\r\nMessage-ID: <body@x>\r\n"),
            None
        );
        assert_eq!(message_id_of(b"Message-ID: <a b@x>\r\n\r\n"), None);
        let long = format!("Message-ID: <{}@x>\r\n\r\n", "a".repeat(2000));
        assert_eq!(message_id_of(long.as_bytes()), None);
        assert_eq!(message_id_of(b""), None);
    }

    #[test]
    fn date_is_read_in_seconds() {
        let r = read(&msg(
            "From: a@example.test\nDate: Mon, 1 Jun 2026 10:00:00 +0000",
            "x",
        ));
        assert_eq!(r.date, Some(1_780_308_000));
        assert_eq!(
            read(&msg("From: a@example.test\nDate: someday", "x")).date,
            None
        );
        assert_eq!(read(&msg("From: a@example.test", "x")).date, None);
    }

    #[test]
    fn header_block_anomalies() {
        let ok = b"From: a@example.test\r\nSubject: x\r\n folded\r\n\r\nbody\n\nmore";
        assert_eq!(header_anomaly(ok), None);
        assert_eq!(header_anomaly(b"From: a@x\nSubject: y\n\nbody\r\n"), None);
        for (raw, what) in [
            (&b"From: a@x\r\nSubject: y\rX: z\r\n\r\n"[..], "bare CR"),
            (b"From: a@x\r\nSubject: y\nX: z\r\n\r\n", "mixed"),
            (
                b"From: a@x\r\n \t\r\nFrom: b@y\r\n\r\n",
                "white space inside",
            ),
            (b"From : a@x\r\n\r\n", "before the colon"),
            (b"Subject: y\r\nFrom\t: a@x\r\n\r\n", "before the colon"),
        ] {
            let a = header_anomaly(raw).unwrap_or_default();
            assert!(a.contains(what), "{raw:?}: {a:?}");
        }
        // Only the header block counts.
        assert_eq!(
            header_anomaly(b"From: a@x\r\n\r\nbody\rwith\nodd ends  : x\r\n"),
            None
        );
        let r = read(b"From: a@example.test\r\nSubject: y\nX: z\r\n\r\nbody");
        assert!(r.header_anomaly.is_some());
    }

    #[test]
    fn encrypted_bodies_are_named_and_signed_only_ones_are_not() {
        assert_eq!(
            encrypted_kind("multipart", "encrypted", None).as_deref(),
            Some("multipart/encrypted")
        );
        assert_eq!(
            encrypted_kind("Application", "PKCS7-MIME", Some("enveloped-data")).as_deref(),
            Some("S/MIME enveloped-data")
        );
        assert!(encrypted_kind("application", "x-pkcs7-mime", None).is_some());
        assert!(encrypted_kind("application", "pkcs7-mime", Some("signed-data")).is_none());
        assert!(encrypted_kind("multipart", "signed", None).is_none());
        assert!(encrypted_kind("text", "plain", None).is_none());
    }

    #[test]
    fn html_only_mail_is_read_as_text() {
        let r = read(&msg(
            "From: a@example.test\nContent-Type: text/html; charset=utf-8",
            "<html><body><p>Not now &amp; not <b>ever</b></p></body></html>",
        ));
        assert!(r.html_only);
        assert!(r.new_text.contains("Not now & not"), "{:?}", r.new_text);
    }

    #[test]
    fn text_part_wins_over_html() {
        let r = read(&msg(
            "From: a@example.test\nContent-Type: multipart/alternative; boundary=b",
            "--b\nContent-Type: text/plain\n\nplain words\n--b\nContent-Type: text/html\n\n<p>html words</p>\n--b--\n",
        ));
        assert!(!r.html_only);
        assert_eq!(r.new_text, "plain words");
    }

    #[test]
    fn authentication_headers_are_kept_in_order() {
        let r = read(&msg(
            "Authentication-Results: mx.example.test;\n dmarc=pass header.from=example.test\nAuthentication-Results: other; dkim=fail\nX-MS-Exchange-Organization-AuthAs: Internal\nFrom: a@example.test",
            "x",
        ));
        assert_eq!(r.auth_results.len(), 2);
        assert!(r.auth_results[0].contains("dmarc=pass"));
        assert_eq!(r.exchange_auth_as[0].trim(), "Internal");
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for raw in [
            &b""[..],
            b"\xff\xfe\x00garbage",
            b"From:",
            b"\r\n\r\n",
            b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n",
        ] {
            let r = read(raw);
            assert!(r.malformed.is_some(), "{raw:?}");
        }
    }
}
