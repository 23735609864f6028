//! The flags of `instamed-soap void` (shared by `refund` and `reconcile`), the client and
//! request they describe, and how a void's result is printed, for people and for scripts.

use std::time::Duration;

use instamed_soap::{
    CardPresentStatus, Client, Credentials, Error, Outlet, Protocol, RetryPolicy, TransactionId,
    VoidReceipt, VoidRequest,
};

use instamed_soap::soap::SoapFault;

use crate::connection::Connection;

/// Arguments of `void`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The service address, e.g. https://connect.instamed.com/payment/service.asmx. With
    /// --protocol nvp it may be the NVP page itself (…/payment/NVP.aspx). Never put
    /// credentials in it. Or `endpoint` in the profile.
    #[arg(long, env = "INSTAMED_ENDPOINT", hide_env_values = true)]
    endpoint: Option<String>,
    /// The NVP page, when it is not NVP.aspx beside service.asmx (same scheme, host and port
    /// as --endpoint).
    #[arg(long, value_name = "URL")]
    nvp_endpoint: Option<String>,
    /// InstaMed merchant ID of the outlet that took the payment (or `merchant_id` in the
    /// profile).
    #[arg(long)]
    merchant_id: Option<String>,
    /// Store ID of the outlet (or `store_id` in the profile).
    #[arg(long)]
    store_id: Option<String>,
    /// Terminal ID of the outlet (or `terminal_id` in the profile).
    #[arg(long)]
    terminal_id: Option<String>,
    /// Transaction ID of the payment.
    #[arg(long)]
    pub(crate) transaction_id: String,
    /// How the card was present for the payment.
    #[arg(long, default_value = "PresentManualKey")]
    card_present_status: String,
    /// Protocol: soap11, soap12, nvp or rest. For rest, --endpoint is the service's base URL
    /// (https://connect.instamed.com) and the /rest/payment/… paths are appended. Default: the
    /// profile's, else soap11.
    #[arg(long, value_parser = ["soap11", "soap12", "nvp", "rest"])]
    protocol: Option<String>,
    #[command(flatten)]
    connection: Connection,
    #[command(flatten)]
    pub(crate) ledger: crate::ledger::Choice,
    /// Print one JSON object instead of a sentence.
    #[arg(long)]
    pub(crate) json: bool,
    /// When InstaMed refuses the void as too late (funds transfer begun), refund this amount
    /// instead (exit 6). Never after an unknown outcome.
    #[arg(long, value_name = "AMOUNT", conflicts_with = "reconcile")]
    pub(crate) or_refund: Option<String>,
    /// When the outcome is unknown, void again until an answer proves which way it went
    /// (PrimaryTransactionStatus V for the payment, or its status not V), at most --attempts
    /// more times.
    #[arg(long)]
    pub(crate) reconcile: bool,
    /// Most attempts after the first when reconciling, 0 to 20.
    #[arg(
        long,
        default_value_t = 3,
        value_parser = crate::bounds::within::<u32>(crate::bounds::ATTEMPTS)
    )]
    pub(crate) attempts: u32,
    /// Wait before the first reconciling attempt, in milliseconds (0 to 30000); it doubles
    /// each time, up to 30 s.
    #[arg(
        long,
        default_value_t = 250,
        value_parser = crate::bounds::within::<u64>(crate::bounds::BACKOFF_MS)
    )]
    pub(crate) backoff_ms: u64,
    /// InstaMed account ID (SOAP and NVP).
    #[arg(
        long = "account-id",
        env = "INSTAMED_ACCOUNT_ID",
        hide_env_values = true
    )]
    account_id: Option<String>,
    /// InstaMed password (read it from the environment; a value given here is visible to
    /// other users of the machine).
    #[arg(
        long = "password",
        env = "INSTAMED_PASSWORD",
        hide_env_values = true,
        hide = true
    )]
    password: Option<String>,
    /// REST API key; or KEY:SECRET, the pair as `serve` prints it, when no API secret is
    /// given apart (INSTAMED_API_SECRET).
    #[arg(long = "api-key", env = "INSTAMED_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// REST API secret (read it from the environment; a value given here is visible to
    /// other users of the machine).
    #[arg(
        long = "api-secret",
        env = "INSTAMED_API_SECRET",
        hide_env_values = true,
        hide = true
    )]
    api_secret: Option<String>,
}

impl Args {
    /// The protocol: the flag's, else the profile's, else SOAP 1.1.
    pub(crate) fn protocol(&self) -> &str {
        let profile = self.connection.profile().ok();
        self.protocol
            .as_deref()
            .or(profile.and_then(|profile| profile.protocol.as_deref()))
            .unwrap_or("soap11")
    }
}

