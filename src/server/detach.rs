//! Writes run to their end: a SCIM write is carried out on its own task, which the request
//! awaits, so a request future dropped part way (the `request_timeout` layer firing, the client
//! closing the connection) never stops a write between its backend calls.
//!
//! A group PUT, PATCH or POST with members is several backend calls made all or nothing (see
//! `engine::members`): stopped after some landed, those would be neither undone nor recorded.
//! On its own task the write finishes (or is undone) whatever happens to the request, and its
//! outcome is logged by the engine and recorded by the audit decorator as usual; only the
//! answer is lost, and the client's retry finds the resource as a whole request left it.
//! Reads are not detached: dropping one changes nothing.

use std::sync::Arc;

use tracing::Instrument as _;

use crate::metrics;
use crate::scim::ScimError;
use crate::service::{Operation, ScimCall, ScimReply, ScimService};

/// Whether dropping this operation part way could leave a change half made.
fn writes(operation: Operation) -> bool {
    !matches!(
        operation,
        Operation::List | Operation::Search | Operation::Get
    )
}

/// Answers `call` with `service`, with the backend calls made. A write runs on a task of its
/// own (in the request's span) that goes on when the returned future is dropped.
pub(crate) async fn call(
    service: Arc<dyn ScimService>,
    call: ScimCall,
) -> (Result<ScimReply, ScimError>, u32) {
    if !writes(call.operation) {
        return metrics::count_backend_calls(service.call(call)).await;
    }
    let operation = call.operation;
    let task = async move {
        let detached = DropNotice {
            operation,
            done: false,
        };
        let answer = metrics::count_backend_calls(service.call(call)).await;
        detached.finished();
        answer
    };
    match tokio::spawn(task.instrument(tracing::Span::current())).await {
        Ok(answer) => answer,
        // A panic stays a panic: the stack's panic layer answers it as for any handler.
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        // The runtime is shutting down.
        Err(_) => (
            Err(ScimError::new(503, "The gateway is shutting down; retry.")
                .with_retry_after(Some(1))),
            0,
        ),
    }
}

/// Logs a write task that was cut off without finishing (the runtime shut down under it).
struct DropNotice {
    operation: Operation,
    done: bool,
}

impl DropNotice {
    fn finished(mut self) {
        self.done = true;
    }
}

impl Drop for DropNotice {
    fn drop(&mut self) {
        if !self.done {
            tracing::error!(
                operation = ?self.operation,
                "A SCIM write was stopped before it finished (the gateway shut down); \
                 its backend calls may be applied in part."
            );
        }
    }
}
