//! A `redis-server` of the test's own, on a free loopback port, killed when
//! dropped: the peer of the Redis storage and cluster tests.

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use paf_le::RedisStorage;

use super::note;

/// Persistence off: what NOTES.md's command line starts.
pub const NO_PERSISTENCE: &[&str] = &["--save", "", "--appendonly", "no"];
/// Every acknowledged write is in the append-only file before the reply: a
/// restart keeps values and locks.
pub const APPEND_ONLY: &[&str] = &[
    "--save",
    "",
    "--appendonly",
    "yes",
    "--appendfsync",
    "always",
];

/// A running `redis-server`.
pub struct RedisServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    args: &'static [&'static str],
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(dir: &Path, port: u16, args: &[&str]) -> std::io::Result<Child> {
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(dir.join("redis.log"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

impl RedisServer {
    /// Starts one with `args`; `None` (the test then passes with a note)
    /// when `redis-server` is not installed, unless `PAF_REQUIRE_PEERS=1`.
    pub async fn start(args: &'static [&'static str]) -> Option<RedisServer> {
        let mut failure = String::new();
        // A port picked free may be taken before redis binds it: try again
        // with another then.
        for _ in 0..3 {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .expect("a free loopback port")
                .port();
            let child = match spawn(dir.path(), port, args) {
                Ok(child) => child,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    assert!(
                        std::env::var("PAF_REQUIRE_PEERS").map_or(true, |v| v != "1"),
                        "redis-server is not installed and PAF_REQUIRE_PEERS=1"
                    );
                    note("skipping a Redis test: redis-server is not on PATH (Debian: `apt-get install -y redis-server`)");
                    return None;
                }
                Err(e) => panic!("cannot start redis-server: {e}"),
            };
            let mut server = RedisServer {
                child,
                port,
                dir,
                args,
            };
            match server.ready().await {
                Ok(()) => return Some(server),
                Err(log) => failure = log,
            }
        }
        panic!("redis-server did not start: {failure}");
    }

    /// Waits until the server answers PING, or says why it will not.
    async fn ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let client = redis::Client::open(self.url()).map_err(|e| e.to_string())?;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("it exited ({status}); its log:\n{}", self.log()));
            }
            if let Ok(mut connection) = client.get_multiplexed_async_connection().await {
                let pong: redis::RedisResult<String> =
                    redis::cmd("PING").query_async(&mut connection).await;
                if pong.is_ok() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!("no PONG within 10 s; its log:\n{}", self.log()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A new connection to it, keyed under `prefix`.
    pub async fn storage(&self, prefix: &str) -> RedisStorage {
        RedisStorage::connect(self.url())
            .await
            .unwrap_or_else(|e| panic!("connect to redis at {}: {e}", self.url()))
            .with_prefix(prefix)
    }

    /// Kills it (SIGKILL: a crash, nothing flushed on the way out).
    pub fn kill(&mut self) {
        self.child.kill().expect("kill redis-server");
        self.child.wait().expect("reap redis-server");
    }

    /// Starts it again on the same port, data directory and settings.
    pub async fn restart(&mut self) {
        self.child = spawn(self.dir.path(), self.port, self.args).expect("restart redis-server");
        if let Err(log) = self.ready().await {
            panic!("redis-server did not restart: {log}");
        }
    }
}
