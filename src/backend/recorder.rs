//! [`Recorder`]: an in-memory [`Backend`] that answers from canned answers and records every
//! call, so the real engine can run without a socket (mapping `tests:` cases, `translate`,
//! engine unit tests).
//!
//! A call is checked the way [`BackendClient`](super::BackendClient) checks it before sending
//! (the path must stay below the base, headers must be safe), then recorded (operation, method,
//! path and query, headers, body), then answered: first by a matching one-shot answer
//! ([`Recorder::once`], in the order given), else by a standing rule ([`Recorder::on`]), else by
//! the answerer closure ([`Recorder::answering`]), else `404 {"error": "no canned answer"}`.
//! Non-2xx answers become the same [`Error::Status`] the HTTP client produces (the backend's
//! message extracted the same way). Must not: do I/O, retry, or know SCIM.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use http::{HeaderMap, Method, StatusCode};
use serde_json::{Value, json};
use tokio::time::Instant;
use url::Url;

use super::client::{checked_headers, read_answer};
use super::safe_url::BaseUrl;
use super::{Backend, BackendRequest, BackendResponse, BoxFuture, Error};

/// The base URL recorded paths are checked against (never contacted).
const RECORDER_BASE: &str = "http://backend.invalid/";

/// One call the recorder received, as the engine sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCall {
    /// The operation label, e.g. `users.create`.
    pub operation: String,
    /// HTTP method.
    pub method: Method,
    /// Path and query exactly as sent, relative to the backend's base URL.
    pub path_and_query: String,
    /// The request's headers after the client's checks (no credentials: those are the
    /// client's to add).
    pub headers: HeaderMap,
    /// The JSON body, when there is one.
    pub body: Option<Value>,
}

impl RecordedCall {
    /// The path without its query.
    pub fn path(&self) -> &str {
        self.path_and_query
            .split_once('?')
            .map_or(self.path_and_query.as_str(), |(path, _)| path)
    }

    /// Whether this call changes the backend (anything but GET and HEAD).
    pub fn is_write(&self) -> bool {
        !matches!(self.method, Method::GET | Method::HEAD)
    }
}

/// A canned backend answer.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The backend answers with this status, headers and (JSON) body.
    Reply {
        /// The status.
        status: StatusCode,
        /// The headers (e.g. `Location`, `Link`, `X-Total-Count`).
        headers: HeaderMap,
        /// The JSON body; `None` is an empty body.
        body: Option<Value>,
    },
    /// The backend cannot be reached ([`Error::Unavailable`]).
    Unavailable,
}

impl Answer {
    /// A reply with `status` and a JSON body.
    pub fn json(status: StatusCode, body: Value) -> Self {
        Self::Reply {
            status,
            headers: HeaderMap::new(),
            body: Some(body),
        }
    }

    /// `200 OK` with a JSON body.
    pub fn ok(body: Value) -> Self {
        Self::json(StatusCode::OK, body)
    }

    /// `201 Created` with a JSON body.
    pub fn created(body: Value) -> Self {
        Self::json(StatusCode::CREATED, body)
    }

    /// `204 No Content`.
    pub fn no_content() -> Self {
        Self::status(StatusCode::NO_CONTENT)
    }

    /// A reply with `status` and an empty body.
    pub fn status(status: StatusCode) -> Self {
        Self::Reply {
            status,
            headers: HeaderMap::new(),
            body: None,
        }
    }

    /// The same answer with one more header (ignored for [`Answer::Unavailable`]).
    #[must_use]
    pub fn with_header(mut self, name: http::HeaderName, value: http::HeaderValue) -> Self {
        if let Self::Reply { headers, .. } = &mut self {
            headers.append(name, value);
        }
        self
    }
}

/// Which calls a rule answers.
#[derive(Debug)]
struct Rule {
    method: Method,
    /// Matched against the path without its query, or against path and query when it holds
    /// a `?`.
    path: String,
    answer: Answer,
}

