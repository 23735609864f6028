//! Reading a request's body within the limits a server sets.

use bytes::Bytes;
use http::HeaderMap;
use http::header::CONTENT_LENGTH;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;

use crate::listening::{Abort, BodyTimedOut, read_within_deadline};

/// Why a body was refused: each server answers these in its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyRefused {
    /// Longer than the limit, declared or sent.
    TooLarge,
    /// Not all there within the connection's request timeout.
    TimedOut,
}

/// The body, at most `max` bytes, or why it was refused; [`Abort`] if the client went away
/// mid-body.
pub async fn read_body(
    headers: &HeaderMap,
    body: Incoming,
    max: usize,
) -> Result<Result<Bytes, BodyRefused>, Abort> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    // A declared length says enough: nothing of the body is read.
    if declared.is_some_and(|length| length > max as u64) {
        return Ok(Err(BodyRefused::TooLarge));
    }
    match read_within_deadline(Limited::new(body, max).collect()).await {
        Ok(Ok(collected)) => Ok(Ok(collected.to_bytes())),
        Ok(Err(error)) if error.is::<LengthLimitError>() => Ok(Err(BodyRefused::TooLarge)),
        Ok(Err(_)) => Err(Abort("body_unreadable")),
        Err(BodyTimedOut) => Ok(Err(BodyRefused::TimedOut)),
    }
}

/// Rounded to a tenth of a millisecond: a person reads the line.
pub fn milliseconds(elapsed: std::time::Duration) -> f64 {
    (elapsed.as_secs_f64() * 1e4).round() / 10.0
}
