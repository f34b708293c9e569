//! What the demo API can be told to get wrong, and what it counts: the fault queue and the call
//! counters behind `/_admin/faults` and `/_admin/calls` (and `DemoServer::inject` / `calls`).
//!
//! Only bookkeeping: choosing the fault for a request and counting it. Carrying a fault out
//! (sleeping, closing the connection, cutting a body) is the server's job.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a faulted request goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultMode {
    /// Wait `delay_ms`, then answer normally.
    Delay,
    /// Answer `status` (default 503) with `body` (default `{"error":"injected"}`) and
    /// `Retry-After` when given, without applying the request.
    Status,
    /// Close the connection without answering, before applying the request.
    Drop,
    /// Answer 200 with a body that is not JSON, without applying the request.
    Garbage,
    /// Apply the request, then send headers whose `Content-Length` exceeds the body and close
    /// mid-body: the backend took the write but the answer was lost.
    Truncate,
}

/// One queued fault, as posted to `/_admin/faults`; tests build it with the constructors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// What goes wrong.
    pub mode: FaultMode,
    /// Milliseconds to wait before acting; used by every mode, not only `delay`.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// The status for `status` mode (default 503).
    #[serde(default)]
    pub status: Option<u16>,
    /// Seconds for a `Retry-After` header in `status` mode.
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// The error text of a `status` fault (default `injected`), e.g. one quoting a value.
    #[serde(default)]
    pub message: Option<String>,
    /// The JSON body of a `status` answer (default `{"error":"injected"}`): how another product
    /// spells its errors.
    #[serde(default)]
    pub body: Option<Value>,
    /// How many upcoming matching requests get this fault; `None` means until cleared.
    #[serde(default)]
    pub count: Option<u64>,
    /// How many matching requests pass untouched before the fault starts (`2`: the third
    /// matching request is the first to fail).
    #[serde(default)]
    pub after: Option<u64>,
    /// Which requests match: `"POST /api/v1/users"` (method and route template), a template
    /// alone (`"/api/v1/users/{id}"`), or a method alone (`"DELETE"`); `None` matches all.
    #[serde(default)]
    pub route: Option<String>,
}

impl Fault {
    /// A fault of `mode` on every request until cleared; refine it with the builder methods.
    pub fn new(mode: FaultMode) -> Self {
        Self {
            mode,
            delay_ms: None,
            status: None,
            retry_after: None,
            message: None,
            body: None,
            count: None,
            after: None,
            route: None,
        }
    }

    /// Wait `ms` milliseconds, then answer normally.
    pub fn delay(ms: u64) -> Self {
        Self {
            delay_ms: Some(ms),
            ..Self::new(FaultMode::Delay)
        }
    }

    /// Answer `status` without applying the request.
    pub fn status(status: u16) -> Self {
        Self {
            status: Some(status),
            ..Self::new(FaultMode::Status)
        }
    }

    /// Close the connection without answering.
    pub fn drop_connection() -> Self {
        Self::new(FaultMode::Drop)
    }

    /// Answer 200 with a non-JSON body.
    pub fn garbage() -> Self {
        Self::new(FaultMode::Garbage)
    }

    /// Apply the request, then cut the answer short.
    pub fn truncate() -> Self {
        Self::new(FaultMode::Truncate)
    }

    /// Let `passed` matching requests through first (fail the request after them).
    #[must_use]
    pub fn after(self, passed: u64) -> Self {
        Self {
            after: Some(passed),
            ..self
        }
    }

    /// Only the next `count` matching requests.
    #[must_use]
    pub fn times(self, count: u64) -> Self {
        Self {
            count: Some(count),
            ..self
        }
    }

    /// Only requests matching `route` (see [`Fault::route`]).
    #[must_use]
    pub fn on(self, route: &str) -> Self {
        Self {
            route: Some(route.to_owned()),
            ..self
        }
    }

    /// Answer a `status` fault with this error text instead of `injected`.
    #[must_use]
    pub fn message(self, text: &str) -> Self {
        Self {
            message: Some(text.to_owned()),
            ..self
        }
    }

    /// Answer a `status` fault with this JSON body.
    #[must_use]
    pub fn with_body(self, body: Value) -> Self {
        Self {
            body: Some(body),
            ..self
        }
    }

    /// Send `Retry-After: secs` with a `status` fault.
    #[must_use]
    pub fn retry_after(self, secs: u64) -> Self {
        Self {
            retry_after: Some(secs),
            ..self
        }
    }

    /// Whether this fault applies to a request with `method` whose route template is `template`.
    fn matches(&self, method: &str, template: &str) -> bool {
        let Some(route) = self.route.as_deref().map(str::trim) else {
            return true;
        };
        match route.split_once(' ') {
            Some((m, t)) => m.eq_ignore_ascii_case(method) && t.trim() == template,
            None if route.starts_with('/') => route == template,
            None => route.eq_ignore_ascii_case(method),
        }
    }
}

/// How many API calls the demo received, in total and per `"METHOD /route/{template}"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCounts {
    /// Every counted request, faulted ones included.
    pub total: u64,
    /// Counts keyed by method and route template, e.g. `"GET /api/v1/users/{id}"`.
    pub by_route: BTreeMap<String, u64>,
}

impl CallCounts {
    /// The count for one `"METHOD /template"` key (0 when never called).
    pub fn route(&self, key: &str) -> u64 {
        self.by_route.get(key).copied().unwrap_or(0)
    }
}

/// How many recent requests [`Control::remember`] keeps.
pub(crate) const RECENT_REQUESTS: usize = 1024;

