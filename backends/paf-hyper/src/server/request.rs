//! Each request on a connection: the checks made before the handler runs,
//! the handler's call (its panic or its timeout turned into the error
//! handler's answer), and the response body that keeps the request counted
//! until hyper is done with it.
//!
//! This is the server's hottest path. hyper calls [`Serve`] for every
//! request, then keeps the future it returns, moving it into place, until
//! the response head is ready: all that can be done at once is done in the
//! call, and [`Answer`] holds little more than the handler's boxed future.
//! What the requests of a connection share is built once per connection,
//! in one [`Conn`]; a request holds one reference to it, until its response
//! body is done.

use std::{
    any::Any,
    convert::Infallible,
    future::Future,
    panic::{catch_unwind, AssertUnwindSafe},
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
};

use bytes::Bytes;
use http::{header, request, HeaderValue, Method, Request, Response, StatusCode, Version};
use http_body::{Frame, SizeHint};
use hyper::{body::Incoming, service::Service};
use paf_core::{
    server::{status_response, ConnInfo, PeerAddr, ServerError},
    Body, BoxFuture, Error, Result,
};
use tokio::time::Sleep;
use tracing::{debug, warn, Instrument};

use super::{
    access_log::{AccessLog, RequestTarget},
    builder::finite,
    connections::Activity,
    request_body::{RequestBody, Verdict},
    request_log::RequestLog,
    target, Server,
};

/// What the requests of one connection share.
pub(super) struct Conn {
    pub(super) server: Server,
    /// The connection's description, put in each request's extensions.
    pub(super) info: Arc<ConnInfo>,
    /// Its requests in progress (and its span).
    pub(super) activity: Arc<Activity>,
}

/// The service hyper calls for each request of a connection.
pub(super) struct Serve(pub(super) Arc<Conn>);

impl Service<Request<Incoming>> for Serve {
    type Response = Response<Tracked>;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, request: Request<Incoming>) -> Answer {
        let conn = &self.0;
        let in_flight = InFlight::begin(conn);
        let access_log = conn.server.inner.access_log.as_ref();
        let (parts, body) = request.into_parts();
        let state = if RequestLog::may_be_wanted(access_log) {
            conn.start_logged(access_log, parts, body)
        } else {
            conn.start(parts, body)
        };
        Answer {
            state,
            in_flight: Some(in_flight),
        }
    }
}

/// A request's response, once the handler has given its head.
pub(super) struct Answer {
    state: State,
    /// Moved into the response body when the head is ready.
    in_flight: Option<InFlight>,
}

enum State {
    /// Answered without the handler (a refused request, a handler that
    /// panicked in its call); taken when polled.
    Ready(Option<Box<Response<Body>>>),
    /// Waiting for the handler.
    Handler {
        answer: BoxFuture<'static, Response<Body>>,
        /// Shared with the request body, when there is one.
        verdict: Option<Arc<Verdict>>,
        /// The handler timeout's, when there is one.
        deadline: Option<Pin<Box<Sleep>>>,
        version: Version,
    },
    /// A logged request: the whole answer, in the request's span.
    Logged(BoxFuture<'static, Response<Body>>),
}

impl State {
    fn ready(response: Response<Body>) -> State {
        State::Ready(Some(Box::new(response)))
    }

