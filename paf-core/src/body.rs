//! The body of a request or a response: full bytes in memory, or a stream of
//! chunks produced on demand.
//!
//! [`Body`] implements [`http_body::Body`], so every backend hands it to its
//! engine as it is and wraps what the engine returns with [`Body::wrap`]. A
//! stream is pulled only as fast as the peer takes it, which is what keeps
//! memory flat when hundreds of MiB go through.

#[cfg(feature = "tokio")]
use std::time::Duration;
use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll},
};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use futures_util::task::AtomicWaker;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use sync_wrapper::SyncWrapper;

#[cfg(feature = "tokio")]
use crate::error::TimeoutKind;
use crate::error::{BoxError, Error, Result};

type BoxedBody = Pin<Box<dyn http_body::Body<Data = Bytes, Error = Error> + Send + 'static>>;

/// An HTTP body: empty, full bytes, or a stream of chunks.
///
/// ```
/// # async fn demo() -> Result<(), paf_core::Error> {
/// use paf_core::Body;
/// let body = Body::from("hello");
/// assert_eq!(body.len(), Some(5));
/// assert_eq!(body.to_string(1024).await?, "hello");
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
/// ```
pub struct Body {
    kind: Kind,
}

enum Kind {
    /// Full bytes; `None` once they were handed out.
    Full(Option<Bytes>),
    /// Anything else. `SyncWrapper` makes `Body: Sync` without asking streams
    /// to be `Sync`: the inner value is only ever reached through `&mut`.
    Stream(SyncWrapper<BoxedBody>, SizeHint),
}

impl Body {
    fn streamed(
        body: impl http_body::Body<Data = Bytes, Error = Error> + Send + 'static,
        hint: SizeHint,
    ) -> Body {
        Body {
            kind: Kind::Stream(SyncWrapper::new(Box::pin(body)), hint),
        }
    }

    /// A body with no bytes.
    pub fn empty() -> Self {
        Body {
            kind: Kind::Full(None),
        }
    }

