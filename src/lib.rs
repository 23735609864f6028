//! Void InstaMed credit-card payments from Rust, over the service's SOAP interface.
//!
//! InstaMed's payment service (`connect.instamed.com/payment/service.asmx`) is an ASP.NET web
//! service. This crate generates its bindings from the WSDL at build time ([`bindings`]), sends
//! `DoCreditCardSecondaryVoid` as SOAP 1.1 or SOAP 1.2 over rustls ([`Client`]), and turns every
//! answer into either a [`VoidReceipt`] or an [`Error`] that says whether the payment was voided,
//! refused, or may have been voided with no answer read ([`Error::outcome_unknown`]).
//!
//! ```no_run
//! use instamed_soap::{Client, Credentials, Outlet, TransactionId, VoidRequest};
//!
//! # async fn run() -> Result<(), instamed_soap::Error> {
//! let client = Client::builder("https://connect.instamed.com/payment/service.asmx")
//!     .credentials(Credentials::new("account@clinic", "password"))
//!     .build()?;
//! let outlet = Outlet::new("123123123", "123", "123")?;
//! let payment = TransactionId::new("EE52401813A74328AAA7D93319FF4383")?;
//! let receipt = client.void(&VoidRequest::new(outlet, payment)).await?;
//! assert_eq!(receipt.primary_transaction_status, "V");
//! # Ok(()) }
//! ```
//!
//! Data flows one way: [`VoidRequest`] → generated request type → envelope ([`soap`]) →
//! transport → envelope → generated response type → [`VoidReceipt`] or [`Error`].

#![warn(missing_docs)]

pub mod bindings;
pub mod call;
mod client;
mod credentials;
mod deadline;
mod domain;
mod endpoint;
pub mod error;
pub mod exact_json;
pub mod files;
pub mod nvp;
pub mod observe;
pub mod outcome;
mod protocol;
mod proxy;
mod redact;
mod refund;
pub mod rest;
mod retry;
pub mod sensitive;
pub mod soap;
mod spans;
pub mod sso;
pub mod timer;
mod transport;
mod trust;
mod verdict;
mod void;
pub mod xsd;

pub use client::{Client, ClientBuilder, DEFAULT_MAX_RESPONSE_BYTES};
pub use credentials::{ApiKey, Credentials, UserName, same_secret};
pub use domain::{CardPresentStatus, Outlet, TransactionId};
pub use error::{
    AnswerProblem, BoxError, Error, InvalidRequest, NvpErrorAnswer, Refusal, UnsettledRefund,
};
pub use outcome::Outcome;
pub use protocol::Protocol;
pub use proxy::ProxyError;
pub use refund::{RefundReceipt, RefundRequest, VoidOrRefund};
pub use retry::RetryPolicy;
pub use trust::TrustRoots;
pub use void::{Evidence, VoidConfirmation, VoidReceipt, VoidRequest};

/// The README's examples, compiled as doctests so that they cannot drift from the API.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
