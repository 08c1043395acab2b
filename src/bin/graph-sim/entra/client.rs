//! The client's own credential, when it gives one: its client secret, or a client assertion
//! signed with a registered certificate (`assertion.rs`); never both.

use crate::state::SimState;

use super::assertion::verify_assertion;
use super::form::Form;
use super::refusal::{Refusal, refuse};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Checks the client's own credential (a secret or an assertion), when it gave one.
pub(super) fn authenticate_client(
    state: &mut SimState,
    form: Form,
    host: &str,
    tenant: &str,
    client_id: &str,
) -> Result<(), Refusal> {
    match (form.field("client_secret"), form.field("client_assertion")) {
        (Some(_), Some(_)) => Err(refuse(
            400,
            "invalid_request",
            90014,
            "Only one of 'client_secret' and 'client_assertion' may be given.",
        )),
        (Some(secret), None) => check_secret(state, secret),
        (None, Some(assertion)) => check_assertion(state, form, assertion, host, tenant, client_id),
        (None, None) => Ok(()),
    }
}

/// Client credentials with a secret: the app's own.
fn check_secret(state: &SimState, secret: &str) -> Result<(), Refusal> {
    if state.settings.client_secret.as_deref() != Some(secret) {
        return Err(refuse(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.",
        ));
    }
    Ok(())
}

/// Client credentials with a certificate: a JWT bearer assertion for this token endpoint.
fn check_assertion(
    state: &mut SimState,
    form: Form,
    assertion: &str,
    host: &str,
    tenant: &str,
    client_id: &str,
) -> Result<(), Refusal> {
    if form.field("client_assertion_type") != Some(JWT_BEARER) {
        return Err(refuse(
            400,
            "invalid_request",
            900144,
            format!(
                "The request body must contain the following parameter: 'client_assertion_type' = '{JWT_BEARER}'."
            ),
        ));
    }
    let audience = format!("http://{host}/{tenant}/oauth2/v2.0/token");
    verify_assertion(
        &state.settings,
        &mut state.used_jtis,
        assertion,
        &audience,
        client_id,
    )
}
