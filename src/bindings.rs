//! Types and operation metadata generated from the service's WSDL.
//!
//! `build.rs` writes this from `wsdl/payment-service.wsdl`, or from the file named by the
//! `INSTAMED_WSDL` environment variable. [`types`] holds one struct per schema type and wrapper
//! element, [`operations`] one marker per operation implementing [`crate::soap::Operation`]. The
//! bindings stay below the client: any operation is called with
//! [`Client::call`](crate::Client::call), as in
//! `client.call::<operations::DoCreditCardSecondaryVoid>(&request)`.

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
