//! What the stack needs of a network device beyond smoltcp's: a way to
//! sleep until a frame may have arrived, so that an idle stack costs no CPU.

use std::{
    future::Future,
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use smoltcp::{
    phy::{self, DeviceCapabilities},
    time::Instant,
};
use tokio::time::Sleep;

/// A smoltcp device the stack's task can wait on.
///
/// The task polls the interface, then sleeps until the earliest of: the
/// next TCP timer, activity on a socket, or [`poll_ready`](Device::poll_ready).
/// Frames are taken with smoltcp's own [`phy::Device::receive`]; this
/// method only says when trying is worth it.
///
/// For a device that cannot tell, wrap it in [`Polled`].
pub trait Device: phy::Device {
    /// `Ready(Ok)` when [`receive`](phy::Device::receive) may yield a frame
    /// (a wake-up that finds nothing is harmless), `Pending` after
    /// arranging for `cx` to be woken when one arrives. An error stops the
    /// stack: every stream and listener on it fails from then on.
    ///
    /// After this returns `Ready`, the stack polls the interface, which
    /// receives until the device has nothing left; a device whose
    /// readiness is edge-triggered may reset it here.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// Any smoltcp device, made a [`Device`] by trying to receive at a fixed
/// interval: the fallback for devices that cannot wake the stack. It costs
/// a wake-up per interval while idle, and up to one interval of latency per
/// frame; prefer a device with real readiness where there is one.
///
/// ```
/// use std::time::Duration;
/// use paf_smoltcp::{smoltcp::phy::{Loopback, Medium}, Polled};
///
/// let device = Polled::new(Loopback::new(Medium::Ip), Duration::from_millis(1));
/// # let _ = device;
/// ```
#[derive(Debug)]
pub struct Polled<D> {
    device: D,
    every: Duration,
    /// Made on the first poll, inside the runtime whose timer it uses.
    timer: Option<Pin<Box<Sleep>>>,
}

impl<D: phy::Device> Polled<D> {
    /// Tries `device` every `every` (at least every millisecond).
    pub fn new(device: D, every: Duration) -> Self {
        Polled {
            device,
            every: every.max(Duration::from_millis(1)),
            timer: None,
        }
    }

    /// The device inside.
    pub fn get_mut(&mut self) -> &mut D {
        &mut self.device
    }
}

impl<D: phy::Device> phy::Device for Polled<D> {
    type RxToken<'a>
        = D::RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = D::TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        self.device.receive(timestamp)
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<Self::TxToken<'_>> {
        self.device.transmit(timestamp)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.device.capabilities()
    }
}

impl<D: phy::Device> Device for Polled<D> {
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let every = self.every;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(every)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                timer.as_mut().reset(tokio::time::Instant::now() + every);
                Poll::Ready(Ok(()))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
