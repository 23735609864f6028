//! Where a client's request deadlines, retry waits and sense of elapsed time come from.
//!
//! By default a client keeps its deadlines on a thread of its own (see the `deadline` module for
//! why: tokio's timer makes every wait for I/O a timed one, which costs kernel time on the hot
//! path). [`TokioTimer`] uses tokio's timer instead, so a test can run the client under
//! `tokio::time::pause` and step through a deadline without waiting for it; any other
//! [`Timer`] can be given to [`ClientBuilder::timer`](crate::ClientBuilder::timer).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// A future that completes when its span has passed; dropping it withdraws it.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Makes the deadlines of a client's requests and the waits between its attempts, and tells
/// how long a pooled connection has been idle.
///
/// ```
/// use std::time::Duration;
/// use instamed_soap::timer::{Sleep, Timer};
///
/// /// Deadlines that never pass, for a debugger session.
/// #[derive(Debug)]
/// struct Patient;
///
/// impl Timer for Patient {
///     fn sleep(&self, _span: Duration) -> Sleep {
///         Box::pin(std::future::pending())
///     }
/// }
///
/// let client = instamed_soap::Client::builder("https://connect.instamed.com/payment/service.asmx")
///     .timer(Patient);
/// ```
pub trait Timer: fmt::Debug + Send + Sync + 'static {
    /// A future that completes `span` from now.
    fn sleep(&self, span: Duration) -> Sleep;

    /// The time now, on this timer's clock. The pool compares it with the moment a connection
    /// went idle, so a timer whose clock is paused or driven by a test expires connections on
    /// that clock too.
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// Deadlines, waits and the clock on tokio's timer: they follow `tokio::time::pause` and
/// `tokio::time::advance`, at the cost of a timed wait for I/O while a request is open.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct TokioTimer;

impl TokioTimer {
    /// Tokio's timer.
    pub fn new() -> Self {
        Self
    }
}

impl Timer for TokioTimer {
    fn sleep(&self, span: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(span))
    }

    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}
