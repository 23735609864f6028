//! What the generated bindings say about each operation.

use super::{ReadXml, WriteXml};

/// One operation of the service, as its WSDL describes it.
///
/// The bindings generator implements this for a marker type per operation (see
/// [`crate::bindings::operations`]); the client uses it to build the envelope, choose the action
/// and recognise the answer, so no operation name is written by hand anywhere else.
pub trait Operation {
    /// The document/literal wrapper element sent in the SOAP body, written with its generated
    /// [`WriteXml`]. (Generated types also derive yaserde's traits, for callers who want them;
    /// the client does not need them.)
    type Request: WriteXml;
    /// The wrapper element expected back in the SOAP body, read with its generated
    /// [`ReadXml`].
    type Response: ReadXml;

    /// The operation's name in the WSDL port type.
    const NAME: &'static str;
    /// Namespace URI of the request and response wrapper elements.
    const NAMESPACE: &'static str;
    /// Local name of the request wrapper element.
    const REQUEST_ELEMENT: &'static str;
    /// Local name of the response wrapper element.
    const RESPONSE_ELEMENT: &'static str;
    /// The `soapAction` of the SOAP 1.1 binding, if the WSDL has one.
    const SOAP11_ACTION: Option<&'static str>;
    /// The `soapAction` of the SOAP 1.2 binding, if the WSDL has one.
    const SOAP12_ACTION: Option<&'static str>;
}
