//! What is recorded of each request: its tracing span, the access-log event
//! and the user's [`AccessLog`] record, all finished when the response body
//! is done. Nothing is allocated, formatted or timed unless a subscriber
//! wants the span or the event, or an access log is set: the per-request
//! path is the server's hottest.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, SystemTime},
};

use http::{header, request, HeaderValue, Method, Response, StatusCode, Uri, Version};
use paf_core::{body::BodyObserver, server::ConnInfo, Body};
use tokio::time::Instant;
use tracing::{
    field::Empty,
    level_filters::{LevelFilter, STATIC_MAX_LEVEL},
    Level, Span,
};

use super::access_log::{AccessLog, AccessRecord, RequestTarget};

/// The target of the connection and request spans and of the connection
/// events.
pub(super) const TARGET: &str = "paf_hyper::server";
/// The target of the one event per request, so that it can be enabled
/// alone (`RUST_LOG=paf_hyper::server::access=debug`).
const ACCESS_TARGET: &str = "paf_hyper::server::access";

/// The connection's span, to which its requests' spans belong. Its id,
/// version and TLS details are recorded once known.
pub(super) fn connection_span(peer: &impl fmt::Display, tls: bool) -> Span {
    tracing::debug_span!(
        target: TARGET,
        "connection",
        %peer,
        tls,
        id = Empty,
        version = Empty,
        alpn = Empty,
        sni = Empty,
    )
}

/// One request being served, when anybody is listening: made when hyper
/// hands the request over, finished when its response body is done.
pub(super) struct RequestLog {
    /// The request's span; disabled when only the event or the access log
    /// is wanted.
    pub(super) span: Span,
    started: Instant,
    conn: Arc<ConnInfo>,
    method: Method,
    uri: Uri,
    version: Version,
    status: StatusCode,
    bytes: u64,
    access: Option<Access>,
}

/// What only the access log needs.
struct Access {
    log: Arc<dyn AccessLog>,
    received: SystemTime,
    referer: Option<HeaderValue>,
    user_agent: Option<HeaderValue>,
}

impl RequestLog {
    /// Whether a request may be logged at all: an access log is set, or
    /// `debug` is enabled somewhere. Without an access log, at `info` or
    /// without a subscriber, that is one load and compare, and the request
    /// is not looked at.
    #[inline]
    pub(super) fn may_be_wanted(access_log: Option<&Arc<dyn AccessLog>>) -> bool {
        // What `debug_span!` and `enabled!` look at first, checked once.
        access_log.is_some()
            || (Level::DEBUG <= STATIC_MAX_LEVEL && Level::DEBUG <= LevelFilter::current())
    }

    /// The log of a request, `None` when neither the span, nor the event,
    /// nor an access log wants it (see [`RequestLog::may_be_wanted`]).
    pub(super) fn begin(
        conn_span: &Span,
        access_log: Option<&Arc<dyn AccessLog>>,
        conn: &Arc<ConnInfo>,
        request: &request::Parts,
    ) -> Option<Box<RequestLog>> {
        let span = tracing::debug_span!(
            target: TARGET,
            parent: conn_span,
            "request",
            method = %request.method,
            path = %RequestTarget { uri: &request.uri, query: false },
            version = ?request.version,
            status = Empty,
            head_ms = Empty,
            bytes = Empty,
            total_ms = Empty,
        );
        if span.is_disabled()
            && access_log.is_none()
            && !tracing::enabled!(target: ACCESS_TARGET, Level::DEBUG)
        {
            return None;
        }
        let headers = &request.headers;
        let access = access_log.map(|log| Access {
            log: log.clone(),
            received: SystemTime::now(),
            referer: headers.get(header::REFERER).cloned(),
            user_agent: headers.get(header::USER_AGENT).cloned(),
        });
        Some(Box::new(RequestLog {
            span,
            started: Instant::now(),
            conn: conn.clone(),
            method: request.method.clone(),
            uri: request.uri.clone(),
            version: request.version,
            status: StatusCode::OK,
            bytes: 0,
            access,
        }))
    }

    /// The response head is ready: its status is recorded, and its body
    /// wrapped to count the bytes sent and finish the log at its end.
    pub(super) fn responded(mut self, response: Response<Body>) -> Response<Body> {
        let status = response.status();
        self.status = status;
        self.span.record("status", status.as_u16());
        if !self.span.is_disabled() {
            self.span.record("head_ms", millis(self.started.elapsed()));
        }
        response.map(|body| {
            body.observed(Logged {
                log: self,
                ended: false,
            })
        })
    }

    /// The response body is done: sent whole (`complete`) or cut short.
    /// Called once, from the body's `drop`.
    fn finish(&mut self, complete: bool) {
        let duration = self.started.elapsed();
        self.span.record("bytes", self.bytes);
        if !self.span.is_disabled() {
            self.span.record("total_ms", millis(duration));
        }
        // A root event with every field of the line: it reads whole
        // without the spans around it, and is complete when only this
        // target is enabled.
        macro_rules! access_event {
            ($($outcome:tt)*) => {
                tracing::debug!(
                    target: ACCESS_TARGET,
                    parent: None,
                    conn = self.conn.id,
                    peer = %self.conn.peer,
                    method = %self.method,
                    path = %RequestTarget { uri: &self.uri, query: false },
                    version = ?self.version,
                    status = self.status.as_u16(),
                    bytes = self.bytes,
                    total_ms = millis(duration),
                    $($outcome)*
                )
            };
        }
        if complete {
            access_event!("served");
        } else {
            access_event!(complete = false, "response cut short");
        }
        if let Some(access) = self.access.take() {
            access.log.log(&AccessRecord {
                conn: self.conn.clone(),
                received: access.received,
                method: std::mem::take(&mut self.method),
                uri: std::mem::take(&mut self.uri),
                version: self.version,
                status: self.status,
                bytes: self.bytes,
                duration,
                complete,
                referer: access.referer,
                user_agent: access.user_agent,
            });
        }
    }

    /// Whether a response with this status to this method has a body at all
    /// (RFC 9110 §6.4.1): one that has none was sent whole when its head
    /// was, whatever body the handler gave.
    fn has_body(&self) -> bool {
        self.method != Method::HEAD
            && !self.status.is_informational()
            && self.status != StatusCode::NO_CONTENT
            && self.status != StatusCode::NOT_MODIFIED
    }
}

/// As the client's spans give their times: milliseconds, fractions kept.
fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// Watches a response body: counts the bytes sent and finishes its
/// request's log when the body is dropped, which hyper does as soon as the
/// last byte is handed to the connection, or when the connection ends. An
/// empty body is dropped with the head.
struct Logged {
    log: RequestLog,
    ended: bool,
}

impl BodyObserver for Logged {
    fn data(&mut self, len: usize, _at_end: bool) {
        self.log.bytes += len as u64;
    }

    fn ended(&mut self) {
        self.ended = true;
    }

    fn dropped(&mut self, at_end: bool) {
        let complete = self.ended || at_end || !self.log.has_body();
        self.log.finish(complete);
    }
}
