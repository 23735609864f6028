use super::*;

#[test]
fn children_are_matched_by_namespace_and_nil_is_absent() {
    let xml =
        br#"<r xmlns="urn:a" xmlns:b="urn:b" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
        <x> one &amp; &#50; </x><b:x>other</b:x><y xsi:nil="true"/><z><deep>1</deep></z></r>"#;
    let mut reader = XmlReader::new(std::str::from_utf8(xml).unwrap());
    assert!(reader.enter_child().unwrap());
    assert!(reader.child_is("urn:a", "r"));
    let mut seen = Vec::new();
    let (mut x_read, mut y_read) = (false, false);
    while reader.enter_child().unwrap() {
        if reader.child_is("urn:a", "x") {
            seen.push(format!("x={}", reader.read::<String>(&mut x_read).unwrap()));
        } else if reader.child_is("urn:a", "y") {
            let y = reader.read_option::<String>(&mut y_read).unwrap();
            seen.push(format!("y={y:?}"));
        } else {
            seen.push(format!("skip {}", reader.child_name()));
            reader.skip().unwrap();
        }
    }
    assert_eq!(
        seen,
        ["x=one & 2", "skip {urn:b}x", "y=None", "skip {urn:a}z"]
    );
    assert!(!reader.enter_child().unwrap());
}

#[test]
fn hostile_documents_are_errors() {
    let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
    let mut reader = XmlReader::new(&deep);
    assert!(reader.enter_child().unwrap());
    let error = reader.skip().unwrap_err();
    assert!(error.message().contains("deeper"), "{error}");

    let mut reader = XmlReader::new("<a>&lol;</a>");
    assert!(reader.enter_child().unwrap());
    assert!(
        reader
            .text()
            .unwrap_err()
            .message()
            .contains("unknown entity")
    );

    let mut reader = XmlReader::new("<!DOCTYPE a [<!ENTITY e \"x\">]><a/>");
    assert!(reader.enter_child().is_err());

    let mut reader = XmlReader::new("<p:a/>");
    assert!(
        reader
            .enter_child()
            .unwrap_err()
            .message()
            .contains("undeclared")
    );
}

#[test]
fn values_are_parsed_or_refused() {
    let mut reader = XmlReader::new("<r><n>42</n><b>maybe</b></r>");
    assert!(reader.enter_child().unwrap());
    assert!(reader.enter_child().unwrap());
    assert_eq!(reader.read::<i32>(&mut false).unwrap(), 42);
    assert!(reader.enter_child().unwrap());
    assert!(reader.read::<bool>(&mut false).is_err());
}

/// Reads `<r>`'s children: `s` as single values, `i` as repeated items, `p` as a parent
/// whose own `s` children are single values. Returns the values or the first error.
fn read_fields(xml: &str) -> Result<Vec<String>, ReadError> {
    let mut reader = XmlReader::new(xml);
    assert!(reader.enter_child()?);
    let mut values = Vec::new();
    let mut items: Vec<String> = Vec::new();
    let mut s_read = false;
    while reader.enter_child()? {
        if reader.child_is("", "s") {
            values.extend(reader.read_option::<String>(&mut s_read)?);
        } else if reader.child_is("", "i") {
            reader.read_into(&mut items)?;
        } else if reader.child_is("", "p") {
            // Each parent's reader has flags of its own.
            let mut inner_s_read = false;
            while reader.enter_child()? {
                if reader.child_is("", "s") {
                    values.push(reader.read::<String>(&mut inner_s_read)?);
                } else {
                    reader.skip()?;
                }
            }
        } else {
            reader.skip()?;
        }
    }
    values.extend(items);
    Ok(values)
}

