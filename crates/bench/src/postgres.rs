//! A throwaway PostgreSQL cluster for `bench gateway --ledgers`: `initdb` and `pg_ctl` in a
//! folder of its own on the disk under measurement, on a free loopback port, stopped and
//! deleted when dropped; and the CPU its processes used, from `/proc`.
//!
//! The tests' cluster (`instamed-soap-test-support`'s `PgCluster`) starts the same way; this one
//! returns errors instead of panicking (a command, not a test), signs in with a password made
//! for the run, which never reaches a file or a command line, and measures its server's CPU.

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::process;

/// The role the bench's ledgers sign in as.
const USER: &str = "bench";

/// A PostgreSQL cluster of the bench's own, stopped and removed on drop.
pub(crate) struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// The uid and gid the server runs as when the bench runs as root (PostgreSQL refuses root).
    run_as: Option<(u32, u32)>,
    password: String,
    /// The server's version, as `postgres --version` says it.
    pub version: String,
}

impl Cluster {
    /// Makes a cluster in a new folder under `base` and starts it; its role signs in over TCP
    /// with `password`. An error says loudly what is missing when the server's binaries are.
    pub(crate) fn start(base: &Path, password: &str) -> Result<Self, Box<dyn std::error::Error>> {
        let bin = binaries().ok_or(
            "PostgreSQL server binaries missing: no initdb, pg_ctl, postgres and psql on PATH or \
             under /usr/lib/postgresql/*/bin (Debian: apt-get install postgresql); the \
             PostgreSQL rows cannot be measured",
        )?;
        let dir = tempfile::Builder::new()
            .prefix("instamed-soap-bench-postgres-")
            .tempdir_in(base)?;
        let run_as = run_as()?;
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))?;
        }
        let version = Command::new(bin.join("postgres"))
            .arg("--version")
            .output()?;
        let mut cluster = Self {
            dir,
            bin,
            port: 0,
            run_as,
            password: password.to_owned(),
            version: String::from_utf8_lossy(&version.stdout).trim().to_owned(),
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                USER.as_ref(),
                // Local (the socket in this private folder) without a password, to set it;
                // TCP, as the gateways and ledgers connect, with it.
                "--auth-local=trust".as_ref(),
                "--auth-host=scram-sha-256".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--no-sync".as_ref(),
                "--no-instructions".as_ref(),
            ],
            None,
        )?;
        cluster.port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = cluster.dir.path().join("server.log");
        // The server's defaults otherwise, fsync and synchronous_commit on: the figures are
        // those of a database that keeps what it acknowledged.
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c max_connections=200",
            cluster.port,
            cluster.dir.path().display()
        );
        cluster.run(
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
        )?;
        // On standard input, never on a command line or in a file; psql's own words are not
        // shown if it fails, since they may quote the statement.
        let statement = format!("ALTER ROLE {USER} PASSWORD '{}';\n", cluster.password);
        cluster
            .psql(&statement)
            .map_err(|_| "could not set the throwaway cluster's password")?;
        Ok(cluster)
    }

    /// Makes database `name` and returns its URL, with the password.
    pub(crate) fn database(&self, name: &str) -> Result<String, Box<dyn std::error::Error>> {
        self.psql(&format!("CREATE DATABASE {name};\n"))?;
        Ok(format!(
            "postgres://{USER}:{}@127.0.0.1:{}/{name}",
            self.password, self.port
        ))
    }

    /// Where the cluster lives.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// CPU time (user + system) of every process of the server so far: the postmaster, its
    /// children alive now (backends, WAL writer, checkpointer…) and those it has reaped.
    pub(crate) fn cpu(&self) -> Result<Duration, Box<dyn std::error::Error>> {
        let pid_file = std::fs::read_to_string(self.data().join("postmaster.pid"))?;
        let postmaster: u32 = pid_file
            .lines()
            .next()
            .and_then(|line| line.trim().parse().ok())
            .ok_or("no process ID in postmaster.pid")?;
        process::tree_cpu_time_of(postmaster)
            .ok_or_else(|| "cannot read the PostgreSQL server's CPU".into())
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs `sql` with psql over the cluster's socket, as the role, fed on standard input.
    fn psql(&self, sql: &str) -> Result<Output, Box<dyn std::error::Error>> {
        let port = self.port.to_string();
        let socket = self.dir.path().as_os_str();
        self.run(
            "psql",
            &[
                "-X".as_ref(),
                "-q".as_ref(),
                "-v".as_ref(),
                "ON_ERROR_STOP=1".as_ref(),
                "-h".as_ref(),
                socket,
                "-p".as_ref(),
                port.as_ref(),
                "-U".as_ref(),
                USER.as_ref(),
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
        // The server's user may not read the bench's working directory.
        command.current_dir(self.dir.path());
        command
    }

    /// Runs `program` with `args` and `input` on its standard input; an error with what it
    /// wrote when it fails.
    fn run(
        &self,
        program: &str,
        args: &[&std::ffi::OsStr],
        input: Option<&str>,
    ) -> Result<Output, Box<dyn std::error::Error>> {
        let mut child = self
            .command(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{program} could not be run: {e}"))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(input.unwrap_or_default().as_bytes())?;
        }
        let output = child.wait_with_output()?;
        if !output.status.success() {
            let log =
                std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
            return Err(format!(
                "{program} failed ({}): {}{}\nserver log: {}",
                output.status,
                String::from_utf8_lossy(&output.stdout).trim(),
                String::from_utf8_lossy(&output.stderr).trim(),
                log.trim()
            )
            .into());
        }
        Ok(output)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.data().join("postmaster.pid").exists() {
            let data = self.data();
            let _ = self
                .command("pg_ctl")
                .args(["stop", "-m", "fast", "-D"])
                .arg(&data)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The folder of the server's binaries: beside `initdb` on PATH, or Debian's newest
/// `/usr/lib/postgresql/N/bin`.
fn binaries() -> Option<PathBuf> {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres", "psql"]
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

/// `nobody`'s uid and gid when the bench runs as root; `None` otherwise.
fn run_as() -> Result<Option<(u32, u32)>, Box<dyn std::error::Error>> {
    if !process::is_root() {
        return Ok(None);
    }
    let id = |flag: &str| -> Option<u32> {
        let output = Command::new("id").arg(flag).arg("nobody").output().ok()?;
        String::from_utf8(output.stdout).ok()?.trim().parse().ok()
    };
    match (id("-u"), id("-g")) {
        (Some(uid), Some(gid)) => Ok(Some((uid, gid))),
        _ => Err("run as root, the bench needs a user nobody to run PostgreSQL as".into()),
    }
}
