//! `instamed-soap void`: one void, for people and for scripts.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use instamed_soap::{
    CardPresentStatus, Client, Credentials, Error, Outlet, Protocol, TransactionId, VoidReceipt,
    VoidRequest,
};

use instamed_soap::soap::SoapFault;

use crate::exit;

/// Arguments of `void`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The service address, e.g. https://connect.instamed.com/payment/service.asmx
    #[arg(long, env = "INSTAMED_ENDPOINT")]
    endpoint: String,
    /// InstaMed merchant ID of the outlet that took the payment.
    #[arg(long)]
    merchant_id: String,
    /// Store ID of the outlet.
    #[arg(long)]
    store_id: String,
    /// Terminal ID of the outlet.
    #[arg(long)]
    terminal_id: String,
    /// Transaction ID of the payment to void.
    #[arg(long)]
    transaction_id: String,
    /// How the card was present for the payment.
    #[arg(long, default_value = "PresentManualKey")]
    card_present_status: String,
    /// Protocol: soap11, soap12 or nvp.
    #[arg(long, default_value = "soap11", value_parser = ["soap11", "soap12", "nvp"])]
    protocol: String,
    /// Trust only the CA certificate(s) in this PEM file (e.g. the simulator's).
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// Allow http:// on a loopback address (for the simulator started with --plain-http).
    #[arg(long)]
    allow_plain_http: bool,
    /// Deadline for the whole call, in seconds.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Print one JSON object instead of a sentence.
    #[arg(long)]
    json: bool,
    /// InstaMed account ID.
    #[arg(
        long = "account-id",
        env = "INSTAMED_ACCOUNT_ID",
        hide_env_values = true
    )]
    account_id: String,
    /// InstaMed password (read it from the environment; a value given here is visible to
    /// other users of the machine).
    #[arg(
        long = "password",
        env = "INSTAMED_PASSWORD",
        hide_env_values = true,
        hide = true
    )]
    password: String,
}

/// Runs `void`.
pub async fn run(args: Args) -> ExitCode {
    let json = args.json;
    let result = match prepare(&args) {
        Ok((client, request)) => client.void(&request).await,
        Err(error) => Err(error),
    };
    let code = match &result {
        Ok(_) => exit::VOIDED,
        Err(error) => exit::code_for(error),
    };
    if json {
        println!("{}", as_json(&args, &result));
    } else {
        match &result {
            Ok(receipt) => println!("{}", sentence(receipt)),
            Err(error) => {
                // The verdict leads the line, unless the error's own words already say it.
                let verdict = exit::outcome_name(error).replace('_', " ");
                let report = error.report().to_string();
                if report.starts_with(&verdict) {
                    eprintln!("{report}");
                } else {
                    eprintln!("{verdict}: {report}");
                }
            }
        }
    }
    ExitCode::from(code)
}

fn prepare(args: &Args) -> Result<(Client, VoidRequest), Error> {
    let protocol: Protocol =
        args.protocol
            .parse()
            .map_err(|reason: String| Error::InvalidConfig {
                reason,
                source: None,
            })?;
    let status: CardPresentStatus = args.card_present_status.parse()?;
    let request = VoidRequest::new(
        Outlet::new(&args.merchant_id, &args.store_id, &args.terminal_id)?,
        TransactionId::new(&args.transaction_id)?,
    )
    .with_card_present_status(status);
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err(Error::InvalidConfig {
            reason: "--timeout must be a positive number".into(),
            source: None,
        });
    }
    let mut builder = Client::builder(&args.endpoint)
        .credentials(Credentials::new(&args.account_id, &args.password))
        .protocol(protocol)
        .allow_plain_http_on_loopback(args.allow_plain_http)
        .timeout(Duration::from_secs_f64(args.timeout));
    if let Some(ca) = &args.ca_cert {
        builder = builder.ca_certificate_file(ca);
    }
    Ok((builder.build()?, request))
}

fn sentence(receipt: &VoidReceipt) -> String {
    format!(
        "voided {} over {} (TransactionStatus {}, PrimaryTransactionStatus {}{})",
        receipt.payment,
        receipt.protocol,
        receipt.transaction_status,
        receipt.primary_transaction_status,
        receipt
            .response_message
            .as_deref()
            .map(|m| format!(", {m}"))
            .unwrap_or_default()
    )
}

fn as_json(args: &Args, result: &Result<VoidReceipt, Error>) -> serde_json::Value {
    match result {
        Ok(receipt) => serde_json::json!({
            "outcome": "voided",
            "payment": receipt.payment.as_str(),
            "protocol": receipt.protocol.as_str(),
            "transaction_status": receipt.transaction_status,
            "primary_transaction_status": receipt.primary_transaction_status,
            "response_code": receipt.response_code,
            "response_message": receipt.response_message,
            "transaction_id": receipt.transaction_id,
        }),
        Err(error) => {
            let refusal = error.refusal();
            let mut json = serde_json::json!({
                "outcome": exit::outcome_name(error),
                "error_code": error.code(),
                "payment": args.transaction_id,
                "protocol": args.protocol,
                "outcome_unknown": error.outcome_unknown(),
                "proves_voided": error.proves_voided(),
                "error": error.report().to_string(),
                "http_status": error.http_status(),
                "response_code": refusal.and_then(|r| r.response_code.clone()),
                "response_message": refusal.and_then(|r| r.response_message.clone()),
                "transaction_status": refusal.and_then(|r| r.transaction_status.clone()),
                "primary_transaction_status":
                    refusal.and_then(|r| r.primary_transaction_status.clone()),
            });
            if let Some(fault) = error.fault() {
                json["fault"] = fault_json(fault);
            }
            if let Error::NvpError(answer) = error {
                json["nvp_error"] =
                    serde_json::json!({ "code": answer.code, "message": answer.message });
            }
            json
        }
    }
}

/// A fault as a person needs it to see why: who it blames, in what words, with what detail.
/// Its texts were cleaned of secrets by the client as it read them.
fn fault_json(fault: &SoapFault) -> serde_json::Value {
    let detail: Vec<serde_json::Value> = fault
        .detail
        .iter()
        .map(|entry| {
            serde_json::json!({
                "name": entry.name,
                "namespace": entry.namespace,
                "text": entry.text,
            })
        })
        .collect();
    serde_json::json!({
        "soap_version": fault.version.to_string(),
        "code": fault.code.to_string(),
        "raw_code": fault.raw_code,
        "subcodes": fault.subcodes,
        "reason": fault.reason,
        "node": fault.node,
        "actor": fault.actor,
        "http_status": fault.http_status,
        "detail": detail,
    })
}
