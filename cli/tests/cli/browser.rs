//! A person in a real browser: headless Chromium, driven over WebDriver (chromedriver), opens
//! the URL `instamed-soap sso void` prints, clicks on the simulator's page, and the command's
//! poll reports what they did, with the simulator's ledger agreeing. Screenshots of each page
//! are kept under `target/tmp/sso-screenshots/` for a person to look at.
//!
//! Chromium and chromedriver come from Debian (`chromium`, `chromium-driver`; `.ci/run`
//! installs them). Without them the test says so loudly and passes on a developer's machine,
//! but fails under CI (`CI` set), where a browser that went missing must not pass unseen.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client as Browser, ClientBuilder, Locator};
use instamed_soap_simulator::{
    DEMO_ACCOUNT_ID, DEMO_SSO_ALIAS, PaymentStatus, Simulator, SimulatorConfig,
};

use crate::sso::{finished, launch, outlet, sso};

/// The browser and its driver, where Debian puts them.
pub(crate) fn browser_paths() -> Option<(PathBuf, PathBuf)> {
    let find = |names: &[&str]| {
        names
            .iter()
            .map(PathBuf::from)
            .find(|path| path.is_file())
            .or_else(|| {
                let path = std::env::var_os("PATH")?;
                std::env::split_paths(&path)
                    .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
                    .find(|candidate| candidate.is_file())
            })
    };
    let chromium = find(&["/usr/bin/chromium", "chromium", "chromium-browser"])?;
    let driver = find(&["/usr/bin/chromedriver", "chromedriver"])?;
    Some((chromium, driver))
}

