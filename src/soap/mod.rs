//! SOAP 1.1 and 1.2 as ASP.NET speaks them: versions, envelopes and faults.

mod envelope;
mod escape;
mod fault;
mod operation;
mod read;
mod shape;
mod version;
mod write;

pub use envelope::{Answer, UnreadableEnvelope, decode, encode};
pub use escape::{escaped, escaped_attribute, push_escaped};
pub use fault::{DetailEntry, FaultCode, MAX_DETAIL_ENTRIES, SoapFault};
pub use operation::Operation;
pub use read::{ReadError, ReadXml, XmlReader};
pub use shape::{Child, Content, Occurs, Shape};
pub use version::SoapVersion;
pub use write::{WriteXml, XmlWriter};
