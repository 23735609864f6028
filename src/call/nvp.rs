//! NVP: form posts to `NVP.aspx`, answered with form-encoded pairs.

use bytes::Bytes;
use http::{HeaderValue, Request, Response};

use super::{Call, PostHeaders, Route, check_answer, excerpt};
use crate::error::{AnswerProblem, Error};
use crate::nvp::{self, NvpProblem};
use crate::refund::{self, RefundReceipt, RefundRequest};
use crate::void::{self, VoidReceipt, VoidRequest};

/// NVP along one route (the `NVP.aspx` address).
#[derive(Debug, Clone)]
pub struct Nvp {
    route: Route,
    /// Every form post's headers, made once: they never change.
    headers: PostHeaders,
}

impl Nvp {
    /// NVP requests along `route`.
    pub fn new(route: Route) -> Self {
        let content_type = HeaderValue::from_static("application/x-www-form-urlencoded");
        let headers = route.headers(content_type, None);
        Self { route, headers }
    }

    /// The HTTP request that posts `pairs` as a form.
    pub fn form_request<'a>(
        &self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Request<Bytes> {
        self.route
            .post_with(self.headers.0.clone(), Bytes::from(nvp::encode(pairs)))
    }

    /// Reads a whole HTTP answer as NVP pairs, or says why it cannot be read. NVP.aspx is an
    /// ASP.NET page: its media type says nothing, so the body is judged.
    pub fn read<'a>(&self, answer: &'a Response<Bytes>) -> Result<nvp::NvpAnswer<'a>, Error> {
        check_answer(answer)?;
        nvp::decode(answer.body()).map_err(|problem| unreadable(answer, &problem))
    }
}

/// The error for an answer whose pairs cannot be believed (or that has none).
pub(crate) fn unreadable(answer: &Response<Bytes>, problem: &NvpProblem) -> Error {
    let status = answer.status().as_u16();
    let body = answer.body();
    match problem {
        NvpProblem::NoPairs if !answer.status().is_success() => Error::HttpStatus {
            status,
            body_excerpt: excerpt(body),
        },
        NvpProblem::NoPairs if body.trim_ascii_start().starts_with(b"<") => {
            Error::malformed(status, AnswerProblem::Html)
        }
        problem => Error::malformed(status, AnswerProblem::Inconsistent(problem.to_string())),
    }
}

impl Call<VoidRequest> for Nvp {
    fn operation(&self) -> &'static str {
        "Void"
    }

    fn request(&self, request: &VoidRequest) -> Result<Request<Bytes>, Error> {
        Ok(self.form_request(request.to_nvp()))
    }

    fn judge(&self, request: &VoidRequest, answer: &Response<Bytes>) -> Result<VoidReceipt, Error> {
        let pairs = self.read(answer)?;
        void::judge_nvp(request, &pairs, answer.status().as_u16())
            .map_err(|problem| unreadable(answer, &problem))?
    }
}

impl Call<RefundRequest> for Nvp {
    fn operation(&self) -> &'static str {
        "SimpleRefund"
    }

    fn request(&self, request: &RefundRequest) -> Result<Request<Bytes>, Error> {
        let amount = request.amount().to_string();
        Ok(self.form_request(request.to_nvp(&amount)))
    }

    fn judge(
        &self,
        request: &RefundRequest,
        answer: &Response<Bytes>,
    ) -> Result<RefundReceipt, Error> {
        let pairs = self.read(answer)?;
        refund::judge_nvp(request, &pairs, answer.status().as_u16())
            .map_err(|problem| unreadable(answer, &problem))?
    }
}
