//! ureq's transport extension points, served by the transport context.
//!
//! ureq opens connections through a [`Connector`]; here the connector asks the
//! request's [`Ctx`] for a stream ([`Ctx::connect_blocking`]: route, explicit
//! endpoint or TCP, TLS already layered on) and hands ureq a [`Transport`]
//! over it. ureq never resolves a name or opens a socket itself: the
//! [`CtxResolver`] answers no addresses, because the context decides where
//! a connection goes.

use std::{
    cell::Cell,
    fmt,
    io::{self, Read, Write},
    time::Duration,
};

use paf_core::{
    client::closed_by_peer,
    ctx::{BlockingIo, ConnectionInfo, Route},
    error::TimeoutKind,
    Ctx, Error,
};
use sync_wrapper::SyncWrapper;
use ureq::{
    config::Config,
    http::Uri,
    unversioned::{
        resolver::{ResolvedSocketAddrs, Resolver},
        transport::{Buffers, ConnectionDetails, Connector, LazyBuffers, NextTimeout, Transport},
    },
};

/// Opens every connection of one agent through the context that agent is
/// for, along the route it resolved once.
#[derive(Debug)]
pub(crate) struct CtxConnector {
    ctx: Ctx,
    route: Route,
}

impl CtxConnector {
    pub(crate) fn new(ctx: Ctx) -> paf_core::Result<Self> {
        let route = ctx.resolve()?;
        Ok(CtxConnector { ctx, route })
    }
}

impl Connector for CtxConnector {
    type Out = CtxTransport;

    fn connect(
        &self,
        details: &ConnectionDetails<'_>,
        _chained: Option<()>,
    ) -> Result<Option<CtxTransport>, ureq::Error> {
        // The request's whole-exchange budget bounds connecting too, when it
        // is shorter than the context's own connect timeout.
        let budget = remaining(details.timeout)?;
        let bounded_by_budget =
            budget.filter(|left| self.route.connect_timeout().is_none_or(|own| own > *left));
        let connected = match bounded_by_budget {
            Some(left) => self
                .ctx
                .connect_blocking_via(&self.route.clone().with_connect_timeout(left)),
            None => self.ctx.connect_blocking_via(&self.route),
        };
        let connection = match connected {
            Ok(connection) => connection,
            Err(Error::Timeout {
                what: TimeoutKind::Connect,
                ..
            }) if bounded_by_budget.is_some() => {
                return Err(ureq::Error::Timeout(details.timeout.reason))
            }
            // paf's error travels through ureq untouched and is unwrapped
            // again by `Exchange::error`.
            Err(e) => return Err(ureq::Error::Other(Box::new(e))),
        };
        if connection.info.is_h2() {
            // The context offers only `http/1.1`; a server that picks h2
            // anyway cannot be spoken to.
            return Err(ureq::Error::Other(Box::new(Error::Unsupported {
                backend: crate::BACKEND,
                feature: format!("HTTP/2 (picked by {})", connection.info.endpoint),
            })));
        }
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(CtxTransport {
            io: SyncWrapper::new(connection.io),
            info: connection.info,
            buffers,
            timeouts: (None, None),
            pooled: false,
            received: false,
            closed: false,
        }))
    }
}

/// What is left of ureq's budget for the current step: `None` when there is
/// no limit, an error when it is already spent (a stream cannot be given a
/// zero timeout).
fn remaining(timeout: NextTimeout) -> Result<Option<Duration>, ureq::Error> {
    if timeout.after.is_zero() {
        return Err(ureq::Error::Timeout(timeout.reason));
    }
    Ok(timeout.not_zero().map(|left| *left))
}

thread_local! {
    /// The read-idle limit of the response body being read on this thread.
    /// ureq reads a body's bytes from inside the caller's `read`, on the
    /// caller's thread, and tells the transport only its own budget, not
    /// which part of the exchange it is in: the body reader says it here
    /// (see [`BodyIdle::enter`]), so that the limit bounds body reads and
    /// never the wait for the response head.
    static BODY_IDLE: Cell<Option<Duration>> = const { Cell::new(None) };
}

/// While alive, reads on this thread are body reads under an idle limit.
pub(crate) struct BodyIdle {
    before: Option<Duration>,
}

impl BodyIdle {
    pub(crate) fn enter(idle: Option<Duration>) -> BodyIdle {
        BodyIdle {
            before: BODY_IDLE.replace(idle),
        }
    }
}

impl Drop for BodyIdle {
    fn drop(&mut self) {
        BODY_IDLE.set(self.before);
    }
}

