//! Cassettes of a client's own exchanges: a [`WireObserver`] that writes each exchange the
//! client made as the recording proxy writes what it relays ([`record::cassette`], with its
//! redaction, numbered files that never replace one another). A service built on the client
//! (the gateway's `--record DIR`) records what it sends upstream without a proxy in between.
//!
//! The observer sees each exchange after the client's own sweep (secret headers replaced whole,
//! its password and card numbers taken out); the recorder's redaction runs over it again before
//! anything is written. Files are written on a thread of their own, so that the client's call,
//! which the observer is part of, never waits for a disk.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use instamed_soap::observe::{WireExchange, WireObserver};

use crate::record::{self, SeenRequest};
use crate::store::{highest_number, save_numbered};

enum Job {
    Exchange(Box<WireExchange>),
    /// Answered once every exchange sent before it is written.
    Flush(mpsc::SyncSender<()>),
}

/// Writes every answered exchange of a client as a cassette in a directory; set it with
/// [`ClientBuilder::wire_observer`](instamed_soap::ClientBuilder::wire_observer). Clones
/// write to the same directory, through the same thread.
#[derive(Debug, Clone)]
pub struct Recorder {
    jobs: mpsc::Sender<Job>,
    dir: PathBuf,
}

impl Recorder {
    /// Records into `dir` (made if missing), numbering after the cassettes already there;
    /// `pretty` lays bodies out for review (see [`pretty`](crate::pretty)).
    pub fn start(dir: &Path, pretty: bool) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut next = highest_number(dir)? + 1;
        let (jobs, queue) = mpsc::channel::<Job>();
        let writing = dir.to_path_buf();
        std::thread::Builder::new()
            .name("cassette-writer".to_owned())
            .spawn(move || {
                for job in queue {
                    match job {
                        Job::Exchange(exchange) => write(&writing, &mut next, &exchange, pretty),
                        Job::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            })?;
        Ok(Self {
            jobs,
            dir: dir.to_path_buf(),
        })
    }

    /// The directory written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Waits until every exchange observed before this call is written (a service stopping
    /// calls it, so that its last exchanges are on disk before it exits).
    pub fn flush(&self) {
        let (done, written) = mpsc::sync_channel(1);
        if self.jobs.send(Job::Flush(done)).is_ok() {
            let _ = written.recv();
        }
    }
}

impl WireObserver for Recorder {
    fn exchange(&self, exchange: &WireExchange) {
        // An exchange without an answer makes no cassette: there is nothing to replay.
        if exchange.response.is_some() {
            let _ = self.jobs.send(Job::Exchange(Box::new(exchange.clone())));
        }
    }
}

fn write(dir: &Path, next: &mut usize, exchange: &WireExchange, pretty: bool) {
    let Some(response) = &exchange.response else {
        return;
    };
    let mut words = exchange.request.start.split(' ');
    let method = words
        .next()
        .and_then(|method| Method::from_bytes(method.as_bytes()).ok())
        .unwrap_or(Method::POST);
    let target = words.next().unwrap_or("/");
    let status = response
        .start
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse::<StatusCode>().ok())
        .unwrap_or(StatusCode::OK);
    let request_headers = header_map(&exchange.request.headers);
    let seen = SeenRequest {
        method: &method,
        target,
        headers: &request_headers,
        body: exchange.request.body.as_bytes(),
    };
    let mut cassette = record::cassette(
        &seen,
        status,
        &header_map(&response.headers),
        response.body.as_bytes(),
    );
    if pretty {
        cassette = cassette.pretty_printed();
    }
    match save_numbered(dir, next, &cassette) {
        Ok(file) => tracing::debug!(
            operation = exchange.operation,
            cassette = %crate::names::file_name(&file),
            "recorded"
        ),
        Err(error) => tracing::error!(
            operation = exchange.operation,
            %error,
            "the exchange could not be recorded"
        ),
    }
}

/// The headers as the observer shows them, those that are not valid HTTP left out.
fn header_map(headers: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            map.append(name, value);
        }
    }
    map
}
