//! The Graph client against the `graph-sim` binary over real HTTP: every outcome, the token's
//! life (cache, expiry, 401 → one refresh), retries (429 + Retry-After, 5xx, timeouts, dropped
//! connections), the lost answer (no second POST), both credentials, wrong credentials, national
//! clouds; then the simulator's own strictness.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use reject_bridge::config::GraphCredential;
use reject_bridge::graph::{GraphClient, GraphError, GraphOptions, RejectResult, RetryPolicy};
use reject_bridge::secret::Secret;
use serde_json::{Value, json};
use support::sim::{CLIENT_ID, SECRET, Sim, TENANT};

const ID: &str = "6a1b2c3d-0000-4000-8000-00000000abcd";
const J: &str = "Not during the freeze (rejected by alice@example.test via email)";

fn fast() -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_millis(20),
        cap: Duration::from_millis(200),
        max_elapsed: Duration::from_secs(5),
    }
}

fn client(sim: &Sim) -> GraphClient {
    client_for(&sim.config(), fast())
}

fn client_for(cfg: &reject_bridge::config::GraphConfig, retry: RetryPolicy) -> GraphClient {
    GraphClient::with_options(
        cfg,
        GraphOptions {
            retry,
            resolve: Vec::new(),
        },
    )
    .unwrap()
}

fn endpoints(calls: &[Value]) -> Vec<String> {
    calls
        .iter()
        .map(|c| format!("{}:{}", c["endpoint"].as_str().unwrap(), c["status"]))
        .collect()
}

async fn pending(sim: &Sim) {
    sim.seed(json!({"id": ID, "status": "needsApproval"})).await;
}

#[tokio::test]
async fn rejects_with_the_exact_body_and_headers() {
    let sim = Sim::start(&[]);
    pending(&sim).await;
    assert_eq!(client(&sim).reject(ID, J).await, RejectResult::Rejected);

    let calls = sim.calls().await;
    assert_eq!(endpoints(&calls), ["token:200", "get:200", "reject:200"]);
    let post = &calls[2];
    assert_eq!(
        post["path"],
        format!("/beta/deviceManagement/operationApprovalRequests/{ID}/reject")
    );
    assert_eq!(
        post["body"],
        json!({"justification": J, "approvalSource": "email"})
    );
    for call in &calls[1..] {
        let h = &call["headers"];
        assert_eq!(h["accept"], "application/json");
        assert_eq!(h["authorization"], "Bearer <redacted>");
        assert!(
            h["user-agent"]
                .as_str()
                .unwrap()
                .starts_with("reject-bridge/")
        );
        assert!(uuid::Uuid::parse_str(h["client-request-id"].as_str().unwrap()).is_ok());
    }
    assert_eq!(post["headers"]["content-type"], "application/json");
    assert_ne!(
        calls[1]["headers"]["client-request-id"],
        post["headers"]["client-request-id"]
    );
    let token = &calls[0]["body"];
    assert_eq!(token["grant_type"], "client_credentials");
    assert_eq!(token["scope"], format!("{}/.default", sim.url));

    let stored = sim.request(ID).await;
    assert_eq!(stored["status"], "rejected");
    assert_eq!(stored["approvalJustification"], J);
}

#[tokio::test]
async fn decided_requests_are_not_posted() {
    let sim = Sim::start(&[]);
    sim.seed(json!([
        {"id": "a-approved", "status": "approved"},
        {"id": "a-cancelled", "status": "cancelled"},
        {"id": "a-expired", "status": "expired"},
        {"id": "a-other", "status": "rejected", "approvalJustification": "someone else"},
    ]))
    .await;
    let c = client(&sim);
    for (id, status) in [
        ("a-approved", "approved"),
        ("a-cancelled", "cancelled"),
        ("a-expired", "expired"),
        ("a-other", "rejected"),
    ] {
        assert_eq!(
            c.reject(id, J).await,
            RejectResult::AlreadyDecided {
                status: status.into()
            }
        );
    }
    assert!(sim.calls_to("reject").await.is_empty());
}

