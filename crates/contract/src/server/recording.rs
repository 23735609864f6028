//! The recording proxy's handler: each request relayed upstream, and the exchange written as a
//! cassette, secrets redacted.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use bytes::Bytes;
use http::header::{HOST, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use instamed_soap::sensitive::redacted_url;
use instamed_soap::{Client, Error};
use instamed_soap_listener::{Abort, Handler};

use super::{Line, internal_error, operation_of, refused, seen, target_of};
use crate::cassette::Cassette;
use crate::names::{file_name, loggable};
use crate::record::{self, SeenRequest};
use crate::rejection;
use crate::store::save_numbered;

pub(super) struct Recording {
    pub(super) client: Client,
    pub(super) origin: Uri,
    pub(super) dir: PathBuf,
    /// The number the next cassette tries first.
    pub(super) next: Mutex<usize>,
    /// Lay bodies out for review (see [`pretty`](crate::pretty)).
    pub(super) pretty: bool,
}

impl Recording {
    /// Writes `cassette` under the next free number (see [`save_numbered`]).
    fn save(&self, cassette: &Cassette) -> std::io::Result<PathBuf> {
        let mut next = self
            .next
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        save_numbered(&self.dir, &mut next, cassette)
    }

    /// The answer to a request the upstream did not answer. When the request certainly never
    /// left this proxy (no connection, no TLS handshake), nothing happened upstream, and the
    /// client is told so as the service itself tells of a request it did not carry out: a
    /// rejection (see [`rejection`]). When it may have reached the upstream, nothing is known,
    /// and a 502 says exactly that: the client reads it as an unknown outcome, which it is.
    fn not_relayed(
        &self,
        seen: &SeenRequest<'_>,
        error: &Error,
        started: Instant,
    ) -> Response<Full<Bytes>> {
        let line = Line::of(seen, started);
        if error.never_sent() {
            let why = format!(
                "not forwarded: the recording proxy cannot reach its upstream {} ({}); \
                 nothing was sent to it",
                redacted_url(&self.origin.to_string()),
                error.report()
            );
            let rejection = rejection::answer(seen.protocol(), &why);
            tracing::error!(
                method = %line.method,
                path = %line.path,
                protocol = %line.protocol,
                operation = %operation_of(seen),
                status = rejection.status.as_u16(),
                latency_ms = line.latency_ms,
                error = %error.report(),
                "could not reach the upstream: nothing was forwarded; answered with a \
                 rejection and recorded nothing"
            );
            let mut response = Response::builder().status(rejection.status);
            for (name, value) in &rejection.headers {
                response = response.header(name.as_str(), value.as_str());
            }
            return response
                .body(Full::new(Bytes::from(rejection.body)))
                .unwrap_or_else(|_| internal_error("cannot write the rejection"));
        }
        tracing::error!(
            method = %line.method,
            path = %line.path,
            protocol = %line.protocol,
            operation = %operation_of(seen),
            status = StatusCode::BAD_GATEWAY.as_u16(),
            latency_ms = line.latency_ms,
            error = %error.report(),
            "the upstream failed after the request may have reached it; answered 502 and \
             recorded nothing"
        );
        let mut response = Response::new(Full::new(Bytes::from(format!(
            "upstream failed after the request may have reached it: {}",
            error.report()
        ))));
        *response.status_mut() = StatusCode::BAD_GATEWAY;
        response
    }
}

impl Handler for Recording {
    async fn handle(&self, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Abort> {
        let started = Instant::now();
        let (parts, body) = match seen(request).await {
            Ok(seen) => seen,
            Err(answer) => return refused(answer, started),
        };
        // The client connects to the upstream; the request names the path alone.
        let target = target_of(&parts);
        let Ok(uri) = target.parse::<Uri>() else {
            return Ok(internal_error("cannot build the upstream address"));
        };
        let mut forward = Request::builder().method(parts.method.clone()).uri(uri);
        for (name, value) in &parts.headers {
            if !is_hop_by_hop(name.as_str()) && name != HOST {
                forward = forward.header(name, value);
            }
        }
        if let Some(authority) = self
            .origin
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        {
            forward = forward.header(HOST, authority);
        }
        let Ok(forward) = forward.body(body.clone()) else {
            return Ok(internal_error("cannot build the upstream request"));
        };
        let answer = match self.client.execute(forward).await {
            Ok(answer) => answer,
            Err(error) => {
                let seen = SeenRequest {
                    method: &parts.method,
                    target: &target,
                    headers: &parts.headers,
                    body: &body,
                };
                return Ok(self.not_relayed(&seen, &error, started));
            }
        };

        let seen = SeenRequest {
            method: &parts.method,
            target: &target,
            headers: &parts.headers,
            body: &body,
        };
        let mut cassette =
            record::cassette(&seen, answer.status(), answer.headers(), answer.body());
        if self.pretty {
            cassette = cassette.pretty_printed();
        }
        let saved = self.save(&cassette);
        // Protocol and operation as the cassette has them: read from what was stored, after
        // the secrets were taken out.
        let line = Line::of(&seen, started);
        let (protocol, verdict) = (cassette.protocol.as_str(), cassette.expect.as_deref());
        match &saved {
            Ok(file) => tracing::info!(
                method = %line.method,
                path = %line.path,
                protocol = %protocol,
                operation = %loggable(&cassette.operation),
                verdict = %verdict.unwrap_or("-"),
                status = answer.status().as_u16(),
                latency_ms = line.latency_ms,
                cassette = %file_name(file),
                "recorded"
            ),
            Err(error) => tracing::error!(
                method = %line.method,
                path = %line.path,
                protocol = %protocol,
                operation = %loggable(&cassette.operation),
                verdict = %verdict.unwrap_or("-"),
                status = answer.status().as_u16(),
                latency_ms = line.latency_ms,
                %error,
                dir = %self.dir.display(),
                "relayed the answer but could not write the cassette"
            ),
        }

        let mut response = Response::builder().status(answer.status());
        for (name, value) in answer.headers() {
            if !is_hop_by_hop(name.as_str()) && name != http::header::CONTENT_LENGTH {
                response = response.header(name, value);
            }
        }
        Ok(response
            .body(Full::new(answer.body().clone()))
            .unwrap_or_else(|_| internal_error("cannot relay the answer")))
    }
}

fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
    )
}

/// Checks that `client` can reach the upstream at `origin` before the proxy takes requests: a
/// connection and, over HTTPS, a TLS handshake with the trust given, so that a setup mistake
/// (an untrusted certificate, a wrong port) is said at start rather than answered to a void.
/// A `HEAD` of `path` carries it: it changes nothing, and any answer proves the way is open.
/// Only a failure that kept the request from leaving counts, the rule by which a forwarded
/// request is answered as not forwarded.
pub(super) async fn reach(client: &Client, origin: &Uri, path: &str) -> Result<(), Error> {
    let mut probe = Request::builder().method(http::Method::HEAD).uri(path);
    if let Some(authority) = origin
        .authority()
        .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    {
        probe = probe.header(HOST, authority);
    }
    let probe = probe
        .body(Bytes::new())
        .map_err(|error| Error::InvalidConfig {
            reason: format!("cannot build a request to the upstream path {path:?}"),
            source: Some(Box::new(error)),
        })?;
    match client.execute(probe).await {
        Err(error) if error.never_sent() => Err(error),
        _ => Ok(()),
    }
}
