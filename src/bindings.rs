//! Types and operation metadata generated from the services' WSDLs.
//!
//! `build.rs` writes this from `wsdl/payment-service.wsdl`, or from the file named by the
//! `INSTAMED_WSDL` environment variable. [`types`] holds one struct per schema type and wrapper
//! element, [`operations`] one marker per operation implementing [`crate::soap::Operation`]. The
//! bindings stay below the client: any operation is called with
//! [`Client::call`](crate::Client::call), as in
//! `client.call::<operations::DoCreditCardSecondaryVoid>(&request)`.

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));

/// The Single Sign-On service (`SSOService.asmx`), generated the same way from
/// `wsdl/sso-service.wsdl` or the file named by `INSTAMED_SSO_WSDL`: its own namespace
/// (`http://tempuri.org/`), its own copy of the base payment types, and credentials in the
/// body, whose `password` (the SSO security key) never shows in `Debug` output.
pub mod sso {
    include!(concat!(env!("OUT_DIR"), "/sso_bindings.rs"));
}
