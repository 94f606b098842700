//! `respond_file` against what a document root can hold besides regular
//! files: a FIFO, a Unix socket, a directory, links to them, names the file
//! system refuses. Each is a `404` answered at once, through a real server,
//! and none may leave a thread blocked: opening a FIFO for reading waits for
//! a writer, so one stuck blocking-pool thread per request would pile up.
//!
//! The tests that could block run on a runtime of their own, collect what
//! they saw and shut it down in the background before asserting, so that a
//! regression fails the test rather than hangs it (dropping a runtime waits
//! for its blocking threads).
#![cfg(all(feature = "hyper", unix))]
#![allow(clippy::unwrap_used)]

mod common;

use std::future::{Future, IntoFuture};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{router, Site};
use paf_compat::code::Status;
use paf_compat::server::Running;
use paf_compat::transfer::Encoding;
use paf_compat::Client;

/// Far more than a `404` from the local disk takes, far less than forever.
const ANSWER_WITHIN: Duration = Duration::from_secs(3);

/// A request's outcome: status and body, or `None` when no answer came
/// within [`ANSWER_WITHIN`].
type Outcome = Option<(Status, String)>;

/// The site of `common`, plus a FIFO, a Unix socket, a symbolic link to
/// the FIFO, one to `/dev/zero` and a symbolic link loop, all inside the
/// root.
fn hostile_site() -> Site {
    let site = Site::new();
    let root = site.root();
    let made = std::process::Command::new("mkfifo")
        .arg(root.join("fifo"))
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo failed");
    // The socket file stays when the listener is dropped.
    drop(std::os::unix::net::UnixListener::bind(root.join("socket")).unwrap());
    std::os::unix::fs::symlink(root.join("fifo"), root.join("to-fifo")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", root.join("zero")).unwrap();
    std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
    site
}

/// Runs `test` on a multi-thread runtime whose threads (workers and
/// blocking pool) are named `threads`, then drops the runtime without
/// waiting for its blocking threads.
fn on_own_runtime<T>(threads: &str, test: impl Future<Output = T>) -> T {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(threads)
        .enable_all()
        .build()
        .unwrap();
    let seen = runtime.block_on(test);
    runtime.shutdown_background();
    seen
}

async fn serve(site: &Site) -> Running {
    router(site.root())
        .bind_tcp("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

async fn get(client: &Client, server: &Running, path: &str) -> Outcome {
    let url = format!("{}{path}", server.url().unwrap());
    let answer = async {
        let (res, body) = client.get(url).await.unwrap();
        (res.status(), body.to_string().await.unwrap())
    };
    tokio::time::timeout(ANSWER_WITHIN, answer).await.ok()
}

/// This process's threads named `name` (Linux truncates names to 15 bytes).
fn threads_named(name: &str) -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

/// The `Threads:` line of /proc/self/status: every thread of the test
/// binary, other tests' included.
fn process_threads() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Threads:"))?;
            line["Threads:".len()..].trim().parse().ok()
        })
        .unwrap_or(0)
}

fn not_found(outcome: &Outcome) -> bool {
    matches!(outcome, Some((Status::NotFound, body)) if body == "Not found")
}

#[test]
#[cfg(target_os = "linux")]
fn fifo_in_the_root_is_404_at_once_and_leaves_no_blocked_thread() {
    const REQUESTS: usize = 50;
    const THREADS: &str = "fifo-serving";
    let site = hostile_site();
    let (warm_up, outcomes, elapsed, before, after) = on_own_runtime(THREADS, async {
        let server = serve(&site).await;
        let client = Client::new();
        // The blocking pool holds the threads a served file needs.
        let warm_up = get(&client, &server, "/files/notes.txt").await;
        let before = (threads_named(THREADS), process_threads());
        let start = Instant::now();
        let mut outcomes = Vec::with_capacity(REQUESTS);
        let mut unanswered = 0;
        // A regression fails after a few waits, not after fifty.
        while outcomes.len() < REQUESTS && unanswered < 5 {
            let outcome = get(&client, &server, "/files/fifo").await;
            unanswered += usize::from(outcome.is_none());
            outcomes.push(outcome);
        }
        let elapsed = start.elapsed();
        let after = (threads_named(THREADS), process_threads());
        (warm_up, outcomes, elapsed, before, after)
    });
    let answered = outcomes.iter().filter(|o| not_found(o)).count();
    let unanswered = outcomes.iter().filter(|o| o.is_none()).count();
    eprintln!(
        "{} requests for a FIFO: {answered} answered 404, {unanswered} unanswered \
         within {ANSWER_WITHIN:?}, in {elapsed:?}; runtime threads {} -> {}, \
         process threads {} -> {}",
        outcomes.len(),
        before.0,
        after.0,
        before.1,
        after.1
    );
    assert_eq!(warm_up, Some((Status::Ok, "plain notes".to_owned())));
    assert_eq!(answered, REQUESTS, "every request is a 404: {outcomes:?}");
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    // Idle blocking threads are reused; one may be started when a task
    // comes just before the last one's thread is idle again, so a few are
    // allowed, not one per request.
    assert!(
        after.0 <= before.0 + 10,
        "runtime threads grew from {} to {}",
        before.0,
        after.0
    );
}

