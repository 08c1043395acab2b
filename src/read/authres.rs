//! `Authentication-Results` header values (RFC 8601), parsed into plain data, and the sender
//! authentication rule of SPEC §3 (rule 4) built on them.
//!
//! The parser follows the RFC's grammar closely enough that forged text cannot pass for a result:
//! comments `( … )` (nested, with `\` escapes) are dropped before anything is read, quoted strings
//! are single values, and a header is read as `authserv-id [version] ; method=result props… ; …`.
//! Exchange Online writes the header without an authserv-id (`spf=pass …; dmarc=pass …`); that
//! shape is recognised and reported with `authserv_id: None`.

use crate::config::AuthMode;

/// One `Authentication-Results` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthResults {
    /// Lower-cased; `None` when the header starts straight with a result (Exchange Online).
    pub authserv_id: Option<String>,
    pub results: Vec<MethodResult>,
}

/// One `method=result` with its properties, e.g. `dkim=pass header.d=example.test`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodResult {
    /// Lower-cased, without a `/version`.
    pub method: String,
    /// Lower-cased.
    pub result: String,
    /// `(ptype.property, value)`, the key lower-cased, e.g. `("header.from", "example.test")`.
    /// `reason` and Exchange's bare keys (`action=none`) appear with their plain names.
    pub props: Vec<(String, String)>,
}

