//! HTTP Basic users: password hashes as `sha256:<hex>` or Argon2 PHC strings.
//!
//! Argon2 is slow on purpose, so a successful verification is remembered (keyed by the SHA-256 of
//! the presented `user:password`, never the password itself) and at most
//! `server.limits.password_hash_concurrency` verifications run at once, process-wide, on the
//! blocking pool. The permit travels with the hash: a client that leaves does not free its slot
//! until its hash has ended, so dropped requests cannot pile up hashes (and their memory).
//! Failed logins are counted per user name and per peer; after `login_failures` of them within
//! `login_failure_window`, further attempts are refused without a password check until the
//! oldest failure leaves the window. Nothing here logs or returns a password.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use argon2::password_hash::PasswordHash;
use argon2::{Argon2, PasswordVerifier};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use super::bearer::{Sha256Digest, parse_hash_line, sha256};

/// How many remembered successful Argon2 verifications before the memory is cleared.
const CACHE_CAPACITY: usize = 1024;
/// Most user names (and, separately, peers) whose failed logins are remembered.
const FAILURE_KEYS: usize = 10_000;

/// The process-wide limits on password checks (`server.limits`), set at start.
static HASH_SLOTS: OnceLock<Arc<Semaphore>> = OnceLock::new();
static LOGIN_FAILURES: AtomicU32 = AtomicU32::new(5);
static LOGIN_WINDOW_MS: AtomicU64 = AtomicU64::new(60_000);

/// Applies `server.limits.password_hash_concurrency`, `login_failures` and
/// `login_failure_window`. The pool size is fixed by the first call (a restart changes it);
/// the failure limits apply from the next check.
pub fn configure(hash_concurrency: usize, login_failures: u32, window: Duration) {
    let _ = HASH_SLOTS.set(Arc::new(Semaphore::new(hash_concurrency.max(1))));
    LOGIN_FAILURES.store(login_failures.max(1), Ordering::Relaxed);
    LOGIN_WINDOW_MS.store(
        u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1),
        Ordering::Relaxed,
    );
}

fn hash_slots() -> Arc<Semaphore> {
    Arc::clone(HASH_SLOTS.get_or_init(|| {
        Arc::new(Semaphore::new(
            crate::settings::Limits::default().password_hash_concurrency,
        ))
    }))
}

/// A password hash from the settings, parsed.
#[derive(Debug)]
enum PasswordCheck {
    Sha256(Sha256Digest),
    /// The PHC string, already checked to parse.
    Argon2(String),
}

/// An Argon2id PHC string of `password` with Argon2's default cost (19 MiB, 2 passes, 1 lane)
/// and a fresh random salt, for `tenants[].auth.basic[].password_hash`
/// (`scimgate hash-password`).
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|error| error.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| error.to_string())
}

/// Parses a `password_hash` setting; `None` when it is neither accepted form.
fn parse_password_hash(text: &str) -> Option<PasswordCheck> {
    if text.starts_with("$argon2") {
        let hash = PasswordHash::new(text).ok()?;
        argon2::Algorithm::try_from(hash.algorithm).ok()?;
        argon2::Params::try_from(&hash).ok()?;
        hash.salt?;
        hash.hash?;
        return Some(PasswordCheck::Argon2(text.to_owned()));
    }
    parse_hash_line(text).map(PasswordCheck::Sha256)
}

/// The configured Basic users.
#[derive(Debug)]
pub(super) struct BasicUsers {
    users: Vec<(String, PasswordCheck)>,
    verified: Arc<Mutex<HashSet<Sha256Digest>>>,
    failures: Mutex<Failures>,
}

/// Recent failed logins, per user name and per peer.
#[derive(Debug, Default)]
struct Failures {
    users: HashMap<String, VecDeque<Instant>>,
    peers: HashMap<IpAddr, VecDeque<Instant>>,
}

/// How long until `times` (failures, oldest first) drops below `limit` within `window`;
/// `None` when it already is. Expired entries are removed.
fn blocked_for(
    times: &mut VecDeque<Instant>,
    limit: usize,
    window: Duration,
    now: Instant,
) -> Option<Duration> {
    while times
        .front()
        .is_some_and(|oldest| now.duration_since(*oldest) >= window)
    {
        times.pop_front();
    }
    if times.len() < limit {
        return None;
    }
    let oldest = *times.get(times.len() - limit)?;
    Some(window.saturating_sub(now.duration_since(oldest)))
}

fn remember<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, VecDeque<Instant>>,
    key: K,
    window: Duration,
    now: Instant,
) {
    if map.len() >= FAILURE_KEYS && !map.contains_key(&key) {
        map.retain(|_, times| {
            times
                .back()
                .is_some_and(|last| now.duration_since(*last) < window)
        });
        if map.len() >= FAILURE_KEYS {
            // Still full of recent failures: forget them rather than grow without bound.
            map.clear();
        }
    }
    let times = map.entry(key).or_default();
    times.push_back(now);
    // Only the last `limit` failures matter; keep the list short.
    let limit = LOGIN_FAILURES.load(Ordering::Relaxed) as usize;
    while times.len() > limit {
        times.pop_front();
    }
}

