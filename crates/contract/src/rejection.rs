//! The answer a contract server gives a request it did not carry out: a rejected request in
//! the request's own protocol, which the client reads as "this changed nothing".
//!
//! Used when no cassette matches a request (replay) and when the recording proxy could not
//! forward a request at all (record). Both are facts about this server's own handling, so
//! they are said in the words the client already trusts from the service it talks to; no
//! marker the client would have to learn, and could be fooled by, is added.

use http::StatusCode;
use instamed_soap::Protocol;

/// An answer refusing a request, ready to send.
#[derive(Debug, Clone)]
pub(crate) struct Rejection {
    /// HTTP status, as ASP.NET gives it for the protocol.
    pub(crate) status: StatusCode,
    /// `content-type` and nothing else.
    pub(crate) headers: Vec<(String, String)>,
    /// The fault, the NVP error pairs or the JSON `Message`.
    pub(crate) body: Vec<u8>,
}

/// A client fault in the request's SOAP version (`soap:Client`, `soap12:Sender`), NVP error
/// pairs with a code in the 400s, or for REST a 400 with a JSON `Message`: each read by the
/// client as a rejected request, which changed nothing. `why` is shown to the user.
pub(crate) fn answer(protocol: Option<Protocol>, why: &str) -> Rejection {
    if protocol == Some(Protocol::Rest) {
        let body = serde_json::json!({ "Message": why }).to_string();
        return Rejection {
            status: StatusCode::BAD_REQUEST,
            headers: vec![("content-type".into(), instamed_soap::rest::JSON.into())],
            body: body.into_bytes(),
        };
    }
    let escaped = instamed_soap::soap::escaped(why);
    let (content_type, body) = match protocol {
        Some(Protocol::Nvp) => {
            let body = form_urlencoded::Serializer::new(String::new())
                .append_pair("errorCode", "404")
                .append_pair("errorMessage", why)
                .finish();
            ("application/x-www-form-urlencoded", body)
        }
        Some(Protocol::Soap12) => (
            "application/soap+xml; charset=utf-8",
            format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap12:Envelope xmlns:soap12=\"http://www.w3.org/2003/05/soap-envelope\"><soap12:Body><soap12:Fault><soap12:Code><soap12:Value>soap12:Sender</soap12:Value></soap12:Code><soap12:Reason><soap12:Text xml:lang=\"en\">{escaped}</soap12:Text></soap12:Reason></soap12:Fault></soap12:Body></soap12:Envelope>"
            ),
        ),
        _ => (
            "text/xml; charset=utf-8",
            format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>{escaped}</faultstring></soap:Fault></soap:Body></soap:Envelope>"
            ),
        ),
    };
    // As ASP.NET answers: NVP errors with 200, SOAP 1.2 sender faults with 400, SOAP 1.1 with 500.
    let status = match protocol {
        Some(Protocol::Nvp) => StatusCode::OK,
        Some(Protocol::Soap12) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    Rejection {
        status,
        headers: vec![("content-type".into(), content_type.into())],
        body: body.into_bytes(),
    }
}

/// The answer to a request signed with other credentials than a replaying server was told to
/// expect: InstaMed's own refused sign-in, as recorded (`…-authentication-refused.cassette`),
/// which the client reads as refused credentials and nothing done. IIS's 401 page and its
/// Basic challenge for SOAP and NVP; ASP.NET Web API's JSON message for REST.
pub(crate) fn refused_sign_in(protocol: Option<Protocol>) -> Rejection {
    if protocol == Some(Protocol::Rest) {
        return Rejection {
            status: StatusCode::UNAUTHORIZED,
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: br#"{"Message":"Authorization has been denied for this request."}"#.to_vec(),
        };
    }
    Rejection {
        status: StatusCode::UNAUTHORIZED,
        headers: vec![
            ("content-type".into(), "text/html; charset=utf-8".into()),
            ("www-authenticate".into(), "Basic realm=\"InstaMed\"".into()),
        ],
        body: b"<!DOCTYPE html><html><head><title>401 - Unauthorized: Access is denied due to \
invalid credentials.</title></head><body><h1>Server Error in '/payment' Application.</h1><h2>\
<i>401 - Unauthorized: Access is denied due to invalid credentials.</i></h2><p>You do not have \
permission to view this directory or page using the credentials that you supplied.</p></body>\
</html>"
            .to_vec(),
    }
}
