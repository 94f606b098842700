//! A timer for the waits of a stream or a body: made at the first wait
//! that needs it, then re-armed rather than made again. Most reads and
//! writes never wait, and making a tokio timer costs an allocation and a
//! clock reading; a limit on each wait (a body idle limit, a send timeout)
//! or on the whole (a deadline) is then free until something waits.
//!
//! For backends: paf's client bodies and paf-hyper's server streams use it.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use tokio::time::{Instant, Sleep};

/// A timer armed while something waits, allocated at the first arming.
///
/// ```
/// use std::{future::poll_fn, task::Poll, time::Duration};
/// use paf_core::timer::WaitTimer;
/// use tokio::time::Instant;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut timer = WaitTimer::new();
/// assert!(!timer.is_armed());
/// // A read that has to wait arms it once: later polls keep its deadline.
/// let started = Instant::now();
/// assert!(timer.arm(|| Instant::now() + Duration::from_secs(5)));
/// assert!(!timer.arm(|| unreachable!("already armed")));
/// poll_fn(|cx| if timer.poll_expired(cx) { Poll::Ready(()) } else { Poll::Pending }).await;
/// assert_eq!(started.elapsed(), Duration::from_secs(5));
/// // The wait is over: the next one arms it again, with the same timer.
/// assert!(timer.disarm());
/// assert!(!timer.is_armed());
/// # }
/// ```
#[derive(Debug, Default)]
pub struct WaitTimer {
    sleep: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

impl WaitTimer {
    /// A timer not made yet.
    pub fn new() -> Self {
        WaitTimer::default()
    }

    /// Arms the timer for the deadline `at` gives, unless it is armed
    /// already (then `at` is not called: a wait keeps the deadline it
    /// started with). Whether it was armed now.
    pub fn arm(&mut self, at: impl FnOnce() -> Instant) -> bool {
        if self.armed {
            return false;
        }
        self.armed = true;
        let deadline = at();
        match &mut self.sleep {
            Some(sleep) => sleep.as_mut().reset(deadline),
            None => self.sleep = Some(Box::pin(tokio::time::sleep_until(deadline))),
        }
        true
    }

    /// The wait is over: the next [`arm`](Self::arm) sets a new deadline.
    /// Whether it was armed.
    pub fn disarm(&mut self) -> bool {
        std::mem::replace(&mut self.armed, false)
    }

    /// Whether a wait is being timed.
    pub fn is_armed(&self) -> bool {
        self.armed
    }

    /// Whether the armed deadline has passed; when not, `cx` is woken once
    /// it does. An unarmed timer never expires.
    pub fn poll_expired(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.armed {
            return false;
        }
        self.sleep
            .as_mut()
            .is_some_and(|sleep| matches!(sleep.as_mut().poll(cx), Poll::Ready(())))
    }
}
