//! What `void`, `refund` and `reconcile` say: one JSON object with the same fields whatever
//! the outcome (`docs/schemas/void.schema.json`), or a sentence on success and, on failure,
//! `error: …` said once and `hint: …` with the next step where there is one.

use instamed_soap::soap::SoapFault;
use instamed_soap::{Error, Outcome, RefundReceipt, VoidReceipt};
use instamed_soap_ledger::{Entry, Verdict};
use std::process::ExitCode;

use crate::exit;
use crate::void::Args;

/// The one object `void`, `refund` and `reconcile` print with `--json`: every field is always
/// there, `null` where it does not apply, so a script reads the same keys whatever happened.
#[derive(Debug, serde::Serialize)]
pub struct Said {
    /// The outcome's one name (`instamed_soap::outcome::TABLE`).
    pub outcome: &'static str,
    /// The exit code the command ends with.
    pub exit_code: u8,
    /// The payment's transaction ID, as given.
    pub payment: String,
    /// The protocol used (or that would have been).
    pub protocol: String,
    /// Whether the void (or refund) may have happened with nothing read to prove it.
    pub outcome_unknown: bool,
    /// Whether a refusal proves, on `PrimaryTransactionStatus` `V`, that the payment is voided.
    pub proves_voided: bool,
    /// Whether the ledger answered and nothing was sent.
    pub from_ledger: bool,
    /// How many voids a reconciliation sent (`null` when it did not reconcile).
    pub attempts: Option<u32>,
    /// How a reconciliation proved the payment voided: `already_voided` when a later attempt
    /// found it voided.
    pub confirmed: Option<&'static str>,
    /// The amount refunded or asked to be (dollars, two decimals).
    pub amount: Option<String>,
    /// The answer's `TransactionID` (for a void, the payment's own).
    pub transaction_id: Option<String>,
    /// The refund's own transaction ID.
    pub refund_transaction_id: Option<String>,
    /// `TransactionStatus` of the answer.
    pub transaction_status: Option<String>,
    /// `PrimaryTransactionStatus` of the payment.
    pub primary_transaction_status: Option<String>,
    /// `ResponseCode`.
    pub response_code: Option<String>,
    /// `ResponseMessage` (a fault's reason, an NVP `errorMessage`).
    pub response_message: Option<String>,
    /// The HTTP status of the answer an error was read from, when known.
    pub http_status: Option<u16>,
    /// The error's finer, stable kind (`Error::code`: `timeout`, `tls_error`, …).
    pub error_code: Option<&'static str>,
    /// The error, said once with its causes.
    pub error: Option<String>,
    /// The next step, when there is one (for an unknown outcome, the reconcile command).
    pub hint: Option<String>,
    /// The SOAP fault the error came from.
    pub fault: Option<serde_json::Value>,
    /// The NVP `errorCode` and `errorMessage`.
    pub nvp_error: Option<serde_json::Value>,
    /// When a refund of unknown outcome was sent (HTTP date).
    pub sent_at: Option<String>,
    /// The ledger entry that answered (`from_ledger`), as `ledger list --json` prints it.
    pub ledger_entry: Option<serde_json::Value>,
}

impl Said {
    /// An object for `args`'s payment, with nothing known yet but its outcome and exit code.
    fn new(args: &Args, outcome: Outcome, exit_code: u8) -> Self {
        Self::about(&args.transaction_id, args.protocol(), outcome, exit_code)
    }

    /// An object for `payment` over `protocol`, with nothing known yet but its outcome and exit
    /// code: for a command that voids without `void`'s flags (`sso void`).
    pub fn about(payment: &str, protocol: &str, outcome: Outcome, exit_code: u8) -> Self {
        Self {
            outcome: outcome.name(),
            exit_code,
            // As typed, when it was refused: a card number typed as the ID is not printed.
            payment: instamed_soap::sensitive::shown(payment).into_owned(),
            protocol: protocol.to_owned(),
            outcome_unknown: false,
            proves_voided: false,
            from_ledger: false,
            attempts: None,
            confirmed: None,
            amount: None,
            transaction_id: None,
            refund_transaction_id: None,
            transaction_status: None,
            primary_transaction_status: None,
            response_code: None,
            response_message: None,
            http_status: None,
            error_code: None,
            error: None,
            hint: None,
            fault: None,
            nvp_error: None,
            sent_at: None,
            ledger_entry: None,
        }
    }

