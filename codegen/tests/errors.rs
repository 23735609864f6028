//! Every construct outside the supported subset is an error naming the file, the element and
//! the construct; malformed input is an error too, never a panic.

use instamed_soap_codegen::{Error, Options, generate_str};

/// A minimal ASMX-style WSDL; tests replace parts of it to introduce one problem each.
const BASE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:tns="urn:test" xmlns:s="http://www.w3.org/2001/XMLSchema" xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/" targetNamespace="urn:test" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/">
  <wsdl:types>
    <s:schema elementFormDefault="qualified" targetNamespace="urn:test">
      <s:element name="Op">
        <s:complexType>
          <s:sequence>
            <s:element minOccurs="0" maxOccurs="1" name="data" type="tns:Data" />
          </s:sequence>
        </s:complexType>
      </s:element>
      <s:element name="OpResponse">
        <s:complexType>
          <s:sequence>
            <s:element minOccurs="0" maxOccurs="1" name="OpResult" type="s:string" />
          </s:sequence>
        </s:complexType>
      </s:element>
      <s:complexType name="Data">
        <s:sequence>
          <s:element minOccurs="0" maxOccurs="1" name="Name" type="s:string" />
        </s:sequence>
      </s:complexType>
    </s:schema>
  </wsdl:types>
  <wsdl:message name="OpSoapIn">
    <wsdl:part name="parameters" element="tns:Op" />
  </wsdl:message>
  <wsdl:message name="OpSoapOut">
    <wsdl:part name="parameters" element="tns:OpResponse" />
  </wsdl:message>
  <wsdl:portType name="ServiceSoap">
    <wsdl:operation name="Op">
      <wsdl:input message="tns:OpSoapIn" />
      <wsdl:output message="tns:OpSoapOut" />
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="ServiceSoap" type="tns:ServiceSoap">
    <soap:binding transport="http://schemas.xmlsoap.org/soap/http" />
    <wsdl:operation name="Op">
      <soap:operation soapAction="urn:test/Op" style="document" />
      <wsdl:input>
        <soap:body use="literal" />
      </wsdl:input>
      <wsdl:output>
        <soap:body use="literal" />
      </wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="Service">
    <wsdl:port name="ServiceSoap" binding="tns:ServiceSoap">
      <soap:address location="http://localhost/service.asmx" />
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
"#;

const DATA_SEQUENCE: &str = r#"<s:sequence>
          <s:element minOccurs="0" maxOccurs="1" name="Name" type="s:string" />
        </s:sequence>"#;

const DATA_PATH: &str = "/wsdl:definitions/wsdl:types/s:schema/s:complexType[@name='Data']";

fn generate(wsdl: &str) -> Result<String, Error> {
    generate_str(wsdl, "test.wsdl", &Options::default())
}

/// `BASE` with `from` replaced by `to`, which must change it.
fn variant(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from:?} is not in the base WSDL");
    BASE.replacen(from, to, 1)
}

/// Asserts that `wsdl` fails with an "unsupported" error at `path` whose message mentions `what`.
#[track_caller]
fn assert_unsupported(wsdl: &str, path: &str, what: &str) {
    let error = generate(wsdl).expect_err("generation should fail");
    assert_eq!(error.file(), "test.wsdl");
    assert_eq!(error.element_path(), Some(path), "{error}");
    assert!(error.message().starts_with("unsupported: "), "{error}");
    assert!(error.message().contains(what), "{error}");
    assert!(
        error
            .to_string()
            .starts_with(&format!("test.wsdl: {path}: unsupported: "))
    );
}

#[test]
fn the_base_wsdl_is_valid() {
    generate(BASE).expect("the base WSDL generates");
}

#[test]
fn choice_is_reported_with_its_path() {
    let wsdl = variant(
        DATA_SEQUENCE,
        r#"<s:choice><s:element name="A" type="s:string" /></s:choice>"#,
    );
    let error = generate(&wsdl).expect_err("xs:choice is unsupported");
    assert_eq!(
        error.to_string(),
        format!("test.wsdl: {DATA_PATH}/s:choice: unsupported: xs:choice")
    );
}

