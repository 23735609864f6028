//! Reports of `contract verify` in the shapes CI systems read: JUnit XML (GitLab, Jenkins and
//! the GitHub test reporters display it) and one JSON document for scripts.
//!
//! Both say, for each cassette, whether it passed and where the first difference is (a
//! [`Problem::path`]); an unreadable cassette is an *error*, not a *failure*, as JUnit tells a
//! broken test apart from a failing one.

use std::io;
use std::path::Path;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use serde::Serialize;

use super::verify::{Problem, Verification};

/// How many verdicts of each kind a run has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Cassettes honoured.
    pub passed: usize,
    /// Cassettes read and not honoured.
    pub failed: usize,
    /// Cassettes that could not be read.
    pub errors: usize,
    /// Cassettes kept for replay only (not voids).
    pub skipped: usize,
}

impl Counts {
    /// The counts of `verdicts`.
    pub fn of(verdicts: &[Verification]) -> Self {
        let mut counts = Self::default();
        for verdict in verdicts {
            match Status::of(verdict) {
                Status::Pass => counts.passed += 1,
                Status::Fail => counts.failed += 1,
                Status::Error => counts.errors += 1,
                Status::Skip => counts.skipped += 1,
            }
        }
        counts
    }
}

/// A verdict in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Pass,
    Fail,
    Error,
    Skip,
}

impl Status {
    fn of(verdict: &Verification) -> Self {
        if verdict.error.is_some() {
            Self::Error
        } else if !verdict.problems.is_empty() {
            Self::Fail
        } else if verdict.skipped.is_some() {
            Self::Skip
        } else {
            Self::Pass
        }
    }
}

/// The JUnit XML report of verifying the cassettes of `dir`: one `<testsuite>` named after
/// the directory, one `<testcase>` per cassette, a `<failure>` whose `type` is the path of
/// the first difference and whose `message` lists every problem, an `<error>` for a cassette
/// that cannot be read, `<skipped>` for one kept for replay only.
pub fn junit(dir: &Path, verdicts: &[Verification]) -> io::Result<Vec<u8>> {
    let suite = dir.file_name().map_or_else(
        || dir.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let suite = attribute(&suite);
    let counts = Counts::of(verdicts);
    let tests = verdicts.len().to_string();
    let failures = counts.failed.to_string();
    let errors = counts.errors.to_string();
    let skipped = counts.skipped.to_string();
    let time = seconds(verdicts.iter().map(|v| v.elapsed.as_secs_f64()).sum());
    let totals = [
        ("tests", tests.as_str()),
        ("failures", failures.as_str()),
        ("errors", errors.as_str()),
        ("skipped", skipped.as_str()),
        ("time", time.as_str()),
    ];

    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    writer
        .create_element("testsuites")
        .with_attribute(("name", "instamed-soap contract verify"))
        .with_attributes(totals)
        .write_inner_content(|writer| {
            writer
                .create_element("testsuite")
                .with_attribute(("name", suite.as_str()))
                .with_attributes(totals)
                .write_inner_content(|writer| {
                    for verdict in verdicts {
                        testcase(writer, &suite, verdict)?;
                    }
                    Ok(())
                })?;
            Ok(())
        })?;
    let mut xml = writer.into_inner();
    xml.push(b'\n');
    Ok(xml)
}

fn testcase(writer: &mut Writer<Vec<u8>>, suite: &str, verdict: &Verification) -> io::Result<()> {
    let name = attribute(&verdict.name());
    let file = attribute(&verdict.file.display().to_string());
    let time = seconds(verdict.elapsed.as_secs_f64());
    let element = writer.create_element("testcase").with_attributes([
        ("classname", suite),
        ("name", name.as_str()),
        ("file", file.as_str()),
        ("time", time.as_str()),
    ]);
    match Status::of(verdict) {
        Status::Pass => {
            element.write_empty()?;
        }
        Status::Skip => {
            let why = attribute(verdict.skipped.as_deref().unwrap_or(""));
            element.write_inner_content(|writer| {
                writer
                    .create_element("skipped")
                    .with_attribute(("message", why.as_str()))
                    .write_empty()?;
                Ok(())
            })?;
        }
        Status::Error => {
            let why = verdict.error.as_deref().unwrap_or("");
            let message = attribute(&format!("cannot read the cassette: {why}"));
            element.write_inner_content(|writer| {
                writer
                    .create_element("error")
                    .with_attributes([("message", message.as_str()), ("type", "unreadable")])
                    .write_text_content(BytesText::new(&text(why)))?;
                Ok(())
            })?;
        }
        Status::Fail => {
            let problems = &verdict.problems;
            let kind = attribute(problems.first().map_or("", |p| p.path.as_str()));
            let message = attribute(
                &problems
                    .iter()
                    .map(|p| p.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            let details = text(
                &problems
                    .iter()
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
            element.write_inner_content(|writer| {
                writer
                    .create_element("failure")
                    .with_attributes([("message", message.as_str()), ("type", kind.as_str())])
                    .write_text_content(BytesText::new(&details))?;
                Ok(())
            })?;
        }
    }
    Ok(())
}

/// Seconds as JUnit writes them.
fn seconds(seconds: f64) -> String {
    format!("{seconds:.3}")
}

/// Text XML 1.0 can hold: a character it forbids (most control characters, which a broken
/// cassette may well contain) is written as a visible `\u{…}` escape instead. The writer escapes
/// markup.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if is_xml_char(c) {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        }
    }
    out
}

/// [`text`] for an attribute, on one line: a parser turns a line break in an attribute into a
/// space, so it is written as one.
fn attribute(value: &str) -> String {
    text(&value.replace(['\r', '\n', '\t'], " "))
}

/// The characters XML 1.0 allows (its `Char` production).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// One cassette in the JSON report.
#[derive(Debug, Serialize)]
struct JsonCassette<'a> {
    name: String,
    file: String,
    status: Status,
    problems: &'a [Problem],
    error: Option<&'a str>,
    skipped: Option<&'a str>,
    seconds: f64,
}

/// The JSON report.
#[derive(Debug, Serialize)]
struct JsonReport<'a> {
    directory: String,
    #[serde(flatten)]
    counts: Counts,
    cassettes: Vec<JsonCassette<'a>>,
}

