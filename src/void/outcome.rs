//! Judging an answer on its evidence, the way InstaMed says to: by transaction status, never
//! by the response code or message, which only give context and vary in production.
//!
//! The rules, one row each, are in `docs/outcomes.md`. In short:
//! - every answer must be about this payment: its `PrimaryTransactionID`, when given, names
//!   it; a void's `TransactionID`, when given, is the payment's own (a void keeps the payment's
//!   ID), a refund's never is (a refund is a new transaction with an ID of its own);
//! - a receipt needs `TransactionStatus` `C` and `PrimaryTransactionStatus` `V` about this
//!   payment;
//! - a *known refusal* needs structured evidence: `TransactionStatus` `D` or `X` in a result, in
//!   a fault's detail or beside an NVP error; or a request the service rejected as such (a
//!   SOAP `Client`/`Sender` fault, an NVP error code in the 400s), which voided nothing;
//! - statuses pick which refusal it is (`PrimaryTransactionStatus` `V`: already voided; `S`,
//!   `SE`: not voidable any more); only then may the wording pick, and only among refusals
//!   already known to be refusals;
//! - "not voidable", the refusal that advises and triggers a refund, needs both statuses:
//!   `TransactionStatus` `D`/`X` and a `PrimaryTransactionStatus` present and not `V`. Money
//!   never moves on words: without a payment status a refusal is at most "already voided"
//!   or "unknown payment" by its wording, otherwise declined;
//! - anything else the service said about a void it may have carried out (a `Server`/`Receiver`
//!   fault, an NVP error in the 500s or without a code) leaves the outcome unknown, whatever its
//!   words.

use crate::Protocol;
use crate::bindings::operations::DoCreditCardSecondaryVoid;
use crate::bindings::types::{
    DoCreditCardSecondaryVoidResponse, SecondaryCreditCardVoidResponseData,
};
use crate::error::{AnswerProblem, Error, NvpErrorAnswer, Refusal};
use crate::nvp::{NvpAnswer, NvpProblem};
use crate::soap::{FaultCode, Operation, SoapFault, SoapVersion};

use super::{TransactionId, VoidReceipt, VoidRequest};

/// The parts of a void's answer that decide its outcome, whatever protocol carried it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VoidAnswer {
    /// `TransactionStatus` of the void.
    pub transaction_status: Option<String>,
    /// `PrimaryTransactionStatus` of the payment.
    pub primary_transaction_status: Option<String>,
    /// `ResponseCode`.
    pub response_code: Option<String>,
    /// `ResponseMessage`.
    pub response_message: Option<String>,
    /// `PrimaryTransactionID`.
    pub primary_transaction_id: Option<String>,
    /// `TransactionID`.
    pub transaction_id: Option<String>,
    /// `AuthorizationNumber`.
    pub authorization_number: Option<String>,
}

impl From<SecondaryCreditCardVoidResponseData> for VoidAnswer {
    fn from(data: SecondaryCreditCardVoidResponseData) -> Self {
        Self {
            transaction_status: data.transaction_status,
            primary_transaction_status: data.primary_transaction_status,
            response_code: data.response_code,
            response_message: data.response_message,
            primary_transaction_id: data.primary_transaction_id,
            transaction_id: data.transaction_id,
            authorization_number: data.authorization_number,
        }
    }
}

impl VoidAnswer {
    /// The fields of a void's answer among NVP pairs (keys matched case-blind).
    pub fn from_nvp(answer: &NvpAnswer<'_>) -> Self {
        let get = |key: &str| answer.get(key).map(str::to_owned);
        Self {
            transaction_status: get("transactionStatus"),
            primary_transaction_status: get("primaryTransactionStatus"),
            response_code: get("responseCode"),
            response_message: get("responseMessage"),
            primary_transaction_id: get("primaryTransactionID"),
            transaction_id: get("transactionID"),
            authorization_number: get("authorizationNumber"),
        }
    }
}

/// What a SOAP answer to a void proves, given what reading it as the void operation's
/// response gave (`status` is the answer's HTTP status).
pub(crate) fn judge_soap(
    request: &VoidRequest,
    read: Result<DoCreditCardSecondaryVoidResponse, Error>,
    status: u16,
    version: SoapVersion,
) -> Result<VoidReceipt, Error> {
    let response = match read {
        Ok(response) => response,
        Err(Error::Fault(fault)) => {
            return Err(judge_fault(
                request,
                fault,
                DoCreditCardSecondaryVoid::NAMESPACE,
            ));
        }
        Err(error) => return Err(error),
    };
    let data = response
        .do_credit_card_secondary_void_result
        .ok_or_else(|| {
            Error::malformed(
                status,
                AnswerProblem::Inconsistent(
                    "the answer has no DoCreditCardSecondaryVoidResult".to_owned(),
                ),
            )
        })?;
    let protocol = match version {
        SoapVersion::Soap11 => Protocol::Soap11,
        SoapVersion::Soap12 => Protocol::Soap12,
    };
    judge(request, data.into(), protocol)
}

