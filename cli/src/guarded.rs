//! The commands that move money, each through the ledger: `void`, `refund`,
//! `void --or-refund` and `reconcile` (`void --reconcile`).

use std::process::ExitCode;

use instamed_soap::rest::Amount;
use instamed_soap::{
    Error, InvalidRequest, RefundReceipt, RefundRequest, VoidConfirmation, VoidOrRefund,
};
use instamed_soap_ledger::{Guarded, LedgerError};

use crate::exit;
use crate::ledger::Said;
use crate::void::{self, as_json, error_json, print_error, sentence};

/// Arguments of `refund`: those of `void`, and the amount.
#[derive(Debug, clap::Args)]
pub struct RefundArgs {
    /// How much to give back, in dollars with at most two decimals (4.00).
    #[arg(long)]
    amount: String,
    /// Refund again on purpose although the ledger holds a refund made of this payment: name
    /// the latest refund you know of by its transaction ID. Run again, the same command finds
    /// the refund it made and sends nothing. Never needed for a first refund.
    #[arg(long, value_name = "REFUND_ID")]
    after_refund: Option<String>,
    #[command(flatten)]
    void: void::Args,
}

/// The amount of `--amount` or `--or-refund`; a bad one is invalid input (exit 2), nothing sent.
fn amount(text: &str) -> Result<Amount, Error> {
    text.parse::<Amount>()
        .map_err(|invalid| Error::from(InvalidRequest::from(invalid)))
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidConfig {
        reason: reason.into(),
        source: None,
    }
}

/// Runs `void` (with `--or-refund` or `--reconcile`, the policy asked for). The ledger is
/// consulted first: a payment it knows voided is answered from it, and an earlier void of
/// unknown outcome is reconciled before anything else.
pub async fn void(args: void::Args) -> ExitCode {
    if let Some(amount) = args.or_refund.clone() {
        return void_or_refund(args, &amount).await;
    }
    guarded_void(args, false).await
}

/// Runs `refund`.
pub async fn refund(args: RefundArgs) -> ExitCode {
    if args.void.or_refund.is_some() || args.void.reconcile {
        let error = invalid("refund takes neither --or-refund nor --reconcile");
        return finish(&args.void, Err(error));
    }
    let prepared = (|| {
        let (client, void) = void::prepare(&args.void)?;
        let amount = amount(&args.amount)?;
        let after = args.after_refund.clone();
        Ok((client, RefundRequest::for_void(&void, amount)?, after))
    })();
    let (client, request, after) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => return print_refund(&args.void, Err(error)),
    };
    let ledger = match args.void.ledger.open("instamed-soap refund") {
        Ok(ledger) => ledger,
        Err(code) => return code,
    };
    match ledger.refund(&client, &request, after.as_deref()).await {
        Ok(Guarded::Sent(result)) => print_refund(&args.void, result),
        Ok(held) => from_ledger(held, args.void.json, exit::VOIDED),
        Err(error) => ledger_failed(&error),
    }
}

/// Prints a refund's result and gives its exit code.
fn print_refund(args: &void::Args, result: Result<RefundReceipt, Error>) -> ExitCode {
    let code = match &result {
        Ok(_) => exit::VOIDED,
        Err(error) => exit::code_for(error),
    };
    if args.json {
        println!("{}", refund_json(args, &result));
    } else {
        match &result {
            Ok(receipt) => println!("{}", refund_sentence(receipt)),
            Err(error) => print_error(error),
        }
    }
    ExitCode::from(code)
}

/// Says what the ledger answered in place of sending, and gives its exit code.
fn from_ledger<T>(held: Guarded<T>, json: bool, refund_code: u8) -> ExitCode {
    let (said, entry) = match held {
        Guarded::Known(entry) => (Said::Known, entry),
        Guarded::OnHold(entry) => (Said::OnHold, entry),
        Guarded::AlreadyRefunded(entry) => (Said::AlreadyRefunded, entry),
        Guarded::VoidUnsettled(entry) => (Said::VoidUnsettled, entry),
        _ => {
            eprintln!("error: the ledger gave an answer this tool does not know; nothing sent");
            return ExitCode::from(exit::LEDGER);
        }
    };
    said.finish(&entry, json, refund_code)
}

fn ledger_failed(error: &LedgerError) -> ExitCode {
    eprintln!("error: {}; nothing was sent", crate::causes::chain(error));
    ExitCode::from(exit::LEDGER)
}

/// Runs `void --or-refund AMOUNT`.
async fn void_or_refund(args: void::Args, text: &str) -> ExitCode {
    let prepared = void::prepare(&args).and_then(|(client, request)| {
        let amount = amount(text)?;
        RefundRequest::for_void(&request, amount)?;
        Ok((client, request, amount))
    });
    let (client, request, amount) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => return finish(&args, Err(error)),
    };
    let ledger = match args.ledger.open("instamed-soap void --or-refund") {
        Ok(ledger) => ledger,
        Err(code) => return code,
    };
    let outcome = match ledger.void_or_refund(&client, &request, amount).await {
        Ok(Guarded::Sent(result)) => result,
        Ok(held) => return from_ledger(held, args.json, exit::REFUNDED_INSTEAD),
        Err(error) => return ledger_failed(&error),
    };
    match outcome {
        Ok(VoidOrRefund::Voided(receipt)) => finish(&args, Ok(receipt)),
        Ok(VoidOrRefund::Refunded(receipt)) => {
            if args.json {
                let mut json = refund_json(&args, &Ok(receipt));
                json["outcome"] = "refunded_instead".into();
                println!("{json}");
            } else {
                println!("too late to void; {}", refund_sentence(&receipt));
            }
            ExitCode::from(exit::REFUNDED_INSTEAD)
        }
        Ok(VoidOrRefund::Confirmed(confirmation)) => print_confirmation(&args, Ok(confirmation)),
        Err(error) => finish(&args, Err(error)),
        Ok(_) => finish(&args, Err(invalid("an outcome this tool does not know"))),
    }
}

