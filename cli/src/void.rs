//! The flags of `instamed-soap void` (shared by `refund` and `reconcile`), the client and
//! request they describe, and how a void's result is printed, for people and for scripts.

use std::time::Duration;

use instamed_soap::{
    CardPresentStatus, Client, Error, Outlet, Protocol, RetryPolicy, TransactionId, VoidReceipt,
    VoidRequest,
};

use instamed_soap::sensitive::{redacted_url, shown};

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
    #[arg(long, default_value = "PresentManualKey", value_parser = card_present_statuses())]
    card_present_status: String,
    /// Protocol: soap11, soap12, nvp or rest. For rest, --endpoint is the service's base URL
    /// (https://connect.instamed.com) and the /rest/payment/… paths are appended. Default: the
    /// profile's, else soap11.
    #[arg(long, value_parser = ["soap11", "soap12", "nvp", "rest"])]
    protocol: Option<String>,
    #[command(flatten)]
    connection: Connection,
    #[command(flatten)]
    account: crate::sign_in::Account,
    #[command(flatten)]
    key_pair: crate::sign_in::KeyPair,
    #[command(flatten)]
    wire: crate::show_wire::ShowWire,
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
    /// Wait before the first reconciling attempt: a duration such as 250ms or 2s, from 0 to
    /// 30s; it doubles each time, up to 30s.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "250ms",
        value_parser = crate::duration::BACKOFF.parser()
    )]
    pub(crate) backoff: Duration,
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

/// The codes `--card-present-status` takes: clap lists them in `--help` and in the error for
/// any other.
fn card_present_statuses() -> clap::builder::PossibleValuesParser {
    CardPresentStatus::ALL.map(CardPresentStatus::as_str).into()
}

impl Args {
    /// The settings this run used, as the flags that give them: for a follow-up command
    /// (`reconcile`) to act on the same payment, outlet, endpoint, protocol, trust and
    /// ledger. Never a secret: those come from the environment or the profile.
    pub(crate) fn settings(&self) -> Result<Vec<String>, Error> {
        let profile = self.connection.profile()?;
        let mut words = Vec::new();
        let mut put = |flag: &str, value: &str| {
            words.push(flag.to_owned());
            words.push(value.to_owned());
        };
        // Shown on a terminal and in logs: swept as every shown address is.
        put(
            "--endpoint",
            &redacted_url(setting(&self.endpoint, &profile.endpoint, "--endpoint")?),
        );
        put("--protocol", self.protocol());
        if let Some(url) = &self.nvp_endpoint {
            put("--nvp-endpoint", &redacted_url(url));
        }
        put(
            "--merchant-id",
            setting(&self.merchant_id, &profile.merchant_id, "--merchant-id")?,
        );
        put(
            "--store-id",
            setting(&self.store_id, &profile.store_id, "--store-id")?,
        );
        put(
            "--terminal-id",
            setting(&self.terminal_id, &profile.terminal_id, "--terminal-id")?,
        );
        put("--transaction-id", &self.transaction_id);
        if self.card_present_status != CardPresentStatus::default().as_str() {
            put("--card-present-status", &self.card_present_status);
        }
        if let Some(ledger) = &self.ledger.ledger {
            put("--ledger", &crate::ledger::shown(ledger));
        }
        words.extend(self.connection.repeated());
        // No card number and no control character reaches the line, whatever was typed.
        Ok(words.iter().map(|word| shown(word).into_owned()).collect())
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
        .reconcile_policy(RetryPolicy::exponential(args.attempts, args.backoff));
    builder = if protocol == Protocol::Rest {
        builder.api_key(args.key_pair.api_key(&args.connection)?)
    } else {
        builder.credentials(args.account.credentials(&args.connection)?)
    };
    if let Some(url) = &args.nvp_endpoint {
        builder = builder.nvp_endpoint(url);
    }
    let builder = args.wire.apply(args.connection.apply(builder)?);
    Ok((builder.build()?, request))
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
