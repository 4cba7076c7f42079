//! API credentials, from the environment only: `EDGELINE_BINANCE_API_KEY` with either
//! `EDGELINE_BINANCE_API_SECRET` (an HMAC key) or `EDGELINE_BINANCE_ED25519_KEY_FILE`
//! (a path to a PKCS#8 PEM Ed25519 private key, which must lie outside the repository).
//!
//! Cold path, read once at start-up. Nothing here ever prints a key: `Debug` is
//! redacted, and errors name the variable, never its value.

use std::path::{Path, PathBuf};

use crate::gateway::live::sign::{Ed25519Signer, HmacSigner};

/// The API key variable.
pub const ENV_API_KEY: &str = "EDGELINE_BINANCE_API_KEY";
/// The HMAC secret variable.
pub const ENV_API_SECRET: &str = "EDGELINE_BINANCE_API_SECRET";
/// The Ed25519 key file variable.
pub const ENV_ED25519_KEY_FILE: &str = "EDGELINE_BINANCE_ED25519_KEY_FILE";

/// How requests are signed.
pub enum Signing {
    /// HMAC-SHA256 (REST).
    Hmac(HmacSigner),
    /// Ed25519 (REST, and WebSocket API `session.logon`).
    Ed25519(Ed25519Signer),
}

/// An API key and its signer.
pub struct Credentials {
    api_key: String,
    /// The signer.
    pub signing: Signing,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}

/// Why credentials could not be had. Names the variable; never quotes a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A variable is missing or empty.
    #[error("{0} is not set: live trading needs it in the environment")]
    Missing(&'static str),
    /// Neither a secret nor a key file was given.
    #[error("set {ENV_API_SECRET} (HMAC) or {ENV_ED25519_KEY_FILE} (Ed25519)")]
    NoSigner,
    /// The key file is inside the repository (it would be one commit away from public).
    #[error("{ENV_ED25519_KEY_FILE} points inside the repository; keep the key outside it")]
    KeyFileInRepo,
    /// The key file cannot be read or is not an Ed25519 PEM key.
    #[error("{ENV_ED25519_KEY_FILE}: {0}")]
    KeyFile(&'static str),
}

impl Credentials {
    /// Credentials from explicit values (tests, the fake exchange).
    pub fn new(api_key: &str, signing: Signing) -> Self {
        Self {
            api_key: api_key.to_owned(),
            signing,
        }
    }

    /// The API key (sent in `X-MBX-APIKEY`; a credential too, never logged).
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// Reads the environment through `get`; `repo_root` is the folder a key file may
    /// not be under.
    pub fn from_env_with(
        get: impl Fn(&str) -> Option<String>,
        repo_root: &Path,
    ) -> Result<Self, KeyError> {
        let set = |k: &str| get(k).filter(|v| !v.is_empty());
        let api_key = set(ENV_API_KEY).ok_or(KeyError::Missing(ENV_API_KEY))?;
        if let Some(secret) = set(ENV_API_SECRET) {
            return Ok(Self::new(
                &api_key,
                Signing::Hmac(HmacSigner::new(secret.as_bytes())),
            ));
        }
        let path = PathBuf::from(set(ENV_ED25519_KEY_FILE).ok_or(KeyError::NoSigner)?);
        let canonical = path
            .canonicalize()
            .map_err(|_| KeyError::KeyFile("cannot be read"))?;
        let root = repo_root
            .canonicalize()
            .unwrap_or_else(|_| repo_root.to_path_buf());
        if canonical.starts_with(&root) {
            return Err(KeyError::KeyFileInRepo);
        }
        let pem =
            std::fs::read_to_string(&canonical).map_err(|_| KeyError::KeyFile("cannot be read"))?;
        let signer = Ed25519Signer::from_pkcs8_pem(&pem)
            .map_err(|_| KeyError::KeyFile("not a PKCS#8 PEM Ed25519 private key"))?;
        Ok(Self::new(&api_key, Signing::Ed25519(signer)))
    }

    /// Reads the process environment; the repository is the current directory's.
    pub fn from_env() -> Result<Self, KeyError> {
        let cwd = std::env::current_dir().unwrap_or_default();
        let root = cwd
            .ancestors()
            .find(|d| d.join(".git").exists())
            .unwrap_or(&cwd)
            .to_path_buf();
        Self::from_env_with(|k| std::env::var(k).ok(), &root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_keys_errors_name_the_variable_never_the_value() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let root = std::env::temp_dir();
        let err = Credentials::from_env_with(env(&[]), &root).unwrap_err();
        assert_eq!(err, KeyError::Missing(ENV_API_KEY));
        let err =
            Credentials::from_env_with(env(&[(ENV_API_KEY, "K3Y-VALUE")]), &root).unwrap_err();
        assert!(!err.to_string().contains("K3Y-VALUE"));
        let ok = Credentials::from_env_with(
            env(&[(ENV_API_KEY, "K3Y-VALUE"), (ENV_API_SECRET, "S3CRET-VALUE")]),
            &root,
        )
        .unwrap();
        let shown = format!("{ok:?}");
        assert!(!shown.contains("K3Y-VALUE") && !shown.contains("S3CRET-VALUE"));
        let inside = std::env::current_dir().unwrap().join("Cargo.toml");
        let inside: &'static str = Box::leak(inside.display().to_string().into_boxed_str());
        let pairs: &'static [(&str, &str)] =
            Box::leak(vec![(ENV_API_KEY, "K"), (ENV_ED25519_KEY_FILE, inside)].into_boxed_slice());
        let err =
            Credentials::from_env_with(env(pairs), &std::env::current_dir().unwrap()).unwrap_err();
        assert_eq!(err, KeyError::KeyFileInRepo);
    }
}
