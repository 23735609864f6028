//! `instamed-soap refund`, `void --or-refund` and `reconcile` (`void --reconcile`): what an ERP
//! does when a void is too late, or its outcome unknown.

use std::process::ExitCode;

use instamed_soap::rest::Amount;
use instamed_soap::{
    Error, InvalidRequest, RefundReceipt, RefundRequest, VoidConfirmation, VoidOrRefund,
};

use crate::exit;
use crate::void::{self, as_json, error_json, print_error, sentence};

/// Arguments of `refund`: those of `void`, and the amount.
#[derive(Debug, clap::Args)]
pub struct RefundArgs {
    /// How much to give back, in dollars with at most two decimals (4.00).
    #[arg(long)]
    amount: String,
    #[command(flatten)]
    void: void::Args,
}

/// The amount of `--amount` or `--or-refund`; a bad one is invalid input (exit 2), nothing sent.
fn amount(text: &str) -> Result<Amount, Error> {
    text.parse::<Amount>()
        .map_err(|invalid| Error::from(InvalidRequest::from(invalid)))
}

/// Runs `refund`.
pub async fn run(args: RefundArgs) -> ExitCode {
    if args.void.or_refund.is_some() || args.void.reconcile {
        let error = Error::InvalidConfig {
            reason: "refund takes neither --or-refund nor --reconcile".to_owned(),
            source: None,
        };
        return finish(&args.void, Err(error));
    }
    let result = async {
        let (client, void) = void::prepare(&args.void)?;
        let request = RefundRequest::for_void(&void, amount(&args.amount)?)?;
        client.refund(&request).await
    }
    .await;
    let code = match &result {
        Ok(_) => exit::VOIDED,
        Err(error) => exit::code_for(error),
    };
    if args.void.json {
        println!("{}", refund_json(&args.void, &result));
    } else {
        match &result {
            Ok(receipt) => println!("{}", refund_sentence(receipt)),
            Err(error) => print_error(error),
        }
    }
    ExitCode::from(code)
}

/// Runs `void --or-refund AMOUNT`.
pub async fn void_or_refund(args: void::Args, text: &str) -> ExitCode {
    let result = async {
        let (client, request) = void::prepare(&args)?;
        client.void_or_refund(&request, amount(text)?).await
    }
    .await;
    match result {
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
        Err(error) => finish(&args, Err(error)),
        Ok(_) => finish(
            &args,
            Err(Error::InvalidConfig {
                reason: "an outcome this tool does not know".to_owned(),
                source: None,
            }),
        ),
    }
}

/// Runs `reconcile` and `void --reconcile`.
pub async fn reconcile(args: void::Args) -> ExitCode {
    let result = async {
        let (client, request) = void::prepare(&args)?;
        client.void_reconciled(&request).await
    }
    .await;
    let attempts = result.as_ref().map_or(0, VoidConfirmation::attempts);
    let code = match &result {
        Ok(_) => exit::VOIDED,
        Err(error) => exit::code_for(error),
    };
    match result {
        Ok(VoidConfirmation::Voided(receipt))
        | Ok(VoidConfirmation::VoidedOnRetry { receipt, .. }) => {
            if args.json {
                let mut json = as_json(&args, &Ok(receipt));
                json["attempts"] = attempts.into();
                println!("{json}");
            } else {
                println!("{} after {attempts} attempt(s)", sentence(&receipt));
            }
        }
        Ok(VoidConfirmation::ConfirmedAlreadyVoided { refusal, .. }) => {
            if args.json {
                let json = serde_json::json!({
                    "outcome": "voided",
                    "confirmed": "already_voided",
                    "payment": args.transaction_id,
                    "protocol": args.protocol,
                    "attempts": attempts,
                    "primary_transaction_status": refusal.primary_transaction_status,
                });
                println!("{json}");
            } else {
                println!(
                    "voided {}: a later attempt found it voided (PrimaryTransactionStatus V) \
                     after {attempts} attempt(s)",
                    args.transaction_id
                );
            }
        }
        Ok(_) => {}
        Err(error) => return finish(&args, Err(error)),
    }
    ExitCode::from(code)
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
