//! `instamed-soap sso`: voids a person makes on InstaMed's own page (Single Sign-On), and what
//! became of them.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::time::Duration;

use instamed_soap::sso::{
    NothingDone, SsoAccount, SsoClient, SsoLaunch, SsoOutcome, SsoVoid, TokenStatus,
};
use instamed_soap::{Client, Error, Protocol, TransactionId};
use instamed_soap_ledger::Guarded;

use crate::connection::Connection;
use crate::exit;
use crate::output::{Held, Said};
use crate::sign_in::required;
use crate::void::sentence;
use instamed_soap::Outcome;

/// What `sso --help` says before its exit codes.
pub const HELP: &str = "\
SSOService.asmx signs in with the SSO account ID (INSTAMED_SSO_ACCOUNT_ID, else
INSTAMED_ACCOUNT_ID), its alias (INSTAMED_SSO_ALIAS) and its security key
(INSTAMED_SSO_KEY, never echoed). The login is the account's SSO URL (--sso-login-url,
INSTAMED_SSO_LOGIN_URL; default /providers/Form/SSO/SSOLogin on the service's host).";

/// The `sso` commands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Open InstaMed's void page for one payment: print the URL for the person's browser,
    /// wait while they void or cancel there (polling the token's status), and say what became
    /// of the payment, in `void`'s words and exit codes.
    #[command(after_help = exit::help("sso void", HELP))]
    Void(VoidArgs),
    /// Ask once what a token's page did: its status, and with --transaction-id the verdict on
    /// that payment.
    #[command(after_help = exit::help("sso status", HELP))]
    Status(StatusArgs),
}

/// How `sso` reaches InstaMed and signs in.
#[derive(Debug, clap::Args)]
pub struct Sso {
    /// SSOService's address, e.g.
    /// https://online.instamed.com/providers/Forms/WebServices/SSOService.asmx.
    #[arg(long, env = "INSTAMED_SSO_ENDPOINT", hide_env_values = true)]
    sso_endpoint: String,
    #[command(flatten)]
    sign_in: SsoSignIn,
    /// The InstaMed account ID, when no SSO account ID is given.
    #[arg(long, env = "INSTAMED_ACCOUNT_ID", hide_env_values = true, hide = true)]
    account_id: Option<String>,
    /// SOAP version for SSOService: soap11 or soap12.
    #[arg(long, default_value = "soap11", value_parser = ["soap11", "soap12"])]
    protocol: String,
    /// How often to ask for the token's status, in seconds (0.01 to 300).
    #[arg(long, default_value_t = 10.0, value_parser = poll_interval)]
    poll_interval: f64,
    /// Print one JSON object instead of a sentence.
    #[arg(long)]
    json: bool,
    /// Let reconciliation read a payment's record with GetTransactionDetailsByTransactionID
    /// (off by default: whether InstaMed answers it without a live token is not known).
    #[arg(long, env = "INSTAMED_SSO_LOOKUP_BY_TRANSACTION_ID")]
    lookup_by_transaction_id: bool,
    #[command(flatten)]
    connection: Connection,
}

/// How an SSO client signs in: the login beside `SSOService.asmx` and the SSO account. Shared
/// by `sso` and `gateway` (which offers `POST /v1/sso/voids` with it).
#[derive(Debug, clap::Args)]
pub struct SsoSignIn {
    /// The account's SSO login URL, on the same host as SSOService.asmx (default
    /// /providers/Form/SSO/SSOLogin there).
    #[arg(long, env = "INSTAMED_SSO_LOGIN_URL", hide_env_values = true)]
    sso_login_url: Option<String>,
    /// The SSO account ID.
    #[arg(long, env = "INSTAMED_SSO_ACCOUNT_ID", hide_env_values = true)]
    sso_account_id: Option<String>,
    /// The SSO alias (it maps to a group of users).
    #[arg(long, env = "INSTAMED_SSO_ALIAS", hide_env_values = true)]
    sso_alias: Option<String>,
    /// The SSO security key (read it from the environment; a value given here is visible to
    /// other users of the machine).
    #[arg(long, env = "INSTAMED_SSO_KEY", hide_env_values = true, hide = true)]
    sso_key: Option<String>,
}

