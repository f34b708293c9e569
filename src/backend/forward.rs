//! A backend credential that comes with the request instead of from `backend.auth`: a
//! connection's product key (`product_keys:`), checked by the gateway and passed on to every
//! backend call the SCIM request makes.
//!
//! It travels as a task-local value set around one SCIM operation ([`with_forwarded`]), so the
//! engine's many call sites need not carry it; the engine's one sending place
//! (`engine::op::Op::send`) reads it with [`forwarded`].

use http::{HeaderName, HeaderValue};

tokio::task_local! {
    static FORWARDED: Option<Forwarded>;
}

/// A credential header to send on the backend calls of one request.
#[derive(Clone, PartialEq, Eq)]
pub struct Forwarded {
    /// The header's name (`X-Api-Key`, `Authorization`).
    pub name: HeaderName,
    /// Its value, marked sensitive.
    pub value: HeaderValue,
}

impl std::fmt::Debug for Forwarded {
    // Hand-written: the value is a credential.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Forwarded({}: ***)", self.name)
    }
}

impl Forwarded {
    /// `name: value`, or `None` when either is not valid HTTP.
    pub fn new(name: &str, value: &str) -> Option<Self> {
        let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
        let mut value = HeaderValue::from_str(value).ok()?;
        value.set_sensitive(true);
        Some(Self { name, value })
    }
}

/// Runs `future` with `credential` as the backend credential of every call it makes.
pub async fn with_forwarded<F: Future>(credential: Option<Forwarded>, future: F) -> F::Output {
    FORWARDED.scope(credential, future).await
}

/// The credential of the request being served, if it brought one.
pub fn forwarded() -> Option<Forwarded> {
    FORWARDED.try_with(Clone::clone).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_credential_is_seen_inside_its_scope_only() {
        assert!(forwarded().is_none());
        let key = Forwarded::new("X-Api-Key", "k-1");
        let seen = with_forwarded(key, async { forwarded().map(|f| f.value) }).await;
        assert_eq!(seen.unwrap().to_str().unwrap(), "k-1");
        assert!(forwarded().is_none());
        assert!(Forwarded::new("bad header", "x").is_none());
        assert!(Forwarded::new("X-Api-Key", "a\nb").is_none());
        assert_eq!(
            format!("{:?}", Forwarded::new("X-Api-Key", "secret").unwrap()),
            "Forwarded(x-api-key: ***)"
        );
    }
}
