//! The replaying server's handler: each request answered from the cassette that matches it.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use instamed_soap_listener::{Abort, Handler};

use super::{Line, internal_error, operation_of, refused, seen, target_of};
use crate::journal::{Entry, Journal};
use crate::login::ExpectedCredentials;
use crate::names::{file_name, loggable};
use crate::record::SeenRequest;
use crate::replay::{Replay, Replayed};

pub(super) struct Replaying {
    pub(super) replay: Replay,
    pub(super) journal: Arc<Journal>,
    pub(super) credentials: ExpectedCredentials,
}

impl Handler for Replaying {
    async fn handle(&self, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Abort> {
        let started = Instant::now();
        let (parts, body) = match seen(request).await {
            Ok(seen) => seen,
            Err(answer) => return refused(answer, started),
        };
        let read = SystemTime::now();
        let target = target_of(&parts);
        let request = SeenRequest {
            method: &parts.method,
            target: &target,
            headers: &parts.headers,
            body: &body,
        };
        let answer = if self.credentials.admits(&request) {
            self.replay.answer(&request)
        } else {
            Replayed::refused_sign_in(request.protocol())
        };
        let line = Line::of(&request, started);
        match &answer.cassette {
            Some(file) => {
                let cassette = self.replay.cassette(file);
                let verdict = cassette.and_then(|cassette| cassette.expect.as_deref());
                let operation = cassette.map_or_else(
                    || operation_of(&request),
                    |cassette| loggable(&cassette.operation),
                );
                tracing::info!(
                    method = %line.method,
                    path = %line.path,
                    protocol = %line.protocol,
                    operation = %operation,
                    verdict = %verdict.unwrap_or("-"),
                    status = answer.status.as_u16(),
                    latency_ms = line.latency_ms,
                    cassette = %file_name(file),
                    "replayed"
                );
            }
            None if answer.credentials_refused => tracing::warn!(
                method = %line.method,
                path = %line.path,
                protocol = %line.protocol,
                operation = %operation_of(&request),
                status = answer.status.as_u16(),
                latency_ms = line.latency_ms,
                "the request is not signed with the credentials expected; answered as a \
                 refused sign-in"
            ),
            // What differs is in the answer the client gets, not here: it may quote a value
            // of the request, which may be a secret.
            None => tracing::warn!(
                method = %line.method,
                path = %line.path,
                protocol = %line.protocol,
                operation = %operation_of(&request),
                status = answer.status.as_u16(),
                latency_ms = line.latency_ms,
                "no cassette matches the request; answered with the closest one's difference"
            ),
        }
        let operation = answer
            .cassette
            .as_deref()
            .and_then(|file| self.replay.cassette(file))
            .map(|cassette| loggable(&cassette.operation));
        self.journal
            .take(Entry::of(&request, &answer, operation, read));
        let mut response = Response::builder().status(answer.status);
        for (name, value) in &answer.headers {
            response = response.header(name.as_str(), value.as_str());
        }
        Ok(response
            .body(Full::new(Bytes::from(answer.body)))
            .unwrap_or_else(|_| internal_error("a recorded header is invalid")))
    }
}