impl SsoSignIn {
    /// An SSO client of `endpoint` (`SSOService.asmx`) over `protocol`, connected as
    /// `connection` says; `account` is the account ID to use when no SSO account ID is given.
    pub fn client(
        &self,
        endpoint: &str,
        protocol: Protocol,
        connection: &Connection,
        account: Option<String>,
        observer: Option<&instamed_soap_contract::Recorder>,
    ) -> Result<SsoClient, Error> {
        let account = self.sso_account_id.clone().or(account);
        let account = required(&account, "the SSO account ID", "INSTAMED_SSO_ACCOUNT_ID")?;
        let alias = required(&self.sso_alias, "the SSO alias", "INSTAMED_SSO_ALIAS")?;
        let key = required(&self.sso_key, "the SSO security key", "INSTAMED_SSO_KEY")?;
        let login = match &self.sso_login_url {
            Some(url) => url.clone(),
            None => default_login(endpoint)?,
        };
        let mut builder = Client::builder(endpoint).protocol(protocol);
        if let Some(recorder) = observer {
            builder = builder.wire_observer(recorder.clone());
        }
        let builder = connection.apply(builder)?;
        SsoClient::new(builder, login, SsoAccount::new(account, alias, key))
    }
}

/// Arguments of `sso void`.
#[derive(Debug, clap::Args)]
pub struct VoidArgs {
    /// Transaction ID of the payment.
    #[arg(long)]
    transaction_id: String,
    /// Where the person's browser goes after Void or Cancel.
    #[arg(long, value_name = "URL")]
    return_url: Option<String>,
    /// The person, as your application names them, for InstaMed's records.
    #[arg(long)]
    user_name: Option<String>,
    /// Open the URL in this machine's browser too, with the system's opener (xdg-open; open
    /// on macOS; INSTAMED_OPENER names another). Refused before anything is launched when
    /// there is none.
    #[arg(long)]
    open: bool,
    #[command(flatten)]
    sso: Sso,
    #[command(flatten)]
    ledger: crate::ledger::Choice,
}

/// Arguments of `sso status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The token, as `sso void` printed it (the URL's `token`).
    token: String,
    /// The payment the page was about: with it, the verdict on it once the page is done.
    #[arg(long)]
    transaction_id: Option<String>,
    #[command(flatten)]
    sso: Sso,
}

fn poll_interval(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if (0.01..=300.0).contains(&seconds) => Ok(seconds),
        _ => Err("a number of seconds from 0.01 to 300".to_owned()),
    }
}

impl Sso {
    fn client(&self) -> Result<SsoClient, Error> {
        let profile = self.connection.profile()?;
        let account = self
            .account_id
            .clone()
            .or_else(|| profile.account_id.clone());
        let protocol = if self.protocol == "soap12" {
            Protocol::Soap12
        } else {
            Protocol::Soap11
        };
        Ok(self
            .sign_in
            .client(
                &self.sso_endpoint,
                protocol,
                &self.connection,
                account,
                None,
            )?
            .poll_interval(Duration::from_secs_f64(self.poll_interval))
            .lookup_by_transaction_id(self.lookup_by_transaction_id))
    }

    fn protocol(&self) -> &str {
        &self.protocol
    }
}

/// The login beside SSOService: its scheme and host, and the login's path.
fn default_login(endpoint: &str) -> Result<String, Error> {
    let uri: http::Uri = endpoint.parse().map_err(|_| Error::InvalidConfig {
        reason: "--sso-endpoint is not a URL".to_owned(),
        source: None,
    })?;
    match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => Ok(format!(
            "{scheme}://{authority}/providers/Form/SSO/SSOLogin"
        )),
        _ => Err(Error::InvalidConfig {
            reason: "--sso-endpoint is not an absolute URL".to_owned(),
            source: None,
        }),
    }
}

/// Runs an `sso` command.
pub async fn run(command: Command) -> ExitCode {
    match command {
        Command::Void(args) => void(args).await,
        Command::Status(args) => status(args).await,
    }
}