/// Runs `reconcile` and `void --reconcile`.
pub async fn reconcile(args: void::Args) -> ExitCode {
    guarded_void(args, true).await
}

/// Runs a void through the ledger: answered from it when the payment is known voided,
/// reconciled when asked to or when an earlier void's outcome is unknown.
async fn guarded_void(args: void::Args, reconcile: bool) -> ExitCode {
    let (client, request) = match void::prepare(&args) {
        Ok(prepared) => prepared,
        Err(error) => return finish(&args, Err(error)),
    };
    let command = if reconcile {
        "instamed-soap reconcile"
    } else {
        "instamed-soap void"
    };
    let ledger = match args.ledger.open(command) {
        Ok(ledger) => ledger,
        Err(code) => return code,
    };
    let reconciled = if reconcile || args.reconcile {
        ledger.reconcile(&client, &request).await
    } else {
        ledger.void(&client, &request).await
    };
    match reconciled {
        Ok(Guarded::Sent(result)) => print_confirmation(&args, result),
        Ok(held) => from_ledger(held, args.json, exit::VOIDED),
        Err(error) => ledger_failed(&error),
    }
}

/// Prints a void that may have been reconciled, and gives its exit code.
fn print_confirmation(args: &void::Args, result: Result<VoidConfirmation, Error>) -> ExitCode {
    let attempts = result.as_ref().map_or(0, VoidConfirmation::attempts);
    let code = match &result {
        Ok(_) => exit::VOIDED,
        Err(error) => exit::code_for(error),
    };
    match result {
        Ok(VoidConfirmation::Voided(receipt)) => return finish(args, Ok(receipt)),
        Ok(VoidConfirmation::VoidedOnRetry { receipt, .. }) => {
            if args.json {
                let mut json = as_json(args, &Ok(receipt));
                json["attempts"] = attempts.into();
                println!("{json}");
            } else {
                println!("{} after {}", sentence(&receipt), counted(attempts));
            }
        }
        Ok(VoidConfirmation::ConfirmedAlreadyVoided { refusal, .. }) => {
            if args.json {
                let json = serde_json::json!({
                    "outcome": "voided",
                    "confirmed": "already_voided",
                    "payment": args.transaction_id,
                    "protocol": args.protocol(),
                    "attempts": attempts,
                    "primary_transaction_status": refusal.primary_transaction_status,
                });
                println!("{json}");
            } else {
                // Said the same whichever attempt heard it: the proof is the status, and a
                // void of ours may be what set it.
                println!(
                    "voided {}: InstaMed confirmed it voided (PrimaryTransactionStatus V) \
                     after {}",
                    args.transaction_id,
                    counted(attempts)
                );
            }
        }
        Ok(_) => {}
        Err(error) => return finish(args, Err(error)),
    }
    ExitCode::from(code)
}

/// "1 attempt", "3 attempts".
fn counted(attempts: u32) -> String {
    if attempts == 1 {
        "1 attempt".to_owned()
    } else {
        format!("{attempts} attempts")
    }
}

/// Prints a void's result as `void` does, and gives its exit code.
fn finish(args: &void::Args, result: Result<instamed_soap::VoidReceipt, Error>) -> ExitCode {
    let code = match &result {
        Ok(_) => exit::VOIDED,
        Err(error) => exit::code_for(error),
    };
    if args.json {
        println!("{}", as_json(args, &result));
    } else {
        match &result {
            Ok(receipt) => println!("{}", sentence(receipt)),
            Err(error) => print_error(error),
        }
    }
    ExitCode::from(code)
}

fn refund_sentence(receipt: &RefundReceipt) -> String {
    format!(
        "refunded {} of {} over {} as transaction {} (TransactionStatus {})",
        receipt.amount,
        receipt.payment,
        receipt.protocol,
        receipt.refund_id,
        receipt.transaction_status
    )
}

fn refund_json(args: &void::Args, result: &Result<RefundReceipt, Error>) -> serde_json::Value {
    match result {
        Ok(receipt) => serde_json::json!({
            "outcome": "refunded",
            "payment": receipt.payment.as_str(),
            "amount": receipt.amount.to_string(),
            "refund_transaction_id": receipt.refund_id,
            "protocol": receipt.protocol.as_str(),
            "transaction_status": receipt.transaction_status,
            "response_code": receipt.response_code,
            "response_message": receipt.response_message,
        }),
        Err(error) => {
            let mut json = error_json(args, error);
            if let Error::RefundOutcomeUnknown(unsettled) = error {
                json["amount"] = unsettled.amount.to_string().into();
                json["sent_at"] = httpdate::fmt_http_date(unsettled.sent_at).into();
            }
            json
        }
    }
}
