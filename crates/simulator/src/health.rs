//! `GET /health`: whether the simulator is up, for a container's health check or a script
//! waiting for it to start.
//!
//! It needs no sign-in, because a probe carries no credentials, and is answered before fault
//! injection, because a probe asks about the process, not about the faults it was told to
//! inject. So that an unauthenticated caller learns nothing, the body is `ok` and nothing else:
//! no counts of payments, no configuration.

use http::header::{ALLOW, CACHE_CONTROL, HeaderValue};
use http::{Method, StatusCode};

use super::reply::{HttpResponse, empty, reply};

/// The path of the health check (matched without regard to case, as IIS matches paths).
pub(crate) const PATH: &str = "/health";

/// The answer when `path` is the health check's, `None` for every other path.
pub(crate) fn answer(method: &Method, path: &str) -> Option<HttpResponse> {
    if !path.eq_ignore_ascii_case(PATH) {
        return None;
    }
    let mut response = match *method {
        Method::GET | Method::HEAD => reply(StatusCode::OK, "text/plain; charset=utf-8", "ok\n"),
        _ => {
            let mut refused = empty(StatusCode::METHOD_NOT_ALLOWED);
            refused
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            refused
        }
    };
    // A cached "ok" would report a simulator that has since stopped.
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_health_path_is_answered_and_only_to_get_and_head() {
        assert!(answer(&Method::GET, "/payment/service.asmx").is_none());
        assert!(answer(&Method::GET, "/healthz").is_none());
        let ok = answer(&Method::GET, "/Health").expect("answered");
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(ok.body().as_ref(), b"ok\n");
        assert_eq!(
            answer(&Method::HEAD, PATH).map(|a| a.status()),
            Some(StatusCode::OK)
        );
        let post = answer(&Method::POST, PATH).expect("answered");
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(post.headers()[ALLOW], "GET, HEAD");
        assert!(post.body().is_empty());
    }
}
