//! When a failed backend call may be repeated, and how long to wait first.
//!
//! Idempotent methods (GET, HEAD, PUT, DELETE) are repeated after connection failures,
//! per-call timeouts, 429, 502, 503 and 504. Non-idempotent methods (POST, PATCH) only after
//! 429 and 503 (the backend says it did not do the work) and after a connection that failed
//! before the request was sent. Nothing else is repeated, and never past the caller's
//! deadline. This module only decides; the client loop sleeps and counts.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method, StatusCode};
use rand::Rng;

/// First backoff step; doubles per retry.
const BACKOFF_BASE: Duration = Duration::from_millis(100);
/// Longest backoff step (without `Retry-After`).
const BACKOFF_CAP: Duration = Duration::from_secs(5);

/// Whether the backend may safely receive the same request twice.
pub(crate) fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

/// Whether a response with `status` may be retried for `method`.
pub(crate) fn retry_status(method: &Method, status: StatusCode) -> bool {
    match status.as_u16() {
        429 | 503 => true,
        502 | 504 => is_idempotent(method),
        _ => false,
    }
}

/// Jittered exponential backoff before retry number `retry` (1-based): a random wait between
/// half and all of `base * 2^(retry-1)`, capped.
pub(crate) fn backoff(retry: u32) -> Duration {
    let exp = BACKOFF_BASE.saturating_mul(1u32 << retry.saturating_sub(1).min(16));
    let full = exp.min(BACKOFF_CAP);
    let half = full / 2;
    let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
    half + Duration::from_millis(jitter)
}

/// The `Retry-After` header as a wait: delta-seconds or an HTTP date (a past date is zero).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let date = time::PrimitiveDateTime::parse(text, format)
        .ok()?
        .assume_utc();
    let when = SystemTime::from(date);
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn statuses_by_method() {
        for status in [429, 502, 503, 504] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(retry_status(&Method::GET, status));
            assert!(retry_status(&Method::PUT, status));
        }
        assert!(retry_status(&Method::POST, StatusCode::TOO_MANY_REQUESTS));
        assert!(retry_status(&Method::POST, StatusCode::SERVICE_UNAVAILABLE));
        assert!(!retry_status(&Method::POST, StatusCode::BAD_GATEWAY));
        assert!(!retry_status(&Method::PATCH, StatusCode::GATEWAY_TIMEOUT));
        for status in [400, 401, 403, 404, 409, 422, 500] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(!retry_status(&Method::GET, status), "{status}");
        }
    }

    #[test]
    fn backoff_grows_with_jitter_and_cap() {
        for _ in 0..50 {
            let first = backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = backoff(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            assert!(backoff(40) <= BACKOFF_CAP);
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            http::header::RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        let future = time::OffsetDateTime::now_utc() + time::Duration::seconds(120);
        let format = time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        );
        let text = future.format(format).unwrap();
        headers.insert(
            http::header::RETRY_AFTER,
            HeaderValue::from_str(&text).unwrap(),
        );
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(110) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }
}
