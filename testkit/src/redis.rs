//! A `redis-server` of the test's own (Debian package `redis-server`), on a
//! free loopback port with its data directory and log in a temporary
//! directory, killed when dropped.
//!
//! It is started and awaited on the test's tokio runtime, so that what else
//! runs there (a client reconnecting, say) goes on meanwhile. Readiness is a
//! `PING` answered `+PONG` on a plain TCP connection: no Redis client here.

use std::{
    io::ErrorKind,
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Persistence off: `--save "" --appendonly no`.
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

/// A running `redis-server`, killed when dropped.
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

/// Whether the server at `port` answers `PING` with `+PONG` (not, say,
/// `-LOADING` while it reads its append-only file).
async fn pong(port: u16) -> bool {
    let answer = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.write_all(b"PING\r\n").await?;
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply).await?;
        Ok::<_, std::io::Error>(reply)
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), answer).await,
        Ok(Ok(reply)) if &reply == b"+PONG\r\n"
    )
}

impl RedisServer {
    /// Starts one with `args` (such as [`NO_PERSISTENCE`] or
    /// [`APPEND_ONLY`]). `None` (the test then passes with a note) when
    /// `redis-server` is not installed, unless `PAF_REQUIRE_PEERS=1`.
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
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    crate::skip_or_fail(
                        "redis-server",
                        "Debian: `apt-get install -y redis-server`",
                    );
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
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("it exited ({status}); its log:\n{}", self.log()));
            }
            if pong(self.port).await {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("no PONG within 10 s; its log:\n{}", self.log()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
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