async fn void(args: VoidArgs) -> ExitCode {
    let json = args.sso.json;
    let prepared = TransactionId::new(&args.transaction_id)
        .map_err(Error::from)
        .and_then(|payment| Ok((payment, args.sso.client()?)));
    let (payment, sso) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            return finish(
                &args.transaction_id,
                None,
                args.sso.protocol(),
                json,
                Err(error),
            );
        }
    };
    // Checked before anything is launched: a page nobody can open would only wait.
    let opener = if args.open {
        match crate::opener::find() {
            Ok(opener) => Some(opener),
            Err(why) => {
                return finish(
                    &args.transaction_id,
                    None,
                    args.sso.protocol(),
                    json,
                    Err(Error::InvalidConfig {
                        reason: why,
                        source: None,
                    }),
                );
            }
        }
    } else {
        None
    };
    // The ledger first, as for every void: a payment it knows voided needs no page, and one
    // whose void may have gone through is settled (its token asked again, or the payment's
    // record read when allowed) before a person is asked to void it.
    let ledger = match args.ledger.open("instamed-soap sso void") {
        Ok(ledger) => ledger,
        Err(code) => return code,
    };
    let mut void = SsoVoid::new(payment);
    if let Some(url) = &args.return_url {
        void = void.return_url(url);
    }
    if let Some(name) = &args.user_name {
        void = void.user_name(name);
    }
    let launched = match ledger.sso_launch(&sso, &void).await {
        Ok(Guarded::Sent(Ok(launched))) => launched,
        Ok(Guarded::Sent(Err(error))) => {
            return finish(
                &args.transaction_id,
                None,
                args.sso.protocol(),
                json,
                Err(error),
            );
        }
        Ok(Guarded::Known(entry)) => {
            return Held::Known.finish_about(&entry, args.sso.protocol(), json, exit::VOIDED, None);
        }
        Ok(Guarded::VoidUnsettled(entry)) => {
            return Held::VoidUnsettled.finish_about(
                &entry,
                args.sso.protocol(),
                json,
                exit::VOIDED,
                Some(
                    "run `instamed-soap sso void` again once the person has left the earlier \
                     page (its token is asked first), or `instamed-soap reconcile` with the \
                     payment's outlet"
                        .to_owned(),
                ),
            );
        }
        Ok(other) => {
            eprintln!("error: the ledger answered {other:?}; nothing was sent");
            return ExitCode::from(exit::LEDGER);
        }
        Err(error) => {
            eprintln!("error: {}; nothing was sent", crate::causes::chain(&error));
            return ExitCode::from(exit::LEDGER);
        }
    };
    let launch = &launched.launch;
    // The URL goes where a person reads it; with --json standard output holds the one object.
    if json {
        eprintln!("open this URL in the person's browser: {}", launch.url());
    } else {
        println!("open this URL in the person's browser: {}", launch.url());
    }
    let _ = std::io::stdout().flush();
    if let Some(opener) = &opener {
        // The URL is printed all the same: a browser that fails to start leaves it to a person.
        if let Err(why) = opener.open(launch.url()) {
            eprintln!("warning: {why}; open the URL above by hand");
        }
    }
    let bar = spinner();
    let outcome = ledger
        .sso_wait(&sso, &launched, progress(bar.clone()))
        .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    finish_launch(launch, args.sso.protocol(), json, outcome)
}

async fn status(args: StatusArgs) -> ExitCode {
    let json = args.sso.json;
    let sso = match args.sso.client() {
        Ok(sso) => sso,
        Err(error) => {
            return finish(
                args.transaction_id.as_deref().unwrap_or(""),
                Some(&args.token),
                args.sso.protocol(),
                json,
                Err(error),
            );
        }
    };
    let Some(payment) = &args.transaction_id else {
        return match sso.token_status(&args.token).await {
            Ok(status) => {
                if json {
                    println!(
                        "{}",
                        serde_json::json!({ "token_status": status.to_string() })
                    );
                } else {
                    println!("token {status}");
                }
                ExitCode::from(exit::VOIDED)
            }
            Err(error) => finish("", Some(&args.token), args.sso.protocol(), json, Err(error)),
        };
    };
    let payment = match TransactionId::new(payment) {
        Ok(payment) => payment,
        Err(error) => {
            return finish(
                payment,
                Some(&args.token),
                args.sso.protocol(),
                json,
                Err(error.into()),
            );
        }
    };
    match sso.outcome(&args.token, &payment).await {
        Ok(Some(outcome)) => finish(
            payment.as_str(),
            Some(&args.token),
            args.sso.protocol(),
            json,
            Ok(outcome),
        ),
        Ok(None) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "token_status": "NEW", "payment": payment.as_str() })
                );
            } else {
                println!("token NEW: the person has not finished with {payment}");
            }
            ExitCode::from(exit::VOIDED)
        }
        Err(error) => finish(
            payment.as_str(),
            Some(&args.token),
            args.sso.protocol(),
            json,
            Err(error),
        ),
    }
}