    /// The response, once there is one; `conn` answers for a handler that
    /// failed. Inlined: the response is then built where it is wanted
    /// rather than moved there.
    #[inline(always)]
    fn poll_response(&mut self, cx: &mut Context<'_>, conn: &Conn) -> Poll<Response<Body>> {
        match self {
            State::Ready(response) => match response.take() {
                Some(response) => Poll::Ready(*response),
                // Polled again after it was ready: hyper never does.
                None => Poll::Pending,
            },
            State::Logged(answer) => answer.as_mut().poll(cx),
            State::Handler {
                answer,
                verdict,
                deadline,
                version,
            } => {
                let polled = catch_unwind(AssertUnwindSafe(|| answer.as_mut().poll(cx)));
                let response = match polled {
                    Ok(Poll::Ready(response)) => response,
                    Ok(Poll::Pending) => {
                        let late = deadline
                            .as_mut()
                            .is_some_and(|deadline| deadline.as_mut().poll(cx).is_ready());
                        if !late {
                            return Poll::Pending;
                        }
                        let after = conn.server.inner.limits.handler_timeout.unwrap_or_default();
                        warn!(peer = %conn.info.peer, ?after, "handler timed out");
                        let error = ServerError::HandlerTimeout {
                            after,
                            peer: conn.info.peer.clone(),
                        };
                        return Poll::Ready(conn.server.error_response(&error));
                    }
                    Err(panic) => return Poll::Ready(conn.panicked(&*panic)),
                };
                // Whatever the handler made of a failed read of the request
                // body, the client is told why.
                if let Some(failed) = verdict.as_deref().and_then(|v| conn.judge(v, *version)) {
                    return Poll::Ready(failed);
                }
                Poll::Ready(response)
            }
        }
    }
}

impl Future for Answer {
    type Output = std::result::Result<Response<Tracked>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(in_flight) = &this.in_flight else {
            // Polled again after it was ready: hyper never does.
            return Poll::Pending;
        };
        let response = ready!(this.state.poll_response(cx, &in_flight.0));
        let in_flight = this.in_flight.take();
        Poll::Ready(Ok(response.map(|body| Tracked {
            body,
            _in_flight: in_flight,
        })))
    }
}

impl Conn {
    /// A request that may be logged: when it is, it is started in its span
    /// when that is enabled, its response head recorded and its body
    /// counted. Boxed, so that the future hyper keeps stays as small as when
    /// nothing is logged.
    #[cold]
    fn start_logged(
        self: &Arc<Self>,
        access_log: Option<&Arc<dyn AccessLog>>,
        parts: request::Parts,
        body: Incoming,
    ) -> State {
        let span = &self.activity.span;
        let Some(log) = RequestLog::begin(span, access_log, &self.info, &parts) else {
            return self.start(parts, body);
        };
        let span = log.span.clone();
        let mut state = if span.is_disabled() {
            self.start(parts, body)
        } else {
            span.in_scope(|| self.start(parts, body))
        };
        let conn = self.clone();
        let respond = async move {
            let response = std::future::poll_fn(|cx| state.poll_response(cx, &conn)).await;
            log.responded(response)
        };
        if span.is_disabled() {
            State::Logged(Box::pin(respond))
        } else {
            State::Logged(Box::pin(respond.instrument(span)))
        }
    }

    /// Checks the request, then calls the handler. Inlined: the request is
    /// large, and would otherwise be copied to be passed.
    #[inline(always)]
    fn start(&self, mut parts: request::Parts, body: Incoming) -> State {
        let version = parts.version;
        let peer = &self.info.peer;
        let server = &self.server;
        let limits = &server.inner.limits;
        if let Some(reason) = target::refusal(&parts.method, &parts.uri, version) {
            // The path alone, as in the access log: a query often carries
            // tokens that should stay out of logs.
            let path = RequestTarget {
                uri: &parts.uri,
                query: false,
            };
            debug!(%peer, method = %parts.method, %path, reason, "bad request target");
            let error = ServerError::BadTarget {
                method: parts.method,
                target: parts.uri.to_string(),
                reason,
                peer: peer.clone(),
            };
            // What else the client sends cannot be trusted to be framed as
            // it thinks either: answer, then close.
            return State::ready(closing(server.error_response(&error), version));
        }
        if parts.method == Method::CONNECT && !limits.accept_connect {
            debug!(%peer, "CONNECT refused");
            let peer = peer.clone();
            return State::ready(server.error_response(&ServerError::ConnectNotAllowed { peer }));
        }
        let limit = limits.max_body_size;
        // The declared length is known before a byte of the body is read:
        // refuse at once rather than let the handler start on it.
        if http_body::Body::size_hint(&body).lower() > limit {
            debug!(%peer, limit, "request body declared larger than the limit");
            return State::ready(server.body_too_large(limit, peer.clone(), version));
        }
        // A request without a body (most GETs) needs no guard on it.
        let (body, verdict) = if http_body::Body::is_end_stream(&body) {
            (Body::empty(), None)
        } else {
            let verdict = Arc::new(Verdict::default());
            let read_timeout = finite(limits.body_read_timeout);
            let activity = self.activity.clone();
            let guarded = RequestBody::new(body, limit, read_timeout, verdict.clone(), activity);
            (Body::wrap(guarded), Some(verdict))
        };
        if server.inner.conn_info {
            parts.extensions.insert(self.info_for(version));
        }
        // The call is guarded too, for a handler that panics before it
        // returns its future. The request is put together in the guard, so
        // that it is not copied into it.
        let handler = &server.inner.handler;
        let call = move || handler.call(Request::from_parts(parts, body));
        match catch_unwind(AssertUnwindSafe(call)) {
            Err(panic) => State::ready(self.panicked(&*panic)),
            Ok(answer) => State::Handler {
                answer,
                verdict,
                deadline: limits
                    .handler_timeout
                    .map(|after| Box::pin(tokio::time::sleep(after))),
                version,
            },
        }
    }