    /// A payment proved voided, with no receipt of this run's own.
    pub fn new_voided(args: &Args) -> Self {
        Self::new(args, Outcome::Voided, exit::VOIDED)
    }

    /// A void that went through.
    pub fn voided(receipt: &VoidReceipt) -> Self {
        let mut said = Self::about(
            receipt.payment.as_str(),
            receipt.protocol.as_str(),
            Outcome::Voided,
            exit::VOIDED,
        );
        said.transaction_id.clone_from(&receipt.transaction_id);
        said.transaction_status = Some(receipt.transaction_status.clone());
        said.primary_transaction_status = Some(receipt.primary_transaction_status.clone());
        said.response_code.clone_from(&receipt.response_code);
        said.response_message.clone_from(&receipt.response_message);
        said
    }

    /// A refund that was made: by `refund` (exit 0), or instead of a void (exit 6).
    pub fn refunded(args: &Args, receipt: &RefundReceipt, exit_code: u8) -> Self {
        let mut said = Self::new(args, Outcome::Refunded, exit_code);
        said.payment = receipt.payment.as_str().to_owned();
        said.protocol = receipt.protocol.as_str().to_owned();
        said.amount = Some(receipt.amount.to_string());
        said.refund_transaction_id = Some(receipt.refund_id.clone());
        said.transaction_status = Some(receipt.transaction_status.clone());
        said.response_code.clone_from(&receipt.response_code);
        said.response_message.clone_from(&receipt.response_message);
        said
    }

    /// A void or refund that failed, for `command` (`void`, `refund`, `reconcile`).
    pub fn failed(args: &Args, command: &str, error: &Error) -> Self {
        Self::failed_about(
            &args.transaction_id,
            args.protocol(),
            error,
            hint(args, command, error),
        )
    }

    /// A void of `payment` over `protocol` that failed, with the next step `hint`.
    pub fn failed_about(
        payment: &str,
        protocol: &str,
        error: &Error,
        hint: Option<String>,
    ) -> Self {
        let outcome = error.outcome();
        let mut said = Self::about(payment, protocol, outcome, exit::code_for(error));
        let refusal = error.refusal();
        said.outcome_unknown = error.outcome_unknown();
        said.proves_voided = error.proves_voided();
        said.http_status = error.http_status();
        said.error_code = Some(error.code());
        said.error = Some(error_line(error));
        said.hint = hint;
        said.response_code = refusal.and_then(|r| r.response_code.clone());
        said.response_message = refusal.and_then(|r| r.response_message.clone());
        said.transaction_status = refusal.and_then(|r| r.transaction_status.clone());
        said.primary_transaction_status =
            refusal.and_then(|r| r.primary_transaction_status.clone());
        said.fault = error.fault().map(fault_json);
        if let Error::NvpError(answer) = error {
            said.nvp_error = Some(serde_json::json!({
                "code": answer.code,
                "message": answer.message,
            }));
        }
        if let Error::RefundOutcomeUnknown(unsettled) = error {
            said.amount = Some(unsettled.amount.to_string());
            said.sent_at = Some(httpdate::fmt_http_date(unsettled.sent_at));
        }
        said
    }

    /// What the ledger answered in place of sending: `entry`, read as `outcome` with `code`,
    /// about a payment asked for over `protocol`.
    pub fn from_ledger(
        protocol: &str,
        entry: &Entry,
        outcome: Outcome,
        code: u8,
        next: Option<String>,
    ) -> Self {
        let mut said = Self::about(&entry.payment, protocol, outcome, code);
        said.from_ledger = true;
        said.outcome_unknown = matches!(outcome, Outcome::OutcomeUnknown | Outcome::RefundUnknown);
        said.amount.clone_from(&entry.amount);
        said.refund_transaction_id.clone_from(&entry.refund_id);
        said.transaction_status
            .clone_from(&entry.transaction_status);
        said.primary_transaction_status
            .clone_from(&entry.primary_transaction_status);
        if code != exit::VOIDED && code != exit::REFUNDED_INSTEAD {
            said.error = Some(format!("the ledger holds {}", entry.describe()));
        }
        said.hint = next;
        said.ledger_entry = Some(crate::ledger::entry_json(entry));
        said
    }

