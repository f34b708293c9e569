//! The process's Prometheus metrics: one registry, the metric families, and the cheap
//! recording calls the rest of the crate makes.
//!
//! Families (all prefixed `scimgate_`): SCIM requests by resource, operation and status class,
//! with a latency histogram; backend calls by mapping operation (`users.get`) and status class
//! (`error` for transport failures), with a latency histogram; authentication failures by
//! reason; store operations by operation and outcome; audit-trail write failures; requests in
//! flight; and `scimgate_build_info{version=…} 1`.
//!
//! The registry is process-wide ([`global`]) so that the one backend hook ([`backend_call`])
//! stays a plain function call. Labels of the hot paths are `&'static str`, so recording a
//! request allocates nothing. Nothing here chooses statuses or logs; [`render`] produces the
//! OpenMetrics text served at `/metrics`. Label values never hold ids, names or credentials.

pub mod store;

use crate::operation::BackendOp;
use std::cell::Cell;
use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::service::{Operation, Resource};

/// The `Content-Type` of [`render`]'s output (OpenMetrics text, which Prometheus scrapes).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets in seconds: 5 ms to 60 s (the longest request timeout worth telling apart).
const BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    resource: &'static str,
    operation: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    resource: &'static str,
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabels {
    operation: String,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendOperationLabels {
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    operation: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

type HistogramFamily<S> = Family<S, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// Every metric family of the process, registered in one [`Registry`].
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_duration: HistogramFamily<RouteLabels>,
    backend_calls: Family<BackendLabels, Counter>,
    backend_duration: HistogramFamily<BackendOperationLabels>,
    auth_failures: Family<ReasonLabels, Counter>,
    store_operations: Family<StoreLabels, Counter>,
    audit_failures: Counter,
    in_flight: Gauge,
    password_hashes: Gauge,
    password_hashes_peak: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// The process-wide metrics, created on first use.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// The OpenMetrics text of every family (what `/metrics` answers).
pub fn render() -> String {
    global().render()
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "scimgate_scim_requests",
            "SCIM requests answered, by resource, operation and status class",
            requests.clone(),
        );
        let request_duration: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "scimgate_scim_request_duration_seconds",
            "Time to answer a SCIM request, by resource and operation",
            request_duration.clone(),
        );
        let backend_calls = Family::<BackendLabels, Counter>::default();
        registry.register(
            "scimgate_backend_calls",
            "Backend calls (retries inside one call included), by mapping operation and \
             status class (`error`: no HTTP answer)",
            backend_calls.clone(),
        );
        let backend_duration: HistogramFamily<BackendOperationLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "scimgate_backend_call_duration_seconds",
            "Time of one backend call, retries included, by mapping operation",
            backend_duration.clone(),
        );
        let auth_failures = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "scimgate_auth_failures",
            "Requests refused by authentication, by reason",
            auth_failures.clone(),
        );
        let store_operations = Family::<StoreLabels, Counter>::default();
        registry.register(
            "scimgate_store_operations",
            "Store operations, by operation and outcome",
            store_operations.clone(),
        );
        let audit_failures = Counter::default();
        registry.register(
            "scimgate_audit_write_failures",
            "Audit entries that could not be written to the store",
            audit_failures.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "scimgate_requests_in_flight",
            "HTTP requests being answered now",
            in_flight.clone(),
        );
        let password_hashes = Gauge::default();
        registry.register(
            "scimgate_password_hashes_running",
            "Argon2 password verifications running now",
            password_hashes.clone(),
        );
        let password_hashes_peak = Gauge::default();
        registry.register(
            "scimgate_password_hashes_peak",
            "Most Argon2 password verifications that ran at once since start",
            password_hashes_peak.clone(),
        );
        registry.register(
            "scimgate_build",
            "The running scimgate's version",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        Self {
            registry,
            requests,
            request_duration,
            backend_calls,
            backend_duration,
            auth_failures,
            store_operations,
            audit_failures,
            in_flight,
            password_hashes,
            password_hashes_peak,
        }
    }

    /// Counts one running Argon2 verification until the guard is dropped (and the peak).
    pub fn password_hash(&self) -> InFlight {
        let now = self.password_hashes.inc() + 1;
        self.password_hashes_peak
            .inner()
            .fetch_max(now, std::sync::atomic::Ordering::Relaxed);
        InFlight(self.password_hashes.clone())
    }

    /// Counts one answered SCIM request and observes its latency.
    pub fn scim_request(
        &self,
        resource: Resource,
        operation: Operation,
        status: u16,
        elapsed: Duration,
    ) {
        let (resource, operation) = (
            resource_label(resource),
            operation_label(resource, operation),
        );
        self.requests
            .get_or_create(&RequestLabels {
                resource,
                operation,
                status: status_class(Some(status)),
            })
            .inc();
        self.request_duration
            .get_or_create(&RouteLabels {
                resource,
                operation,
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts one authentication failure; `reason` is the authenticator's stable label
    /// (`missing`, `malformed`, `invalid_token`, `bad_credentials`, `expired`, …).
    pub fn auth_failure(&self, reason: &'static str) {
        self.auth_failures
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }

    /// Counts one store operation and its outcome (`ok`, `conflict`, `not_found`, `error`).
    pub fn store_operation(&self, operation: &'static str, outcome: &'static str) {
        self.store_operations
            .get_or_create(&StoreLabels { operation, outcome })
            .inc();
    }

    /// Counts an audit entry the store refused.
    pub fn audit_write_failed(&self) {
        self.audit_failures.inc();
    }

    /// Marks one request in flight until the guard is dropped.
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    fn backend_call(&self, operation: &str, status: Option<u16>, elapsed: Duration) {
        let status = status_class(status);
        self.backend_calls
            .get_or_create(&BackendLabels {
                operation: operation.to_owned(),
                status,
            })
            .inc();
        self.backend_duration
            .get_or_create(&BackendOperationLabels {
                operation: operation.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail; an encoder error would be a bug in a label.
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(%error, "Metrics could not be encoded.");
        }
        text
    }
}

/// Holds one unit of `scimgate_requests_in_flight` until dropped.
#[derive(Debug)]
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

tokio::task_local! {
    static BACKEND_CALLS: Cell<u32>;
}

/// The hook the backend client calls once per finished call: `operation` is the mapping's
/// label (`users.get`), `status` the HTTP status answered (`None`: no answer at all).
/// Also counts the call for the request it belongs to (see [`count_backend_calls`]).
pub fn backend_call(operation: BackendOp, status: Option<u16>, elapsed: Duration) {
    record_backend_call(&operation.to_string(), status, elapsed);
}

/// [`backend_call`] under a label as text (its tests use one no real call has).
fn record_backend_call(operation: &str, status: Option<u16>, elapsed: Duration) {
    global().backend_call(operation, status, elapsed);
    let _ = BACKEND_CALLS.try_with(|calls| calls.set(calls.get().saturating_add(1)));
}

/// Runs `future`, returning its output and how many backend calls it made (on its own task).
pub async fn count_backend_calls<F: Future>(future: F) -> (F::Output, u32) {
    BACKEND_CALLS
        .scope(Cell::new(0), async move {
            let output = future.await;
            (output, BACKEND_CALLS.with(Cell::get))
        })
        .await
}

/// `2xx`, `4xx`, `5xx` (anything below 400 counts as `2xx`), or `error` without a status.
pub fn status_class(status: Option<u16>) -> &'static str {
    match status {
        None => "error",
        Some(500..) => "5xx",
        Some(400..) => "4xx",
        Some(_) => "2xx",
    }
}

/// The `resource` label: the SCIM resource type's name.
pub fn resource_label(resource: Resource) -> &'static str {
    match resource {
        Resource::Users => "User",
        Resource::Groups => "Group",
        Resource::Schemas => "Schemas",
        Resource::ResourceTypes => "ResourceTypes",
        Resource::ServiceProviderConfig => "ServiceProviderConfig",
    }
}

/// The `operation` label: reads of discovery endpoints are `discovery`, a `/.search` is a
/// `list`.
pub fn operation_label(resource: Resource, operation: Operation) -> &'static str {
    if !matches!(resource, Resource::Users | Resource::Groups) {
        return "discovery";
    }
    match operation {
        Operation::List | Operation::Search => "list",
        Operation::Get => "get",
        Operation::Create => "create",
        Operation::Replace => "replace",
        Operation::Patch => "patch",
        Operation::Delete => "delete",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_value(text: &str, prefix: &str) -> f64 {
        text.lines()
            .find(|line| line.starts_with(prefix))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse().ok())
            .unwrap_or(0.0)
    }

    #[test]
    fn status_classes_and_labels() {
        assert_eq!(status_class(Some(201)), "2xx");
        assert_eq!(status_class(Some(409)), "4xx");
        assert_eq!(status_class(Some(504)), "5xx");
        assert_eq!(status_class(None), "error");
        assert_eq!(
            operation_label(Resource::Schemas, Operation::Get),
            "discovery"
        );
        assert_eq!(operation_label(Resource::Users, Operation::Search), "list");
        assert_eq!(operation_label(Resource::Groups, Operation::Patch), "patch");
    }

    #[test]
    fn requests_are_counted_by_labels_and_rendered_as_openmetrics() {
        let metrics = Metrics::new();
        let prefix =
            r#"scimgate_scim_requests_total{resource="Group",operation="delete",status="4xx"}"#;
        metrics.scim_request(
            Resource::Groups,
            Operation::Delete,
            404,
            Duration::from_millis(3),
        );
        let text = metrics.render();
        assert_eq!(line_value(&text, prefix), 1.0, "{text}");
        assert!(text.contains("scimgate_scim_request_duration_seconds_bucket{"));
        assert!(text.contains(&format!(
            "scimgate_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        )));
        assert!(text.trim_end().ends_with("# EOF"), "{text}");
    }

    #[tokio::test]
    async fn backend_calls_are_counted_per_request_and_by_class() {
        let prefix = r#"scimgate_backend_calls_total{operation="metrics.test",status="error"}"#;
        let before = line_value(&render(), prefix);
        let ((), calls) = count_backend_calls(async {
            record_backend_call("metrics.test", Some(200), Duration::from_millis(1));
            record_backend_call("metrics.test", None, Duration::from_millis(1));
        })
        .await;
        assert_eq!(calls, 2);
        // Outside a counted request the hook still records the metric.
        record_backend_call("metrics.test", None, Duration::from_millis(1));
        assert_eq!(line_value(&render(), prefix), before + 2.0);
    }

    #[test]
    fn in_flight_goes_up_and_down_with_the_guard() {
        let metrics = Metrics::new();
        let before = metrics.in_flight.get();
        let guard = metrics.in_flight();
        assert_eq!(metrics.in_flight.get(), before + 1);
        drop(guard);
        assert_eq!(metrics.in_flight.get(), before);
    }
}
