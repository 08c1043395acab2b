//! The token endpoint's grants, each in a function of its own: client credentials (a secret or
//! a certificate assertion, for one `<resource>/.default` scope), and the delegated grants of a
//! user's sign-in: refresh token, device code, authorization code (with PKCE). A delegated grant
//! answers an access token for the user, the rotated refresh token and an `id_token`.

use std::time::Instant;

use serde_json::{Value, json};

use crate::delegated::Granted;
use crate::state::{SimState, Token};

use super::client::authenticate_client;
use super::form::Form;
use super::refusal::{Refusal, grant_refusal, refuse};

/// `grant_type=client_credentials`: the app's own token for the resource of a `.default` scope.
pub(super) fn client_credentials(
    state: &mut SimState,
    form: Form,
    client_id: &str,
    host: &str,
    tenant: &str,
) -> Result<Value, Refusal> {
    let scope = form.require("scope")?;
    let Some(audience_host) = scope_host(scope).filter(|_| !scope.contains(' ')) else {
        return Err(refuse(
            400,
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        ));
    };
    if form.field("client_secret").is_none() && form.field("client_assertion").is_none() {
        return Err(refuse(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    }
    authenticate_client(state, form, host, tenant, client_id)?;
    let access_token = format!("sim.{}", uuid::Uuid::new_v4().simple());
    let lifetime = state.settings.token_lifetime;
    state.tokens.insert(
        access_token.clone(),
        Token {
            scope: scope.to_string(),
            audience_host,
            expires_at: Instant::now() + lifetime,
            user: None,
        },
    );
    Ok(json!({
        "token_type": "Bearer",
        "expires_in": lifetime.as_secs(),
        "ext_expires_in": lifetime.as_secs(),
        "access_token": access_token,
    }))
}

/// A delegated grant (`refresh_token`, `authorization_code`, device code): a public client (no
/// credential) or a confidential one proving itself, then the grant itself.
pub(super) fn delegated(
    state: &mut SimState,
    form: Form,
    grant_type: &str,
    client_id: &str,
    host: &str,
    tenant: &str,
) -> Result<Value, Refusal> {
    if form.field("client_secret").is_some() || form.field("client_assertion").is_some() {
        authenticate_client(state, form, host, tenant, client_id)?;
    } else if !state.settings.public_client {
        return Err(refuse(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    }
    let granted = match grant_type {
        "refresh_token" => refresh_token(state, form)?,
        "authorization_code" => authorization_code(state, form, client_id)?,
        _ => device_code(state, form)?,
    };
    Ok(issue_delegated(state, granted, host, tenant))
}

/// `grant_type=refresh_token`.
fn refresh_token(state: &mut SimState, form: Form) -> Result<Granted, Refusal> {
    let rt = form.require("refresh_token")?;
    state.delegation.refresh(rt).map_err(grant_refusal)
}

/// `grant_type=authorization_code`: the code, for the redirect URI it was issued to, with the
/// PKCE verifier.
fn authorization_code(
    state: &mut SimState,
    form: Form,
    client_id: &str,
) -> Result<Granted, Refusal> {
    let code = form.require("code")?;
    let redirect_uri = form.require("redirect_uri")?;
    let verifier = form.require("code_verifier")?;
    state
        .codes
        .redeem(code, client_id, redirect_uri, verifier)
        .map(|(user, scopes)| crate::authorize::granted(state, user, scopes))
        .map_err(grant_refusal)
}

/// `grant_type=urn:ietf:params:oauth:grant-type:device_code`: one poll.
fn device_code(state: &mut SimState, form: Form) -> Result<Granted, Refusal> {
    let dc = form.require("device_code")?;
    state.delegation.poll_device(dc).map_err(grant_refusal)
}

/// The token answer of a delegated grant: an access token for the user, the rotated refresh
/// token (when `offline_access` was granted) and an `id_token`.
fn issue_delegated(state: &mut SimState, granted: Granted, host: &str, tenant: &str) -> Value {
    let resource_scopes: Vec<&String> = granted
        .scopes
        .iter()
        .filter(|s| s.contains("://"))
        .collect();
    let audience_host = resource_scopes
        .first()
        .and_then(|s| {
            let rest = s.split_once("://")?.1;
            let authority = rest.split('/').next()?;
            Some(
                authority
                    .rsplit_once(':')
                    .map(|(h, _)| h)
                    .unwrap_or(authority)
                    .to_ascii_lowercase(),
            )
        })
        .unwrap_or_default();
    let access_token = format!("sim.{}", uuid::Uuid::new_v4().simple());
    let lifetime = state.settings.token_lifetime;
    state.tokens.insert(
        access_token.clone(),
        Token {
            scope: granted.scopes.join(" "),
            audience_host,
            expires_at: Instant::now() + lifetime,
            user: Some(granted.user.clone()),
        },
    );
    let mut answer = json!({
        "token_type": "Bearer",
        "scope": granted.scopes.join(" "),
        "expires_in": lifetime.as_secs(),
        "ext_expires_in": lifetime.as_secs(),
        "access_token": access_token,
    });
    if granted.scopes.iter().any(|s| s == "offline_access") {
        answer["refresh_token"] = json!(granted.refresh_token);
    }
    if granted.scopes.iter().any(|s| s == "openid") {
        answer["id_token"] = json!(crate::delegated::id_token(
            &granted.user,
            &state.settings.client_id,
            &format!("http://{host}/{tenant}/v2.0"),
            tenant,
        ));
    }
    answer
}

/// The resource host of a `.default` scope (`https://graph.microsoft.us/.default` → `graph.microsoft.us`).
pub(super) fn scope_host(scope: &str) -> Option<String> {
    let resource = scope.strip_suffix("/.default")?;
    let rest = resource
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(resource);
    let authority = rest.split('/').next()?;
    let host = authority
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(authority);
    Some(host.to_ascii_lowercase())
}
