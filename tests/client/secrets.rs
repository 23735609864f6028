//! Secrets never show: not in `Debug`, `Display`, error messages, nor in anything logged through
//! `tracing` (or `log`) at any level, by the client, the simulator or the contract proxy.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use instamed_soap::{Client, Credentials, Outlet, Protocol, VoidRequest};
use instamed_soap_contract::{ContractServer, ServeOptions, Upstream};
use instamed_soap_simulator::{FaultPlan, Simulator, SimulatorConfig};

const ACCOUNT: &str = "clinic@instamed.test";
const PASSWORD: &str = "Tr0ub4dor&3-secret";
const CARD: &str = "5500000000000004";
const CVN: &str = "9731";

/// Everything written by the subscriber, kept for searching.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_in_logs_debug_or_errors_at_trace_level() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init()
        .expect("the only subscriber of this test binary");

    let mut shown = String::new();
    let simulator = Simulator::start(
        SimulatorConfig::default()
            .with_accounts([(ACCOUNT, PASSWORD)])
            .with_faults(
                FaultPlan::seeded(9)
                    .with_truncate_rate(1.0)
                    .with_max_faults(1),
            ),
    )
    .await
    .unwrap();
    let upstream = Upstream::new(simulator.endpoint()).with_ca_cert(simulator.ca_path().unwrap());
    let proxy_dir = tempfile::tempdir().unwrap();
    let proxy = ContractServer::record(upstream, proxy_dir.path(), ServeOptions::default())
        .await
        .unwrap();
    let outlet = Outlet::new("123123123", "123", "123").unwrap();

    for (protocol, endpoint, ca) in [
        (
            Protocol::Soap11,
            simulator.endpoint(),
            simulator.ca_path().unwrap().to_path_buf(),
        ),
        (
            Protocol::Soap12,
            proxy.endpoint(),
            proxy.ca_path().unwrap().to_path_buf(),
        ),
        (
            Protocol::Nvp,
            simulator.endpoint(),
            simulator.ca_path().unwrap().to_path_buf(),
        ),
    ] {
        let credentials = Credentials::new(ACCOUNT, PASSWORD);
        let client = Client::builder(&endpoint)
            .credentials(credentials.clone())
            .ca_certificate_file(&ca)
            .protocol(protocol)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        shown.push_str(&format!("{credentials:?} {client:?}\n"));

        // A card sale carries the card number and its CVN.
        let mut sale = instamed_soap::bindings::types::DoCreditCardAuthAndCapt::default();
        let mut transaction =
            instamed_soap::bindings::types::CreditCardAuthAndCaptRequestData::default();
        transaction.merchant_id = Some("123123123".into());
        transaction.store_id = Some("123".into());
        transaction.terminal_id = Some("123".into());
        transaction.amount = Some("1.00".into());
        transaction.card_number = Some(CARD.into());
        transaction.card_verification_number = Some(CVN.into());
        sale.transaction = Some(transaction);
        match client
            .call::<instamed_soap::bindings::operations::DoCreditCardAuthAndCapt>(&sale)
            .await
        {
            Ok(response) => shown.push_str(&format!(
                "{:?}\n",
                response
                    .do_credit_card_auth_and_capt_result
                    .map(|r| r.response_message)
            )),
            Err(error) => shown.push_str(&format!("{error} {error:?} {}\n", error.report())),
        }

        let payment = simulator.ledger().create_payment(&outlet, "2.00").unwrap();
        let request = VoidRequest::new(outlet.clone(), payment);
        shown.push_str(&format!("{request:?}\n"));
        for result in [
            client.void(&request).await.map(|r| format!("{r:?}")),
            client
                .void_reconciled(&request)
                .await
                .map(|r| format!("{r:?}")),
        ] {
            match result {
                Ok(text) => shown.push_str(&text),
                Err(error) => shown.push_str(&format!("{error} {error:?} {}\n", error.report())),
            }
        }

        // Refused credentials, and a TLS failure (no CA given).
        let intruder = Client::builder(&endpoint)
            .credentials(Credentials::new(ACCOUNT, format!("{PASSWORD}x")))
            .ca_certificate_file(&ca)
            .protocol(protocol)
            .build()
            .unwrap();
        let error = intruder.void(&request).await.unwrap_err();
        shown.push_str(&format!("{error} {error:?} {}\n", error.report()));
        let untrusting = Client::builder(&endpoint)
            .credentials(Credentials::new(ACCOUNT, PASSWORD))
            .build()
            .unwrap();
        let error = untrusting.void(&request).await.unwrap_err();
        shown.push_str(&format!("{error} {error:?} {}\n", error.report()));
    }
    proxy.shutdown().await;
    simulator.shutdown().await;

    let logged = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(
        logged.contains("TRACE") || logged.contains("DEBUG"),
        "nothing was captured"
    );
    assert!(
        logged.contains("sending"),
        "the client's own events were not captured:\n{logged}"
    );
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT}:{PASSWORD}"));
    let local_token =
        base64::engine::general_purpose::STANDARD.encode(format!("clinic:{PASSWORD}"));
    for (what, text) in [("logs", &logged), ("Debug/Display/errors", &shown)] {
        for secret in [PASSWORD, token.as_str(), local_token.as_str(), CARD] {
            assert!(!text.contains(secret), "{what} hold {secret:?}");
        }
        assert!(
            !text.contains(&format!(">{CVN}<")) && !text.contains(&format!("={CVN}")),
            "{what} hold the CVN"
        );
    }
}
