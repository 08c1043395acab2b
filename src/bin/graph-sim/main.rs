//! `graph-sim`: a faithful, strict stand-in for Entra ID's token endpoint and Microsoft Graph's
//! Intune `operationApprovalRequests`, with fault injection, for tests, CI and demos. Plain HTTP on
//! loopback; nothing here is used by the product at run time.
//!
//! # Command line
//! ```text
//! graph-sim --listen 127.0.0.1:0        address to bind (port 0: any free port)
//!           [--seed FILE.json]          requests to start with: a list, or {"requests": [...]},
//!                                       with "users", "groups", "policies" beside (the
//!                                       directory, see [`directory`])
//!           [--certificate PEM]...      registered certificate credentials (client assertions)
//!           [--client-secret S]         the app's secret (default "sim-secret" when no
//!                                       --certificate is given; none otherwise)
//!           [--tenant T]                default "sim-tenant"
//!           [--client-id C]             default "sim-client"
//!           [--token-lifetime-secs N]   expires_in of issued tokens (default 3599)
//!           [--page-size N]             the most items per page of a collection (default
//!                                       100; `$top` may ask for fewer)
//!           [--any-audience]            accept a token on any host (normally its scope's
//!                                       host must be the Host it is used on)
//!           [--mailbox-user ADDR]       the mailbox the app may open with IMAP/SMTP XOAUTH2
//!                                       (as Exchange's Add-MailboxPermission grants it)
//!           [--mail-scope SCOPE]        the scope such tokens must carry (default
//!                                       https://outlook.office365.com/.default)
//!           [--decisions delegated-only|any]  who may approve/reject: only user (delegated)
//!                                       tokens, as Intune documents (default), or apps too
//!           [--confidential-only]       "Allow public client flows" off: delegated grants
//!                                       need the app's secret or certificate
//!           [--device-code-interval-secs N] [--device-code-lifetime-secs N]  (5, 900)
//!           [--redirect-uri URL]...     registered redirect URIs (loopback: any port)
//!           [--user-password P]         every directory user's password on the sign-in
//!                                       page (default sim-password)
//! ```
//! The first line on stdout is `listening on http://ADDR:PORT`; logs go to stderr
//! (`GRAPH_SIM_LOG=debug` for more). SIGINT/SIGTERM stop it.
//!
//! Point the bridge at it with `graph.base_url = "http://ADDR:PORT/beta"`,
//! `graph.authority = "http://ADDR:PORT"`, `graph.tenant_id`/`client_id`/`client_secret` as above
//! (the default scope, `http://ADDR:PORT/.default`, is then right).
//!
//! # What it simulates
//! - `POST /{tenant}/oauth2/v2.0/token` ([`entra`]): client credentials with `client_secret`, or
//!   `client_assertion` (PS256 or RS256, certificate found by `x5t#S256` or `x5t`, `aud` = this
//!   URL, `iss` = `sub` = client id, `exp`/`nbf` with 5 minutes of skew, `jti` never reused);
//!   the scope must be `<resource>/.default`. Refusals are Entra's AADSTS JSON with 400/401.
//! - Delegated sign-ins ([`delegated`]): `POST /{tenant}/oauth2/v2.0/devicecode`, the device code
//!   and refresh token grants (rotation; revocation ends earlier refresh tokens), `id_token`s;
//!   ([`authorize`]) `GET|POST /{tenant}/oauth2/v2.0/authorize`, a sign-in page for the
//!   directory's users, and the authorization code grant with PKCE (S256).
//! - Graph ([`api`]): `GET .../operationApprovalRequests[/{id}]`, `POST .../{id}/reject`,
//!   `GET .../operationApprovalPolicies[/{id}]`, `GET /groups/{id}/transitiveMembers[/microsoft.graph.user]`,
//!   `GET /users/{id}`, under `/beta` or `/v1.0`, with Graph's strictness on headers and body
//!   (see that module). With `--decisions delegated-only` a reject with an application token is
//!   403; a delegated reject records its user as the request's `approver`, and the requester
//!   cannot decide their own.
//!
//! # Admin API (`/_sim/`, no authentication)
//! | call | does |
//! |---|---|
//! | `POST /_sim/requests` | add or replace requests: one object, a list, or `{"requests": [...]}`; each needs `id`; missing properties get defaults (`status` `needsApproval`, dates, requestor) |
//! | `GET /_sim/requests`, `GET /_sim/requests/{id}` | the stored requests (404 when unknown) |
//! | `POST /_sim/requests/{id}/{action}` | what happens outside the bridge: `approve` / `reject` (in the Intune admin center; body `{"by": "<user id>", "justification": "…"}`, both optional), `cancel` (the requester withdraws it), `expire`, `complete` (an approved one was carried out); 409 when the request is not in the status the action needs |
//! | `POST /_sim/directory` | add or replace `users`, `groups`, `policies` (and `requests`) by ID ([`directory`] shows the shapes); refused as a whole when a group member is unknown |
//! | `GET /_sim/directory`, `GET /_sim/directory/users/{id}/groups` | the directory; the groups a user belongs to, transitively |
//! | `POST /_sim/faults` | queue faults (object or list), used in order by the next matching calls |
//! | `GET /_sim/faults`, `DELETE /_sim/faults` | the faults still queued; drop them all |
//! | `GET /_sim/calls` | every call: `seq`, `at_ms` (since start), `method`, `path`, `endpoint` (`token`/`get`/`reject`/`list`/`other`), `id`, `host`, `headers` (accept, content-type, client-request-id, user-agent, authorization scheme only), `body` (JSON; token forms with the secret and assertion signature redacted, the assertion's header and claims decoded), `status` (0 = no answer sent: dropped, or the client gave up first), `fault` |
//! | `POST /_sim/tokens/expire` | every issued token expires now |
//! | `POST /_sim/reset` | back to the seed: no faults, calls or tokens |
//! | `GET /_sim/devicecodes` | device codes waiting for a user: `user_code`, `scopes` |
//! | `POST /_sim/devicecodes/approve` | the user's browser: `{"user_code", "user": {"id", "userPrincipalName", "displayName"}}` signs in, `{"user_code", "deny": true}` declines |
//! | `POST /_sim/devicecodes/expire` | every pending device code expires |
//! | `GET /_sim/secrets` | every refresh and access token issued (tests prove none leaked) |
//! | `POST /_sim/users/{id}/revokeSignInSessions` | the user's refresh tokens issued so far are revoked (`invalid_grant`) |
//! | `POST /_sim/users/{id}/requireInteraction` | the user's refreshes answer `interaction_required` until a new sign-in |
//! | `POST /_sim/introspect` | RFC 7662 token introspection (form `token=…`) for a mail server standing in for Exchange Online (Dovecot's `passdb { driver = oauth2 }` with `introspection_mode = post`): `{"active": true, "username": <--mailbox-user>, "scope", "client_id", "exp"}` for a live token issued for `--mail-scope`, else `{"active": false}`; not recorded in `/_sim/calls` |
//!
//! A fault: `{"endpoint": "any|graph|token|get|reject|list|policies|directory", "id": "…"
//! (optional: a request, policy, group or user ID), "count": 1,
//! "kind": …}` with `kind` one of
//! - `"status"`, `"status": 429`, optional `"retry_after": "2"` (header value as given, seconds
//!   or HTTP-date), `"code"` (Graph's code; on the token endpoint an AADSTS number, or the OAuth
//!   error itself such as `"slow_down"`), `"message"`: answer with that error, apply nothing;
//! - `"delay"`, `"ms": 1500`: wait, then answer normally (client timeouts);
//! - `"drop"`: close the connection without answering, apply nothing;
//! - `"drop_after_apply"`: apply the call (a reject takes effect), then close without answering;
//! - `"delay_after_apply"`, `"ms": 1500`: apply the call, then wait before answering (a client
//!   killed meanwhile never learns that its reject took effect; the call keeps its status; on the
//!   token endpoint a plain delay);
//! - `"expire_token"`: every issued token expires, then the call is handled (so it gets 401).
//!
//! Example:
//! ```text
//! curl -s -XPOST localhost:PORT/_sim/requests -d '{"id":"6a1b…","status":"needsApproval"}' -H 'content-type: application/json'
//! curl -s -XPOST localhost:PORT/_sim/faults -d '{"endpoint":"reject","kind":"status","status":429,"retry_after":"1"}' -H 'content-type: application/json'
//! ```
//!
//! # Layout
//! This file: the router (which handler answers which path) and the start. Beside it:
//! `args.rs` (the command line into a starting state), `state/` (the simulator's memory:
//! settings, requests, faults, the call record), `entra/` (the token and device code endpoints,
//! one function per grant type), `delegated.rs` and `authorize.rs` (user sign-ins: device code,
//! refresh tokens, the authorization code page), `api/` (the Graph endpoints: routing, the
//! checks every call passes, requests, reject, directory objects, faults), `directory.rs` (users,
//! groups, policies as data), `admin.rs` (`/_sim/`), `net.rs` (the listener and its kill switch).

