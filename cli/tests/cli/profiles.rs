//! Profiles of the configuration file: they fill in what flags and variables leave out, lose to
//! both, and never hold a secret. Each run gets a home of its own, so the user's file is never
//! read.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::isolated::{self, code, described, text};
use instamed_soap::Outlet;
use instamed_soap_simulator::{Simulator, SimulatorConfig};

const ACCOUNT: &str = "demo@instamed.test";
const PASSWORD: &str = "demo-password";
/// Nothing listens on port 1: a void sent there fails without reaching anyone.
const NOWHERE: &str = "https://127.0.0.1:1/payment/service.asmx";

/// A home folder of its own, with the configuration file where the tool looks for it.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary home"),
        }
    }

    fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// Writes `text` as `$XDG_CONFIG_HOME/instamed-soap/config.toml`.
    fn config(&self, text: &str) {
        let dir = self.config_dir().join("instamed-soap");
        std::fs::create_dir_all(&dir).expect("the config folder");
        std::fs::write(dir.join("config.toml"), text).expect("the config file");
    }

    /// A file in the home with `text` and permissions `mode`.
    fn file(&self, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("a file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    /// `instamed-soap void` for `payment`.
    fn void(&self, payment: &str) -> Command {
        let mut command = self.command();
        command.args(["void", "--transaction-id", payment]);
        command
    }

    /// `instamed-soap` in this home, with nothing from the test's own environment that could
    /// stand in for a profile's setting.
    fn command(&self) -> Command {
        let mut command = isolated::instamed_soap();
        command
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.config_dir());
        for name in [
            "INSTAMED_ENDPOINT",
            "INSTAMED_PROFILE",
            "INSTAMED_CONFIG",
            "INSTAMED_ACCOUNT_ID",
            "INSTAMED_PASSWORD",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
        ] {
            command.env_remove(name);
        }
        command
    }
}

fn quoted(path: &Path) -> String {
    format!("\"{}\"", path.display())
}

/// A profile that reaches the simulator: its endpoint, its CA and the outlet.
fn reaching(name: &str, sim: &Simulator) -> String {
    format!(
        "[profiles.{name}]\nendpoint = \"{}\"\nca_cert = {}\nmerchant_id = \"123123123\"\n\
         store_id = \"123\"\nterminal_id = \"123\"\n",
        sim.endpoint(),
        quoted(sim.ca_path().expect("the simulator's CA")),
    )
}

fn payment(sim: &Simulator) -> String {
    let outlet = Outlet::new("123123123", "123", "123").expect("an outlet");
    sim.ledger()
        .create_payment(&outlet, "10.00")
        .expect("a payment")
        .to_string()
}

async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("run instamed-soap"))
        .await
        .expect("the run")
}

