//! The connection pool gives up a connection idle past its expiry, and the waits between
//! attempts are the client's timer's: a loopback plain-HTTP server counts the connections it
//! accepts and closes, and a timer with a clock the test moves says when time has passed.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use instamed_soap::timer::{Sleep, Timer, TokioTimer};
use instamed_soap::{
    Client, ClientBuilder, Credentials, Outlet, RetryPolicy, TransactionId, VoidRequest,
};
use tokio::net::TcpListener;

/// A keep-alive HTTP/1.1 server on loopback that answers every request with `status`, and
/// counts the connections it accepted and the ones that have closed.
struct Server {
    port: u16,
    accepted: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
}

impl Server {
    async fn start(status: StatusCode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let closed = Arc::new(AtomicUsize::new(0));
        let (accepting, closing) = (accepted.clone(), closed.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                // Nagle and delayed ACKs would add ~40 ms a request.
                stream.set_nodelay(true).unwrap();
                accepting.fetch_add(1, Ordering::SeqCst);
                let closing = closing.clone();
                tokio::spawn(async move {
                    let answer = service_fn(move |_: Request<hyper::body::Incoming>| async move {
                        let mut answer = Response::new(Full::new(Bytes::from_static(b"busy")));
                        *answer.status_mut() = status;
                        Ok::<_, Infallible>(answer)
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), answer)
                        .await;
                    closing.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        Self {
            port,
            accepted,
            closed,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Waits (a few seconds at most) until `count` connections have closed.
    async fn wait_closed(&self, count: usize) {
        let started = Instant::now();
        while self.closed.load(Ordering::SeqCst) < count {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{} of the connections closed, not {count}",
                self.closed.load(Ordering::SeqCst)
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn client(&self) -> ClientBuilder {
        Client::builder(format!(
            "http://127.0.0.1:{}/payment/service.asmx",
            self.port
        ))
        .credentials(Credentials::new("account@clinic", "password"))
        .allow_plain_http_on_loopback(true)
    }
}

/// A request sent as it is, through the client's pool.
fn ping(port: u16) -> Request<Bytes> {
    Request::post("/payment/service.asmx")
        .header(http::header::HOST, format!("127.0.0.1:{port}"))
        .body(Bytes::new())
        .unwrap()
}

/// Tokio's deadlines, on a clock that stands still until the test moves it on.
#[derive(Debug, Clone)]
struct SteppedClock {
    start: Instant,
    moved: Arc<Mutex<Duration>>,
}

impl SteppedClock {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            moved: Arc::new(Mutex::new(Duration::ZERO)),
        }
    }

    fn advance(&self, span: Duration) {
        *self.moved.lock().unwrap() += span;
    }
}

impl Timer for SteppedClock {
    fn sleep(&self, span: Duration) -> Sleep {
        TokioTimer::new().sleep(span)
    }

    fn now(&self) -> Instant {
        self.start + *self.moved.lock().unwrap()
    }
}

#[tokio::test]
async fn a_connection_is_reused_until_it_has_been_idle_for_90_seconds() {
    let server = Server::start(StatusCode::OK).await;
    let clock = SteppedClock::new();
    // The default expiry, on a clock the test moves.
    let client = server.client().timer(clock.clone()).build().unwrap();

    client.execute(ping(server.port)).await.unwrap();
    clock.advance(Duration::from_secs(89));
    client.execute(ping(server.port)).await.unwrap();
    assert_eq!(server.accepted(), 1, "reused before its expiry");

    clock.advance(Duration::from_secs(90));
    client.execute(ping(server.port)).await.unwrap();
    assert_eq!(server.accepted(), 2, "an expired connection was reused");
    // The expired connection was closed, not left open beside the new one.
    server.wait_closed(1).await;

    // Every request restarts the idle time.
    for _ in 0..3 {
        clock.advance(Duration::from_secs(60));
        client.execute(ping(server.port)).await.unwrap();
    }
    assert_eq!(server.accepted(), 2);
}

#[tokio::test]
async fn an_expiry_of_none_keeps_a_connection_as_long_as_it_is_open() {
    let server = Server::start(StatusCode::OK).await;
    let clock = SteppedClock::new();
    let client = server
        .client()
        .timer(clock.clone())
        .pool_idle_timeout(None)
        .build()
        .unwrap();
    client.execute(ping(server.port)).await.unwrap();
    clock.advance(Duration::from_secs(24 * 3600));
    client.execute(ping(server.port)).await.unwrap();
    assert_eq!(server.accepted(), 1);
}

#[tokio::test]
async fn with_the_default_timer_a_connection_idle_past_its_expiry_is_not_reused() {
    let server = Server::start(StatusCode::OK).await;
    let client = server
        .client()
        .pool_idle_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    client.execute(ping(server.port)).await.unwrap();
    client.execute(ping(server.port)).await.unwrap();
    assert_eq!(server.accepted(), 1, "not reused within its expiry");
    tokio::time::sleep(Duration::from_millis(250)).await;
    client.execute(ping(server.port)).await.unwrap();
    assert_eq!(server.accepted(), 2, "reused past its expiry");
    server.wait_closed(1).await;
}

/// Notes every wait it is asked for and ends it at once, except the call deadline (which
/// never ends): a wait taken anywhere else would hold the test for minutes.
#[derive(Debug, Clone, Default)]
struct Recording(Arc<Mutex<Vec<Duration>>>);

const DEADLINE: Duration = Duration::from_secs(3600);

impl Timer for Recording {
    fn sleep(&self, span: Duration) -> Sleep {
        self.0.lock().unwrap().push(span);
        if span == DEADLINE {
            Box::pin(std::future::pending())
        } else {
            Box::pin(std::future::ready(()))
        }
    }
}

#[tokio::test]
async fn reconciling_waits_on_the_clients_timer() {
    // Every answer is a 503: the void's outcome stays unknown, attempt after attempt.
    let server = Server::start(StatusCode::SERVICE_UNAVAILABLE).await;
    let timer = Recording::default();
    let policy = RetryPolicy::exponential(3, Duration::from_secs(5 * 60))
        .with_max_backoff(Duration::from_secs(3600));
    let client = server
        .client()
        .timeout(DEADLINE)
        .timer(timer.clone())
        .reconcile_policy(policy)
        .build()
        .unwrap();
    let request = VoidRequest::new(
        Outlet::new("123123123", "123", "123").unwrap(),
        TransactionId::new("EE52401813A74328AAA7D93319FF4383").unwrap(),
    );
    let error = tokio::time::timeout(Duration::from_secs(20), client.void_reconciled(&request))
        .await
        .expect("reconciling slept for real")
        .unwrap_err();
    assert!(error.outcome_unknown(), "{error:?}");
    let waits: Vec<Duration> = timer
        .0
        .lock()
        .unwrap()
        .iter()
        .copied()
        .filter(|&wait| wait != DEADLINE)
        .collect();
    assert_eq!(waits, [0, 1, 2].map(|retry| policy.backoff(retry)));
}
