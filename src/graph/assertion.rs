//! Certificate credentials for Entra ID: a PEM certificate and its RSA private key, and the signed
//! client assertion (RFC 7523 JWT) that stands in for a client secret at the token endpoint.
//!
//! As Microsoft documents today: header `alg = PS256`, `typ = JWT`, `x5t#S256` = base64url of the
//! SHA-256 of the certificate's DER; claims `aud` (the token URL), `iss = sub = client_id`, a fresh
//! `jti`, `nbf`/`iat` now and `exp` ten minutes later. Signed with `ring`; no OpenSSL.
//!
//! Keys: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`), unencrypted. The key is
//! checked against the certificate when loaded, so a mismatched pair fails at start, naming the key.

use std::path::Path;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{KeyPair, RSA_PSS_SHA256, RsaKeyPair};
use sha2::{Digest, Sha256};

use super::GraphError;

/// How long an assertion is valid: Microsoft asks for "5-10 minutes after nbf at most".
pub const ASSERTION_LIFETIME: Duration = Duration::from_secs(600);

/// A loaded certificate credential, ready to sign assertions.
pub struct ClientCertificate {
    key: RsaKeyPair,
    /// base64url(SHA-256(certificate DER)).
    x5t_s256: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t#S256", &self.x5t_s256)
            .finish_non_exhaustive()
    }
}

fn config_error(key: &'static str, message: impl Into<String>) -> GraphError {
    GraphError::Config {
        key,
        message: message.into(),
    }
}

impl ClientCertificate {
    /// Reads `graph.certificate_path` and `graph.private_key_path`; errors name the key at fault.
    pub fn from_files(
        certificate_path: &Path,
        private_key_path: &Path,
    ) -> Result<Self, GraphError> {
        let cert = std::fs::read(certificate_path).map_err(|e| {
            config_error(
                "graph.certificate_path",
                format!("cannot read {}: {e}", certificate_path.display()),
            )
        })?;
        let key = std::fs::read(private_key_path).map_err(|e| {
            config_error(
                "graph.private_key_path",
                format!("cannot read {}: {e}", private_key_path.display()),
            )
        })?;
        Self::from_pem(&cert, &key)
    }

    /// Builds the credential from PEM text: the first `CERTIFICATE` block, and an RSA key.
    pub fn from_pem(certificate_pem: &[u8], private_key_pem: &[u8]) -> Result<Self, GraphError> {
        let cert_der = x509_parser::pem::Pem::iter_from_buffer(certificate_pem)
            .take(64)
            .filter_map(Result::ok)
            .find(|p| p.label == "CERTIFICATE")
            .map(|p| p.contents)
            .ok_or_else(|| {
                config_error(
                    "graph.certificate_path",
                    "no PEM CERTIFICATE block found (expected -----BEGIN CERTIFICATE-----)",
                )
            })?;
        let (_, cert) = x509_parser::parse_x509_certificate(&cert_der).map_err(|e| {
            config_error(
                "graph.certificate_path",
                format!("not a valid X.509 certificate: {e}"),
            )
        })?;

        let key_pem = x509_parser::pem::Pem::iter_from_buffer(private_key_pem)
            .take(64)
            .filter_map(Result::ok)
            .find(|p| p.label.ends_with("PRIVATE KEY"))
            .ok_or_else(|| {
                config_error(
                    "graph.private_key_path",
                    "no PEM private key found (expected -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)",
                )
            })?;
        let key = match key_pem.label.as_str() {
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&key_pem.contents).map_err(|e| {
                config_error(
                    "graph.private_key_path",
                    format!("not a usable RSA PKCS#8 key ({e}); Entra certificate credentials need RSA, at least 2048 bits"),
                )
            })?,
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(&key_pem.contents).map_err(|e| {
                config_error(
                    "graph.private_key_path",
                    format!("not a usable RSA PKCS#1 key ({e}); at least 2048 bits are needed"),
                )
            })?,
            "ENCRYPTED PRIVATE KEY" => {
                return Err(config_error(
                    "graph.private_key_path",
                    "the key is encrypted; store it unencrypted with restricted file permissions (openssl pkcs8 -topk8 -nocrypt)",
                ));
            }
            other => {
                return Err(config_error(
                    "graph.private_key_path",
                    format!("a {other} is not supported; Entra certificate credentials need an RSA key"),
                ));
            }
        };

        // For RSA, the certificate's subjectPublicKey bit string is the PKCS#1 RSAPublicKey,
        // which is what ring gives for the key pair's public half.
        if cert.public_key().subject_public_key.data.as_ref() != key.public_key().as_ref() {
            return Err(config_error(
                "graph.private_key_path",
                "this key does not belong to the certificate in graph.certificate_path",
            ));
        }
        if !cert.validity().is_valid() {
            tracing::warn!(
                not_after = %cert.validity().not_after,
                "the Graph client certificate is outside its validity period; Entra will refuse it"
            );
        }

        Ok(ClientCertificate {
            key,
            x5t_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(&cert_der)),
            rng: SystemRandom::new(),
        })
    }

    /// The `x5t#S256` thumbprint this credential puts in its assertions.
    pub fn thumbprint_s256(&self) -> &str {
        &self.x5t_s256
    }

    /// A signed client assertion for `audience` (the token URL), valid from `now` for ten minutes.
    pub fn assertion(
        &self,
        audience: &str,
        client_id: &str,
        now: SystemTime,
    ) -> Result<String, GraphError> {
        let now = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let header = serde_json::json!({
            "alg": "PS256",
            "typ": "JWT",
            "x5t#S256": self.x5t_s256,
        });
        let claims = serde_json::json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME.as_secs(),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PSS_SHA256,
                &self.rng,
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| GraphError::Protocol {
                what: "client assertion".into(),
                message: "signing with the private key failed".into(),
            })?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

#[cfg(test)]
mod tests;
