//! API keys: `Authorization: Bearer KEY`, checked without leaking anything.
//!
//! * Keys come from a file (one per line; blank lines and `#` comments
//!   ignored: a Docker or Kubernetes secret) or a comma-separated
//!   environment value (`ROADMAP_API_KEYS`).
//! * Only their SHA-256 digests are kept in memory: a heap dump or a debug
//!   print of the service holds no usable key.
//! * A presented key is hashed and compared with **every** stored digest by
//!   `subtle`'s constant-time equality, OR-ed together without an early exit,
//!   so the response time does not depend on how many leading bytes matched
//!   or on which key matched (a timing side channel would let an attacker
//!   guess a key byte by byte).
//! * A missing and a wrong key get the same 401 body and a
//!   `WWW-Authenticate: Bearer` header: the response tells nothing about the
//!   keys, and the key itself is never logged.

use std::path::Path;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// The shortest key accepted (a short key can be guessed online).
pub const MIN_KEY_CHARS: usize = 16;

/// Why keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot read the API key file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// `where_` names the file and line, or the variable and position; never the key.
    #[error("{where_}: an API key must have at least {MIN_KEY_CHARS} characters and no spaces (generate one with `openssl rand -hex 24`)")]
    Weak { where_: String },
}

/// The set of accepted keys, as SHA-256 digests.
#[derive(Clone, Default)]
pub struct ApiKeys {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} keys, hashed)", self.digests.len())
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn acceptable(key: &str) -> bool {
    key.chars().count() >= MIN_KEY_CHARS && !key.chars().any(char::is_whitespace)
}

impl ApiKeys {
    /// No keys: every key check fails.
    pub fn none() -> Self {
        Self::default()
    }

    /// Adds one key; `where_` names its origin for the error message.
    pub fn add(&mut self, key: &str, where_: &str) -> Result<(), AuthError> {
        if !acceptable(key) {
            return Err(AuthError::Weak {
                where_: where_.to_string(),
            });
        }
        self.digests.push(digest(key));
        Ok(())
    }

    /// Adds the keys of a file: one per line, `#` comments and blank lines ignored.
    pub fn add_file(&mut self, path: &Path) -> Result<(), AuthError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuthError::Read {
            path: path.display().to_string(),
            source,
        })?;
        for (i, line) in text.lines().enumerate() {
            let key = line.trim();
            if key.is_empty() || key.starts_with('#') {
                continue;
            }
            self.add(key, &format!("{}:{}", path.display(), i + 1))?;
        }
        Ok(())
    }

    /// Adds comma-separated keys from the environment variable `name`'s `value`.
    pub fn add_list(&mut self, value: &str, name: &str) -> Result<(), AuthError> {
        for (i, key) in value.split(',').map(str::trim).enumerate() {
            if !key.is_empty() {
                self.add(key, &format!("{name} (key {})", i + 1))?;
            }
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.digests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// Whether `presented` is one of the keys, in time independent of the keys' contents.
    pub fn verify(&self, presented: &str) -> bool {
        let d = digest(presented);
        let mut found = subtle::Choice::from(0u8);
        for k in &self.digests {
            found |= k.ct_eq(&d);
        }
        bool::from(found)
    }

    /// Checks the request's `Authorization: Bearer` header; the error is the
    /// uninformative 401.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            });
        match presented {
            Some(key) if self.verify(key) => Ok(()),
            _ => Err(unauthorized()),
        }
    }
}

/// The one 401 answer: the same for a missing, malformed or wrong key.
pub fn unauthorized() -> ApiError {
    ApiError::http(
        StatusCode::UNAUTHORIZED,
        "this endpoint needs an API key: send `Authorization: Bearer KEY`",
    )
    .header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_and_weak_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("keys");
        std::fs::write(
            &file,
            "# ops team\n\n0123456789abcdef0123\n  fedcba9876543210fedc  \n",
        )
        .unwrap();
        let mut keys = ApiKeys::none();
        keys.add_file(&file).unwrap();
        keys.add_list("k-from-env-000000001, ", "ROADMAP_API_KEYS")
            .unwrap();
        assert_eq!(keys.len(), 3);
        assert!(keys.verify("0123456789abcdef0123"));
        assert!(keys.verify("fedcba9876543210fedc"));
        assert!(keys.verify("k-from-env-000000001"));
        assert!(!keys.verify("0123456789abcdef012"));
        assert!(!keys.verify(""));
        assert!(!format!("{keys:?}").contains("0123"));

        std::fs::write(&file, "ok-key-0123456789abc\nshort\n").unwrap();
        let e = ApiKeys::none().add_file(&file).unwrap_err().to_string();
        assert!(e.contains(":2: an API key must have"), "{e}");
        assert!(!e.contains("short"), "the key leaked: {e}");

        let mut h = HeaderMap::new();
        assert_eq!(
            keys.check(&h).unwrap_err().status(),
            StatusCode::UNAUTHORIZED
        );
        h.insert(
            header::AUTHORIZATION,
            "Bearer wrong-key-000000000".parse().unwrap(),
        );
        assert!(keys.check(&h).is_err());
        h.insert(
            header::AUTHORIZATION,
            "bearer 0123456789abcdef0123".parse().unwrap(),
        );
        keys.check(&h).unwrap();
        assert!(ApiKeys::none().check(&h).is_err());
    }
}
