//! The service's business rules, whatever protocol carried the request: validate, apply to the
//! ledger, and say what happened.
//!
//! The codes and texts of refusals are listed in the [module documentation](super).

use std::borrow::Cow;
use std::time::SystemTime;

use instamed_soap::{Outcome, Outlet};

use super::answer::{Decision, Label, Refusal, Rejection, ResultFields};
use super::card::is_valid_card_number;
use super::config::SuccessMessage;
use super::error::LedgerError;
use super::ids::{IdKey, MAX_ID_CHARS};
use super::ledger::{Ledger, OutletRef, RefundOutcome, VoidOutcome};
use instamed_soap::rest::Amount;

/// The request fields the rules look at, borrowed from a SOAP body or NVP pairs.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Fields<'a> {
    pub merchant_id: Option<&'a str>,
    pub store_id: Option<&'a str>,
    pub terminal_id: Option<&'a str>,
    pub primary_transaction_id: Option<&'a str>,
    pub amount: Option<&'a str>,
    pub card_number: Option<&'a str>,
}

/// A refusal's wording.
struct Wording {
    code: &'static str,
    decline: &'static str,
    fault: &'static str,
    primary_status: Option<&'static str>,
    /// The request is at fault, not the payment it names.
    invalid: bool,
    label: Label,
}

const ALREADY_VOIDED: Wording = Wording {
    label: Label(Outcome::AlreadyVoided.name()),
    code: "012",
    decline: "Transaction already voided",
    fault: "Transaction has already been voided.",
    primary_status: Some("V"),
    invalid: false,
};
const TOO_LATE: Wording = Wording {
    label: Label(Outcome::NotVoidable.name()),
    code: "012",
    decline: "Void not allowed: funds transfer initiated",
    fault: "Void not allowed: funds transfer initiated. Use a refund.",
    // The payment's money is moving: `S` (settled, a guess), so that "not voidable" rests on
    // the payment's status, not on these words.
    primary_status: Some("S"),
    invalid: false,
};
const NOT_FOUND: Wording = Wording {
    label: Label(Outcome::UnknownPayment.name()),
    code: "012",
    decline: "Transaction not found",
    fault: "Transaction not found.",
    primary_status: None,
    invalid: false,
};
const BAD_CARD: Wording = Wording {
    label: Label(Outcome::Invalid.name()),
    code: "014",
    decline: "Invalid request: CardNumber is not a valid card number",
    fault: "Invalid request: CardNumber is not a valid card number",
    primary_status: None,
    invalid: true,
};
const REFUND_TOO_MUCH: Wording = Wording {
    label: Label(Outcome::OverRefundable.name()),
    code: "013",
    decline: "Invalid request: Amount exceeds the refundable amount",
    fault: "Invalid request: Amount exceeds the refundable amount",
    primary_status: Some("C"),
    invalid: false,
};
const REFUND_VOIDED: Wording = Wording {
    label: Label(Outcome::Declined.name()),
    code: "012",
    decline: "Refund not allowed: transaction voided",
    fault: "Refund not allowed: transaction voided",
    primary_status: Some("V"),
    invalid: false,
};
const VOID_OF_REFUNDED: Wording = Wording {
    label: Label(Outcome::NotVoidable.name()),
    code: "012",
    decline: "Void not allowed: transaction has refunds",
    fault: "Void not allowed: transaction has refunds. Use a refund.",
    primary_status: Some("C"),
    invalid: false,
};
const REFUND_TOO_OLD: Wording = Wording {
    label: Label(Outcome::RefundWindowPassed.name()),
    code: "012",
    decline: "Refund not allowed: transaction older than the refund window",
    fault: "Refund not allowed: transaction older than the refund window",
    primary_status: Some("C"),
    invalid: false,
};
const REFUND_OF_REFUND: Wording = Wording {
    label: Label(Outcome::Declined.name()),
    code: "012",
    decline: "Refund not allowed: transaction is a refund",
    fault: "Refund not allowed: transaction is a refund",
    primary_status: Some("C"),
    invalid: false,
};

/// Applies the rules to the ledger.
#[derive(Debug)]
pub(crate) struct Engine {
    pub ledger: Ledger,
    pub success_message: SuccessMessage,
    /// `https`, or `http` without TLS: the service's URL is the actor of its SOAP 1.2 faults.
    pub scheme: &'static str,
}

