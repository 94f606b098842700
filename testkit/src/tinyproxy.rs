//! A `tinyproxy` of the test's own (Debian package `tinyproxy`), on a free
//! loopback port with its own configuration and log in a temporary
//! directory, killed when dropped.

use std::{
    io::ErrorKind,
    net::{SocketAddr, TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A running tinyproxy, killed when dropped.
pub struct Tinyproxy {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Tinyproxy {
    /// Starts one, asking for `BasicAuth user password` when `auth` is set.
    /// `None` (the test then passes with a note) when tinyproxy is not
    /// installed, unless `PAF_REQUIRE_PEERS=1`.
    pub fn start(auth: Option<(&str, &str)>) -> Option<Tinyproxy> {
        let mut failure = String::new();
        // A port picked free may be taken before tinyproxy binds it: try
        // again with another then.
        for _ in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let log = dir.path().join("tinyproxy.log");
            // No ConnectPort line: CONNECT is allowed to every port.
            let mut conf = format!(
                "Port {port}\nListen 127.0.0.1\nAllow 127.0.0.1\nDisableViaHeader yes\n\
                 LogLevel Info\nLogFile \"{}\"\nPidFile \"{}\"\nMaxClients 32\nTimeout 30\n",
                log.display(),
                dir.path().join("tinyproxy.pid").display(),
            );
            if let Some((user, password)) = auth {
                conf.push_str(&format!("BasicAuth {user} {password}\n"));
            }
            let conf_path = dir.path().join("tinyproxy.conf");
            std::fs::write(&conf_path, conf).unwrap();
            let spawned = Command::new("tinyproxy")
                .arg("-d")
                .arg("-c")
                .arg(&conf_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let mut child = match spawned {
                Ok(child) => child,
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    crate::skip_or_fail("tinyproxy", "Debian: `apt-get install -y tinyproxy`");
                    return None;
                }
                Err(e) => panic!("cannot start tinyproxy: {e}"),
            };
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    failure = format!(
                        "tinyproxy exited with {status}; log: {}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                    break;
                }
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    return Some(Tinyproxy {
                        child,
                        port,
                        log,
                        _dir: dir,
                    });
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    failure = "tinyproxy did not listen within 10 s".into();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("cannot start tinyproxy: {failure}");
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its URL, with credentials when given: `http://[userinfo@]127.0.0.1:P`.
    pub fn url(&self, userinfo: Option<&str>) -> String {
        match userinfo {
            Some(info) => format!("http://{info}@127.0.0.1:{}", self.port),
            None => format!("http://127.0.0.1:{}", self.port),
        }
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the log shows a CONNECT to `target` (`host:port`), waiting a
    /// little for the line to be written.
    pub fn saw_connect(&self, target: &str) -> bool {
        let line = format!("CONNECT {target} HTTP/1.1");
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            if self.log().contains(&line) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
