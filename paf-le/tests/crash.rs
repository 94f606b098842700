//! A process killed at random points of an order, then restarted on the
//! same store: never a torn pair, never a stuck store.
//!
//! The test re-executes its own binary to run one `obtain` in a child
//! process ([`crash_child_one_obtain`], which does nothing unless
//! [`CHILD_ENV`] is set) against the test's pebble, on one
//! [`FileStorage`] directory shared by every round, with a short lock
//! lease. Each round SIGKILLs the child after a delay picked from a fixed
//! seed (so a run is reproducible), from before the lock is taken to
//! after the bundle is stored, then checks the store through paf-le's
//! public API: the bundle, if any, parses as a chain and its own key that
//! pebble's root verifies for the name; the account, if any, parses.
//! Children order even when a good certificate is stored
//! (`renew_after(0.0)`), so every round kills a replacement of the
//! previous bundle, the case where a torn pair (the new chain with the old
//! key) could appear.
//!
//! After the rounds a child is killed while it is known to hold the
//! certificate's lock; an `obtain` in the test's own process must then
//! take that lock over once its lease ends (within lease + margin) and
//! issue, and one more `obtain` must find the result stored.
//!
//! The kill points range over 1.2 times a whole run of a child, timed
//! first on a store of its own, so that they spread over the order on a
//! fast machine and a loaded one alike; pebble reuses no authorization
//! (`PEBBLE_AUTHZREUSE=0`), so every order has its HTTP-01 validation to
//! be killed in. One more round kills its child as soon as a new bundle
//! is renamed into place (before the lock is released): a kill after the
//! bundle was written, whatever the timing.
//!
//! Without pebble the test passes with a note, unless
//! `PAF_REQUIRE_PEERS=1`, where it fails.
// SIGKILL, inodes: the crash is a Unix one.
#![cfg(unix)]

mod common;

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use common::{fresh_dir, note, verify, Counts, Pebble, Recorder};
use paf_le::{
    obtain_with_challenge_server, stored_account_id, stored_certificate, CertResolver, Config,
    ConfigBuilder, Directory, FileStorage, Origin,
};

/// Set in a child process: the JSON of a [`ChildSpec`].
const CHILD_ENV: &str = "PAF_LE_CRASH_CHILD";
/// The child's test function, run with `--exact`.
const CHILD_TEST: &str = "crash_child_one_obtain";
/// What a child that finished prints on its stdout before the origin.
const CHILD_OUTCOME: &str = "PAF-LE-CRASH-CHILD-OUTCOME ";

/// The name every round orders.
const NAME: &str = "crash.example.test";
/// The certificate lock's lease: short, so that a killed holder holds up
/// the store briefly. It must exceed twice [`POLL_TIMEOUT`].
const LEASE: Duration = Duration::from_secs(2);
const POLL_TIMEOUT: Duration = Duration::from_millis(900);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Killed rounds. Their kill points after the spawn range over
/// `KILL_SPAN` times a whole run of a child (timed first, on another
/// store), so that they spread over the order however loaded the machine.
const ROUNDS: usize = 12;
const KILL_SPAN: f64 = 1.2;
const SEED: u64 = 0x5eed_c0de_2024_0012;
/// What a waiter may take beyond the lease to notice its end: the lock
/// waiter's longest pause (1 s) and scheduling.
const MARGIN: Duration = Duration::from_millis(1500);

/// What a child is told to do.
#[derive(Clone)]
struct ChildSpec {
    store: PathBuf,
    directory_url: String,
    listener_ca_pem: String,
    challenge_addr: std::net::SocketAddr,
}

impl ChildSpec {
    fn to_json(&self) -> String {
        serde_json::json!({
            "store": self.store,
            "directory_url": self.directory_url,
            "listener_ca_pem": self.listener_ca_pem,
            "challenge_addr": self.challenge_addr.to_string(),
        })
        .to_string()
    }

    fn from_json(text: &str) -> ChildSpec {
        let json: serde_json::Value = serde_json::from_str(text).expect("the child's JSON");
        let field = |name: &str| {
            json[name]
                .as_str()
                .unwrap_or_else(|| panic!("no {name} for the child"))
                .to_string()
        };
        ChildSpec {
            store: field("store").into(),
            directory_url: field("directory_url"),
            listener_ca_pem: field("listener_ca_pem"),
            challenge_addr: field("challenge_addr").parse().expect("an address"),
        }
    }