/// chromedriver on a free loopback port, with a profile folder of its own; stopped on drop.
pub(crate) struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
    chromium: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    pub(crate) fn start(chromium: PathBuf, driver: &Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        Driver {
            child,
            port,
            _profile: tempfile::tempdir().expect("a profile folder"),
            chromium,
        }
    }

    /// A browser session: headless Chromium with nothing that phones home, in a profile of
    /// its own. The simulator's certificate comes from a CA made at its start, which this
    /// throwaway profile is told to accept (WebDriver's `acceptInsecureCerts`) rather than
    /// have it installed in a system store.
    pub(crate) async fn session(&self) -> Browser {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("acceptInsecureCerts".to_owned(), true.into());
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({
                "binary": self.chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--no-first-run",
                    "--disable-component-update",
                    "--disable-sync",
                    "--window-size=900,700",
                    format!("--user-data-dir={}", self._profile.path().display()),
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{}", self.port);
        // chromedriver takes a moment to listen; a bounded number of tries, not a timed test.
        let mut last = None;
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(browser) => return browser,
                Err(error) => last = Some(error),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no WebDriver session: {last:?}");
    }
}

/// Where a test's screenshots are kept: `folder` under the build's scratch directory.
pub(crate) fn screenshots(folder: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(folder);
    std::fs::create_dir_all(&dir).expect("a screenshot folder");
    dir
}

/// Keeps a screenshot of the page as `folder/name.png`.
pub(crate) async fn screenshot_in(browser: &Browser, folder: &str, name: &str) {
    let png = browser.screenshot().await.expect("a screenshot");
    std::fs::write(screenshots(folder).join(format!("{name}.png")), png).expect("write it");
}

async fn screenshot(browser: &Browser, name: &str) {
    screenshot_in(browser, "sso-screenshots", name).await;
}

/// Clicks what `at` finds on the page (a link, a button).
pub(crate) async fn click(browser: &Browser, at: Locator<'_>) {
    browser
        .find(at)
        .await
        .expect("the element")
        .click()
        .await
        .expect("a click");
}

/// Waits until the browser is on a page whose path ends with `path`: a click that submits a
/// form may return before the navigation it starts is over. A bounded number of looks.
pub(crate) async fn until_at(browser: &Browser, path: &str) -> String {
    let mut url = String::new();
    for _ in 0..200 {
        url = browser.current_url().await.expect("a URL").to_string();
        let at = url.split(['?', '#']).next().unwrap_or_default();
        if at.ends_with(path) {
            return url;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the browser stayed at {url}, not at …{path}");
}

pub(crate) async fn body_text(browser: &Browser) -> String {
    browser
        .find(Locator::Css("body"))
        .await
        .expect("a body")
        .text()
        .await
        .expect("its text")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_in_a_real_browser_voids_cancels_and_meets_refusals_as_the_cli_reports_them() {
    let Some((chromium, driver)) = browser_paths() else {
        let message = "BROWSER MISSING: chromium and chromedriver (Debian's chromium and \
                       chromium-driver) are not installed, so the real-browser SSO test did not \
                       run; .ci/run installs them";
        assert!(std::env::var_os("CI").is_none(), "{message}");
        eprintln!("\n!!! {message} !!!\n");
        return;
    };
    let driver = Driver::start(chromium, &driver);
    let browser = driver.session().await;
    let simulator = Simulator::start(SimulatorConfig::default()).await.unwrap();
    let done = format!("{}/health", simulator.origin());

    // Void: the page's button voids, the command reports it, the ledger agrees.
    let payment = simulator
        .ledger()
        .create_payment(&outlet(), "25.00")
        .unwrap();
    let (running, url) = launch(&simulator, payment.as_str(), &["--return-url", &done]);
    browser.goto(&url).await.expect("the page opens");
    let page = body_text(&browser).await;
    assert!(
        page.contains(payment.as_str()) && page.contains("$25.00"),
        "{page}"
    );
    screenshot(&browser, "1-void-page").await;
    click(&browser, Locator::Id("void")).await;
    until_at(&browser, "/health").await;
    let (status, stdout, stderr) = tokio::task::spawn_blocking(move || finished(running))
        .await
        .unwrap();
    assert_eq!(status, 0, "{stdout}\n{stderr}");
    assert!(stdout.starts_with(&format!("voided {payment}")), "{stdout}");
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Voided)
    );

    // Cancel: nothing done (12), the payment as it was.
    let payment = simulator
        .ledger()
        .create_payment(&outlet(), "26.00")
        .unwrap();
    let (running, url) = launch(&simulator, payment.as_str(), &["--return-url", &done]);
    browser.goto(&url).await.expect("the page opens");
    click(&browser, Locator::Id("cancel")).await;
    until_at(&browser, "/health").await;
    let (status, stdout, stderr) = tokio::task::spawn_blocking(move || finished(running))
        .await
        .unwrap();
    assert_eq!(status, 12, "{stdout}\n{stderr}");
    assert_eq!(
        simulator.ledger().status(&payment),
        Some(PaymentStatus::Captured)
    );

    // A payment voided before: the page's void is refused, the command says already voided.
    let payment = simulator
        .ledger()
        .create_payment(&outlet(), "27.00")
        .unwrap();
    simulator
        .ledger()
        .void(&payment, std::time::SystemTime::now())
        .unwrap();
    let (running, url) = launch(&simulator, payment.as_str(), &[]);
    browser.goto(&url).await.expect("the page opens");
    click(&browser, Locator::Id("void")).await;
    let result = browser
        .wait()
        .for_element(Locator::Id("result"))
        .await
        .expect("the page says what its void did")
        .text()
        .await
        .unwrap();
    assert!(result.contains("Transaction already voided"), "{result}");
    screenshot(&browser, "2-already-voided").await;
    let (status, stdout, stderr) = tokio::task::spawn_blocking(move || finished(running))
        .await
        .unwrap();
    assert_eq!(status, 4, "{stdout}\n{stderr}");

    // Wrong SSO credentials: a browser posting the login form lands on SSOError.
    let form = format!(
        "data:text/html,<form id=f method=post action='{}'>\
         <input name=accountID value='{DEMO_ACCOUNT_ID}'><input name=ssoAlias value='{DEMO_SSO_ALIAS}'>\
         <input name=securityKey value=wrong><button id=go>Go</button></form>",
        simulator.sso_login_url()
    );
    browser.goto(&form).await.expect("the form opens");
    click(&browser, Locator::Id("go")).await;
    until_at(&browser, "/SSOError").await;
    assert!(
        body_text(&browser)
            .await
            .contains("Invalid AccountID or Password.")
    );
    screenshot(&browser, "3-sso-error").await;
    let refused = sso(
        &simulator,
        "wrong",
        &["void", "--transaction-id", payment.as_str()],
    )
    .output()
    .unwrap();
    assert_eq!(refused.status.code(), Some(1));

    // An expired token: the page refuses it, the command says nothing done.
    let expiring =
        Simulator::start(SimulatorConfig::default().with_sso_token_lifetime(Duration::ZERO))
            .await
            .unwrap();
    let payment = expiring
        .ledger()
        .create_payment(&outlet(), "28.00")
        .unwrap();
    let (running, url) = launch(&expiring, payment.as_str(), &[]);
    browser.goto(&url).await.expect("the page opens");
    assert!(body_text(&browser).await.contains("expired"));
    screenshot(&browser, "4-expired").await;
    let (status, stdout, stderr) = tokio::task::spawn_blocking(move || finished(running))
        .await
        .unwrap();
    assert_eq!(status, 12, "{stdout}\n{stderr}");
    assert_eq!(
        expiring.ledger().status(&payment),
        Some(PaymentStatus::Captured)
    );

    browser.close().await.expect("the session closes");
}
