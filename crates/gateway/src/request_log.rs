//! The one log line each request leaves (never a header value, a body, a secret or a card
//! number), and the payment it names when the request was about one.
//!
//! The server writes the line once the answer is ready; the payment is known only deeper down,
//! where a protocol's request is read, so it travels in the request's span: whoever reads it
//! names it there, and the line carries the span's fields. The span and the line share this
//! module's target, so that a filter that lets the line through lets its payment through.

use std::time::Duration;

use instamed_soap::TransactionId;
use instamed_soap_listener::milliseconds;

/// The span a request is served in: the payment is filled in by [`names_payment`].
pub(crate) fn span() -> tracing::Span {
    tracing::info_span!("request", payment = tracing::field::Empty)
}

/// Says that the request being served is about `payment`, for its log line: as a line may show
/// it, since an ERP may have put a card number where the ID goes.
pub(crate) fn names_payment(payment: &TransactionId) {
    tracing::Span::current().record("payment", tracing::field::display(payment.shown()));
}

/// What the line says of a request, besides its payment.
pub(crate) struct Served<'a> {
    pub(crate) route: &'static str,
    pub(crate) client: Option<&'a str>,
    pub(crate) status: u16,
    pub(crate) outcome: &'static str,
    pub(crate) took: Duration,
}

/// Writes the request's line, in its `span`.
pub(crate) fn write(span: &tracing::Span, served: &Served<'_>) {
    span.in_scope(|| {
        tracing::info!(
            route = served.route,
            client = served.client.unwrap_or("-"),
            status = served.status,
            outcome = served.outcome,
            elapsed_ms = milliseconds(served.took),
            "request"
        );
    });
}