impl Engine {
    /// `DoCreditCardSecondaryVoid`: voids a captured payment whose transfer has not begun.
    pub(crate) fn void<'a>(&self, request: &Fields<'a>) -> Result<Decision<'a>, Rejection> {
        let echo = echo(request);
        let (outlet, id) = match (outlet(request), primary_id(request)) {
            (Ok(outlet), Ok(id)) => (outlet, id),
            (Err(invalid), _) | (_, Err(invalid)) => return Ok(invalid.refuse(echo)),
        };
        let outcome = self
            .ledger
            .void_at(Some(outlet), &id, SystemTime::now())
            .map_err(internal)?;
        let wording = match outcome {
            VoidOutcome::Voided => {
                return Ok(Decision {
                    fields: ResultFields {
                        transaction_id: Some(id),
                        transaction_status: Some("C"),
                        response_code: Some("000"),
                        response_message: Some(Cow::Borrowed(self.success_message.as_str())),
                        primary_transaction_status: Some("V"),
                        ..echo
                    },
                    refusal: None,
                    label: Label(Outcome::Voided.name()),
                });
            }
            VoidOutcome::AlreadyVoided => &ALREADY_VOIDED,
            VoidOutcome::TooLate => &TOO_LATE,
            VoidOutcome::Unknown => &NOT_FOUND,
            VoidOutcome::HasRefunds => &VOID_OF_REFUNDED,
        };
        Ok(refuse(wording, echo))
    }

    /// `DoCreditCardAuthAndCapt`: takes a card payment, captured at once.
    pub(crate) fn sale<'a>(&self, request: &Fields<'a>) -> Result<Decision<'a>, Rejection> {
        let echo = echo(request);
        let outlet = match outlet(request).and_then(owned_outlet) {
            Ok(outlet) => outlet,
            Err(invalid) => return Ok(invalid.refuse(echo)),
        };
        let amount = match amount(request) {
            Ok(amount) => amount,
            Err(invalid) => return Ok(invalid.refuse(echo)),
        };
        if let Some(card) = request.card_number.filter(|card| !card.is_empty())
            && !is_valid_card_number(card)
        {
            return Ok(refuse(&BAD_CARD, echo));
        }
        let id = self
            .ledger
            .sale(&outlet, amount, SystemTime::now())
            .map_err(internal)?;
        Ok(approved(id, echo))
    }

    /// `DoCreditCardSimpleRefund`: gives back up to what is left of a captured payment, as a new
    /// transaction.
    pub(crate) fn refund<'a>(&self, request: &Fields<'a>) -> Result<Decision<'a>, Rejection> {
        let echo = echo(request);
        let checked = outlet(request).and_then(|outlet| {
            let id = primary_id(request)?;
            Ok((outlet, id, amount(request)?))
        });
        let (outlet, id, amount) = match checked {
            Ok(checked) => checked,
            Err(invalid) => return Ok(invalid.refuse(echo)),
        };
        let outcome = self
            .ledger
            .refund(outlet, &id, amount, SystemTime::now())
            .map_err(internal)?;
        let wording = match outcome {
            RefundOutcome::Refunded(refund) => {
                let mut answer = approved(refund, echo);
                answer.fields.authorization_text = Some("APPROVED");
                answer.label = Label(Outcome::Refunded.name());
                return Ok(answer);
            }
            RefundOutcome::Unknown => &NOT_FOUND,
            RefundOutcome::Voided => &REFUND_VOIDED,
            RefundOutcome::IsRefund => &REFUND_OF_REFUND,
            RefundOutcome::TooMuch => &REFUND_TOO_MUCH,
            RefundOutcome::TooOld => &REFUND_TOO_OLD,
        };
        Ok(refuse(wording, echo))
    }
}

/// The request's outlet and payment, echoed in every answer as InstaMed does.
fn echo<'a>(request: &Fields<'a>) -> ResultFields<'a> {
    ResultFields {
        merchant_id: request.merchant_id,
        store_id: request.store_id,
        terminal_id: request.terminal_id,
        primary_transaction_id: request.primary_transaction_id,
        ..ResultFields::default()
    }
}

fn approved(id: IdKey, echo: ResultFields<'_>) -> Decision<'_> {
    Decision {
        fields: ResultFields {
            transaction_id: Some(id),
            transaction_status: Some("C"),
            response_code: Some("000"),
            response_message: Some(Cow::Borrowed("APPROVED")),
            ..echo
        },
        refusal: None,
        label: Label("approved"),
    }
}

fn refuse<'a>(wording: &Wording, echo: ResultFields<'a>) -> Decision<'a> {
    Decision {
        fields: ResultFields {
            transaction_status: Some("D"),
            response_code: Some(wording.code),
            response_message: Some(Cow::Borrowed(wording.decline)),
            primary_transaction_status: wording.primary_status,
            ..echo
        },
        refusal: Some(Refusal {
            code: wording.code,
            fault_reason: Cow::Borrowed(wording.fault),
            primary_status: wording.primary_status,
            invalid: wording.invalid,
        }),
        label: wording.label,
    }
}

/// A field that is missing or malformed: refused with code `400`.
struct Invalid {
    field: &'static str,
    problem: &'static str,
}

