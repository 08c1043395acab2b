//! `[state]`: the journal (where it is, how long filed rows are kept) and the key that encrypts
//! the sign-ins stored in it (a key file, or the key itself from the environment). Validated here
//! into [`StateConfig`]; the journal is [`crate::journal`].

use std::path::PathBuf;
use std::time::Duration;

use crate::secret::Secret;

use super::fields::Fields;
use super::values::duration_secs;

#[derive(Clone, Debug)]
pub struct StateConfig {
    /// Filed rows older than this are pruned from the journal (`None`: `retention_days = 0`,
    /// kept for ever).
    pub retention: Option<Duration>,
    pub path: PathBuf,
    /// The key that encrypts stored sign-ins: `state.key_file` (default: `reject-bridge.key`
    /// beside the journal), created by `login` when missing.
    pub key_file: PathBuf,
    /// `state.key` (given as `REJECT_BRIDGE__STATE__KEY`): the key itself, instead of the file.
    pub key: Option<Secret>,
}

/// Reads and checks `[state]`; `None` when the journal has no path (an error was recorded).
pub(super) fn build(f: &mut Fields<'_>) -> Option<StateConfig> {
    let retention_days = f.int("state", "retention_days", 400, 0, 36_500);
    let state_path = f.path("state", "path", "state/reject-bridge.db");
    if state_path.is_none() {
        f.err("state", "path", "must not be empty");
    }
    let key_file = f.path("state", "key_file", "").or_else(|| {
        state_path
            .as_ref()
            .map(|p| p.with_file_name("reject-bridge.key"))
    });
    let state_key = f
        .opt_str("state", "key")
        .filter(|k| !k.trim().is_empty())
        .map(Secret::new);
    if let Some(k) = &state_key
        && crate::secret::key_bytes(k.expose()).is_none()
    {
        f.err(
            "state",
            "key",
            "must be 32 bytes written as 64 hex digits or in base64 (e.g. `openssl rand -base64 32`)",
        );
    }
    Some(StateConfig {
        retention: (retention_days > 0).then(|| duration_secs(retention_days * 86_400)),
        path: state_path?,
        key_file: key_file?,
        key: state_key,
    })
}
