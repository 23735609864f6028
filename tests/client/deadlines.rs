//! The call deadline follows the client's timer: with tokio's, a test steps through a 30-second
//! deadline under a paused clock instead of waiting for it.

use instamed_soap_test_support as support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use instamed_soap::timer::TokioTimer;
use instamed_soap::{Client, Credentials, Error, VoidRequest};
use support::{RawConnection, RawServer};
use tokio::sync::Notify;

const TIMEOUT: Duration = Duration::from_secs(30);

/// A server that reads the request, says so, and then never answers.
async fn silent_server(request_read: Arc<Notify>) -> RawServer {
    RawServer::start(move |mut connection: RawConnection| {
        let request_read = request_read.clone();
        async move {
            if connection.read_request().await.is_some() {
                request_read.notify_one();
            }
            std::future::pending::<()>().await;
        }
    })
    .await
}

fn request() -> VoidRequest {
    support::request_at("123")
}

#[tokio::test]
async fn a_paused_clock_steps_through_the_deadline_with_tokios_timer() {
    let request_read = Arc::new(Notify::new());
    let server = silent_server(request_read.clone()).await;
    let client = Client::builder(&server.url)
        .credentials(Credentials::new("account@clinic", "password"))
        .ca_certificate_file(&server.ca_path)
        .timeout(TIMEOUT)
        .timer(TokioTimer::new())
        .build()
        .unwrap();

    let started = Instant::now();
    let request = request();
    let void = client.void(&request);
    tokio::pin!(void);
    // Let the request leave in real time (connecting and TLS are real I/O), then stop the clock.
    tokio::select! {
        result = &mut void => panic!("answered before the server read the request: {result:?}"),
        () = request_read.notified() => {}
    }
    tokio::time::pause();
    tokio::time::advance(TIMEOUT + Duration::from_secs(1)).await;

    let error = tokio::time::timeout(Duration::from_secs(60), void)
        .await
        .expect("the deadline passed on the paused clock")
        .expect_err("no answer came");
    assert!(
        matches!(error, Error::Timeout { after, sent: true } if after == TIMEOUT),
        "{error:?}"
    );
    assert!(error.outcome_unknown());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "waited {:?} of real time",
        started.elapsed()
    );
}