    /// The children's configuration: the short lease, a new order every
    /// time.
    fn config(&self) -> Config {
        let directory = url::Url::parse(&self.directory_url).expect("directory URL");
        short_lease(
            Config::builder()
                .hostname(NAME)
                .directory(Directory::Url(directory))
                .extra_ca_pem(&self.listener_ca_pem)
                .challenge_addr(self.challenge_addr),
        )
        .storage_dir(&self.store)
        .renew_after(0.0)
        .build()
        .expect("the child's configuration")
    }
}

fn short_lease(builder: ConfigBuilder) -> ConfigBuilder {
    builder
        .lock_lease(LEASE)
        .poll_timeout(POLL_TIMEOUT)
        .request_timeout(REQUEST_TIMEOUT)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The child process: one `obtain` with its own challenge server. Not a
/// test of its own: it returns at once without [`CHILD_ENV`].
#[test]
#[ignore = "the child process of the crash test, which runs it with its environment"]
fn crash_child_one_obtain() {
    let Some(spec) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let spec = ChildSpec::from_json(spec.to_str().expect("UTF-8"));
    let config = spec.config();
    let obtained = runtime()
        .block_on(obtain_with_challenge_server(&config))
        .unwrap_or_else(|e| panic!("the child's obtain failed: {e}"));
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{CHILD_OUTCOME}{:?}", obtained.origin);
    let _ = out.flush();
}

/// A small fixed-seed generator (SplitMix64): the same kill points on
/// every run.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A fraction in [0, 1).
    fn fraction(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The kill points: one in each of `ROUNDS` equal slices of the span, in
/// a shuffled order, so that the span is covered evenly and the store
/// sees them in no particular order.
fn kill_points(whole_run: Duration) -> Vec<Duration> {
    let mut rng = SplitMix(SEED);
    let slice = whole_run.as_secs_f64() * KILL_SPAN / ROUNDS as f64;
    let mut points: Vec<Duration> = (0..ROUNDS)
        .map(|i| Duration::from_secs_f64(slice * (i as f64 + rng.fraction())))
        .collect();
    for i in (1..points.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        points.swap(i, j);
    }
    points
}

/// Starts pebble, or says why not (failing under `PAF_REQUIRE_PEERS=1`).
fn start_pebble() -> Option<Pebble> {
    // No reuse of valid authorizations (pebble reuses half of them by
    // default): every order has its HTTP-01 validation to be killed in.
    // Pebble::start fails the test itself under PAF_REQUIRE_PEERS=1.
    let pebble = Pebble::start_with_env(&[("PEBBLE_AUTHZREUSE", "0")]);
    if pebble.is_none() {
        note("crash test skipped: pebble and pebble-challtestsrv are not on PATH");
    }
    pebble
}

/// A running child and where its output goes.
struct Running {
    child: Child,
    spawned: Instant,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Running {
    fn spawn(spec: &ChildSpec, logs: &Path, label: &str) -> Running {
        let stdout = logs.join(format!("{label}.out"));
        let stderr = logs.join(format!("{label}.err"));
        let file = |path: &Path| Stdio::from(fs::File::create(path).expect("a log file"));
        let child = Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--exact", CHILD_TEST, "--include-ignored", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(CHILD_ENV, spec.to_json())
            .stdin(Stdio::null())
            .stdout(file(&stdout))
            .stderr(file(&stderr))
            .spawn()
            .expect("the child starts");
        Running {
            child,
            spawned: Instant::now(),
            stdout,
            stderr,
        }
    }

    fn runs(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn pid(&self) -> u64 {
        u64::from(self.child.id())
    }

    /// SIGKILL (if it still runs) and reap: its exit status, and whether
    /// the kill is what ended it.
    fn kill(mut self) -> (ExitStatus, bool, Running) {
        let killed = matches!(self.child.try_wait(), Ok(None));
        if killed {
            self.child.kill().expect("SIGKILL the child");
        }
        let status = self.child.wait().expect("reap the child");
        (status, killed && !status.success(), self)
    }

    /// Waits for the child to end by itself (killing it past `limit`):
    /// its status and how long it ran.
    fn finish(mut self, limit: Duration) -> (ExitStatus, Duration, Running) {
        loop {
            if let Some(status) = self.child.try_wait().expect("the child's status") {
                return (status, self.spawned.elapsed(), self);
            }
            if self.spawned.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the child ran longer than {limit:?}:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn outcome(&self) -> Option<String> {
        fs::read_to_string(&self.stdout)
            .ok()?
            .lines()
            // libtest writes the test's name on the same line first.
            .find_map(|line| {
                line.split_once(CHILD_OUTCOME)
                    .map(|(_, origin)| origin.trim().to_string())
            })
    }

    fn output(&self) -> String {
        let read = |path: &Path| fs::read_to_string(path).unwrap_or_default();
        format!(
            "--- child stdout\n{}\n--- child stderr\n{}",
            read(&self.stdout),
            read(&self.stderr)
        )
    }
}

/// What a lock file says (see `FileStorage`'s documentation).
#[derive(Debug)]
struct LockFile {
    pid: u64,
    expires: SystemTime,
}

fn read_lock(path: &Path) -> Option<LockFile> {
    let json: serde_json::Value = serde_json::from_slice(&fs::read(path).ok()?).ok()?;
    Some(LockFile {
        pid: json["pid"].as_u64()?,
        expires: UNIX_EPOCH + Duration::from_millis(json["expires_unix_ms"].as_u64()?),
    })
}

/// Every regular file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => found.extend(files(&path)),
            Ok(kind) if kind.is_file() => found.push(path),
            _ => {}
        }
    }
    found
}

fn is_dot_file(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with('.'))
}

/// The lock files under the store, with what they say.
fn lock_files(store: &Path) -> Vec<(PathBuf, Option<LockFile>)> {
    files(&store.join(".locks"))
        .into_iter()
        .filter(|path| !is_dot_file(path))
        .map(|path| {
            let lock = read_lock(&path);
            (path, lock)
        })
        .collect()
}

/// What the store holds after a round, checked.
struct StoreState {
    /// The bundle's bytes, if there is one.
    bundle: Option<Vec<u8>>,
    account: Option<String>,
    /// Files left beside values and locks by an interrupted write
    /// (`.bundle.pem.tmp-…`, `.x.lock.new-…`, claims).
    leftovers: Vec<PathBuf>,
}

/// Reads the store through paf-le's API; a bundle that does not load as a
/// chain with its own key, or does not verify, is a torn bundle (`Err`).
async fn check_store(config: &Config, store: &Path, root_pem: &str) -> Result<StoreState, String> {
    let bundle_path = FileStorage::new(store)
        .path(config.certificate_storage_key())
        .expect("the bundle's path");
    let all = files(store);
    let bundles: Vec<&PathBuf> = all
        .iter()
        .filter(|path| path.file_name().is_some_and(|name| name == "bundle.pem"))
        .collect();
    assert!(
        bundles.iter().all(|path| **path == bundle_path),
        "a bundle elsewhere than {}: {bundles:?}",
        bundle_path.display()
    );
    let account = stored_account_id(config)
        .await
        .map_err(|e| format!("the stored account does not load: {e}"))?;
    let stored = stored_certificate(config)
        .await
        .map_err(|e| format!("the stored bundle does not load: {e}"))?;
    let bundle = match stored {
        None => None,
        Some(certificate) => {
            verify(root_pem, &certificate, NAME)
                .map_err(|e| format!("the stored chain does not verify: {e}"))?;
            certificate
                .certified_key()
                .map_err(|e| format!("the stored key does not fit: {e}"))?;
            CertResolver::new(&certificate)
                .map_err(|e| format!("a server cannot start with it: {e}"))?;
            let bytes = fs::read(&bundle_path).map_err(|e| e.to_string())?;
            let text = String::from_utf8_lossy(&bytes);
            if !text.contains(certificate.chain_pem().trim_end())
                || !text.contains(certificate.key_pem().trim_end())
            {
                return Err("what was loaded is not the bundle file".into());
            }
            Some(bytes)
        }
    };
    let leftovers = all.into_iter().filter(|path| is_dot_file(path)).collect();
    Ok(StoreState {
        bundle,
        account,
        leftovers,
    })
}

/// Waits until no lock of the store is live (each ended its lease), so
/// that the next child is not merely killed while it waits for one. The
/// lock files stay: the next taker must take them over.
fn wait_for_leases(store: &Path) -> Duration {
    let started = Instant::now();
    loop {
        let now = SystemTime::now();
        let live = lock_files(store)
            .into_iter()
            .filter_map(|(_, lock)| lock)
            .filter_map(|lock| lock.expires.duration_since(now).ok())
            .max();
        match live {
            Some(left) => std::thread::sleep(left + Duration::from_millis(20)),
            None => return started.elapsed(),
        }
    }
}

/// When a round's child is killed.
#[derive(Debug, Clone, Copy)]
enum Trigger {
    /// This long after its spawn.
    After(Duration),
    /// As soon as a new bundle is in place.
    BundleWritten,
}

/// The inode of `path`, if it exists: a rename puts a new one there.
fn inode(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).ok().map(|meta| meta.ino())
}

/// Where one killed round's kill landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Landed {
    /// Killed before the new bundle was stored: the old one (or none)
    /// remains.
    BeforeBundle,
    /// Killed after it was stored (releasing the lock, stopping the
    /// challenge server).
    AfterBundle,
    /// The child finished before the kill.
    Finished,
}

