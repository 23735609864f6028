//! SOAP 1.1 and 1.2 to `service.asmx`: any generated operation, and the void on top of it.

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderName, HeaderValue, Request, Response};

use super::{Call, PostHeaders, Route, check_answer, excerpt};
use crate::bindings::operations::{DoCreditCardSecondaryVoid, DoCreditCardSimpleRefund};
use crate::domain::trimmed;
use crate::error::{AnswerProblem, Error, config, config_with};
use crate::refund::{self, RefundReceipt, RefundRequest};
use crate::soap::{self, Answer, Operation, ReadXml, SoapVersion};
use crate::void::{self, SoapVoid, SoapVoidResponse, VoidReceipt, VoidRequest};

/// SOAP 1.1's action header (header names are case-blind; http keeps them in lower case).
const SOAP_ACTION: HeaderName = HeaderName::from_static("soapaction");

/// The content headers of one operation's requests: `Content-Type`, and SOAP 1.1's action.
type ContentHeaders = (HeaderValue, Option<(HeaderName, HeaderValue)>);

/// SOAP in one version along one route.
#[derive(Debug, Clone)]
pub struct Soap {
    version: SoapVersion,
    route: Route,
    /// The void's headers, made once: a void is the hot path, and its headers never change
    /// (`None` when the WSDL has no binding for this version; each void says why).
    void_headers: Option<PostHeaders>,
}

impl Soap {
    /// SOAP `version` requests along `route`.
    pub fn new(version: SoapVersion, route: Route) -> Self {
        let void_headers = content_headers::<DoCreditCardSecondaryVoid>(version)
            .ok()
            .map(|(content_type, soap_action)| route.headers(content_type, soap_action));
        Self {
            version,
            route,
            void_headers,
        }
    }

    /// The SOAP version spoken.
    pub fn version(&self) -> SoapVersion {
        self.version
    }

    /// The HTTP request that calls operation `O` with its generated request element.
    pub fn operation_request<O: Operation>(
        &self,
        request: &O::Request,
    ) -> Result<Request<Bytes>, Error> {
        let (content_type, soap_action) = content_headers::<O>(self.version)?;
        let body = Bytes::from(soap::encode::<O>(self.version, request));
        Ok(self.route.post(content_type, soap_action, body))
    }

    /// Reads a whole HTTP answer as operation `O`'s response element. A fault is
    /// [`Error::Fault`]; no business rule is applied.
    pub fn read<O: Operation>(&self, answer: &Response<Bytes>) -> Result<O::Response, Error> {
        self.read_element(answer, O::NAMESPACE, O::RESPONSE_ELEMENT)
    }

    /// [`read`](Self::read) with the response element `{namespace}local` read as a `T`, a type
    /// other than the generated one (see [`soap::decode_element`]).
    fn read_element<T: ReadXml>(
        &self,
        answer: &Response<Bytes>,
        namespace: &'static str,
        local: &'static str,
    ) -> Result<T, Error> {
        check_answer(answer)?;
        let status = answer.status().as_u16();
        let body = answer.body();
        let http_error = |body: &[u8]| Error::HttpStatus {
            status,
            body_excerpt: excerpt(body),
        };
        let success = answer.status().is_success();
        let media_type = answer
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map_or("", |value| {
                // The media type is what comes before any parameter (`; charset=utf-8`).
                let end = memchr::memchr(b';', value.as_bytes()).unwrap_or(value.len());
                trimmed(&value[..end])
            });
        let is = |name: &str| media_type.eq_ignore_ascii_case(name);
        if !(is("text/xml") || is("application/soap+xml") || is("application/xml")) {
            let problem = if !success {
                return Err(http_error(body));
            } else if is("text/html") {
                AnswerProblem::Html
            } else {
                AnswerProblem::ContentType(media_type.to_ascii_lowercase())
            };
            return Err(Error::malformed(status, problem));
        }
        match soap::decode_element(self.version, namespace, local, body) {
            Ok(Answer::Result(result)) if success => Ok(result),
            Ok(Answer::Result(_)) => Err(Error::malformed(
                status,
                AnswerProblem::Inconsistent(format!("a result came with HTTP {status}")),
            )),
            Ok(Answer::Fault(mut fault)) => {
                fault.http_status = Some(status);
                Err(Error::Fault(Box::new(fault)))
            }
            Err(problem) if success || status == 500 => {
                Err(Error::malformed(status, AnswerProblem::Envelope(problem)))
            }
            Err(_) => Err(http_error(body)),
        }
    }
}

impl Call<VoidRequest> for Soap {
    fn operation(&self) -> &'static str {
        DoCreditCardSecondaryVoid::NAME
    }

    fn request(&self, request: &VoidRequest) -> Result<Request<Bytes>, Error> {
        let Some(headers) = &self.void_headers else {
            return self.operation_request::<DoCreditCardSecondaryVoid>(&request.to_soap());
        };
        let body = soap::encode_element(
            self.version,
            DoCreditCardSecondaryVoid::NAMESPACE,
            DoCreditCardSecondaryVoid::REQUEST_ELEMENT,
            &SoapVoid(request),
        );
        Ok(self.route.post_with(headers.0.clone(), Bytes::from(body)))
    }

    fn judge(&self, request: &VoidRequest, answer: &Response<Bytes>) -> Result<VoidReceipt, Error> {
        let status = answer.status().as_u16();
        let result = self.read_element::<SoapVoidResponse>(
            answer,
            DoCreditCardSecondaryVoid::NAMESPACE,
            DoCreditCardSecondaryVoid::RESPONSE_ELEMENT,
        );
        void::judge_soap(request, result, status, self.version)
    }
}

