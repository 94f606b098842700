//! The live progress bar (indicatif, on standard error). Clients only bump
//! two atomic counters; a thread of its own redraws the bar ten times a
//! second, so the bar costs the load nothing however fast requests go.

use std::{
    io::IsTerminal,
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc, Arc,
    },
    thread,
    time::{Duration, Instant},
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::args::Stop;

/// Counters the clients bump as requests finish.
#[derive(Debug, Default)]
pub struct Counters {
    done: AtomicU64,
    failed: AtomicU64,
}

impl Counters {
    /// One request finished; `failed` when it counts as a failure.
    pub fn finished(&self, failed: bool) {
        self.done.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The bar and the thread that redraws it; [`Progress::finish`] clears it.
#[derive(Debug)]
pub struct Progress {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Progress {
    /// Starts the bar, unless `off` or standard error is not a terminal (a
    /// bar in a log file or a pipe is only noise).
    pub fn start(stop: Stop, counters: Arc<Counters>, off: bool) -> Progress {
        if off || !std::io::stderr().is_terminal() {
            return Progress {
                stop: None,
                thread: None,
            };
        }
        let (len, template) = match stop {
            Stop::Count(n) => (
                n,
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}",
            ),
            Stop::Duration(d) => (
                u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
                "{spinner} [{elapsed_precise}] {wide_bar} {msg}",
            ),
        };
        let style = ProgressStyle::with_template(template)
            .expect("the template is a constant indicatif accepts")
            .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr())
            .with_style(style);
        let (tx, rx) = mpsc::channel::<()>();
        let started = Instant::now();
        let thread = thread::spawn(move || loop {
            let done = counters.done.load(Ordering::Relaxed);
            let failed = counters.failed.load(Ordering::Relaxed);
            let elapsed = started.elapsed();
            let rate = done as f64 / elapsed.as_secs_f64().max(1e-3);
            match stop {
                Stop::Count(_) => bar.set_position(done),
                Stop::Duration(_) => bar.set_position(
                    u64::try_from(elapsed.as_millis())
                        .unwrap_or(u64::MAX)
                        .min(len),
                ),
            }
            // The count is on the bar itself in count mode.
            bar.set_message(match stop {
                Stop::Count(_) => format!("{failed} failed, {rate:.0} req/s"),
                Stop::Duration(_) => format!("{done} done, {failed} failed, {rate:.0} req/s"),
            });
            match rx.recv_timeout(Duration::from_millis(100)) {
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                _ => {
                    bar.finish_and_clear();
                    return;
                }
            }
        });
        Progress {
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    /// Stops redrawing and clears the bar.
    pub fn finish(mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            // The redraw thread only draws; if it panicked there is nothing
            // left to clear.
            let _ = thread.join();
        }
    }
}
