//! Types, operation metadata and client methods generated from the service's WSDL.
//!
//! `build.rs` writes this from `wsdl/payment-service.wsdl`, or from the file named by the
//! `INSTAMED_WSDL` environment variable. [`types`] holds one struct per schema type and wrapper
//! element, [`operations`] one marker per operation implementing [`crate::soap::Operation`], and
//! [`Client`](crate::Client) gains one `async` method per operation (for instance
//! [`Client::do_credit_card_secondary_void`](crate::Client::do_credit_card_secondary_void)).

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