impl Failures {
    fn blocked(&mut self, username: &str, peer: Option<IpAddr>, now: Instant) -> Option<Duration> {
        let limit = LOGIN_FAILURES.load(Ordering::Relaxed) as usize;
        let window = Duration::from_millis(LOGIN_WINDOW_MS.load(Ordering::Relaxed));
        let user = self
            .users
            .get_mut(username)
            .and_then(|times| blocked_for(times, limit, window, now));
        let peer = peer
            .and_then(|peer| self.peers.get_mut(&peer))
            .and_then(|times| blocked_for(times, limit, window, now));
        user.into_iter().chain(peer).max()
    }

    fn record(&mut self, username: &str, peer: Option<IpAddr>, now: Instant) {
        let window = Duration::from_millis(LOGIN_WINDOW_MS.load(Ordering::Relaxed));
        remember(&mut self.users, username.to_owned(), window, now);
        if let Some(peer) = peer {
            remember(&mut self.peers, peer, window, now);
        }
    }
}

/// The outcome of checking one Basic credential.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The user exists and the password matches.
    Accepted,
    /// Unknown user or wrong password (not told apart, on purpose).
    Rejected,
    /// Too many recent failures for this user name or peer: not checked; retry after this.
    Throttled(Duration),
}

impl BasicUsers {
    /// Builds the user list from settings, pushing one message per problem into `problems`.
    pub(super) fn from_settings(
        users: &[super::BasicUser],
        problems: &mut Vec<String>,
    ) -> Option<Self> {
        if users.is_empty() {
            problems.push(
                "auth.basic: the list is empty (add `{ username, password_hash }` entries, or \
                 remove `basic`)"
                    .to_owned(),
            );
            return None;
        }
        let mut parsed: Vec<(String, PasswordCheck)> = Vec::with_capacity(users.len());
        let mut seen = HashSet::new();
        for (index, user) in users.iter().enumerate() {
            let key = format!("auth.basic[{index}]");
            if user.username.is_empty() || user.username.contains(':') {
                problems.push(format!(
                    "{key}.username: `{}` is not usable (a non-empty name without `:`)",
                    user.username
                ));
            } else if !seen.insert(user.username.as_str()) {
                problems.push(format!(
                    "{key}.username: `{}` is listed twice (each user once)",
                    user.username
                ));
            }
            match parse_password_hash(&user.password_hash) {
                Some(check) => parsed.push((user.username.clone(), check)),
                None => problems.push(format!(
                    "{key}.password_hash: not a password hash (\"sha256:\" followed by 64 hex \
                     digits, or an Argon2 PHC string starting with \"$argon2id$\")"
                )),
            }
        }
        Some(Self {
            users: parsed,
            verified: Arc::default(),
            failures: Mutex::default(),
        })
    }

    /// Checks `username` and `password` sent from `peer`, counting failures.
    pub(super) async fn check_from(
        &self,
        username: &str,
        password: &str,
        peer: Option<IpAddr>,
    ) -> Outcome {
        if let Ok(mut failures) = self.failures.lock()
            && let Some(wait) = failures.blocked(username, peer, Instant::now())
        {
            return Outcome::Throttled(wait);
        }
        let outcome = self.check(username, password).await;
        if let Ok(mut failures) = self.failures.lock() {
            match outcome {
                Outcome::Rejected => failures.record(username, peer, Instant::now()),
                // A success ends the user name's run of failures (not the peer's).
                Outcome::Accepted => {
                    failures.users.remove(username);
                }
                Outcome::Throttled(_) => {}
            }
        }
        outcome
    }

    /// Checks `username` and `password`.
    pub(super) async fn check(&self, username: &str, password: &str) -> Outcome {
        let Some((_, check)) = self.users.iter().find(|(name, _)| name == username) else {
            // Spend the same time as for a known Argon2 user, so timing does not reveal which
            // user names exist.
            if let Some(phc) = self.users.iter().find_map(|(_, check)| match check {
                PasswordCheck::Argon2(phc) => Some(phc),
                PasswordCheck::Sha256(_) => None,
            }) {
                let _ = self.run_argon2(phc, password).await;
            }
            return Outcome::Rejected;
        };
        match check {
            PasswordCheck::Sha256(expected) => {
                if bool::from(expected.ct_eq(&sha256(password.as_bytes()))) {
                    Outcome::Accepted
                } else {
                    Outcome::Rejected
                }
            }
            PasswordCheck::Argon2(phc) => self.check_argon2(phc, username, password).await,
        }
    }

    async fn check_argon2(&self, phc: &str, username: &str, password: &str) -> Outcome {
        // The username cannot contain ':', so `user:password` identifies the pair.
        let key = sha256(format!("{username}:{password}").as_bytes());
        if self.remembered(&key) {
            return Outcome::Accepted;
        }
        if !self.run_argon2(phc, password).await {
            return Outcome::Rejected;
        }
        if let Ok(mut remembered) = self.verified.lock() {
            if remembered.len() >= CACHE_CAPACITY {
                remembered.clear();
            }
            remembered.insert(key);
        }
        Outcome::Accepted
    }

