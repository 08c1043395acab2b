//! Client assertions (certificate credentials): a JWT signed PS256 or RS256 with a registered
//! certificate, found by `x5t#S256` or `x5t`, checked in Entra's order: well formed (AADSTS50027),
//! algorithm (5002738), certificate and signature (700027), `aud` (700212), `iss` and `sub`
//! (700021), `exp`/`nbf` with five minutes of skew (700024), `jti` present and never reused
//! (700025).

use std::collections::HashSet;
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{
    RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256, UnparsedPublicKey, VerificationAlgorithm,
};
use serde_json::{Value, json};

use crate::state::{Cert, Settings};

use super::refusal::{Refusal, refuse};

fn b64url(part: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Decoded header and claims of an assertion, for the call record (the signature is left out).
pub(super) fn assertion_summary(jwt: &str) -> Value {
    let mut parts = jwt.split('.');
    let decode = |p: Option<&str>| {
        p.and_then(b64url)
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .unwrap_or(Value::Null)
    };
    let header = decode(parts.next());
    let claims = decode(parts.next());
    json!({"header": header, "claims": claims, "signature": "<redacted>"})
}

/// Checks a client assertion against the registered certificates (Entra's rules).
pub(super) fn verify_assertion(
    settings: &Settings,
    used_jtis: &mut HashSet<String>,
    jwt: &str,
    expected_audience: &str,
    client_id: &str,
) -> Result<(), Refusal> {
    let jwt = Jwt::decode(jwt)?;
    let algorithm = algorithm(&jwt.header)?;
    let cert = certificate(settings, &jwt.header)?;
    check_signature(algorithm, cert, &jwt)?;
    check_audience(&jwt.claims, expected_audience)?;
    check_client(&jwt.claims, client_id)?;
    check_lifetime(&jwt.claims)?;
    check_jti(&jwt.claims, used_jtis)
}

/// An assertion's three parts, decoded.
struct Jwt<'a> {
    /// `header.claims` as sent: what the signature signs.
    header_part: &'a str,
    claims_part: &'a str,
    header: Value,
    claims: Value,
    signature: Vec<u8>,
}

impl<'a> Jwt<'a> {
    fn decode(jwt: &'a str) -> Result<Self, Refusal> {
        let malformed = || {
            refuse(
                400,
                "invalid_request",
                50027,
                "JWT token is invalid or is malformed.",
            )
        };
        let parts: Vec<&str> = jwt.split('.').collect();
        if parts.len() != 3 {
            return Err(malformed());
        }
        let header: Value = b64url(parts[0])
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(malformed)?;
        let claims: Value = b64url(parts[1])
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(malformed)?;
        let signature = b64url(parts[2]).ok_or_else(malformed)?;
        Ok(Jwt {
            header_part: parts[0],
            claims_part: parts[1],
            header,
            claims,
            signature,
        })
    }
}

/// The header's `alg`: PS256 or RS256.
fn algorithm(header: &Value) -> Result<&'static dyn VerificationAlgorithm, Refusal> {
    match header["alg"].as_str() {
        Some("PS256") => Ok(&RSA_PSS_2048_8192_SHA256),
        Some("RS256") => Ok(&RSA_PKCS1_2048_8192_SHA256),
        other => Err(refuse(
            401,
            "invalid_client",
            5002738,
            format!(
                "Invalid JWT token. '{}' is not a supported signature algorithm. Supported: PS256, RS256.",
                other.unwrap_or("(none)")
            ),
        )),
    }
}

/// The registered certificate the header names by `x5t#S256` (else `x5t`).
fn certificate<'s>(settings: &'s Settings, header: &Value) -> Result<&'s Cert, Refusal> {
    let cert = if let Some(t) = header["x5t#S256"].as_str() {
        settings.certificates.iter().find(|c| c.x5t_s256 == t)
    } else if let Some(t) = header["x5t"].as_str() {
        settings.certificates.iter().find(|c| c.x5t == t)
    } else {
        return Err(refuse(
            401,
            "invalid_client",
            700027,
            "Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '' (neither x5t#S256 nor x5t in the header)]",
        ));
    };
    let Some(cert) = cert else {
        let thumb = header["x5t#S256"]
            .as_str()
            .or(header["x5t"].as_str())
            .unwrap_or_default();
        return Err(refuse(
            401,
            "invalid_client",
            700027,
            format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{thumb}']"
            ),
        ));
    };
    Ok(cert)
}

fn check_signature(
    algorithm: &'static dyn VerificationAlgorithm,
    cert: &Cert,
    jwt: &Jwt,
) -> Result<(), Refusal> {
    UnparsedPublicKey::new(algorithm, &cert.public_key)
        .verify(
            format!("{}.{}", jwt.header_part, jwt.claims_part).as_bytes(),
            &jwt.signature,
        )
        .map_err(|_| {
            refuse(
                401,
                "invalid_client",
                700027,
                "Client assertion contains an invalid signature. [Reason - The signature does not verify with the registered certificate's key.]",
            )
        })
}

/// `aud`: this token endpoint's URL (a string, or a list naming it).
fn check_audience(claims: &Value, expected_audience: &str) -> Result<(), Refusal> {
    let audience_ok = match &claims["aud"] {
        Value::String(a) => a.eq_ignore_ascii_case(expected_audience),
        Value::Array(list) => list.iter().any(|a| {
            a.as_str()
                .is_some_and(|a| a.eq_ignore_ascii_case(expected_audience))
        }),
        _ => false,
    };
    if !audience_ok {
        return Err(refuse(
            401,
            "invalid_client",
            700212,
            format!(
                "The audience claim of the client assertion must be '{expected_audience}'; it was {}.",
                claims["aud"]
            ),
        ));
    }
    Ok(())
}

/// `iss` and `sub`: both the client ID.
fn check_client(claims: &Value, client_id: &str) -> Result<(), Refusal> {
    if claims["iss"].as_str() != Some(client_id) || claims["sub"].as_str() != Some(client_id) {
        return Err(refuse(
            401,
            "invalid_client",
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter (iss and sub must both be the client id).",
        ));
    }
    Ok(())
}

/// `exp` and `nbf`, with Entra's five minutes of clock skew.
fn check_lifetime(claims: &Value) -> Result<(), Refusal> {
    let now = now_secs();
    let exp = claims["exp"].as_u64();
    let nbf = claims["nbf"].as_u64().unwrap_or(0);
    // Entra allows five minutes of clock skew.
    if exp.is_none_or(|exp| exp + 300 <= now) || nbf > now + 300 {
        return Err(refuse(
            401,
            "invalid_client",
            700024,
            "Client assertion is not within its valid time range.",
        ));
    }
    Ok(())
}

/// `jti`: present, and never seen before.
fn check_jti(claims: &Value, used_jtis: &mut HashSet<String>) -> Result<(), Refusal> {
    let Some(jti) = claims["jti"].as_str().filter(|j| !j.is_empty()) else {
        return Err(refuse(
            401,
            "invalid_client",
            700025,
            "Client assertion has no jti claim.",
        ));
    };
    if !used_jtis.insert(jti.to_string()) {
        return Err(refuse(
            401,
            "invalid_client",
            700025,
            "Client assertion has been used before (replayed jti).",
        ));
    }
    Ok(())
}
