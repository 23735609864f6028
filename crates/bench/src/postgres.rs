//! A throwaway PostgreSQL cluster for `bench gateway --ledgers` (`instamed-soap-pg-cluster`'s,
//! in a folder of its own on the disk under measurement), and the CPU its processes used, from
//! `/proc`. Its password, made for the run, never reaches a file or a command line.

use std::path::Path;
use std::time::Duration;

use instamed_soap_pg_cluster::Error;

use crate::process;

/// The role the bench's ledgers sign in as.
const USER: &str = "bench";

/// A PostgreSQL cluster of the bench's own, stopped and removed on drop.
pub(crate) struct Cluster {
    cluster: instamed_soap_pg_cluster::Cluster,
    /// The server's version, as `postgres --version` says it.
    pub version: String,
}

impl Cluster {
    /// Makes a cluster in a new folder under `base` and starts it; its role signs in over TCP
    /// with `password`. An error says loudly what is missing when the server's binaries are.
    pub(crate) fn start(base: &Path, password: &str) -> Result<Self, Box<dyn std::error::Error>> {
        let cluster = instamed_soap_pg_cluster::Cluster::start(
            base,
            "instamed-soap-bench-postgres-",
            USER,
            password,
        )
        .map_err(|e| -> Box<dyn std::error::Error> {
            match e {
                Error::Missing => format!("{e}; the PostgreSQL rows cannot be measured").into(),
                e => e.into(),
            }
        })?;
        let version = cluster.version()?;
        Ok(Self { cluster, version })
    }

    /// Makes database `name` and returns its URL, with the password.
    pub(crate) fn database(&self, name: &str) -> Result<String, Box<dyn std::error::Error>> {
        Ok(self.cluster.create_database(name)?)
    }

    /// Where the cluster lives.
    pub(crate) fn dir(&self) -> &Path {
        self.cluster.dir()
    }

    /// CPU time (user + system) of every process of the server so far: the postmaster, its
    /// children alive now (backends, WAL writer, checkpointer…) and those it has reaped.
    pub(crate) fn cpu(&self) -> Result<Duration, Box<dyn std::error::Error>> {
        process::tree_cpu_time_of(self.cluster.postmaster_pid()?)
            .ok_or_else(|| "cannot read the PostgreSQL server's CPU".into())
    }
}
