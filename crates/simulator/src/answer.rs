//! What an operation answers, before any protocol writes it.
//!
//! The engine decides *what* to say; the SOAP, NVP and REST writers decide *how*, including whether a
//! refusal becomes a decline result or a fault (the configured
//! [`RefusalStyle`](super::RefusalStyle)). Values borrow from the request where they echo it,
//! so an answer costs no allocation.

use std::borrow::Cow;

use super::ids::IdKey;
use super::reply::HttpResponse;

/// The operation a request called (`DoCreditCardSecondaryVoid`, NVP `Void`, REST `void`),
/// once the writer knows it: for the server's line about the request. Always one of the
/// service's own names, never text taken from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OperationName(pub &'static str);

impl OperationName {
    /// `response`, naming this operation.
    pub(crate) fn mark(self, mut response: HttpResponse) -> HttpResponse {
        response.extensions_mut().insert(self);
        response
    }
}

/// What an answer says, in one word, for the server's line about the request: for a void or a
/// refund, the client's outcome names (`voided`, `already_voided`, `not_voidable`,
/// `unknown_payment`, `invalid`, …, from `instamed_soap::outcome`); for the rest, what the
/// service did (`approved`, `fault`, `rejected`, `injected_…`). Carried as an extension of the HTTP answer, so that the server, which logs
/// the request, learns it from the writer that knew it without reading the body back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Label(pub &'static str);

impl Label {
    /// The service failed while handling the request (a receiver fault, an NVP error in the
    /// 500s, an HTTP 500).
    pub(crate) const FAULT: Self = Self("fault");
    /// The request was refused as such (a sender fault, an NVP error in the 400s, a 400).
    pub(crate) const REJECTED: Self = Self("rejected");

    /// `response`, carrying this verdict.
    pub(crate) fn mark(self, mut response: HttpResponse) -> HttpResponse {
        response.extensions_mut().insert(self);
        response
    }
}

/// The fields of a result element that the simulator fills, in the WSDL's order.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResultFields<'a> {
    pub merchant_id: Option<&'a str>,
    pub store_id: Option<&'a str>,
    pub terminal_id: Option<&'a str>,
    pub transaction_id: Option<IdKey>,
    pub transaction_status: Option<&'static str>,
    pub response_code: Option<&'static str>,
    pub response_message: Option<Cow<'static, str>>,
    pub primary_transaction_id: Option<&'a str>,
    pub authorization_text: Option<&'static str>,
    pub primary_transaction_status: Option<&'static str>,
}

impl<'a> ResultFields<'a> {
    /// Every field as (WSDL element name, value), in the order the WSDL puts them: base type
    /// first, then `BasePaymentResponseData`, then the void's `PrimaryTransactionStatus`.
    pub(crate) fn in_wire_order(&self) -> [(&'static str, Option<&str>); 10] {
        [
            ("MerchantID", self.merchant_id),
            ("StoreID", self.store_id),
            ("TerminalID", self.terminal_id),
            (
                "TransactionID",
                self.transaction_id.as_ref().map(IdKey::as_str),
            ),
            ("TransactionStatus", self.transaction_status),
            ("ResponseCode", self.response_code),
            ("ResponseMessage", self.response_message.as_deref()),
            ("PrimaryTransactionID", self.primary_transaction_id),
            ("AuthorizationText", self.authorization_text),
            ("PrimaryTransactionStatus", self.primary_transaction_status),
        ]
    }
}

/// A refusal: what goes in a fault (or NVP error) when refusals are faults.
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    /// `ResponseCode`: `012`, `013`, `014` or `400`.
    pub code: &'static str,
    /// The fault's reason (NVP `errorMessage`).
    pub fault_reason: Cow<'static, str>,
    /// The payment's status, when the refusal is about an existing payment.
    pub primary_status: Option<&'static str>,
    /// The request itself is at fault (a field missing or malformed, a card number failing
    /// its check), rather than the payment it names: REST answers it with 400.
    pub invalid: bool,
}

/// An operation's answer: a result, possibly one that refuses.
#[derive(Debug, Clone)]
pub(crate) struct Decision<'a> {
    /// The result element's fields; for a refusal, the decline (`TransactionStatus` `D`).
    pub fields: ResultFields<'a>,
    /// Set when the answer refuses; the writer turns it into a fault if so configured.
    pub refusal: Option<Refusal>,
    /// What the engine decided, for the log.
    pub label: Label,
}

/// A request the service cannot handle at all: always a fault (NVP: an error), whatever the
/// refusal style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// The request's wrapper has no `transaction` (ASP.NET: a null reference in the service).
    MissingTransaction,
    /// The operation exists in the WSDL but the simulator does not implement it.
    Unsupported(&'static str),
    /// The ledger could not record the change (its journal failed); nothing changed.
    Internal(String),
}

impl Rejection {
    /// Whether the request is to blame (a client/sender fault) rather than the service.
    pub(crate) fn is_sender_fault(&self) -> bool {
        matches!(self, Self::Unsupported(_))
    }

    /// The fault reason, worded as ASP.NET wraps exceptions thrown by a service method.
    pub(crate) fn reason(&self) -> Cow<'static, str> {
        match self {
            Self::MissingTransaction => Cow::Borrowed(
                "Server was unable to process request. ---> Object reference not set to an \
                 instance of an object.",
            ),
            Self::Unsupported(operation) => {
                Cow::Owned(format!("{operation} is not supported by the simulator."))
            }
            Self::Internal(why) => {
                Cow::Owned(format!("Server was unable to process request. ---> {why}"))
            }
        }
    }
}