/// The progress line: a spinner beside the token's status on a terminal (indicatif, as the
/// batch's bar), one line per change of status otherwise.
fn progress(bar: Option<indicatif::ProgressBar>) -> impl FnMut(&TokenStatus, Duration) {
    let mut last: Option<TokenStatus> = None;
    move |status, waited| {
        let line = format!(
            "waiting for the person: token {status} after {}s",
            waited.as_secs()
        );
        match &bar {
            Some(bar) => bar.set_message(line),
            None if last.as_ref() != Some(status) => eprintln!("{line}"),
            None => {}
        }
        last = Some(status.clone());
    }
}

/// A spinner on standard error when it is a terminal.
fn spinner() -> Option<indicatif::ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    })
}

fn finish_launch(
    launch: &SsoLaunch,
    protocol: &str,
    json: bool,
    outcome: Result<SsoOutcome, Error>,
) -> ExitCode {
    let code = finish(
        launch.payment().as_str(),
        Some(launch.token()),
        protocol,
        json,
        outcome,
    );
    if !json {
        // The token, for `sso status` should this run be cut short.
        eprintln!("token {}", launch.token());
    }
    code
}

/// Prints what became of the payment, in `void`'s words and JSON object
/// (`docs/schemas/void.schema.json`), and gives the exit code.
fn finish(
    payment: &str,
    token: Option<&str>,
    protocol: &str,
    json: bool,
    outcome: Result<SsoOutcome, Error>,
) -> ExitCode {
    // As typed, when it was refused: a card number typed as the ID is not printed.
    let shown = instamed_soap::sensitive::shown(payment);
    let payment: &str = &shown;
    // Asking again settles an unknown outcome: the token's page is where the person acted.
    let ask_again = format!(
        "ask again with `instamed-soap sso status {} --transaction-id {payment}`",
        token.unwrap_or("TOKEN")
    );
    let (said, sentence) = match &outcome {
        Ok(SsoOutcome::Voided(receipt)) => (
            Said::voided(receipt),
            Some(format!("{} on InstaMed's page", sentence(receipt))),
        ),
        Ok(SsoOutcome::NothingDone(why)) => {
            let mut said = Said::about(payment, protocol, Outcome::NothingDone, exit::NOTHING_DONE);
            said.hint = Some(format!(
                "{}: launch the page again to void it",
                reason(*why)
            ));
            (
                said,
                Some(format!(
                    "nothing done: {}; payment {payment} is not voided",
                    reason(*why)
                )),
            )
        }
        Ok(_) => {
            let mut said = Said::about(
                payment,
                protocol,
                Outcome::OutcomeUnknown,
                exit::OUTCOME_UNKNOWN,
            );
            said.outcome_unknown = true;
            said.error_code = Some("outcome_unknown");
            said.error = Some(format!(
                "the outcome of the void of {payment} on InstaMed's page is not known"
            ));
            said.hint = Some(ask_again);
            (said, None)
        }
        Err(error) => {
            let hint = if error.outcome_unknown() {
                Some(ask_again)
            } else if matches!(error, Error::AuthenticationRefused { .. }) {
                Some(
                    "check INSTAMED_SSO_ACCOUNT_ID, INSTAMED_SSO_ALIAS and INSTAMED_SSO_KEY"
                        .to_owned(),
                )
            } else {
                None
            };
            (Said::failed_about(payment, protocol, error, hint), None)
        }
    };
    said.print(json, sentence)
}

fn reason(why: NothingDone) -> &'static str {
    match why {
        NothingDone::Expired => "the token expired before the person voided",
        NothingDone::NotVoided => "the payment's record shows it captured, not voided",
        _ => "the person left the page without voiding",
    }
}
