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
        AuthMode::AuthservId => {
            let trusted = evidence.results_headers.iter().find_map(|h| {
                parse(h).filter(|r| r.authserv_id.as_deref() == Some(trusted_authserv_id))
            });
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
                if r.method == "dkim"
                    && r.prop("header.d").map(domain_of) == Some(from_domain.clone())
                {
                    return (
                        true,
                        format!("dkim=pass header.d={from_domain} from {trusted_authserv_id}"),
                    );
                }
            }
            (
                false,
                format!(
                    "the topmost {trusted_authserv_id} result shows no dmarc or aligned dkim pass"
                ),
            )
        }
        AuthMode::ExchangeOnline => {
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
            let dmarc: Vec<&MethodResult> =
                ar.results.iter().filter(|r| r.method == "dmarc").collect();
            let dmarc_ok = |r: &MethodResult| {
                r.result == "pass"
                    && r.prop("header.from").map(domain_of).as_deref() == Some(from_domain.as_str())
            };
            if !dmarc.is_empty() && dmarc.iter().all(|r| dmarc_ok(r)) {
                return (
                    true,
                    format!(
                        "dmarc=pass header.from={from_domain} in Exchange's Authentication-Results"
                    ),
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_typical_header() {
        let ar = parse(
            "mx.example.test 1;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=example.test header.i=@example.test header.b=\"abc\";\r\n dmarc=pass (p=none dis=none) header.from=example.test",
        )
        .unwrap();
        assert_eq!(ar.authserv_id.as_deref(), Some("mx.example.test"));
        assert_eq!(ar.results.len(), 2);
        assert_eq!(ar.results[0].method, "dkim");
        assert_eq!(ar.results[0].prop("header.d"), Some("example.test"));
        assert_eq!(ar.results[0].prop("header.b"), Some("abc"));
        assert_eq!(ar.results[1].method, "dmarc");
        assert_eq!(ar.results[1].result, "pass");
    }

    #[test]
    fn comments_never_hold_results() {
        let ar = parse("mx.example.test; dmarc=fail (dmarc=pass header.from=example.test) header.from=example.test").unwrap();
        assert_eq!(ar.results.len(), 1);
        assert_eq!(ar.results[0].result, "fail");
        let ar = parse("mx.example.test; none (dmarc=pass)").unwrap();
        assert!(ar.results.is_empty());
    }

    #[test]
    fn quoted_authserv_id_and_method_version() {
        let ar = parse("\"mx.example.test\"; dkim/1=pass header.d=example.test").unwrap();
        assert_eq!(ar.authserv_id.as_deref(), Some("mx.example.test"));
        assert_eq!(ar.results[0].method, "dkim");
    }

    #[test]
    fn exchange_online_shape_has_no_authserv_id() {
        let ar = parse("spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=contoso.com; dkim=pass (signature was verified) header.d=contoso.com;dmarc=pass action=none header.from=contoso.com;compauth=pass reason=100").unwrap();
        assert_eq!(ar.authserv_id, None);
        assert_eq!(ar.results.len(), 4);
        assert_eq!(ar.results[2].prop("header.from"), Some("contoso.com"));
        assert_eq!(ar.results[3].prop("reason"), Some("100"));
    }

    #[test]
    fn garbage_does_not_panic() {
        for s in [
            "",
            ";",
            "=",
            "((((",
            "\"",
            "a=",
            "=b;c",
            "x (y",
            "a; b=c d=",
            "\\",
        ] {
            let _ = parse(s);
        }
    }

    fn ev(headers: &[&'static str]) -> AuthEvidence<'static> {
        AuthEvidence {
            results_headers: headers.to_vec(),
            exchange_auth_as: vec![],
        }
    }

    #[test]
    fn only_the_topmost_trusted_header_counts() {
        let e = ev(&[
            "other.test; dmarc=pass header.from=example.test",
            "mx.example.test; dmarc=fail header.from=example.test",
            "mx.example.test; dmarc=pass header.from=example.test",
        ]);
        assert!(!authenticated(&e, "example.test", AuthMode::AuthservId, "mx.example.test").0);
        let e = ev(&["MX.Example.Test 1; dkim=pass header.d=Example.test"]);
        assert!(authenticated(&e, "example.test", AuthMode::AuthservId, "mx.example.test").0);
    }

    #[test]
    fn dkim_must_align_with_from() {
        let e = ev(&["mx.example.test; dkim=pass header.d=evil.test"]);
        assert!(!authenticated(&e, "example.test", AuthMode::AuthservId, "mx.example.test").0);
        let e = ev(&["mx.example.test; dmarc=pass header.from=evil.test"]);
        assert!(!authenticated(&e, "example.test", AuthMode::AuthservId, "mx.example.test").0);
    }

    #[test]
    fn exchange_online_mode() {
        let mut e = ev(&[]);
        e.exchange_auth_as = vec![" Internal "];
        assert!(authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "").0);
        // Not trusted in authserv-id mode.
        assert!(!authenticated(&e, "contoso.com", AuthMode::AuthservId, "mx.contoso.com").0);
        // compauth=pass counts when that header's dmarc result, if any, passed for the From domain.
        let e = ev(&["spf=fail smtp.mailfrom=x.test; compauth=pass reason=100"]);
        assert!(authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "").0);
        // dmarc=none is a dmarc result, and not a pass: compauth does not overrule it.
        let e = ev(&[
            "spf=pass smtp.mailfrom=contoso.com; dkim=pass header.d=contoso.com; dmarc=none action=none header.from=contoso.com;compauth=pass reason=109",
        ]);
        assert!(!authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "").0);
        let e = ev(&[
            "spf=fail smtp.mailfrom=x.test; dmarc=fail header.from=contoso.com; compauth=pass reason=100",
        ]);
        assert!(!authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "").0);
        let e = ev(&["dmarc=pass header.from=evil.test; compauth=pass"]);
        assert!(!authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "").0);
        let e = ev(&["dmarc=pass action=none header.from=Contoso.COM"]);
        assert!(authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "").0);
        // dmarc=pass that names no domain authenticates none.
        let e = ev(&["dmarc=pass action=none"]);
        assert!(!authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "").0);
    }

    #[test]
    fn exchange_online_trusts_only_its_own_stamp() {
        // Several AuthAs headers: Exchange writes one; the others came with the message.
        let mut e = ev(&["dmarc=pass header.from=contoso.com"]);
        e.exchange_auth_as = vec!["Internal", "Internal"];
        let (ok, why) = authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "");
        assert!(!ok && why.contains("2 X-MS-Exchange"), "{why}");
        e.exchange_auth_as = vec!["Anonymous", "Internal"];
        assert!(!authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "").0);
        // A topmost results header with an authserv-id was not written by Exchange.
        let e = ev(&["mx.evil.test; dmarc=pass header.from=contoso.com"]);
        assert!(!authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "").0);
        // One AuthAs that is not Internal: the results header decides.
        let mut e = ev(&["dmarc=pass header.from=contoso.com"]);
        e.exchange_auth_as = vec!["Anonymous"];
        assert!(authenticated(&e, "contoso.com", AuthMode::ExchangeOnline, "").0);
    }

    #[test]
    fn dmarc_without_header_from_authenticates_nobody() {
        let e = ev(&["mx.example.test; dmarc=pass"]);
        assert!(!authenticated(&e, "example.test", AuthMode::AuthservId, "mx.example.test").0);
        let e = ev(&["mx.example.test; dmarc=pass header.from=EXAMPLE.test"]);
        assert!(authenticated(&e, "example.test", AuthMode::AuthservId, "mx.example.test").0);
        // ASCII case folding only: KELVIN SIGN is not `k`.
        let e = ev(&["mx.example.test; dmarc=pass header.from=\u{212A}ontoso.test"]);
        assert!(!authenticated(&e, "kontoso.test", AuthMode::AuthservId, "mx.example.test").0);
    }
}