    /// Verifies `password` against the PHC string on the blocking pool, a few at a time. The
    /// permit moves into the blocking task, so it is held until the hash ends even when this
    /// future is dropped (the client left).
    async fn run_argon2(&self, phc: &str, password: &str) -> bool {
        let Ok(slot) = hash_slots().acquire_owned().await else {
            return false;
        };
        let phc = phc.to_owned();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let _running = crate::metrics::global().password_hash();
            PasswordHash::new(&phc).is_ok_and(|hash| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
        })
        .await
        .unwrap_or(false)
    }

    fn remembered(&self, key: &Sha256Digest) -> bool {
        self.verified
            .lock()
            .is_ok_and(|remembered| remembered.contains(key))
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, SaltString};
    use argon2::{Algorithm, Params, Version};

    use super::super::BasicUser;
    use super::super::bearer::token_hash_line;
    use super::*;

    /// A cheap Argon2id hash, so the test stays fast.
    fn argon2_hash(password: &str) -> String {
        let params = Params::new(8, 1, 1, None).unwrap();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::encode_b64(b"fixed test salt!").unwrap();
        argon2
            .hash_password(password.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    fn users(list: &[(&str, String)]) -> Result<BasicUsers, Vec<String>> {
        let settings: Vec<BasicUser> = list
            .iter()
            .map(|(username, password_hash)| BasicUser {
                username: (*username).to_owned(),
                password_hash: password_hash.clone(),
            })
            .collect();
        let mut problems = Vec::new();
        let users = BasicUsers::from_settings(&settings, &mut problems);
        match users {
            Some(users) if problems.is_empty() => Ok(users),
            _ => Err(problems),
        }
    }

    #[tokio::test]
    async fn sha256_and_argon2_passwords_are_checked() {
        let users = users(&[
            ("alice", token_hash_line("alice-secret")),
            ("bob", argon2_hash("bob-secret")),
        ])
        .unwrap();
        assert_eq!(
            users.check("alice", "alice-secret").await,
            Outcome::Accepted
        );
        assert_eq!(users.check("alice", "bob-secret").await, Outcome::Rejected);
        assert_eq!(users.check("bob", "bob-secret").await, Outcome::Accepted);
        assert_eq!(users.check("bob", "Bob-secret").await, Outcome::Rejected);
        assert_eq!(
            users.check("carol", "alice-secret").await,
            Outcome::Rejected
        );
    }

    #[tokio::test]
    async fn argon2_success_is_remembered_but_failures_are_not() {
        let users = users(&[("bob", argon2_hash("bob-secret"))]).unwrap();
        assert_eq!(users.check("bob", "wrong").await, Outcome::Rejected);
        assert!(!users.remembered(&sha256(b"bob:wrong")));
        assert_eq!(users.check("bob", "bob-secret").await, Outcome::Accepted);
        assert!(users.remembered(&sha256(b"bob:bob-secret")));
        assert_eq!(users.check("bob", "bob-secret").await, Outcome::Accepted);
    }

    #[tokio::test]
    async fn hash_password_makes_an_argon2id_hash_that_verifies() {
        let phc = hash_password("c0rrect horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_ne!(phc, hash_password("c0rrect horse").unwrap(), "fresh salt");
        let users = users(&[("svc", phc)]).unwrap();
        assert_eq!(users.check("svc", "c0rrect horse").await, Outcome::Accepted);
        assert_eq!(users.check("svc", "c0rrect").await, Outcome::Rejected);
    }

    #[tokio::test]
    async fn failed_logins_back_off_per_user_name_and_per_peer() {
        let users = users(&[("alice", token_hash_line("alice-secret"))]).unwrap();
        let peer: Option<IpAddr> = Some("192.0.2.7".parse().unwrap());
        let other: Option<IpAddr> = Some("192.0.2.8".parse().unwrap());
        for _ in 0..5 {
            assert_eq!(
                users.check_from("alice", "wrong", peer).await,
                Outcome::Rejected
            );
        }
        // The sixth attempt is not checked, even with the right password, from any peer.
        let Outcome::Throttled(wait) = users.check_from("alice", "alice-secret", other).await
        else {
            panic!("not throttled");
        };
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        // The peer is throttled for other user names too.
        assert!(matches!(
            users.check_from("bob", "x", peer).await,
            Outcome::Throttled(_)
        ));
    }

    #[test]
    fn bad_settings_are_all_reported() {
        let problems = users(&[
            ("a:b", token_hash_line("x")),
            ("carol", "plain-text-password".to_owned()),
            ("carol", "$argon2id$garbage".to_owned()),
        ])
        .unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].starts_with("auth.basic[0].username:"));
        assert!(problems[1].starts_with("auth.basic[1].password_hash:"));
        assert!(problems[2].starts_with("auth.basic[2].username:"));
        assert!(problems[3].starts_with("auth.basic[2].password_hash:"));
        assert!(!problems.concat().contains("plain-text-password"));
    }
}
