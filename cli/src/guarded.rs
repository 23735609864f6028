//! The commands that move money, each through the ledger: `void`, `refund`,
//! `void --or-refund` and `reconcile` (`void --reconcile`).

use std::process::ExitCode;

use instamed_soap::rest::Amount;
use instamed_soap::{
    Error, InvalidRequest, RefundReceipt, RefundRequest, VoidConfirmation, VoidOrRefund,
};
use instamed_soap_ledger::{Guarded, LedgerError};

use crate::exit;
use crate::output::{Held, Said};
use crate::void::{self, sentence};

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
        return Said::failed(&args.void, "refund", &error).print(args.void.json, None);
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
        Ok(held) => from_ledger(held, &args.void, exit::VOIDED),
        Err(error) => ledger_failed(&error),
    }
}

/// Prints a refund's result and gives its exit code.
fn print_refund(args: &void::Args, result: Result<RefundReceipt, Error>) -> ExitCode {
    match &result {
        Ok(receipt) => Said::refunded(args, receipt, exit::VOIDED)
            .print(args.json, Some(refund_sentence(receipt))),
        Err(error) => Said::failed(args, "refund", error).print(args.json, None),
    }
}

/// Says what the ledger answered in place of sending, and gives its exit code.
fn from_ledger<T>(held: Guarded<T>, args: &void::Args, refund_code: u8) -> ExitCode {
    let (said, entry) = match held {
        Guarded::Known(entry) => (Held::Known, entry),
        Guarded::OnHold(entry) => (Held::OnHold, entry),
        Guarded::AlreadyRefunded(entry) => (Held::AlreadyRefunded, entry),
        Guarded::VoidUnsettled(entry) => (Held::VoidUnsettled, entry),
        _ => {
            eprintln!("error: the ledger gave an answer this tool does not know; nothing sent");
            return ExitCode::from(exit::LEDGER);
        }
    };
    said.finish(&entry, args, refund_code)
}

fn ledger_failed(error: &LedgerError) -> ExitCode {
    eprintln!("error: {}; nothing was sent", crate::causes::chain(error));
    ExitCode::from(exit::LEDGER)
}

/// Runs `void --or-refund AMOUNT`.
async fn void_or_refund(args: void::Args, text: &str) -> ExitCode {
    let prepared = void::prepare(&args).and_then(|(client, request)| {
        // Named by the flag it was typed in, not `--amount`, which `void` does not take.
        let amount = amount(text).map_err(|error| match error {
            Error::InvalidRequest(refused) => invalid(format!("--or-refund: {}", refused.problem)),
            other => other,
        })?;
        RefundRequest::for_void(&request, amount)?;
        Ok((client, request, amount))
    });
    let (client, request, amount) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => return finish(&args, "void", Err(error)),
    };
    let ledger = match args.ledger.open("instamed-soap void --or-refund") {
        Ok(ledger) => ledger,
        Err(code) => return code,
    };
    let outcome = match ledger.void_or_refund(&client, &request, amount).await {
        Ok(Guarded::Sent(result)) => result,
        Ok(held) => return from_ledger(held, &args, exit::REFUNDED_INSTEAD),
        Err(error) => return ledger_failed(&error),
    };
    match outcome {
        Ok(VoidOrRefund::Voided(receipt)) => finish(&args, "void", Ok(receipt)),
        Ok(VoidOrRefund::Refunded(receipt)) => {
            Said::refunded(&args, &receipt, exit::REFUNDED_INSTEAD).print(
                args.json,
                Some(format!("too late to void; {}", refund_sentence(&receipt))),
            )
        }
        Ok(VoidOrRefund::Confirmed(confirmation)) => {
            print_confirmation(&args, "void", Ok(confirmation))
        }
        Err(error) => finish(&args, "void", Err(error)),
        Ok(_) => finish(
            &args,
            "void",
            Err(invalid("an outcome this tool does not know")),
        ),
    }
}

/// Runs `reconcile` and `void --reconcile`.
pub async fn reconcile(args: void::Args) -> ExitCode {
    guarded_void(args, true).await
}

/// Runs a void through the ledger: answered from it when the payment is known voided,
/// reconciled when asked to or when an earlier void's outcome is unknown.
async fn guarded_void(args: void::Args, reconcile: bool) -> ExitCode {
    let command = if reconcile { "reconcile" } else { "void" };
    let (client, request) = match void::prepare(&args) {
        Ok(prepared) => prepared,
        Err(error) => return finish(&args, command, Err(error)),
    };
    let ledger = match args.ledger.open(&format!("instamed-soap {command}")) {
        Ok(ledger) => ledger,
        Err(code) => return code,
    };
    let reconciled = if reconcile || args.reconcile {
        ledger.reconcile(&client, &request).await
    } else {
        ledger.void(&client, &request).await
    };
    match reconciled {
        Ok(Guarded::Sent(result)) => print_confirmation(&args, command, result),
        Ok(held) => from_ledger(held, &args, exit::VOIDED),
        Err(error) => ledger_failed(&error),
    }
}

/// Prints a void that may have been reconciled, and gives its exit code.
fn print_confirmation(
    args: &void::Args,
    command: &str,
    result: Result<VoidConfirmation, Error>,
) -> ExitCode {
    let reconciled = args.reconcile || command == "reconcile";
    let attempts = result.as_ref().map_or(0, VoidConfirmation::attempts);
    match result {
        Ok(VoidConfirmation::VoidedOnRetry { receipt, .. }) => {
            let mut said = Said::voided(&receipt);
            said.attempts = Some(attempts);
            said.print(
                args.json,
                Some(format!(
                    "{} after {}",
                    sentence(&receipt),
                    counted(attempts)
                )),
            )
        }
        Ok(VoidConfirmation::ConfirmedAlreadyVoided { refusal, .. }) => {
            let mut said = Said::new_voided(args);
            said.attempts = Some(attempts);
            said.confirmed = Some("already_voided");
            said.transaction_status
                .clone_from(&refusal.transaction_status);
            said.primary_transaction_status
                .clone_from(&refusal.primary_transaction_status);
            said.response_code.clone_from(&refusal.response_code);
            said.response_message.clone_from(&refusal.response_message);
            // Said the same whichever attempt heard it: the proof is the status, and a void
            // of ours may be what set it.
            let sentence = format!(
                "voided {}: InstaMed confirmed it voided (PrimaryTransactionStatus V) after {}",
                args.transaction_id,
                counted(attempts)
            );
            said.print(args.json, Some(sentence))
        }
        Ok(VoidConfirmation::Voided(receipt)) => {
            let mut said = Said::voided(&receipt);
            if reconciled {
                said.attempts = Some(1);
            }
            said.print(args.json, Some(sentence(&receipt)))
        }
        Ok(_) => finish(
            args,
            command,
            Err(invalid("a confirmation this tool does not know")),
        ),
        Err(error) => finish(args, command, Err(error)),
    }
}

/// "1 attempt", "3 attempts".
fn counted(attempts: u32) -> String {
    crate::plural::counted(attempts, "attempt")
}

/// Prints a void's result as `void` does, and gives its exit code.
fn finish(
    args: &void::Args,
    command: &str,
    result: Result<instamed_soap::VoidReceipt, Error>,
) -> ExitCode {
    match &result {
        Ok(receipt) => Said::voided(receipt).print(args.json, Some(sentence(receipt))),
        Err(error) => Said::failed(args, command, error).print(args.json, None),
    }
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
