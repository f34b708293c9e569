//! Static bearer tokens: the `sha256:<hex>` hash format, `scimgate token`, and the constant-time
//! check of a presented token against the configured list.
//!
//! Only SHA-256 digests are kept in memory; a clear token read from the environment or a file is
//! hashed at once. Nothing here logs or returns a token.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A SHA-256 digest of a secret.
pub(super) type Sha256Digest = [u8; 32];

const HASH_PREFIX: &str = "sha256:";

/// Makes a fresh random token for Entra's Secret Token field, and the settings line that accepts
/// it (`sha256:<hex>`). Returns `(token, hash_line)`; only the hash belongs in the settings.
pub fn new_token() -> (String, String) {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    let line = token_hash_line(&token);
    (token, line)
}

/// The settings line (`sha256:<hex>`) that accepts `token`; used by `scimgate token` and the demo.
pub fn token_hash_line(token: &str) -> String {
    format!("{HASH_PREFIX}{}", hex(&sha256(token.as_bytes())))
}

/// SHA-256 of `bytes`.
pub(super) fn sha256(bytes: &[u8]) -> Sha256Digest {
    Sha256::digest(bytes).into()
}

/// Parses `sha256:<64 hex digits>` (hex in either case).
pub(super) fn parse_hash_line(line: &str) -> Option<Sha256Digest> {
    let hex_digits = line.trim().strip_prefix(HASH_PREFIX)?;
    if hex_digits.len() != 64 {
        return None;
    }
    let mut digest = [0_u8; 32];
    for (byte, pair) in digest.iter_mut().zip(hex_digits.as_bytes().chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(digest)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}

/// The accepted static tokens, each with the name that identifies it in logs.
#[derive(Debug, Default)]
pub(super) struct StaticTokens {
    tokens: Vec<(Sha256Digest, String)>,
}

impl StaticTokens {
    /// Accepts the token whose digest is `digest`, reported as `name` (e.g. `bearer#1`).
    pub(super) fn push(&mut self, digest: Sha256Digest, name: String) {
        self.tokens.push((digest, name));
    }

    /// Whether any token is configured.
    pub(super) fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The name of the configured token equal to `presented`, if any. Every configured digest is
    /// compared, in constant time, so the timing tells nothing about which one (if any) matched.
    pub(super) fn find(&self, presented: &str) -> Option<&str> {
        let digest = sha256(presented.as_bytes());
        let mut found = None;
        for (candidate, name) in &self.tokens {
            if bool::from(candidate.ct_eq(&digest)) && found.is_none() {
                found = Some(name.as_str());
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_token_is_random_and_its_line_parses_to_its_digest() {
        let (token, line) = new_token();
        let (other, _) = new_token();
        assert_ne!(token, other);
        assert!(
            token.len() >= 43,
            "32 random bytes, base64url: {}",
            token.len()
        );
        assert_eq!(parse_hash_line(&line), Some(sha256(token.as_bytes())));
        assert!(!line.contains(&token));
    }

    #[test]
    fn hash_lines_are_strict() {
        let good = format!("sha256:{}", "aB".repeat(32));
        assert_eq!(parse_hash_line(&good), Some([0xab; 32]));
        assert_eq!(parse_hash_line("sha256:abcd"), None);
        assert_eq!(parse_hash_line(&"ab".repeat(32)), None);
        assert_eq!(
            parse_hash_line(&format!("sha256:{}", "zz".repeat(32))),
            None
        );
        assert_eq!(parse_hash_line(&format!("sha256:{}", "é".repeat(32))), None);
    }

    #[test]
    fn find_names_the_matching_token() {
        let mut tokens = StaticTokens::default();
        tokens.push(sha256(b"one"), "bearer#1".into());
        tokens.push(sha256(b"two"), "bearer#2".into());
        assert_eq!(tokens.find("two"), Some("bearer#2"));
        assert_eq!(tokens.find("one"), Some("bearer#1"));
        assert_eq!(tokens.find("three"), None);
    }
}
