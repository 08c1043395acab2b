//! The simulated Entra ID endpoints: `POST /{tenant}/oauth2/v2.0/token`, client credentials
//! grant with a client secret or a client assertion (JWT signed PS256 or RS256 with a registered
//! certificate, found by `x5t#S256` or `x5t`), and the delegated grants (refresh token, device
//! code, authorization code), answered like Entra: a token (`token_type`, `expires_in`,
//! `access_token`), or an AADSTS error body with 400/401; and `POST /{tenant}/oauth2/v2.0/devicecode`.
//!
//! This file: what every Entra endpoint checks first. Beside it: `token.rs` (the token endpoint:
//! record, fault, common checks), `grants.rs` (one function per grant type), `client.rs` (the
//! client's secret or assertion), `assertion.rs` (the assertion's checks), `devicecode.rs`,
//! `form.rs` (the form body), `refusal.rs` (AADSTS error answers).

mod assertion;
mod client;
mod devicecode;
mod form;
mod grants;
mod refusal;
#[cfg(test)]
mod tests;
mod token;

use axum::http::Method;

use crate::state::Settings;

use refusal::{Refusal, refuse};

pub use devicecode::devicecode;
pub use form::parse_form;
pub use token::token;

/// What every Entra endpoint checks first: a POST, to a known tenant.
fn check_endpoint(method: &Method, tenant: &str, settings: &Settings) -> Result<(), Refusal> {
    if *method != Method::POST {
        return Err(refuse(
            405,
            "invalid_request",
            900561,
            "The endpoint only accepts POST requests.",
        ));
    }
    if !tenant.eq_ignore_ascii_case(&settings.tenant) {
        return Err(refuse(
            400,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        ));
    }
    Ok(())
}
