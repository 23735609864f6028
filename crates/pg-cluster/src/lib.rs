//! A throwaway PostgreSQL cluster on loopback: `initdb` and `pg_ctl` in a folder of its own,
//! listening on a free loopback port (and a unix socket in the same folder), stopped and
//! deleted on drop. Run as root, the server's binaries run as `nobody`: PostgreSQL refuses to
//! run as root.
//!
//! One role owns the cluster and signs in over TCP with a password, which is given to the
//! server on `psql`'s standard input: never in a file, never on a command line. The tests
//! (`instamed-soap-test-support`) and `bench gateway --ledgers` both start theirs here; what to
//! do when the binaries are missing is theirs to decide.

use std::ffi::OsStr;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

/// Every binary of the server's this crate runs.
const BINARIES: [&str; 4] = ["initdb", "pg_ctl", "postgres", "psql"];

/// Why a cluster could not be started or driven.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server's binaries are not on this machine.
    #[error(
        "PostgreSQL server binaries missing: no initdb, pg_ctl, postgres and psql on PATH or \
         under /usr/lib/postgresql/*/bin (Debian: apt-get install postgresql)"
    )]
    Missing,
    /// Run as root, there is no user `nobody` to run the server as.
    #[error("run as root, a PostgreSQL cluster needs a user nobody to run the server as")]
    NoUnprivilegedUser,
    /// Something of the machine's failed: the folder, a port, a binary that would not run.
    #[error("{what}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// One of the server's binaries ran and failed.
    #[error("{program} failed ({status}): {output}\nserver log: {log}")]
    Failed {
        /// Which binary.
        program: String,
        /// How it ended.
        status: ExitStatus,
        /// What it wrote, standard output then standard error.
        output: String,
        /// The server's log so far.
        log: String,
    },
    /// The role's password could not be set; psql's own words are left out, since they may
    /// quote the statement, password and all.
    #[error("could not set the throwaway cluster's password")]
    Password,
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

/// A PostgreSQL cluster of its own, stopped and removed on drop.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// The uid and gid the server runs as, when this runs as root.
    run_as: Option<(u32, u32)>,
    user: String,
    password: String,
}

