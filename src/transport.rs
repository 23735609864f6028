//! HTTP/1.1 over rustls, with a small keep-alive pool that knows whether a request left.
//!
//! hyper-util's pooled client cannot say whether a failed request was written to the socket. With
//! money at stake that is the one thing a caller must know, so connections are driven directly
//! through `hyper::client::conn::http1`: `try_send_request` hands back a request that was never
//! written, which makes a stale pooled connection safe to replace and every other failure after
//! that point an *outcome unknown*.
//!
//! That leaves one race: a request written into a connection the server is closing as it
//! arrives may have been read, and its outcome is unknown. Servers close idle connections after
//! a while (IIS, in front of InstaMed's ASMX service, after 120 s by default), so the pool gives
//! up a connection idle for longer than its own, shorter, expiry, and that race is not run.

use std::error::Error as StdError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use crate::proxy::ProxyConnector;

use crate::timer::Timer;

pub(crate) use crate::error::BoxError;

/// An answer read whole.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    /// The same answer as an `http::Response`, the call layer's currency.
    pub fn into_http(self) -> http::Response<Bytes> {
        let mut answer = http::Response::new(self.body);
        *answer.status_mut() = self.status;
        *answer.headers_mut() = self.headers;
        answer
    }
}

/// Why an exchange failed, and so whether the request may have reached the server.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No connection: DNS, TCP connect or the HTTP handshake. Nothing was sent.
    Connect(BoxError),
    /// The TLS handshake failed. Nothing was sent.
    Tls(BoxError),
    /// Writing the request or reading the answer failed.
    Io { sent: bool, source: BoxError },
    /// The answer is larger than the configured cap.
    TooLarge { limit: usize, status: u16 },
    /// The deadline passed.
    Timeout { sent: bool },
}

/// Connection settings fixed when the client is built.
pub(crate) struct Settings {
    /// Where every connection goes: the endpoint's scheme, host and port. Requests name only
    /// their path (origin-form).
    pub origin: Uri,
    pub connector: Connector,
    pub max_idle: usize,
    /// How long a connection may sit idle and still be used; `None` for as long as it is open.
    pub idle_timeout: Option<Duration>,
    pub max_response_bytes: usize,
    pub timeout: Duration,
    /// Keeps each request's deadline, and the clock idle connections expire on.
    pub timer: Arc<dyn Timer>,
}

/// How connections are opened: straight to the service, or through an HTTP CONNECT tunnel.
/// Either way TLS to the service runs end to end, and the connection is ready for HTTP.
#[derive(Clone)]
pub(crate) enum Connector {
    Direct(HttpsConnector<HttpConnector>),
    Tunnel(Box<HttpsConnector<ProxyConnector>>),
}

impl Connector {
    async fn connect(&self, origin: Uri) -> Result<MaybeHttpsStream<TokioIo<TcpStream>>, BoxError> {
        match self {
            Self::Direct(connector) => connector.clone().call(origin).await,
            Self::Tunnel(connector) => HttpsConnector::clone(connector).call(origin).await,
        }
    }
}

/// Sends requests to one origin over pooled HTTP/1.1 connections.
pub(crate) struct Transport {
    settings: Settings,
    /// Idle connections, in the order they went idle (the last one is the freshest).
    idle: Mutex<Vec<Idle>>,
}

/// A pooled connection, and since when it has been idle.
struct Idle {
    sender: SendRequest<Full<Bytes>>,
    since: Instant,
}

impl Transport {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Sends `request` and reads the whole answer, within the deadline.
    pub async fn send(&self, request: Request<Full<Bytes>>) -> Result<Response, Failure> {
        let sent = AtomicBool::new(false);
        let deadline = self.settings.timer.sleep(self.settings.timeout);
        tokio::select! {
            biased;
            result = self.exchange(request, &sent) => result,
            () = deadline => Err(Failure::Timeout {
                sent: sent.load(Ordering::Acquire),
            }),
        }
    }

    async fn exchange(
        &self,
        mut request: Request<Full<Bytes>>,
        sent: &AtomicBool,
    ) -> Result<Response, Failure> {
        loop {
            let (mut sender, reused) = match self.checkout() {
                Some(sender) => (sender, true),
                // Boxed: opening a connection (TCP, TLS handshake) is a future of over 2 KiB,
                // which inline would make every request's future that much larger, and each
                // move of it on the way down that much dearer. It runs once per connection,
                // so its one allocation is nothing beside the handshake.
                None => (Box::pin(self.connect()).await?, false),
            };
            if let Err(error) = sender.ready().await {
                if reused {
                    continue; // the server closed it while idle
                }
                return Err(Failure::Connect(error.into()));
            }
            sent.store(true, Ordering::Release);
            let response = match sender.try_send_request(request).await {
                Ok(response) => response,
                Err(mut error) => match error.take_message() {
                    Some(unsent) if reused => {
                        sent.store(false, Ordering::Release);
                        request = unsent;
                        continue;
                    }
                    unsent => {
                        return Err(Failure::Io {
                            sent: unsent.is_none(),
                            source: error.into_error().into(),
                        });
                    }
                },
            };
            let response = self.read(response).await?;
            if !sender.is_closed() {
                self.checkin(sender);
            }
            return Ok(response);
        }
    }