    /// The connection's description, for a request of `version`: an
    /// HTTP/1.0 request on a connection counted as HTTP/1.1 gets its own,
    /// every other request shares the connection's.
    fn info_for(&self, version: Version) -> Arc<ConnInfo> {
        if self.info.version == version {
            return self.info.clone();
        }
        let info = ConnInfo::new(self.info.peer.clone(), version, self.info.tls.clone());
        Arc::new(info.with_id(self.info.id))
    }

    /// The error handler's answer to a request whose body read failed,
    /// if it did.
    fn judge(&self, verdict: &Verdict, version: Version) -> Option<Response<Body>> {
        let peer = &self.info.peer;
        let limits = &self.server.inner.limits;
        if verdict.too_large() {
            let limit = limits.max_body_size;
            debug!(%peer, limit, "request body passed the limit");
            return Some(self.server.body_too_large(limit, peer.clone(), version));
        }
        if verdict.timed_out() {
            let after = limits.body_read_timeout;
            debug!(%peer, ?after, "request body stalled");
            let error = ServerError::BodyTimeout {
                after,
                peer: peer.clone(),
            };
            return Some(closing(self.server.error_response(&error), version));
        }
        None
    }

    /// The error handler's answer to a handler that panicked.
    fn panicked(&self, panic: &(dyn Any + Send)) -> Response<Body> {
        let message = panic_message(panic);
        warn!(peer = %self.info.peer, %message, "handler panicked");
        self.server.error_response(&ServerError::HandlerPanicked {
            message,
            peer: self.info.peer.clone(),
        })
    }
}

impl Server {
    /// The error handler's answer to a body over the limit. The rest of the
    /// body is not read, so an HTTP/1 connection cannot carry another
    /// request: say so rather than let the client find out.
    fn body_too_large(&self, limit: u64, peer: PeerAddr, version: Version) -> Response<Body> {
        let response = self.error_response(&ServerError::BodyTooLarge { limit, peer });
        closing(response, version)
    }

    /// The error handler's response; a panicking error handler must not
    /// take the connection down with it, so it gets a bare 500.
    pub(super) fn error_response(&self, error: &ServerError) -> Response<Body> {
        catch_unwind(AssertUnwindSafe(|| self.inner.error_handler.handle(error))).unwrap_or_else(
            |_| {
                warn!(%error, "error handler panicked");
                status_response(StatusCode::INTERNAL_SERVER_ERROR)
            },
        )
    }
}

/// Closes an HTTP/1 connection after `response`: the rest of the request
/// body was not read, so the connection cannot carry another request.
fn closing(mut response: Response<Body>, version: Version) -> Response<Body> {
    if version < Version::HTTP_2 {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic payload is not a string".to_string()
    }
}

/// One request in progress on a connection: from hyper handing it over
/// until its response body is dropped, the connection is busy.
pub(super) struct InFlight(Arc<Conn>);

impl InFlight {
    fn begin(conn: &Arc<Conn>) -> InFlight {
        conn.activity.request_began();
        InFlight(conn.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.activity.request_ended();
    }
}

/// A response body that keeps its request counted as in progress until
/// hyper is done with it.
pub(super) struct Tracked {
    body: Body,
    _in_flight: Option<InFlight>,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