impl std::fmt::Debug for Cluster {
    // Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("dir", &self.dir.path())
            .field("bin", &self.bin)
            .field("port", &self.port)
            .field("run_as", &self.run_as)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Makes a cluster in a new folder under `parent` (named `prefix` and a random tail) and
    /// starts it; its role `user` signs in over TCP with `password`. [`Error::Missing`] when
    /// the server's binaries are not on this machine.
    pub fn start(parent: &Path, prefix: &str, user: &str, password: &str) -> Result<Self, Error> {
        let bin = binaries().ok_or(Error::Missing)?;
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(parent)
            .map_err(io("a folder for the cluster"))?;
        let run_as = run_as()?;
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .map_err(io("the cluster's folder given to the server's user"))?;
        }
        let mut cluster = Self {
            dir,
            bin,
            port: 0,
            run_as,
            user: user.to_owned(),
            password: password.to_owned(),
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                user.as_ref(),
                // Local (the socket in this private folder) without a password, to set it;
                // TCP, as the ledgers connect, with it.
                "--auth-local=trust".as_ref(),
                "--auth-host=scram-sha-256".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--no-sync".as_ref(),
                "--no-instructions".as_ref(),
            ],
            None,
        )?;
        cluster.port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(io("a free loopback port"))?
            .port();
        cluster.restart()?;
        let statement = format!(
            "ALTER ROLE {} PASSWORD {};\n",
            identifier(user),
            literal(password)
        );
        cluster.psql(&statement).map_err(|_| Error::Password)?;
        Ok(cluster)
    }

    /// Makes database `name` and returns its URL, with the password.
    pub fn create_database(&self, name: &str) -> Result<String, Error> {
        self.psql(&format!("CREATE DATABASE {};\n", identifier(name)))?;
        Ok(self.url(name))
    }

    /// The URL of database `name`, over TCP on loopback, with the password.
    pub fn url(&self, name: &str) -> String {
        let password = utf8_percent_encode(&self.password, NON_ALPHANUMERIC);
        format!(
            "postgres://{}:{password}@127.0.0.1:{}/{name}",
            self.user, self.port
        )
    }

    /// The URL of database `name` without its password.
    pub fn url_without_password(&self, name: &str) -> String {
        format!("postgres://{}@127.0.0.1:{}/{name}", self.user, self.port)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where the cluster lives.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's version, as `postgres --version` says it.
    pub fn version(&self) -> Result<String, Error> {
        let output = self.run("postgres", &["--version".as_ref()], None)?;
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// The process ID of the server's postmaster, from its `postmaster.pid`.
    pub fn postmaster_pid(&self) -> Result<u32, Error> {
        let path = self.data().join("postmaster.pid");
        let text = std::fs::read_to_string(&path).map_err(io("the server's postmaster.pid"))?;
        text.lines()
            .next()
            .and_then(|line| line.trim().parse().ok())
            .ok_or_else(|| Error::Io {
                what: "the server's postmaster.pid".to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, "no process ID"),
            })
    }

    /// Stops the server at once, as a crash would (`pg_ctl stop -m immediate`); its data stays.
    pub fn stop_now(&self) -> Result<(), Error> {
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
            None,
        )
        .map(drop)
    }

    /// Starts the server (again, after [`stop_now`](Self::stop_now)) on its port, and waits
    /// until it accepts connections.
    pub fn restart(&self) -> Result<(), Error> {
        let data = self.data();
        let log = self.log();
        // The server's defaults otherwise, fsync and synchronous_commit on: a database that
        // keeps what it acknowledged.
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
            None,
        )
        .map(drop)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// Runs `sql` with psql over the cluster's socket, as the role, fed on standard input.
    fn psql(&self, sql: &str) -> Result<Output, Error> {
        let port = self.port.to_string();
        self.run(
            "psql",
            &[
                "-X".as_ref(),
                "-q".as_ref(),
                "-v".as_ref(),
                "ON_ERROR_STOP=1".as_ref(),
                "-h".as_ref(),
                self.dir.path().as_os_str(),
                "-p".as_ref(),
                port.as_ref(),
                "-U".as_ref(),
                self.user.as_ref(),
                "-d".as_ref(),
                "postgres".as_ref(),
                "-f".as_ref(),
                "-".as_ref(),
            ],
            Some(sql),
        )
    }

    /// The command that runs `program` of the server's binaries, as the server's user.
    fn command(&self, program: &str) -> Command {
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
        // The server's user may not read the caller's working directory; the statements fed to
        // psql are UTF-8 whatever the caller's locale.
        command
            .current_dir(self.dir.path())
            .env("PGCLIENTENCODING", "UTF8");
        command
    }

    /// Runs `program` with `args` and `input` on its standard input; [`Error::Failed`], with
    /// what it wrote, when it fails.
    fn run(&self, program: &str, args: &[&OsStr], input: Option<&str>) -> Result<Output, Error> {
        let mut child = self
            .command(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io(format!("{program} could not be run")))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(input.unwrap_or_default().as_bytes())
                .map_err(io(format!("{program}'s standard input")))?;
        }
        let output = child
            .wait_with_output()
            .map_err(io(format!("{program}'s end")))?;
        if !output.status.success() {
            let log = std::fs::read_to_string(self.log()).unwrap_or_default();
            return Err(Error::Failed {
                program: program.to_owned(),
                status: output.status,
                output: format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout).trim(),
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
                log: log.trim().to_owned(),
            });
        }
        Ok(output)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        if data.join("postmaster.pid").exists() {
            // Immediate: the folder is deleted next, nothing in it is worth a checkpoint.
            let _ = self
                .command("pg_ctl")
                .args(["stop", "-m", "immediate", "-D"])
                .arg(&data)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Whether PostgreSQL's server binaries are on this machine.
pub fn installed() -> bool {
    binaries().is_some()
}

/// An SQL identifier, quoted.
fn identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// An SQL string literal (standard-conforming strings: a backslash is itself).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The folder of the server's binaries: beside `initdb` on PATH, or Debian's newest
/// `/usr/lib/postgresql/N/bin`.
fn binaries() -> Option<PathBuf> {
    let complete = |dir: &Path| BINARIES.iter().all(|name| dir.join(name).is_file());
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
fn run_as() -> Result<Option<(u32, u32)>, Error> {
    let id = |args: &[&str]| -> Option<u32> {
        let output = Command::new("id").args(args).output().ok()?;
        String::from_utf8(output.stdout).ok()?.trim().parse().ok()
    };
    if id(&["-u"]) != Some(0) {
        return Ok(None);
    }
    match (id(&["-u", "nobody"]), id(&["-g", "nobody"])) {
        (Some(uid), Some(gid)) => Ok(Some((uid, gid))),
        _ => Err(Error::NoUnprivilegedUser),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_the_quote_and_keeps_everything_else() {
        assert_eq!(literal(r#"a'b\c"d"#), r#"'a''b\c"d'"#);
        assert_eq!(identifier(r#"a"b'c"#), r#""a""b'c""#);
    }
}