impl Rule {
    fn matches(&self, call: &RecordedCall) -> bool {
        let target = if self.path.contains('?') {
            call.path_and_query.as_str()
        } else {
            call.path()
        };
        self.method == call.method && self.path == target
    }
}

type Answerer = Box<dyn FnMut(&RecordedCall) -> Answer + Send>;

/// The in-memory backend; see the module docs for how a call is answered.
pub struct Recorder {
    /// `None` only if [`RECORDER_BASE`] stopped being a valid base (then every call is refused).
    base: Option<BaseUrl>,
    once: Mutex<Vec<Rule>>,
    rules: Vec<Rule>,
    answerer: Mutex<Option<Answerer>>,
    calls: Mutex<Vec<RecordedCall>>,
    count: AtomicU64,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("rules", &self.rules.len())
            .field("calls", &self.count.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// A recorder without canned answers (every call gets `404`).
    pub fn new() -> Self {
        let base = Url::parse(RECORDER_BASE)
            .ok()
            .and_then(|url| BaseUrl::new(url).ok());
        Self {
            base,
            once: Mutex::new(Vec::new()),
            rules: Vec::new(),
            answerer: Mutex::new(None),
            calls: Mutex::new(Vec::new()),
            count: AtomicU64::new(0),
        }
    }

    /// A recorder whose calls `answerer` answers (after any `once`/`on` rules).
    pub fn answering(answerer: impl FnMut(&RecordedCall) -> Answer + Send + 'static) -> Self {
        let recorder = Self::new();
        *lock(&recorder.answerer) = Some(Box::new(answerer));
        recorder
    }

    /// Answers every `method` call of `path` with `answer` (a `?` in `path` makes the query
    /// part of the match). The first matching rule wins.
    #[must_use]
    pub fn on(mut self, method: Method, path: &str, answer: Answer) -> Self {
        self.rules.push(Rule {
            method,
            path: path.to_owned(),
            answer,
        });
        self
    }

    /// Answers the next `method` call of `path` with `answer`, once; one-shot answers for the
    /// same call are used in the order given, before any [`Recorder::on`] rule.
    #[must_use]
    pub fn once(self, method: Method, path: &str, answer: Answer) -> Self {
        lock(&self.once).push(Rule {
            method,
            path: path.to_owned(),
            answer,
        });
        self
    }

    /// Every call received so far, in order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        lock(&self.calls).clone()
    }

    /// The calls that change the backend (not GET/HEAD), in order.
    pub fn writes(&self) -> Vec<RecordedCall> {
        lock(&self.calls)
            .iter()
            .filter(|call| call.is_write())
            .cloned()
            .collect()
    }

    /// `METHOD path?query` of every call, in order: short to assert on.
    pub fn lines(&self) -> Vec<String> {
        lock(&self.calls)
            .iter()
            .map(|call| format!("{} {}", call.method, call.path_and_query))
            .collect()
    }

    fn answer(&self, call: &RecordedCall) -> Answer {
        {
            let mut once = lock(&self.once);
            if let Some(index) = once.iter().position(|rule| rule.matches(call)) {
                return once.remove(index).answer;
            }
        }
        if let Some(rule) = self.rules.iter().find(|rule| rule.matches(call)) {
            return rule.answer.clone();
        }
        if let Some(answerer) = lock(&self.answerer).as_mut() {
            return answerer(call);
        }
        Answer::json(StatusCode::NOT_FOUND, json!({"error": "no canned answer"}))
    }

