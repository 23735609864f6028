//! The client's integration tests, one binary: every protocol against real loopback TLS
//! servers (hand-written ones and the simulator), the limits it keeps, the secrets it never
//! shows, and the XML reader against the W3C suite.

mod architecture;
mod credentials;
mod deadlines;
mod faults;
mod generated_fixtures;
mod hostile_http;
mod hostile_nvp;
mod outcomes_table;
mod properties;
mod proxy;
mod refunds;
mod resilience;
mod secrets;
mod sensitive;
mod spans;
mod sso;
mod tls_policy;
mod transport_pool;
mod trust;
mod void_nvp;
mod void_rest;
mod void_soap;
mod wire_view;
mod xml_conformance;