impl Invalid {
    fn refuse(self, echo: ResultFields<'_>) -> Decision<'_> {
        let text = format!("Invalid request: {} {}", self.field, self.problem);
        Decision {
            fields: ResultFields {
                transaction_status: Some("D"),
                response_code: Some("400"),
                response_message: Some(Cow::Owned(text.clone())),
                ..echo
            },
            refusal: Some(Refusal {
                code: "400",
                fault_reason: Cow::Owned(text),
                primary_status: None,
                invalid: true,
            }),
            label: Label(Outcome::Invalid.name()),
        }
    }
}

/// Checks an identifier against InstaMed's rules: 1 to 50 characters, no control characters,
/// no surrounding white space.
fn identifier<'a>(field: &'static str, value: Option<&'a str>) -> Result<&'a str, Invalid> {
    let invalid = |problem| Err(Invalid { field, problem });
    match value {
        None | Some("") => invalid("is required"),
        Some(v) if v.chars().count() > MAX_ID_CHARS => invalid("must be at most 50 characters"),
        Some(v) if v.chars().any(char::is_control) => {
            invalid("must not contain control characters")
        }
        Some(v) if v.trim() != v => invalid("must not start or end with white space"),
        Some(v) => Ok(v),
    }
}

fn outlet<'a>(request: &Fields<'a>) -> Result<OutletRef<'a>, Invalid> {
    Ok(OutletRef {
        merchant_id: identifier("MerchantID", request.merchant_id)?,
        store_id: identifier("StoreID", request.store_id)?,
        terminal_id: identifier("TerminalID", request.terminal_id)?,
    })
}

fn owned_outlet(outlet: OutletRef<'_>) -> Result<Outlet, Invalid> {
    // `identifier` applied the same rules as `Outlet::new`, so this does not fail in practice.
    Outlet::new(outlet.merchant_id, outlet.store_id, outlet.terminal_id).map_err(|e| Invalid {
        field: e.field,
        problem: "is invalid",
    })
}

fn primary_id(request: &Fields<'_>) -> Result<IdKey, Invalid> {
    let id = identifier("PrimaryTransactionID", request.primary_transaction_id)?;
    IdKey::fold(id).ok_or(Invalid {
        field: "PrimaryTransactionID",
        problem: "is invalid",
    })
}

fn amount(request: &Fields<'_>) -> Result<Amount, Invalid> {
    let invalid = |problem| Invalid {
        field: "Amount",
        problem,
    };
    match request.amount {
        None | Some("") => Err(invalid("is required")),
        Some(text) => match text.parse::<Amount>() {
            Ok(amount) if amount.cents() > 0 => Ok(amount),
            Ok(_) => Err(invalid("must be more than zero")),
            Err(_) => Err(invalid("is not a valid amount")),
        },
    }
}

fn internal(error: LedgerError) -> Rejection {
    tracing::error!(error = %error, "the ledger refused a change");
    Rejection::Internal(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        Engine {
            ledger: Ledger::open(None, None).unwrap(),
            success_message: SuccessMessage::Voided,
            scheme: "https",
        }
    }

    fn fields(id: &str) -> Fields<'_> {
        Fields {
            merchant_id: Some("123"),
            store_id: Some("1"),
            terminal_id: Some("2"),
            primary_transaction_id: Some(id),
            amount: Some("10.00"),
            card_number: Some("4111111111111111"),
        }
    }

    #[test]
    fn a_sale_can_be_voided_once() {
        let engine = engine();
        let sale = engine.sale(&fields("")).unwrap();
        assert!(sale.refusal.is_none());
        let id = sale.fields.transaction_id.unwrap().to_string();

        let voided = engine.void(&fields(&id)).unwrap();
        assert!(voided.refusal.is_none());
        assert_eq!(voided.fields.response_message.as_deref(), Some("VOIDED"));
        assert_eq!(voided.fields.primary_transaction_status, Some("V"));

        let again = engine.void(&fields(&id)).unwrap();
        assert_eq!(again.fields.transaction_status, Some("D"));
        assert_eq!(again.refusal.unwrap().primary_status, Some("V"));
    }

    #[test]
    fn bad_fields_are_named() {
        let engine = engine();
        let mut request = fields("X");
        request.merchant_id = None;
        let answer = engine.void(&request).unwrap();
        assert_eq!(
            answer.fields.response_message.as_deref(),
            Some("Invalid request: MerchantID is required")
        );
        let mut request = fields("X");
        request.card_number = Some("4111111111111112");
        let answer = engine.sale(&request).unwrap();
        assert_eq!(answer.fields.response_code, Some("014"));
        let long = "A".repeat(51);
        let answer = engine.void(&fields(&long)).unwrap();
        assert_eq!(answer.fields.response_code, Some("400"));
    }
}