    /// Prints it: the JSON object on standard output; or `sentence` there when it ended well,
    /// else `error: …` and `hint: …` on standard error. Gives the exit code.
    pub fn print(&self, json: bool, sentence: Option<String>) -> std::process::ExitCode {
        if json {
            match serde_json::to_string(self) {
                Ok(text) => println!("{text}"),
                Err(error) => eprintln!("error: cannot write the result as JSON: {error}"),
            }
        } else if let Some(error) = &self.error {
            eprintln!("error: {error}");
            if let Some(hint) = &self.hint {
                eprintln!("hint: {hint}");
            }
        } else if let Some(sentence) = sentence {
            println!("{sentence}");
        }
        std::process::ExitCode::from(self.exit_code)
    }
}

/// How a command that the ledger answered (sending nothing) speaks.
pub enum Held {
    /// The same instruction was carried out before.
    Known,
    /// A refund of the payment may have been made; a person must look.
    OnHold,
    /// A refund of the payment was made; this one is a different instruction.
    AlreadyRefunded,
    /// A void of the payment may have gone through: reconcile before refunding.
    VoidUnsettled,
}

impl Held {
    /// Prints what the ledger knows and gives the exit code; `refund_code` is the code of a
    /// refund carried out (0 for `refund`, 6 for `void --or-refund`).
    pub fn finish(self, entry: &Entry, args: &Args, refund_code: u8) -> ExitCode {
        self.finish_about(
            entry,
            args.protocol(),
            args.json,
            refund_code,
            reconcile_command(args),
        )
    }

