//! The accept loop: connections taken from a listener into slots (making
//! room at the limit), each served in a task of its own, and the drain that
//! ends them on a stop.

use std::{io, time::Duration};

use paf_core::server::Listener;
use tokio::{sync::watch, sync::OwnedSemaphorePermit, task::JoinSet, time::Instant};
use tracing::{debug, warn, Instrument};

use super::{
    running::{stopped, StopSignal},
    Inner, Server,
};

/// How long the accept loop pauses after an error that is not about one
/// connection (EMFILE, ENOBUFS): retrying at once would spin while the
/// condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// A request whose body read has waited this long for a byte counts as
/// stalled, and its connection may be shed at the connection limit.
const STALLED_AFTER: Duration = Duration::from_secs(1);
/// At the connection limit with nothing to shed yet, how often to look
/// again (a read may have become stalled since).
const SHED_RECHECK: Duration = Duration::from_millis(200);

pub(super) async fn accept_loop<L: Listener>(
    server: Server,
    mut listener: L,
    mut stop: StopSignal,
) {
    let mut connections = JoinSet::new();
    // The connections hear of a stop only once the listener is closed: a
    // client whose idle connection closes then retries on a new one, which
    // must be refused at once, not accepted by a listener about to go.
    let (tell_connections, connection_stop) = watch::channel(None);
    loop {
        tokio::select! {
            biased;
            () = stopped(&mut stop) => break,
            Some(ended) = connections.join_next(), if !connections.is_empty() => {
                log_connection_end(ended);
            }
            accepted = listener.accept() => match accepted {
                Ok((io, peer)) => {
                    let Some(slot) = make_room(&server.inner, &mut stop).await else {
                        break;
                    };
                    let server = server.clone();
                    let stop = connection_stop.clone();
                    let span = server.connection_span(&peer);
                    // Boxed: a connection's future is large (TLS, hyper's
                    // connection, the watch), and spawning moves it by value
                    // several times; a box is moved instead. Made where it
                    // is boxed: one copy of it less.
                    if span.is_disabled() {
                        connections.spawn(Box::pin(async move {
                            server.serve_io(io, peer, stop, span).await;
                            drop(slot);
                        }));
                    } else {
                        let traced = span.clone();
                        connections.spawn(Box::pin(
                            async move {
                                server.serve_io(io, peer, stop, span).await;
                                drop(slot);
                            }
                            .instrument(traced),
                        ));
                    }
                }
                // The peer gave up before we took it: nothing to wait for.
                Err(e) if is_about_one_connection(&e) => {
                    debug!(error = %e, "accepting a connection failed");
                }
                Err(e) => {
                    warn!(error = %e, "accepting connections failed; retrying shortly");
                    // A stop during the pause is seen at the top of the loop.
                    let _ = tokio::time::timeout(ACCEPT_BACKOFF, stopped(&mut stop)).await;
                }
            },
        }
    }
    // Closing the listener now makes new connections fail at once rather
    // than wait in the backlog until the grace period ends.
    drop(listener);
    let _ = tell_connections.send(*stop.borrow());
    debug!(
        connections = connections.len(),
        "stopped accepting; draining connections"
    );
    drain(&mut connections, &mut stop).await;
}

/// A slot for a connection just accepted: a free one, or one made by
/// shedding the oldest idle or stalled connection (see [`Registry`]). With
/// nothing to shed, the new connection waits for one to end, looking again
/// now and then (a read may have stalled since), and the next ones wait in
/// the listen backlog. `None` when the server is stopped meanwhile.
async fn make_room(inner: &Inner, stop: &mut StopSignal) -> Option<OwnedSemaphorePermit> {
    let slots = &inner.connection_slots;
    if let Ok(slot) = slots.clone().try_acquire_owned() {
        return Some(slot);
    }
    debug!("connection limit reached; making room");
    loop {
        inner.registry.shed_oldest(STALLED_AFTER);
        tokio::select! {
            slot = slots.clone().acquire_owned() => return slot.ok(),
            () = tokio::time::sleep(SHED_RECHECK) => {}
            () = stopped(stop) => return None,
        }
    }
}

/// Waits for the connections to end until the stop's deadline (which a later
/// stop may bring nearer), then aborts the rest.
async fn drain(connections: &mut JoinSet<()>, stop: &mut StopSignal) {
    let mut deadline = (*stop.borrow_and_update()).unwrap_or_else(Instant::now);
    let mut watching = true;
    loop {
        tokio::select! {
            ended = connections.join_next() => match ended {
                Some(ended) => log_connection_end(ended),
                None => return,
            },
            () = tokio::time::sleep_until(deadline) => break,
            changed = stop.changed(), if watching => match changed {
                Ok(()) => {
                    let asked = *stop.borrow_and_update();
                    if let Some(asked) = asked {
                        deadline = deadline.min(asked);
                    }
                }
                Err(_) => watching = false,
            },
        }
    }
    debug!(
        connections = connections.len(),
        "grace period over; aborting connections"
    );
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

fn log_connection_end(ended: std::result::Result<(), tokio::task::JoinError>) {
    if let Err(e) = ended {
        if e.is_panic() {
            warn!(error = %e, "a connection task panicked");
        }
    }
}

fn is_about_one_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}
