//! What `service.asmx` shows a browser: the WSDL (`?WSDL`), the service page, and one help page
//! per operation (`?op=Name`) with sample SOAP 1.1 and 1.2 exchanges, as ASP.NET writes them.

use std::sync::LazyLock;

use http::StatusCode;

use instamed_soap::soap::{Child, Content, Occurs, SoapVersion};

use super::super::reply::{HTML, HttpResponse, page, reply};
use super::schema::{NAMESPACE, OPERATIONS, OperationInfo, by_name};
use instamed_soap::soap::{escaped, push_escaped};

/// The WSDL the bindings were generated from (the one `INSTAMED_WSDL` named, if set), served
/// as is but for its addresses (see [`wsdl`]); `build.rs` puts a copy beside the bindings.
pub(crate) const WSDL: &str = include_str!(concat!(env!("OUT_DIR"), "/service.wsdl"));

/// [`WSDL`] cut around the `location` of every port's address, so that each answer puts the
/// address it was fetched from there. The whole text if it does not parse (build.rs parsed it,
/// so it does).
static WSDL_AROUND_ADDRESSES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let Some(locations) = instamed_soap_listener::wsdl::address_locations(WSDL) else {
        return vec![WSDL];
    };
    let mut pieces = Vec::with_capacity(locations.len() + 1);
    let mut from = 0;
    for range in locations {
        pieces.push(WSDL.get(from..range.start).unwrap_or(""));
        from = range.end;
    }
    pieces.push(WSDL.get(from..).unwrap_or(""));
    pieces
});

/// The service's WSDL, every port's address being `address`, the URL it was fetched from
/// [asmx]: ASP.NET does not serve a WSDL file but describes the service it runs, at the URL
/// of the request (`DiscoveryServerProtocol` reflects the service with `Request.Url` less its
/// query, for each scheme, host and port it is asked at). A client generated from the
/// simulator's WSDL therefore calls the simulator, never production. Everything else is the
/// file as it is.
pub(crate) fn wsdl(address: &str) -> HttpResponse {
    let pieces = &*WSDL_AROUND_ADDRESSES;
    let mut out = String::with_capacity(WSDL.len() + pieces.len() * address.len());
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 {
            push_escaped(&mut out, address);
        }
        out.push_str(piece);
    }
    reply(StatusCode::OK, "text/xml; charset=utf-8", out)
}

/// The service page, listing the operations.
pub(crate) fn service_page() -> HttpResponse {
    let mut html = String::from(
        "<!DOCTYPE html><html><head><title>Service Web Service</title></head><body>\
         <h1>Service</h1><p>The following operations are supported. For a formal definition, \
         please review the <a href=\"service.asmx?WSDL\">Service Description</a>.</p><ul>",
    );
    for op in &OPERATIONS {
        let name = escaped(op.name);
        html.push_str(&format!(
            "<li><a href=\"service.asmx?op={name}\">{name}</a></li>"
        ));
    }
    html.push_str("</ul></body></html>");
    reply(StatusCode::OK, HTML, html)
}

/// The help page of operation `name`, or a not-found page.
pub(crate) fn operation_page(name: &str, host: &str) -> HttpResponse {
    let Some(op) = by_name(name) else {
        return page(
            StatusCode::NOT_FOUND,
            "The resource cannot be found.",
            &format!("Service does not have an operation named {name}."),
        );
    };
    let mut html = String::with_capacity(8192);
    html.push_str("<!DOCTYPE html><html><head><title>Service Web Service</title></head><body>");
    html.push_str("<h1>Service</h1><p>Click <a href=\"service.asmx\">here</a> for a complete list of operations.</p><h2>");
    push_escaped(&mut html, op.name);
    html.push_str("</h2>");
    for version in [SoapVersion::Soap11, SoapVersion::Soap12] {
        let title = match version {
            SoapVersion::Soap12 => "SOAP 1.2",
            _ => "SOAP 1.1",
        };
        html.push_str("<h3>");
        html.push_str(title);
        html.push_str("</h3><p>The following is a sample ");
        html.push_str(title);
        html.push_str(
            " request and response. The <b>placeholders</b> shown need to be replaced with \
             actual values.",
        );
        html.push_str("</p><pre>");
        push_escaped(&mut html, &sample_request(op, version, host));
        html.push_str("</pre><pre>");
        push_escaped(&mut html, &sample_response(op, version));
        html.push_str("</pre>");
    }
    html.push_str("</body></html>");
    reply(StatusCode::OK, HTML, html)
}

fn envelope(version: SoapVersion, body: &str) -> String {
    let p = match version {
        SoapVersion::Soap12 => "soap12",
        _ => "soap",
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <{p}:Envelope xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:{p}=\"{}\">\n  <{p}:Body>\n{body}  \
         </{p}:Body>\n</{p}:Envelope>",
        version.envelope_namespace()
    )
}

/// Nesting shown at most: a type that contains itself is cut there.
const MAX_SAMPLE_DEPTH: usize = 8;

