//! `/payment/NVP.aspx` as an ERP that speaks NVP uses it: form posts (and the older GET
//! query), retried as the ERP retries.

use std::time::Duration;

use instamed_soap::nvp::decode;
use instamed_soap::{Client, Credentials, Protocol, TransactionId, VoidRequest};
use instamed_soap_simulator::FaultPlan;
use instamed_soap_test_support::raw_https::RawResponse;

use crate::erp::{Bench, CLIENT, SECRET};

pub(crate) fn void_form(payment: &TransactionId) -> String {
    format!(
        "transactionType=CreditCard&transactionAction=Void&MerchantID=123123123&StoreID=123\
         &TerminalID=456&primaryCardPresentStatus=PresentManualKey&primaryTransactionID={payment}"
    )
}

/// The value of `key` in an NVP answer.
fn pair(response: &RawResponse, key: &str) -> Option<String> {
    decode(response.body.as_bytes())
        .expect("pairs")
        .get(key)
        .map(str::to_owned)
}

fn assert_voided(response: &RawResponse, payment: &TransactionId) {
    assert_eq!(response.status, 200, "{}", response.body);
    assert!(
        response
            .header("content-type")
            .starts_with("application/x-www-form-urlencoded")
    );
    assert_eq!(pair(response, "transactionStatus").as_deref(), Some("C"));
    assert_eq!(
        pair(response, "primaryTransactionStatus").as_deref(),
        Some("V")
    );
    assert_eq!(
        pair(response, "primaryTransactionID").as_deref(),
        Some(payment.as_str())
    );
    assert_eq!(pair(response, "errorCode"), None, "{}", response.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_nvp_void_posted_three_times_in_parallel_is_sent_once() {
    let bench = Bench::start().await;
    let payment = bench.payment("12.00");
    let form = void_form(&payment);
    let (a, b, c) = tokio::join!(
        bench.nvp(false, &form),
        bench.nvp(false, &form),
        bench.nvp(false, &form)
    );
    for answer in [&a, &b, &c] {
        assert_voided(answer, &payment);
    }
    // An older ERP's GET query, keys in other cases, hears the same and sends nothing.
    let lower = form
        .replace("MerchantID", "merchantId")
        .replace("primaryTransactionID", "PRIMARYTRANSACTIONID");
    assert_voided(&bench.nvp(true, &lower).await, &payment);
    assert_eq!(bench.voids_at_instamed(&payment), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_nvp_refund_asked_twice_is_made_once_with_the_same_refund_id() {
    let bench = Bench::start().await;
    let payment = bench.payment("30.00");
    let form = format!(
        "transactionType=CreditCard&transactionAction=SimpleRefund&MerchantID=123123123\
         &StoreID=123&TerminalID=456&amount=10.00&primaryTransactionID={payment}"
    );
    let first = bench.nvp(false, &form).await;
    let again = bench.nvp(false, &form).await;
    assert_eq!(pair(&first, "transactionStatus").as_deref(), Some("C"));
    let refund = pair(&first, "transactionID").expect("the refund's own ID");
    assert_ne!(refund, payment.as_str());
    assert_eq!(pair(&again, "transactionID"), Some(refund));
    assert_eq!(bench.refunds_at_instamed(&payment), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_nvp_void_is_an_error_the_client_reads_as_unknown_then_the_settled_answer() {
    // The first request InstaMed gets is answered with a server fault.
    let bench =
        Bench::with_faults(FaultPlan::seeded(7).with_fault_rate(1.0).with_max_faults(1)).await;
    let payment = bench.payment("15.00");
    let gateway = bench.gateway();
    // The house's own client, speaking NVP to the gateway as to InstaMed.
    let erp = Client::builder(gateway.soap_url())
        .protocol(Protocol::Nvp)
        .credentials(Credentials::new(CLIENT, SECRET))
        .ca_certificate_file(gateway.ca_path().expect("the gateway's CA"))
        .timeout(Duration::from_secs(5))
        .build()
        .expect("an NVP client of the gateway");
    let error = erp
        .void(&VoidRequest::new(Bench::outlet(), payment.clone()))
        .await
        .expect_err("the outcome is not known yet");
    assert!(error.outcome_unknown(), "{error:?}");

    // The same answer, as pairs: the gateway's reason, the payment and when to ask again.
    let form = void_form(&payment);
    let mut settled = None;
    for _ in 0..50 {
        let answer = bench.nvp(false, &form).await;
        if pair(&answer, "errorCode").is_none() {
            settled = Some(answer);
            break;
        }
        assert_eq!(pair(&answer, "errorCode").as_deref(), Some("500"));
        assert_eq!(
            pair(&answer, "gatewayError").as_deref(),
            Some("OutcomeUnknown")
        );
        assert_eq!(pair(&answer, "retryAfterSeconds").as_deref(), Some("1"));
        assert_eq!(answer.header("retry-after"), "1");
        assert_eq!(
            pair(&answer, "primaryTransactionID").as_deref(),
            Some(payment.as_str())
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_voided(&settled.expect("the reconciliation settles it"), &payment);
    assert_eq!(bench.voids_at_instamed(&payment), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_nvp_sale_is_forwarded_once_to_instameds_nvp_page() {
    let bench = Bench::start().await;
    let before = bench.simulator.ledger().len();
    let answer = bench
        .nvp(
            false,
            "transactionType=CreditCard&transactionAction=Sale&MerchantID=123123123&StoreID=123\
             &TerminalID=456&amount=25.00&cardNumber=4111111111111111",
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(pair(&answer, "transactionStatus").as_deref(), Some("C"));
    let sold = TransactionId::new(pair(&answer, "transactionID").expect("new ID")).expect("id");
    assert!(bench.simulator.ledger().payment(&sold).is_some());
    assert_eq!(bench.simulator.ledger().len(), before + 1, "sent once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_nvp_void_the_gateway_cannot_read_is_refused_and_never_forwarded() {
    let bench = Bench::start().await;
    let (one, other) = (bench.payment("5.00"), bench.payment("6.00"));
    let outlet = "MerchantID=123123123&StoreID=123&TerminalID=456";
    for form in [
        // No payment.
        format!("transactionType=CreditCard&transactionAction=Void&{outlet}"),
        // Two payments (InstaMed would void the first): which one was meant cannot be told.
        format!(
            "transactionType=CreditCard&transactionAction=Void&{outlet}\
             &primaryTransactionID={one}&PrimaryTransactionID={other}"
        ),
        // A void of another type.
        format!("transactionType=ACH&transactionAction=Void&{outlet}&primaryTransactionID={one}"),
    ] {
        let answer = bench.nvp(false, &form).await;
        assert_eq!(pair(&answer, "errorCode").as_deref(), Some("400"), "{form}");
        assert_eq!(pair(&answer, "gatewayError").as_deref(), Some("Rejected"));
    }
    assert_eq!(bench.voids_at_instamed(&one), 0);
    assert_eq!(bench.voids_at_instamed(&other), 0);
}
