//! `[web]` and `[metrics]`: the two HTTP endpoints the service may listen on. `[web]` is the
//! linking endpoint of `graph.act_as = "approver"` ([`crate::web`]); `[metrics]` serves
//! `/metrics` and `/healthz` ([`crate::metrics`]) and is off unless `listen` is set.

use std::time::Duration;

use super::fields::Fields;
use super::graph::ActAs;
use super::values::is_loopback;

/// `[web]`: the linking endpoint of `graph.act_as = "approver"` (validated now, built later).
#[derive(Clone, Debug, Default)]
pub struct WebConfig {
    pub listen: Option<std::net::SocketAddr>,
    pub public_url: Option<String>,
    pub link_ttl: Duration,
}

#[derive(Clone, Debug, Default)]
pub struct MetricsConfig {
    /// Where to serve `/metrics` and `/healthz` over plain HTTP; `None` (the default): no endpoint.
    pub listen: Option<std::net::SocketAddr>,
}

/// Reads and checks `[web]`; `act_as` is `graph.act_as` (`"approver"` needs `public_url`).
pub(super) fn build_web(f: &mut Fields<'_>, act_as: ActAs) -> WebConfig {
    let web_listen = f.str("web", "listen", "127.0.0.1:8443");
    let web_listen = match web_listen.trim().parse::<std::net::SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            f.err(
                "web",
                "listen",
                format!("not a socket address \"{web_listen}\": write IP:port"),
            );
            None
        }
    };
    let public_url = f
        .opt_str("web", "public_url")
        .filter(|u| !u.trim().is_empty());
    if let Some(u) = &public_url {
        match reqwest::Url::parse(u.trim()) {
            Ok(url) if url.scheme() == "https" => {}
            Ok(url) if url.scheme() == "http" && url.host_str().is_some_and(is_loopback) => {}
            _ => f.err(
                "web",
                "public_url",
                format!("must be an https:// URL (http:// only on loopback), not \"{u}\""),
            ),
        }
    }
    if act_as == ActAs::Approver && public_url.is_none() {
        f.err(
            "web",
            "public_url",
            "is required with graph.act_as = \"approver\" (approvers open links to it)",
        );
    }
    let link_ttl = f.int("web", "link_ttl_mins", 30, 1, 24 * 60);
    WebConfig {
        listen: web_listen,
        public_url: public_url.map(|u| u.trim().trim_end_matches('/').to_string()),
        link_ttl: Duration::from_secs(link_ttl as u64 * 60),
    }
}

/// Reads and checks `[metrics]`: `listen` empty (the default) turns the endpoint off.
pub(super) fn build_metrics(f: &mut Fields<'_>) -> MetricsConfig {
    let listen = f.str("metrics", "listen", "");
    let listen = listen.trim();
    let metrics_listen = if listen.is_empty() {
        None
    } else {
        match listen.parse::<std::net::SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                f.err(
                    "metrics",
                    "listen",
                    format!(
                        "not a socket address \"{listen}\": write IP:port, e.g. \"127.0.0.1:9464\" or \"[::1]:9464\" (empty turns the endpoint off)"
                    ),
                );
                None
            }
        }
    };
    MetricsConfig {
        listen: metrics_listen,
    }
}
