//! A local look-alike of InstaMed's `connect.instamed.com`, for offline use and tests.
//!
//! [`Simulator::start`] serves, over HTTPS with a CA made at start (or plain HTTP):
//!
//! - `GET /payment/service.asmx?WSDL`: the WSDL the bindings were generated from, its
//!   addresses naming the URL it was fetched from, as ASP.NET's do;
//!   `?op=Name`: ASP.NET's help page for an operation;
//! - `POST /payment/service.asmx`: SOAP 1.1 and 1.2, answered ASP.NET style in the version
//!   asked: `DoCreditCardSecondaryVoid`, `DoCreditCardAuthAndCapt` (creates a captured
//!   payment), `DoCreditCardSimpleRefund`; `DoECheckVoidByTransactionID` is a client fault;
//! - `POST` or `GET /payment/NVP.aspx`: the same with form pairs (`transactionType=CreditCard`,
//!   `transactionAction=Void|Sale|SimpleRefund`), keys in any case;
//! - `POST /rest/payment/void`, `/rest/payment/refund-simple`, `/rest/payment/sale`: the same
//!   operations as JSON ([`instamed_soap::rest`]), signed in with an `Api-Key`/`Api-Secret` pair
//!   ([`SimulatorConfig::api_keys`]); the answers are listed in `docs/rest.md`;
//! - `/simulator/payments…`: admin endpoints to create payments (of a given age, too), start
//!   transfers and read a payment's state;
//! - the Single Sign-On side (`/providers/…`): the SSO login that hands out a token, the void
//!   page a person's browser is sent to, and `SSOService.asmx`, which says what the person did;
//!   its paths, fields and answers are listed in `docs/simulator.md` and the `sso` module;
//! - `GET` or `HEAD /health`: `200` and `ok`, with no sign-in, for health checks.
//!
//! Every endpoint but REST and the health check needs HTTP Basic with one of the configured accounts; the user name
//! may be the whole account ID or its part before `@`. All three protocols share one ledger.
//!
//! # Voids and refusals
//!
//! A void succeeds on a captured payment of the outlet named in the request whose funds transfer
//! has not begun ([`Ledger::start_transfer`], or an age of at least
//! [`SimulatorConfig::void_cutoff`]): `TransactionStatus=C`, `ResponseCode=000`,
//! `ResponseMessage=APPROVED` (or `VOIDED`, see [`SuccessMessage`]),
//! `PrimaryTransactionStatus=V`, the outlet echoed, and `TransactionID` the payment's own ID.
//! Otherwise the answer is a refusal, a `TransactionStatus=D` result or (with
//! [`RefusalStyle::Fault`]) a client/sender fault whose detail carries `ResponseCode`,
//! `TransactionStatus` and `PrimaryTransactionStatus`:
//!
//! | case | code | decline message | fault reason | payment status |
//! |---|---|---|---|---|
//! | already voided | `012` | `Transaction already voided` | `Transaction has already been voided.` | `V` |
//! | transfer begun or past the cutoff | `012` | `Void not allowed: funds transfer initiated` | `Void not allowed: funds transfer initiated. Use a refund.` | `S` |
//! | unknown payment, or another outlet's | `012` | `Transaction not found` | `Transaction not found.` | — |
//! | a field missing or malformed | `400` | `Invalid request: MerchantID is required` (and so on) | the same | — |
//! | a card number failing the Luhn check | `014` | `Invalid request: CardNumber is not a valid card number` | the same | — |
//! | a refund above what is left | `013` | `Invalid request: Amount exceeds the refundable amount` | the same | `C` |
//! | a refund of a voided payment | `012` | `Refund not allowed: transaction voided` | the same | `V` |
//! | a refund of a refund | `012` | `Refund not allowed: transaction is a refund` | the same | `C` |
//! | a refund of a payment older than the refund window | `012` | `Refund not allowed: transaction older than the refund window` | the same | `C` |
//! | a void of a payment with refunds | `012` | `Void not allowed: transaction has refunds` | `Void not allowed: transaction has refunds. Use a refund.` | `C` |
//!
//! A payment whose funds transfer has begun is answered with `PrimaryTransactionStatus` `S`
//! (InstaMed publishes no meaning for `S`; "settled" is this project's guess): the client
//! advises and makes a refund only on a declined void whose payment status is present and not
//! `V`, and `S` says "not voidable" whatever the words, so the refund path rests on statuses.
//!
//! # Refunds
//!
//! A simple refund names one payment and gives back at most what is left of it: refunds add
//! up, and each is a new captured transaction with an ID of its own, tied to the payment. A
//! voided payment, a refund, or a payment older than [`SimulatorConfig::refund_window`] (one
//! year by default, as InstaMed documents) cannot be refunded. A payment with refunds cannot be
//! voided: its money has moved, so the answer is a not-voidable refusal (refund instead).
//! Voiding a refund gives its amount back to the payment.
//!
//! `012` is the processor's "invalid transaction", `013` "invalid amount", `014` "invalid
//! account"; `400` follows InstaMed's NVP code for a bad request. Requests the service cannot
//! read get ASP.NET's own faults (an unknown `SOAPAction`, malformed XML, a wrapper without
//! `transaction`), whatever the refusal style.
//!
//! # Requests ASP.NET does not like
//!
//! The simulator answers them as a System.Web.Services stack does:
//!
//! | request | answer |
//! |---|---|
//! | any fault, SOAP 1.1 or 1.2, client/sender ones included | HTTP 500 |
//! | SOAP 1.1 whose `SOAPAction` names no operation | 500, `soap:Client` "Server did not recognize the value of HTTP Header SOAPAction: …" |
//! | SOAP 1.1 with an empty `SOAPAction` | 500, `soap:Client` "Server did not recognize the value of HTTP Header SOAPAction: ." |
//! | SOAP 1.1 without `SOAPAction` | routed by the body's element; "Unable to handle request without a valid action parameter…" (`soap:Client`) when that names no operation |
//! | an `action` parameter (SOAP 1.2) or `SOAPAction` naming an operation | routed to it whatever the body holds; a body without its wrapper runs it without a `transaction` (a server fault) |
//! | SOAP 1.2 whose `action` parameter names no operation | routed by the body's element |
//! | XML that is not well-formed | a client fault naming the line and position of the error |
//! | a SOAP 1.2 envelope sent as `text/xml` | read and answered as SOAP 1.2 (`application/soap+xml`) |
//! | a SOAP 1.1 envelope sent as `application/soap+xml` | 415, empty body |
//! | any other media type (`text/plain`, `application/xml`, …) | 415, empty body, typed `text/xml` |
//! | wrong or missing credentials | 401 with `WWW-Authenticate: Basic` |
//!
//! A field's value is its whole text: text split by comments, processing instructions, CDATA
//! sections or references reads as one value (`AB<!-- -->CD` is `ABCD`); a field holding an
//! element cannot be read (a client fault).
//!
//! # Slow and numerous clients
//!
//! A request's headers must arrive within [`SimulatorConfig::request_timeout`] (default 20
//! seconds; it also closes a kept-alive connection left idle that long), and its body within as
//! long again, or the answer is 408 and the connection is closed. At most
//! [`SimulatorConfig::max_connections`] (default 512) connections are served at once; one more
//! takes the place of the connection that has waited longest on its client (idle, in its TLS
//! handshake, or sending headers or a body), never of one whose request is being worked on, and
//! if all are working it waits up to a second for a place. Slow clients thus cost each other
//! their places while a prompt client is served.
//!
//! # Persistence and seeding
//!
//! With [`SimulatorConfig::ledger_file`] the ledger is an append-only journal of JSON lines
//! (`created`, with `refund_of` for a refund; `voided`; `transfer_started`), each written before
//! the change is made and the request that caused it is answered, and replayed at start, refunds
//! and payments' ages included. A write that fails (a full disk) changes nothing, and the
//! request gets a server fault (NVP `errorCode=500`, REST 500): the client learns
//! that the outcome is unknown, never that the void was made. The part of the line it may have
//! left is cut off at once, so later lines stay whole. A journal torn all the same (a killed
//! process) is recovered at start: every whole entry is kept, and each cut (line, byte offset,
//! bytes dropped) is reported as a warning before the file is rewritten without it. There is
//! no `fsync` per line: [`Simulator::shutdown`] syncs once.
//!
//! [`SimulatorConfig::seed_file`] lists payments to create at start, one a line:
//! `transaction_id,merchant_id,store_id,terminal_id,amount[,state]`, where the optional state
//! is `captured` (default), `voided` or `transferred`; blank lines and `#` comments are
//! skipped, and IDs already in the ledger are left alone.
//!
//! # Injected faults
//!
//! [`FaultPlan`] makes SOAP, NVP and REST requests (not the WSDL, help or admin endpoints) fail
//! on purpose, reproducibly from a seed: a receiver fault, HTTP 500 with no body, HTTP 503, a
//! connection closed with no answer, an answer cut in half, or garbage. All but the cut answer happen *instead of*
//! processing; a cut answer is cut after the ledger changed.

mod admin;
mod answer;
mod auth;
mod bindings;
mod card;
mod config;
mod engine;
mod error;
mod faults;
mod health;
mod ids;
mod journal;
mod ledger;
mod nvp;
pub(crate) mod reply;
mod rest;
mod seed;
mod server;
mod service;
mod shared;
mod soap;
mod sso;
mod tokens;

pub use config::{
    DEFAULT_REFUND_WINDOW, DEFAULT_SSO_TOKEN_LIFETIME, DEMO_ACCOUNT_ID, DEMO_API_KEY,
    DEMO_API_SECRET, DEMO_PASSWORD, DEMO_SSO_ALIAS, DEMO_SSO_KEY, RefusalStyle, SimulatorConfig,
    SuccessMessage,
};
pub use error::{LedgerError, SimulatorError};
pub use faults::FaultPlan;
pub use instamed_soap_listener::{Hostname, InvalidHostname};
pub use ledger::{Ledger, Payment, PaymentStatus, VoidOutcome};
pub use seed::MAX_SEED_FILE_BYTES;
pub use server::Simulator;