    /// The same for a command without `void`'s flags: `reconcile` is the command that settles
    /// the payment's void, when one can be written.
    pub fn finish_about(
        self,
        entry: &Entry,
        protocol: &str,
        json: bool,
        refund_code: u8,
        reconcile: Option<String>,
    ) -> ExitCode {
        let (outcome, code, next) = match self {
            Self::Known => {
                let outcome = entry
                    .verdict
                    .map_or(Outcome::OutcomeUnknown, Verdict::outcome);
                let code = match entry.verdict {
                    Some(Verdict::Refunded) => refund_code,
                    Some(Verdict::AlreadyVoided) => exit::ALREADY_VOIDED,
                    _ => exit::VOIDED,
                };
                (outcome, code, "nothing was sent again".to_owned())
            }
            Self::OnHold => (
                Outcome::RefundUnknown,
                exit::SETTLE_BY_HAND,
                "nothing was sent: check the payment's refunds with InstaMed, then record what \
                 you found with `instamed-soap ledger settle`"
                    .to_owned(),
            ),
            Self::VoidUnsettled => (
                Outcome::OutcomeUnknown,
                exit::OUTCOME_UNKNOWN,
                format!(
                    "nothing was sent: a void of this payment may have gone through; settle it \
                     first (a refund on top of it would give the money back twice): {}",
                    reconcile.unwrap_or_else(|| "`instamed-soap reconcile`".to_owned())
                ),
            ),
            Self::AlreadyRefunded => (
                Outcome::AlreadyRefunded,
                exit::ALREADY_REFUNDED,
                "nothing was sent: to refund again on purpose, add --after-refund with the \
                 latest refund's transaction ID"
                    .to_owned(),
            ),
        };
        let said = Said::from_ledger(protocol, entry, outcome, code, Some(next));
        let sentence = format!(
            "the ledger holds {}; {}",
            entry.describe(),
            said.hint.as_deref().unwrap_or("")
        );
        said.print(json, Some(sentence))
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

/// The flag a user typed for a request field the client names by its wire name.
pub fn flag_of(field: &str) -> &str {
    match field {
        "MerchantID" => "--merchant-id",
        "StoreID" => "--store-id",
        "TerminalID" => "--terminal-id",
        "PrimaryTransactionID" => "--transaction-id",
        "PrimaryCardPresentStatus" => "--card-present-status",
        "Amount" => "--amount",
        other => other,
    }
}

/// An error in one line, each thing said once: what the user typed is named by its flag, a
/// configuration error by its reason alone (the line already starts `error:`), and an unknown
/// outcome says so before why.
pub fn error_line(error: &Error) -> String {
    match error {
        Error::InvalidRequest(invalid) => {
            format!("{}: {}", flag_of(invalid.field), invalid.problem)
        }
        Error::InvalidConfig { reason, source } => match source {
            Some(source) => {
                let cause = crate::causes::chain(source.as_ref());
                if reason.contains(&cause) {
                    reason.clone()
                } else {
                    format!("{reason}: {cause}")
                }
            }
            None => reason.clone(),
        },
        Error::RefundOutcomeUnknown(_) => error.report().to_string(),
        _ if error.outcome_unknown() => format!(
            "the void may have gone through (outcome unknown): {}",
            error.report()
        ),
        _ => error.report().to_string(),
    }
}

/// The next step after `error`, when there is one.
fn hint(args: &Args, command: &str, error: &Error) -> Option<String> {
    let hint = match error.outcome() {
        Outcome::OutcomeUnknown => {
            return Some(match reconcile_command(args) {
                Some(line) => {
                    format!("settle it before voiding or refunding this payment again: {line}")
                }
                None => "settle it with `instamed-soap reconcile` and the same flags before \
                         voiding or refunding anything else"
                    .to_owned(),
            });
        }
        // The error line already says to check the payment's refunds: the hint is where to
        // record what was found.
        Outcome::RefundUnknown => {
            "it is never sent again by this tool; record what InstaMed shows with \
             `instamed-soap ledger settle` (its entry is in `instamed-soap ledger list --open`)"
        }
        Outcome::NotVoidable if command != "refund" && args.or_refund.is_none() => {
            "refund it instead: `instamed-soap refund --amount AMOUNT` with the same flags, or \
             `void --or-refund AMOUNT`"
        }
        Outcome::UnknownPayment => {
            "check --transaction-id and the outlet (--merchant-id, --store-id, --terminal-id)"
        }
        Outcome::OverRefundable => "ask for at most what is left of the payment",
        _ => match error {
            Error::AuthenticationRefused { .. } if args.protocol() == "rest" => {
                "check INSTAMED_API_KEY and INSTAMED_API_SECRET, and that --endpoint is the \
                 service's base URL (https://host, not …/service.asmx)"
            }
            Error::AuthenticationRefused { .. } => {
                "check INSTAMED_ACCOUNT_ID and INSTAMED_PASSWORD (or the profile's password_file)"
            }
            Error::Tls { .. } => {
                "check that --ca-cert (or --trust) names the CA that signed the service's \
                 certificate, and that --endpoint's host name is on it"
            }
            Error::Connect { .. } => {
                "check --endpoint, and the proxy (--proxy, HTTPS_PROXY, --no-proxy); nothing \
                 was sent, so running again is safe"
            }
            _ => return None,
        },
    };
    Some(hint.to_owned())
}

/// The exact `reconcile` command that settles this void: the same endpoint, protocol, outlet,
/// transaction ID, trust and ledger, and never a secret (those come from the environment or
/// the profile, as they did for this run). `None` when a setting cannot be resolved.
pub fn reconcile_command(args: &Args) -> Option<String> {
    let mut words: Vec<String> = vec!["instamed-soap".into(), "reconcile".into()];
    words.extend(args.settings().ok()?);
    shlex::try_join(words.iter().map(String::as_str)).ok()
}

#[cfg(test)]
mod tests {
    use super::flag_of;

    #[test]
    fn every_wire_field_of_a_void_or_refund_is_named_by_its_flag() {
        for field in [
            "MerchantID",
            "StoreID",
            "TerminalID",
            "PrimaryTransactionID",
            "PrimaryCardPresentStatus",
            "Amount",
        ] {
            assert!(flag_of(field).starts_with("--"), "{field}");
        }
    }
}
