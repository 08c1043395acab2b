//! The token endpoint's form: `application/x-www-form-urlencoded` into ordered pairs, its
//! fields as a grant reads them (a missing one is AADSTS900144), and the form as the call record
//! shows it (secrets redacted, the assertion's header and claims decoded).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::assertion::assertion_summary;
use super::refusal::{Refusal, refuse};

/// `application/x-www-form-urlencoded` into ordered pairs.
pub fn parse_form(body: &[u8]) -> Option<Vec<(String, String)>> {
    let text = std::str::from_utf8(body).ok()?;
    let mut pairs = Vec::new();
    for part in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        pairs.push((percent_decode(k)?, percent_decode(v)?));
    }
    Some(pairs)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// A parsed form, read by field name (the first of that name).
#[derive(Clone, Copy)]
pub(super) struct Form<'a>(pub(super) &'a [(String, String)]);

impl<'a> Form<'a> {
    pub(super) fn field(self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A field the request must carry.
    pub(super) fn require(self, name: &str) -> Result<&'a str, Refusal> {
        self.field(name).ok_or_else(|| {
            refuse(
                400,
                "invalid_request",
                900144,
                format!("The request body must contain the following parameter: '{name}'."),
            )
        })
    }
}

/// The form as the call record shows it: the client secret, refresh token, device code, code
/// and code verifier redacted, the client assertion decoded without its signature.
pub(super) fn recorded(form: Option<&[(String, String)]>) -> Value {
    let mut recorded: BTreeMap<String, Value> = BTreeMap::new();
    for (k, v) in form.into_iter().flatten() {
        let shown = match k.as_str() {
            "client_secret" | "refresh_token" | "device_code" | "code" | "code_verifier" => {
                json!("<redacted>")
            }
            "client_assertion" => assertion_summary(v),
            _ => json!(v),
        };
        recorded.insert(k.clone(), shown);
    }
    serde_json::to_value(recorded).unwrap_or(Value::Null)
}
