//! The operator pages over real HTTPS, as a browser without JavaScript uses them (forms,
//! cookies, redirects): who gets in, forms without their session's token, hostile text, and the
//! headers every answer carries. `cli/tests/cli/ops_browser.rs` drives them in Chromium.

use http::Method;
use instamed_soap::TransactionId;
use instamed_soap_gateway::Clients;
use instamed_soap_ledger::{Ledger, Verdict};
use instamed_soap_simulator::FaultPlan;
use instamed_soap_test_support::postgres::PgCluster;
use instamed_soap_test_support::raw_https::{self, RawResponse, Target};

use crate::erp::{Bench, CLIENT, SECRET, Stack, text, void_fields};

const OPERATOR: &str = "j.doe";
const OPERATOR_SECRET: &str = "operator-own-secret-2b7d";

/// A browser's cookies and the last form token it saw.
#[derive(Default)]
struct Browser {
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Keeps what `Set-Cookie` says, as a browser does (an empty value removes the cookie).
    fn keep(&mut self, answer: &RawResponse) {
        for set in answer.header_values("set-cookie") {
            let pair = set.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            self.cookies.retain(|(kept, _)| kept != name);
            if !value.is_empty() {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    async fn get(&mut self, bench: &Bench, path: &str) -> RawResponse {
        self.send(bench, Method::GET, path, &[], "").await
    }

    async fn post(&mut self, bench: &Bench, path: &str, form: &[(&str, &str)]) -> RawResponse {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.send(
            bench,
            Method::POST,
            path,
            &[("content-type", "application/x-www-form-urlencoded")],
            &body,
        )
        .await
    }

    async fn send(
        &mut self,
        bench: &Bench,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> RawResponse {
        let gateway = bench.gateway();
        let host = raw_https::host(&gateway.ops_url());
        let cookie = self.cookie_header();
        let mut all = headers.to_vec();
        if !cookie.is_empty() {
            all.push(("cookie", &cookie));
        }
        let answer = raw_https::send_to(
            Target {
                addr: gateway.local_addr(),
                host: &host,
                ca: gateway.ca_path(),
            },
            method,
            path,
            &all,
            body.to_owned(),
        )
        .await
        .expect("an answer from the gateway");
        self.keep(&answer);
        answer
    }

    /// Signs in through the form as `name`: the answer to the form's post.
    async fn sign_in(&mut self, bench: &Bench, name: &str, secret: &str) -> RawResponse {
        let form = self.get(bench, "/ops/login").await;
        let csrf = csrf_of(&form.body);
        self.post(
            bench,
            "/ops/login",
            &[("name", name), ("secret", secret), ("csrf", &csrf)],
        )
        .await
    }
}

/// The form token a page carries.
fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("a form with a token") + marker.len();
    page[start..]
        .split('"')
        .next()
        .expect("the token")
        .to_owned()
}

fn operators() -> Clients {
    let mut operators = Clients::new().expect("operators");
    operators
        .add_pair(&format!("{OPERATOR}:{OPERATOR_SECRET}"))
        .expect("an operator");
    operators
}

/// A gateway with the operator pages on the ledger at `ledger` (default: a file), and a
/// refund of `payment` whose answer was lost (the simulator made it, and cut its answer
/// short): on hold for a person.
async fn refund_on_hold(
    ledger: Option<String>,
) -> (Bench, TransactionId, Vec<(&'static str, String)>) {
    let faults = FaultPlan::default()
        .with_truncate_rate(1.0)
        .with_max_faults(1);
    let bench = Bench::with_operators(faults, operators(), ledger).await;
    let payment = bench.payment("20.00");
    let mut fields = void_fields(&payment);
    fields.retain(|(name, _)| *name != "PrimaryCardPresentStatus");
    fields.push(("Amount", "5.00".to_owned()));
    let lost = bench
        .ask(Stack::DotNet11, "DoCreditCardSimpleRefund", &fields)
        .await;
    assert!(lost.body.contains("RefundOnHold"), "{}", lost.body);
    assert_eq!(bench.refunds_at_instamed(&payment), 1);
    (bench, payment, fields)
}

/// Whether the hostile note's script tag is on the page as text: escaped, as askama writes
/// `<` and `>` (`&#60;`, `&#62;`) or as named entities.
fn shown_as_text(page: &str) -> bool {
    page.contains("&#60;script&#62;") || page.contains("&lt;script&gt;")
}

/// The entry the list offers to settle.
fn first_entry(list: &str) -> String {
    let start = list.find("/ops/entries/").expect("an entry to settle") + "/ops/entries/".len();
    list[start..]
        .split('/')
        .next()
        .expect("its number")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_pages_let_in_only_an_operator_signed_in_through_the_form() {
    let bench = Bench::with_operators(FaultPlan::default(), operators(), None).await;
    let mut stranger = Browser::default();
    let list = stranger.get(&bench, "/ops").await;
    assert_eq!(list.status, 303);
    assert_eq!(list.header("location"), "/ops/login");
    let post = stranger
        .post(&bench, "/ops/entries/1/settle", &[("found", "nothing")])
        .await;
    assert_eq!(post.status, 403, "{}", post.body);

    // An ERP client's Basic credentials are not an operator's sign-in.
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{CLIENT}:{SECRET}")
        )
    );
    let with_basic = stranger
        .send(
            &bench,
            Method::GET,
            "/ops",
            &[("authorization", &basic)],
            "",
        )
        .await;
    assert_eq!(with_basic.status, 303);
    // Nor are its name and secret an operator's.
    let as_client = stranger.sign_in(&bench, CLIENT, SECRET).await;
    assert_eq!(as_client.status, 401, "{}", as_client.body);
    let wrong = stranger.sign_in(&bench, OPERATOR, "not-the-secret").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("do not match"), "{}", wrong.body);
    assert_eq!(stranger.get(&bench, "/ops").await.status, 303);
    // A cookie made up by hand is no session.
    stranger
        .cookies
        .push(("__Host-ops-session".to_owned(), "made-up".to_owned()));
    assert_eq!(stranger.get(&bench, "/ops").await.status, 303);

    // An operator's credentials open no ERP door.
    let soap = bench
        .post_as(Some((OPERATOR, OPERATOR_SECRET)), &[], "<x/>")
        .await;
    assert_eq!(soap.status, 401);

    let mut operator = Browser::default();
    let signed_in = operator.sign_in(&bench, OPERATOR, OPERATOR_SECRET).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert_eq!(signed_in.header("location"), "/ops");
    let list = operator.get(&bench, "/ops").await;
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains("Nothing waits for a person"),
        "{}",
        list.body
    );

    // Signed out, the same cookie opens nothing.
    let kept = operator.cookies.clone();
    let csrf = csrf_of(&list.body);
    let out = operator
        .post(&bench, "/ops/logout", &[("csrf", &csrf)])
        .await;
    assert_eq!(out.status, 303);
    operator.cookies = kept;
    assert_eq!(operator.get(&bench, "/ops").await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_without_its_sessions_token_is_refused_and_records_nothing() {
    let (bench, _payment, _fields) = refund_on_hold(None).await;
    let mut operator = Browser::default();
    operator.sign_in(&bench, OPERATOR, OPERATOR_SECRET).await;
    let list = operator.get(&bench, "/ops").await;
    let entry = first_entry(&list.body);
    let settle = format!("/ops/entries/{entry}/settle");

    // Another session's token (a second sign-in of the same operator), and none at all.
    let mut other = Browser::default();
    other.sign_in(&bench, OPERATOR, OPERATOR_SECRET).await;
    let others = csrf_of(&other.get(&bench, "/ops").await.body);
    let base = [
        ("found", "nothing"),
        ("note", "forged: no refund on the portal"),
    ];
    for token in [None, Some(others.as_str()), Some("")] {
        let mut form = base.to_vec();
        if let Some(token) = token {
            form.push(("csrf", token));
        }
        let refused = operator.post(&bench, &settle, &form).await;
        assert_eq!(refused.status, 403, "{token:?}: {}", refused.body);
        assert!(refused.body.contains("Nothing was recorded"));
    }
    // A sign-in form posted without the cookie its page set (a forged sign-in) is refused too.
    let form = operator.get(&bench, "/ops/login").await;
    let mut forger = Browser::default();
    let forged = forger
        .post(
            &bench,
            "/ops/login",
            &[
                ("name", OPERATOR),
                ("secret", OPERATOR_SECRET),
                ("csrf", &csrf_of(&form.body)),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);

    let ledger = Ledger::open_to_read(bench.ledger_path()).expect("the ledger");
    let held = ledger
        .entry(entry.parse().expect("a number"))
        .expect("read")
        .expect("the entry");
    assert_eq!(held.verdict, Some(Verdict::RefundUnknown));
    assert_eq!(held.settled_by, None, "a refused form recorded something");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_note_is_shown_as_text_and_the_erps_next_refund_gets_what_the_operator_recorded()
{
    a_hostile_note_and_the_operators_record_on(None).await;
}

/// The operator pages on a PostgreSQL ledger (issue 24): listed, settled by hand, and the
/// ERP's next refund answered with what the operator recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_postgresql_ledger_the_erps_next_refund_gets_what_the_operator_recorded() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    a_hostile_note_and_the_operators_record_on(Some(cluster.database())).await;
}

/// A hostile note is shown as text, and the ERP's next refund gets the refund the operator
/// recorded, on the ledger at `ledger` (default: a file).
async fn a_hostile_note_and_the_operators_record_on(ledger: Option<String>) {
    let (bench, payment, fields) = refund_on_hold(ledger).await;
    let mut operator = Browser::default();
    operator.sign_in(&bench, OPERATOR, OPERATOR_SECRET).await;
    let list = operator.get(&bench, "/ops?kind=refund_unknown").await;
    assert!(list.body.contains(payment.as_str()), "{}", list.body);
    assert!(list.body.contains(CLIENT), "the client that asked is shown");
    let entry = first_entry(&list.body);
    let settle = format!("/ops/entries/{entry}/settle");
    let form = operator.get(&bench, &settle).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = csrf_of(&form.body);

    // A refund ID that is not one is refused, and the note kept for a second try.
    let hostile = "<script>alert('x')</script><img src=x onerror=alert(1)> \"quoted\" & more";
    let bad_id = operator
        .post(
            &bench,
            &settle,
            &[
                ("found", "refunded"),
                ("refund_id", "<b>R1</b>"),
                ("note", hostile),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(bad_id.status, 400);
    let card = operator
        .post(
            &bench,
            &settle,
            &[
                ("found", "refunded"),
                ("refund_id", "4111111111111111"),
                ("note", "typed the card"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(card.status, 400);
    assert!(card.body.contains("card number"), "{}", card.body);
    assert!(!card.body.contains("4111111111111111"), "{}", card.body);
    assert!(!bad_id.body.contains("<script>"), "{}", bad_id.body);
    assert!(shown_as_text(&bad_id.body), "{}", bad_id.body);

    let refund_id = bench
        .simulator
        .ledger()
        .payments()
        .into_iter()
        .find(|p| p.refund_of.as_ref() == Some(&payment))
        .expect("the refund InstaMed made")
        .id;
    let settled = operator
        .post(
            &bench,
            &settle,
            &[
                ("found", "refunded"),
                ("refund_id", refund_id.as_str()),
                ("note", hostile),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(settled.status, 303, "{}", settled.body);
    let history = operator.get(&bench, settled.header("location")).await;
    assert_eq!(history.status, 200);
    assert!(
        history.body.contains("is settled by hand"),
        "{}",
        history.body
    );
    assert!(shown_as_text(&history.body), "{}", history.body);
    for markup in ["<script", "<img", "onerror=alert(1)>"] {
        assert!(!history.body.contains(markup), "{markup} unescaped");
    }
    assert!(
        history
            .body
            .contains(&format!("settled by hand by {OPERATOR}"))
    );

    // The ERP asks again, as it does: the refund the operator recorded, nothing sent.
    let again = bench
        .ask(Stack::DotNet11, "DoCreditCardSimpleRefund", &fields)
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(text(&again, "TransactionStatus").as_deref(), Some("C"));
    assert_eq!(
        text(&again, "TransactionID").as_deref(),
        Some(refund_id.as_str())
    );
    assert_eq!(bench.refunds_at_instamed(&payment), 1);
    assert!(
        operator
            .get(&bench, "/ops")
            .await
            .body
            .contains("Nothing waits")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_under_ops_carries_the_policy_and_its_cookies_are_httponly_secure_strict() {
    let (bench, payment, _fields) = refund_on_hold(None).await;
    let mut operator = Browser::default();
    let login = operator.get(&bench, "/ops/login").await;
    let signed_in = operator.sign_in(&bench, OPERATOR, OPERATOR_SECRET).await;
    let list = operator.get(&bench, "/ops").await;
    let history = operator
        .get(&bench, &format!("/ops/payments/{payment}"))
        .await;
    let style = operator.get(&bench, "/ops/style.css").await;
    let missing = operator.get(&bench, "/ops/nothing-here").await;
    assert_eq!(missing.status, 404);
    for answer in [&login, &signed_in, &list, &history, &style, &missing] {
        let policy = answer.header("content-security-policy");
        for part in [
            "default-src 'none'",
            "style-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(policy.contains(part), "{part} missing from {policy:?}");
        }
        assert!(!policy.contains("script-src"), "no script is ever allowed");
        assert_eq!(answer.header("x-frame-options"), "DENY");
        assert_eq!(answer.header("x-content-type-options"), "nosniff");
        assert_eq!(answer.header("cache-control"), "no-store");
    }
    for page in [&login, &list, &history] {
        assert!(!page.body.contains("<script"), "{}", page.body);
        assert!(
            !page.body.contains("://"),
            "an external asset: {}",
            page.body
        );
    }
    for form in [&login, &list] {
        assert!(
            form.body.contains("<label for="),
            "unlabelled: {}",
            form.body
        );
    }
    let cookies: Vec<&str> = login
        .header_values("set-cookie")
        .into_iter()
        .chain(signed_in.header_values("set-cookie"))
        .collect();
    assert!(
        cookies
            .iter()
            .any(|cookie| cookie.starts_with("__Host-ops-session=")),
        "{cookies:?}"
    );
    for cookie in cookies {
        for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(flag), "{flag} missing from {cookie}");
        }
        assert!(cookie.starts_with("__Host-"), "{cookie}");
    }
}