    async fn read(
        &self,
        response: http::Response<hyper::body::Incoming>,
    ) -> Result<Response, Failure> {
        let limit = self.settings.max_response_bytes;
        let status = response.status().as_u16();
        let declared = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared.is_some_and(|length| length > limit as u64) {
            return Err(Failure::TooLarge { limit, status });
        }
        let (parts, mut body) = response.into_parts();
        let body = gather(&mut body, limit)
            .await
            .map_err(|failure| match failure {
                Gathered::TooLarge => Failure::TooLarge { limit, status },
                Gathered::Io(source) => Failure::Io { sent: true, source },
            })?;
        Ok(Response {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, Failure> {
        let io = self
            .settings
            .connector
            .connect(self.settings.origin.clone())
            .await
            .map_err(|error| {
                if caused_by_tls(error.as_ref()) {
                    Failure::Tls(error)
                } else {
                    Failure::Connect(error)
                }
            })?;
        let (sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|error| Failure::Connect(error.into()))?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
        Ok(sender)
    }

    /// The freshest idle connection that is still open and has not expired. Expired ones are
    /// dropped, which closes them.
    fn checkout(&self) -> Option<SendRequest<Full<Bytes>>> {
        let now = self.settings.timer.now();
        let mut idle = self.idle();
        while let Some(connection) = idle.pop() {
            if self.expired(&connection, now) {
                // The rest went idle earlier still.
                idle.clear();
                return None;
            }
            if !connection.sender.is_closed() {
                return Some(connection.sender);
            }
        }
        None
    }

    fn checkin(&self, sender: SendRequest<Full<Bytes>>) {
        let now = self.settings.timer.now();
        let mut idle = self.idle();
        if idle.len() >= self.settings.max_idle {
            // Room made from expired connections only: a fresh one is worth no more than a
            // live one already kept.
            idle.retain(|connection| !self.expired(connection, now));
        }
        if idle.len() < self.settings.max_idle {
            idle.push(Idle { sender, since: now });
        }
    }

    fn expired(&self, connection: &Idle, now: Instant) -> bool {
        self.settings
            .idle_timeout
            .is_some_and(|timeout| now.saturating_duration_since(connection.since) >= timeout)
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        // A list of connections stays consistent whatever panicked while holding it.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Why a body could not be gathered.
#[derive(Debug)]
enum Gathered {
    /// It holds more than the limit.
    TooLarge,
    Io(BoxError),
}

/// The whole of `body`'s data, refused once it passes `limit` bytes (trailers are dropped).
/// What `Limited` and `collect` did, without their queue of chunks: an answer nearly always
/// comes in one data frame, which is kept as it is, with no copy and no allocation.
async fn gather<B>(body: &mut B, limit: usize) -> Result<Bytes, Gathered>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    let mut first = Bytes::new();
    let mut more: Option<BytesMut> = None;
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| Gathered::Io(error.into()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len());
        if total > limit {
            return Err(Gathered::TooLarge);
        }
        if data.is_empty() {
            continue;
        }
        match &mut more {
            Some(joined) => joined.extend_from_slice(&data),
            None if first.is_empty() => first = data,
            None => {
                let mut joined = BytesMut::with_capacity(total);
                joined.extend_from_slice(&first);
                joined.extend_from_slice(&data);
                more = Some(joined);
            }
        }
    }
    Ok(more.map_or(first, BytesMut::freeze))
}

/// Whether a connect error came from the TLS layer (rustls errors travel inside `io::Error`s).
fn caused_by_tls(error: &(dyn StdError + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<rustls::Error>() {
            return true;
        }
        // `io::Error::source` skips the error it wraps, so step into it by hand.
        current = match error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => error.source(),
        };
    }
    false
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use hyper::body::Frame;

    use super::*;

    /// A body that hands out the frames it was given, one a poll.
    struct Frames(VecDeque<Result<Frame<Bytes>, std::io::Error>>);

    impl hyper::body::Body for Frames {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            Poll::Ready(self.0.pop_front())
        }
    }

    fn data(chunks: &[&str]) -> Frames {
        Frames(
            chunks
                .iter()
                .map(|chunk| Ok(Frame::data(Bytes::copy_from_slice(chunk.as_bytes()))))
                .collect(),
        )
    }

    async fn gathered(mut body: Frames, limit: usize) -> Result<Bytes, Gathered> {
        gather(&mut body, limit).await
    }

    #[tokio::test]
    async fn a_body_is_gathered_whole_in_any_chunks_up_to_the_limit() {
        for chunks in [
            &[][..],
            &[""],
            &["<a/>"],
            &["", "<a/>", ""],
            &["<a", "/", ">"],
            &["<a>", "", "x", "</a>"],
        ] {
            let whole: String = chunks.concat();
            for limit in [whole.len(), whole.len() + 1, usize::MAX] {
                let body = gathered(data(chunks), limit).await;
                assert_eq!(body.ok().as_deref(), Some(whole.as_bytes()), "{chunks:?}");
            }
            if !whole.is_empty() {
                let refused = gathered(data(chunks), whole.len() - 1).await;
                assert!(matches!(refused, Err(Gathered::TooLarge)), "{chunks:?}");
            }
        }
    }

    #[tokio::test]
    async fn trailers_are_passed_over_and_errors_are_io() {
        let mut frames = data(&["<a", "/>"]);
        frames.0.insert(1, Ok(Frame::trailers(HeaderMap::new())));
        assert_eq!(
            gathered(frames, 4).await.ok().as_deref(),
            Some(&b"<a/>"[..])
        );

        let mut frames = data(&["<a"]);
        frames.0.push_back(Err(std::io::Error::other("cut")));
        assert!(matches!(gathered(frames, 100).await, Err(Gathered::Io(_))));
    }
}
