//! The `graph` line: with `graph.auth = "delegated"`, the stored sign-in refreshed (who, since
//! when, which scopes) and whether that user is in an approver group of the MAA policies (where
//! readable); with client credentials, a token for `graph.scope` and a test decision on a request
//! that cannot exist (the nil GUID); with `graph.act_as = "approver"`, how many approvers linked
//! their account. With `--request ID`, a GET of that request, its status, and who will decide it.
//! Also the OAuth token the `imap` and `smtp` lines log in with (XOAUTH2), and Graph's errors in
//! words.

use super::network_cause;
use crate::config::{ActAs, Config, GraphAuth};
use crate::graph::{GraphClient, GraphError};
use crate::secret::Secret;

/// A token for `scope` (XOAUTH2 for IMAP or SMTP) from Graph's token source; the error in words.
pub(super) async fn mail_token(graph: Option<&GraphClient>, scope: &str) -> Result<Secret, String> {
    let Some(graph) = graph else {
        return Err(format!(
            "no OAuth token for {scope}: the Graph client could not be set up (see the graph line)"
        ));
    };
    graph.token_for(scope).await.map_err(|e| {
        let authority = graph_host(Some(graph.tokens().token_url()));
        format!(
            "no OAuth token for {scope}: {}",
            graph_words(&e, &authority)
        )
    })
}

/// Host and port of a URL, for messages.
fn graph_host(url: Option<&str>) -> (String, u16) {
    url.and_then(|u| reqwest::Url::parse(u).ok())
        .and_then(|u| Some((u.host_str()?.to_string(), u.port_or_known_default()?)))
        .unwrap_or_else(|| ("the server".into(), 443))
}

pub(super) fn graph_words(e: &GraphError, (host, port): &(String, u16)) -> String {
    let (host, port) = (host.as_str(), *port);
    match e {
        GraphError::Transport { what, message } => network_cause(message, host, port)
            .map(|c| format!("{what}: {c}"))
            .or_else(|| crate::tls::describe(e).map(|t| format!("TLS with {host}: {t}")))
            .unwrap_or_else(|| e.to_string()),
        GraphError::Api {
            status: 403,
            code,
            message,
            ..
        } => format!(
            "missing permission (403 {code}): the app lacks the Graph application permission for Intune operationApprovalRequests, or admin consent was not granted (see docs/production.md); Graph said: {message}"
        ),
        GraphError::Api {
            status: 401,
            code,
            message,
            ..
        } => format!(
            "Graph refused the token (401 {code}): check graph.tenant_id, graph.scope and graph.base_url (same cloud); Graph said: {message}"
        ),
        other => other.to_string(),
    }
}

pub(super) async fn check_graph(
    config: &Config,
    graph: Result<&GraphClient, &GraphError>,
    request: Option<&str>,
) -> Result<String, String> {
    let g = &config.graph;
    let graph = graph.map_err(|e| e.to_string())?;
    let login_host = graph_host(Some(&g.authority));
    let api_host = graph_host(Some(&g.base_url));
    if g.act_as == ActAs::Approver {
        return Ok(check_approvers(config));
    }
    let (mut text, who) = match g.auth {
        GraphAuth::Delegated => check_signin(config, graph).await?,
        GraphAuth::ClientCredentials => {
            graph
                .check_token()
                .await
                .map_err(|e| graph_words(&e, &login_host))?;
            // Microsoft documents that applications cannot decide MAA requests: find out.
            match graph.probe_decision().await {
                Ok(()) => {}
                Err(e) if e.status() == Some(403) => {
                    return Err(format!(
                        "token ok, but Intune refuses decisions made by an application (403 {}): only interactive admin accounts can approve or reject; set graph.auth = \"delegated\" and run `{}` as a service account in the approver group (docs/production.md)",
                        e.code(),
                        crate::graph::signin::login_command(config)
                    ));
                }
                Err(e) => {
                    return Err(format!(
                        "token ok, but a test decision failed: {}",
                        graph_words(&e, &api_host)
                    ));
                }
            }
            (
                format!(
                    "token for {} from {} (tenant {}, client {}); application decisions accepted",
                    g.scope, login_host.0, g.tenant_id, g.client_id
                ),
                format!("the application {}", g.client_id),
            )
        }
    };
    if let Some(id) = request {
        match graph.status(id).await {
            Ok(status) => text.push_str(&format!(
                ", request {id} read: status {}; decisions are made as {who}",
                status.status
            )),
            Err(e) if e.status() == Some(404) => {
                return Err(format!(
                    "token ok, but request {id} was not found (404): no such operationApprovalRequest in this tenant"
                ));
            }
            Err(e) => {
                return Err(format!(
                    "token ok, but reading request {id} failed: {}",
                    graph_words(&e, &api_host)
                ));
            }
        }
    }
    Ok(text)
}

