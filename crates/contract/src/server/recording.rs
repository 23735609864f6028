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
use instamed_soap::Client;
use instamed_soap_listener::{Abort, Handler};

use super::{Line, file_name, internal_error, loggable, operation_of, refused, seen, target_of};
use crate::cassette::Cassette;
use crate::record::{self, SeenRequest};
use crate::store::save_numbered;

pub(super) struct Recording {
    pub(super) client: Client,
    pub(super) origin: Uri,
    pub(super) dir: PathBuf,
    /// The number the next cassette tries first.
    pub(super) next: Mutex<usize>,
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
                let line = Line::of(&seen, started);
                tracing::error!(
                    method = %line.method,
                    path = %line.path,
                    protocol = %line.protocol,
                    operation = %operation_of(&seen),
                    status = StatusCode::BAD_GATEWAY.as_u16(),
                    latency_ms = line.latency_ms,
                    error = %error.report(),
                    "the upstream failed; answered 502 and recorded nothing"
                );
                let mut response = Response::new(Full::new(Bytes::from(format!(
                    "upstream failed: {}",
                    error.report()
                ))));
                *response.status_mut() = StatusCode::BAD_GATEWAY;
                return Ok(response);
            }
        };

        let seen = SeenRequest {
            method: &parts.method,
            target: &target,
            headers: &parts.headers,
            body: &body,
        };
        let cassette = record::cassette(&seen, answer.status(), answer.headers(), answer.body());
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
