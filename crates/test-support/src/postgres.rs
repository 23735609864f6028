//! A throwaway PostgreSQL cluster for tests: `initdb` and `pg_ctl` under a temporary directory,
//! listening on a free loopback port (and a unix socket in the same directory), stopped and
//! deleted on drop. Run as root, the server binaries run as `nobody`: PostgreSQL refuses to
//! run as root.
//!
//! Where the binaries are missing, [`PgCluster::start`] says so loudly and returns `None`, so
//! the tests that need it skip on a developer's machine; with `CI` set it panics instead, so a
//! pipeline that lost them fails rather than passes without testing.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use crate::leaks::PASSWORD;

/// The role every database of the cluster belongs to.
pub const USER: &str = "ledger";

/// A PostgreSQL cluster of the test's own, removed on drop.
#[derive(Debug)]
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// The uid and gid the server runs as, when the test runs as root.
    run_as: Option<(u32, u32)>,
    databases: AtomicUsize,
}

impl PgCluster {
    /// Makes and starts a cluster whose role [`USER`] signs in over TCP with a password
    /// ([`PASSWORD`], the leak suites' own, so a sweep finds it wherever it escapes to).
    /// `None`, said loudly, when PostgreSQL's server binaries are not on this machine; a panic
    /// instead under `CI`.
    pub fn start() -> Option<Self> {
        let bin = binaries_or_say_so()?;
        let dir = tempfile::Builder::new()
            .prefix("pg-cluster")
            .tempdir()
            .expect("a temporary directory for the cluster");
        let run_as = run_as();
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .expect("the cluster's directory given to the server's user");
        }
        let cluster = Self {
            dir,
            bin,
            port: 0,
            run_as,
            databases: AtomicUsize::new(0),
        };
        let password = cluster.path("password");
        std::fs::write(&password, PASSWORD).expect("the password file");
        cluster.give(&password);
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                USER.as_ref(),
                "--pwfile".as_ref(),
                password.as_os_str(),
                "--auth-local=trust".as_ref(),
                "--auth-host=scram-sha-256".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--no-sync".as_ref(),
                "--no-instructions".as_ref(),
            ],
        );
        let mut cluster = cluster;
        cluster.port = free_port();
        cluster.start_server();
        Some(cluster)
    }

    /// Makes a new, empty database and returns its URL, with the password.
    pub fn database(&self) -> String {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("test{n}");
        let socket = self.dir.path().to_owned();
        let port = self.port.to_string();
        self.run(
            "createdb",
            &[
                "-h".as_ref(),
                socket.as_os_str(),
                "-p".as_ref(),
                port.as_ref(),
                "-U".as_ref(),
                USER.as_ref(),
                name.as_ref(),
            ],
        );
        self.url(&name)
    }

    /// The URL of database `name`, over TCP on loopback, with the password.
    pub fn url(&self, name: &str) -> String {
        let password = utf8_percent_encode(PASSWORD, NON_ALPHANUMERIC);
        format!(
            "postgres://{USER}:{password}@127.0.0.1:{}/{name}",
            self.port
        )
    }

    /// The URL of database `name` without its password.
    pub fn url_without_password(&self, name: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{name}", self.port)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server at once, as a crash would (`pg_ctl stop -m immediate`); its data stays.
    pub fn stop(&self) {
        let data = self.data();
        self.run(
            "pg_ctl",
            &[
                "stop".as_ref(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-D".as_ref(),
                data.as_os_str(),
            ],
        );
    }

    /// Starts the server again after [`stop`](Self::stop), on the same port.
    pub fn restart(&self) {
        self.start_server();
    }

    fn start_server(&self) {
        let data = self.data();
        let log = self.path("server.log");
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        self.run(
            "pg_ctl",
            &[
                "start".as_ref(),
                "-w".as_ref(),
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
            ],
        );
    }

    fn data(&self) -> PathBuf {
        self.path("data")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn give(&self, path: &Path) {
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .expect("a file given to the server's user");
        }
    }

    /// Runs one of the server's binaries, as the server's user; panics with what it wrote
    /// when it fails.
    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Output {
        let program = self.bin.join(program);
        let mut command = match self.run_as {
            Some((uid, gid)) => {
                let mut command = Command::new("setpriv");
                command
                    .arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .arg("--clear-groups")
                    .arg(&program);
                command
            }
            None => Command::new(&program),
        };
        // The server's user may not read the test's working directory.
        command.args(args).current_dir(self.dir.path());
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("{} could not be run: {e}", program.display()));
        if !output.status.success() {
            let log = std::fs::read_to_string(self.path("server.log")).unwrap_or_default();
            panic!(
                "{} failed ({}):\n{}{}\nserver log:\n{log}",
                program.display(),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
            );
        }
        output
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data();
        if data.join("postmaster.pid").exists() {
            let program = self.bin.join("pg_ctl");
            let mut command = match self.run_as {
                Some((uid, gid)) => {
                    let mut command = Command::new("setpriv");
                    command
                        .arg(format!("--reuid={uid}"))
                        .arg(format!("--regid={gid}"))
                        .arg("--clear-groups")
                        .arg(&program);
                    command
                }
                None => Command::new(&program),
            };
            // Not `run`: a panic in a drop during a panic would abort the test binary.
            let _ = command
                .args(["stop", "-m", "immediate", "-D"])
                .arg(&data)
                .current_dir(self.dir.path())
                .output();
        }
    }
}

