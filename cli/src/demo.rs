//! `instamed-soap demo`: the whole story in one offline command.

use std::process::ExitCode;

use bytes::Bytes;
use instamed_soap::UserName;
use instamed_soap::bindings::operations::DoCreditCardSecondaryVoid;
use instamed_soap::rest::Amount;
use instamed_soap::soap::{Answer, Operation as _, SoapVersion, decode};
use instamed_soap::sso::{SsoAccount, SsoClient, SsoOutcome, SsoVoid};
use instamed_soap::{
    ApiKey, Client, Credentials, Error, Outcome, Outlet, Protocol, RefundRequest, TransactionId,
    VoidConfirmation, VoidOrRefund, VoidRequest,
};
use instamed_soap_gateway::{Clients, Gateway, GatewayConfig, Tls, Upstream};
use instamed_soap_ledger::{Action, Ledger};
use instamed_soap_simulator::{FaultPlan, Simulator, SimulatorConfig};

use crate::exit;

/// Arguments of `demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Answer refusals as SOAP faults / NVP errors instead of decline results.
    #[arg(long)]
    fault_refusals: bool,
}

/// One line of the demo's table.
struct Row {
    step: &'static str,
    protocol: Protocol,
    payment: String,
    outcome: String,
    detail: String,
}

/// Runs `demo`.
pub async fn run(args: Args) -> ExitCode {
    match demo(args).await {
        Ok(rows) => {
            print_table(&rows);
            ExitCode::from(exit::VOIDED)
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(exit::FAILED)
        }
    }
}

/// A client of `simulator` over `protocol`, signed with the simulator's first account (SOAP,
/// NVP) or API key pair (REST).
fn client_of(
    simulator: &Simulator,
    config: &SimulatorConfig,
    protocol: Protocol,
) -> Result<Client, Box<dyn std::error::Error>> {
    let mut builder = if protocol == Protocol::Rest {
        let (key, secret) = config.api_keys.first().ok_or("no demo API key")?;
        Client::builder(simulator.rest_base()).api_key(ApiKey::new(key, secret))
    } else {
        let (account, password) = config.accounts.first().ok_or("no demo account")?;
        Client::builder(simulator.endpoint()).credentials(Credentials::new(account, password))
    };
    // The simulator runs in this process: a proxy from the environment could not reach it.
    builder = builder.protocol(protocol).no_proxy();
    if let Some(ca) = simulator.ca_path() {
        builder = builder.ca_certificate_file(ca);
    }
    Ok(builder.build()?)
}

