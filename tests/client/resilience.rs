//! Unknown outcomes and retries: what may be sent again, what may not, and how a void of
//! unknown outcome is settled. Driven by the simulator's fault injection and by raw sockets.

use instamed_soap_test_support as support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use instamed_soap::{
    Client, ClientBuilder, Credentials, Error, Outlet, RetryPolicy, VoidConfirmation, VoidRequest,
};
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_PASSWORD, FaultPlan, PaymentStatus, Simulator, SimulatorConfig,
};
use tokio::io::AsyncReadExt;

fn outlet() -> Outlet {
    support::outlet_at("123")
}

fn builder(simulator: &Simulator) -> ClientBuilder {
    Client::builder(simulator.endpoint())
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .ca_certificate_file(simulator.ca_path().unwrap())
        .timeout(Duration::from_secs(5))
        .reconcile_policy(RetryPolicy::exponential(3, Duration::from_millis(10)))
}

async fn with_faults(plan: FaultPlan) -> Simulator {
    Simulator::start(SimulatorConfig::default().with_faults(plan))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_answer_is_settled_by_already_voided() {
    // The void is processed, then its answer is cut: the outcome is unknown until asked again.
    let simulator = with_faults(
        FaultPlan::seeded(3)
            .with_truncate_rate(1.0)
            .with_max_faults(1),
    )
    .await;
    let payment = simulator
        .ledger()
        .create_payment(&outlet(), "10.00")
        .unwrap();
    let client = builder(&simulator).build().unwrap();
    let confirmation = client
        .void_reconciled(&VoidRequest::new(outlet(), payment.clone()))
        .await
        .unwrap();
    match &confirmation {
        VoidConfirmation::ConfirmedAlreadyVoided { refusal, attempts } => {
            assert_eq!(*attempts, 2);
            assert_eq!(refusal.primary_transaction_status.as_deref(), Some("V"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Voided)
    );
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_connection_leaves_the_outcome_unknown() {
    // The connection is closed instead of processing; the client cannot know that.
    let simulator = with_faults(FaultPlan::seeded(3).with_reset_rate(1.0).with_max_faults(1)).await;
    let payment = simulator
        .ledger()
        .create_payment(&outlet(), "10.00")
        .unwrap();
    let client = builder(&simulator).build().unwrap();
    let error = client
        .void(&VoidRequest::new(outlet(), payment.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Transport { sent: true, .. }),
        "{error:?}"
    );
    assert!(error.outcome_unknown() && !error.never_sent());
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Captured)
    );
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_request_is_voided_on_the_second_attempt() {
    let simulator = with_faults(FaultPlan::seeded(3).with_reset_rate(1.0).with_max_faults(1)).await;
    let payment = simulator
        .ledger()
        .create_payment(&outlet(), "10.00")
        .unwrap();
    let client = builder(&simulator).build().unwrap();
    let confirmation = client
        .void_reconciled(&VoidRequest::new(outlet(), payment.clone()))
        .await
        .unwrap();
    assert!(
        matches!(
            confirmation,
            VoidConfirmation::VoidedOnRetry { attempts: 2, .. }
        ),
        "{confirmation:?}"
    );
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Voided)
    );
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outcome_that_stays_unknown_is_reported_as_unknown() {
    // Every answer comes after the deadline: no attempt can tell, so the error stays unknown.
    let simulator =
        with_faults(FaultPlan::seeded(3).with_latency(Duration::from_millis(400))).await;
    let payment = simulator
        .ledger()
        .create_payment(&outlet(), "10.00")
        .unwrap();
    let client = builder(&simulator)
        .timeout(Duration::from_millis(150))
        .reconcile_policy(RetryPolicy::exponential(2, Duration::from_millis(10)))
        .build()
        .unwrap();
    let error = client
        .void_reconciled(&VoidRequest::new(outlet(), payment))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Timeout { sent: true, .. }),
        "{error:?}"
    );
    assert!(error.outcome_unknown());
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn known_refusals_are_not_reconciled() {
    let simulator = with_faults(FaultPlan::default()).await;
    let payment = simulator
        .ledger()
        .create_payment(&outlet(), "10.00")
        .unwrap();
    simulator.ledger().start_transfer(&payment).unwrap();
    let client = builder(&simulator).build().unwrap();
    let error = client
        .void_reconciled(&VoidRequest::new(outlet(), payment))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotVoidable(_)), "{error:?}");
    simulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_before_sending_is_retried_only_when_asked() {
    // Nothing listens on the port at first; the simulator comes up there a little later.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{port}/payment/service.asmx");
    let client = |policy: RetryPolicy| {
        Client::builder(&endpoint)
            .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
            .allow_plain_http_on_loopback(true)
            .retry_policy(policy)
            .build()
            .unwrap()
    };
    let request = VoidRequest::new(outlet(), "AB".parse().unwrap());

    let error = client(RetryPolicy::none())
        .void(&request)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert!(error.never_sent() && !error.outcome_unknown());

    let late_start = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let config = SimulatorConfig::default()
            .with_tls(false)
            .with_listen(([127, 0, 0, 1], port).into());
        Simulator::start(config).await.unwrap()
    });
    let patient = client(RetryPolicy::exponential(8, Duration::from_millis(100)));
    let error = patient.void(&request).await.unwrap_err();
    // It got through to the simulator, which does not know the payment.
    assert!(matches!(error, Error::UnknownTransaction(_)), "{error:?}");
    late_start.await.unwrap().shutdown().await;
}