    /// A body of the given bytes.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        Body {
            kind: Kind::Full((!bytes.is_empty()).then_some(bytes)),
        }
    }

    /// A body read from a stream of chunks, of unknown length (sent chunked
    /// over HTTP/1.1).
    pub fn from_stream<S, B, E>(stream: S) -> Self
    where
        S: Stream<Item = std::result::Result<B, E>> + Send + 'static,
        B: Into<Bytes>,
        E: Into<BoxError>,
    {
        Self::stream_with_hint(stream, SizeHint::default())
    }

    /// A body read from a stream whose total length is known: sent with a
    /// `Content-Length`. A stream that ends early or runs long is an error of
    /// the connection, as HTTP requires.
    pub fn from_stream_sized<S, B, E>(stream: S, len: u64) -> Self
    where
        S: Stream<Item = std::result::Result<B, E>> + Send + 'static,
        B: Into<Bytes>,
        E: Into<BoxError>,
    {
        Self::stream_with_hint(stream, SizeHint::with_exact(len))
    }

    fn stream_with_hint<S, B, E>(stream: S, hint: SizeHint) -> Self
    where
        S: Stream<Item = std::result::Result<B, E>> + Send + 'static,
        B: Into<Bytes>,
        E: Into<BoxError>,
    {
        let body = StreamBody {
            stream: Box::pin(stream),
        };
        Body::streamed(body, hint)
    }

    /// Wraps any [`http_body::Body`] (an engine's incoming body, say). Errors
    /// that already are paf errors pass through unchanged.
    pub fn wrap<B>(body: B) -> Self
    where
        B: http_body::Body + Send + 'static,
        B::Data: Into<Bytes>,
        B::Error: Into<BoxError>,
    {
        let hint = body.size_hint();
        if hint.exact() == Some(0) && body.is_end_stream() {
            return Body::empty();
        }
        let body = body
            .map_frame(|frame| frame.map_data(Into::into))
            .map_err(|e| Error::from_boxed(e.into()));
        Body::streamed(body, hint)
    }

    /// A copy of the body when it is in memory (not yet read); `None` for
    /// streams, which can be read only once.
    pub fn try_clone(&self) -> Option<Body> {
        match &self.kind {
            Kind::Full(bytes) => Some(Body {
                kind: Kind::Full(bytes.clone()),
            }),
            Kind::Stream(..) => None,
        }
    }

    /// The exact length in bytes, when it is known before reading.
    pub fn len(&self) -> Option<u64> {
        http_body::Body::size_hint(self).exact()
    }

    /// True when the body is known to hold no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The next chunk of data, `None` at the end. Trailers are skipped.
    pub async fn chunk(&mut self) -> Option<Result<Bytes>> {
        loop {
            match self.frame().await? {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data() {
                        return Some(Ok(data));
                    }
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// Reads the whole body into memory, failing with
    /// [`Error::BodyTooLarge`] as soon as more than `limit` bytes arrive (or
    /// at once, when the known length is over it).
    pub async fn to_bytes(mut self, limit: usize) -> Result<Bytes> {
        let too_large = || Error::BodyTooLarge {
            limit: limit as u64,
        };
        if let Kind::Full(bytes) = &mut self.kind {
            let bytes = bytes.take().unwrap_or_default();
            return if bytes.len() > limit {
                Err(too_large())
            } else {
                Ok(bytes)
            };
        }
        if self.len().is_some_and(|len| len > limit as u64) {
            return Err(too_large());
        }
        let mut first: Option<Bytes> = None;
        let mut buf = BytesMut::new();
        let mut total = 0usize;
        while let Some(chunk) = self.chunk().await {
            let chunk = chunk?;
            total = total.saturating_add(chunk.len());
            if total > limit {
                return Err(too_large());
            }
            // A single chunk is returned without a copy.
            match first.take() {
                None if buf.is_empty() => first = Some(chunk),
                prev => {
                    if let Some(prev) = prev {
                        buf.extend_from_slice(&prev);
                    }
                    buf.extend_from_slice(&chunk);
                }
            }
        }
        Ok(first.unwrap_or_else(|| buf.freeze()))
    }

    /// Reads the whole body as UTF-8 text, with the same cap as [`Body::to_bytes`].
    /// Invalid UTF-8 is a [`Error::Body`] error.
    pub async fn to_string(self, limit: usize) -> Result<String> {
        let bytes = self.to_bytes(limit).await?;
        String::from_utf8(bytes.to_vec()).map_err(|e| Error::Body {
            source: Box::new(e),
        })
    }

    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    /// Fails reading with [`Error::Timeout`] ([`TimeoutKind::Request`]) once
    /// `deadline` passes: how a client's whole-request timeout reaches into
    /// the body. `after` is the limit, for the message.
    pub fn with_deadline(self, deadline: tokio::time::Instant, after: Duration) -> Body {
        Timed::wrap(self, Limit::At(deadline), TimeoutKind::Request, after)
    }

    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    /// Fails reading with [`Error::Timeout`] ([`TimeoutKind::BodyIdle`])
    /// when the reader has waited `idle` for the next bytes and none came:
    /// how a client's read-idle limit reaches into a response body. Only
    /// the reader's waits count: a caller that reads slowly is never cut,
    /// a peer that stops sending is.
    pub fn with_idle_timeout(self, idle: Duration) -> Body {
        Timed::wrap(self, Limit::Idle(idle), TimeoutKind::BodyIdle, idle)
    }

    /// The body, and a [`Sent`] that resolves once whoever reads the body
    /// (an engine writing a request) has taken its last byte: how a client
    /// knows when to start waiting for the response head. An empty body
    /// counts as taken at once. The length and data are unchanged, but a
    /// body in memory becomes a stream ([`Body::try_clone`] gives `None`):
    /// keep a copy first when the request may be sent again.
    pub fn track_sent(self) -> (Body, Sent) {
        if http_body::Body::is_end_stream(&self) {
            return (self, Sent { flag: None });
        }
        let flag = Arc::new(SentFlag::default());
        let left = http_body::Body::size_hint(&self).exact();
        let body = self.observed(TrackSent {
            left,
            flag: Some(flag.clone()),
        });
        (body, Sent { flag: Some(flag) })
    }

    /// The body, watched by `observer` as it is read (see
    /// [`BodyObserver`]): to count its bytes, time it, or know it was read
    /// whole. The data are unchanged; a body in memory becomes a stream.
    ///
    /// ```
    /// use paf_core::{body::BodyObserver, Body};
    /// use std::sync::{atomic::{AtomicUsize, Ordering}, Arc};
    ///
    /// struct Count(Arc<AtomicUsize>);
    /// impl BodyObserver for Count {
    ///     fn data(&mut self, len: usize, _at_end: bool) {
    ///         self.0.fetch_add(len, Ordering::Relaxed);
    ///     }
    /// }
    ///
    /// # async fn demo() -> paf_core::Result<()> {
    /// let seen = Arc::new(AtomicUsize::new(0));
    /// let body = Body::from("twelve bytes").observed(Count(seen.clone()));
    /// body.to_bytes(64).await?;
    /// assert_eq!(seen.load(Ordering::Relaxed), 12);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn observed(self, observer: impl BodyObserver) -> Body {
        let hint = http_body::Body::size_hint(&self);
        Body::streamed(
            Observed {
                body: self,
                observer,
            },
            hint,
        )
    }

    /// The body as a stream of data chunks.
    pub fn into_data_stream(self) -> impl Stream<Item = Result<Bytes>> + Send + Sync + 'static {
        http_body_util::BodyDataStream::new(self)
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Full(b) => f
                .debug_struct("Body")
                .field("full", &b.as_ref().map_or(0, Bytes::len))
                .finish(),
            Kind::Stream(_, hint) => f
                .debug_struct("Body")
                .field("stream", &hint.exact())
                .finish(),
        }
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>>>> {
        match &mut self.get_mut().kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Stream(inner, _) => inner.get_mut().as_mut().poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(bytes) => bytes.is_none(),
            // Asking the inner body needs `&mut` (see `SyncWrapper`); an exact
            // zero hint is just as good and the engines rely on hints anyway.
            Kind::Stream(_, hint) => hint.exact() == Some(0),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Stream(_, hint) => *hint,
        }
    }
}

