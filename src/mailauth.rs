//! Logging in to the mailbox and the SMTP server the way the configuration says: with the
//! password, or (`auth = "xoauth2"`, Exchange Online) with an OAuth bearer token for
//! `imap.oauth_scope` / `smtp.oauth_scope` obtained with the Graph app's own credentials.
//!
//! Tokens come from the Graph client's [`crate::graph::TokenSource`], which caches them per scope
//! and fetches a new one shortly before expiry; a login the server refuses is tried once more
//! with a fresh token (the cached one may have been revoked or issued before a permission
//! change). The SASL string is Microsoft's `user=<user>\x01auth=Bearer <token>\x01\x01`
//! ([`crate::imap`] and lettre build it). Tokens never reach a log line or an error message.

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::config::{Config, MailAuth};
use crate::graph::{GraphClient, GraphError, TokenSource};
use crate::imap::{ImapError, ImapSession, Login};
use crate::reply::smtp::{BearerTokens, Sender, SmtpError};
use crate::secret::Secret;

/// Tokens for one scope from the Graph app's token source.
pub struct ScopeTokens {
    source: Arc<TokenSource>,
    scope: String,
}

impl ScopeTokens {
    pub fn new(graph: &GraphClient, scope: &str) -> Self {
        ScopeTokens {
            source: graph.tokens(),
            scope: scope.to_owned(),
        }
    }

    async fn fetch(&self) -> Result<Secret, GraphError> {
        self.source.token_for(&self.scope).await
    }
}

impl BearerTokens for ScopeTokens {
    fn token(&self) -> BoxFuture<'_, Result<Secret, String>> {
        Box::pin(async move { self.fetch().await.map_err(|e| e.to_string()) })
    }

    fn refused<'a>(&'a self, token: &'a Secret) -> BoxFuture<'a, ()> {
        Box::pin(self.source.invalidate(&self.scope, token))
    }
}

/// A token for the IMAP login, with Graph's failure turned into an [`ImapError`]: a passing
/// problem (network, 5xx) stays retryable, a refusal of the app's credentials does not.
async fn imap_token(config: &Config, tokens: &ScopeTokens) -> Result<Secret, ImapError> {
    tokens.fetch().await.map_err(|e| {
        let reason = format!("no OAuth token for {}: {e}", config.imap.oauth_scope);
        if e.is_retryable() {
            ImapError::Connection {
                step: "OAuth token",
                reason,
            }
        } else {
            ImapError::Auth {
                user: config.imap.username.clone(),
                reason,
            }
        }
    })
}

/// Connects and logs in to `imap.host` as configured. With XOAUTH2: a token for
/// `imap.oauth_scope`, and when the server refuses it, one more attempt with a fresh token.
pub async fn connect_mailbox(
    config: &Config,
    graph: &GraphClient,
) -> Result<ImapSession, ImapError> {
    match config.imap.auth {
        MailAuth::Password => ImapSession::connect(&config.imap).await,
        MailAuth::Xoauth2 => {
            let tokens = ScopeTokens::new(graph, &config.imap.oauth_scope);
            let token = imap_token(config, &tokens).await?;
            match ImapSession::connect_with(&config.imap, Login::Xoauth2 { token: &token }).await {
                Err(ImapError::Auth { reason, .. }) => {
                    tracing::info!(
                        host = %config.imap.host,
                        server_said = %reason,
                        "IMAP server refused the OAuth token; trying once more with a new one"
                    );
                    tokens.source.invalidate(&tokens.scope, &token).await;
                    let fresh = imap_token(config, &tokens).await?;
                    ImapSession::connect_with(&config.imap, Login::Xoauth2 { token: &fresh }).await
                }
                other => other,
            }
        }
    }
}

/// The SMTP sender as configured. With XOAUTH2 it logs in as `smtp.username` with tokens for
/// `smtp.oauth_scope` (fetched at each send from the cache; a refused token is replaced once).
/// No network here.
pub fn make_sender(config: &Config, graph: &GraphClient) -> Result<Sender, SmtpError> {
    let smtp = &config.smtp;
    match smtp.auth {
        MailAuth::Password => Sender::new(smtp),
        MailAuth::Xoauth2 => {
            let user = smtp
                .username
                .clone()
                .unwrap_or_else(|| smtp.from_address.clone());
            Sender::with_tokens(
                smtp,
                &user,
                Arc::new(ScopeTokens::new(graph, &smtp.oauth_scope)),
            )
        }
    }
}
