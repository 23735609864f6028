//! Single Sign-On exchanges in cassettes: the login's token request (a form post, recorded as
//! NVP's pairs are) and `SSOService.asmx`'s three operations. Each is rebuilt by the code the
//! client sends it with ([`SsoClient::token_request`], [`Soap::operation_request`]) from the
//! fields the cassette holds, compared by meaning with the recorded request, and its recorded
//! answer read by the code the client reads it with. The outcome is what that reading gives:
//! `launched` (or the login's error code), `token_<status>` (`token_complete`, `token_new`,
//! `token_expired`), `transaction_status_<TS>` for a payment's record, or the error code. The
//! key and the token were redacted at record time: placeholders are sent in their place, and
//! a recorded `[redacted]` matches any value.

use bytes::Bytes;
use instamed_soap::bindings::sso::{operations, types};
use instamed_soap::call::{Route, Soap};
use instamed_soap::soap::{Operation, SoapVersion};
use instamed_soap::sso::{SsoAccount, SsoClient, SsoVoid};
use instamed_soap::{Client, Credentials, Protocol, TransactionId, UserName};

use super::cassette::Message;
use super::redact::REDACTED;
use super::wire::response_of;

/// The operations of the Single Sign-On side, as cassettes name them.
const OPERATIONS: [&str; 4] = [
    "SSOLogin",
    "GetSSOTokenStatus",
    "GetTransactionDetails",
    "GetTransactionDetailsByTransactionID",
];

/// Whether `operation` is one of the Single Sign-On side's.
pub(crate) fn is_sso(operation: &str) -> bool {
    OPERATIONS.contains(&operation)
}

/// The request this build sends for a recorded `operation` to `path` whose fields `field`
/// reads (the request's own reader, [`SeenRequest::field`](super::record::SeenRequest::field):
/// an element's text, or a form value for the login), and what it makes of `response`.
pub(crate) fn rebuild(
    protocol: Protocol,
    operation: &str,
    path: &str,
    field: &dyn Fn(&str) -> Option<String>,
    response: &Message,
) -> Result<(http::Request<Bytes>, String), String> {
    let answer = response_of(response);
    if operation == "SSOLogin" {
        return login(field, path, &answer);
    }
    let version = match protocol {
        Protocol::Soap12 => SoapVersion::Soap12,
        _ => SoapVersion::Soap11,
    };
    let uri: http::Uri = format!("http://127.0.0.1{path}")
        .parse()
        .map_err(|error| format!("the recorded target {path:?} is not a path: {error}"))?;
    let route = Route::new(
        &uri,
        &Credentials::new("contract", "contract"),
        UserName::default(),
    )
    .map_err(|error| format!("cannot set up the call: {}", error.report()))?;
    let soap = Soap::new(version, route);
    let (account, alias) = (field("accountID"), field("alias"));
    let (password, token) = (Some(REDACTED.to_owned()), Some(REDACTED.to_owned()));
    match operation {
        "GetSSOTokenStatus" => {
            let mut built = types::GetSsoTokenStatus::default();
            built.token_id = token;
            built.account_id = account;
            built.alias = alias;
            built.password = password;
            call::<operations::GetSsoTokenStatus>(&soap, &built, &answer, |read| {
                let status = read.get_sso_token_status_result.unwrap_or_default();
                format!("token_{}", status.trim().to_ascii_lowercase())
            })
        }
        "GetTransactionDetails" => {
            let mut built = types::GetTransactionDetails::default();
            built.token_id = token;
            built.account_id = account;
            built.alias = alias;
            built.password = password;
            call::<operations::GetTransactionDetails>(&soap, &built, &answer, |read| {
                record_outcome(read.get_transaction_details_result)
            })
        }
        _ => {
            let mut built = types::GetTransactionDetailsByTransactionId::default();
            built.token_id = field("tokenID").map(|_| REDACTED.to_owned());
            built.transaction_id = field("transactionID");
            built.account_id = account;
            built.alias = alias;
            built.password = password;
            call::<operations::GetTransactionDetailsByTransactionId>(
                &soap,
                &built,
                &answer,
                |read| record_outcome(read.get_transaction_details_by_transaction_id_result),
            )
        }
    }
}

/// Builds `O`'s request and reads `answer` as its response, `outcome` naming what was read.
fn call<O: Operation>(
    soap: &Soap,
    request: &O::Request,
    answer: &http::Response<Bytes>,
    outcome: impl FnOnce(O::Response) -> String,
) -> Result<(http::Request<Bytes>, String), String> {
    let mut built = soap
        .operation_request::<O>(request)
        .map_err(|error| format!("the client cannot build the request: {}", error.report()))?;
    // SSOService takes its credentials in the body: the client sends no Basic header.
    built.headers_mut().remove(http::header::AUTHORIZATION);
    let read = soap
        .read::<O>(answer)
        .map_or_else(|error| error.code().to_owned(), outcome);
    Ok((built, read))
}

/// A payment's record named by its status: the verdict needs the payment, which a token's
/// exchange does not name.
fn record_outcome(record: Option<types::BasePaymentDetailedResponse>) -> String {
    let status = record
        .and_then(|record| record.transaction_status)
        .unwrap_or_default();
    match status.trim() {
        "" => "transaction_status_none".to_owned(),
        status => format!("transaction_status_{}", status.to_ascii_lowercase()),
    }
}

/// The token request as the client builds it from the recorded form, and the launch it reads
/// from the recorded answer.
fn login(
    form: &dyn Fn(&str) -> Option<String>,
    path: &str,
    answer: &http::Response<Bytes>,
) -> Result<(http::Request<Bytes>, String), String> {
    let payment = TransactionId::new(form("transactionID").unwrap_or_default())
        .map_err(|error| format!("its transactionID is invalid: {error}"))?;
    let origin = "http://127.0.0.1";
    let client = Client::builder(format!(
        "{origin}/providers/Forms/WebServices/SSOService.asmx"
    ))
    .allow_plain_http_on_loopback(true);
    // Not `[redacted]`: the client refuses a launch URL holding its key, and the recorded
    // URL holds that placeholder where the token was. The recorded key matches any value.
    let account = SsoAccount::new(
        form("accountID").unwrap_or_default(),
        form("ssoAlias").unwrap_or_default(),
        "contract-verify",
    );
    let sso = SsoClient::new(client, format!("{origin}{path}"), account)
        .map_err(|error| format!("cannot set up the call: {}", error.report()))?;
    let mut void = SsoVoid::new(payment);
    if let Some(page) = form("RelayState") {
        void.page = page;
    }
    void.confirm_url = form("confirmURL");
    void.cancel_url = form("cancelURL");
    void.user_name = form("userName");
    let built = sso.token_request(&void);
    let outcome = sso
        .launched(&void, answer)
        .map_or_else(|error| error.code().to_owned(), |_| "launched".to_owned());
    Ok((built, outcome))
}