#[tokio::test]
async fn a_failure_after_sending_is_never_retried() {
    // A server that reads the request and hangs up: the void may have been acted on.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            let mut buffer = vec![0; 4096];
            let _ = socket.read(&mut buffer).await;
            drop(socket);
        }
    });
    let client = Client::builder(format!("http://127.0.0.1:{port}/payment/service.asmx"))
        .credentials(Credentials::new("a", "b"))
        .allow_plain_http_on_loopback(true)
        .retry_policy(RetryPolicy::exponential(5, Duration::from_millis(10)))
        .build()
        .unwrap();
    let error = client
        .void(&VoidRequest::new(outlet(), "AB".parse().unwrap()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Transport { sent: true, .. }),
        "{error:?}"
    );
    assert!(error.outcome_unknown() && !error.never_sent());
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "the request was sent again"
    );
}

/// A server that answers the n-th request with `script(n)` (0-based).
async fn scripted(script: fn(usize, support::Version) -> support::Reply) -> support::Server {
    let count = AtomicUsize::new(0);
    support::Server::start(move |exchange| {
        script(
            count.fetch_add(1, Ordering::SeqCst),
            support::version_of(exchange),
        )
    })
    .await
}

fn statuses(version: support::Version, status: &str, primary: &str) -> String {
    support::void_result(
        version,
        &[
            ("TransactionStatus", status),
            ("ResponseMessage", "DECLINED"),
            ("PrimaryTransactionID", "AB"),
            ("PrimaryTransactionStatus", primary),
        ],
    )
}

fn cut(version: support::Version) -> support::Reply {
    let body = statuses(version, "C", "V");
    support::Reply::xml(200, version, body[..body.len() / 2].to_owned())
}

fn scripted_client(server: &support::Server, retries: u32) -> Client {
    Client::builder(&server.url)
        .credentials(Credentials::new("a", "b"))
        .ca_certificate_file(&server.ca_path)
        .reconcile_policy(RetryPolicy::exponential(retries, Duration::from_millis(5)))
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_attempt_that_says_nothing_about_the_payment_does_not_settle_it() {
    // Cut answer (unknown), then a 503 and a server fault (no answer about the payment), then
    // "already voided": the first void went through.
    let server = scripted(|n, v| match n {
        0 => cut(v),
        1 => support::Reply::new(503, "text/html", "busy"),
        2 => support::Reply::xml(
            500,
            v,
            support::fault(v, false, "Server was unable to process request.", ""),
        ),
        _ => support::Reply::xml(200, v, statuses(v, "D", "V")),
    })
    .await;
    let request = VoidRequest::new(outlet(), "AB".parse().unwrap());
    let confirmation = scripted_client(&server, 5)
        .void_reconciled(&request)
        .await
        .unwrap();
    assert!(
        matches!(
            confirmation,
            VoidConfirmation::ConfirmedAlreadyVoided { attempts: 4, .. }
        ),
        "{confirmation:?}"
    );
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn when_no_attempt_settles_it_the_first_unknown_error_is_returned() {
    let server = scripted(|n, v| match n {
        0 => cut(v),
        _ => support::Reply::new(503, "text/html", "busy"),
    })
    .await;
    let request = VoidRequest::new(outlet(), "AB".parse().unwrap());
    let error = scripted_client(&server, 2)
        .void_reconciled(&request)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::MalformedAnswer { .. }), "{error:?}");
    assert!(error.outcome_unknown());
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_refusal_on_reconciling_proves_the_first_void_did_not_happen() {
    let server = scripted(|n, v| match n {
        0 => cut(v),
        _ => support::Reply::xml(200, v, statuses(v, "D", "C")),
    })
    .await;
    let request = VoidRequest::new(outlet(), "AB".parse().unwrap());
    let error = scripted_client(&server, 3)
        .void_reconciled(&request)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Declined(_)), "{error:?}");
    assert_eq!(server.requests().len(), 2);
}
