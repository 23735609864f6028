//! Counting the requests of a journal, as WireMock's `verify(exactly(n), …)` does.
//!
//! An expectation is `SUBJECT=N` (exactly), `SUBJECT>=N` (at least) or `SUBJECT<=N` (at
//! most), where SUBJECT is:
//! - `all`, `matched`, `unmatched`: every request, those a cassette answered, the others;
//! - `cassette:NAME`: those the cassette NAME answered (its file name, with or without
//!   `.cassette`, or its number alone: `cassette:001`);
//! - `protocol:NAME`: those of `soap11`, `soap12`, `nvp` or `rest`;
//! - `operation:NAME`, or `NAME` alone: those of the operation NAME, case-blind
//!   (`DoCreditCardSecondaryVoid`, `Void`, `refund-simple`).

use std::fmt;
use std::str::FromStr;

use super::Entry;

/// Which requests an expectation counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Every request.
    All,
    /// Those a cassette answered.
    Matched,
    /// Those no cassette answered.
    Unmatched,
    /// Those the named cassette answered.
    Cassette(String),
    /// Those of a protocol.
    Protocol(String),
    /// Those of an operation.
    Operation(String),
}

/// How many requests an expectation allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Exactly this many.
    Exactly(usize),
    /// This many or more.
    AtLeast(usize),
    /// This many or fewer.
    AtMost(usize),
}

impl Count {
    fn allows(self, seen: usize) -> bool {
        match self {
            Self::Exactly(n) => seen == n,
            Self::AtLeast(n) => seen >= n,
            Self::AtMost(n) => seen <= n,
        }
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exactly(n) => write!(f, "exactly {n}"),
            Self::AtLeast(n) => write!(f, "at least {n}"),
            Self::AtMost(n) => write!(f, "at most {n}"),
        }
    }
}

/// One expectation, as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// The text it was read from.
    pub text: String,
    /// Which requests it counts.
    pub subject: Subject,
    /// How many it allows.
    pub count: Count,
}

/// Why an expectation cannot be read; the message says what form it takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0}; an expectation is SUBJECT=N, SUBJECT>=N or SUBJECT<=N, SUBJECT being all, matched, unmatched, cassette:NAME, protocol:NAME or an operation name"
)]
pub struct ExpectationError(String);

impl FromStr for Expectation {
    type Err = ExpectationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = |why: &str| ExpectationError(why.to_owned());
        let (left, number) = text
            .split_once('=')
            .ok_or_else(|| malformed("no `=` and count"))?;
        let number = number.trim();
        let n: usize = number
            .parse()
            .map_err(|_| malformed("the count is not a whole number"))?;
        let (subject, count) = if let Some(subject) = left.strip_suffix('>') {
            (subject, Count::AtLeast(n))
        } else if let Some(subject) = left.strip_suffix('<') {
            (subject, Count::AtMost(n))
        } else {
            (left, Count::Exactly(n))
        };
        let subject = subject.trim();
        let named = |kind: &str, name: &str| {
            if name.is_empty() {
                Err(malformed(&format!("`{kind}:` names nothing")))
            } else {
                Ok(name.to_owned())
            }
        };
        let subject = match subject.split_once(':') {
            Some(("cassette", name)) => Subject::Cassette(named("cassette", name)?),
            Some(("protocol", name)) => Subject::Protocol(named("protocol", name)?),
            Some(("operation", name)) => Subject::Operation(named("operation", name)?),
            Some(_) => return Err(malformed("unknown `KIND:` before the name")),
            None if subject.is_empty() => return Err(malformed("nothing before the `=`")),
            None if subject.contains(char::is_whitespace) => {
                return Err(malformed("white space inside the subject"));
            }
            None => match subject {
                "all" => Subject::All,
                "matched" => Subject::Matched,
                "unmatched" => Subject::Unmatched,
                operation => Subject::Operation(operation.to_owned()),
            },
        };
        Ok(Self {
            text: text.to_owned(),
            subject,
            count,
        })
    }
}

/// What an expectation found in a journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The expectation checked.
    pub expectation: Expectation,
    /// How many requests it counted.
    pub seen: usize,
}

impl Check {
    /// Whether the count is one the expectation allows.
    pub fn holds(&self) -> bool {
        self.expectation.count.allows(self.seen)
    }
}

impl Expectation {
    /// Whether `entry` is one of the requests this expectation counts.
    pub fn counts(&self, entry: &Entry) -> bool {
        let same = |a: Option<&String>, b: &str| a.is_some_and(|a| a.eq_ignore_ascii_case(b));
        match &self.subject {
            Subject::All => true,
            Subject::Matched => entry.matched,
            Subject::Unmatched => !entry.matched,
            Subject::Protocol(name) => same(entry.protocol.as_ref(), name),
            Subject::Operation(name) => same(entry.operation.as_ref(), name),
            Subject::Cassette(name) => entry
                .cassette
                .as_deref()
                .is_some_and(|file| names_cassette(file, name)),
        }
    }

    /// Counts the requests of `entries` this expectation is about.
    pub fn check(&self, entries: &[Entry]) -> Check {
        Check {
            expectation: self.clone(),
            seen: entries.iter().filter(|entry| self.counts(entry)).count(),
        }
    }
}

/// Whether `name` names the cassette file `file`: the whole name, the name without
/// `.cassette`, or its number.
fn names_cassette(file: &str, name: &str) -> bool {
    let stem = file.strip_suffix(".cassette").unwrap_or(file);
    let number = stem.split('-').next().unwrap_or(stem);
    file == name || stem == name || number == name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_read_as_written() {
        let read = |text: &str| text.parse::<Expectation>();
        assert_eq!(read("unmatched=0").unwrap().subject, Subject::Unmatched);
        let void = read("DoCreditCardSecondaryVoid>=2").unwrap();
        assert_eq!(
            void.subject,
            Subject::Operation("DoCreditCardSecondaryVoid".into())
        );
        assert_eq!(void.count, Count::AtLeast(2));
        assert_eq!(read("cassette:001<=1").unwrap().count, Count::AtMost(1));
        for bad in [
            "",
            "=1",
            "void",
            "void=x",
            "void=-1",
            "kind:x=1",
            "cassette:=1",
            "a b=1",
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_cassette_is_named_by_its_file_its_stem_or_its_number() {
        let file = "001-soap11-docreditcardsecondaryvoid-voided.cassette";
        for name in [file, "001-soap11-docreditcardsecondaryvoid-voided", "001"] {
            assert!(names_cassette(file, name), "{name}");
        }
        assert!(!names_cassette(file, "01"));
    }
}
