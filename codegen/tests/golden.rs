//! Golden tests: each fixture WSDL generates exactly the source stored next to it.
//!
//! Run `UPDATE_GOLDEN=1 cargo test -p instamed-soap-codegen` to rewrite the golden files after an
//! intended change, then review the diff.

use std::fs;
use std::path::{Path, PathBuf};

use instamed_soap_codegen::{Options, generate_str};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// Options for the golden files: the runtime is the `instamed_soap` crate, as for a user crate,
/// so that the root crate's tests can include the files.
fn golden_options() -> Options {
    Options {
        runtime: "instamed_soap".to_owned(),
        ..Options::default()
    }
}

/// Compares `actual` with the golden file `name`, or rewrites it when `UPDATE_GOLDEN` is set.
fn check_golden(name: &str, actual: &str) {
    let path = fixtures_dir().join("golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error} (run with UPDATE_GOLDEN=1)", path.display()));
    if expected != actual {
        let first_difference = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .map_or_else(
                || "at the end".to_owned(),
                |line| format!("at line {}", line + 1),
            );
        panic!(
            "{} differs from the generated source {first_difference} (run with UPDATE_GOLDEN=1 to update)",
            path.display()
        );
    }
}

fn generate_fixture(stem: &str, options: &Options) -> String {
    generate_from(
        &fixtures_dir().join("fixtures").join(format!("{stem}.wsdl")),
        options,
    )
}

fn generate_from(path: &Path, options: &Options) -> String {
    let wsdl = fs::read_to_string(path).expect("read WSDL");
    let file = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("wsdl");
    generate_str(&wsdl, file, options).unwrap_or_else(|error| panic!("{error}"))
}

/// The project's own WSDL is read where it lives, so that the golden file is the reviewed
/// output of exactly what the crate builds from.
#[test]
fn the_service_wsdl_matches_its_golden_file() {
    let wsdl = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wsdl/payment-service.wsdl");
    check_golden(
        "payment-service.rs",
        &generate_from(&wsdl, &golden_options()),
    );
}

#[test]
fn every_fixture_matches_its_golden_file() {
    let mut stems: Vec<String> = fs::read_dir(fixtures_dir().join("fixtures"))
        .expect("list fixtures")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "wsdl").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    stems.sort();
    assert!(stems.len() >= 3, "fixtures missing: {stems:?}");
    for stem in stems {
        check_golden(
            &format!("{stem}.rs"),
            &generate_fixture(&stem, &golden_options()),
        );
    }
}

/// The Single Sign-On service's WSDL, a second service in another namespace with its own base
/// types, goes through the same generator; its `password` (a secret in the body) is named as
/// the client's build names it.
#[test]
fn the_sso_wsdl_matches_its_golden_file() {
    let wsdl = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wsdl/sso-service.wsdl");
    let options = Options {
        secret_elements: vec!["password".to_owned()],
        ..golden_options()
    };
    check_golden("sso-service.rs", &generate_from(&wsdl, &options));
}
