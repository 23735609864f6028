//! Answering requests with recorded responses.
//!
//! A request is answered by the first cassette, in file-name order, whose request it matches
//! and that has not answered yet; once every matching cassette has answered, the last one
//! answers again. So a recording where the same request got different answers (a void, then
//! the same void refused as already voided) replays in the order it happened.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use http::StatusCode;

use super::cassette::{Cassette, CassetteError};
use super::matcher::{self, Comparison};
use super::record::SeenRequest;
use super::rejection;
use super::verify::cassette_files;
use super::wire::media_type_and_action;
use instamed_soap::Protocol;

/// The cassettes of a directory, ready to answer.
#[derive(Debug)]
pub struct Replay {
    cassettes: Vec<(PathBuf, Cassette)>,
    answered: Mutex<Vec<bool>>,
}

/// An answer: status, headers, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// HTTP status.
    pub status: StatusCode,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
    /// Body to send.
    pub body: Vec<u8>,
    /// The cassette that answered, if one did.
    pub cassette: Option<PathBuf>,
    /// Why no cassette answered, when none did.
    pub unmatched: Option<Unmatched>,
    /// Whether the request was refused for its credentials (see
    /// [`ExpectedCredentials`](crate::login::ExpectedCredentials)), no cassette consulted.
    pub credentials_refused: bool,
}

impl Replayed {
    /// The answer to a request signed with other credentials than expected: the service's
    /// refused sign-in.
    pub fn refused_sign_in(protocol: Option<Protocol>) -> Self {
        let rejection = rejection::refused_sign_in(protocol);
        Self {
            status: rejection.status,
            headers: rejection.headers,
            body: rejection.body,
            cassette: None,
            unmatched: None,
            credentials_refused: true,
        }
    }
}

/// Why no cassette answered a request: the closest one and where it first differs. The
/// values that differ are left out, for they may be a secret the request carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched {
    /// The file name of the cassette that agreed most, if any was loaded.
    pub closest: Option<String>,
    /// The path of its first difference (`method`, `path`, `SOAPAction`, an element path…).
    pub at: Option<String>,
}