impl MethodResult {
    pub fn prop(&self, key: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Semi,
    Eq,
}

/// Splits a header value into words, quoted strings, `;` and `=`, dropping comments and white space.
fn tokenize(value: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = value.chars().peekable();
    let mut word = String::new();
    let flush = |word: &mut String, tokens: &mut Vec<Token>| {
        if !word.is_empty() {
            tokens.push(Token::Word(std::mem::take(word)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '(' => {
                flush(&mut word, &mut tokens);
                let mut depth = 1usize;
                while depth > 0 {
                    match chars.next() {
                        Some('\\') => {
                            chars.next();
                        }
                        Some('(') => depth += 1,
                        Some(')') => depth -= 1,
                        Some(_) => {}
                        None => break,
                    }
                }
            }
            '"' => {
                flush(&mut word, &mut tokens);
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => {
                            if let Some(n) = chars.next() {
                                s.push(n);
                            }
                        }
                        Some('"') | None => break,
                        Some(ch) => s.push(ch),
                    }
                }
                tokens.push(Token::Quoted(s));
            }
            ';' => {
                flush(&mut word, &mut tokens);
                tokens.push(Token::Semi);
            }
            '=' => {
                flush(&mut word, &mut tokens);
                tokens.push(Token::Eq);
            }
            c if c.is_whitespace() => flush(&mut word, &mut tokens),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut tokens);
    tokens
}

fn text(t: &Token) -> Option<&str> {
    match t {
        Token::Word(s) | Token::Quoted(s) => Some(s),
        _ => None,
    }
}

/// Parses one header value (without the `Authentication-Results:` name). `None` when it holds no
/// recognisable authserv-id or result at all.
pub fn parse(value: &str) -> Option<AuthResults> {
    let tokens = tokenize(value);
    let mut i = 0;
    let authserv_id = match (tokens.first(), tokens.get(1)) {
        // `spf=pass …`: no authserv-id (Exchange Online).
        (Some(Token::Word(_)), Some(Token::Eq)) => None,
        (Some(t @ (Token::Word(_) | Token::Quoted(_))), _) => {
            i = 1;
            // An optional version number follows the authserv-id.
            if let Some(Token::Word(v)) = tokens.get(1)
                && v.chars().all(|c| c.is_ascii_digit())
            {
                i = 2;
            }
            Some(text(t)?.to_ascii_lowercase())
        }
        _ => return None,
    };
    let mut results = Vec::new();
    // Each resinfo is a `;`-separated run of `key = value` pairs; the first pair is method=result.
    for chunk in tokens[i..].split(|t| *t == Token::Semi) {
        let mut pairs = Vec::new();
        let mut j = 0;
        while j < chunk.len() {
            match (&chunk[j], chunk.get(j + 1), chunk.get(j + 2)) {
                (Token::Word(k), Some(Token::Eq), Some(v)) if text(v).is_some() => {
                    pairs.push((k.to_lowercase(), text(v).unwrap_or_default().to_string()));
                    j += 3;
                }
                _ => j += 1,
            }
        }
        let Some(((method, result), props)) = pairs.split_first() else {
            continue;
        };
        let method = method
            .split('/')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        if method.is_empty() || method.contains('.') {
            continue;
        }
        results.push(MethodResult {
            method,
            result: result.to_lowercase(),
            props: props.to_vec(),
        });
    }
    if authserv_id.is_none() && results.is_empty() {
        return None;
    }
    Some(AuthResults {
        authserv_id,
        results,
    })
}

/// `header.d` / `header.from` values may carry a local part (`@example.test`, `a@example.test`).
/// Case is folded in ASCII only, as for addresses.
fn domain_of(value: &str) -> String {
    value
        .rsplit('@')
        .next()
        .unwrap_or(value)
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// What the authentication rule needs from a message's headers.
#[derive(Clone, Debug, Default)]
pub struct AuthEvidence<'a> {
    /// `Authentication-Results` values, topmost first.
    pub results_headers: Vec<&'a str>,
    /// `X-MS-Exchange-Organization-AuthAs` values.
    pub exchange_auth_as: Vec<&'a str>,
}

/// Whether the sender of a message whose From domain is `from_domain` is authenticated (SPEC §3,
/// rule 4). Returns the verdict and a short explanation for logs and `parse`.
pub fn authenticated(
    evidence: &AuthEvidence<'_>,
    from_domain: &str,
    mode: AuthMode,
    trusted_authserv_id: &str,
) -> (bool, String) {
    let from_domain = from_domain.to_ascii_lowercase();
    match mode {
        AuthMode::AuthservId => by_authserv_id(evidence, &from_domain, trusted_authserv_id),
        AuthMode::ExchangeOnline => by_exchange_online(evidence, &from_domain),
    }
}

/// `approvers.authentication = "authserv-id"`: the topmost header of the trusted authserv-id
/// shows a dmarc pass for the From domain, or a dkim pass aligned with it.
fn by_authserv_id(
    evidence: &AuthEvidence<'_>,
    from_domain: &str,
    trusted_authserv_id: &str,
) -> (bool, String) {
    let trusted = evidence
        .results_headers
        .iter()
        .find_map(|h| parse(h).filter(|r| r.authserv_id.as_deref() == Some(trusted_authserv_id)));
    let Some(ar) = trusted else {
        return (
            false,
            format!("no Authentication-Results header from {trusted_authserv_id}"),
        );
    };
    for r in &ar.results {
        if r.result != "pass" {
            continue;
        }
        // A dmarc result that does not name the domain it is for authenticates none:
        // the MTA may have read another From than ours.
        if r.method == "dmarc"
            && r.prop("header.from")
                .is_some_and(|d| domain_of(d) == from_domain)
        {
            return (true, format!("dmarc=pass from {trusted_authserv_id}"));
        }
        if r.method == "dkim" && r.prop("header.d").map(domain_of).as_deref() == Some(from_domain) {
            return (
                true,
                format!("dkim=pass header.d={from_domain} from {trusted_authserv_id}"),
            );
        }
    }
    (
        false,
        format!("the topmost {trusted_authserv_id} result shows no dmarc or aligned dkim pass"),
    )
}

/// `approvers.authentication = "exchange-online"`: `X-MS-Exchange-Organization-AuthAs: Internal`
/// exactly once, or Exchange's own (topmost) `Authentication-Results` with a dmarc pass for the
/// From domain, or a compauth pass where it has no dmarc result.
fn by_exchange_online(evidence: &AuthEvidence<'_>, from_domain: &str) -> (bool, String) {
    // Exchange strips these headers from mail entering the tenant and writes one: more
    // than one means something else wrote them.
    match evidence.exchange_auth_as.as_slice() {
        [] => {}
        [one] if one.trim().eq_ignore_ascii_case("internal") => {
            return (true, "X-MS-Exchange-Organization-AuthAs: Internal".into());
        }
        [_] => {}
        several => {
            return (
                false,
                format!(
                    "{} X-MS-Exchange-Organization-AuthAs headers (Exchange writes one)",
                    several.len()
                ),
            );
        }
    }
    let Some(ar) = evidence.results_headers.first().and_then(|h| parse(h)) else {
        return (false, "no Authentication-Results header".into());
    };
    if let Some(id) = &ar.authserv_id {
        return (
            false,
            format!(
                "the topmost Authentication-Results is not Exchange's (it names {id}; Exchange's names none)"
            ),
        );
    }
    let dmarc: Vec<&MethodResult> = ar.results.iter().filter(|r| r.method == "dmarc").collect();
    let dmarc_ok = |r: &MethodResult| {
        r.result == "pass" && r.prop("header.from").map(domain_of).as_deref() == Some(from_domain)
    };
    if !dmarc.is_empty() && dmarc.iter().all(|r| dmarc_ok(r)) {
        return (
            true,
            format!("dmarc=pass header.from={from_domain} in Exchange's Authentication-Results"),
        );
    }
    let compauth = ar
        .results
        .iter()
        .any(|r| r.method == "compauth" && r.result == "pass");
    // SPEC §3: compauth counts while the header's dmarc result, if any, passed. A dmarc
    // result that is not a pass (`fail`, and also `none`: the domain publishes no DMARC
    // record) is not overruled by Exchange's composite verdict.
    if compauth && dmarc.is_empty() {
        return (
            true,
            "compauth=pass in Exchange's Authentication-Results".into(),
        );
    }
    (
        false,
        "Exchange's Authentication-Results shows no dmarc pass for the From domain, and no compauth pass without a failing dmarc"
            .into(),
    )
}

#[cfg(test)]
mod tests;