/// The JSON report of verifying the cassettes of `dir`: one document,
/// `{"directory", "passed", "failed", "errors", "skipped", "cassettes": [{"name", "file",
/// "status" ("pass", "fail", "error" or "skip"), "problems": [{"path", "message"}], "error",
/// "skipped", "seconds"}]}`.
pub fn json(dir: &Path, verdicts: &[Verification]) -> serde_json::Value {
    let report = JsonReport {
        directory: dir.display().to_string(),
        counts: Counts::of(verdicts),
        cassettes: verdicts
            .iter()
            .map(|verdict| JsonCassette {
                name: verdict.name(),
                file: verdict.file.display().to_string(),
                status: Status::of(verdict),
                problems: &verdict.problems,
                error: verdict.error.as_deref(),
                skipped: verdict.skipped.as_deref(),
                seconds: verdict.elapsed.as_secs_f64(),
            })
            .collect(),
    };
    serde_json::to_value(report).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;

    fn verdict(name: &str) -> Verification {
        Verification {
            file: PathBuf::from(format!("/cassettes/{name}")),
            problems: Vec::new(),
            error: None,
            skipped: None,
            elapsed: Duration::from_millis(2),
        }
    }

    #[test]
    fn markup_and_forbidden_characters_in_problems_still_give_well_formed_xml() {
        let mut failing = verdict("a<&\"'.cassette");
        failing.problems = vec![Problem {
            path: "request.body/Envelope/Body/X".into(),
            message: "expected \"<a>&\u{1}\", got \"]]>\nnext\"".into(),
        }];
        let mut broken = verdict("b.cassette");
        broken.error = Some("line 3: bad \u{0} byte".into());
        let xml = junit(Path::new("/cassettes"), &[failing, broken]).unwrap();
        let xml = String::from_utf8(xml).unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let failure = doc
            .descendants()
            .find(|n| n.has_tag_name("failure"))
            .unwrap();
        assert_eq!(
            failure.attribute("type"),
            Some("request.body/Envelope/Body/X")
        );
        assert_eq!(
            failure.attribute("message"),
            Some("expected \"<a>&\\u{1}\", got \"]]> next\"")
        );
        let case = failure.parent().unwrap();
        assert_eq!(case.attribute("name"), Some("a<&\"'.cassette"));
        let error = doc.descendants().find(|n| n.has_tag_name("error")).unwrap();
        assert_eq!(error.text(), Some("line 3: bad \\u{0} byte"));
        let suite = doc
            .descendants()
            .find(|n| n.has_tag_name("testsuite"))
            .unwrap();
        assert_eq!(suite.attribute("failures"), Some("1"));
        assert_eq!(suite.attribute("errors"), Some("1"));
    }

    #[test]
    fn the_json_report_names_each_cassette_and_where_it_differs() {
        let mut failing = verdict("a.cassette");
        failing.problems = vec![Problem {
            path: "outcome".into(),
            message: "the response decodes to voided, expected declined".into(),
        }];
        let value = json(Path::new("/cassettes"), &[verdict("p.cassette"), failing]);
        assert_eq!(value["passed"], 1);
        assert_eq!(value["failed"], 1);
        assert_eq!(value["cassettes"][1]["status"], "fail");
        assert_eq!(value["cassettes"][1]["problems"][0]["path"], "outcome");
        assert_eq!(value["cassettes"][0]["status"], "pass");
    }
}