    fn handle(&self, request: BackendRequest, deadline: Instant) -> Result<BackendResponse, Error> {
        let operation = request.operation;
        if Instant::now() >= deadline {
            return Err(Error::Timeout { operation });
        }
        let base = self.base.as_ref().ok_or_else(|| Error::InvalidConfig {
            reason: "the recorder's base URL is not valid".to_owned(),
        })?;
        base.join(&request.path_and_query)
            .map_err(|reason| Error::UnsafePath {
                operation,
                path_template: request.path_template.clone(),
                reason: reason.to_owned(),
            })?;
        let headers = checked_headers(&request)?;
        let call = RecordedCall {
            operation: request.operation.to_string(),
            method: request.method,
            path_and_query: request.path_and_query,
            headers,
            body: request.body,
        };
        self.count.fetch_add(1, Ordering::Relaxed);
        let answer = self.answer(&call);
        lock(&self.calls).push(call);
        match answer {
            Answer::Unavailable => Err(Error::Unavailable {
                operation,
                reason: "the recorder's answer: unavailable".to_owned(),
            }),
            Answer::Reply {
                status,
                headers,
                body,
            } => {
                let bytes = body.map(|b| b.to_string()).unwrap_or_default();
                read_answer(operation, status, headers, bytes.as_bytes())
            }
        }
    }
}

impl Backend for Recorder {
    fn call(
        &self,
        request: BackendRequest,
        deadline: Instant,
    ) -> BoxFuture<'_, Result<BackendResponse, Error>> {
        let result = self.handle(request, deadline);
        Box::pin(std::future::ready(result))
    }

    fn calls_made(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// Locks `mutex`, also after a panic elsewhere (the data is a plain list).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn request(method: Method, path: &str) -> BackendRequest {
        BackendRequest::new(
            crate::operation::BackendOp::new(
                crate::scim::ResourceKind::User,
                crate::operation::OpName::Get,
            ),
            method,
            "/users/{id}",
            path,
        )
    }

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[tokio::test]
    async fn once_answers_come_first_then_rules_then_the_answerer() {
        let recorder = Recorder::answering(|_| Answer::ok(json!({"from": "answerer"})))
            .on(Method::GET, "/users/1", Answer::ok(json!({"from": "rule"})))
            .once(Method::GET, "/users/1", Answer::ok(json!({"from": "once"})));
        let mut seen = Vec::new();
        for path in ["/users/1", "/users/1", "/users/2"] {
            let response = Backend::call(&recorder, request(Method::GET, path), later())
                .await
                .unwrap();
            seen.push(response.body.unwrap()["from"].clone());
        }
        assert_eq!(seen, [json!("once"), json!("rule"), json!("answerer")]);
        assert_eq!(recorder.calls_made(), 3);
        assert_eq!(
            recorder.lines(),
            ["GET /users/1", "GET /users/1", "GET /users/2"]
        );
    }

    #[tokio::test]
    async fn error_answers_are_status_errors_with_the_backend_message() {
        let recorder = Recorder::new().on(
            Method::POST,
            "/users",
            Answer::json(StatusCode::CONFLICT, json!({"error": "email taken"})),
        );
        let error = Backend::call(&recorder, request(Method::POST, "/users"), later())
            .await
            .unwrap_err();
        let Error::Status {
            status, message, ..
        } = error
        else {
            panic!("not a status error: {error:?}");
        };
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(message, "email taken");
        // Unanswered calls are a 404, recorded too.
        let error = Backend::call(&recorder, request(Method::GET, "/nothing"), later())
            .await
            .unwrap_err();
        assert_eq!(error.status(), Some(StatusCode::NOT_FOUND));
        assert_eq!(recorder.calls().len(), 2);
        assert_eq!(recorder.writes().len(), 1);
    }

    #[tokio::test]
    async fn unsafe_paths_and_headers_are_refused_before_recording() {
        let recorder = Recorder::new();
        let error = Backend::call(&recorder, request(Method::GET, "//evil/x"), later())
            .await
            .unwrap_err();
        assert!(matches!(error, Error::UnsafePath { .. }), "{error:?}");
        let mut bad = request(Method::GET, "/users/1");
        bad.headers.push((
            http::header::HOST,
            http::HeaderValue::from_static("elsewhere"),
        ));
        let error = Backend::call(&recorder, bad, later()).await.unwrap_err();
        assert!(matches!(error, Error::UnsafeHeader { .. }), "{error:?}");
        assert!(recorder.calls().is_empty());
        assert_eq!(recorder.calls_made(), 0);
    }
}