async fn demo(args: Args) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    let mut config = SimulatorConfig::default();
    if args.fault_refusals {
        config.refusal_style = instamed_soap_simulator::RefusalStyle::Fault;
    }
    let simulator = Simulator::start(config.clone()).await?;
    println!("Simulator: {}", simulator.endpoint());
    if let Some(ca) = simulator.ca_path() {
        println!("CA:        {}", ca.display());
    }
    println!();

    let outlet = Outlet::new("123123123", "123", "123")?;
    let ledger = simulator.ledger();
    let payments: Vec<TransactionId> = [
        "25.00", "40.10", "12.75", "99.99", "18.00", "30.00", "60.00",
    ]
    .into_iter()
    .map(|amount| ledger.create_payment(&outlet, amount))
    .collect::<Result<_, _>>()?;
    ledger.start_transfer(&payments[3])?;
    ledger.start_transfer(&payments[6])?;
    let unknown = TransactionId::new("00000000000000000000000000000000")?;

    let steps = [
        ("void over SOAP 1.1", Protocol::Soap11, &payments[0]),
        ("void over SOAP 1.2", Protocol::Soap12, &payments[1]),
        ("void over NVP", Protocol::Nvp, &payments[2]),
        ("void it again", Protocol::Soap11, &payments[0]),
        ("void after transfer began", Protocol::Soap12, &payments[3]),
        ("void an unknown payment", Protocol::Nvp, &unknown),
        ("void over REST", Protocol::Rest, &payments[4]),
    ];
    let mut rows = Vec::new();
    for (step, protocol, payment) in steps {
        let client = client_of(&simulator, &config, protocol)?;
        let request = VoidRequest::new(outlet.clone(), payment.clone());
        let (outcome, detail) = match client.void(&request).await {
            Ok(receipt) => (
                Outcome::Voided.name().to_owned(),
                format!(
                    "TransactionStatus {}, PrimaryTransactionStatus {}",
                    receipt.transaction_status, receipt.primary_transaction_status
                ),
            ),
            Err(error) => (error.outcome().name().to_owned(), refusal_detail(&error)),
        };
        rows.push(Row {
            step,
            protocol,
            payment: payment.to_string(),
            outcome,
            detail,
        });
    }

    // A simple refund of part of a payment: the answer carries the refund's own ID.
    let refund = RefundRequest::new(outlet.clone(), payments[5].clone(), Amount::from_cents(400))?;
    let client = client_of(&simulator, &config, Protocol::Rest)?;
    let (outcome, detail) = match client.refund(&refund).await {
        Ok(receipt) => (
            Outcome::Refunded.name().to_owned(),
            format!("4.00 back, refund {}", receipt.refund_id),
        ),
        Err(error) => (error.outcome().name().to_owned(), refusal_detail(&error)),
    };
    rows.push(Row {
        step: "refund 4.00 of a payment",
        protocol: Protocol::Rest,
        payment: payments[5].to_string(),
        outcome,
        detail,
    });

    // The explicit policy: void, and refund only when the void is refused as too late.
    let client = client_of(&simulator, &config, Protocol::Soap11)?;
    let request = VoidRequest::new(outlet.clone(), payments[6].clone());
    let (outcome, detail) = match client
        .void_or_refund(&request, Amount::from_cents(6000))
        .await
    {
        Ok(VoidOrRefund::Refunded(receipt)) => (
            Outcome::Refunded.name().to_owned(),
            format!(
                "the transfer had begun; 60.00 back, refund {}",
                receipt.refund_id
            ),
        ),
        Ok(_) => (Outcome::Voided.name().to_owned(), String::new()),
        Err(error) => (error.outcome().name().to_owned(), refusal_detail(&error)),
    };
    rows.push(Row {
        step: "void or refund, transfer began",
        protocol: Protocol::Soap11,
        payment: payments[6].to_string(),
        outcome,
        detail,
    });
    rows.push(void_by_sso(&simulator, &config, &outlet).await?);
    rows.push(through_the_gateway(&simulator, &config, &outlet).await?);
    simulator.shutdown().await;

    rows.push(reconcile_after_a_lost_answer(&outlet).await?);
    Ok(rows)
}

/// A void a person makes on InstaMed's page: the token, the page's URL, the person's click on
/// Void (played here by the form post a browser sends), and the verdict from SSOService.
async fn void_by_sso(
    simulator: &Simulator,
    config: &SimulatorConfig,
    outlet: &Outlet,
) -> Result<Row, Box<dyn std::error::Error>> {
    let payment = simulator.ledger().create_payment(outlet, "55.00")?;
    let (account, alias, key) = config.sso_accounts.first().ok_or("no demo SSO account")?;
    let mut service = Client::builder(simulator.sso_service_endpoint()).no_proxy();
    if let Some(ca) = simulator.ca_path() {
        service = service.ca_certificate_file(ca);
    }
    let sso = SsoClient::new(
        service,
        simulator.sso_login_url(),
        SsoAccount::new(account, alias, key),
    )?
    .poll_interval(std::time::Duration::from_millis(20));
    let launch = sso.launch(&SsoVoid::new(payment.clone())).await?;
    // The person clicks Void on the page the URL opens.
    let browser = client_of(simulator, config, Protocol::Soap11)?;
    let page: http::Uri = launch.url().parse()?;
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("token", launch.token())
        .append_pair("action", "void")
        .finish();
    let click = http::Request::post(page.path())
        .header(
            http::header::HOST,
            page.authority().map_or("", |a| a.as_str()),
        )
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(bytes::Bytes::from(form))?;
    browser.execute(click).await?;
    let (outcome, detail) = match sso.wait(&launch, |_, _| {}).await {
        Ok(SsoOutcome::Voided(receipt)) => (
            "voided".to_owned(),
            format!(
                "on InstaMed's page; the payment's status {}",
                receipt.primary_transaction_status
            ),
        ),
        Ok(SsoOutcome::NothingDone(_)) => ("nothing done".to_owned(), String::new()),
        Ok(_) => ("outcome unknown".to_owned(), String::new()),
        Err(error) => (
            error.outcome().name().replace('_', " "),
            refusal_detail(&error),
        ),
    };
    Ok(Row {
        step: "void by SSO",
        protocol: Protocol::Soap11,
        payment: payment.to_string(),
        outcome,
        detail,
    })
}