async fn simulator() -> Simulator {
    Simulator::start(SimulatorConfig::default())
        .await
        .expect("simulator")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_supplies_endpoint_and_outlet() {
    let sim = simulator().await;
    let home = Home::new();
    home.config(&format!(
        "[profiles.default]\nendpoint = \"{NOWHERE}\"\n\n{}",
        reaching("simulator", &sim)
    ));
    let mut command = home.void(&payment(&sim));
    command
        .args(["--profile", "simulator"])
        .env("INSTAMED_ACCOUNT_ID", ACCOUNT)
        .env("INSTAMED_PASSWORD", PASSWORD);
    let output = run(command).await;
    assert_eq!(code(&output), 0, "{}", described(&output));
    assert!(text(&output).contains("voided"), "{}", described(&output));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flag_beats_the_environment_beats_the_file() {
    let sim = simulator().await;
    let home = Home::new();
    let endpoint = sim.endpoint();
    let ca = sim.ca_path().expect("the simulator's CA").to_path_buf();
    let with = |file: &str, env: Option<&str>, flag: Option<&str>| {
        home.config(&format!(
            "[profiles.default]\nendpoint = \"{file}\"\nca_cert = {}\nmerchant_id = \"123123123\"\n\
             store_id = \"123\"\nterminal_id = \"123\"\naccount_id = \"{ACCOUNT}\"\n",
            quoted(&ca)
        ));
        let mut command = home.void(&payment(&sim));
        command.env("INSTAMED_PASSWORD", PASSWORD);
        if let Some(env) = env {
            command.env("INSTAMED_ENDPOINT", env);
        }
        if let Some(flag) = flag {
            command.args(["--endpoint", flag]);
        }
        command
    };
    let cases = [
        (
            "the flag over both",
            NOWHERE,
            Some(NOWHERE),
            Some(endpoint.as_str()),
            true,
        ),
        (
            "the variable over the file",
            NOWHERE,
            Some(endpoint.as_str()),
            None,
            true,
        ),
        (
            "the file's lost to the variable",
            endpoint.as_str(),
            Some(NOWHERE),
            None,
            false,
        ),
        ("the file alone", endpoint.as_str(), None, None, true),
    ];
    for (case, file, env, flag, reaches) in cases {
        let output = run(with(file, env, flag)).await;
        assert_eq!(
            code(&output) == 0,
            reaches,
            "{case}: {}",
            described(&output)
        );
    }
    // The same order for the choice of profile: --profile over INSTAMED_PROFILE.
    home.config(&reaching("simulator", &sim));
    let mut command = home.void(&payment(&sim));
    command
        .args(["--profile", "simulator"])
        .env("INSTAMED_PROFILE", "nonexistent")
        .env("INSTAMED_ACCOUNT_ID", ACCOUNT)
        .env("INSTAMED_PASSWORD", PASSWORD);
    let output = run(command).await;
    assert_eq!(code(&output), 0, "{}", described(&output));
    sim.shutdown().await;
}

#[test]
fn a_file_with_a_password_is_refused_naming_the_key() {
    let home = Home::new();
    home.config(&format!(
        "[profiles.default]\nendpoint = \"{NOWHERE}\"\n[profiles.prod]\npassword = \"hunter2\"\n"
    ));
    let mut command = home.void("ABCDEF0123456789ABCDEF0123456789");
    command
        .args(isolated::OUTLET)
        .env("INSTAMED_ACCOUNT_ID", ACCOUNT)
        .env("INSTAMED_PASSWORD", PASSWORD);
    let output = command.output().expect("run instamed-soap");
    let said = text(&output);
    assert_eq!(code(&output), 2, "{}", described(&output));
    assert!(said.contains("profiles.prod.password"), "{said}");
    assert!(said.contains("INSTAMED_PASSWORD"), "{said}");
    assert!(said.contains("password_file"), "{said}");
    assert!(!said.contains("hunter2"), "{said}");
}

#[test]
fn a_password_file_with_mode_0644_is_refused() {
    let home = Home::new();
    let secret = home.file("password", "demo-password\n", 0o644);
    home.config(&format!(
        "[profiles.default]\nendpoint = \"{NOWHERE}\"\naccount_id = \"{ACCOUNT}\"\n\
         password_file = {}\n",
        quoted(&secret)
    ));
    let mut command = home.void("ABCDEF0123456789ABCDEF0123456789");
    command.args(isolated::OUTLET);
    let output = command.output().expect("run instamed-soap");
    let said = text(&output);
    assert_eq!(code(&output), 2, "{}", described(&output));
    assert!(said.contains("mode 0644"), "{said}");
    assert!(said.contains("chmod 600"), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_0600_password_file_is_used() {
    let sim = simulator().await;
    let home = Home::new();
    let secret = home.file("password", &format!("{PASSWORD}\n"), 0o600);
    // Named by --config, away from the default place, which holds nothing.
    let config = home.file(
        "elsewhere.toml",
        &format!(
            "{}account_id = \"{ACCOUNT}\"\npassword_file = {}\n",
            reaching("default", &sim),
            quoted(&secret)
        ),
        0o644,
    );
    let mut command = home.void(&payment(&sim));
    command.arg("--config").arg(&config);
    let output = run(command).await;
    assert_eq!(code(&output), 0, "{}", described(&output));
    assert!(!text(&output).contains(PASSWORD), "{}", described(&output));
    sim.shutdown().await;
}

#[test]
fn an_unknown_profile_lists_the_valid_ones() {
    let home = Home::new();
    let config = home.file(
        "config.toml",
        &format!("[profiles.default]\nendpoint = \"{NOWHERE}\"\n[profiles.staging]\n"),
        0o644,
    );
    let mut command = home.void("ABCDEF0123456789ABCDEF0123456789");
    command
        .args(isolated::OUTLET)
        .env("INSTAMED_CONFIG", &config)
        .env("INSTAMED_PROFILE", "prod");
    let output = command.output().expect("run instamed-soap");
    let said = text(&output);
    assert_eq!(code(&output), 2, "{}", described(&output));
    assert!(said.contains("no profile \"prod\""), "{said}");
    assert!(said.contains("default, staging"), "{said}");
}

#[test]
fn an_unknown_key_is_refused() {
    let home = Home::new();
    home.config(&format!(
        "[profiles.default]\nendpiont = \"{NOWHERE}\"\nstore-id = \"123\"\n"
    ));
    let mut command = home.void("ABCDEF0123456789ABCDEF0123456789");
    command.args(isolated::OUTLET);
    let output = command.output().expect("run instamed-soap");
    let said = text(&output);
    assert_eq!(code(&output), 2, "{}", described(&output));
    assert!(said.contains("unknown key \"endpiont\""), "{said}");
    assert!(said.contains("endpoint, protocol, trust"), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_takes_its_connection_and_credentials_from_the_profile() {
    let sim = simulator().await;
    let home = Home::new();
    let secret = home.file("password", PASSWORD, 0o400);
    home.config(&format!(
        "{}account_id = \"{ACCOUNT}\"\npassword_file = {}\ntimeout = \"10s\"\n",
        reaching("default", &sim),
        quoted(&secret)
    ));
    let input = home.file(
        "payments.csv",
        &format!(
            "transaction_id,merchant_id,store_id,terminal_id\n{},123123123,123,123\n",
            payment(&sim)
        ),
        0o600,
    );
    let mut command = home.command();
    command
        .arg("batch")
        .arg("--input")
        .arg(&input)
        .arg("--journal")
        .arg(home.dir.path().join("batch.journal"))
        .stdin(std::process::Stdio::null());
    let output = run(command).await;
    assert_eq!(code(&output), 0, "{}", described(&output));
    sim.shutdown().await;
}

/// A secret under a name no list of secret words foresaw, in a profile not in use, is still
/// refused: every profile's keys are checked, and an unknown one is an error.
#[test]
fn a_secret_under_an_unforeseen_name_in_another_profile_is_refused() {
    let home = Home::new();
    home.config(&format!(
        "[profiles.default]\nendpoint = \"{NOWHERE}\"\n\n[profiles.old]\npwd = \"hunter2-old\"\n"
    ));
    let mut command = home.void("ABCDEF0123456789ABCDEF0123456789");
    command.args(isolated::OUTLET);
    let output = command.output().expect("run instamed-soap");
    let said = text(&output);
    assert_eq!(code(&output), 2, "{}", described(&output));
    assert!(
        said.contains("unknown key \"pwd\" in [profiles.old]"),
        "{said}"
    );
    assert!(!said.contains("hunter2-old"), "{said}");
}

/// A password typed where the name of its file belongs is never shown back.
#[test]
fn a_password_given_as_its_files_name_is_never_printed() {
    let home = Home::new();
    home.config(&format!(
        "[profiles.default]\nendpoint = \"{NOWHERE}\"\naccount_id = \"{ACCOUNT}\"\n\
         password_file = \"Tr0ub4dor-and-3\"\n"
    ));
    let mut command = home.void("ABCDEF0123456789ABCDEF0123456789");
    command.args(isolated::OUTLET);
    let output = command.output().expect("run instamed-soap");
    let said = text(&output);
    assert_eq!(code(&output), 2, "{}", described(&output));
    assert!(said.contains("cannot read the secrets file"), "{said}");
    assert!(!said.contains("Tr0ub4dor"), "{said}");
}

/// A configuration named by mistake as a device is refused at once, never read for ever.
#[test]
fn a_configuration_that_is_a_device_is_refused() {
    let home = Home::new();
    let mut command = home.void("ABCDEF0123456789ABCDEF0123456789");
    command
        .args(isolated::OUTLET)
        .args(["--endpoint", NOWHERE])
        .env("INSTAMED_CONFIG", "/dev/zero");
    let output = command.output().expect("run instamed-soap");
    assert_eq!(code(&output), 2, "{}", described(&output));
    assert!(
        text(&output).contains("/dev/zero"),
        "{}",
        described(&output)
    );
}
