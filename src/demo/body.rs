//! The response body type of the demo API: either a whole body, or one cut short on purpose for
//! the `truncate` fault.
//!
//! A truncated body sends its first part, pauses so hyper flushes the headers and that part to
//! the socket, then fails, which makes hyper close the connection before `Content-Length` bytes
//! were sent. Knows nothing about routes or JSON.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// How long a truncated body waits after its first part, so hyper writes it out before closing.
const FLUSH_PAUSE: Duration = Duration::from_millis(20);

/// A response body of the demo API.
#[derive(Debug)]
pub(crate) enum DemoBody {
    /// The whole body, taken on the first poll.
    Full(Option<Bytes>),
    /// A body that sends `head` and then breaks off (the response's `Content-Length` is longer).
    Truncated {
        head: Option<Bytes>,
        pause: Option<Pin<Box<tokio::time::Sleep>>>,
    },
}

impl DemoBody {
    /// An empty body.
    pub(crate) fn empty() -> Self {
        Self::Full(None)
    }

    /// A complete body.
    pub(crate) fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        Self::Full((!bytes.is_empty()).then_some(bytes))
    }

    /// A body that sends `head`, then fails.
    pub(crate) fn truncated(head: Bytes) -> Self {
        Self::Truncated {
            head: Some(head),
            pause: None,
        }
    }
}

/// The error a truncated body ends with; hyper closes the connection on it.
#[derive(Debug, thiserror::Error)]
#[error("response body cut short by an injected fault")]
pub(crate) struct Truncated;

impl Body for DemoBody {
    type Data = Bytes;
    type Error = Truncated;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.get_mut() {
            Self::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Self::Truncated { head, pause } => {
                if let Some(head) = head.take().filter(|h| !h.is_empty()) {
                    return Poll::Ready(Some(Ok(Frame::data(head))));
                }
                let sleep = pause.get_or_insert_with(|| Box::pin(tokio::time::sleep(FLUSH_PAUSE)));
                ready!(sleep.as_mut().poll(cx));
                Poll::Ready(Some(Err(Truncated)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Self::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            // `usize` always fits in `u64` on the platforms we build for.
            Self::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            // Unknown, so hyper uses the `Content-Length` header the fault handler set.
            Self::Truncated { .. } => SizeHint::default(),
        }
    }
}