/// Why a directory of cassettes cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The directory cannot be listed.
    #[error("cannot list {dir}")]
    Directory {
        /// The directory.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A cassette cannot be read.
    #[error(transparent)]
    Cassette(#[from] CassetteError),
    /// The directory holds no cassette.
    #[error("no *.cassette file in {0}")]
    Empty(PathBuf),
}

impl Replay {
    /// Loads every `*.cassette` of `dir`.
    pub fn load(dir: &Path) -> Result<Self, ReplayError> {
        let files = cassette_files(dir).map_err(|source| ReplayError::Directory {
            dir: dir.to_path_buf(),
            source,
        })?;
        if files.is_empty() {
            return Err(ReplayError::Empty(dir.to_path_buf()));
        }
        let cassettes = files
            .into_iter()
            .map(|file| Cassette::load(&file).map(|cassette| (file, cassette)))
            .collect::<Result<Vec<_>, _>>()?;
        let answered = Mutex::new(vec![false; cassettes.len()]);
        Ok(Self {
            cassettes,
            answered,
        })
    }

    /// How many cassettes are loaded.
    pub fn len(&self) -> usize {
        self.cassettes.len()
    }

    /// Whether no cassette is loaded.
    pub fn is_empty(&self) -> bool {
        self.cassettes.is_empty()
    }

    /// The cassette loaded from `file` (as an [`Replayed`] names it).
    pub fn cassette(&self, file: &Path) -> Option<&Cassette> {
        self.cassettes
            .iter()
            .find(|(path, _)| path == file)
            .map(|(_, cassette)| cassette)
    }

    /// The paths the cassettes were recorded at: SOAP ones, then NVP ones; each once, in file
    /// order.
    pub fn paths(&self) -> (Vec<String>, Vec<String>) {
        let (mut soap, mut nvp): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
        for (_, cassette) in &self.cassettes {
            let target = cassette
                .request
                .start
                .split_whitespace()
                .nth(1)
                .unwrap_or("");
            let path = target.split('?').next().unwrap_or(target);
            // REST paths hang off the origin, which every server answers at.
            if !path.starts_with('/') || cassette.protocol == Protocol::Rest {
                continue;
            }
            let list = if cassette.protocol == Protocol::Nvp {
                &mut nvp
            } else {
                &mut soap
            };
            if !list.iter().any(|known| known == path) {
                list.push(path.to_owned());
            }
        }
        (soap, nvp)
    }

    /// The recorded answer to `request`, its [`echo`](super::echo) placeholders filled, or an error answer naming the closest cassette and the
    /// first difference.
    pub fn answer(&self, request: &SeenRequest<'_>) -> Replayed {
        let comparisons: Vec<Comparison> = self
            .cassettes
            .iter()
            .map(|(_, c)| compare(c, request))
            .collect();
        let matching: Vec<usize> = (0..comparisons.len())
            .filter(|&i| comparisons[i].matches())
            .collect();
        if let Some(&last) = matching.last() {
            let mut answered = self
                .answered
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let chosen = matching
                .iter()
                .copied()
                .find(|&i| !answered[i])
                .unwrap_or(last);
            answered[chosen] = true;
            let (file, cassette) = &self.cassettes[chosen];
            return Replayed {
                status: status_of(&cassette.response.start),
                headers: cassette.response.headers.clone(),
                body: request.echo(&cassette.response.body).into_owned(),
                cassette: Some(file.clone()),
                unmatched: None,
                credentials_refused: false,
            };
        }
        let closest = (0..comparisons.len()).max_by_key(|&i| comparisons[i].agreed);
        let unmatched = Unmatched {
            closest: closest.and_then(|i| {
                self.cassettes[i]
                    .0
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            }),
            at: closest.and_then(|i| {
                comparisons[i]
                    .difference
                    .as_ref()
                    .map(|difference| difference.path.clone())
            }),
        };
        let why = match closest {
            Some(i) => {
                let name = self.cassettes[i]
                    .0
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let difference = comparisons[i]
                    .difference
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                format!("No cassette matches this request. Closest: {name}, {difference}")
            }
            None => "No cassette matches this request.".to_owned(),
        };
        let mut answer = mismatch(request.protocol(), &why);
        answer.unmatched = Some(unmatched);
        answer
    }
}

/// How `request` compares with the one recorded in `cassette`.
pub fn compare(cassette: &Cassette, request: &SeenRequest<'_>) -> Comparison {
    let recorded = &cassette.request;
    let mut words = recorded.start.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let differ = |path: &str, expected: &str, actual: &str| Comparison {
        agreed: 0,
        difference: Some(matcher::Difference {
            path: path.into(),
            expected: expected.into(),
            actual: actual.into(),
        }),
    };
    if !method.eq_ignore_ascii_case(request.method.as_str()) {
        return differ("method", method, request.method.as_str());
    }
    let path_of = |t: &str| t.split('?').next().unwrap_or(t).to_ascii_lowercase();
    if path_of(target) != path_of(request.target) {
        return differ("path", target, request.target);
    }
    let protocol = request.protocol();
    if protocol != Some(cassette.protocol) {
        let actual = protocol.map_or("unknown", Protocol::as_str);
        return differ("protocol", cassette.protocol.as_str(), actual);
    }
    if cassette.protocol == Protocol::Rest {
        return matcher::json(
            &recorded.body_text(),
            &String::from_utf8_lossy(request.body),
        );
    }
    if cassette.protocol == Protocol::Nvp {
        let recorded_form = if method.eq_ignore_ascii_case("GET") {
            target
                .split_once('?')
                .map(|(_, q)| q.to_owned())
                .unwrap_or_default()
        } else {
            recorded.body_text().into_owned()
        };
        return matcher::form(&recorded_form, &request.form_text());
    }
    let action = |soap_action: Option<&str>, content_type: Option<&str>| {
        soap_action
            .map(|a| a.trim_matches('"').to_owned())
            .or_else(|| content_type.and_then(|t| media_type_and_action(t).1))
            .unwrap_or_default()
    };
    let recorded_action = action(
        recorded.header("soapaction"),
        recorded.header("content-type"),
    );
    let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
    let sent_action = action(header("soapaction"), header("content-type"));
    if recorded_action != sent_action {
        return differ("SOAPAction", &recorded_action, &sent_action);
    }
    matcher::xml(
        &recorded.body_text(),
        &String::from_utf8_lossy(request.body),
    )
}

fn status_of(start: &str) -> StatusCode {
    start
        .split_whitespace()
        .next()
        .and_then(|code| code.parse::<u16>().ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The answer to a request no cassette matches: a rejected request (see [`rejection`]),
/// which changed nothing.
fn mismatch(protocol: Option<Protocol>, why: &str) -> Replayed {
    let rejection = rejection::answer(protocol, why);
    Replayed {
        status: rejection.status,
        headers: rejection.headers,
        body: rejection.body,
        cassette: None,
        unmatched: None,
        credentials_refused: false,
    }
}
