//! An in-memory link: two devices joined by channels, each frame one
//! message. Two stacks on its ends talk TCP to each other inside one
//! process, which is how the tests run a paf client and server on smoltcp
//! without a network.

use std::{
    io,
    task::{Context, Poll},
};

use smoltcp::{
    phy::{self, ChecksumCapabilities, DeviceCapabilities, Medium},
    time::Instant,
};
use tokio::sync::mpsc;

use crate::device::Device;

/// The largest IP packet: its length field has 16 bits.
const MAX_IP_PACKET: usize = 65535;
/// An Ethernet header, which the MTU of an Ethernet device includes.
const ETHERNET_HEADER: usize = 14;

/// How to build an in-memory link: its medium, MTU and checksum policy.
///
/// ```
/// use paf_smoltcp::MemoryLink;
///
/// // Ethernet frames (ARP included) of the usual size, checksums verified.
/// let (a, b) = MemoryLink::ethernet().mtu(1514).verify_checksums(true).pair();
/// # let _ = (a, b);
/// ```
#[derive(Clone, Debug)]
pub struct MemoryLink {
    medium: Medium,
    mtu: usize,
    checksums: bool,
}

impl MemoryLink {
    /// A link carrying bare IP packets (no link layer, no ARP) of up to
    /// 65535 bytes, the largest IP allows: few, large segments make the
    /// fastest TCP.
    pub fn ip() -> Self {
        MemoryLink {
            medium: Medium::Ip,
            mtu: MAX_IP_PACKET,
            checksums: false,
        }
    }

    /// A link carrying Ethernet frames (the stacks find each other by ARP),
    /// of up to 65535 bytes of IP each.
    pub fn ethernet() -> Self {
        MemoryLink {
            medium: Medium::Ethernet,
            mtu: MAX_IP_PACKET + ETHERNET_HEADER,
            checksums: false,
        }
    }

    /// The largest frame, link header included (1514 is Ethernet's usual).
    /// It is kept between 576 bytes of IP and 65535.
    pub fn mtu(mut self, bytes: usize) -> Self {
        let header = match self.medium {
            Medium::Ethernet => ETHERNET_HEADER,
            _ => 0,
        };
        self.mtu = bytes.clamp(576 + header, MAX_IP_PACKET + header);
        self
    }

    /// Whether the stacks compute and verify IP and TCP checksums. Off by
    /// default: memory does not flip bits, and checksums cost throughput.
    pub fn verify_checksums(mut self, on: bool) -> Self {
        self.checksums = on;
        self
    }

    /// The two ends of a new link.
    pub fn pair(self) -> (MemoryDevice, MemoryDevice) {
        let (a_tx, b_rx) = mpsc::unbounded_channel();
        let (b_tx, a_rx) = mpsc::unbounded_channel();
        let mut caps = DeviceCapabilities::default();
        caps.medium = self.medium;
        caps.max_transmission_unit = self.mtu;
        if !self.checksums {
            caps.checksum = ChecksumCapabilities::ignored();
        }
        let end = |tx, rx| MemoryDevice {
            tx,
            rx,
            next: None,
            caps: caps.clone(),
        };
        (end(a_tx, a_rx), end(b_tx, b_rx))
    }
}

/// One end of an in-memory link (see [`MemoryLink`]). Frames sent while
/// the other end is gone are lost, as on an unplugged cable.
///
/// The queue each way is unbounded: TCP's windows bound what is in flight.
#[derive(Debug)]
pub struct MemoryDevice {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    rx: mpsc::UnboundedReceiver<Vec<u8>>,
    /// A frame taken while waiting for readiness, handed out first.
    next: Option<Vec<u8>>,
    caps: DeviceCapabilities,
}

impl MemoryDevice {
    /// The ends of an IP link with the largest MTU ([`MemoryLink::ip`]).
    pub fn pair() -> (MemoryDevice, MemoryDevice) {
        MemoryLink::ip().pair()
    }
}

impl phy::Device for MemoryDevice {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _timestamp: Instant) -> Option<(RxToken, TxToken<'_>)> {
        let frame = self.next.take().or_else(|| self.rx.try_recv().ok())?;
        Some((RxToken(frame), TxToken(&self.tx)))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken<'_>> {
        Some(TxToken(&self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.caps.clone()
    }
}

impl Device for MemoryDevice {
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.next.is_some() {
            return Poll::Ready(Ok(()));
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(frame)) => {
                self.next = Some(frame);
                Poll::Ready(Ok(()))
            }
            // The other end is gone: nothing will ever arrive, and the stack
            // goes on as with an unplugged cable.
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    }
}

/// A received frame.
#[derive(Debug)]
pub struct RxToken(Vec<u8>);

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

/// Room for a frame to send.
#[derive(Debug)]
pub struct TxToken<'a>(&'a mpsc::UnboundedSender<Vec<u8>>);

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0; len];
        let result = f(&mut frame);
        // A send fails only when the other end is gone: the frame is lost.
        let _ = self.0.send(frame);
        result
    }
}