/// `<name>` as ASP.NET's help pages show it: a leaf holds its type's name (`string`,
/// `boolean`) or its values joined by `or`; a complex element holds one line per child, and
/// a repeated child is shown twice.
fn sample_element(out: &mut String, name: &str, content: Content, depth: usize) {
    let indent = "  ".repeat(depth + 3);
    match content {
        Content::Elements(children) if depth < MAX_SAMPLE_DEPTH => {
            out.push_str(&format!("{indent}<{name}>\n"));
            for child in children {
                let times = if child.occurs == Occurs::Many { 2 } else { 1 };
                for _ in 0..times {
                    sample_element(out, child.name, (child.content)(), depth + 1);
                }
            }
            out.push_str(&format!("{indent}</{name}>\n"));
        }
        Content::Elements(_) => out.push_str(&format!("{indent}<{name} />\n")),
        Content::Enumeration(values) => {
            out.push_str(&format!(
                "{indent}<{name}>{}</{name}>\n",
                values.join(" or ")
            ));
        }
        Content::Text(kind) => out.push_str(&format!("{indent}<{name}>{kind}</{name}>\n")),
        // A kind of content the bindings learn later: shown as its name, with nothing inside.
        _ => out.push_str(&format!("{indent}<{name} />\n")),
    }
}

/// A wrapper element and its children.
fn sample_wrapper(wrapper: &str, children: &[Child]) -> String {
    let mut out = format!("    <{wrapper} xmlns=\"{NAMESPACE}\">\n");
    for child in children {
        sample_element(&mut out, child.name, (child.content)(), 0);
    }
    out.push_str(&format!("    </{wrapper}>\n"));
    out
}

fn sample_request(op: &OperationInfo, version: SoapVersion, host: &str) -> String {
    let headers = match version {
        SoapVersion::Soap12 => "Content-Type: application/soap+xml; charset=utf-8\n".to_owned(),
        _ => format!(
            "Content-Type: text/xml; charset=utf-8\nSOAPAction: \"{}\"\n",
            op.soap11_action.unwrap_or_default()
        ),
    };
    let body = sample_wrapper(op.request_element, op.request);
    format!(
        "POST /payment/service.asmx HTTP/1.1\nHost: {host}\n{headers}Content-Length: length\n\n{}",
        envelope(version, &body)
    )
}

fn sample_response(op: &OperationInfo, version: SoapVersion) -> String {
    let content_type = match version {
        SoapVersion::Soap12 => "application/soap+xml; charset=utf-8",
        _ => "text/xml; charset=utf-8",
    };
    let body = sample_wrapper(op.response_element, op.response);
    format!(
        "HTTP/1.1 200 OK\nContent-Type: {content_type}\nContent-Length: length\n\n{}",
        envelope(version, &body)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const XS: &str = "http://www.w3.org/2001/XMLSchema";

    /// Every element name below complex type `name` in the WSDL, base types first, nested
    /// named types followed.
    fn names_below(doc: &roxmltree::Document<'_>, name: &str, out: &mut Vec<String>) {
        let Some(ty) = doc
            .descendants()
            .find(|n| n.has_tag_name((XS, "complexType")) && n.attribute("name") == Some(name))
        else {
            return; // a simple type: a leaf
        };
        if let Some(base) = ty
            .descendants()
            .find(|n| n.has_tag_name((XS, "extension")))
            .and_then(|n| n.attribute("base"))
        {
            names_below(doc, base.trim_start_matches("tns:"), out);
        }
        for element in ty.descendants().filter(|n| n.has_tag_name((XS, "element"))) {
            out.push(element.attribute("name").unwrap().to_owned());
            if let Some(child_type) = element
                .attribute("type")
                .and_then(|t| t.strip_prefix("tns:"))
            {
                names_below(doc, child_type, out);
            }
        }
    }

    /// Only the addresses' `location` values change, escaped; the rest is the file.
    #[test]
    fn the_wsdl_changes_only_its_addresses() {
        let served = wsdl("http://a.test/x?y=1&z=2");
        let served = std::str::from_utf8(served.body()).unwrap();
        let mut expected = WSDL.to_owned();
        let doc = roxmltree::Document::parse(WSDL).unwrap();
        for node in doc
            .descendants()
            .filter(|n| n.tag_name().name() == "address")
        {
            let location = node.attribute("location").unwrap();
            expected = expected.replace(
                &format!("location=\"{location}\""),
                "location=\"http://a.test/x?y=1&amp;z=2\"",
            );
        }
        assert_eq!(served, expected);
        assert!(!served.contains("location=\"https://connect.instamed.com"));
    }

    /// Whatever WSDL the crate was built from, each operation's page shows every field of its
    /// request and its result, nested ones included, as elements in the sample envelopes.
    #[test]
    fn help_pages_show_every_field_of_the_wsdl() {
        let doc = roxmltree::Document::parse(WSDL).unwrap();
        for op in &OPERATIONS {
            let page = String::from_utf8(operation_page(op.name, "localhost").into_body().to_vec())
                .unwrap();
            for wrapper in [op.request_element, op.response_element] {
                let element = doc
                    .descendants()
                    .find(|n| {
                        n.has_tag_name((XS, "element")) && n.attribute("name") == Some(wrapper)
                    })
                    .unwrap();
                let mut names = Vec::new();
                for child in element
                    .descendants()
                    .skip(1)
                    .filter(|n| n.has_tag_name((XS, "element")))
                {
                    names.push(child.attribute("name").unwrap().to_owned());
                    if let Some(ty) = child.attribute("type").and_then(|t| t.strip_prefix("tns:")) {
                        names_below(&doc, ty, &mut names);
                    }
                }
                assert!(
                    names.len() > 1 || op.name == "DoECheckVoidByTransactionID",
                    "{wrapper}"
                );
                for name in names {
                    assert!(
                        page.contains(&format!("&lt;{name}&gt;"))
                            || page.contains(&format!("&lt;{name} /&gt;")),
                        "{}: {name} is not on the page",
                        op.name
                    );
                }
            }
        }
    }
}
