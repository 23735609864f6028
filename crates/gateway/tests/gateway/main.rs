//! The gateway driven as an ERP drives it: real TLS on loopback, envelopes as .NET and zeep
//! write them, the ERP's retries, in front of the embedded simulator.

mod api;
mod erp;
mod nvp;
mod operations;
mod ops;
mod replicas;
mod soap;
