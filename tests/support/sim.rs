//! Starts the `graph-sim` binary for a test and talks to its `/_sim/` admin API; builds a
//! `GraphConfig` pointing at it.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use reject_bridge::config::{ActAs, GraphAuth, GraphConfig, GraphCredential};
use reject_bridge::secret::Secret;
use serde_json::Value;

pub const TENANT: &str = "tenant-1";
pub const CLIENT_ID: &str = "client-1";
pub const SECRET: &str = "s3cret-value-never-printed";

pub struct Sim {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub port: u16,
    http: reqwest::Client,
}

impl Sim {
    /// A simulator on a free port with tenant [`TENANT`], client [`CLIENT_ID`], secret
    /// [`SECRET`] (unless `extra` names a credential) and `extra` flags. Application tokens may
    /// decide here (`--decisions any`, a tenant where app-only works) unless `extra` says
    /// otherwise; the delegated tests use [`Sim::start_delegated`].
    pub fn start(extra: &[&str]) -> Sim {
        let mut args = vec![
            "--listen",
            "127.0.0.1:0",
            "--tenant",
            TENANT,
            "--client-id",
            CLIENT_ID,
        ];
        if !extra.contains(&"--certificate") && !extra.contains(&"--client-secret") {
            args.extend(["--client-secret", SECRET]);
        }
        if !extra.contains(&"--decisions") {
            args.extend(["--decisions", "any"]);
        }
        args.extend(extra);
        Self::spawn(&args)
    }

    /// A simulator that behaves as Intune documents (only users decide), with quick device code
    /// polling, plus `extra` flags.
    pub fn start_delegated(extra: &[&str]) -> Sim {
        let mut args = vec![
            "--decisions",
            "delegated-only",
            "--device-code-interval-secs",
            "1",
        ];
        args.extend(extra);
        Self::start(&args)
    }

    /// A simulator started with exactly `args`; waits for its `listening on URL` line.
    pub fn spawn(args: &[&str]) -> Sim {
        let mut child = Command::new(env!("CARGO_BIN_EXE_graph-sim"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start graph-sim");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("first line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                panic!(
                    "graph-sim {args:?} did not start listening (address taken by another test \
                     run?): {line:?}"
                )
            })
            .to_string();
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        let _ = rustls::crypto::ring::default_provider().install_default();
        Sim {
            child,
            _stdout: stdout,
            url,
            port,
            http: reqwest::Client::new(),
        }
    }

    /// A config for this simulator with the client secret.
    pub fn config(&self) -> GraphConfig {
        self.config_with(GraphCredential::ClientSecret(Secret::new(SECRET)))
    }

    pub fn config_with(&self, credential: GraphCredential) -> GraphConfig {
        GraphConfig {
            base_url: format!("{}/beta", self.url),
            authority: self.url.clone(),
            tenant_id: TENANT.into(),
            client_id: CLIENT_ID.into(),
            auth: GraphAuth::ClientCredentials,
            credential: Some(credential),
            scope: format!("{}/.default", self.url),
            delegated_scopes: vec![format!(
                "{}/DeviceManagementConfiguration.ReadWrite.All",
                self.url
            )],
            keepalive: Duration::from_secs(24 * 3600),
            act_as: ActAs::ServiceAccount,
            retry_max: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
            request_id_pattern: regex::Regex::new("x").unwrap(),
            justification_template: String::new(),
        }
    }

    /// POSTs `body` to the admin path `path` (`/_sim/…`); fails unless it succeeds.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .expect("admin call");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }

    pub async fn seed(&self, requests: Value) {
        self.post("/_sim/requests", requests).await;
    }

    pub async fn fault(&self, fault: Value) {
        self.post("/_sim/faults", fault).await;
    }

    /// GETs the admin path `path` (`/_sim/…`) as JSON.
    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        self.http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Every call the simulator received, in order.
    pub async fn calls(&self) -> Vec<Value> {
        self.get("/_sim/calls").await
    }

    /// The calls to one endpoint (`token`, `get`, `reject`, `list`, `other`).
    pub async fn calls_to(&self, endpoint: &str) -> Vec<Value> {
        self.calls()
            .await
            .into_iter()
            .filter(|c| c["endpoint"] == endpoint)
            .collect()
    }

    /// The simulator's record of request `id`.
    pub async fn request(&self, id: &str) -> Value {
        self.get(&format!("/_sim/requests/{id}")).await
    }

    /// A raw client for strictness tests.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
