//! The linking endpoint of `graph.act_as = "approver"` (`[web] listen`, reached at
//! `web.public_url`): where an approver, following the one-time link mailed to them, signs in
//! with their own Microsoft account so that the bridge can reject in their name.
//!
//! - `GET /link/{token}`: a valid, unused, unexpired link starts one authorization code round
//!   trip: a fresh `state` and PKCE verifier (sealed in the journal), then a redirect to Entra's
//!   authorize endpoint with the approver's address as the login hint.
//! - `GET /callback?code&state`: Entra sends the browser back; the code is redeemed with the
//!   verifier, and the account that signed in must be the approver the link was mailed to
//!   (`preferred_username` or `email`, ASCII case folding), otherwise nothing is stored. Then the
//!   refresh token is sealed and stored (journal account `approver:<address>`), the link is used
//!   up, and the service is woken so the held rejection goes out at once.
//!
//! Pages are small, accessible HTML with the product's look and no script; each failure (unknown
//! or used link, expired link, wrong account, consent denied, Entra's error) has its own page that
//! says what to do. Responses are never cached and send no referrer (the link holds a secret).
//! Serve it behind HTTPS: `web.public_url` must be `https://` unless it is on loopback.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tokio::sync::Notify;

use crate::config::Config;
use crate::graph::signin::approvers::{self, Approvers};
use crate::graph::signin::vault::Key;
use crate::graph::signin::{Identity, store};
use crate::journal::{Journal, Link};
use crate::secret::Secret;

/// What the handlers share.
#[derive(Clone)]
pub struct Web {
    pub config: Arc<Config>,
    pub journal: Arc<Journal>,
    pub http: reqwest::Client,
    pub approvers: Arc<Approvers>,
    /// Woken when an approver linked: their held rejections can go out now.
    pub wake: Arc<Notify>,
}

/// The endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[error(
    "web.listen: cannot listen on {addr}: {source}; choose a free address for the linking endpoint"
)]
pub struct WebError {
    addr: SocketAddr,
    source: std::io::Error,
}

/// Starts the endpoint on `web.listen`; returns the address it listens on.
pub async fn start(web: Web) -> Result<SocketAddr, WebError> {
    let addr = web
        .config
        .web
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8443)));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| WebError { addr, source })?;
    let local = listener.local_addr().unwrap_or(addr);
    let app = router(web);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the linking endpoint stopped");
        }
    });
    tracing::info!(listen = %local, "linking endpoint listening (/link, /callback)");
    Ok(local)
}

pub fn router(web: Web) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/link/{token}", get(open_link))
        .route("/callback", get(callback))
        .with_state(web)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// One page: a heading and paragraphs (plain text, escaped here).
fn page(status: StatusCode, title: &str, paragraphs: &[String]) -> Response {
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<p>{}</p>\n", escape(p)))
        .collect();
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t} · reject-bridge</title></head>\n\
<body style=\"font-family: Segoe UI, Helvetica, Arial, sans-serif; font-size: 16px; color: #222; max-width: 36em; margin: 3em auto; padding: 0 1em;\">\n\
<main><h1 style=\"font-size: 1.4em;\">{t}</h1>\n{body}</main>\n\
<footer style=\"color: #666; font-size: 0.85em; margin-top: 2em;\">reject-bridge: rejections of Intune Multi Admin Approval requests by e-mail</footer>\n</body>\n</html>\n",
        t = escape(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        html,
    )
        .into_response()
}

fn oops(e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "linking endpoint: internal error");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        &[
            "The bridge could not finish this step. Open the link from your e-mail again in a few minutes; if it keeps failing, tell your Intune administrators.".into(),
        ],
    )
}

async fn home() -> Response {
    page(
        StatusCode::OK,
        "reject-bridge",
        &["Open the link from the e-mail the bridge sent you to link your account.".into()],
    )
}

fn seal_context(link: &Link) -> String {
    format!("link:{}", link.id)
}

