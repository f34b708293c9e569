//! Connection secrets at rest: a connection's secret variables (e.g. its workspace's backend
//! API key) are stored only sealed with ChaCha20-Poly1305 under a key from the environment or a
//! file (`connections.secret_key_from_env` / `secret_key_from_file`: 32 bytes as 64 hex digits
//! or base64). The AEAD is ring's, already in the tree under rustls, so no second
//! implementation of the same primitive is added. Each seal takes a fresh random nonce and
//! binds the ciphertext to its connection id (associated data), so a sealed value copied to
//! another connection does not open. Nothing here logs or returns a secret.

use std::collections::BTreeMap;

use base64::Engine as _;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// The format tag of a sealed value.
const VERSION: &str = "v1.";

/// The key secrets are sealed with.
pub struct SecretKey(LessSafeKey);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl SecretKey {
    /// Reads a key written as 64 hex digits or as base64 of 32 bytes.
    pub fn from_text(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| "not hex".to_owned())?
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
                .map_err(|_| "not 64 hex digits or base64".to_owned())?
        };
        if bytes.len() != 32 {
            return Err(format!(
                "{} bytes; the key must be 32 (e.g. `openssl rand -hex 32`)",
                bytes.len()
            ));
        }
        UnboundKey::new(&CHACHA20_POLY1305, &bytes)
            .map(|key| Self(LessSafeKey::new(key)))
            .map_err(|_| "unusable key".to_owned())
    }

    /// Seals `secrets` for connection `id`.
    pub fn seal(&self, id: &str, secrets: &BTreeMap<String, String>) -> Result<String, String> {
        let mut nonce = [0_u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| "no randomness".to_owned())?;
        let mut data = serde_json::to_vec(secrets).map_err(|_| "unserialisable".to_owned())?;
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(id.as_bytes()),
                &mut data,
            )
            .map_err(|_| "sealing failed".to_owned())?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!(
            "{VERSION}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out)
        ))
    }

    /// Opens what [`SecretKey::seal`] sealed for connection `id`.
    pub fn open(&self, id: &str, sealed: &str) -> Result<BTreeMap<String, String>, String> {
        let bytes = sealed
            .strip_prefix(VERSION)
            .and_then(|text| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(text)
                    .ok()
            })
            .filter(|bytes| bytes.len() > NONCE_LEN)
            .ok_or_else(|| "not a sealed value".to_owned())?;
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "bad nonce".to_owned())?;
        let mut data = data.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(id.as_bytes()), &mut data)
            .map_err(|_| {
                "does not open with this key (wrong key, or another connection's)".to_owned()
            })?;
        serde_json::from_slice(plain).map_err(|_| "not a variables object".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_connection() {
        let key = SecretKey::from_text(&"ab".repeat(32)).unwrap();
        let secrets = BTreeMap::from([("api_key".to_owned(), "s3cr3t-value".to_owned())]);
        let sealed = key.seal("acme", &secrets).unwrap();
        assert!(!sealed.contains("s3cr3t"), "{sealed}");
        assert_ne!(
            sealed,
            key.seal("acme", &secrets).unwrap(),
            "a fresh nonce each time"
        );
        assert_eq!(key.open("acme", &sealed).unwrap(), secrets);
        assert!(key.open("other", &sealed).is_err());
        let other = SecretKey::from_text(&"cd".repeat(32)).unwrap();
        assert!(other.open("acme", &sealed).is_err());
        assert!(key.open("acme", "v1.AAAA").is_err());
        assert!(SecretKey::from_text("short").is_err());
        assert!(format!("{key:?}").contains("redacted"));
    }
}