/// `graph.act_as = "approver"`: how many approvers linked their account, and where they link.
fn check_approvers(config: &Config) -> String {
    let linked = crate::graph::signin::approvers::list(config).unwrap_or_default();
    let lost = linked.iter().filter(|a| a.health != "ok").count();
    format!(
        "decisions are made with each approver's own account (graph.act_as = \"approver\"): {} linked{}; unlinked approvers get a link to {}/link/…",
        linked.len(),
        if lost > 0 {
            format!(" ({lost} with a lost sign-in: a fresh link on their next reply)")
        } else {
            String::new()
        },
        config.web.public_url.as_deref().unwrap_or_default()
    )
}

/// `graph.auth = "delegated"`: who is signed in, since when, with which scopes, and whether
/// that user is in an approver group of the MAA policies. Returns the line and who decides.
async fn check_signin(config: &Config, graph: &GraphClient) -> Result<(String, String), String> {
    let login = crate::graph::signin::login_command(config);
    let Some(signin) = graph.signin() else {
        return Err(format!(
            "no sign-in stored (no journal at {}): run `{login}`",
            config.state.path.display()
        ));
    };
    if let Err(e) = graph.check_token().await {
        return Err(match e {
            GraphError::SignIn { reason } => {
                format!("no usable sign-in: the delegated sign-in {reason}; run `{login}`")
            }
            other => graph_words(&other, &graph_host(Some(&config.graph.authority))),
        });
    }
    let stored = signin.stored().await.ok().flatten();
    let user = stored
        .as_ref()
        .and_then(|s| s.username.clone())
        .unwrap_or_else(|| "(unknown user)".into());
    let mut text = format!("signed in as {user}");
    if let Some(s) = &stored {
        if let Some(name) = &s.display_name {
            text.push_str(&format!(" ({name})"));
        }
        text.push_str(&format!(
            ", last refreshed {}, scopes: {}",
            s.refreshed_at,
            s.scopes.join(" ")
        ));
    }
    let policies = graph
        .get_json("deviceManagement/operationApprovalPolicies")
        .await;
    let groups = graph.get_json("me/transitiveMemberOf").await;
    membership(&mut text, &user, policies, groups)?;
    Ok((text, user))
}

/// Whether `user` is in an approver group of the MAA policies, from the policies and the user's
/// groups as Graph listed them: said at the end of `text`, or the failing line when it is in none.
fn membership(
    text: &mut String,
    user: &str,
    policies: Result<serde_json::Value, GraphError>,
    groups: Result<serde_json::Value, GraphError>,
) -> Result<(), String> {
    match (policies, groups) {
        (Ok(p), Ok(g)) => {
            let approver_groups: Vec<String> = p["value"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|p| p["approverGroupIds"].as_array().cloned().unwrap_or_default())
                .filter_map(|id| id.as_str().map(str::to_lowercase))
                .collect();
            let mine: Vec<(String, String)> = g["value"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|g| {
                    let id = g["id"].as_str()?.to_lowercase();
                    let name = g["displayName"].as_str().unwrap_or(&id).to_string();
                    Some((id, name))
                })
                .collect();
            let member: Vec<&str> = mine
                .iter()
                .filter(|(id, _)| approver_groups.contains(id))
                .map(|(_, name)| name.as_str())
                .collect();
            if approver_groups.is_empty() {
                text.push_str("; no MAA policy names an approver group");
            } else if member.is_empty() {
                return Err(format!(
                    "{text}; but {user} is in none of the approver groups of the MAA policies: Intune will refuse its decisions; add it to an approver group"
                ));
            } else {
                text.push_str(&format!("; member of approver group {}", member.join(", ")));
            }
        }
        (Err(e), _) | (_, Err(e)) => text.push_str(&format!(
            "; approver groups not checked ({}: the sign-in may lack DeviceManagementRBAC.Read.All or GroupMember.Read.All)",
            e.code()
        )),
    }
    Ok(())
}