/// Whether PostgreSQL's server binaries are on this machine, for a test that starts a cluster
/// of its own another way (through the command-line tool); said loudly when they are not, and
/// a panic under `CI`, as [`PgCluster::start`] does.
pub fn available() -> bool {
    binaries_or_say_so().is_some()
}

/// The server binaries' folder; `None`, said loudly, without them; a panic under `CI`.
fn binaries_or_say_so() -> Option<PathBuf> {
    let bin = binaries();
    if bin.is_none() {
        let why = "PostgreSQL server binaries missing: no initdb and pg_ctl on PATH or \
                   under /usr/lib/postgresql/*/bin (Debian: apt-get install postgresql); \
                   the tests on PostgreSQL are skipped";
        assert!(
            std::env::var_os("CI").is_none(),
            "{why}, which CI does not allow"
        );
        eprintln!("\n!!! {why} !!!\n");
    }
    bin
}

/// The folder of `initdb` and `pg_ctl`: beside `initdb` on PATH, or Debian's newest
/// `/usr/lib/postgresql/N/bin`.
fn binaries() -> Option<PathBuf> {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres", "createdb"]
            .iter()
            .all(|name| dir.join(name).is_file())
    };
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("initdb"))
            .find(|initdb| initdb.is_file())
            // Debian links only some of them onto PATH: the real folder has them all.
            .and_then(|initdb| initdb.canonicalize().ok())
            .and_then(|initdb| initdb.parent().map(Path::to_owned))
            .filter(|dir| complete(dir))
    });
    on_path.or_else(|| {
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let version = entry.file_name().to_str()?.parse().ok()?;
                Some((version, entry.path().join("bin")))
            })
            .filter(|(_, bin)| complete(bin))
            .collect();
        versions.sort();
        versions.pop().map(|(_, bin)| bin)
    })
}

/// `nobody`'s uid and gid when this runs as root (PostgreSQL refuses root); `None` otherwise.
fn run_as() -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let output = Command::new("id").arg(flag).arg("nobody").output().ok()?;
        String::from_utf8(output.stdout).ok()?.trim().parse().ok()
    };
    let me = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        return None;
    }
    Some((
        id("-u").expect("a user nobody to run PostgreSQL as"),
        id("-g").expect("nobody's group"),
    ))
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throwaway_cluster_serves_on_loopback_and_leaves_nothing_behind() {
        let Some(cluster) = PgCluster::start() else {
            return;
        };
        let url = cluster.database();
        assert!(url.ends_with("/test0"), "{url}");
        assert_ne!(cluster.database(), url, "two databases share a name");
        let port = cluster.port();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        let dir = cluster.dir.path().to_owned();
        drop(cluster);
        assert!(!dir.exists(), "the cluster's directory outlived it");
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "the server outlived its cluster"
        );
    }
}