#[test]
fn a_single_valued_element_may_appear_once_per_parent() {
    // Repeated items, unknown elements and same-named elements in other parents are fine.
    let fields = "<r><i>1</i><u/><p><s>a</s></p><i>2</i><u/><p><s>b</s></p><s>c</s></r>";
    assert_eq!(read_fields(fields).unwrap(), ["a", "b", "c", "1", "2"]);
    // A second value for one field is an error, nil or not, in either order.
    for twice in [
        "<r><s>D</s><s>C</s></r>",
        "<r><s>C</s><i>1</i><s>C</s></r>",
        "<r xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><s xsi:nil=\"true\"/><s>C</s></r>",
        "<r><p><s>a</s><s>b</s></p></r>",
    ] {
        let error = read_fields(twice).unwrap_err();
        assert!(
            error.message().contains("more than once"),
            "{twice}: {error}"
        );
    }
}

/// Reads the text of the root element's only child.
fn leaf(xml: &str) -> Result<String, ReadError> {
    let mut reader = XmlReader::new(xml);
    assert!(reader.enter_child()?);
    assert!(reader.enter_child()?);
    reader.text()
}

#[test]
fn text_is_read_as_xml_says() {
    let cases = [
        ("<r><a>plain</a></r>", "plain"),
        ("<r><a> \t padded\n </a></r>", "padded"),
        (
            "<r><a>x &lt;&gt;&amp;&quot;&apos; &#65;&#x42;</a></r>",
            "x <>&\"' AB",
        ),
        ("<r><a>one<!-- gone -->two</a></r>", "onetwo"),
        ("<r><a><![CDATA[<not> &markup;]]></a></r>", "<not> &markup;"),
        ("<r><a>line\r\nend\rx</a></r>", "line\nend\nx"),
        ("<r><a/></r>", ""),
        ("<r><a></a ></r>", ""),
        ("\u{feff}<?xml version=\"1.0\"?><r><a>bom</a></r>", "bom"),
        // White space as `str::trim` knows it, not only XML's four (finding F9).
        ("<r><a>C\u{85}</a></r>", "C"),
        ("<r><a>\u{a0}C\u{2003}</a></r>", "C"),
    ];
    for (xml, expected) in cases {
        assert_eq!(leaf(xml).as_deref(), Ok(expected), "{xml}");
    }
}

#[test]
fn namespaces_follow_their_scope() {
    let xml = r#"<r xmlns="urn:d" xmlns:p="urn:p">
        <p:a/><a/><b xmlns=""/><c xmlns:p="urn:q"><p:x/></c><p:y/><xml:lang/></r>"#;
    let mut reader = XmlReader::new(xml);
    assert!(reader.enter_child().unwrap());
    let mut seen = Vec::new();
    while reader.enter_child().unwrap() {
        if reader.child_local() == "c" {
            assert!(reader.enter_child().unwrap());
            seen.push(reader.child_name());
            reader.skip().unwrap();
            assert!(!reader.enter_child().unwrap());
        } else {
            seen.push(reader.child_name());
            reader.skip().unwrap();
        }
    }
    assert_eq!(
        seen,
        [
            "{urn:p}a",
            "{urn:d}a",
            "b",
            "{urn:q}x",
            "{urn:p}y",
            "{http://www.w3.org/XML/1998/namespace}lang"
        ]
    );
}

#[test]
fn ill_formed_markup_is_an_error_not_a_guess() {
    let cases = [
        ("<r><a>x</b></r>", "</b>"),
        ("<r><a>x</a></r></r>", "closes nothing"),
        ("<r><a x=\"1\" x=\"2\">v</a></r>", "twice"),
        ("<r><a q:x=\"1\">v</a></r>", "undeclared"),
        ("<r><a x=\"a<b\">v</a></r>", "not closed"),
        ("<r><a x=1>v</a></r>", "malformed attribute"),
        ("<r><a x=\"1\"y=\"2\">v</a></r>", "malformed start tag"),
        ("<r xmlns:p=\"\"><a>v</a></r>", "no namespace"),
        ("<r><a>&#0;</a></r>", "not a character XML allows"),
        ("<r><a>&#xD800;</a></r>", "not a character XML allows"),
        ("<r><a>& x</a></r>", "without its ;"),
        ("<r><a><!-- open</a></r>", "never closed"),
        ("<r><a><![CDATA[open</a></r>", "never closed"),
        ("<r><1a>v</1a></r>", "malformed element name"),
        ("<r><p:q:a>v</p:q:a></r>", "malformed element name"),
        ("<r><a>v", "ends inside"),
    ];
    for (xml, problem) in cases {
        let error = leaf(xml).and_then(|_| {
            // Some problems only show once the rest of the document is read.
            let mut reader = XmlReader::new(xml);
            assert!(reader.enter_child()?);
            reader.skip()?;
            reader.enter_child().map(|_| String::new())
        });
        match error {
            Err(error) => assert!(error.message().contains(problem), "{xml}: {error}"),
            Ok(_) => panic!("{xml} was read"),
        }
    }
}