#[tokio::test]
async fn already_rejected_with_our_justification_is_ours_only_when_resuming() {
    let sim = Sim::start(&[]);
    sim.seed(json!({"id": ID, "status": "rejected", "approvalJustification": J}))
        .await;
    // After a stop during an earlier attempt: that attempt's POST took effect.
    assert_eq!(
        client(&sim).resume_reject(ID, J).await,
        RejectResult::Rejected
    );
    // A fresh message with the same words: the request was already decided before it.
    assert_eq!(
        client(&sim).reject(ID, J).await,
        RejectResult::AlreadyDecided {
            status: "rejected".into()
        }
    );
    assert!(sim.calls_to("reject").await.is_empty());
}

#[tokio::test]
async fn unknown_request_is_not_found() {
    let sim = Sim::start(&[]);
    assert_eq!(client(&sim).reject(ID, J).await, RejectResult::NotFound);
    assert!(sim.calls_to("reject").await.is_empty());
    let err = client(&sim).status(ID).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
}

#[tokio::test]
async fn permanent_errors_fail_at_once() {
    let sim = Sim::start(&[]);
    pending(&sim).await;
    sim.fault(json!({"endpoint": "get", "kind": "status", "status": 403, "code": "Forbidden", "message": "no permission"}))
        .await;
    match client(&sim).reject(ID, J).await {
        RejectResult::Failed {
            code, retryable, ..
        } => {
            assert_eq!(code, "Forbidden");
            assert!(!retryable);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(endpoints(&sim.calls().await), ["token:200", "get:403"]);
}

#[tokio::test]
async fn transient_errors_give_up_when_the_budget_is_spent() {
    let sim = Sim::start(&[]);
    pending(&sim).await;
    sim.fault(json!({"endpoint": "graph", "kind": "status", "status": 503, "count": 1000}))
        .await;
    let retry = RetryPolicy {
        max_elapsed: Duration::from_millis(300),
        ..fast()
    };
    let started = std::time::Instant::now();
    match client_for(&sim.config(), retry).reject(ID, J).await {
        RejectResult::Failed {
            code, retryable, ..
        } => {
            assert_eq!(code, "ServiceUnavailable");
            assert!(retryable);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(2));
    let gets = sim.calls_to("get").await;
    assert!(gets.len() >= 3, "retried: {}", gets.len());
    assert!(sim.calls_to("reject").await.is_empty());
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let sim = Sim::start(&[]);
    pending(&sim).await;
    sim.fault(json!({"endpoint": "get", "kind": "status", "status": 429, "retry_after": "1"}))
        .await;
    assert_eq!(client(&sim).reject(ID, J).await, RejectResult::Rejected);
    let gets = sim.calls_to("get").await;
    assert_eq!(gets.len(), 2);
    assert_eq!(gets[0]["status"], 429);
    let waited = gets[1]["at_ms"].as_u64().unwrap() - gets[0]["at_ms"].as_u64().unwrap();
    assert!(
        waited >= 1000,
        "retried after {waited} ms, before Retry-After"
    );
}

#[tokio::test]
async fn server_errors_on_the_post_are_retried_after_a_fresh_status() {
    let sim = Sim::start(&[]);
    pending(&sim).await;
    sim.fault(json!({"endpoint": "reject", "kind": "status", "status": 503, "count": 2}))
        .await;
    sim.fault(json!({"endpoint": "get", "kind": "status", "status": 500}))
        .await;
    assert_eq!(client(&sim).reject(ID, J).await, RejectResult::Rejected);
    let graph: Vec<String> = endpoints(&sim.calls().await)
        .into_iter()
        .filter(|e| !e.starts_with("token"))
        .collect();
    assert_eq!(
        graph,
        [
            "get:500",
            "get:200",
            "reject:503",
            "get:200",
            "reject:503",
            "get:200",
            "reject:200"
        ]
    );
}

#[tokio::test]
async fn a_lost_answer_is_checked_not_posted_again() {
    let sim = Sim::start(&[]);
    pending(&sim).await;
    sim.fault(json!({"endpoint": "reject", "kind": "drop_after_apply"}))
        .await;
    assert_eq!(client(&sim).reject(ID, J).await, RejectResult::Rejected);
    let graph: Vec<String> = endpoints(&sim.calls().await)
        .into_iter()
        .filter(|e| !e.starts_with("token"))
        .collect();
    assert_eq!(graph, ["get:200", "reject:200", "get:200"]);
}

#[tokio::test]
async fn a_dropped_connection_before_the_effect_is_retried() {
    let sim = Sim::start(&[]);
    pending(&sim).await;
    sim.fault(json!({"endpoint": "reject", "kind": "drop"}))
        .await;
    assert_eq!(client(&sim).reject(ID, J).await, RejectResult::Rejected);
    let rejects = sim.calls_to("reject").await;
    assert_eq!(rejects.len(), 2);
    assert_eq!(rejects[0]["status"], 0);
    assert_eq!(sim.request(ID).await["approvalJustification"], J);
}

#[tokio::test]
async fn timeouts_are_retried() {
    let sim = Sim::start(&[]);
    pending(&sim).await;
    sim.fault(json!({"endpoint": "get", "kind": "delay", "ms": 900}))
        .await;
    let mut cfg = sim.config();
    cfg.timeout = Duration::from_millis(300);
    assert_eq!(
        client_for(&cfg, fast()).reject(ID, J).await,
        RejectResult::Rejected
    );
    assert_eq!(sim.calls_to("get").await.len(), 2);
}

#[tokio::test]
async fn the_token_is_cached() {
    let sim = Sim::start(&[]);
    sim.seed(json!([{"id": "r1"}, {"id": "r2"}])).await;
    let c = client(&sim);
    assert_eq!(c.reject("r1", J).await, RejectResult::Rejected);
    assert_eq!(c.reject("r2", J).await, RejectResult::Rejected);
    assert_eq!(sim.calls_to("token").await.len(), 1);
}

#[tokio::test]
async fn the_token_is_renewed_before_it_expires_mid_run() {
    let sim = Sim::start(&["--token-lifetime-secs", "2"]);
    sim.seed(json!([{"id": "r1"}, {"id": "r2"}])).await;
    let c = client(&sim);
    assert_eq!(c.reject("r1", J).await, RejectResult::Rejected);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(c.reject("r2", J).await, RejectResult::Rejected);
    let calls = sim.calls().await;
    assert_eq!(sim.calls_to("token").await.len(), 2);
    assert!(
        calls.iter().all(|c| c["status"] != 401),
        "{:?}",
        endpoints(&calls)
    );
}

#[tokio::test]
async fn a_401_fetches_a_new_token_once() {
    let sim = Sim::start(&[]);
    pending(&sim).await;
    sim.fault(json!({"endpoint": "get", "kind": "expire_token"}))
        .await;
    assert_eq!(client(&sim).reject(ID, J).await, RejectResult::Rejected);
    assert_eq!(
        endpoints(&sim.calls().await),
        ["token:200", "get:401", "token:200", "get:200", "reject:200"]
    );
}

#[tokio::test]
async fn a_second_401_is_not_refreshed_again() {
    let sim = Sim::start(&[]);
    pending(&sim).await;
    sim.fault(json!({"endpoint": "get", "kind": "expire_token", "count": 5}))
        .await;
    match client(&sim).reject(ID, J).await {
        RejectResult::Failed {
            code, retryable, ..
        } => {
            assert_eq!(code, "InvalidAuthenticationToken");
            assert!(!retryable);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        endpoints(&sim.calls().await),
        ["token:200", "get:401", "token:200", "get:401"]
    );
}

fn write_certificate(dir: &std::path::Path, key_file: &str, name: &str) -> std::path::PathBuf {
    let key_pem = std::fs::read_to_string(format!(
        "{}/tests/fixtures/graph/{key_file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let key =
        rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&key_pem, &rcgen::PKCS_RSA_SHA256).unwrap();
    let params = rcgen::CertificateParams::new(vec!["reject-bridge.test".into()]).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, params.self_signed(&key).unwrap().pem()).unwrap();
    path
}

fn key_path(file: &str) -> std::path::PathBuf {
    format!("{}/tests/fixtures/graph/{file}", env!("CARGO_MANIFEST_DIR")).into()
}

#[tokio::test]
async fn certificate_credentials_sign_a_ps256_assertion() {
    let dir = tempfile::tempdir().unwrap();
    let cert = write_certificate(dir.path(), "test-key-a.pkcs8.pem", "a.pem");
    let sim = Sim::start(&["--certificate", cert.to_str().unwrap()]);
    pending(&sim).await;
    let cfg = sim.config_with(GraphCredential::Certificate {
        certificate_path: cert.clone(),
        private_key_path: key_path("test-key-a.pkcs1.pem"),
    });
    assert_eq!(
        client_for(&cfg, fast()).reject(ID, J).await,
        RejectResult::Rejected
    );
    let token = &sim.calls_to("token").await[0];
    assert_eq!(token["status"], 200);
    let body = &token["body"];
    assert_eq!(
        body["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    assert!(body.get("client_secret").is_none());
    assert_eq!(body["client_assertion"]["header"]["alg"], "PS256");
    assert!(body["client_assertion"]["header"]["x5t#S256"].is_string());
    let claims = &body["client_assertion"]["claims"];
    assert_eq!(
        claims["aud"],
        format!("{}/{TENANT}/oauth2/v2.0/token", sim.url)
    );
    assert_eq!(claims["iss"], CLIENT_ID);
    assert_eq!(claims["sub"], CLIENT_ID);
}

#[tokio::test]
async fn an_unregistered_certificate_is_a_clear_credentials_error() {
    let dir = tempfile::tempdir().unwrap();
    let registered = write_certificate(dir.path(), "test-key-b.pkcs8.pem", "b.pem");
    let ours = write_certificate(dir.path(), "test-key-a.pkcs8.pem", "a.pem");
    let sim = Sim::start(&["--certificate", registered.to_str().unwrap()]);
    let cfg = sim.config_with(GraphCredential::Certificate {
        certificate_path: ours,
        private_key_path: key_path("test-key-a.pkcs8.pem"),
    });
    let err = client_for(&cfg, fast()).check_token().await.unwrap_err();
    assert!(matches!(err, GraphError::Credentials { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(TENANT) && text.contains(CLIENT_ID), "{text}");
    assert!(text.contains("AADSTS700027"), "{text}");
}

#[tokio::test]
async fn wrong_credentials_name_tenant_and_client_never_the_secret() {
    let sim = Sim::start(&[]);
    pending(&sim).await;
    let wrong = "wrong-s3cret-value";
    let cfg = sim.config_with(GraphCredential::ClientSecret(Secret::new(wrong)));
    let c = client_for(&cfg, fast());
    let err = c.check_token().await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains(TENANT) && text.contains(CLIENT_ID), "{text}");
    assert!(text.contains("AADSTS7000215"), "{text}");
    assert!(!text.contains(wrong) && !text.contains(SECRET), "{text}");
    assert!(!format!("{err:?}").contains(wrong));
    match c.reject(ID, J).await {
        RejectResult::Failed {
            message, retryable, ..
        } => {
            assert!(!retryable);
            assert!(!message.contains(wrong));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        sim.calls_to("token").await.len(),
        2,
        "credentials errors are not retried"
    );

    let mut cfg = sim.config();
    cfg.tenant_id = "other-tenant".into();
    let text = client_for(&cfg, fast())
        .check_token()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("other-tenant") && text.contains("AADSTS90002"),
        "{text}"
    );
    assert!(client(&sim).check_token().await.is_ok());
}

#[tokio::test]
async fn a_national_cloud_is_reached_by_configuration_alone() {
    let sim = Sim::start(&[]);
    pending(&sim).await;
    let port = sim.port;
    let mut cfg = sim.config();
    cfg.base_url = format!("http://graph.microsoft.us:{port}/beta");
    cfg.authority = format!("http://login.microsoftonline.us:{port}");
    cfg.scope = "https://graph.microsoft.us/.default".into();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let c = GraphClient::with_options(
        &cfg,
        GraphOptions {
            retry: fast(),
            resolve: vec![
                ("graph.microsoft.us".into(), addr),
                ("login.microsoftonline.us".into(), addr),
            ],
        },
    )
    .unwrap();
    assert_eq!(c.reject(ID, J).await, RejectResult::Rejected);
    let calls = sim.calls().await;
    assert_eq!(endpoints(&calls), ["token:200", "get:200", "reject:200"]);
    assert_eq!(calls[0]["host"], format!("login.microsoftonline.us:{port}"));
    assert_eq!(calls[0]["path"], format!("/{TENANT}/oauth2/v2.0/token"));
    assert_eq!(
        calls[0]["body"]["scope"],
        "https://graph.microsoft.us/.default"
    );
    for call in &calls[1..] {
        assert_eq!(call["host"], format!("graph.microsoft.us:{port}"));
        assert!(
            call["path"]
                .as_str()
                .unwrap()
                .starts_with("/beta/deviceManagement/operationApprovalRequests/")
        );
    }
}

#[tokio::test]
async fn the_list_follows_next_links() {
    let sim = Sim::start(&["--page-size", "2"]);
    sim.seed(json!([
        {"id": "l1"}, {"id": "l2", "status": "approved"}, {"id": "l3"}, {"id": "l4"}, {"id": "l5"}
    ]))
    .await;
    let c = client(&sim);
    let all = c.list(None).await.unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(sim.calls_to("list").await.len(), 3);
    let pending = c.list(Some("status eq 'needsApproval'")).await.unwrap();
    let ids: Vec<&str> = pending.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["l1", "l3", "l4", "l5"]);
}

/// The simulator is strict where Graph and Entra are, so the client tests above mean something.
mod simulator_strictness {
    use super::*;

    async fn token(sim: &Sim) -> String {
        client(sim)
            .token_for(&format!("{}/.default", sim.url))
            .await
            .unwrap()
            .expose()
            .to_string()
    }

    async fn post_reject(
        sim: &Sim,
        token: &str,
        content_type: Option<&str>,
        accept: Option<&str>,
        body: &str,
    ) -> (u16, Value) {
        let mut r = sim
            .http()
            .post(format!(
                "{}/beta/deviceManagement/operationApprovalRequests/{ID}/reject",
                sim.url
            ))
            .header("Authorization", format!("Bearer {token}"))
            .body(body.to_string());
        if let Some(ct) = content_type {
            r = r.header("Content-Type", ct);
        }
        if let Some(a) = accept {
            r = r.header("Accept", a);
        }
        let answer = r.send().await.unwrap();
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn reject_requests_are_checked_like_graph() {
        let sim = Sim::start(&[]);
        pending(&sim).await;
        let t = token(&sim).await;
        let ok = r#"{"justification":"x","approvalSource":"email"}"#;
        let json = Some("application/json");
        let cases = [
            (
                t.as_str(),
                json,
                json,
                r#"{"justification":"x","approvalSource":"email","extra":1}"#,
                400,
            ),
            (t.as_str(), json, json, r#"{"justification":"x"}"#, 400),
            (
                t.as_str(),
                json,
                json,
                r#"{"justification":"x","approvalSource":"fax"}"#,
                400,
            ),
            (t.as_str(), Some("text/plain"), json, ok, 415),
            (t.as_str(), None, json, ok, 415),
            (t.as_str(), json, Some("text/html"), ok, 406),
            ("not-a-token", json, json, ok, 401),
        ];
        for (token, ct, accept, body, want) in cases {
            let (status, answer) = post_reject(&sim, token, ct, accept, body).await;
            assert_eq!(status, want, "{body} {ct:?} {accept:?}: {answer}");
            assert!(answer["error"]["code"].is_string(), "{answer}");
            assert!(
                answer["error"]["innerError"]["request-id"].is_string(),
                "{answer}"
            );
        }
        assert_eq!(sim.request(ID).await["status"], "needsApproval");

        let (status, _) = post_reject(&sim, &t, json, Some("application/json"), ok).await;
        assert_eq!(status, 200);
        let (status, answer) = post_reject(&sim, &t, json, Some("application/json"), ok).await;
        assert_eq!(
            status, 400,
            "a decided request cannot be rejected: {answer}"
        );

        sim.http()
            .post(format!("{}/_sim/tokens/expire", sim.url))
            .send()
            .await
            .unwrap();
        let (status, answer) = post_reject(&sim, &t, json, json, ok).await;
        assert_eq!(status, 401);
        assert_eq!(answer["error"]["code"], "InvalidAuthenticationToken");
    }

    #[tokio::test]
    async fn token_requests_are_checked_like_entra() {
        let sim = Sim::start(&[]);
        let url = |tenant: &str| format!("{}/{tenant}/oauth2/v2.0/token", sim.url);
        let scope = format!("{}/.default", sim.url);
        let cases = [
            ("nope", CLIENT_ID, SECRET, scope.as_str(), 400, 90002),
            (TENANT, "other-client", SECRET, scope.as_str(), 400, 700016),
            (TENANT, CLIENT_ID, "bad", scope.as_str(), 401, 7000215),
            (TENANT, CLIENT_ID, SECRET, "User.Read", 400, 1002012),
        ];
        for (tenant, client_id, secret, scope, want, aadsts) in cases {
            let answer = sim
                .http()
                .post(url(tenant))
                .form(&[
                    ("client_id", client_id),
                    ("client_secret", secret),
                    ("scope", scope),
                    ("grant_type", "client_credentials"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status().as_u16(), want);
            let body: Value = answer.json().await.unwrap();
            assert_eq!(body["error_codes"][0], aadsts, "{body}");
            assert!(
                body["error_description"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("AADSTS{aadsts}:"))
            );
        }
    }

    #[tokio::test]
    async fn rs256_assertions_with_x5t_are_accepted_too() {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let dir = tempfile::tempdir().unwrap();
        let cert = write_certificate(dir.path(), "test-key-a.pkcs8.pem", "a.pem");
        let sim = Sim::start(&["--certificate", cert.to_str().unwrap()]);
        let pem = std::fs::read(&cert).unwrap();
        let der = x509_parser::pem::Pem::iter_from_buffer(&pem)
            .next()
            .unwrap()
            .unwrap()
            .contents;
        let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &der);
        let key_pem = std::fs::read(key_path("test-key-a.pkcs8.pem")).unwrap();
        let key_der = x509_parser::pem::Pem::iter_from_buffer(&key_pem)
            .next()
            .unwrap()
            .unwrap()
            .contents;
        let key = ring::signature::RsaKeyPair::from_pkcs8(&key_der).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let aud = format!("{}/{TENANT}/oauth2/v2.0/token", sim.url);
        let sign = |alg_ok: bool| {
            let header =
                json!({"alg": "RS256", "typ": "JWT", "x5t": URL_SAFE_NO_PAD.encode(sha1.as_ref())});
            let claims = json!({"aud": aud, "iss": CLIENT_ID, "sub": CLIENT_ID, "jti": uuid::Uuid::new_v4().to_string(), "nbf": now, "exp": now + 600});
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let mut sig = vec![0; key.public().modulus_len()];
            key.sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .unwrap();
            if !alg_ok {
                sig[0] ^= 1;
            }
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
        };
        for (good, want) in [(true, 200), (false, 401)] {
            let assertion = sign(good);
            let answer = sim
                .http()
                .post(&aud)
                .form(&[
                    ("client_id", CLIENT_ID),
                    ("scope", &format!("{}/.default", sim.url)),
                    ("grant_type", "client_credentials"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &assertion),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status().as_u16(), want);
        }
    }
}

#[tokio::test]
async fn the_seed_file_is_loaded_and_reset_returns_to_it() {
    let seed = format!(
        "{}/tests/fixtures/graph/seed.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let sim = Sim::start(&["--seed", &seed]);
    let first = "6a1b2c3d-0000-4000-8000-000000000001";
    assert_eq!(sim.request(first).await["status"], "needsApproval");
    assert_eq!(client(&sim).reject(first, J).await, RejectResult::Rejected);
    assert_eq!(
        client(&sim)
            .reject("6a1b2c3d-0000-4000-8000-000000000002", J)
            .await,
        RejectResult::AlreadyDecided {
            status: "approved".into()
        }
    );
    sim.http()
        .post(format!("{}/_sim/reset", sim.url))
        .send()
        .await
        .unwrap();
    assert_eq!(sim.request(first).await["status"], "needsApproval");
    assert!(sim.calls().await.is_empty());
}
