//! Unit tests of the certificate credential: the signed client assertion.

use super::*;
use ring::signature::{RSA_PSS_2048_8192_SHA256, UnparsedPublicKey};

const KEY_A: &str = include_str!("../../../tests/fixtures/graph/test-key-a.pkcs8.pem");
const KEY_A1: &str = include_str!("../../../tests/fixtures/graph/test-key-a.pkcs1.pem");
const KEY_B: &str = include_str!("../../../tests/fixtures/graph/test-key-b.pkcs8.pem");

fn cert_for(key_pem: &str) -> String {
    let key =
        rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(key_pem, &rcgen::PKCS_RSA_SHA256).unwrap();
    let params = rcgen::CertificateParams::new(vec!["reject-bridge.test".into()]).unwrap();
    params.self_signed(&key).unwrap().pem()
}

fn decode_part(part: &str) -> serde_json::Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[test]
fn assertion_has_the_documented_shape_and_verifies() {
    let cert_pem = cert_for(KEY_A);
    let cred = ClientCertificate::from_pem(cert_pem.as_bytes(), KEY_A.as_bytes()).unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let jwt = cred
        .assertion("https://login.example/t/oauth2/v2.0/token", "client-1", now)
        .unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header = decode_part(parts[0]);
    assert_eq!(header["alg"], "PS256");
    assert_eq!(header["typ"], "JWT");
    let der = x509_parser::pem::Pem::iter_from_buffer(cert_pem.as_bytes())
        .next()
        .unwrap()
        .unwrap()
        .contents;
    assert_eq!(
        header["x5t#S256"],
        URL_SAFE_NO_PAD.encode(Sha256::digest(&der))
    );
    let claims = decode_part(parts[1]);
    assert_eq!(claims["aud"], "https://login.example/t/oauth2/v2.0/token");
    assert_eq!(claims["iss"], "client-1");
    assert_eq!(claims["sub"], "client-1");
    assert_eq!(claims["nbf"], 1_700_000_000u64);
    assert_eq!(claims["exp"], 1_700_000_600u64);
    assert_eq!(claims["jti"].as_str().unwrap().len(), 36);

    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let public = cert.public_key().subject_public_key.data.to_vec();
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, public)
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .expect("PS256 signature verifies with the certificate's key");

    let again = cred.assertion("a", "c", now).unwrap();
    assert_ne!(
        decode_part(again.split('.').nth(1).unwrap())["jti"],
        claims["jti"]
    );
}

#[test]
fn pkcs1_keys_are_accepted() {
    let cert_pem = cert_for(KEY_A);
    assert!(ClientCertificate::from_pem(cert_pem.as_bytes(), KEY_A1.as_bytes()).is_ok());
}

#[test]
fn problems_name_their_key() {
    let cert_pem = cert_for(KEY_A);
    let err = ClientCertificate::from_pem(cert_pem.as_bytes(), KEY_B.as_bytes()).unwrap_err();
    assert!(
        err.to_string().starts_with("graph.private_key_path:"),
        "{err}"
    );
    let err = ClientCertificate::from_pem(b"nothing", KEY_A.as_bytes()).unwrap_err();
    assert!(
        err.to_string().starts_with("graph.certificate_path:"),
        "{err}"
    );
    let err = ClientCertificate::from_pem(cert_pem.as_bytes(), b"nope").unwrap_err();
    assert!(
        err.to_string().starts_with("graph.private_key_path:"),
        "{err}"
    );
    let err =
        ClientCertificate::from_files(Path::new("/nonexistent/c.pem"), Path::new("k")).unwrap_err();
    assert!(
        err.to_string().starts_with("graph.certificate_path:"),
        "{err}"
    );
}