fn expired_page(web: &Web) -> Response {
    page(
        StatusCode::GONE,
        "This link has expired",
        &[format!(
            "Links work for {} minutes. Reply to the Intune request again to get a new one; your reply is held until you link your account.",
            web.config.web.link_ttl.as_secs() / 60
        )],
    )
}

fn used_page() -> Response {
    page(
        StatusCode::GONE,
        "This link was already used",
        &["Your account was linked with it. If a rejection did not go through, reply to the request again.".into()],
    )
}

async fn open_link(State(web): State<Web>, Path(token): Path<String>) -> Response {
    let hash = approvers::token_hash(&token);
    let link = match web.journal.call(move |j| j.link_by_token_hash(&hash)).await {
        Ok(Some(l)) => l,
        Ok(None) => {
            return page(
                StatusCode::NOT_FOUND,
                "This link is not valid",
                &["Check that the whole link was opened, or reply to the Intune request again to get a new one.".into()],
            );
        }
        Err(e) => return oops(e),
    };
    if link.used_at.is_some() {
        return used_page();
    }
    if link.expired {
        return expired_page(&web);
    }
    let key = match Key::load_or_create(&web.config.state) {
        Ok(k) => k,
        Err(e) => return oops(e),
    };
    let state = approvers::new_state();
    let verifier = approvers::new_verifier();
    let sealed = key.seal(&seal_context(&link), &verifier);
    let (id, st) = (link.id, state.clone());
    if let Err(e) = web
        .journal
        .call(move |j| j.link_opened(id, &st, &sealed))
        .await
    {
        return oops(e);
    }
    let url = approvers::authorize_url(
        &web.config,
        &state,
        &approvers::challenge(&verifier),
        &link.approver,
    );
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, url),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::REFERRER_POLICY, "no-referrer".to_string()),
        ],
    )
        .into_response()
}

#[derive(Deserialize)]
struct Back {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(State(web): State<Web>, Query(back): Query<Back>) -> Response {
    let Some(state) = back.state.clone().filter(|s| !s.is_empty()) else {
        return incomplete_page();
    };
    let link = match web.journal.call(move |j| j.link_by_state(&state)).await {
        Ok(Some(l)) => l,
        Ok(None) => {
            return page(
                StatusCode::BAD_REQUEST,
                "This sign-in is unknown or already complete",
                &[
                    "If your account is not linked yet, open the link from your e-mail again."
                        .into(),
                ],
            );
        }
        Err(e) => return oops(e),
    };
    if let Some(error) = back.error.as_deref() {
        let first = back
            .error_description
            .as_deref()
            .unwrap_or_default()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        record_failure(&web, link.id, format!("{error}: {first}")).await;
        return entra_refused_page(error, &first);
    }
    if link.used_at.is_some() {
        return used_page();
    }
    if link.expired {
        return expired_page(&web);
    }
    let Some(code) = back.code.filter(|c| !c.is_empty()) else {
        return incomplete_page();
    };
    let finished = finish(&web, &link, &code).await;
    match &finished {
        Err(Finish::WrongAccount { signed_in }) => {
            let why = format!("signed in as {signed_in}, not the approver");
            record_failure(&web, link.id, why).await;
        }
        Err(Finish::Entra(why)) => record_failure(&web, link.id, why.clone()).await,
        Ok(_) | Err(Finish::Internal(_)) => {}
    }
    finished_page(&link, finished)
}

/// The link's sign-in failed: said in the journal, so `approvers` shows why.
async fn record_failure(web: &Web, id: i64, why: String) {
    let _ = web.journal.call(move |j| j.link_failed(id, &why)).await;
}

fn incomplete_page() -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "This sign-in is incomplete",
        &["Open the link from your e-mail again.".into()],
    )
}