/// What the pairs of an NVP answer to a void prove (`status` is the answer's HTTP status).
/// Pairs holding neither an error nor any field of a void's answer are
/// [`NvpProblem::NoPairs`]: the caller tells an error page from garbage.
pub(crate) fn judge_nvp(
    request: &VoidRequest,
    answer: &NvpAnswer<'_>,
    status: u16,
) -> Result<Result<VoidReceipt, Error>, NvpProblem> {
    Ok(nvp_statuses(request.payment(), answer, status, Rule::Void)?
        .and_then(|fields| judge(request, fields, Protocol::Nvp)))
}

/// The statuses of an NVP answer to an exchange about `payment`, or the error its pairs prove
/// (an `errorCode`, judged by `rule`; a result that came with a non-2xx status). Shared by the
/// void and the refund, which differ only in what a success shows.
pub(crate) fn nvp_statuses(
    payment: &TransactionId,
    answer: &NvpAnswer<'_>,
    status: u16,
    rule: Rule,
) -> Result<Result<VoidAnswer, Error>, NvpProblem> {
    let fields = VoidAnswer::from_nvp(answer);
    if let Some(error) = answer.error() {
        let code = error.code.map(str::to_owned);
        let message = error
            .message
            .map_or_else(|| "no errorMessage".to_owned(), str::to_owned);
        return Ok(Err(nvp_error_verdict(
            payment, code, message, fields, status, rule,
        )));
    }
    if fields == VoidAnswer::default() {
        return Err(NvpProblem::NoPairs);
    }
    if !(200..300).contains(&status) {
        return Ok(Err(Error::malformed(
            status,
            AnswerProblem::Inconsistent(format!("an answer came with HTTP {status}")),
        )));
    }
    Ok(Ok(fields))
}

/// What an answer must show for an exchange to have succeeded, and how its refusals are told
/// apart: a void and a simple refund are judged by the same statuses, with their own rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// `TransactionStatus` `C` and `PrimaryTransactionStatus` `V`.
    Void,
    /// `TransactionStatus` `C`, the refund's own `TransactionID` (not the payment's), and no
    /// `PrimaryTransactionStatus` `V`.
    Refund,
}

/// Turns a result into a receipt, a refusal, or (when it contradicts itself) an error whose
/// outcome is unknown. Only `C` + `V` is a success; only `D` or `X` is a refusal.
pub(crate) fn judge(
    request: &VoidRequest,
    answer: VoidAnswer,
    protocol: Protocol,
) -> Result<VoidReceipt, Error> {
    let answer = verdict(request.payment(), answer, Rule::Void)?;
    Ok(VoidReceipt {
        payment: request.payment().clone(),
        transaction_status: trimmed(answer.transaction_status),
        primary_transaction_status: trimmed(answer.primary_transaction_status),
        response_code: answer.response_code,
        response_message: answer.response_message,
        transaction_id: answer.transaction_id,
        authorization_number: answer.authorization_number,
        protocol,
    })
}

/// The one mapping from an answer's statuses to a verdict, for a void or a refund of `payment`:
/// the answer itself when it proves success, otherwise the error that says why not.
pub(crate) fn verdict(
    payment: &TransactionId,
    answer: VoidAnswer,
    rule: Rule,
) -> Result<VoidAnswer, Error> {
    let inconsistent = |why: String| Error::malformed(200, AnswerProblem::Inconsistent(why));
    if let Some(why) = about_another_payment(
        payment,
        answer.primary_transaction_id.as_deref(),
        answer.transaction_id.as_deref(),
        rule,
    ) {
        return Err(inconsistent(why));
    }
    let status = answer.transaction_status.as_deref().map(str::trim);
    let primary = answer.primary_transaction_status.as_deref().map(str::trim);
    match (status, primary) {
        (Some(s), Some(p)) if rule == Rule::Void && is(s, "C") && is(p, "V") => Ok(answer),
        // A refund is a new transaction: without its ID nobody can find it again, so an answer
        // that omits it cannot be settled from what it says. A payment voided is what a void's
        // answer says, never a refund's: such a "receipt" may describe a void, not money given
        // back.
        (Some(s), p) if rule == Rule::Refund && is(s, "C") => {
            if p.is_some_and(|p| is(p, "V")) {
                Err(inconsistent(
                    "the refund completed but the payment's status is V, as after a void"
                        .to_owned(),
                ))
            } else if answer
                .transaction_id
                .as_deref()
                .is_some_and(|id| !id.trim().is_empty())
            {
                Ok(answer)
            } else {
                Err(inconsistent(
                    "the refund completed but the answer has no TransactionID".to_owned(),
                ))
            }
        }
        (Some(s), p) if is(s, "C") => Err(inconsistent(format!(
            "the void completed but the payment's status is {}, not V",
            p.map_or_else(|| "missing".to_owned(), |p| format!("{p:?}"))
        ))),
        (None, _) => Err(inconsistent(
            "the answer has no TransactionStatus".to_owned(),
        )),
        // Declined or cancelled: InstaMed looked at the request and said no.
        (Some(s), _) if is_refusal_status(s) => {
            let wording = answer.response_message.clone().unwrap_or_default();
            Err(refusal_error(
                Refusal {
                    response_code: answer.response_code,
                    response_message: answer.response_message,
                    transaction_status: answer.transaction_status,
                    primary_transaction_status: answer.primary_transaction_status,
                    fault: None,
                },
                &wording,
                rule,
            ))
        }
        // Empty, or a status this exchange does not get (A, O, S, a code added later): the
        // answer cannot be read as a refusal any more than as a success.
        (Some(s), _) => Err(inconsistent(format!(
            "TransactionStatus {s:?} is not an answer to a {}",
            match rule {
                Rule::Void => "void",
                Rule::Refund => "refund",
            }
        ))),
    }
}

