//! The opt-in wire view (`ClientBuilder::wire_observer`, the CLI's `--show-wire`): the observer
//! sees each attempt apart, the request as sent and the answer as read, and an attempt that got
//! no answer with why; with no observer, nothing is copied or shown.

use std::sync::{Arc, Mutex};

use instamed_soap::observe::WireExchange;
use instamed_soap::{Client, Credentials, Outlet, RetryPolicy, TransactionId, VoidRequest};
use instamed_soap_simulator::{DEMO_ACCOUNT_ID, DEMO_PASSWORD, Simulator, SimulatorConfig};

fn void_of(id: &str) -> VoidRequest {
    VoidRequest::new(
        Outlet::new("123123123", "123", "123").unwrap(),
        TransactionId::new(id).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_observer_sees_each_exchange_and_each_attempt_that_got_no_answer() {
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let payment = simulator
        .ledger()
        .create_payment(&Outlet::new("123123123", "123", "123").unwrap(), "5.00")
        .unwrap();
    let seen: Arc<Mutex<Vec<WireExchange>>> = Arc::default();
    let observer = {
        let seen = Arc::clone(&seen);
        move |exchange: &WireExchange| seen.lock().unwrap().push(exchange.clone())
    };
    let client = Client::builder(simulator.endpoint())
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .ca_certificate_file(simulator.ca_path().unwrap())
        .wire_observer(observer.clone())
        .build()
        .unwrap();
    client.void(&void_of(payment.as_str())).await.unwrap();
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "{seen:?}");
        let exchange = &seen[0];
        assert_eq!(exchange.operation, "DoCreditCardSecondaryVoid");
        assert_eq!(
            exchange.request.start,
            "POST /payment/service.asmx HTTP/1.1"
        );
        assert!(
            exchange
                .request
                .headers
                .contains(&("authorization".to_owned(), "[redacted]".to_owned())),
            "{exchange}"
        );
        assert!(
            exchange.request.body.contains(payment.as_str()),
            "{exchange}"
        );
        let response = exchange.response.as_ref().expect("an answer");
        assert_eq!(response.start, "HTTP/1.1 200 OK");
        assert!(
            response.body.contains("<PrimaryTransactionStatus>V<"),
            "{exchange}"
        );
        assert_eq!(exchange.failure, None);
        let shown = exchange.to_string();
        assert!(
            shown.starts_with("> POST /payment/service.asmx HTTP/1.1\n"),
            "{shown}"
        );
        assert!(shown.contains("\n< HTTP/1.1 200 OK\n"), "{shown}");
        assert!(!shown.contains(DEMO_PASSWORD), "{shown}");
    }
    simulator.shutdown().await;

    // Nothing listens any more: each attempt (the first and its two retries, none of which
    // left) is shown, with why it got no answer.
    seen.lock().unwrap().clear();
    let retrying = Client::builder(simulator_gone_endpoint())
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .retry_policy(RetryPolicy::exponential(2, std::time::Duration::ZERO))
        .wire_observer(observer)
        .build()
        .unwrap();
    let error = retrying.void(&void_of(payment.as_str())).await.unwrap_err();
    assert!(error.never_sent(), "{error:?}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "{seen:?}");
    for exchange in seen.iter() {
        assert_eq!(exchange.response, None);
        let failure = exchange.failure.as_deref().expect("why no answer came");
        assert!(failure.contains("connect"), "{failure}");
        assert!(
            exchange.to_string().contains("\n* no answer: "),
            "{exchange}"
        );
    }
}

/// An HTTPS address on loopback that nothing listens on.
fn simulator_gone_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("https://127.0.0.1:{port}/payment/service.asmx")
}
