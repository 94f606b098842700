//! A TAP device (Linux): smoltcp's `TunTapInterface` reads and writes the
//! Ethernet frames; tokio's reactor watches its file descriptor, so the
//! stack sleeps until the kernel has a frame for it.

use std::{
    io,
    os::fd::{AsRawFd, RawFd},
    task::{Context, Poll},
};

use smoltcp::{
    phy::{self, DeviceCapabilities, Medium, TunTapInterface},
    time::Instant,
};
use tokio::io::{unix::AsyncFd, Interest};

use crate::device::Device;

/// A TAP interface: Ethernet frames exchanged with the kernel, which sees
/// the stack as a host on the other end of a cable.
///
/// The interface must exist or be creatable (root, or `CAP_NET_ADMIN`, or
/// a persistent device owned by the user: `ip tuntap add dev tap0 mode tap
/// user $USER`), and the kernel side needs an address and to be up (`ip
/// addr add 10.77.0.1/24 dev tap0; ip link set tap0 up`).
///
/// smoltcp's interface is not `Send`, so a stack on a TAP device runs on a
/// thread of its own: use [`Stack::tap`](crate::Stack::tap), or open the
/// device inside [`Stack::on_thread`](crate::Stack::on_thread).
#[derive(Debug)]
pub struct TapDevice {
    // Declared first so that it is dropped first: the descriptor leaves
    // the reactor before the interface closes it.
    readable: AsyncFd<Fd>,
    tap: TunTapInterface,
}

/// The interface's descriptor, as the reactor watches it; the interface
/// keeps ownership.
#[derive(Debug)]
struct Fd(RawFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

impl TapDevice {
    /// Attaches to the TAP interface `name`, creating it when it does not
    /// exist. Must be called inside a tokio runtime with I/O enabled (its
    /// reactor watches the device).
    pub fn open(name: &str) -> io::Result<TapDevice> {
        let tap = TunTapInterface::new(name, Medium::Ethernet)
            .map_err(|e| io::Error::new(e.kind(), format!("opening TAP device {name:?}: {e}")))?;
        let readable = watch(Fd(tap.as_raw_fd()))?;
        Ok(TapDevice { readable, tap })
    }
}

/// Registers the interface's descriptor with the reactor (smoltcp opened
/// it non-blocking, as the reactor requires).
///
/// tokio 1.54 deprecated the safe constructor for `unsafe fn
/// register_with_interest`, whose contract is that the descriptor stays
/// open and the same while the `AsyncFd` lives. This crate forbids
/// `unsafe`, and upholds that contract by construction: the `AsyncFd` is a
/// field of [`TapDevice`] declared before the interface that owns the
/// descriptor, so it is dropped (deregistered) first, and neither field is
/// ever replaced. smoltcp's interface offers no `AsFd` through which an
/// owned or borrowed descriptor could be registered instead.
#[allow(deprecated)]
fn watch(fd: Fd) -> io::Result<AsyncFd<Fd>> {
    AsyncFd::with_interest(fd, Interest::READABLE)
}

impl phy::Device for TapDevice {
    type RxToken<'a> = <TunTapInterface as phy::Device>::RxToken<'a>;
    type TxToken<'a> = <TunTapInterface as phy::Device>::TxToken<'a>;

    fn receive(&mut self, timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        self.tap.receive(timestamp)
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<Self::TxToken<'_>> {
        self.tap.transmit(timestamp)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.tap.capabilities()
    }
}

impl Device for TapDevice {
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.readable.poll_read_ready(cx) {
            Poll::Ready(Ok(mut guard)) => {
                // Readiness is edge-triggered. It is cleared before the
                // stack reads, and the stack reads until the device is
                // empty: a frame that arrives from now on sets it again.
                guard.clear_ready();
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}