/// Call counters, the fault queue and the most recent raw request targets; the server keeps one
/// behind a mutex.
#[derive(Debug, Default)]
pub(crate) struct Control {
    pub(crate) calls: CallCounts,
    faults: Vec<Fault>,
    recent: VecDeque<String>,
}

impl Control {
    /// Counts one API request and takes the first queued fault that matches it, using up one of
    /// its `count`.
    pub(crate) fn record(&mut self, method: &str, template: &str) -> Option<Fault> {
        self.calls.total += 1;
        *self
            .calls
            .by_route
            .entry(format!("{method} {template}"))
            .or_default() += 1;
        let index = self
            .faults
            .iter()
            .position(|fault| fault.matches(method, template))?;
        let fault = &mut self.faults[index];
        if let Some(passed) = fault.after.as_mut().filter(|n| **n > 0) {
            *passed -= 1;
            return None;
        }
        match &mut fault.count {
            None => Some(fault.clone()),
            Some(left) if *left > 1 => {
                *left -= 1;
                Some(fault.clone())
            }
            Some(_) => Some(self.faults.remove(index)),
        }
    }

    /// Keeps `"METHOD /raw/path?query"` of one API request (as received, still percent-encoded),
    /// dropping the oldest beyond [`RECENT_REQUESTS`], so tests can check what reached the API.
    pub(crate) fn remember(&mut self, method: &str, target: &str) {
        if self.recent.len() == RECENT_REQUESTS {
            self.recent.pop_front();
        }
        self.recent.push_back(format!("{method} {target}"));
    }

    /// The remembered request targets, oldest first.
    pub(crate) fn recent(&self) -> Vec<String> {
        self.recent.iter().cloned().collect()
    }

    /// Queues a fault behind those already queued; a fault with `count: 0` is ignored.
    pub(crate) fn inject(&mut self, fault: Fault) {
        if fault.count != Some(0) {
            self.faults.push(fault);
        }
    }

    /// Removes every queued fault.
    pub(crate) fn clear_faults(&mut self) {
        self.faults.clear();
    }

    /// The faults still queued.
    pub(crate) fn faults(&self) -> &[Fault] {
        &self.faults
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_faults_run_out_and_the_next_one_takes_over() {
        let mut control = Control::default();
        control.inject(Fault::status(503).times(2).on("POST /api/v1/users"));
        control.inject(Fault::garbage().on("/api/v1/users"));
        let mode = |c: &mut Control, m: &str| c.record(m, "/api/v1/users").map(|f| f.mode);
        assert_eq!(mode(&mut control, "GET"), Some(FaultMode::Garbage));
        assert_eq!(mode(&mut control, "POST"), Some(FaultMode::Status));
        assert_eq!(mode(&mut control, "POST"), Some(FaultMode::Status));
        assert_eq!(mode(&mut control, "POST"), Some(FaultMode::Garbage));
        assert_eq!(control.faults().len(), 1);
        assert_eq!(control.calls.total, 4);
        assert_eq!(control.calls.route("POST /api/v1/users"), 3);
        control.clear_faults();
        assert_eq!(mode(&mut control, "POST"), None);
    }

    #[test]
    fn a_fault_after_n_lets_n_matching_requests_through() {
        let mut control = Control::default();
        control.inject(Fault::status(500).after(2).times(1).on("POST"));
        let failed = |c: &mut Control, m: &str| c.record(m, "/api/v1/users").is_some();
        assert!(!failed(&mut control, "GET"), "not matching, not counted");
        assert!(!failed(&mut control, "POST"));
        assert!(!failed(&mut control, "POST"));
        assert!(failed(&mut control, "POST"), "the third matching request");
        assert!(!failed(&mut control, "POST"), "used up");
        assert!(control.faults().is_empty());
    }

    #[test]
    fn remembers_only_the_most_recent_request_targets() {
        let mut control = Control::default();
        for n in 0..RECENT_REQUESTS + 2 {
            control.remember("GET", &format!("/api/v1/users/{n}"));
        }
        let recent = control.recent();
        assert_eq!(recent.len(), RECENT_REQUESTS);
        assert_eq!(recent[0], "GET /api/v1/users/2");
        assert_eq!(
            recent.last().map(String::as_str),
            Some(format!("GET /api/v1/users/{}", RECENT_REQUESTS + 1).as_str())
        );
    }

    #[test]
    fn route_filters_match_method_template_or_both() {
        let on = |route: &str| Fault::drop_connection().on(route);
        assert!(on("DELETE").matches("DELETE", "/api/v1/users/{id}"));
        assert!(!on("DELETE").matches("GET", "/api/v1/users/{id}"));
        assert!(on("/api/v1/users/{id}").matches("PUT", "/api/v1/users/{id}"));
        assert!(!on("/api/v1/users/{id}").matches("PUT", "/api/v1/users"));
        assert!(on("put /api/v1/users/{id}").matches("PUT", "/api/v1/users/{id}"));
        assert!(Fault::drop_connection().matches("GET", "/anything"));
    }

    #[test]
    fn admin_json_deserialises_into_a_fault() -> Result<(), serde_json::Error> {
        let fault: Fault = serde_json::from_str(
            r#"{"mode":"status","status":429,"retry_after":2,"count":3,"route":"POST /api/v1/users"}"#,
        )?;
        assert_eq!(
            fault,
            Fault::status(429)
                .retry_after(2)
                .times(3)
                .on("POST /api/v1/users")
        );
        assert!(serde_json::from_str::<Fault>(r#"{"mode":"explode"}"#).is_err());
        Ok(())
    }
}