/// The gateway's own demo client, as an ERP signs in to it (never with InstaMed's account).
const ERP: (&str, &str) = ("demo-erp", "demo-erp-secret");

/// An ERP's void as .NET's `SoapHttpClientProtocol` writes it, SOAP 1.1.
fn erp_envelope(outlet: &Outlet, payment: &TransactionId) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope \
         xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><soap:Body>\
         <DoCreditCardSecondaryVoid xmlns=\"{ns}\"><transaction>\
         <MerchantID>{merchant}</MerchantID><StoreID>{store}</StoreID>\
         <TerminalID>{terminal}</TerminalID><PrimaryTransactionID>{payment}</PrimaryTransactionID>\
         <PrimaryCardPresentStatus>PresentManualKey</PrimaryCardPresentStatus></transaction>\
         </DoCreditCardSecondaryVoid></soap:Body></soap:Envelope>",
        ns = DoCreditCardSecondaryVoid::NAMESPACE,
        merchant = outlet.merchant_id(),
        store = outlet.store_id(),
        terminal = outlet.terminal_id(),
    )
}

/// An ERP's own SOAP envelope, sent twice through a gateway (in this process, over TLS) in
/// front of `simulator`: both answers say voided, and the gateway's ledger shows one void sent.
async fn through_the_gateway(
    simulator: &Simulator,
    config: &SimulatorConfig,
    outlet: &Outlet,
) -> Result<Row, Box<dyn std::error::Error>> {
    let payment = simulator.ledger().create_payment(outlet, "75.00")?;
    let (account, password) = config.accounts.first().ok_or("no demo account")?;
    let upstream = Upstream::new(
        client_of(simulator, config, Protocol::Soap11)?,
        &simulator.endpoint(),
    )?
    .credentials(Credentials::new(account, password), UserName::AccountId);
    let mut clients = Clients::new()?;
    clients.add_pair(&format!("{}:{}", ERP.0, ERP.1))?;
    let scratch = tempfile::tempdir()?;
    let ledger = scratch.path().join("gateway-ledger.db");
    let gateway = Gateway::start(GatewayConfig::new(
        "127.0.0.1:0".parse()?,
        Tls::Generated { ca_out: None },
        upstream,
        &ledger,
        clients,
    ))
    .await?;
    // The ERP: any HTTP client will do; this one posts the envelope as it is.
    let mut builder = Client::builder(gateway.soap_url())
        .credentials(Credentials::new(ERP.0, ERP.1))
        .no_proxy();
    if let Some(ca) = gateway.ca_path() {
        builder = builder.ca_certificate_file(ca);
    }
    let erp = builder.build()?;
    let sign_in = Credentials::new(ERP.0, ERP.1).authorization(UserName::AccountId)?;
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let mut request = http::Request::new(Bytes::from(erp_envelope(outlet, &payment)));
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = gateway.soap_url().parse()?;
        let headers = request.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/xml; charset=utf-8"),
        );
        headers.insert(
            "soapaction",
            http::HeaderValue::from_str(&format!(
                "\"{}{}\"",
                DoCreditCardSecondaryVoid::NAMESPACE,
                DoCreditCardSecondaryVoid::NAME
            ))?,
        );
        headers.insert(http::header::AUTHORIZATION, sign_in.clone());
        let answer = erp.execute(request).await?;
        let result = match decode::<DoCreditCardSecondaryVoid>(SoapVersion::Soap11, answer.body())?
        {
            Answer::Result(response) => response.do_credit_card_secondary_void_result,
            Answer::Fault(fault) => {
                return Err(format!("the gateway answered a fault: {fault}").into());
            }
        };
        let status = |value: Option<String>| value.unwrap_or_else(|| "-".to_owned());
        let result = result.unwrap_or_default();
        statuses.push(format!(
            "{}/{}",
            status(result.transaction_status),
            status(result.primary_transaction_status)
        ));
    }
    gateway.stop().await;
    let standing = Ledger::open(&ledger)?.standing(&payment)?;
    let sent = standing
        .entries
        .iter()
        .filter(|entry| entry.action == Action::Void)
        .count();
    let voided = statuses.iter().all(|status| status == "C/V") && sent == 1;
    Ok(Row {
        step: "an ERP's void twice via gateway",
        protocol: Protocol::Soap11,
        payment: payment.to_string(),
        outcome: if voided {
            Outcome::Voided.name().to_owned()
        } else {
            Outcome::Failed.name().to_owned()
        },
        detail: format!(
            "answered {}; the gateway sent {sent} void",
            statuses.join(" then ")
        ),
    })
}