/// A setting from its flag (or variable), else from the profile; missing from both, named by
/// the flag that gives it.
fn setting<'a>(
    given: &'a Option<String>,
    profile: &'a Option<String>,
    flag: &str,
) -> Result<&'a str, Error> {
    given
        .as_deref()
        .or(profile.as_deref())
        .ok_or_else(|| Error::InvalidConfig {
            reason: format!(
                "{flag} is missing: give it, or set it in a profile of the configuration file"
            ),
            source: None,
        })
}

/// The client and the void request the flags describe.
pub(crate) fn prepare(args: &Args) -> Result<(Client, VoidRequest), Error> {
    let profile = args.connection.profile()?;
    let protocol: Protocol =
        args.protocol()
            .parse()
            .map_err(|reason: String| Error::InvalidConfig {
                reason,
                source: None,
            })?;
    let status: CardPresentStatus = args.card_present_status.parse()?;
    let request = VoidRequest::new(
        Outlet::new(
            setting(&args.merchant_id, &profile.merchant_id, "--merchant-id")?,
            setting(&args.store_id, &profile.store_id, "--store-id")?,
            setting(&args.terminal_id, &profile.terminal_id, "--terminal-id")?,
        )?,
        TransactionId::new(&args.transaction_id)?,
    )
    .with_card_present_status(status);
    let endpoint = setting(
        &args.endpoint,
        &profile.endpoint,
        "--endpoint (or INSTAMED_ENDPOINT)",
    )?;
    let mut builder = Client::builder(endpoint)
        .protocol(protocol)
        .reconcile_policy(RetryPolicy::exponential(
            args.attempts,
            Duration::from_millis(args.backoff_ms),
        ));
    if protocol == Protocol::Rest {
        let secret = args
            .connection
            .secret(args.api_secret.as_deref(), |p| p.api_secret_file.as_deref())?;
        builder = builder.api_key(crate::connection::api_key(
            args.api_key.as_deref(),
            secret.as_deref(),
        )?);
    } else {
        let account = args.account_id.clone().or(profile.account_id.clone());
        let account = required(
            &account,
            "the account ID",
            "INSTAMED_ACCOUNT_ID or --account-id",
        )?;
        let password = args
            .connection
            .secret(args.password.as_deref(), |p| p.password_file.as_deref())?;
        let password = required(
            &password,
            "the password",
            "INSTAMED_PASSWORD, or password_file in the profile",
        )?;
        builder = builder.credentials(Credentials::new(account, password));
    }
    if let Some(url) = &args.nvp_endpoint {
        builder = builder.nvp_endpoint(url);
    }
    Ok((args.connection.apply(builder)?.build()?, request))
}

/// A credential the protocol needs: missing or empty, it is named by where it comes from, and
/// nothing is sent (an empty password would only earn a 401 from the service).
pub(crate) fn required<'a>(
    value: &'a Option<String>,
    what: &str,
    from: &str,
) -> Result<&'a str, Error> {
    match value.as_deref() {
        Some(value) if !value.is_empty() => Ok(value),
        Some(_) => Err(Error::InvalidConfig {
            reason: format!("{what} is empty: set {from}"),
            source: None,
        }),
        None => Err(Error::InvalidConfig {
            reason: format!("{what} is missing: set {from}"),
            source: None,
        }),
    }
}

/// The sentence for a receipt.
pub(crate) fn sentence(receipt: &VoidReceipt) -> String {
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

/// The JSON object for a void's result.
pub(crate) fn as_json(args: &Args, result: &Result<VoidReceipt, Error>) -> serde_json::Value {
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
        Err(error) => error_json(args, error),
    }
}

/// The JSON object for a failed void or refund.
pub(crate) fn error_json(args: &Args, error: &Error) -> serde_json::Value {
    error_json_for(&args.transaction_id, args.protocol(), error)
}

/// The JSON object for a failed void of `payment` over `protocol`, however it was asked for.
pub(crate) fn error_json_for(payment: &str, protocol: &str, error: &Error) -> serde_json::Value {
    let refusal = error.refusal();
    let mut json = serde_json::json!({
        "outcome": error.outcome_name(),
        "error_code": error.code(),
        "payment": payment,
        "protocol": protocol,
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
        json["nvp_error"] = serde_json::json!({ "code": answer.code, "message": answer.message });
    }
    json
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

/// An error on standard error, its verdict leading the line unless its own words already say it.
pub(crate) fn print_error(error: &Error) {
    let verdict = error.outcome_name().replace('_', " ");
    let report = error.report().to_string();
    // "invalid client configuration: …" already says what "invalid config" would.
    if report.starts_with(&verdict) || matches!(error, Error::InvalidConfig { .. }) {
        eprintln!("{report}");
    } else {
        eprintln!("{verdict}: {report}");
    }
}