/// The statuses a fault's detail carries in the service namespace, each given at most once.
#[derive(Debug, Default)]
struct DetailStatuses {
    transaction_status: Option<String>,
    primary_transaction_status: Option<String>,
    response_code: Option<String>,
    primary_transaction_id: Option<String>,
    transaction_id: Option<String>,
}

impl DetailStatuses {
    /// Reads the structured fields of `fault`'s detail in `namespace`. A field given twice
    /// with different values says two things, and neither may be believed.
    fn read(fault: &SoapFault, namespace: &str) -> Result<Self, String> {
        let one = |name: &str| -> Result<Option<String>, String> {
            let mut values = fault
                .detail_values(namespace, name)
                .map(str::trim)
                .filter(|value| !value.is_empty());
            let first = values.next();
            if let Some(other) = values.find(|value| Some(*value) != first) {
                return Err(format!(
                    "the fault's detail gives {name} twice: {:?} and {other:?}",
                    first.unwrap_or_default()
                ));
            }
            Ok(first.map(str::to_owned))
        };
        Ok(Self {
            transaction_status: one("TransactionStatus")?,
            primary_transaction_status: one("PrimaryTransactionStatus")?,
            response_code: one("ResponseCode")?,
            primary_transaction_id: one("PrimaryTransactionID")?,
            transaction_id: one("TransactionID")?,
        })
    }
}

/// What a SOAP fault to a void proves.
///
/// `namespace` is the service's (the void operation's): structured statuses count only there,
/// so that an unrelated element of the same local name in a stack trace is not evidence.
pub(crate) fn judge_fault(request: &VoidRequest, fault: Box<SoapFault>, namespace: &str) -> Error {
    fault_verdict(request.payment(), fault, namespace, Rule::Void)
}

/// What a SOAP fault to a void or a refund of `payment` proves (see [`judge_fault`]).
pub(crate) fn fault_verdict(
    payment: &TransactionId,
    fault: Box<SoapFault>,
    namespace: &str,
    rule: Rule,
) -> Error {
    let status = fault.http_status.unwrap_or(500);
    let inconsistent = |why: String| Error::malformed(status, AnswerProblem::Inconsistent(why));
    let statuses = match DetailStatuses::read(&fault, namespace) {
        Ok(statuses) => statuses,
        Err(why) => return inconsistent(why),
    };
    if let Some(why) = about_another_payment(
        payment,
        statuses.primary_transaction_id.as_deref(),
        statuses.transaction_id.as_deref(),
        rule,
    ) {
        return inconsistent(why);
    }
    let wording = fault.text();
    let refusal = |fault: Box<SoapFault>, statuses: DetailStatuses| Refusal {
        response_code: statuses.response_code,
        response_message: fault.reason.clone(),
        transaction_status: statuses.transaction_status,
        primary_transaction_status: statuses.primary_transaction_status,
        fault: Some(fault),
    };
    match statuses.transaction_status.as_deref() {
        // The service says in its own fields that it declined the void, whoever it blames.
        Some(s) if is_refusal_status(s) => refusal_error(refusal(fault, statuses), &wording, rule),
        // A fault that reports a completed void, or a status a void does not get, is no refusal.
        Some(s) => inconsistent(format!(
            "a {} fault whose detail gives TransactionStatus {s:?}",
            fault.code
        )),
        // The request was rejected as such: it voided nothing. Its payment status, or failing
        // that its wording, may say which refusal it is (never "not voidable": without
        // `TransactionStatus` there is no declined void to refund instead of); otherwise it
        // stays a fault.
        None if fault.code == FaultCode::Sender => match kind_of(
            Refused::AsRequest,
            statuses.primary_transaction_status.as_deref(),
            &wording,
            rule,
        ) {
            Some(kind) => error_of(kind, refusal(fault, statuses)),
            None => Error::Fault(fault),
        },
        // A Server/Receiver fault (or a code outside SOAP's) without structured statuses:
        // ASP.NET wraps an exception thrown after the void was recorded the same way as one
        // thrown before, so it proves nothing either way (`Error::outcome_unknown`).
        None => Error::Fault(fault),
    }
}

