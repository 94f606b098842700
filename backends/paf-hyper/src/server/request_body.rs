//! The request body as the handler reads it: bounded in size (the body
//! limit) and in patience (the body read timeout). Either failure is
//! sticky, recorded for the server to answer 413 or 408 once the handler is
//! done, and seen by the connection's shedding (a read that waits is a
//! stalled client).

use std::{
    pin::Pin,
    sync::{
        atomic::{AtomicU8, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use paf_core::{error::TimeoutKind, timer::WaitTimer, BoxError, Error};
use tokio::time::Instant;

use super::connections::Activity;

/// How a request body read ended badly, if it did; shared between the body
/// (which sets it) and the server (which answers for it).
#[derive(Default)]
pub(super) struct Verdict(AtomicU8);

const FINE: u8 = 0;
const TOO_LARGE: u8 = 1;
const TIMED_OUT: u8 = 2;

impl Verdict {
    pub(super) fn too_large(&self) -> bool {
        self.0.load(Ordering::Acquire) == TOO_LARGE
    }

    pub(super) fn timed_out(&self) -> bool {
        self.0.load(Ordering::Acquire) == TIMED_OUT
    }

    fn set(&self, verdict: u8) {
        let _ = self
            .0
            .compare_exchange(FINE, verdict, Ordering::AcqRel, Ordering::Acquire);
    }

    fn get(&self) -> u8 {
        self.0.load(Ordering::Acquire)
    }
}

/// A request body that fails with [`Error::BodyTooLarge`] once more than
/// `limit` bytes came in, and with [`Error::Timeout`]
/// ([`TimeoutKind::Body`]) once a read has waited `read_timeout` for a byte.
pub(super) struct RequestBody {
    body: Incoming,
    limit: u64,
    seen: u64,
    /// `None`: no limit.
    read_timeout: Option<Duration>,
    /// Armed while a read waits (the connection's activity counts it as
    /// waiting meanwhile); made at the first wait only.
    timer: WaitTimer,
    verdict: Arc<Verdict>,
    activity: Arc<Activity>,
}

impl RequestBody {
    pub(super) fn new(
        body: Incoming,
        limit: u64,
        read_timeout: Option<Duration>,
        verdict: Arc<Verdict>,
        activity: Arc<Activity>,
    ) -> Self {
        RequestBody {
            body,
            limit,
            seen: 0,
            read_timeout,
            timer: WaitTimer::new(),
            verdict,
            activity,
        }
    }

    fn failure(&self) -> Option<BoxError> {
        match self.verdict.get() {
            TOO_LARGE => Some(Box::new(Error::BodyTooLarge { limit: self.limit })),
            TIMED_OUT => Some(Box::new(Error::Timeout {
                what: TimeoutKind::Body,
                after: self.read_timeout.unwrap_or_default(),
            })),
            _ => None,
        }
    }

    /// Starts or goes on waiting for the next byte: `true` once the wait
    /// has lasted the read timeout.
    fn wait(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(limit) = self.read_timeout else {
            return false;
        };
        if self.timer.arm(|| Instant::now() + limit) {
            self.activity.body_wait_begins();
        }
        self.timer.poll_expired(cx)
    }

    fn stop_waiting(&mut self) {
        if self.timer.disarm() {
            self.activity.body_wait_ends();
        }
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        self.stop_waiting();
    }
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        // Once failed, always failed: a reader that retries must not see an
        // end, nor a body that goes on.
        if let Some(failure) = this.failure() {
            return Poll::Ready(Some(Err(failure)));
        }
        let frame = match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(frame) => frame,
            Poll::Pending => {
                if this.wait(cx) {
                    this.stop_waiting();
                    this.verdict.set(TIMED_OUT);
                    return Poll::Ready(this.failure().map(Err));
                }
                return Poll::Pending;
            }
        };
        this.stop_waiting();
        if let Some(data) = frame.as_ref().and_then(|f| f.as_ref().ok()?.data_ref()) {
            this.seen = this.seen.saturating_add(data.len() as u64);
            if this.seen > this.limit {
                this.verdict.set(TOO_LARGE);
                return Poll::Ready(this.failure().map(Err));
            }
        }
        Poll::Ready(frame.map(|f| f.map_err(|e| Box::new(e) as BoxError)))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
