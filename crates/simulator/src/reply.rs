//! Building HTTP answers.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};

use instamed_soap::soap::escaped;

/// An answer, body in hand (so that a fault can still cut it before it is sent).
pub(crate) type HttpResponse = Response<Bytes>;

/// The media type of NVP answers and of the admin endpoints.
pub(crate) const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";
/// The media type of help and error pages.
pub(crate) const HTML: &str = "text/html; charset=utf-8";

/// An answer with a body of `content_type`.
pub(crate) fn reply(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> HttpResponse {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// An answer with no body (204, say).
pub(crate) fn empty(status: StatusCode) -> HttpResponse {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    response
}

/// A small HTML page, as IIS and ASP.NET write for errors.
pub(crate) fn page(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    let (title, message) = (escaped(title), escaped(message));
    reply(
        status,
        HTML,
        format!(
            "<!DOCTYPE html><html><head><title>{title}</title></head>\
             <body><h1>Server Error in '/payment' Application.</h1><h2><i>{title}</i></h2>\
             <p>{message}</p></body></html>"
        ),
    )
}