/// What an NVP `errorCode`/`errorMessage` answer to a void or a refund of `payment` proves,
/// judged by `rule`; `answer` holds the transaction fields given beside the error, if any.
pub(crate) fn nvp_error_verdict(
    payment: &TransactionId,
    code: Option<String>,
    message: String,
    answer: VoidAnswer,
    status: u16,
    rule: Rule,
) -> Error {
    let inconsistent = |why: String| Error::malformed(status, AnswerProblem::Inconsistent(why));
    if let Some(why) = about_another_payment(
        payment,
        answer.primary_transaction_id.as_deref(),
        answer.transaction_id.as_deref(),
        rule,
    ) {
        return inconsistent(why);
    }
    let refusal = Refusal {
        response_code: answer.response_code.or_else(|| code.clone()),
        response_message: Some(message.clone()),
        transaction_status: answer.transaction_status,
        primary_transaction_status: answer.primary_transaction_status,
        fault: None,
    };
    match refusal.transaction_status.as_deref().map(str::trim) {
        Some(s) if is_refusal_status(s) => refusal_error(refusal, &message, rule),
        Some(s) => inconsistent(format!("an NVP error beside transactionStatus {s:?}")),
        // A request error (the 400s) voided nothing: its payment status, or failing that its
        // wording, may pick which refusal it is (never "not voidable", as for a `Sender`
        // fault). Not when it came with an HTTP 5xx: what failed there may have done the work.
        None if status < 500 && crate::error::is_request_error_code(code.as_deref()) => {
            match kind_of(
                Refused::AsRequest,
                refusal.primary_transaction_status.as_deref(),
                &message,
                rule,
            ) {
                Some(kind) => error_of(kind, refusal),
                None => Error::NvpError(Box::new(NvpErrorAnswer {
                    code,
                    message,
                    status,
                })),
            }
        }
        // A server error or an error without a code: unknown, whatever its words.
        None => Error::NvpError(Box::new(NvpErrorAnswer {
            code,
            message,
            status,
        })),
    }
}

/// Why an answer is not about the exchange `rule` made on `payment`, if it is not, given the
/// `PrimaryTransactionID` (`primary`) and `TransactionID` (`own`) it names. The same rule for
/// every protocol and for results and refusals alike:
/// - `PrimaryTransactionID`, when given, is the payment;
/// - a void keeps the payment's transaction ID (InstaMed's documentation; the SOAP, NVP and
///   REST answers all carry it as `TransactionID`), so a void's `TransactionID`, when given, is
///   the payment too: any other names another transaction;
/// - a refund is a new transaction with an ID of its own, so a refund's `TransactionID` is
///   never the payment's: an answer giving the payment's there describes the payment or a
///   void of it, not a refund.
///
/// A field that is absent says nothing; one that is present and empty names no payment, so it
/// is not this one.
fn about_another_payment(
    payment: &TransactionId,
    primary: Option<&str>,
    own: Option<&str>,
    rule: Rule,
) -> Option<String> {
    if let Some(id) = primary.filter(|id| !payment.matches(id)) {
        return Some(format!("the answer is about payment {id:?}, not {payment}"));
    }
    match (rule, own) {
        (Rule::Void, Some(id)) if !payment.matches(id) => Some(format!(
            "the void's TransactionID is {id:?}, not the payment's {payment}"
        )),
        (Rule::Refund, Some(id)) if payment.matches(id) => Some(format!(
            "the refund's TransactionID is the payment's own, {payment}: a refund gets an ID of \
             its own"
        )),
        _ => None,
    }
}

fn is(value: &str, code: &str) -> bool {
    value.trim().eq_ignore_ascii_case(code)
}

/// `D` (declined) or `X` (cancelled): InstaMed looked at the void and said no.
fn is_refusal_status(status: &str) -> bool {
    is(status, "D") || is(status, "X")
}

/// The status, trimmed, without copying it when there is nothing to trim.
fn trimmed(status: Option<String>) -> String {
    let status = status.unwrap_or_default();
    match status.trim() {
        same if same.len() == status.len() => status,
        shorter => shorter.to_owned(),
    }
}

/// Which refusal a known refusal is.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    AlreadyVoided,
    NotVoidable,
    UnknownTransaction,
    Declined,
    OverRefundable,
    RefundWindowPassed,
}

/// How a known refusal was said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// By `TransactionStatus` `D` or `X`: the service declined this very exchange.
    ByStatus,
    /// As a rejected request, without `TransactionStatus` (a `Client`/`Sender` fault, an NVP
    /// error in the 400s): nothing was done, but no exchange was declined either.
    AsRequest,
}