impl Call<RefundRequest> for Soap {
    fn operation(&self) -> &'static str {
        DoCreditCardSimpleRefund::NAME
    }

    fn request(&self, request: &RefundRequest) -> Result<Request<Bytes>, Error> {
        self.operation_request::<DoCreditCardSimpleRefund>(&request.to_soap())
    }

    fn judge(
        &self,
        request: &RefundRequest,
        answer: &Response<Bytes>,
    ) -> Result<RefundReceipt, Error> {
        let status = answer.status().as_u16();
        let result = self.read::<DoCreditCardSimpleRefund>(answer);
        let protocol = match self.version {
            SoapVersion::Soap11 => crate::Protocol::Soap11,
            SoapVersion::Soap12 => crate::Protocol::Soap12,
        };
        refund::judge_soap(request, result, status, protocol)
    }
}

/// Operation `O`'s content headers in `version`, or why it cannot be called in it.
fn content_headers<O: Operation>(version: SoapVersion) -> Result<ContentHeaders, Error> {
    let action = match version {
        SoapVersion::Soap11 => O::SOAP11_ACTION,
        SoapVersion::Soap12 => O::SOAP12_ACTION,
    }
    .ok_or_else(|| config(format!("the WSDL has no {version} binding for {}", O::NAME)))?;
    let unfit = |e| config_with(format!("soapAction {action:?} cannot go in a header"), e);
    let content_type = HeaderValue::from_str(&version.content_type(action)).map_err(unfit)?;
    let soap_action = match version {
        SoapVersion::Soap11 => Some((
            SOAP_ACTION,
            HeaderValue::from_str(&format!("\"{action}\"")).map_err(unfit)?,
        )),
        SoapVersion::Soap12 => None,
    };
    Ok((content_type, soap_action))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::{Credentials, UserName};
    use crate::domain::{Outlet, TransactionId};

    /// The media type is what comes before the first `;`, trimmed, compared case-blind, as a
    /// `split(';')` read it before.
    #[test]
    fn the_media_type_is_read_before_its_parameters() {
        let endpoint: http::Uri = "https://example.test/payment/service.asmx".parse().unwrap();
        let credentials = Credentials::new("acct@clinic", "secret");
        let route = Route::new(&endpoint, &credentials, UserName::AccountId).unwrap();
        let soap = Soap::new(SoapVersion::Soap11, route);
        let body = format!(
            "<soap:Envelope xmlns:soap=\"{}\"><soap:Body><DoCreditCardSecondaryVoidResponse \
             xmlns=\"{}\"/></soap:Body></soap:Envelope>",
            SoapVersion::Soap11.envelope_namespace(),
            DoCreditCardSecondaryVoid::NAMESPACE
        );
        for content_type in [
            "text/xml",
            "TEXT/XML; charset=utf-8",
            " application/soap+xml ;action=\"x\"",
            "application/xml;",
            "text/html; charset=utf-8",
            "application/json ; q=1",
            " Text/Plain ",
            ";text/xml",
            "",
        ] {
            let answer = Response::builder()
                .status(200)
                .header(CONTENT_TYPE, content_type)
                .body(Bytes::from(body.clone()))
                .unwrap();
            let read = soap.read::<DoCreditCardSecondaryVoid>(&answer);
            let media_type = content_type.split(';').next().unwrap_or("").trim();
            let is = |name: &str| media_type.eq_ignore_ascii_case(name);
            if is("text/xml") || is("application/soap+xml") || is("application/xml") {
                assert!(read.is_ok(), "{content_type:?}: {read:?}");
            } else if is("text/html") {
                assert!(
                    matches!(&read, Err(Error::MalformedAnswer { problem, .. })
                        if matches!(**problem, AnswerProblem::Html)),
                    "{content_type:?}: {read:?}"
                );
            } else {
                let expected = media_type.to_ascii_lowercase();
                assert!(
                    matches!(&read, Err(Error::MalformedAnswer { problem, .. })
                        if matches!(&**problem, AnswerProblem::ContentType(found) if *found == expected)),
                    "{content_type:?}: {read:?}"
                );
            }
        }
    }

    /// The length goes with the request, last, as hyper would have added it, and is the
    /// body's; the other headers keep their order.
    #[test]
    fn a_void_carries_its_own_length_last() {
        let endpoint: http::Uri = "https://example.test/payment/service.asmx".parse().unwrap();
        let credentials = Credentials::new("acct@clinic", "secret");
        let route = Route::new(&endpoint, &credentials, UserName::AccountId).unwrap();
        for version in [SoapVersion::Soap11, SoapVersion::Soap12] {
            let soap = Soap::new(version, route.clone());
            for id in ["1", "EE52401813A74328AAA7D93319FF4383"] {
                let request = VoidRequest::new(
                    Outlet::new("123123123", "123", "123").unwrap(),
                    TransactionId::new(id).unwrap(),
                );
                let built = Call::<VoidRequest>::request(&soap, &request).unwrap();
                let names: Vec<&str> = built.headers().keys().map(|name| name.as_str()).collect();
                assert_eq!(names.last(), Some(&"content-length"), "{names:?}");
                assert_eq!(
                    names[..4],
                    ["host", "content-type", "user-agent", "authorization"]
                );
                let length = built.headers().get(http::header::CONTENT_LENGTH).unwrap();
                assert_eq!(length.to_str().unwrap(), built.body().len().to_string());
                assert_eq!(
                    built
                        .headers()
                        .get_all(http::header::CONTENT_LENGTH)
                        .iter()
                        .count(),
                    1
                );
            }
        }
    }
}