/// A void whose answer is lost on the way back (the simulator voids, then cuts its answer in
/// half): its outcome is unknown, and asking again settles it from the payment's status.
async fn reconcile_after_a_lost_answer(outlet: &Outlet) -> Result<Row, Box<dyn std::error::Error>> {
    let config = SimulatorConfig::default().with_faults(
        FaultPlan::seeded(1)
            .with_truncate_rate(1.0)
            .with_max_faults(1),
    );
    let simulator = Simulator::start(config.clone()).await?;
    let payment = simulator.ledger().create_payment(outlet, "45.00")?;
    let client = client_of(&simulator, &config, Protocol::Soap11)?;
    let request = VoidRequest::new(outlet.clone(), payment.clone());
    let (outcome, detail) = match client.void_reconciled(&request).await {
        Ok(VoidConfirmation::ConfirmedAlreadyVoided { attempts, .. }) => (
            Outcome::Voided.name().to_owned(),
            format!("answer lost; attempt {attempts} found the payment voided"),
        ),
        Ok(VoidConfirmation::VoidedOnRetry { attempts, .. }) => (
            Outcome::Voided.name().to_owned(),
            format!("answer lost; voided on attempt {attempts}"),
        ),
        Ok(_) => (Outcome::Voided.name().to_owned(), "first answer".to_owned()),
        Err(error) => (error.outcome().name().to_owned(), refusal_detail(&error)),
    };
    simulator.shutdown().await;
    Ok(Row {
        step: "reconcile after a lost answer",
        protocol: Protocol::Soap11,
        payment: payment.to_string(),
        outcome,
        detail,
    })
}

fn refusal_detail(error: &Error) -> String {
    match error.refusal() {
        Some(refusal) => refusal.to_string(),
        None => error.report().to_string(),
    }
}

fn print_table(rows: &[Row]) {
    let width =
        |f: fn(&Row) -> usize, title: &str| rows.iter().map(f).max().unwrap_or(0).max(title.len());
    let w_step = width(|r| r.step.len(), "step");
    let w_proto = width(|r| r.protocol.as_str().len(), "protocol");
    let w_pay = width(|r| r.payment.len(), "payment");
    let w_out = width(|r| r.outcome.len(), "outcome");
    println!(
        "{:<w_step$}  {:<w_proto$}  {:<w_pay$}  {:<w_out$}  detail",
        "step", "protocol", "payment", "outcome"
    );
    println!("{}", "-".repeat(w_step + w_proto + w_pay + w_out + 8 + 30));
    for row in rows {
        println!(
            "{:<w_step$}  {:<w_proto$}  {:<w_pay$}  {:<w_out$}  {}",
            row.step,
            row.protocol.as_str(),
            row.payment,
            row.outcome,
            row.detail
        );
    }
}
