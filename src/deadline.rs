//! Request deadlines kept by a thread of the client's own instead of tokio's timer: the
//! default [`Timer`].
//!
//! While a tokio timer is pending, every wait of the runtime for I/O is a timed wait
//! (`epoll_wait` with a timeout), and the kernel arms and cancels a timer for each one. For a
//! void on a keep-alive connection that was several microseconds of kernel time, a tenth of the
//! client's CPU. A client's deadlines nearly all lie the same span (its timeout) after the
//! moment they are set, so they are set in the order they fall: one thread keeps them in a
//! queue and sleeps until the first. Such a deadline never falls before the one the thread
//! sleeps for, so setting one wakes nobody, and the runtime's waits stay untimed. A deadline
//! of another span is put in its place in the queue, waking the thread only when it falls
//! first.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use crate::timer::{Sleep, Timer, TokioTimer};

/// Longer than any request may wait, short enough to add to any instant.
const FOR_EVER: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// The deadlines of one client, and the thread that fires them, started with the first
/// deadline (a client that only builds requests and reads answers never starts it).
#[derive(Debug)]
pub(crate) struct Deadlines {
    shared: Arc<Shared>,
    span: Duration,
    /// Whether the thread started, once it was asked to.
    keeper: OnceLock<Result<(), std::io::ErrorKind>>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Pending deadlines, earliest first (they are set in that order).
    pending: VecDeque<Pending>,
    next_number: u64,
    /// When the thread will next look, if it is waiting.
    wakes_at: Option<Instant>,
    closed: bool,
}

#[derive(Debug)]
struct Pending {
    at: Instant,
    number: u64,
    /// The task to wake when it passes, once it has been polled.
    waker: Option<Waker>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding it: a queue and counters.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Deadlines {
    /// Deadlines kept by a thread that, with nothing pending, looks again every `span`: the
    /// span most deadlines will have, so that setting one of them never wakes it.
    pub fn new(span: Duration) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                changed: Condvar::new(),
            }),
            // Any span a caller may pass must be addable to an instant; a century is for ever.
            span: span.min(FOR_EVER),
            keeper: OnceLock::new(),
        }
    }

    /// A deadline `span` from now: a future that completes when it passes. Dropping it
    /// withdraws it. An error only when the thread that fires deadlines cannot be started.
    pub fn set(&self, span: Duration) -> std::io::Result<Deadline> {
        let started = self.keeper.get_or_init(|| {
            let shared = Arc::clone(&self.shared);
            let span = self.span;
            thread::Builder::new()
                .name("instamed-soap-deadlines".to_owned())
                .spawn(move || keep(&shared, span))
                .map(drop)
                .map_err(|error| error.kind())
        });
        if let Err(kind) = started {
            let why = "cannot start the thread that keeps request deadlines";
            return Err(std::io::Error::new(*kind, why));
        }
        let mut state = self.shared.lock();
        // Read the clock under the lock, so that deadlines of one span queue up in order.
        let at = Instant::now() + span.min(FOR_EVER);
        let number = state.next_number;
        state.next_number += 1;
        // Nearly always the end: a deadline of the usual span falls after every other.
        let place = state.pending.len()
            - state
                .pending
                .iter()
                .rev()
                .take_while(|pending| pending.at > at)
                .count();
        state.pending.insert(
            place,
            Pending {
                at,
                number,
                waker: None,
            },
        );
        // Only a deadline before the thread's next look needs it awake; with one span for
        // every deadline that happens only when it sleeps for nothing at all.
        let wake = state.wakes_at.is_none_or(|wakes_at| at < wakes_at);
        drop(state);
        if wake {
            self.shared.changed.notify_one();
        }
        Ok(Deadline {
            number,
            shared: Arc::clone(&self.shared),
        })
    }
}

impl Drop for Deadlines {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.changed.notify_one();
    }
}

/// The thread: fires what is due, then sleeps until the first pending deadline, or one span
/// when there is none (a deadline of that span set meanwhile falls no earlier).
fn keep(shared: &Shared, span: Duration) {
    let mut state = shared.lock();
    loop {
        if state.closed {
            return;
        }
        let now = Instant::now();
        while state.pending.front().is_some_and(|first| first.at <= now) {
            if let Some(waker) = state.pending.pop_front().and_then(|due| due.waker) {
                waker.wake();
            }
        }
        let next = state.pending.front().map_or(now + span, |first| first.at);
        state.wakes_at = Some(next);
        state = shared
            .changed
            .wait_timeout(state, next.saturating_duration_since(now))
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        state.wakes_at = None;
    }
}

