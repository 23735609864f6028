//! A local look-alike of InstaMed's `connect.instamed.com`, for offline use and tests (feature
//! `simulator`).
//!
//! [`Simulator::start`] serves, over HTTPS with a CA made at start (or plain HTTP):
//!
//! - `GET /payment/service.asmx?WSDL`: the WSDL the bindings were generated from;
//!   `?op=Name`: ASP.NET's help page for an operation;
//! - `POST /payment/service.asmx`: SOAP 1.1 and 1.2, answered ASP.NET style in the version
//!   asked: `DoCreditCardSecondaryVoid`, `DoCreditCardAuthAndCapt` (creates a captured
//!   payment), `DoCreditCardSimpleRefund`; `DoECheckVoidByTransactionID` is a client fault;
//! - `POST` or `GET /payment/NVP.aspx`: the same with form pairs (`transactionType=CreditCard`,
//!   `transactionAction=Void|Sale|SimpleRefund`), keys in any case;
//! - `/simulator/payments…`: admin endpoints to create payments and start transfers.
//!
//! Every endpoint needs HTTP Basic with one of the configured accounts; the user name may be
//! the whole account ID or its part before `@`.
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
//! | transfer begun or past the cutoff | `012` | `Void not allowed: funds transfer initiated` | `Void not allowed: funds transfer initiated. Use a refund.` | `C` |
//! | unknown payment, or another outlet's | `012` | `Transaction not found` | `Transaction not found.` | — |
//! | a field missing or malformed | `400` | `Invalid request: MerchantID is required` (and so on) | the same | — |
//! | a card number failing the Luhn check | `014` | `Invalid request: CardNumber is not a valid card number` | the same | — |
//! | a refund above what is left | `013` | `Invalid request: Amount exceeds the refundable amount` | the same | `C` |
//! | a refund of a voided payment | `012` | `Refund not allowed: transaction voided` | the same | `V` |
//! | a refund of a refund | `012` | `Refund not allowed: transaction is a refund` | the same | `C` |
//!
//! `012` is the processor's "invalid transaction", `013` "invalid amount", `014` "invalid
//! account"; `400` follows InstaMed's NVP code for a bad request. Requests the service cannot
//! read get ASP.NET's own faults (an unknown `SOAPAction`, malformed XML, a wrapper without
//! `transaction`), whatever the refusal style.
//!
//! # Persistence and seeding
//!
//! With [`SimulatorConfig::ledger_file`] the ledger is an append-only journal of JSON lines
//! (`created`, `voided`, `transfer_started`), each written before the request that caused it is
//! answered and replayed at start; a crash tears at most the last line, which is then dropped.
//! There is no `fsync` per line: [`Simulator::shutdown`] syncs once.
//!
//! [`SimulatorConfig::seed_file`] lists payments to create at start, one a line:
//! `transaction_id,merchant_id,store_id,terminal_id,amount[,state]`, where the optional state
//! is `captured` (default), `voided` or `transferred`; blank lines and `#` comments are
//! skipped, and IDs already in the ledger are left alone.
//!
//! # Injected faults
//!
//! [`FaultPlan`] makes SOAP and NVP requests (not the WSDL, help or admin endpoints) fail on
//! purpose, reproducibly from a seed: a receiver fault, HTTP 503, a connection closed with no
//! answer, an answer cut in half, or garbage. All but the cut answer happen *instead of*
//! processing; a cut answer is cut after the ledger changed.

mod admin;
mod amount;
mod answer;
mod auth;
mod card;
mod config;
mod engine;
mod error;
mod faults;
mod ids;
mod journal;
mod ledger;
mod nvp;
mod pki;
pub(crate) mod reply;
mod seed;
pub(crate) mod server;
pub(crate) mod service;
mod soap;
mod xml;

pub use amount::{Amount, InvalidAmount};
pub use config::{DEMO_ACCOUNT_ID, DEMO_PASSWORD, RefusalStyle, SimulatorConfig, SuccessMessage};
pub use error::{LedgerError, SimulatorError};
pub use faults::FaultPlan;
pub use ledger::{Ledger, Payment, PaymentStatus, VoidOutcome};
pub use server::Simulator;