#[test]
fn attributes_may_hold_markup_characters_and_nil_needs_its_namespace() {
    let xml = r#"<r xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns:j="urn:j">
        <a note="1 > 0" i:nil="true"/><b j:nil="true">kept</b><c i:nil='1'></c></r>"#;
    let mut reader = XmlReader::new(xml);
    assert!(reader.enter_child().unwrap());
    let mut values = Vec::new();
    while reader.enter_child().unwrap() {
        values.push(reader.read_option::<String>(&mut false).unwrap());
    }
    assert_eq!(values, [None, Some("kept".to_owned()), None]);
}

/// Reads `xml` whole, as the conformance test does: every element's text or children,
/// then what follows the root; and again skipping the root. Both must agree.
fn read_whole(xml: &str) -> Result<(), ReadError> {
    fn element(reader: &mut XmlReader<'_>) -> Result<(), ReadError> {
        if reader.text_or_child()?.is_none() {
            element(reader)?;
            while reader.enter_child()? {
                element(reader)?;
            }
        }
        Ok(())
    }
    let mut reader = XmlReader::new(xml);
    assert!(reader.enter_child()?, "{xml}: no root");
    element(&mut reader)?;
    let read = reader.enter_child();
    let mut reader = XmlReader::new(xml);
    let skipped = reader
        .enter_child()
        .and_then(|_| reader.skip())
        .and_then(|()| reader.enter_child());
    assert_eq!(
        read.is_ok(),
        skipped.is_ok(),
        "{xml}: {read:?} / {skipped:?}"
    );
    assert!(!read?, "{xml}: a second root was entered");
    Ok(())
}