#[test]
fn socket_directory_and_links_to_them_in_the_root_are_404() {
    let site = hostile_site();
    let paths = [
        "/files/socket",
        "/files/to-fifo",
        "/files/zero",
        "/files/sub",
        "/files/sub/",
        "/files/",
        "/files/loop",
    ];
    let outcomes = on_own_runtime("odd-files", async {
        let server = serve(&site).await;
        let client = Client::new();
        let mut outcomes = Vec::new();
        for path in paths {
            outcomes.push((path, get(&client, &server, path).await));
        }
        outcomes
    });
    let wrong: Vec<_> = outcomes.iter().filter(|(_, o)| !not_found(o)).collect();
    assert!(wrong.is_empty(), "not a 404 at once: {wrong:?}");
}

/// Counts the warnings paf-compat logs, on the thread it is the default
/// subscriber of.
struct Warnings(Arc<AtomicUsize>);

impl tracing::Subscriber for Warnings {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let meta = event.metadata();
        if *meta.level() <= tracing::Level::WARN && meta.target().starts_with("paf_compat") {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

// A current-thread runtime: the server's handler runs on this thread, under
// the subscriber set here.
#[tokio::test]
async fn names_the_file_system_refuses_are_404_without_a_warning() {
    let warnings = Arc::new(AtomicUsize::new(0));
    let _subscriber = tracing::subscriber::set_default(Warnings(warnings.clone()));
    let site = Site::new();
    let server = serve(&site).await;
    let client = Client::new();
    let long = "a".repeat(10_000);
    let cases = [
        ("a 10,000-character name", format!("/files/{long}")),
        (
            "a 10,000-character name with an extension",
            format!("/files/{long}.html"),
        ),
        (
            "a 300-character name",
            format!("/files/{}", "b".repeat(300)),
        ),
        (
            "6,000 characters of directories",
            format!("/files/{}x", "d/".repeat(3_000)),
        ),
        (
            "a long name under a file",
            format!("/files/notes.txt/{long}"),
        ),
        ("a name under a file", "/files/notes.txt/x".to_owned()),
    ];
    let mut wrong = Vec::new();
    for (case, path) in &cases {
        let outcome = get(&client, &server, path).await;
        if !not_found(&outcome) {
            wrong.push((case, outcome));
        }
    }
    let warned = warnings.load(Ordering::SeqCst);
    assert!(wrong.is_empty(), "not a 404: {wrong:?} ({warned} warnings)");
    assert_eq!(warned, 0, "warnings were logged");
    server.stop(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn regular_files_are_still_served_with_their_length() {
    let site = Site::new();
    std::fs::write(site.root().join("empty.txt"), "").unwrap();
    let server = serve(&site).await;
    let client = Client::new();
    for (path, content) in [
        ("/files/notes.txt", b"plain notes".to_vec()),
        ("/files/inside.txt", b"plain notes".to_vec()),
        ("/files/empty.txt", Vec::new()),
        ("/files/data.bin", vec![7u8; 100_000]),
    ] {
        let url = format!("{}{path}", server.url().unwrap());
        let (res, body) = common::within(path, client.get(url).into_future())
            .await
            .unwrap();
        assert_eq!(res.status(), Status::Ok, "{path}");
        let length = content.len().to_string();
        assert_eq!(res.headers().get("content-length"), Some(length.as_str()));
        assert_eq!(res.encoding(), Encoding::Fixed(content.len() as u64));
        let bytes = body.to_bytes_with_limit(1 << 20).await.unwrap();
        assert_eq!(bytes.as_ref(), content.as_slice(), "{path}");
    }
    server.stop(Duration::from_secs(1)).await;
}

/// CoHTTP's idiom, line for line: `resolve_local_file ~docroot ~uri`, then
/// `respond_file ~fname`.
#[tokio::test]
async fn respond_file_by_name_serves_what_resolve_local_file_names() {
    use paf_compat::server::{resolve_local_file, respond_file};

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    std::fs::write(dir.path().join("docs/page.html"), "<p>page</p>").unwrap();
    let fname = resolve_local_file(dir.path(), "/images/../docs/page.html").unwrap();
    let (res, body) = respond_file(&fname, None).await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(res.headers().get("content-type"), Some("text/html"));
    assert_eq!(body.to_string().await.unwrap(), "<p>page</p>");

    // A link to a file is followed, as CoHTTP opens the name it is given.
    std::os::unix::fs::symlink(dir.path().join("docs/page.html"), dir.path().join("link")).unwrap();
    let (res, _) = respond_file(dir.path().join("link"), None).await;
    assert_eq!(res.status(), Status::Ok);

    // A FIFO by name is a 404 at once, not a thread waiting for a writer.
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let answer = tokio::time::timeout(Duration::from_secs(5), respond_file(&fifo, None)).await;
    let (res, _) = answer.expect("respond_file waited on a FIFO");
    assert_eq!(res.status(), Status::NotFound);
    let (res, _) = respond_file(dir.path().join("missing"), None).await;
    assert_eq!(res.status(), Status::NotFound);
}