/// Entra ID sent the approver back with an error instead of a code.
fn entra_refused_page(error: &str, first: &str) -> Response {
    if error == "access_denied" {
        page(
            StatusCode::FORBIDDEN,
            "You did not accept",
            &[
                "Nothing was stored, and your rejection is still held.".into(),
                "To make it in your name, open the link from your e-mail again and accept. The bridge asks only for what it needs to reject Multi Admin Approval requests as you.".into(),
            ],
        )
    } else {
        page(
            StatusCode::BAD_GATEWAY,
            "Microsoft sign-in failed",
            &[
                format!("Entra ID answered: {error}: {first}"),
                "Nothing was stored. Open the link from your e-mail again; if it keeps failing, tell your Intune administrators.".into(),
            ],
        )
    }
}

/// The page after the code was redeemed (or not).
fn finished_page(link: &Link, finished: Result<Identity, Finish>) -> Response {
    match finished {
        Ok(identity) => {
            let who = identity.username.unwrap_or_else(|| link.approver.clone());
            page(
                StatusCode::OK,
                "Your account is linked",
                &[
                    format!("Your held rejection is being made now, in your name ({who}). You will get a confirmation by e-mail."),
                    "From now on your rejections by e-mail go through directly. You can close this page.".into(),
                ],
            )
        }
        Err(Finish::WrongAccount { signed_in }) => page(
            StatusCode::FORBIDDEN,
            "This is not the account the link is for",
            &[
                format!(
                    "You signed in as {signed_in}, but this link was sent to {}. Nothing was stored.",
                    link.approver
                ),
                "Sign out of that account (or use a private window), open the link again, and sign in as the address the e-mail went to.".into(),
            ],
        ),
        Err(Finish::Entra(why)) => page(
            StatusCode::BAD_GATEWAY,
            "Microsoft sign-in could not be completed",
            &[
                why,
                "Nothing was stored. Open the link from your e-mail again; if it keeps failing, tell your Intune administrators.".into(),
            ],
        ),
        Err(Finish::Internal(e)) => oops(e),
    }
}

enum Finish {
    WrongAccount { signed_in: String },
    Entra(String),
    Internal(String),
}

/// Redeems the code, checks the account, stores the sign-in, uses up the link, wakes the service.
async fn finish(web: &Web, link: &Link, code: &str) -> Result<Identity, Finish> {
    let key =
        Key::load_or_create(&web.config.state).map_err(|e| Finish::Internal(e.to_string()))?;
    let verifier: Secret = link
        .sealed_verifier
        .as_deref()
        .ok_or_else(|| Finish::Internal("no verifier recorded".into()))
        .and_then(|v| {
            key.open(&seal_context(link), v)
                .map_err(|e| Finish::Internal(e.to_string()))
        })?;
    let answer = approvers::redeem_code(&web.config, &web.http, code, &verifier)
        .await
        .map_err(|e| Finish::Entra(e.to_string()))?;
    let identity = answer
        .id_token
        .as_deref()
        .map(Identity::from_id_token)
        .unwrap_or_default();
    if !approvers::is_account_of(&identity, &link.approver) {
        return Err(Finish::WrongAccount {
            signed_in: identity
                .username
                .clone()
                .or(identity.email.clone())
                .unwrap_or_else(|| "an unknown account".into()),
        });
    }
    let Some(refresh_token) = answer.refresh_token.clone() else {
        return Err(Finish::Entra(
            "Entra ID gave no refresh token (offline_access not granted to the app)".into(),
        ));
    };
    let scopes = answer.scopes(&crate::graph::signin::requested_scopes(&web.config.graph));
    let account = approvers::account_of(&link.approver);
    let (id, ident) = (link.id, identity.clone());
    web.journal
        .call(move |j| {
            store(
                j,
                &key,
                &account,
                &ident,
                &scopes,
                &Secret::new(refresh_token),
            )?;
            j.link_used(id)
        })
        .await
        .map_err(|e| Finish::Internal(e.to_string()))?;
    web.approvers.forget(&link.approver);
    tracing::info!(approver = %link.approver, account = identity.username.as_deref().unwrap_or("-"), "an approver linked their account");
    web.wake.notify_one();
    Ok(identity)
}
