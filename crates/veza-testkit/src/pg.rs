//! A private PostgreSQL cluster for one test (initdb takes about a second): a test may stop it,
//! crash it and start it again without disturbing the shared server the other tests use.
//! PostgreSQL refuses to run as root, so when the tests do (CI here), the cluster runs as the
//! `postgres` account, which Debian's package creates.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Stdio;

use tempfile::TempDir;

#[derive(Debug)]
pub struct PgCluster {
    pub port: u16,
    dir: TempDir,
    bin: PathBuf,
    /// The account the cluster runs as, when the tests run as root.
    owner: Option<(u32, u32)>,
}

/// How a cluster stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Connections are terminated (the clients see 57P01), then a checkpoint: a restart.
    Fast,
    /// The server quits at once and replays its WAL when started again: a crash.
    Immediate,
}

impl PgCluster {
    /// A fresh cluster on a free port, started.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let owner = is_root().then(postgres_account);
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("hand the directory to postgres");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let cluster = Self { port, dir, bin: bin_dir(), owner };
        let data = cluster.data();
        cluster
            .run(
                "initdb",
                &["-D", &data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"],
            )
            .await;
        cluster.start_again().await;
        cluster
    }

    /// A superuser URL for the cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub async fn stop(&self, how: Stop) {
        let mode = match how {
            Stop::Fast => "fast",
            Stop::Immediate => "immediate",
        };
        self.run("pg_ctl", &["-D", &self.data(), "-m", mode, "-w", "stop"]).await;
    }

    /// Starts the (stopped) cluster on its port again, and returns once it takes connections.
    pub async fn start_again(&self) {
        // fsync off: only the server process is ever killed here, never the machine.
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let (data, log) = (self.data(), self.log());
        self.run("pg_ctl", &["-D", &data, "-l", &log, "-w", "-t", "60", "-o", &options, "start"]).await;
    }

    async fn run(&self, tool: &str, args: &[&str]) {
        let mut cmd = std::process::Command::new(self.bin.join(tool));
        cmd.args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid);
        }
        let out = tokio::process::Command::from(cmd).output().await.unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}\n--- server log ---\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.log()).unwrap_or_default()
        );
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn log(&self) -> String {
        self.dir.path().join("server.log").display().to_string()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let mut cmd = std::process::Command::new(self.bin.join("pg_ctl"));
        cmd.args(["-D", &self.data(), "-m", "immediate", "stop"]).stdout(Stdio::null()).stderr(Stdio::null());
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid);
        }
        let _ = cmd.status();
    }
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The `postgres` account's uid and gid, from /etc/passwd.
fn postgres_account() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&"postgres")).then(|| (fields[2].parse().ok(), fields[3].parse().ok()))
        })
        .and_then(|(uid, gid)| Some((uid?, gid?)))
        .expect("a `postgres` account (Debian's postgresql package makes it)")
}

/// The newest installed PostgreSQL's programs (`VEZA_TEST_PG_BIN` to choose).
fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("VEZA_TEST_PG_BIN") {
        return dir.into();
    }
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's programs under /usr/lib/postgresql (scripts/test installs them)")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    versions.sort_unstable();
    let newest = versions.last().expect("an installed PostgreSQL version");
    PathBuf::from(format!("/usr/lib/postgresql/{newest}/bin"))
}
