//! A throwaway PostgreSQL cluster for tests: `instamed-soap-pg-cluster`'s, under the temporary
//! directory, its role signing in with the leak suites' password; a failure to start or drive
//! it is a panic, as a test wants.
//!
//! Where the binaries are missing, [`PgCluster::start`] says so loudly and returns `None`, so
//! the tests that need it skip on a developer's machine; with `CI` set it panics instead, so a
//! pipeline that lost them fails rather than passes without testing.

use std::sync::atomic::{AtomicUsize, Ordering};

use instamed_soap_pg_cluster::Cluster;

use crate::leaks::PASSWORD;

/// The role every database of the cluster belongs to.
pub const USER: &str = "ledger";

/// A PostgreSQL cluster of the test's own (`instamed-soap-pg-cluster`'s), removed on drop.
#[derive(Debug)]
pub struct PgCluster {
    cluster: Cluster,
    databases: AtomicUsize,
}

impl PgCluster {
    /// Makes and starts a cluster whose role [`USER`] signs in over TCP with a password
    /// ([`PASSWORD`], the leak suites' own, so a sweep finds it wherever it escapes to).
    /// `None`, said loudly, when PostgreSQL's server binaries are not on this machine; a panic
    /// instead under `CI`.
    pub fn start() -> Option<Self> {
        if !available() {
            return None;
        }
        let cluster = Cluster::start(&std::env::temp_dir(), "pg-cluster", USER, PASSWORD)
            .unwrap_or_else(|e| panic!("a throwaway PostgreSQL cluster: {e}"));
        Some(Self {
            cluster,
            databases: AtomicUsize::new(0),
        })
    }

    /// Makes a new, empty database and returns its URL, with the password.
    pub fn database(&self) -> String {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        self.cluster
            .create_database(&format!("test{n}"))
            .unwrap_or_else(|e| panic!("a database in the cluster: {e}"))
    }

    /// The URL of database `name`, over TCP on loopback, with the password.
    pub fn url(&self, name: &str) -> String {
        self.cluster.url(name)
    }

    /// The URL of database `name` without its password.
    pub fn url_without_password(&self, name: &str) -> String {
        self.cluster.url_without_password(name)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.cluster.port()
    }

    /// Stops the server at once, as a crash would (`pg_ctl stop -m immediate`); its data stays.
    pub fn stop(&self) {
        self.cluster
            .stop_now()
            .unwrap_or_else(|e| panic!("the cluster stopped: {e}"));
    }

    /// Starts the server again after [`stop`](Self::stop), on the same port.
    pub fn restart(&self) {
        self.cluster
            .restart()
            .unwrap_or_else(|e| panic!("the cluster started again: {e}"));
    }
}

/// Whether PostgreSQL's server binaries are on this machine, for a test that starts a cluster
/// of its own another way (through the command-line tool); said loudly when they are not, and
/// a panic under `CI`, as [`PgCluster::start`] does.
pub fn available() -> bool {
    let installed = instamed_soap_pg_cluster::installed();
    if !installed {
        let why = "PostgreSQL server binaries missing: no initdb, pg_ctl, postgres and psql on \
                   PATH or under /usr/lib/postgresql/*/bin (Debian: apt-get install postgresql); \
                   the tests on PostgreSQL are skipped";
        assert!(
            std::env::var_os("CI").is_none(),
            "{why}, which CI does not allow"
        );
        eprintln!("\n!!! {why} !!!\n");
    }
    installed
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
        let dir = cluster.cluster.dir().to_owned();
        drop(cluster);
        assert!(!dir.exists(), "the cluster's directory outlived it");
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "the server outlived its cluster"
        );
    }
}