#[cfg(feature = "tokio")]
/// A body whose reads fail with [`Error::Timeout`] once its limit runs out:
/// at a fixed deadline, or after a wait with no frame.
struct Timed {
    body: Body,
    /// Made at the first wait, then re-armed, not re-allocated: a body
    /// whose frames are all there when it is read (most responses) never
    /// makes a timer.
    timer: crate::timer::WaitTimer,
    limit: Limit,
    what: TimeoutKind,
    after: Duration,
}

#[cfg(feature = "tokio")]
/// When a [`Timed`] body's reads fail.
#[derive(Clone, Copy)]
enum Limit {
    /// At this instant, whatever the waits.
    At(tokio::time::Instant),
    /// After one wait this long with no frame.
    Idle(Duration),
}

#[cfg(feature = "tokio")]
impl Timed {
    fn wrap(body: Body, limit: Limit, what: TimeoutKind, after: Duration) -> Body {
        if let Kind::Full(_) = body.kind {
            return body;
        }
        let hint = http_body::Body::size_hint(&body);
        let timed = Timed {
            body,
            timer: crate::timer::WaitTimer::new(),
            limit,
            what,
            after,
        };
        Body::streamed(timed, hint)
    }
}

#[cfg(feature = "tokio")]
impl http_body::Body for Timed {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            // A deadline stays armed: it does not move with the frames.
            if let Limit::Idle(_) = this.limit {
                this.timer.disarm();
            }
            return Poll::Ready(frame);
        }
        let limit = this.limit;
        this.timer.arm(|| match limit {
            Limit::At(deadline) => deadline,
            Limit::Idle(idle) => tokio::time::Instant::now() + idle,
        });
        if this.timer.poll_expired(cx) {
            return Poll::Ready(Some(Err(Error::Timeout {
                what: this.what,
                after: this.after,
            })));
        }
        Poll::Pending
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[derive(Default)]
struct SentFlag {
    sent: AtomicBool,
    waker: AtomicWaker,
}