#[test]
fn what_xml_rejects_is_rejected_even_where_it_is_skipped() {
    let many: String = (0..33).map(|i| format!(" a{i}=\"{i}\"")).collect();
    let cases = [
        // Issue 10, section 3, in its order.
        ("<r><s>&#+67;</s></r>", "not a character"),
        ("<r><s>C\u{1}</s></r>", "character XML forbids"),
        ("<r><!-- a -- b --><s/></r>", "-- inside a comment"),
        ("<r><s>a ]]> b</s></r>", "]]> in character data"),
        ("<r><s a=\"&undefined;\"/></r>", "unknown entity"),
        ("<r xmlns:xmlns=\"urn:x\"/>", "xmlns prefix declared"),
        ("<r xmlns:xml=\"urn:x\"/>", "xml prefix bound"),
        (
            "<r xmlns:a=\"urn:x\" xmlns:b=\"urn:x\"><s a:v=\"1\" b:v=\"2\"/></r>",
            "appears twice",
        ),
        (" <?xml version=\"1.0\"?><r/>", "not at the very start"),
        (
            "<?xml version=\"1.0\" encoding=\"UTF-16\"?><r/>",
            "contradicts",
        ),
        ("<?xml version=\"2.0\"?><r/>", "version"),
        // And their neighbours.
        ("<r><s>\u{FFFE}</s></r>", "character XML forbids"),
        ("<r><s\u{1}/></r>", "character XML forbids"),
        ("<r><!-- a ---></r>", "-- inside a comment"),
        ("<r><?xml version=\"1.0\"?></r>", "not at the very start"),
        ("<r><?XmL x?></r>", "not at the very start"),
        ("<r><?p:i x?></r>", "processing instruction target"),
        ("<r><?pi?x?></r>", "processing instruction target"),
        (
            "<r xmlns:p=\"http://www.w3.org/XML/1998/namespace\"/>",
            "XML namespace",
        ),
        (
            "<r xmlns=\"http://www.w3.org/XML/1998/namespace\"/>",
            "XML namespace",
        ),
        (
            "<r xmlns:p=\"http://www.w3.org/2000/xmlns/\"/>",
            "xmlns namespace",
        ),
        ("<r/><r/>", "a second root"),
        ("<r/>text", "text where"),
        ("<r a=\"&#x0;\"/>", "not a character"),
        ("<r><s>&#67</s></r>", "without its ;"),
        ("<r><a@b/></r>", "malformed"),
        ("<r><a b@c=\"1\"/></r>", "malformed"),
        ("<r><\u{B7}a/></r>", "malformed element name"),
        (
            "<r><a:\u{300}b xmlns:a=\"urn:a\"/></r>",
            "malformed element name",
        ),
    ];
    for (xml, problem) in cases {
        match read_whole(xml) {
            Err(error) => assert!(error.message().contains(problem), "{xml}: {error}"),
            Ok(()) => panic!("{xml} was read"),
        }
    }
    // The same problems inside a skipped header, as `soap::decode` skips it.
    for inside in [
        "&#+67;",
        "\u{1}",
        "<!-- -- -->",
        "]]>",
        "<h a=\"&x;\"/>",
        "<?xml ?>",
    ] {
        let xml = format!("<r><header>{inside}</header><s>C</s></r>");
        let mut reader = XmlReader::new(&xml);
        let skipped = reader
            .enter_child()
            .and_then(|_| reader.enter_child())
            .and_then(|_| reader.skip());
        assert!(skipped.is_err(), "{xml}: skipped");
    }

    let accepted = [
        "<r><s>&#x0000000043;</s></r>".to_owned(),
        "<r><s>&#0000000000067;</s></r>".to_owned(),
        format!("<r{many}/>"),
        "<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?>\n<r/>\n<!-- after -->"
            .to_owned(),
        "<?xml version=\"1.0\" encoding=\"US-ASCII\"?><r/>".to_owned(),
        "<?xml-stylesheet href=\"a\"?><r><?pi?><?pi  data ?></r>".to_owned(),
        "<r><s>]] > ]>]</s><s><![CDATA[]]]]><![CDATA[>]]></s></r>".to_owned(),
        "<r xmlns:xml=\"http://www.w3.org/XML/1998/namespace\" xml:lang=\"en\"/>".to_owned(),
        "<r xmlns:a=\"urn:a\" xmlns:b=\"urn:b\"><s a:v=\"1\" b:v=\"2\" v=\"3\"/></r>".to_owned(),
        "<r><é\u{B7}x.y-z_9 a\u{300}=\"1\">\u{85}\u{7F}\u{FEFF}</é\u{B7}x.y-z_9></r>".to_owned(),
        "<r><!----><!-- - --></r>".to_owned(),
    ];
    for xml in accepted {
        assert_eq!(read_whole(&xml), Ok(()), "{xml}");
    }
    let mut reader = XmlReader::new("<r><s>&#x0000000043;</s></r>");
    assert!(reader.enter_child().unwrap() && reader.enter_child().unwrap());
    assert_eq!(reader.text().unwrap(), "C");
}

#[test]
fn attributes_are_bounded_and_checked_for_duplicates_beyond_the_inline_ones() {
    let attributes =
        |count: usize| -> String { (0..count).map(|i| format!(" a{i}=\"{i}\"")).collect() };
    assert_eq!(
        read_whole(&format!("<r{}/>", attributes(MAX_ATTRIBUTES))),
        Ok(())
    );
    let error = read_whole(&format!("<r{}/>", attributes(MAX_ATTRIBUTES + 1))).unwrap_err();
    assert!(error.message().contains("more than"), "{error}");
    let twice = format!("<r{} a40=\"again\"/>", attributes(50));
    let error = read_whole(&twice).unwrap_err();
    assert!(error.message().contains("a40 appears twice"), "{error}");
    // The spill of one tag does not linger into the next.
    let xml = format!("<r{}><s a40=\"1\" b=\"2\"/></r>", attributes(50));
    assert_eq!(read_whole(&xml), Ok(()));
}
