//! The service's addresses as a user writes them: checked, and shown without secrets.

use http::Uri;

use crate::error::{Error, config, config_with};
use crate::sensitive::redacted_url;

/// Parses `url`, the address called `what` in messages, refusing credentials written in it:
/// HTTP Basic credentials belong in [`Credentials`](crate::Credentials), where they are kept
/// out of logs; in a URL they would be sent nowhere and shown everywhere.
pub(crate) fn parse(url: &str, what: &str) -> Result<Uri, Error> {
    let uri = parse_authority(url, what)?;
    // An `@` before the query, wherever a parser put it, is `user:password@` typed in: a
    // password with a `/` in it would otherwise land in the path, and its user in the host.
    let before_query = url.split(['?', '#']).next().unwrap_or(url);
    if before_query.contains('@') {
        return Err(config(format!(
            "{what} {} has credentials in it: give them as the account ID and password \
             (INSTAMED_ACCOUNT_ID, INSTAMED_PASSWORD), never in the URL",
            redacted_url(url)
        )));
    }
    Ok(uri)
}

/// Parses `url` and checks that its authority is a host and, if any, a numeric port: `http`
/// takes `user:pass` for `host:port` when the password's `/` cut the authority short, and the
/// account ID would then be looked up as a host name.
pub(crate) fn parse_authority(url: &str, what: &str) -> Result<Uri, Error> {
    let uri: Uri = url
        .parse()
        .map_err(|e| config_with(format!("{what} {} is not a URL", redacted_url(url)), e))?;
    if let Some(authority) = uri.authority()
        && has_colon_after_host(authority.as_str())
        && authority.port_u16().is_none()
    {
        return Err(config(format!(
            "{what} {} has a port that is not a number (percent-encode a /, ? or # in a \
             password: unencoded, it ends the host part early)",
            redacted_url(url)
        )));
    }
    Ok(uri)
}

/// Whether the host part of `authority` (after any `user:password@`, outside an IPv6
/// literal's brackets) is followed by a `:`, which must then open a numeric port.
fn has_colon_after_host(authority: &str) -> bool {
    let host_and_port = authority.rsplit('@').next().unwrap_or(authority);
    let after_literal = match host_and_port.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or("", |(_, after)| after),
        None => host_and_port,
    };
    after_literal.contains(':')
}

/// Whether `endpoint` is InstaMed's NVP page (`…/NVP.aspx`) rather than `service.asmx`.
pub(crate) fn is_nvp_page(endpoint: &Uri) -> bool {
    sibling(endpoint, "NVP.aspx").is_some()
}

/// `service.asmx` beside the NVP page `endpoint`, where the typed SOAP calls of an NVP client go.
pub(crate) fn soap_beside_nvp(endpoint: &Uri) -> Option<Uri> {
    let dir = sibling(endpoint, "NVP.aspx")?;
    let authority = endpoint.authority().map_or("", |a| a.as_str());
    let scheme = endpoint.scheme_str().unwrap_or("https");
    format!("{scheme}://{authority}{dir}service.asmx")
        .parse()
        .ok()
}

/// The directory part of `endpoint`'s path when its last segment is `page` (any case).
fn sibling<'a>(endpoint: &'a Uri, page: &str) -> Option<&'a str> {
    let path = endpoint.path();
    path.len()
        .checked_sub(page.len())
        .filter(|&at| path.is_char_boundary(at))
        .filter(|&at| path[at..].eq_ignore_ascii_case(page))
        .filter(|&at| at > 0 && path.as_bytes()[at - 1] == b'/')
        .map(|at| &path[..at])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_hides_user_and_password_and_keeps_the_rest() {
        assert_eq!(
            redacted_url("https://user:pa55@host:8443/payment/service.asmx"),
            "https://***@host:8443/payment/service.asmx"
        );
        // A `/` in the password: the parser's authority ends early; the redact does not.
        assert_eq!(
            redacted_url("https://user:pa/55@host:8443/payment/service.asmx"),
            "https://***@host:8443/payment/service.asmx"
        );
        assert_eq!(redacted_url("user:pw@proxy:3128"), "***@proxy:3128");
        assert_eq!(redacted_url("http://proxy:3128"), "http://proxy:3128");
        assert_eq!(redacted_url("https://a@b@host/"), "https://***@host/");
        assert_eq!(
            redacted_url("https://host/cards/4111-1111-1111-1111/x?pan=4111111111111111"),
            "https://host/cards/[redacted]/x?pan=[redacted]"
        );
    }

    #[test]
    fn credentials_in_an_address_are_refused_and_never_echoed() {
        let error = parse("https://acct:s3cret@host/payment/service.asmx", "endpoint")
            .unwrap_err()
            .to_string();
        assert!(
            !error.contains("s3cret") && !error.contains("acct"),
            "{error}"
        );
        assert!(
            error.contains("https://***@host/payment/service.asmx"),
            "{error}"
        );
        for url in [
            "https://acct:s3/cret@host/payment/service.asmx",
            "https://acct:s3?cret@host/payment/service.asmx",
            "https://acct:s3#cret@host/payment/service.asmx",
            "https://127.0.0.1:s3cret/x@host/payment/service.asmx",
        ] {
            let error = parse(url, "endpoint").unwrap_err().to_string();
            assert!(
                !error.contains("s3") && !error.contains("cret") && !error.contains("acct"),
                "{url}: {error}"
            );
        }
        let error = parse("https://acct:s3cret@ho st/", "endpoint")
            .unwrap_err()
            .to_string();
        assert!(
            !error.contains("s3cret") && !error.contains("acct"),
            "{error}"
        );
    }

    #[test]
    fn the_soap_address_beside_an_nvp_page() {
        let nvp: Uri = "https://h:1/payment/nvp.aspx".parse().unwrap();
        assert!(is_nvp_page(&nvp));
        assert_eq!(
            soap_beside_nvp(&nvp).unwrap(),
            "https://h:1/payment/service.asmx"
        );
        let other: Uri = "https://h/payment/MyNVP.aspx".parse().unwrap();
        assert!(!is_nvp_page(&other));
    }
}