impl SentFlag {
    fn set(&self) {
        self.sent.store(true, Ordering::Release);
        self.waker.wake();
    }
}

/// Resolves once a body from [`Body::track_sent`] has been read to its last
/// byte. It never resolves when the body is dropped before that: the
/// request then failed, and its own error says so.
pub struct Sent {
    /// `None`: the body was empty, so sent from the start.
    flag: Option<Arc<SentFlag>>,
}

impl fmt::Debug for Sent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sent = self
            .flag
            .as_ref()
            .is_none_or(|flag| flag.sent.load(Ordering::Acquire));
        f.debug_struct("Sent").field("sent", &sent).finish()
    }
}

impl Future for Sent {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(flag) = &self.flag else {
            return Poll::Ready(());
        };
        if flag.sent.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        flag.waker.register(cx.waker());
        // Set between the first look and the registration: seen now.
        if flag.sent.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

/// Watches a body as it is read ([`Body::observed`]): each data frame, its
/// end, its failure, and the moment it is dropped. What the engines and the
/// server count or time about a body is written once as an observer.
pub trait BodyObserver: Send + Sync + Unpin + 'static {
    /// A data frame of `len` bytes went by; `at_end` when the body says it
    /// has nothing more (its exact length is read).
    fn data(&mut self, len: usize, at_end: bool) {
        let _ = (len, at_end);
    }

    /// The body ended: it yielded its last frame.
    fn ended(&mut self) {}

    /// Reading the body failed.
    fn failed(&mut self, error: &Error) {
        let _ = error;
    }

    /// The body is dropped, at its end or not (`at_end`): read whole, or
    /// given up by whoever held it.
    fn dropped(&mut self, at_end: bool) {
        let _ = at_end;
    }
}

/// A body and its [`BodyObserver`].
struct Observed<O: BodyObserver> {
    body: Body,
    observer: O,
}