#[test]
fn schema_particles_outside_the_subset() {
    for (content, tail, what) in [
        (
            r#"<s:all><s:element name="A" type="s:string" /></s:all>"#,
            "/s:all",
            "xs:all",
        ),
        (r#"<s:group ref="tns:G" />"#, "/s:group", "xs:group"),
        (
            r#"<s:attribute name="a" type="s:string" />"#,
            "/s:attribute[@name='a']",
            "xs:attribute",
        ),
        (
            r#"<s:simpleContent><s:extension base="s:string" /></s:simpleContent>"#,
            "/s:simpleContent",
            "xs:simpleContent",
        ),
        (
            r#"<s:complexContent><s:restriction base="tns:Other" /></s:complexContent>"#,
            "/s:complexContent/s:restriction",
            "xs:complexContent/xs:restriction",
        ),
        (
            r#"<s:sequence><s:any /></s:sequence>"#,
            "/s:sequence/s:any",
            "xs:any",
        ),
        (
            r#"<s:sequence><s:sequence><s:element name="A" type="s:string" /></s:sequence></s:sequence>"#,
            "/s:sequence/s:sequence",
            "xs:sequence",
        ),
        (
            r#"<s:sequence maxOccurs="unbounded"><s:element name="A" type="s:string" /></s:sequence>"#,
            "/s:sequence",
            "xs:sequence with minOccurs/maxOccurs",
        ),
    ] {
        assert_unsupported(
            &variant(DATA_SEQUENCE, content),
            &format!("{DATA_PATH}{tail}"),
            what,
        );
    }
}

#[test]
fn element_features_outside_the_subset() {
    let name_element = r#"<s:element minOccurs="0" maxOccurs="1" name="Name" type="s:string" />"#;
    let name_path = format!("{DATA_PATH}/s:sequence/s:element[@name='Name']");
    for (element, what) in [
        (r#"<s:element minOccurs="0" name="Name" />"#, "xs:anyType"),
        (
            r#"<s:element minOccurs="0" name="Name" type="s:anyType" />"#,
            "'s:anyType'",
        ),
        (
            r#"<s:element minOccurs="0" name="Name" type="s:duration" />"#,
            "'s:duration'",
        ),
        (
            r#"<s:element minOccurs="0" name="Name" type="s:QName" />"#,
            "'s:QName'",
        ),
        (
            r#"<s:element name="Name" type="s:string" fixed="x" />"#,
            "fixed=",
        ),
        (
            r#"<s:element name="Name" maxOccurs="0" minOccurs="0" type="s:string" />"#,
            "maxOccurs=\"0\"",
        ),
        (
            r#"<s:element name="Name"><s:simpleType><s:restriction base="s:string" /></s:simpleType></s:element>"#,
            "anonymous xs:simpleType",
        ),
    ] {
        let wsdl = variant(name_element, element);
        let path = if what == "anonymous xs:simpleType" {
            format!("{name_path}/s:simpleType")
        } else {
            name_path.clone()
        };
        assert_unsupported(&wsdl, &path, what);
    }
}

#[test]
fn mixed_content_and_substitution_groups() {
    assert_unsupported(
        &variant(
            r#"<s:complexType name="Data">"#,
            r#"<s:complexType name="Data" mixed="true">"#,
        ),
        DATA_PATH,
        "mixed content",
    );
    let top = variant(
        "</s:schema>",
        r#"<s:element name="Sub" substitutionGroup="tns:Op" type="tns:Data" /></s:schema>"#,
    );
    assert_unsupported(
        &top,
        "/wsdl:definitions/wsdl:types/s:schema/s:element[@name='Sub']",
        "substitutionGroup",
    );
}

#[test]
fn schema_level_constructs_outside_the_subset() {
    let schema = "/wsdl:definitions/wsdl:types/s:schema";
    for (extra, tail, what) in [
        (
            r#"<s:import namespace="urn:x" schemaLocation="x.xsd" />"#,
            "/s:import",
            "schemaLocation",
        ),
        (
            r#"<s:include schemaLocation="x.xsd" />"#,
            "/s:include",
            "xs:include",
        ),
        (
            r#"<s:group name="G"><s:sequence /></s:group>"#,
            "/s:group[@name='G']",
            "xs:group",
        ),
        (
            r#"<s:attribute name="a" type="s:string" />"#,
            "/s:attribute[@name='a']",
            "xs:attribute",
        ),
        (
            r#"<s:simpleType name="L"><s:list itemType="s:string" /></s:simpleType>"#,
            "/s:simpleType[@name='L']/s:list",
            "xs:list",
        ),
    ] {
        let wsdl = variant("</s:schema>", &format!("{extra}</s:schema>"));
        assert_unsupported(&wsdl, &format!("{schema}{tail}"), what);
    }
}

#[test]
fn enumerations_of_other_types_are_unsupported() {
    let wsdl = variant(
        "</s:schema>",
        r#"<s:simpleType name="Level"><s:restriction base="s:int"><s:enumeration value="1" /></s:restriction></s:simpleType></s:schema>"#,
    );
    assert_unsupported(
        &wsdl,
        "/wsdl:definitions/wsdl:types/s:schema/s:simpleType[@name='Level']",
        "enumeration of non-string type 's:int'",
    );
}

#[test]
fn binding_styles_outside_the_subset() {
    let binding = "/wsdl:definitions/wsdl:binding[@name='ServiceSoap']";
    assert_unsupported(
        &variant(
            r#"<soap:binding transport="http://schemas.xmlsoap.org/soap/http" />"#,
            r#"<soap:binding transport="http://schemas.xmlsoap.org/soap/http" style="rpc" />"#,
        ),
        &format!("{binding}/soap:binding"),
        "style=\"rpc\"",
    );
    assert_unsupported(
        &variant(r#"style="document" />"#, r#"style="rpc" />"#),
        &format!("{binding}/wsdl:operation[@name='Op']/soap:operation"),
        "style=\"rpc\"",
    );
    assert_unsupported(
        &variant(
            r#"<soap:body use="literal" />"#,
            r#"<soap:body use="encoded" />"#,
        ),
        &format!("{binding}/wsdl:operation[@name='Op']/wsdl:input/soap:body"),
        "use=\"encoded\"",
    );
    assert_unsupported(
        &variant(
            r#"<soap:body use="literal" />"#,
            r#"<soap:body use="literal" /><soap:header message="tns:OpSoapIn" part="parameters" use="literal" />"#,
        ),
        &format!("{binding}/wsdl:operation[@name='Op']/wsdl:input/soap:header"),
        "SOAP headers",
    );
    assert_unsupported(
        &variant(
            "</wsdl:output>\n    </wsdl:operation>\n  </wsdl:binding>",
            "</wsdl:output><wsdl:fault name=\"F\" /></wsdl:operation></wsdl:binding>",
        ),
        &format!("{binding}/wsdl:operation[@name='Op']/wsdl:fault[@name='F']"),
        "wsdl:fault",
    );
}

#[test]
fn rpc_messages_and_named_wrappers_are_unsupported() {
    assert_unsupported(
        &variant(
            r#"<wsdl:part name="parameters" element="tns:Op" />"#,
            r#"<wsdl:part name="value" type="s:string" />"#,
        ),
        "/wsdl:definitions/wsdl:message[@name='OpSoapIn']/wsdl:part[@name='value']",
        "rpc style",
    );
    let named = variant(
        r#"<wsdl:part name="parameters" element="tns:Op" />"#,
        r#"<wsdl:part name="parameters" element="tns:Named" />"#,
    )
    .replacen(
        "</s:schema>",
        r#"<s:element name="Named" type="tns:Data" /></s:schema>"#,
        1,
    );
    assert_unsupported(
        &named,
        "/wsdl:definitions/wsdl:message[@name='OpSoapIn']/wsdl:part[@name='parameters']",
        "anonymous complex type",
    );
}

#[test]
fn recursive_types_are_unsupported() {
    let wsdl = variant(
        r#"name="Name" type="s:string" />"#,
        r#"name="Next" type="tns:Data" />"#,
    );
    assert_unsupported(&wsdl, DATA_PATH, "recursive type");
    // Through a Vec, recursion is fine.
    let wsdl = variant(
        r#"maxOccurs="1" name="Name" type="s:string" />"#,
        r#"maxOccurs="unbounded" name="Next" type="tns:Data" />"#,
    );
    generate(&wsdl).expect("recursion through maxOccurs > 1");
}

#[test]
fn names_yaserde_cannot_tell_apart_are_unsupported() {
    let wsdl = variant(
        r#"<s:element minOccurs="0" maxOccurs="1" name="Name" type="s:string" />"#,
        r#"<s:element minOccurs="0" name="MerchantID" type="s:string" /><s:element minOccurs="0" name="merchantID" type="s:string" />"#,
    );
    assert_unsupported(
        &wsdl,
        &format!("{DATA_PATH}/s:sequence/s:element[@name='merchantID']"),
        "differ only in case",
    );
}

#[test]
fn unknown_references_name_what_is_missing() {
    let wsdl = variant(r#"type="tns:Data""#, r#"type="tns:Missing""#);
    let error = generate(&wsdl).expect_err("unknown type");
    assert_eq!(
        error.to_string(),
        "test.wsdl: /wsdl:definitions/wsdl:types/s:schema/s:element[@name='Op']/s:complexType/s:sequence/s:element[@name='data']: unknown type 'tns:Missing'"
    );

    let wsdl = variant(r#"element="tns:OpResponse""#, r#"element="tns:Nowhere""#);
    let error = generate(&wsdl).expect_err("unknown element");
    assert_eq!(error.message(), "unknown element 'tns:Nowhere'");

    let wsdl = variant(r#"type="tns:Data""#, r#"type="nope:Data""#);
    let error = generate(&wsdl).expect_err("undeclared prefix");
    assert!(
        error.message().contains("undeclared namespace prefix"),
        "{error}"
    );
}

#[test]
fn paths_number_same_named_siblings() {
    let second_schema = r#"<s:schema elementFormDefault="qualified" targetNamespace="urn:other"><s:complexType name="Foo"><s:choice /></s:complexType></s:schema></wsdl:types>"#;
    let wsdl = variant("</wsdl:types>", second_schema);
    let error = generate(&wsdl).expect_err("xs:choice");
    assert_eq!(
        error.to_string(),
        "test.wsdl: /wsdl:definitions/wsdl:types/s:schema[2]/s:complexType[@name='Foo']/s:choice: unsupported: xs:choice"
    );
}

#[test]
fn malformed_xml_is_reported() {
    let error = generate("<wsdl:definitions><unclosed>").expect_err("malformed");
    assert_eq!(error.file(), "test.wsdl");
    assert_eq!(error.element_path(), None);
    assert!(
        error.to_string().starts_with("test.wsdl: invalid XML: "),
        "{error}"
    );

    let error = generate("<html/>").expect_err("not a WSDL");
    assert!(error.message().contains("not a WSDL"), "{error}");
}

#[test]
fn missing_files_are_reported() {
    let path = std::path::Path::new("/nonexistent/service.wsdl");
    let error =
        instamed_soap_codegen::generate_file(path, &Options::default()).expect_err("missing");
    assert_eq!(error.file(), "/nonexistent/service.wsdl");
    assert!(
        error.message().starts_with("cannot read the file"),
        "{error}"
    );
}

#[test]
fn an_invalid_runtime_path_is_reported() {
    let options = Options {
        runtime: "not a path".to_owned(),
        ..Options::default()
    };
    let error = generate_str(BASE, "test.wsdl", &options).expect_err("bad runtime");
    assert!(error.message().contains("invalid runtime path"), "{error}");
}

#[test]
fn truncated_documents_never_panic() {
    let fixture = include_str!("fixtures/payment.wsdl");
    // Every fifth cut keeps the test quick while still cutting inside every construct.
    let cuts = (0..fixture.len())
        .step_by(5)
        .filter(|at| fixture.is_char_boundary(*at));
    for end in cuts {
        // Either result is fine; reaching the next iteration means no panic.
        let _ = generate(&fixture[..end]);
    }
}

#[test]
fn a_wsdl_without_a_required_operation_is_refused_in_one_sentence() {
    // Another service of the same host (a single sign-on service, say) has a valid WSDL that
    // simply lacks the void: the build must say so, not fail in the generated code.
    let options = Options {
        required_operations: vec!["DoCreditCardSecondaryVoid".to_owned()],
        ..Options::default()
    };
    let error = generate_str(BASE, "SSOService.wsdl", &options).expect_err("no void");
    assert_eq!(error.file(), "SSOService.wsdl");
    assert_eq!(error.element_path(), None);
    assert!(
        error.message().starts_with(
            "the WSDL has no operation DoCreditCardSecondaryVoid, which this crate needs"
        ),
        "{error}"
    );
    assert_eq!(error.to_string().lines().count(), 1, "{error}");

    let present = Options {
        required_operations: vec!["Op".to_owned()],
        ..Options::default()
    };
    generate_str(BASE, "test.wsdl", &present).expect("Op is there");
}