/// The error for a refusal known to be one by its `TransactionStatus` `D`/`X`: declined, unless
/// its statuses or wording say which refusal it is.
fn refusal_error(refusal: Refusal, wording: &str, rule: Rule) -> Error {
    let kind = kind_of(
        Refused::ByStatus,
        refusal.primary_transaction_status.as_deref(),
        wording,
        rule,
    );
    error_of(kind.unwrap_or(Kind::Declined), refusal)
}

fn error_of(kind: Kind, refusal: Refusal) -> Error {
    match kind {
        Kind::AlreadyVoided => Error::AlreadyVoided(Box::new(refusal)),
        Kind::NotVoidable => Error::NotVoidable(Box::new(refusal)),
        Kind::UnknownTransaction => Error::UnknownTransaction(Box::new(refusal)),
        Kind::Declined => Error::Declined(Box::new(refusal)),
        Kind::OverRefundable => Error::OverRefundable(Box::new(refusal)),
        Kind::RefundWindowPassed => Error::RefundWindowPassed(Box::new(refusal)),
    }
}

/// Sorts a known refusal: by the payment's status first, by the wording only when the status
/// leaves a choice. `None` when nothing names it: a plain refusal. The wording is never asked
/// whether something *is* a refusal.
fn kind_of(refused: Refused, primary: Option<&str>, wording: &str, rule: Rule) -> Option<Kind> {
    match rule {
        Rule::Void => void_kind_of(refused, primary, wording),
        Rule::Refund => refund_kind_of(wording),
    }
}

/// Sorts a known refusal of a refund by its wording: no status tells these refusals apart
/// (the payment stays `C` whether the amount is too high or the payment too old).
fn refund_kind_of(wording: &str) -> Option<Kind> {
    const OVER: &[&str] = &[
        "exceeds the refundable",
        "exceeds refundable",
        "more than the refundable",
        "amount exceeds",
        "over the refundable",
    ];
    const TOO_OLD: &[&str] = &["refund window", "too old", "older than", "refund period"];
    let text = wording.to_ascii_lowercase();
    if says(&text, OVER) {
        Some(Kind::OverRefundable)
    } else if says(&text, TOO_OLD) {
        Some(Kind::RefundWindowPassed)
    } else if says(&text, UNKNOWN) {
        Some(Kind::UnknownTransaction)
    } else {
        None
    }
}

/// Wording that says the payment named is not known.
const UNKNOWN: &[&str] = &[
    "transaction not found",
    "payment not found",
    "unknown transaction",
    "invalid transaction id",
    "transaction does not exist",
    "no such transaction",
];

/// Sorts a known refusal of a void.
///
/// - `PrimaryTransactionStatus` `V`: already voided, whatever the words.
/// - Any other payment status: the payment is there and not voided. `S`/`SE` make it not
///   voidable, whatever the words; with another status the wording may pick "not voidable"
///   or "unknown payment". "Not voidable" also needs the void refused [`Refused::ByStatus`]
///   (`TransactionStatus` `D`/`X`): it advises and triggers a refund, and a request rejected
///   without that status is no declined void. Otherwise the payment's status still makes it a
///   known refusal: declined.
/// - No payment status: the wording may say "already voided" or "unknown payment", never "not
///   voidable": without statuses nothing shows the payment is there and not voided, and a
///   refund must not rest on words.
fn void_kind_of(refused: Refused, primary: Option<&str>, wording: &str) -> Option<Kind> {
    const ALREADY_VOIDED: &[&str] = &["already void", "already been void", "previously void"];
    const NOT_VOIDABLE: &[&str] = &[
        "funds transfer",
        "transfer of funds",
        "cannot be voided",
        "can not be voided",
        "not voidable",
        "too late",
        "use a refund",
        "use refund",
        "settled",
    ];
    let text = wording.to_ascii_lowercase();
    match primary.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) if is(p, "V") => Some(Kind::AlreadyVoided),
        Some(p) => {
            let settled = is(p, "S") || is(p, "SE");
            if refused == Refused::ByStatus && (settled || says(&text, NOT_VOIDABLE)) {
                Some(Kind::NotVoidable)
            } else if !settled && says(&text, UNKNOWN) {
                Some(Kind::UnknownTransaction)
            } else {
                Some(Kind::Declined)
            }
        }
        None if says(&text, ALREADY_VOIDED) => Some(Kind::AlreadyVoided),
        None if says(&text, UNKNOWN) => Some(Kind::UnknownTransaction),
        None => None,
    }
}