impl<O: BodyObserver> http_body::Body for Observed<O> {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let at_end = this.body.is_end_stream();
                    this.observer.data(data.len(), at_end);
                }
            }
            Poll::Ready(Some(Err(error))) => this.observer.failed(error),
            Poll::Ready(None) => this.observer.ended(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl<O: BodyObserver> Drop for Observed<O> {
    fn drop(&mut self) {
        let at_end = http_body::Body::is_end_stream(&self.body);
        self.observer.dropped(at_end);
    }
}

/// Sets its [`SentFlag`] with the body's last byte. An engine that knows
/// the length stops reading once it has that many bytes (hyper drops the
/// body without asking for its end), so the last byte is counted, not
/// waited for.
struct TrackSent {
    /// Bytes still to come, when the length is known.
    left: Option<u64>,
    /// Taken when set.
    flag: Option<Arc<SentFlag>>,
}

impl TrackSent {
    fn mark_sent(&mut self) {
        if let Some(flag) = self.flag.take() {
            flag.set();
        }
    }
}

impl BodyObserver for TrackSent {
    fn data(&mut self, len: usize, at_end: bool) {
        if let Some(left) = &mut self.left {
            *left = left.saturating_sub(len as u64);
        }
        if self.left == Some(0) || at_end {
            self.mark_sent();
        }
    }

    fn ended(&mut self) {
        self.mark_sent();
    }
}

struct StreamBody<S> {
    stream: Pin<Box<S>>,
}

impl<S, B, E> http_body::Body for StreamBody<S>
where
    S: Stream<Item = std::result::Result<B, E>>,
    B: Into<Bytes>,
    E: Into<BoxError>,
{
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>>>> {
        let this = self.get_mut();
        match this.stream.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(Ok(Frame::data(chunk.into())))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Error::from_boxed(e.into())))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

macro_rules! from_full {
    ($($t:ty),*) => {$(
        impl From<$t> for Body {
            fn from(value: $t) -> Self {
                Body::full(value)
            }
        }
    )*};
}
from_full!(Bytes, Vec<u8>, String, &'static str, &'static [u8]);

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{stream, FutureExt as _, StreamExt as _};

    /// Whether `sent` has resolved, without waiting.
    fn taken(sent: &mut Sent) -> bool {
        sent.now_or_never().is_some()
    }

    fn chunks(n: usize, size: usize) -> Body {
        Body::from_stream(stream::iter(
            (0..n).map(move |_| Ok::<_, std::io::Error>(vec![b'x'; size])),
        ))
    }

    #[tokio::test]
    async fn full_body_knows_its_length() {
        let body = Body::from("hello");
        assert_eq!(body.len(), Some(5));
        assert!(!body.is_empty());
        assert!(Body::empty().is_empty());
        assert!(Body::from("").is_empty());
    }

    #[tokio::test]
    async fn stream_is_read_to_bytes_in_order() {
        let body = Body::from_stream(stream::iter(vec![
            Ok::<_, std::io::Error>("ab"),
            Ok("cd"),
            Ok("e"),
        ]));
        assert_eq!(body.len(), None);
        assert_eq!(body.to_bytes(100).await.unwrap(), "abcde");
    }

    #[tokio::test]
    async fn cap_is_enforced_while_streaming() {
        let err = chunks(10, 100).to_bytes(999).await.unwrap_err();
        assert!(matches!(err, Error::BodyTooLarge { limit: 999 }));
        let ok = chunks(10, 100).to_bytes(1000).await.unwrap();
        assert_eq!(ok.len(), 1000);
    }

    #[tokio::test]
    async fn known_length_over_cap_fails_without_reading() {
        let polled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = polled.clone();
        let stream = stream::poll_fn(move |_| {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            Poll::Ready(Some(Ok::<_, std::io::Error>(Bytes::from_static(b"x"))))
        });
        let body = Body::from_stream_sized(stream, 1 << 20);
        assert!(body.to_bytes(1024).await.unwrap_err().is_body_too_large());
        assert!(!polled.load(std::sync::atomic::Ordering::SeqCst));
        assert!(Body::from("12345")
            .to_bytes(4)
            .await
            .unwrap_err()
            .is_body_too_large());
    }

    #[tokio::test]
    async fn stream_error_is_typed() {
        let body = Body::from_stream(stream::iter(vec![
            Ok("ok".to_string()),
            Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        ]));
        let err = body.to_bytes(100).await.unwrap_err();
        assert!(matches!(err, Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionReset));
    }

    #[tokio::test]
    async fn invalid_utf8_is_a_body_error() {
        let err = Body::from(vec![0xff, 0xfe])
            .to_string(10)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Body { .. }));
    }

    #[tokio::test]
    async fn wrapped_body_keeps_length_and_data() {
        let inner = http_body_util::Full::new(Bytes::from_static(b"wrapped"));
        let body = Body::wrap(inner);
        assert_eq!(body.len(), Some(7));
        assert_eq!(body.to_string(100).await.unwrap(), "wrapped");
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_cuts_a_stalled_body() {
        let stalled = Body::from_stream(futures_util::stream::pending::<std::io::Result<Bytes>>());
        let after = Duration::from_secs(5);
        let body = stalled.with_deadline(tokio::time::Instant::now() + after, after);
        let err = body.to_bytes(10).await.unwrap_err();
        assert!(
            matches!(err, Error::Timeout { what: TimeoutKind::Request, after: a } if a == after)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn idle_timeout_cuts_a_body_that_stops() {
        let idle = Duration::from_secs(5);
        let stalls = Body::from_stream(
            stream::iter([Ok::<_, std::io::Error>(Bytes::from("start"))]).chain(stream::pending()),
        )
        .with_idle_timeout(idle);
        let started = tokio::time::Instant::now();
        let err = stalls.to_bytes(100).await.unwrap_err();
        assert!(
            matches!(err, Error::Timeout { what: TimeoutKind::BodyIdle, after } if after == idle),
            "{err:?}"
        );
        assert_eq!(started.elapsed(), idle);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_timeout_cuts_a_body_that_stops_after_an_earlier_wait() {
        // The first wait ends with a frame (the timer is made, then
        // disarmed); the second never does and is cut a whole limit after
        // it began.
        let idle = Duration::from_secs(5);
        let late = stream::once(async {
            tokio::time::sleep(Duration::from_secs(4)).await;
            Ok::<_, std::io::Error>(Bytes::from("late"))
        });
        let mut body = Body::from_stream(late.chain(stream::pending())).with_idle_timeout(idle);
        let started = tokio::time::Instant::now();
        assert_eq!(body.chunk().await.unwrap().unwrap(), "late");
        let err = body.chunk().await.unwrap().unwrap_err();
        assert!(
            matches!(err, Error::Timeout { what: TimeoutKind::BodyIdle, after } if after == idle),
            "{err:?}"
        );
        assert_eq!(started.elapsed(), Duration::from_secs(4) + idle);
    }

    #[test]
    fn a_body_read_without_waiting_makes_no_timer() {
        // No runtime here: making a tokio timer would panic, so this body,
        // whose frames are all there, shows that its limits made none.
        let body = Body::from_stream(stream::iter(
            ["a", "b"].map(|s| Ok::<_, std::io::Error>(Bytes::from(s))),
        ))
        .with_idle_timeout(Duration::from_secs(1))
        .with_deadline(
            tokio::time::Instant::now() + Duration::from_secs(1),
            Duration::from_secs(1),
        );
        let read = body.to_bytes(10).now_or_never();
        assert_eq!(read.map(Result::unwrap), Some(Bytes::from("ab")));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_timeout_spares_a_body_that_keeps_coming() {
        // A byte every 4 s for 40 s: slow, never idle for 5 s.
        let trickle = stream::unfold(0u32, |n| async move {
            if n == 10 {
                return None;
            }
            tokio::time::sleep(Duration::from_secs(4)).await;
            Some((Ok::<_, std::io::Error>(Bytes::from("x")), n + 1))
        });
        let body = Body::from_stream(trickle).with_idle_timeout(Duration::from_secs(5));
        assert_eq!(body.to_bytes(100).await.unwrap().len(), 10);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_timeout_does_not_count_the_readers_own_pauses() {
        let mut body = Body::from_stream(stream::iter(
            ["a", "b"].map(|s| Ok::<_, std::io::Error>(Bytes::from(s))),
        ))
        .with_idle_timeout(Duration::from_secs(1));
        assert_eq!(body.chunk().await.unwrap().unwrap(), "a");
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(body.chunk().await.unwrap().unwrap(), "b");
        assert!(body.chunk().await.is_none());
    }

    #[tokio::test]
    async fn sent_resolves_with_the_last_byte() {
        // Known length: the engine stops at the last byte, never asks for
        // the end.
        let (mut body, mut sent) = Body::from_stream_sized(
            stream::iter(["ab", "cd"].map(|s| Ok::<_, std::io::Error>(Bytes::from(s)))),
            4,
        )
        .track_sent();
        assert_eq!(body.len(), Some(4));
        assert!(!taken(&mut sent));
        body.chunk().await.unwrap().unwrap();
        assert!(!taken(&mut sent));
        body.chunk().await.unwrap().unwrap();
        assert!(taken(&mut sent));

        // Unknown length: sent at the end of the stream.
        let (mut body, mut sent) = chunks(2, 3).track_sent();
        body.chunk().await.unwrap().unwrap();
        body.chunk().await.unwrap().unwrap();
        assert!(!taken(&mut sent));
        assert!(body.chunk().await.is_none());
        assert!(taken(&mut sent));

        // Full and empty bodies.
        let (body, mut sent) = Body::from("hello").track_sent();
        assert_eq!(body.len(), Some(5));
        assert!(!taken(&mut sent));
        assert_eq!(body.to_bytes(10).await.unwrap(), "hello");
        assert!(taken(&mut sent));
        let (_body, sent) = Body::empty().track_sent();
        sent.await;
    }

    #[test]
    fn body_is_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Body>();
    }
}
