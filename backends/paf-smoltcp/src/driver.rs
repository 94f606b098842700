//! The task that moves frames: it polls the interface, then sleeps until
//! smoltcp's next timer (`Interface::poll_delay`), a frame from the device,
//! or a wake-up from a socket's owner, whichever comes first. An idle
//! stack with no timer pending sleeps until something happens.

use std::{future::poll_fn, sync::Arc, time::Duration};

use crate::{device::Device, stack::Shared};

/// Polls in a row while smoltcp has more to do at once (a poll sends all it
/// can, but the device may have had no room, and what `housekeep` closed or
/// reset has a segment to send), before letting the runtime's other tasks
/// run.
const BUSY_POLLS: usize = 64;

/// What one turn of the driver left to do.
enum Turn {
    /// Nobody holds the stack and nothing is closing: the task ends.
    Done,
    /// More to send at once: yield, then poll again.
    Busy,
    /// Sleep until woken, or at most this long.
    Idle(Option<Duration>),
}

/// Runs the stack until no handle is left, or the device fails.
pub(crate) async fn run<D: Device>(mut device: D, shared: Arc<Shared>) {
    // Whatever ends the task (its end, the device's error, a cancelled
    // runtime, a panic in the device), the streams must hear of it.
    let mut down = Down {
        shared: &shared,
        reason: "its task was cancelled".to_string(),
    };
    loop {
        let wait = match turn(&shared, &mut device) {
            Turn::Done => {
                down.reason = "every handle to it was dropped".to_string();
                return;
            }
            Turn::Busy => {
                tokio::task::yield_now().await;
                continue;
            }
            Turn::Idle(wait) => wait,
        };
        let timer = async {
            match wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = shared.driver_woken() => {}
            ready = poll_fn(|cx| device.poll_ready(cx)) => {
                if let Err(e) = ready {
                    down.reason = format!("its device failed: {e}");
                    return;
                }
            }
            () = timer => {}
        }
    }
}

/// Polls until smoltcp has nothing to send at once, and says how long the
/// driver may sleep.
fn turn<D: Device>(shared: &Shared, device: &mut D) -> Turn {
    let mut guard = shared.lock();
    let state = &mut *guard;
    for _ in 0..BUSY_POLLS {
        let now = shared.now();
        state.iface.poll(now, device, &mut state.sockets);
        let closing_due = state.housekeep(&shared.config);
        if !shared.has_users() && state.is_idle() {
            return Turn::Done;
        }
        let delay = state.iface.poll_delay(now, &state.sockets);
        if delay == Some(smoltcp::time::Duration::ZERO) {
            continue;
        }
        let delay = delay.map(|d| Duration::from_micros(d.total_micros()));
        let closing = closing_due.map(|at| at.saturating_duration_since(std::time::Instant::now()));
        let wait = match (delay, closing) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        return Turn::Idle(wait);
    }
    Turn::Busy
}

/// Marks the stack stopped when the driver ends, however it ends.
struct Down<'a> {
    shared: &'a Shared,
    reason: String,
}

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let reason = if std::thread::panicking() {
            // A panic in smoltcp (or in the device): the stack stops, the
            // process goes on.
            "it panicked (see the panic message)".to_string()
        } else {
            std::mem::take(&mut self.reason)
        };
        self.shared.lock().shut_down(reason);
    }
}
