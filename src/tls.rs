//! TLS for the mail connections: one rustls client configuration (ring provider, Mozilla roots from
//! webpki-roots plus an optional private CA from `ca_file`), always verifying the server, and
//! words for the ways verification fails. Both the IMAP session ([`crate::imap`]) and the SMTP
//! sender ([`crate::reply::smtp`]) use it, so an operator sees the same message for the same mistake.

use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// What went wrong setting up or running TLS, in words an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("ca_file {path}: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error("'{0}' is not a valid server name for TLS")]
    ServerName(String),
    /// The handshake failed; the text says why (not trusted, name mismatch, expired, ...).
    #[error("TLS with {host} failed: {reason}")]
    Handshake { host: String, reason: String },
}

/// The certificates in a PEM file (one or more `CERTIFICATE` blocks).
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|e| TlsError::CaFile {
        path: path.to_owned(),
        reason: format!("cannot read it: {e}"),
    })?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::CaFile {
            path: path.to_owned(),
            reason: format!("not a PEM certificate file: {e}"),
        })?;
    if certs.is_empty() {
        return Err(TlsError::CaFile {
            path: path.to_owned(),
            reason: "holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)".into(),
        });
    }
    Ok(certs)
}

/// The PEM text of `ca_file`, checked to hold at least one certificate (lettre takes PEM bytes).
pub fn read_ca_pem(path: &Path) -> Result<Vec<u8>, TlsError> {
    read_ca_file(path)?;
    std::fs::read(path).map_err(|e| TlsError::CaFile {
        path: path.to_owned(),
        reason: format!("cannot read it: {e}"),
    })
}

/// A client configuration trusting the public web roots and, when given, the CA(s) in `ca_file`.
/// Certificate and host name verification are always on.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca_file {
        for cert in read_ca_file(path)? {
            roots.add(cert).map_err(|e| TlsError::CaFile {
                path: path.to_owned(),
                reason: format!("not a usable CA certificate: {e}"),
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Handshake {
            host: String::new(),
            reason: format!("TLS setup: {e}"),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The name the server certificate must carry: a DNS name or an IP address.
pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(host.to_owned()).map_err(|_| TlsError::ServerName(host.to_owned()))
}

/// Runs the TLS handshake over `tcp`, verifying the certificate against `host`.
pub async fn connect(
    config: Arc<ClientConfig>,
    host: &str,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>, TlsError> {
    let name = server_name(host)?;
    TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| TlsError::Handshake {
            host: host.to_owned(),
            reason: describe(&e).unwrap_or_else(|| format!("handshake failed: {e}")),
        })
}

/// When `err` (or anything in its source chain) is a TLS failure, what it means in words:
/// "certificate not trusted", "certificate name mismatch", "certificate expired", ...
pub fn describe(err: &(dyn StdError + 'static)) -> Option<String> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(describe_rustls(tls));
        }
        // io::Error::source() skips the wrapped error itself; look inside explicitly.
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(found) = describe(inner)
        {
            return Some(found);
        }
        current = e.source();
    }
    None
}

fn describe_rustls(err: &rustls::Error) -> String {
    match err {
        rustls::Error::InvalidCertificate(cert) => describe_certificate(cert),
        rustls::Error::AlertReceived(alert) => {
            format!("the server ended the TLS handshake ({alert:?})")
        }
        rustls::Error::PeerIncompatible(why) => {
            format!("the server offers no TLS version or cipher this client accepts ({why:?})")
        }
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            format!(
                "the server did not speak TLS ({err}); check the port and the tls mode (implicit vs starttls)"
            )
        }
        other => format!("TLS handshake failed: {other}"),
    }
}

fn describe_certificate(err: &CertificateError) -> String {
    match err {
        CertificateError::UnknownIssuer => "certificate not trusted: the server's certificate is \
             signed by an unknown authority (set ca_file to the CA that signed it)"
            .into(),
        CertificateError::BadSignature => {
            "certificate not trusted: its signature does not verify".into()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "certificate name mismatch: the server's certificate is not valid for the configured \
             host name (use the name the certificate carries)"
                .into()
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "certificate expired: the server's certificate is past its validity period".into()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "certificate not yet valid: check the clocks of this machine and the server".into()
        }
        CertificateError::Revoked => "certificate revoked".into(),
        other => format!("certificate rejected: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    use rustls::ServerConfig;
    use rustls::pki_types::PrivateKeyDer;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    struct Pki {
        ca_pem: String,
        leaf_der: CertificateDer<'static>,
        leaf_key: Vec<u8>,
    }

    fn pki(names: &[&str], expired: bool) -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let mut leaf_params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        if expired {
            leaf_params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            leaf_params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        }
        let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
        Pki {
            ca_pem: ca.pem(),
            leaf_der: leaf.der().clone(),
            leaf_key: leaf_key.serialize_der(),
        }
    }

    /// A one-shot TLS echo server on loopback; returns its port.
    async fn serve(pki: &Pki) -> u16 {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![pki.leaf_der.clone()],
                PrivateKeyDer::Pkcs8(pki.leaf_key.clone().into()),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            if let Ok((tcp, _)) = listener.accept().await
                && let Ok(mut tls) = acceptor.accept(tcp).await
            {
                let mut buf = [0u8; 4];
                if tls.read_exact(&mut buf).await.is_ok() {
                    let _ = tls.write_all(&buf).await;
                }
            }
        });
        port
    }

    fn ca_file(pki: &Pki) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &pki.ca_pem).unwrap();
        file
    }

    async fn try_connect(pki: &Pki, ca: Option<&Path>, host: &str) -> Result<(), TlsError> {
        let port = serve(pki).await;
        let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let mut tls = connect(client_config(ca)?, host, tcp).await?;
        tls.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        Ok(())
    }

    #[tokio::test]
    async fn trusts_the_given_ca() {
        let pki = pki(&["localhost", "127.0.0.1"], false);
        let ca = ca_file(&pki);
        try_connect(&pki, Some(ca.path()), "localhost")
            .await
            .unwrap();
        try_connect(&pki, Some(ca.path()), "127.0.0.1")
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn unknown_ca_is_not_trusted() {
        let pki = pki(&["localhost"], false);
        let err = try_connect(&pki, None, "localhost").await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("certificate not trusted"), "{text}");
        assert!(text.contains("ca_file"), "{text}");
    }

    #[tokio::test]
    async fn wrong_name_is_a_mismatch() {
        let pki = pki(&["mail.example.test"], false);
        let ca = ca_file(&pki);
        let err = try_connect(&pki, Some(ca.path()), "localhost")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("name mismatch"), "{err}");
    }

    #[tokio::test]
    async fn expired_certificate_says_so() {
        let pki = pki(&["localhost"], true);
        let ca = ca_file(&pki);
        let err = try_connect(&pki, Some(ca.path()), "localhost")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("certificate expired"), "{err}");
    }

    #[test]
    fn ca_file_problems_are_named() {
        let missing = client_config(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(
            missing.to_string().contains("/nonexistent/ca.pem"),
            "{missing}"
        );
        let empty = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(empty.path(), "not a certificate\n").unwrap();
        let err = client_config(Some(empty.path())).unwrap_err();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
    }

    #[test]
    fn describe_finds_rustls_inside_io_errors() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        let text = describe(&io).unwrap();
        assert!(text.starts_with("certificate not trusted"), "{text}");
        assert!(describe(&std::io::Error::other("plain")).is_none());
    }
}