mod admin;
mod api;
mod args;
mod authorize;
mod delegated;
mod directory;
mod entra;
mod net;
mod state;

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{any, get, post};
use clap::Parser;
use tokio::io::AsyncWriteExt;

use args::Args;

fn router(sim: state::Shared) -> Router {
    Router::new()
        .route(
            "/_sim/requests",
            post(admin::put_requests).get(admin::list_requests),
        )
        .route("/_sim/requests/{id}", get(admin::get_request))
        .route("/_sim/requests/{id}/{action}", post(admin::change_request))
        .route(
            "/_sim/directory",
            post(admin::put_directory).get(admin::get_directory),
        )
        .route("/_sim/directory/users/{id}/groups", get(admin::user_groups))
        .route(
            "/_sim/faults",
            post(admin::add_faults)
                .get(admin::list_faults)
                .delete(admin::clear_faults),
        )
        .route("/_sim/calls", get(admin::calls))
        .route("/_sim/tokens/expire", post(admin::expire_tokens))
        .route("/_sim/reset", post(admin::reset))
        .route("/_sim/introspect", post(admin::introspect))
        .route("/_sim/devicecodes", get(delegated::pending))
        .route("/_sim/devicecodes/approve", post(delegated::approve))
        .route("/_sim/devicecodes/expire", post(delegated::expire))
        .route("/_sim/secrets", get(delegated::secrets))
        .route(
            "/_sim/users/{id}/revokeSignInSessions",
            post(delegated::revoke),
        )
        .route(
            "/_sim/users/{id}/requireInteraction",
            post(delegated::require_interaction),
        )
        .route("/{tenant}/oauth2/v2.0/token", any(entra::token))
        .route("/{tenant}/oauth2/v2.0/devicecode", any(entra::devicecode))
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(authorize::page).post(authorize::sign_in),
        )
        .fallback(api::graph)
        .with_state(sim)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

fn init_logging() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GRAPH_SIM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logging();
    let args = Args::parse();
    let state = match args.state() {
        Ok(s) => s,
        Err(problems) => return report(problems),
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => return report(vec![format!("--listen {}: {e}", args.listen)]),
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => return report(vec![format!("--listen {}: {e}", args.listen)]),
    };
    let mut stdout = tokio::io::stdout();
    let _ = stdout
        .write_all(format!("listening on http://{addr}\n").as_bytes())
        .await;
    let _ = stdout.flush().await;
    tracing::info!(%addr, tenant = %args.tenant, client_id = %args.client_id, "graph-sim ready");

    let app = router(Arc::new(Mutex::new(state)));
    let served = axum::serve(
        net::SimListener(listener),
        app.into_make_service_with_connect_info::<net::Conn>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(vec![format!("serving failed: {e}")]),
    }
}

fn report(problems: Vec<String>) -> ExitCode {
    for p in problems {
        eprintln!("graph-sim: {p}");
    }
    ExitCode::from(2)
}
