//! `[alerts]`: who is told when the service needs a person (a lost sign-in, …). Validated here
//! into [`AlertsConfig`]; the alerts themselves are [`crate::alerts`].

use super::fields::Fields;
use super::values::plausible_address;

#[derive(Clone, Debug, Default)]
pub struct AlertsConfig {
    /// Who is told when the service needs a person (a lost sign-in, …); lower-cased addresses.
    pub to: Vec<String>,
}

/// Reads and checks `[alerts]`: each entry a bare address.
pub(super) fn build(f: &mut Fields<'_>) -> AlertsConfig {
    let alerts_to = f.list("alerts", "to").unwrap_or_default();
    for a in &alerts_to {
        if !plausible_address(a.trim()) {
            f.err("alerts", "to", format!("\"{a}\" is not an address"));
        }
    }
    AlertsConfig {
        to: alerts_to
            .iter()
            .map(|a| a.trim().to_ascii_lowercase())
            .collect(),
    }
}
