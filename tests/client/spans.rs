//! A caller's own subscriber sees a span around each public call of the client, with the
//! payment, the protocol and the verdict, and never a secret: checked with a layer that keeps
//! every span's and event's fields, at trace level, around voids against the simulator.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use instamed_soap::rest::Amount;
use instamed_soap::{Client, Credentials, Outlet, Protocol, VoidOrRefund, VoidRequest};
use instamed_soap_simulator::{DEMO_ACCOUNT_ID, DEMO_PASSWORD, Simulator, SimulatorConfig};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

/// One span as the subscriber saw it: its name and its fields, recorded late ones included.
#[derive(Debug, Clone, Default)]
struct SeenSpan {
    name: &'static str,
    fields: BTreeMap<String, String>,
}

/// What the subscriber saw: every span by ID, and the text of every field of everything.
#[derive(Debug, Default)]
struct Seen {
    spans: BTreeMap<u64, SeenSpan>,
    all_text: String,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Seen>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

fn text_of(fields: &BTreeMap<String, String>) -> String {
    fields
        .iter()
        .map(|(name, value)| format!("{name}={value} "))
        .collect()
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut span = SeenSpan {
            name: attributes.metadata().name(),
            ..SeenSpan::default()
        };
        attributes.record(&mut Fields(&mut span.fields));
        let mut seen = self.0.lock().unwrap();
        let text = text_of(&span.fields);
        seen.all_text.push_str(&text);
        seen.spans.insert(id.into_u64(), span);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        values.record(&mut Fields(&mut fields));
        let mut seen = self.0.lock().unwrap();
        let text = text_of(&fields);
        seen.all_text.push_str(&text);
        if let Some(span) = seen.spans.get_mut(&id.into_u64()) {
            span.fields.extend(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let text = text_of(&fields);
        self.0.lock().unwrap().all_text.push_str(&text);
    }
}

fn outlet() -> Outlet {
    Outlet::new("123123123", "123", "123").unwrap()
}

fn client(simulator: &Simulator, protocol: Protocol) -> Client {
    let mut builder = Client::builder(simulator.endpoint())
        .credentials(Credentials::new(DEMO_ACCOUNT_ID, DEMO_PASSWORD))
        .protocol(protocol);
    if let Some(ca) = simulator.ca_path() {
        builder = builder.ca_certificate_file(ca);
    }
    builder.build().unwrap()
}

/// The spans called `name` whose `payment` is `payment`.
fn spans_of(seen: &Seen, name: &str, payment: &str) -> Vec<SeenSpan> {
    seen.spans
        .values()
        .filter(|span| span.name == name)
        .filter(|span| span.fields.get("payment").map(String::as_str) == Some(payment))
        .cloned()
        .collect()
}

// One thread: the simulator's tasks and the client's run where the subscriber is the default.
#[tokio::test(flavor = "current_thread")]
async fn each_call_has_a_span_with_its_payment_and_verdict_and_no_secret() {
    let recorder = Recorder::default();
    let _default =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));

    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let ledger = simulator.ledger();
    let over_soap = ledger.create_payment(&outlet(), "10.00").unwrap();
    let over_nvp = ledger.create_payment(&outlet(), "10.00").unwrap();
    let too_late = ledger.create_payment(&outlet(), "10.00").unwrap();
    ledger.start_transfer(&too_late).unwrap();

    client(&simulator, Protocol::Soap12)
        .void(&VoidRequest::new(outlet(), over_soap.clone()))
        .await
        .unwrap();
    let first = client(&simulator, Protocol::Nvp)
        .void(&VoidRequest::new(outlet(), over_nvp.clone()))
        .await;
    assert!(first.is_ok(), "{first:?}");
    let again = client(&simulator, Protocol::Nvp)
        .void(&VoidRequest::new(outlet(), over_nvp.clone()))
        .await;
    assert!(again.is_err());
    let amount: Amount = "4.00".parse().unwrap();
    let refunded = client(&simulator, Protocol::Soap11)
        .void_or_refund(&VoidRequest::new(outlet(), too_late.clone()), amount)
        .await
        .unwrap();
    assert!(matches!(refunded, VoidOrRefund::Refunded(_)));
    simulator.shutdown().await;

    let seen = recorder.0.lock().unwrap();
    let voids = spans_of(&seen, "instamed_soap.void", &over_soap.to_string());
    assert_eq!(voids.len(), 1, "{:?}", seen.spans);
    assert_eq!(voids[0].fields["protocol"], "soap12");
    assert_eq!(voids[0].fields["verdict"], "voided");

    let verdicts: Vec<String> = spans_of(&seen, "instamed_soap.void", &over_nvp.to_string())
        .iter()
        .map(|span| format!("{} {}", span.fields["protocol"], span.fields["verdict"]))
        .collect();
    assert_eq!(verdicts, ["nvp voided", "nvp already_voided"]);

    let late = too_late.to_string();
    let either = spans_of(&seen, "instamed_soap.void_or_refund", &late);
    assert_eq!(either.len(), 1, "{:?}", seen.spans);
    assert_eq!(either[0].fields["verdict"], "refunded");
    assert_eq!(either[0].fields["amount"], "4.00");
    let inner_void = spans_of(&seen, "instamed_soap.void", &late);
    assert_eq!(inner_void[0].fields["verdict"], "not_voidable");
    let refund = spans_of(&seen, "instamed_soap.refund", &late);
    assert_eq!(refund[0].fields["verdict"], "refunded");

    let token = base64::engine::general_purpose::STANDARD
        .encode(format!("{DEMO_ACCOUNT_ID}:{DEMO_PASSWORD}"));
    for secret in [DEMO_PASSWORD, token.as_str(), DEMO_ACCOUNT_ID] {
        assert!(
            !seen.all_text.contains(secret),
            "{secret:?} reached the subscriber: {}",
            seen.all_text
        );
    }
    // The simulator's own line about each request went to the same subscriber.
    assert!(
        seen.all_text
            .contains("operation=DoCreditCardSecondaryVoid"),
        "{}",
        seen.all_text
    );
}