#[test]
fn a_killed_order_never_leaves_a_torn_bundle_or_a_stuck_store() {
    let Some(pebble) = start_pebble() else {
        return;
    };
    let test_started = Instant::now();
    let rt = runtime();
    let recorder = Recorder::new(&pebble);
    let counts = rt.block_on(Counts::new(&pebble, &recorder));
    let root_pem = rt.block_on(pebble.root_pem());
    let store = fresh_dir(pebble.dir(), "store");
    // The children's output, kept in PAF_LE_CRASH_LOGS if set (else
    // removed with pebble's directory).
    let logs = std::env::var_os("PAF_LE_CRASH_LOGS")
        .map_or_else(|| pebble.dir().join("children"), PathBuf::from);
    fs::create_dir_all(&logs).expect("the log directory");
    let spec = ChildSpec {
        store: store.clone(),
        directory_url: pebble.directory_url.clone(),
        listener_ca_pem: pebble.listener_ca_pem.clone(),
        challenge_addr: pebble.challenge_addr(),
    };
    // The parent's view of the store: the same CA and name, so the same
    // keys; requests go through the recorder, which counts orders.
    let parent = |renew_after: f64| {
        short_lease(common::config(&pebble, &recorder, &[NAME]))
            .storage_dir(&store)
            .renew_after(renew_after)
            .build()
            .expect("the parent's configuration")
    };
    let checker = parent(2.0 / 3.0);
    let bundle_path = FileStorage::new(&store)
        .path(checker.certificate_storage_key())
        .expect("the bundle's path");
    let lock_path = FileStorage::new(&store)
        .lock_path(
            checker
                .certificate_storage_key()
                .strip_suffix("/bundle.pem")
                .expect("the bundle key names its certificate"),
        )
        .expect("the lock's path");

    // A whole run, timed on a store of its own: the longest of three (the
    // first with a new account, as the first round's on the shared store),
    // as one lasts 50 ms or 300 ms depending on whether pebble has
    // validated, then issued, by the first look at the order.
    let calibration = ChildSpec {
        store: fresh_dir(pebble.dir(), "calibration"),
        ..spec.clone()
    };
    let mut whole_run = Duration::ZERO;
    for attempt in 0..3 {
        let running = Running::spawn(&calibration, &logs, &format!("calibration-{attempt}"));
        let (status, took, running) = running.finish(common::FLOW_LIMIT);
        assert!(
            status.success() && running.outcome().as_deref() == Some("Issued"),
            "the timed child failed ({status}):\n{}\n{}",
            running.output(),
            pebble.logs()
        );
        whole_run = whole_run.max(took);
    }

    // The timed kills, then one right after the child renamed a new
    // bundle into place (before it released the lock and exited).
    let mut triggers: Vec<Trigger> = kill_points(whole_run)
        .into_iter()
        .map(Trigger::After)
        .collect();
    triggers.push(Trigger::BundleWritten);
    let mut landed = Vec::new();
    let mut torn = Vec::new();
    let mut held_lock = 0;
    let mut waited_for_leases = Duration::ZERO;
    let mut accounts = std::collections::BTreeSet::new();
    let mut finished_in = Vec::new();
    let mut bundle = None::<Vec<u8>>;
    for (round, trigger) in triggers.iter().enumerate() {
        waited_for_leases += wait_for_leases(&store);
        let mut running = Running::spawn(&spec, &logs, &format!("round-{round}"));
        match trigger {
            Trigger::After(delay) => {
                std::thread::sleep(delay.saturating_sub(running.spawned.elapsed()))
            }
            Trigger::BundleWritten => {
                let old = inode(&bundle_path);
                let deadline = Instant::now() + common::FLOW_LIMIT;
                while inode(&bundle_path) == old && running.runs() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        let after = running.spawned.elapsed();
        let (status, killed, running) = running.kill();
        if !killed {
            assert!(
                status.success(),
                "round {round}: the child failed on its own ({status}):\n{}\n{}",
                running.output(),
                pebble.logs()
            );
            assert_eq!(
                running.outcome().as_deref(),
                Some("Issued"),
                "round {round}:\n{}",
                running.output()
            );
            finished_in.push(after);
        }
        let lock = read_lock(&lock_path);
        if killed && lock.as_ref().is_some_and(|lock| lock.pid == running.pid()) {
            held_lock += 1;
        }
        match rt.block_on(check_store(&checker, &store, &root_pem)) {
            Err(why) => {
                torn.push(format!("round {round} ({trigger:?}): {why}"));
                landed.push(Landed::BeforeBundle);
            }
            Ok(state) => {
                let replaced = state.bundle.is_some() && state.bundle != bundle;
                landed.push(match (killed, replaced) {
                    (false, _) => Landed::Finished,
                    (true, true) => Landed::AfterBundle,
                    (true, false) => Landed::BeforeBundle,
                });
                assert!(
                    killed || replaced,
                    "round {round}: a child that finished stored nothing new"
                );
                accounts.extend(state.account);
                bundle = state.bundle;
            }
        }
        note(&format!(
            "round {round:2}: kill {} ({:>4} ms after the spawn): {:?}{}",
            match trigger {
                Trigger::After(delay) => format!("at {:>4} ms", delay.as_millis()),
                Trigger::BundleWritten => "once the bundle is renamed into place".into(),
            },
            after.as_millis(),
            landed[round],
            if lock.is_some_and(|lock| lock.pid == running.pid()) {
                ", the certificate's lock left held"
            } else {
                ""
            },
        ));
    }
    let count = |kind: Landed| landed.iter().filter(|l| **l == kind).count();
    let (before, after, finished) = (
        count(Landed::BeforeBundle),
        count(Landed::AfterBundle),
        count(Landed::Finished),
    );

    // The last kill lands while the child holds the certificate's lock.
    let mut holder = None;
    for attempt in 0..3 {
        waited_for_leases += wait_for_leases(&store);
        let running = Running::spawn(&spec, &logs, &format!("holder-{attempt}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = None;
        while seen.is_none() && Instant::now() < deadline {
            seen = read_lock(&lock_path).filter(|lock| lock.pid == running.pid());
            if seen.is_none() {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        let (_, killed, running) = running.kill();
        let still = read_lock(&lock_path).filter(|lock| lock.pid == running.pid());
        if killed && still.is_some() {
            holder = still;
            break;
        }
        note(&format!(
            "the holder's kill missed its lock (attempt {attempt}):\n{}",
            running.output()
        ));
    }
    let holder = holder.expect("a child killed while it holds the certificate's lock");
    let state = rt
        .block_on(check_store(&checker, &store, &root_pem))
        .unwrap_or_else(|why| panic!("after the holder's kill: {why}"));
    bundle = state.bundle;

    // A new process on the same store: it must wait for the dead holder's
    // lease, take the lock over, and order.
    let orders_before = counts.orders();
    let acquired = Arc::new(Mutex::new(None::<(Instant, SystemTime)>));
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (acquired, stop, lock_path) = (acquired.clone(), stop.clone(), lock_path.clone());
        let me = u64::from(std::process::id());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if read_lock(&lock_path).is_some_and(|lock| lock.pid == me) {
                    *acquired.lock().unwrap() = Some((Instant::now(), SystemTime::now()));
                    return;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let started = Instant::now();
    let final_config = parent(0.0);
    let last = rt
        .block_on(async {
            tokio::time::timeout(
                LEASE + MARGIN + LEASE,
                obtain_with_challenge_server(&final_config),
            )
            .await
        })
        .expect("the store is stuck: the final run did not end")
        .unwrap_or_else(|e| panic!("the final run failed: {e}\n{}", pebble.logs()));
    let final_took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    watcher.join().expect("the watcher");
    let (acquired_at, acquired_wall) = acquired
        .lock()
        .unwrap()
        .expect("the final run took the lock");
    let lock_wait = acquired_at - started;
    let after_lease_end = acquired_wall
        .duration_since(holder.expires)
        .unwrap_or_default();
    assert_eq!(last.origin, Origin::Issued);
    assert_eq!(counts.orders() - orders_before, 1, "one order");
    assert!(
        acquired_wall >= holder.expires,
        "the lock was taken {:?} before the dead holder's lease ended",
        holder
            .expires
            .duration_since(acquired_wall)
            .unwrap_or_default()
    );
    assert!(
        lock_wait <= LEASE + MARGIN,
        "the final run waited {lock_wait:?} for the lock (lease {LEASE:?})"
    );
    assert!(read_lock(&lock_path).is_none(), "the lock was released");
    let state = rt
        .block_on(check_store(&checker, &store, &root_pem))
        .unwrap_or_else(|why| panic!("after the final run: {why}"));
    assert_ne!(state.bundle, bundle, "the final run stored a new bundle");
    let stored = rt
        .block_on(stored_certificate(&checker))
        .unwrap()
        .expect("a bundle");
    assert_eq!(stored.leaf(), last.certificate.leaf());
    accounts.extend(state.account);
    // Never cleaned up: every file an interrupted write left is here.
    let leftovers = state.leftovers;

    // And the run after that finds it stored: no order, no request.
    let (orders, requests) = (counts.orders(), recorder.total());
    let again = rt
        .block_on(obtain_with_challenge_server(&checker))
        .expect("the run after the final one");
    assert_eq!(again.origin, Origin::Stored);
    assert_eq!(again.certificate.leaf(), last.certificate.leaf());
    assert_eq!(counts.orders() - orders, 0, "no new order");
    assert_eq!(recorder.total(), requests, "not one request to the CA");

    assert!(torn.is_empty(), "torn bundles:\n{}", torn.join("\n"));
    assert_eq!(accounts.len(), 1, "one account all along: {accounts:?}");
    note(&format!(
        "crash summary: {} kills (seed {SEED:#x}, {ROUNDS} at 0-{} ms, one as the bundle \
         was renamed; a whole run {} ms): {before} before the bundle was written, {after} after it, {finished} finished first ({} ms); {held_lock} left the \
         certificate's lock held; {} torn bundles; {} files left by interrupted writes {:?}; \
         {} account(s); waited {} ms for dead holders' leases between rounds; final run: \
         {:?}, waited {} ms for the dead holder's lock (lease {} ms; taken {} ms after it ended), took {} ms; then {:?} \
         with 0 orders; whole test {} ms",
        triggers.len(),
        (whole_run.as_secs_f64() * KILL_SPAN * 1000.0) as u64,
        whole_run.as_millis(),
        finished_in
            .iter()
            .map(|d| d.as_millis().to_string())
            .collect::<Vec<_>>()
            .join("/"),
        torn.len(),
        leftovers.len(),
        leftovers
            .iter()
            .map(|path| {
                // `.bundle.pem.tmp-<random>` → `.bundle.pem.tmp-…`
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                match name.rsplit_once('-') {
                    Some((kind, _)) => format!("{kind}-…"),
                    None => name.into_owned(),
                }
            })
            .collect::<Vec<_>>(),
        accounts.len(),
        waited_for_leases.as_millis(),
        last.origin,
        lock_wait.as_millis(),
        LEASE.as_millis(),
        after_lease_end.as_millis(),
        final_took.as_millis(),
        again.origin,
        test_started.elapsed().as_millis(),
    ));
}