/// Whether lower-case `text` says one of `phrases`: as a word of its own (so "unsettled" and
/// "resettled" do not say "settled"), and not negated by "not", "no", "never", "nor",
/// "without" or a word ending in "n't" among the two words before it in the same clause (so
/// "not yet settled", "hasn't settled", "no funds transfer has started", "not too late" and
/// "not already voided" say the opposite). Words pick among refusals only, but a refusal
/// picked against what they say is still a wrong answer to print.
fn says(text: &str, phrases: &[&str]) -> bool {
    phrases.iter().any(|phrase| {
        text.match_indices(phrase).any(|(at, _)| {
            let before = &text[..at];
            let joined = before
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric);
            let clause = before
                .rsplit(|c: char| ".,;:!?()[]\"-".contains(c))
                .next()
                .unwrap_or_default();
            let negated = clause.split_whitespace().rev().take(2).any(|word| {
                matches!(word, "not" | "no" | "never" | "nor" | "without")
                    || word.ends_with("n't")
                    || word.ends_with("n\u{2019}t")
            });
            !joined && !negated
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An NVP error answer to a void of the test's payment.
    fn judge_nvp_error(
        request: &VoidRequest,
        code: Option<String>,
        message: String,
        answer: VoidAnswer,
        status: u16,
    ) -> Error {
        nvp_error_verdict(request.payment(), code, message, answer, status, Rule::Void)
    }
    use crate::soap::{DetailEntry, SoapVersion};
    use crate::{Outlet, TransactionId};

    const ID: &str = "EE52401813A74328AAA7D93319FF4383";
    const NS: &str = "urn:service";

    fn request() -> VoidRequest {
        VoidRequest::new(
            Outlet::new("1", "2", "3").unwrap(),
            TransactionId::new(ID).unwrap(),
        )
    }

    fn answer(status: &str, primary: &str, message: &str) -> VoidAnswer {
        let some = |v: &str| (!v.is_empty()).then(|| v.to_owned());
        VoidAnswer {
            transaction_status: some(status),
            primary_transaction_status: some(primary),
            response_code: Some("000".to_owned()),
            response_message: some(message),
            primary_transaction_id: Some(ID.to_lowercase()),
            ..VoidAnswer::default()
        }
    }

    fn kind(error: &Error) -> &'static str {
        match error {
            Error::AlreadyVoided(_) => "already",
            Error::NotVoidable(_) => "late",
            Error::UnknownTransaction(_) => "unknown",
            Error::Declined(_) => "declined",
            Error::Fault(_) => "fault",
            Error::NvpError(_) => "nvp",
            Error::MalformedAnswer { .. } => "malformed",
            other => panic!("{other:?}"),
        }
    }

    fn fault(code: FaultCode, reason: &str, detail: &[(&str, &str)]) -> Box<SoapFault> {
        let mut fault = SoapFault::new(SoapVersion::Soap12, code, reason);
        fault.detail = detail
            .iter()
            .map(|(name, text)| DetailEntry::new(NS, *name, *text))
            .collect();
        Box::new(fault)
    }

    #[test]
    fn only_c_and_v_is_a_success_whatever_the_message() {
        for message in ["APPROVED", "VOIDED", "anything"] {
            let receipt = judge(&request(), answer("C", "V", message), Protocol::Soap11).unwrap();
            assert_eq!(receipt.response_message.as_deref(), Some(message));
        }
        let unconfirmed = judge(&request(), answer("C", "", "APPROVED"), Protocol::Soap11);
        assert!(unconfirmed.unwrap_err().outcome_unknown());
        let no_status = judge(&request(), answer("", "V", "APPROVED"), Protocol::Soap11);
        assert!(no_status.unwrap_err().outcome_unknown());
        for odd in [" ", "P", "A", "Completed"] {
            let error = judge(&request(), answer(odd, "C", "?"), Protocol::Soap11).unwrap_err();
            assert!(error.outcome_unknown(), "{odd:?}: {error:?}");
        }
    }

    #[test]
    fn an_answer_about_another_payment_is_never_a_success() {
        let mut other = answer("C", "V", "APPROVED");
        other.primary_transaction_id = Some("0000".to_owned());
        assert!(
            judge(&request(), other, Protocol::Soap11)
                .unwrap_err()
                .outcome_unknown()
        );
    }

    #[test]
    fn refusals_are_sorted_by_status_then_by_words() {
        let of = |a: VoidAnswer| kind(&judge(&request(), a, Protocol::Soap11).unwrap_err());
        assert_eq!(of(answer("D", "V", "DECLINED")), "already");
        assert_eq!(of(answer("X", "V", "DECLINED")), "already");
        assert_eq!(of(answer("D", "", "Transaction already voided")), "already");
        // The payment's status says it is not voided: the words cannot say otherwise.
        assert_eq!(
            of(answer("D", "C", "Transaction already voided")),
            "declined"
        );
        assert_eq!(of(answer("D", "S", "DECLINED")), "late");
        assert_eq!(of(answer("D", "SE", "Transaction not found")), "late");
        assert_eq!(of(answer("D", "C", "Funds transfer initiated")), "late");
        assert_eq!(of(answer("D", "", "Transaction not found")), "unknown");
        assert_eq!(of(answer("D", "C", "DO NOT HONOR")), "declined");
        // Settlement words are no reason to advise a refund.
        assert_eq!(
            of(answer(
                "D",
                "C",
                "Timeout contacting the settlement database"
            )),
            "declined"
        );
    }

    #[test]
    fn a_receiver_fault_is_known_only_with_statuses_in_the_service_namespace() {
        let server = |reason: &str, detail: &[(&str, &str)]| {
            judge_fault(&request(), fault(FaultCode::Receiver, reason, detail), NS)
        };
        for words in [
            "Server was unable to process request. ---> Transaction has already been voided.",
            "Server was unable to process request. ---> Merchant configuration file not found.",
            "Server was unable to process request. ---> Timeout expired while contacting the settlement database.",
        ] {
            let error = server(words, &[]);
            assert_eq!(kind(&error), "fault", "{words}");
            assert!(error.outcome_unknown(), "{words}");
        }
        // A ResponseCode alone is context, not a status.
        assert!(server("x", &[("ResponseCode", "012")]).outcome_unknown());
        let known = server(
            "Server was unable to process request.",
            &[
                ("ResponseCode", "051"),
                ("TransactionStatus", "D"),
                ("PrimaryTransactionStatus", "V"),
            ],
        );
        assert_eq!(kind(&known), "already");
        assert!(!known.outcome_unknown());
        // The same fields in another namespace are not the service's.
        let mut foreign = fault(FaultCode::Receiver, "x", &[]);
        foreign.detail = vec![DetailEntry::new("urn:other", "TransactionStatus", "D")];
        assert_eq!(kind(&judge_fault(&request(), foreign, NS)), "fault");
        // Two different statuses, or another payment's: unreadable, unknown.
        let twice = server(
            "x",
            &[("TransactionStatus", "D"), ("TransactionStatus", "C")],
        );
        assert_eq!(kind(&twice), "malformed");
        let other = server(
            "x",
            &[
                ("TransactionStatus", "D"),
                ("PrimaryTransactionStatus", "V"),
                ("PrimaryTransactionID", "0000"),
            ],
        );
        assert_eq!(kind(&other), "malformed");
        let completed = server("x", &[("TransactionStatus", "C")]);
        assert_eq!(kind(&completed), "malformed");
    }

    #[test]
    fn a_sender_fault_voided_nothing_and_its_words_may_pick_the_refusal() {
        let client = |reason: &str, detail: &[(&str, &str)]| {
            judge_fault(&request(), fault(FaultCode::Sender, reason, detail), NS)
        };
        assert_eq!(
            kind(&client("Transaction has already been voided.", &[])),
            "already"
        );
        assert_eq!(kind(&client("Transaction not found.", &[])), "unknown");
        let plain = client(
            "Server did not recognize the value of HTTP Header SOAPAction",
            &[],
        );
        assert_eq!(kind(&plain), "fault");
        assert!(!plain.outcome_unknown());
    }

    #[test]
    fn a_rejected_request_is_never_not_voidable_without_transaction_status() {
        let client = |reason: &str, detail: &[(&str, &str)]| {
            judge_fault(&request(), fault(FaultCode::Sender, reason, detail), NS)
        };
        // Words alone: a fault, known to have voided nothing, and no refund advised.
        for words in [
            "Void not allowed: too late",
            "Transaction settled",
            "No funds transfer has started; void rejected",
        ] {
            let error = client(words, &[]);
            assert_eq!(kind(&error), "fault", "{words}");
            assert!(!error.outcome_unknown(), "{words}");
        }
        // The payment's status makes it a known refusal; without TransactionStatus no void was
        // declined, so it is declined, not "refund instead".
        match client("Void rejected", &[("PrimaryTransactionStatus", "S")]) {
            Error::Declined(refusal) => {
                assert!(refusal.fault.is_some());
                assert!(refusal.payment_is_not_voided());
            }
            other => panic!("{other:?}"),
        }
        // The same with TransactionStatus D is a declined void of a settled payment.
        let late = client(
            "Void rejected",
            &[
                ("TransactionStatus", "D"),
                ("PrimaryTransactionStatus", "S"),
            ],
        );
        assert_eq!(kind(&late), "late");
        let nvp = judge_nvp_error(
            &request(),
            Some("400".to_owned()),
            "Void not allowed: too late".to_owned(),
            answer("", "S", ""),
            200,
        );
        assert_eq!(kind(&nvp), "declined");
    }

    #[test]
    fn without_a_payment_status_wording_never_makes_not_voidable() {
        for words in [
            "Void not allowed: funds transfer initiated",
            "Transaction has settled; use a refund",
            "Too late to void",
            "the payment isn't settled yet",
            "Payment hasn't settled",
            "no funds transfer has started",
            "not too late",
        ] {
            let error = judge(&request(), answer("D", "", words), Protocol::Soap11).unwrap_err();
            match &error {
                Error::Declined(refusal) => {
                    assert_eq!(refusal.response_message.as_deref(), Some(words));
                }
                other => panic!("{words}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_void_answer_names_the_payment_in_transaction_id_too() {
        let mut other = answer("C", "V", "APPROVED");
        other.transaction_id = Some("0000".to_owned());
        let error = judge(&request(), other, Protocol::Rest).unwrap_err();
        assert!(error.outcome_unknown(), "{error:?}");
        let mut own = answer("C", "V", "APPROVED");
        own.transaction_id = Some(ID.to_lowercase());
        judge(&request(), own, Protocol::Rest).expect("voided");
        // A refusal about another transaction proves nothing either: not a refund trigger.
        let mut late = answer("D", "S", "DECLINED");
        late.transaction_id = Some("0000".to_owned());
        assert_eq!(
            kind(&judge(&request(), late, Protocol::Rest).unwrap_err()),
            "malformed"
        );
        let mut detail = fault(
            FaultCode::Sender,
            "x",
            &[
                ("TransactionStatus", "D"),
                ("PrimaryTransactionStatus", "S"),
            ],
        );
        detail
            .detail
            .push(DetailEntry::new(NS, "TransactionID", "0000"));
        assert_eq!(kind(&judge_fault(&request(), detail, NS)), "malformed");
        let mut pairs = answer("D", "V", "");
        pairs.transaction_id = Some("0000".to_owned());
        let nvp = judge_nvp_error(&request(), Some("012".to_owned()), "x".into(), pairs, 200);
        assert_eq!(kind(&nvp), "malformed");
    }

    #[test]
    fn a_request_error_code_that_came_with_a_server_error_is_unknown() {
        for status in [500, 502, 503] {
            let error = judge_nvp_error(
                &request(),
                Some("400".to_owned()),
                "Transaction cannot be voided: funds transfer initiated.".to_owned(),
                VoidAnswer::default(),
                status,
            );
            assert_eq!(kind(&error), "nvp", "{status}");
            assert!(error.outcome_unknown(), "{status}: {error:?}");
        }
        // With a 200 the same answer is a rejected request, known to have voided nothing; its
        // words alone are no reason to refund.
        let known = judge_nvp_error(
            &request(),
            Some("400".to_owned()),
            "Transaction cannot be voided: funds transfer initiated.".to_owned(),
            VoidAnswer::default(),
            200,
        );
        assert_eq!(kind(&known), "nvp");
        assert!(!known.outcome_unknown(), "{known:?}");
    }

    #[test]
    fn words_count_only_when_they_are_not_negated() {
        let settled: &[&str] = &["settled"];
        for said in [
            "transaction settled",
            "Transaction has settled; use a refund",
            "SETTLED",
            "settled.",
            "Void not allowed: settled",
        ] {
            assert!(says(&said.to_ascii_lowercase(), settled), "{said}");
        }
        for said in [
            "transaction not yet settled",
            "transaction unsettled",
            "transaction not settled",
            "has not been settled",
            "resettled",
            "the payment isn't settled yet",
            "payment hasn\u{2019}t settled",
        ] {
            assert!(!says(&said.to_ascii_lowercase(), settled), "{said}");
        }
        assert!(!says("no funds transfer has started", &["funds transfer"]));
        assert!(says(
            "void not allowed: funds transfer initiated",
            &["funds transfer"]
        ));
        assert!(says(
            "void not allowed because funds transfer initiated",
            &["funds transfer"]
        ));
        assert!(!says("not too late", &["too late"]));
        assert!(!says("transaction not already voided", &["already void"]));
        // With a payment status the words pick the refusal; negated, they pick none.
        let of = |message: &str| {
            kind(&judge(&request(), answer("D", "C", message), Protocol::Soap11).unwrap_err())
        };
        assert_eq!(of("Transaction has settled"), "late");
        assert_eq!(of("Transaction not yet settled"), "declined");
        assert_eq!(of("Not too late; declined for another reason"), "declined");
    }

    #[test]
    fn nvp_errors_are_unknown_unless_rejected_or_structured() {
        let nvp = |code: Option<&str>, message: &str, answer: VoidAnswer| {
            judge_nvp_error(
                &request(),
                code.map(str::to_owned),
                message.to_owned(),
                answer,
                200,
            )
        };
        let words = "Database timeout while checking whether the transaction was already \
                     voided; no change made";
        let error = nvp(Some("500"), words, VoidAnswer::default());
        assert_eq!(kind(&error), "nvp");
        assert!(error.outcome_unknown());
        for code in [
            None,
            Some("503"),
            Some("012"),
            Some("+400"),
            Some("4000"),
            Some(""),
        ] {
            let error = nvp(
                code,
                "Transaction has already been voided.",
                VoidAnswer::default(),
            );
            assert!(error.outcome_unknown(), "{code:?}: {error:?}");
        }
        let rejected = nvp(Some("400"), "Transaction not found.", VoidAnswer::default());
        assert_eq!(kind(&rejected), "unknown");
        let plain = nvp(
            Some("400"),
            "An unexpected error occurred",
            VoidAnswer::default(),
        );
        assert_eq!(kind(&plain), "nvp");
        assert!(!plain.outcome_unknown());
        let structured = nvp(Some("500"), "x", answer("D", "V", ""));
        assert_eq!(kind(&structured), "already");
    }
}
