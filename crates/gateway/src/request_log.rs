//! The one log line each request leaves (never a header value, a body, a secret or a card
//! number), and the payment it names when the request was about one.
//!
//! The server writes the line once the answer is ready, or once it is known that none will be;
//! the payment is known only deeper down, where a protocol's request is read, so it travels in
//! the request's span: whoever reads it names it there, and the line carries the span's fields.
//! The span and the line share this module's target, so that a filter that lets the line
//! through lets its payment through.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use instamed_soap::TransactionId;
use instamed_soap_listener::milliseconds;

use crate::metrics::Metrics;

/// A request being served, and the one line it leaves: written with its answer
/// ([`answered`](Self::answered)), or without one: the server gave up on it
/// ([`aborted`](Self::aborted)), or its connection closed first (the client went away, or the
/// listener closed it) and its handler was dropped, and this with it. A void carried on after
/// its ERP went away still leaves its line.
pub(crate) struct Pending {
    route: &'static str,
    started: Instant,
    span: tracing::Span,
    /// The ERP client, once signed in: for the line of a request that gets no answer.
    client: OnceLock<String>,
    metrics: Arc<Metrics>,
    written: bool,
}

impl Pending {
    /// A request to `route`, counted in `metrics` once it ends.
    pub(crate) fn new(route: &'static str, metrics: Arc<Metrics>) -> Self {
        Self {
            route,
            started: Instant::now(),
            span: tracing::info_span!("request", payment = tracing::field::Empty),
            client: OnceLock::new(),
            metrics,
            written: false,
        }
    }

    /// The route, as logs and metrics name it.
    pub(crate) fn route(&self) -> &'static str {
        self.route
    }

    /// The span the request is served in: the payment is filled in by [`names_payment`].
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Notes the client the request signed in as.
    pub(crate) fn signed_in(&self, client: &str) {
        let _ = self.client.get_or_init(|| client.to_owned());
    }

    /// Writes the line of a request answered `status`, for `client`.
    pub(crate) fn answered(mut self, client: Option<&str>, status: u16, outcome: &'static str) {
        self.write(client, Some(status), outcome);
    }

    /// Writes the line of a request the server closed without an answer, for `reason`.
    pub(crate) fn aborted(mut self, reason: &'static str) {
        self.unanswered(reason);
    }

    fn unanswered(&mut self, outcome: &'static str) {
        let client = self.client.take();
        self.write(client.as_deref(), None, outcome);
    }

    /// The line: without a status when no answer went out.
    fn write(&mut self, client: Option<&str>, status: Option<u16>, outcome: &'static str) {
        self.written = true;
        self.count(client);
        let (route, elapsed_ms) = (self.route, milliseconds(self.started.elapsed()));
        self.span.in_scope(|| {
            tracing::info!(
                route,
                client = client.unwrap_or("-"),
                status,
                outcome,
                elapsed_ms,
                "request"
            );
        });
    }

    fn count(&self, client: Option<&str>) {
        // An operator is not an ERP client: the per-client counts stay the clients'.
        let counted = client.filter(|_| self.route != "ops");
        self.metrics.request(self.route, counted);
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.written {
            self.unanswered("connection_closed");
        }
    }
}

/// Says that the request being served is about `payment`, for its log line (an ID is never a
/// card number: `TransactionId::new` refuses one).
pub(crate) fn names_payment(payment: &TransactionId) {
    tracing::Span::current().record("payment", tracing::field::display(payment));
}
