//! SOAP 1.1 and 1.2 as ASP.NET speaks them: versions, envelopes and faults.

/// Applies the macro `$each` to the simple types whose XML text is what their `FromStr` reads
/// and their `Display` writes (`bool` aside: it reads `1` and `0` too). One list, so that the
/// reader and the writer cannot disagree on which types a generated field may hold.
macro_rules! text_scalars {
    ($each:ident) => {
        $each! {
            i8, i16, i32, i64, u8, u16, u32, u64, f32, f64,
            crate::xsd::Decimal, crate::xsd::DateTime, crate::xsd::Base64Binary, crate::xsd::Guid,
        }
    };
}

mod envelope;
mod escape;
mod fault;
mod operation;
mod read;
mod shape;
mod version;
mod write;

pub use envelope::{Answer, UnreadableEnvelope, decode, encode, encode_response};
pub(crate) use envelope::{decode_element, encode_element};
pub use escape::{escaped, escaped_attribute, push_escaped};
pub use fault::{DetailEntry, FaultCode, MAX_DETAIL_ENTRIES, SoapFault};
pub use operation::Operation;
pub(crate) use read::resolve_references;
pub use read::{ReadError, ReadXml, XmlReader};
pub use shape::{Child, Content, Occurs, Shape};
pub use version::SoapVersion;
pub use write::{WriteXml, XmlWriter};
