//! SMTP failures in the terms the callers act on: transient (try again later), permanent (the
//! message or recipient is refused for good), or a refused login; and the failure's words, its
//! whole source chain, for the log and the ops team.

use super::SendError;
use crate::tls;

/// The server refused the login: a 53x answer, or (XOAUTH2) the error challenge a server sends
/// instead of a plain refusal, which lettre reports as an unexpected challenge.
pub fn is_auth_refusal(e: &lettre::transport::smtp::Error) -> bool {
    if let Some(code) = e.status() {
        return code.to_string().starts_with("53");
    }
    e.is_client() && e.to_string().contains("challenge")
}

/// 4xx, network trouble and timeouts are transient (a TLS trust failure too: the message is
/// fine, the operator has to fix the configuration); 5xx goes through [`classify_5xx`].
pub(super) fn classify(e: &lettre::transport::smtp::Error, recipients: &[String]) -> SendError {
    let text = words(e);
    if e.is_client() {
        // lettre refused the message itself (e.g. no recipient): sending again cannot help.
        return SendError::Permanent(text);
    }
    match e.status() {
        Some(code) if e.is_permanent() => classify_5xx(&code.to_string(), text, recipients),
        _ => SendError::Transient(text),
    }
}

/// A 5xx answer: [`SendError::Refused`] when it is about the bridge's account (the login,
/// sending limits, sender policy), [`SendError::Permanent`] when it is about the recipient or
/// the message. In that order:
/// 1. 530/534/535/538 (authentication required, too weak, refused, needs encryption): refused.
/// 2. The answer names a recipient (`<carol@x>: Relay access denied`, `5.1.1 <bob@x>: unknown`):
///    permanent.
/// 3. RFC 3463 codes: 5.1.x (the destination: bad mailbox, system, syntax) but 5.1.7/5.1.8 (the
///    sender's address), 5.2.1–5.2.4 (the recipient's mailbox), 5.3.4 and 5.6.x (the message):
///    permanent. 5.7.x (security and policy: "not allowed to send as", tenant sending limits)
///    and 5.1.7/5.1.8: refused.
/// 4. Words of a sender's limit ("quota", "rate", "limit exceeded", "too many", "suspended"):
///    refused.
/// 5. Anything else: permanent (the server said no for good and did not say it was us).
pub fn classify_5xx(code: &str, text: String, recipients: &[String]) -> SendError {
    if matches!(code, "530" | "534" | "535" | "538") {
        return SendError::Refused(text);
    }
    let lower = text.to_ascii_lowercase();
    if recipients
        .iter()
        .any(|r| !r.is_empty() && lower.contains(&r.to_ascii_lowercase()))
    {
        return SendError::Permanent(text);
    }
    if let Some((class, subject, detail)) = enhanced_code(&lower) {
        debug_assert_eq!(class, 5);
        match (subject, detail) {
            (1, 7 | 8) | (7, _) => return SendError::Refused(text),
            (1, _) | (2, 1..=4) | (3, 4) | (6, _) => return SendError::Permanent(text),
            _ => {}
        }
    }
    const SENDER_LIMITS: &[&str] = &[
        "quota",
        "rate limit",
        "limit exceeded",
        "exceeded",
        "too many",
        "throttl",
        "suspended",
        "sending limit",
    ];
    if SENDER_LIMITS.iter().any(|w| lower.contains(w)) {
        return SendError::Refused(text);
    }
    SendError::Permanent(text)
}

/// The first RFC 3463 enhanced status code `5.X.Y` in an answer.
pub(super) fn enhanced_code(text: &str) -> Option<(u16, u16, u16)> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find_map(|token| {
            let mut parts = token.split('.');
            let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
            if parts.next().is_some() || a != "5" || b.len() > 3 || c.len() > 3 {
                return None;
            }
            Some((5, b.parse().ok()?, c.parse().ok()?))
        })
}

/// The error with its sources, TLS failures in words; never any credential (lettre's errors
/// carry server answers and I/O errors, not what was sent).
pub(super) fn words(e: &lettre::transport::smtp::Error) -> String {
    if let Some(tls) = tls::describe(e) {
        return tls;
    }
    error_chain(e)
}

/// An error with each of its sources, on one line, without repeating a source already said.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}