impl Timer for Deadlines {
    fn sleep(&self, span: Duration) -> Sleep {
        match self.set(span) {
            Ok(deadline) => Box::pin(deadline),
            // No thread to keep deadlines (the process is out of threads): they are kept all
            // the same, on tokio's timer.
            Err(error) => {
                tracing::warn!(%error, "request deadlines fall back to tokio's timer");
                TokioTimer.sleep(span)
            }
        }
    }
}

/// One pending deadline; completes when it passes.
pub(crate) struct Deadline {
    number: u64,
    shared: Arc<Shared>,
}

impl Future for Deadline {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.shared.lock();
        // Gone from the queue means fired: only the thread takes entries out while this lives.
        let Some(pending) = state.pending.iter_mut().find(|p| p.number == self.number) else {
            return Poll::Ready(());
        };
        match &mut pending.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            waker => *waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if let Some(index) = state.pending.iter().position(|p| p.number == self.number) {
            state.pending.remove(index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_deadline_passes_after_its_span_and_not_before() {
        let deadlines = Deadlines::new(Duration::from_millis(60));
        let started = Instant::now();
        deadlines.set(deadlines.span).unwrap().await;
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(60), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
    }

    #[tokio::test]
    async fn deadlines_fire_in_order_and_withdrawn_ones_never() {
        let deadlines = Deadlines::new(Duration::from_millis(40));
        let first = deadlines.set(deadlines.span).unwrap();
        let withdrawn = deadlines.set(deadlines.span).unwrap();
        drop(withdrawn);
        let second = deadlines.set(deadlines.span).unwrap();
        assert_eq!(deadlines.shared.lock().pending.len(), 2);
        first.await;
        second.await;
        assert!(deadlines.shared.lock().pending.is_empty());
    }

    #[tokio::test]
    async fn setting_a_deadline_wakes_the_thread_only_when_it_must() {
        let deadlines = Deadlines::new(Duration::from_secs(30));
        // Start the thread, then let it go to sleep for one span.
        drop(deadlines.set(deadlines.span).unwrap());
        let started = Instant::now();
        while deadlines.shared.lock().wakes_at.is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "the thread never slept"
            );
            tokio::task::yield_now().await;
        }
        let before = deadlines.shared.lock().wakes_at;
        let deadline = deadlines.set(deadlines.span).unwrap();
        // A deadline one span from now falls after the thread's next look: it sleeps on.
        assert_eq!(deadlines.shared.lock().wakes_at, before);
        drop(deadline);
        assert!(deadlines.shared.lock().pending.is_empty());
    }

    #[test]
    fn dropping_the_deadlines_stops_the_thread() {
        let deadlines = Deadlines::new(Duration::from_secs(30));
        let shared = Arc::clone(&deadlines.shared);
        // Only the first deadline starts the thread.
        assert_eq!(Arc::strong_count(&shared), 2);
        drop(deadlines.set(deadlines.span).unwrap());
        drop(deadlines);
        // The thread holds the other reference; it lets go when it returns.
        let started = Instant::now();
        while Arc::strong_count(&shared) > 1 {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "the thread still runs"
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    #[tokio::test]
    async fn a_shorter_deadline_is_queued_before_longer_ones_and_fires_first() {
        let deadlines = Deadlines::new(Duration::from_secs(30));
        let long = deadlines.set(Duration::from_secs(30)).unwrap();
        let started = Instant::now();
        deadlines.set(Duration::from_millis(40)).unwrap().await;
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(40), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
        assert_eq!(deadlines.shared.lock().pending.len(), 1);
        drop(long);
    }

    #[test]
    fn a_span_of_for_ever_is_a_deadline_that_never_passes() {
        let deadlines = Deadlines::new(Duration::MAX);
        let deadline = deadlines.set(deadlines.span).unwrap();
        let waker = Waker::noop();
        let mut context = Context::from_waker(waker);
        let mut deadline = std::pin::pin!(deadline);
        assert!(deadline.as_mut().poll(&mut context).is_pending());
    }
}
