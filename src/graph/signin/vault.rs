//! The key that encrypts stored sign-ins, and the sealing itself.
//!
//! Refresh tokens are secrets that outlive any process: they are never written in plain text.
//! Each is sealed with XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`, an AEAD) under a
//! 32-byte key, with a fresh random 24-byte nonce per write and the row it belongs to as
//! associated data, so a sealed value copied to another row does not open.
//!
//! The key comes from `state.key` (given as `REJECT_BRIDGE__STATE__KEY`) or from
//! `state.key_file`, which `login` creates (mode 0600) when it is missing. Both hold the 32 bytes
//! in base64 (what `openssl rand -base64 32` prints) or as 64 hex digits.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use crate::config::StateConfig;
use crate::secret::Secret;

const NONCE_LEN: usize = 24;

/// Why the key or a sealed value cannot be used. Never holds key material or a token.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "no key to open stored sign-ins: {path} does not exist (run `reject-bridge login`, which creates it, or set REJECT_BRIDGE__STATE__KEY)"
    )]
    NoKey { path: PathBuf },
    #[error("cannot read or write the key file {path}: {message} (check state.key_file)")]
    Io { path: PathBuf, message: String },
    #[error(
        "the key in {0} is not 32 bytes in base64 or hex (check state.key_file or REJECT_BRIDGE__STATE__KEY)"
    )]
    BadKey(String),
    #[error(
        "a stored sign-in does not open with this key: the key changed or the journal was edited; run `reject-bridge login` again"
    )]
    Open,
}

/// A 32-byte key. Prints as `Key(***)`.
#[derive(Clone)]
pub struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(***)")
    }
}

impl Key {
    /// A key written as base64 or 64 hex digits (surrounding white space ignored).
    pub fn parse(text: &str) -> Option<Key> {
        crate::secret::key_bytes(text).map(Key)
    }

    fn generate() -> Key {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        Key(k)
    }

    /// The key of `state`: `state.key` when given, else the key file's.
    pub fn load(state: &StateConfig) -> Result<Key, VaultError> {
        if let Some(k) = &state.key {
            return Key::parse(k.expose())
                .ok_or_else(|| VaultError::BadKey("REJECT_BRIDGE__STATE__KEY".into()));
        }
        let path = &state.key_file;
        match std::fs::read_to_string(path) {
            Ok(text) => {
                Key::parse(&text).ok_or_else(|| VaultError::BadKey(path.display().to_string()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(VaultError::NoKey { path: path.clone() })
            }
            Err(e) => Err(VaultError::Io {
                path: path.clone(),
                message: e.to_string(),
            }),
        }
    }

    /// [`Key::load`], creating the key file (0600, its folder too) when there is none.
    pub fn load_or_create(state: &StateConfig) -> Result<Key, VaultError> {
        match Key::load(state) {
            Err(VaultError::NoKey { path }) => {
                let key = Key::generate();
                write_new(&path, &STANDARD.encode(key.0)).map_err(|e| VaultError::Io {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                tracing::info!(path = %path.display(), "created the key that encrypts stored sign-ins");
                Ok(key)
            }
            other => other,
        }
    }

    /// `token` sealed for the row named `context`: nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, context: &str, token: &Secret) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new(&self.0.into());
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: token.expose().as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any message shorter than 256 GiB");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// The token [`Key::seal`] sealed for `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Secret, VaultError> {
        if sealed.len() < NONCE_LEN {
            return Err(VaultError::Open);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| VaultError::Open)?;
        let cipher = XChaCha20Poly1305::new(&self.0.into());
        let plain = cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Open)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| VaultError::Open)
    }
}

/// Creates `path` with `text`, readable by its owner only, failing if it already exists.
fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    writeln!(file, "{text}")?;
    file.sync_all()
}

#[cfg(test)]
mod tests;