/// A context-made stream as ureq sees it.
///
/// ureq's own TCP transport probes an idle connection with a non-blocking
/// read before reusing it. A [`BlockingIo`] cannot be made non-blocking (and
/// a user's transport may not even have timeouts), so this transport never
/// probes: it reports a connection closed only once it saw the end of it.
/// A pooled connection that the server closed while it was idle shows up as
/// an end of stream (or a reset) before the first byte of the response; that
/// case, and the same on a new connection, is told apart as
/// [`ClosedBeforeResponse`], which the client retries on another connection
/// when the request can be sent again.
pub(crate) struct CtxTransport {
    // `Transport` must be `Sync`; the stream is only `Send`, and is only ever
    // used through `&mut self`.
    io: SyncWrapper<Box<dyn BlockingIo>>,
    info: ConnectionInfo,
    buffers: LazyBuffers,
    /// The read and write timeouts last set on the stream, to skip system
    /// calls that would change nothing.
    timeouts: (Option<Duration>, Option<Duration>),
    /// Has been in ureq's pool: the server may have closed it meanwhile.
    pooled: bool,
    /// Has received a byte since it last left the pool.
    received: bool,
    /// Has seen the end of the stream or an I/O error.
    closed: bool,
}

impl fmt::Debug for CtxTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CtxTransport")
            .field("info", &self.info)
            .field("pooled", &self.pooled)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl CtxTransport {
    fn set_timeouts(&mut self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()> {
        if self.timeouts != (read, write) {
            self.io.get_mut().set_timeouts(read, write)?;
            self.timeouts = (read, write);
        }
        Ok(())
    }

    /// The error for a failed read or write: a timeout in ureq's terms (or
    /// the body's idle limit, when that was the one that ran out), a
    /// connection closed before the response, or the I/O error itself.
    fn io_error(
        &mut self,
        err: io::Error,
        timeout: NextTimeout,
        idle: Option<Duration>,
    ) -> ureq::Error {
        if matches!(
            err.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
        ) {
            return match idle {
                // paf's error travels through ureq untouched.
                Some(after) => ureq::Error::Other(Box::new(Error::Timeout {
                    what: TimeoutKind::BodyIdle,
                    after,
                })),
                None => ureq::Error::Timeout(timeout.reason),
            };
        }
        self.closed = true;
        if closed_by_peer(err.kind()) && !self.received {
            return self.closed_before_response(err);
        }
        ureq::Error::Io(err)
    }

    fn closed_before_response(&self, cause: io::Error) -> ureq::Error {
        ureq::Error::Other(Box::new(ClosedBeforeResponse {
            reused: self.pooled,
            cause,
        }))
    }
}

impl Transport for CtxTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let timeout = timeout.for_write();
        let limit = remaining(timeout)?;
        // Both ways: a TLS write may have to read, and a TLS read to write.
        self.set_timeouts(limit, limit)?;
        let output = &self.buffers.output()[..amount];
        let io = self.io.get_mut();
        // A TLS stream keeps records back until flushed.
        match io.write_all(output).and_then(|()| io.flush()) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.io_error(e, timeout, None)),
        }
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let timeout = timeout.for_read();
        let limit = remaining(timeout)?;
        // The body's idle limit, when it runs out before ureq's budget.
        let idle = BODY_IDLE
            .get()
            .filter(|idle| limit.is_none_or(|limit| *idle < limit));
        let limit = idle.or(limit);
        self.set_timeouts(limit, limit)?;
        let input = self.buffers.input_append_buf();
        if input.is_empty() {
            // No room: reading zero bytes would look like the end of stream.
            return Ok(false);
        }
        let result = loop {
            match self.io.get_mut().read(input) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                result => break result,
            }
        };
        match result {
            Ok(0) => {
                self.closed = true;
                if !self.received {
                    let eof = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection before answering",
                    );
                    return Err(self.closed_before_response(eof));
                }
                Ok(false)
            }
            Ok(n) => {
                self.received = true;
                self.buffers.input_appended(n);
                Ok(true)
            }
            Err(e) => Err(self.io_error(e, timeout, idle)),
        }
    }

    fn is_open(&mut self) -> bool {
        // ureq asks when the connection goes into its pool and again when it
        // comes out: either way, what follows is a new exchange.
        self.pooled = true;
        self.received = false;
        !self.closed
    }

    fn is_tls(&self) -> bool {
        // ureq refuses an `https` URL over a transport that says it is not
        // TLS; the context layered TLS on this one when it said so.
        self.info.tls
    }
}

/// A connection that the server closed (or reset) after the request went
/// out and before any byte of the response: on a pooled connection, most
/// likely one the server closed while it was idle; on a new one, a server
/// that stopped. The client sends the request again when it may.
#[derive(Debug)]
pub(crate) struct ClosedBeforeResponse {
    /// The connection had been in the pool.
    pub(crate) reused: bool,
    pub(crate) cause: io::Error,
}

impl fmt::Display for ClosedBeforeResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.reused {
            "a reused connection was closed by the server before it answered"
        } else {
            "the connection was closed by the server before it answered"
        })
    }
}

impl std::error::Error for ClosedBeforeResponse {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

/// Resolves nothing: the context resolves names when it connects, so that a
/// host routed to a Unix socket or a user transport needs no DNS entry.
#[derive(Debug)]
pub(crate) struct CtxResolver;

impl Resolver for CtxResolver {
    fn resolve(
        &self,
        _uri: &Uri,
        _config: &Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        Ok(self.empty())
    }
}
