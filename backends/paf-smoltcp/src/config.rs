//! What a stack is: its address, its gateway, and the sizes that decide its
//! throughput (socket buffers) and how many connections wait for `accept`.

use std::{io, net::Ipv4Addr, time::Duration};

/// The settings of a [`Stack`](crate::Stack): an IPv4 address with its
/// prefix, and defaults that suit HTTP.
///
/// ```
/// use std::{net::Ipv4Addr, time::Duration};
/// use paf_smoltcp::Config;
///
/// let config = Config::new(Ipv4Addr::new(10, 0, 0, 2), 24)
///     .gateway(Ipv4Addr::new(10, 0, 0, 1))
///     .buffer_size(1 << 20)
///     .backlog(64)
///     .connect_timeout(Duration::from_secs(5));
/// assert_eq!(config.address(), Ipv4Addr::new(10, 0, 0, 2));
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) address: Ipv4Addr,
    pub(crate) prefix_len: u8,
    pub(crate) gateway: Option<Ipv4Addr>,
    pub(crate) mac: Option<[u8; 6]>,
    pub(crate) rx_buffer: usize,
    pub(crate) tx_buffer: usize,
    pub(crate) backlog: usize,
    pub(crate) connect_timeout: Duration,
}

/// The send and receive buffers of a socket unless configured: 256 KiB, a
/// window that keeps a fast link busy without much memory per connection.
const DEFAULT_BUFFER: usize = 256 * 1024;
/// The largest buffer. smoltcp panics on a receive buffer over 1 GiB, and
/// one of exactly 1 GiB would take a window scale of 15, past TCP's 14.
const MAX_BUFFER: usize = (1 << 30) - 1;
/// Below one full-size Ethernet segment the window would stall the sender.
const MIN_BUFFER: usize = 2048;

impl Config {
    /// A stack at `address`, on a network of `prefix_len` bits (24 for a
    /// /24). Defaults: no gateway (only the local network is reachable), a
    /// locally administered MAC address made from the IP address (Ethernet
    /// devices only), 256 KiB send and receive buffers per socket, a
    /// backlog of 32, and 30 s to connect.
    pub fn new(address: Ipv4Addr, prefix_len: u8) -> Self {
        Config {
            address,
            prefix_len,
            gateway: None,
            mac: None,
            rx_buffer: DEFAULT_BUFFER,
            tx_buffer: DEFAULT_BUFFER,
            backlog: 32,
            connect_timeout: Duration::from_secs(30),
        }
    }

    /// Routes addresses outside the local network through this router.
    pub fn gateway(mut self, gateway: Ipv4Addr) -> Self {
        self.gateway = Some(gateway);
        self
    }

    /// The MAC address on an Ethernet device (a TAP device, an in-memory
    /// Ethernet link). It must be unicast.
    pub fn mac_address(mut self, mac: [u8; 6]) -> Self {
        self.mac = Some(mac);
        self
    }

    /// The send and receive buffers of every TCP socket, in bytes (from 2
    /// KiB to just under 1 GiB).
    ///
    /// The receive buffer is the window the peer may fill before it waits
    /// for the reader, so it bounds one connection's throughput at about
    /// `window / round-trip time`; windows over 64 KiB are advertised with
    /// TCP window scaling. The send buffer is what a writer can have handed
    /// over and not yet seen acknowledged.
    ///
    /// Memory is taken per socket, including the [backlog](Config::backlog)'s
    /// listening sockets (pages are touched only once data passes).
    pub fn buffer_size(mut self, bytes: usize) -> Self {
        self.rx_buffer = bytes;
        self.tx_buffer = bytes;
        self
    }

    /// How many connections a listener holds in its handshake or waiting
    /// for `accept` at once; more SYNs meanwhile are refused with a reset.
    /// One listening socket is kept per slot, so that this many clients can
    /// connect at the same moment.
    pub fn backlog(mut self, connections: usize) -> Self {
        self.backlog = connections;
        self
    }

    /// How long [`Stack::connect`](crate::Stack::connect) waits for the
    /// handshake before giving up with [`io::ErrorKind::TimedOut`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The stack's IPv4 address.
    pub fn address(&self) -> Ipv4Addr {
        self.address
    }

    /// The MAC address used on Ethernet devices: the one set, or
    /// `02:00:` followed by the IPv4 address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac.unwrap_or_else(|| {
            let [a, b, c, d] = self.address.octets();
            [0x02, 0x00, a, b, c, d]
        })
    }

    pub(crate) fn check(&self) -> io::Result<()> {
        let invalid = |what: String| Err(io::Error::new(io::ErrorKind::InvalidInput, what));
        if self.prefix_len > 32 {
            return invalid(format!(
                "prefix length {} is longer than 32 bits",
                self.prefix_len
            ));
        }
        if self.address.is_unspecified() || self.address.is_broadcast() {
            return invalid(format!("{} cannot be a stack's address", self.address));
        }
        for size in [self.rx_buffer, self.tx_buffer] {
            if !(MIN_BUFFER..=MAX_BUFFER).contains(&size) {
                return invalid(format!(
                    "socket buffer of {size} bytes: it must be between {MIN_BUFFER} and {MAX_BUFFER}"
                ));
            }
        }
        if self.backlog == 0 {
            return invalid("a backlog of 0 would refuse every connection".into());
        }
        if self.mac()[0] & 1 == 1 {
            return invalid(format!("MAC address {:02x?} is not unicast", self.mac()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_mac_is_local_and_made_from_the_address() {
        let config = Config::new(Ipv4Addr::new(10, 77, 0, 2), 24);
        assert_eq!(config.mac(), [2, 0, 10, 77, 0, 2]);
        assert!(config.check().is_ok());
    }

    #[test]
    fn nonsense_is_refused_with_the_reason() {
        let base = Config::new(Ipv4Addr::new(10, 0, 0, 1), 24);
        let big = base.clone().buffer_size(1 << 20);
        assert_eq!((big.rx_buffer, big.tx_buffer), (1 << 20, 1 << 20));
        assert!(base.clone().buffer_size(1 << 30).check().is_err());
        let err = base.clone().buffer_size(10).check().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("10 bytes"), "{err}");
        assert!(base.clone().backlog(0).check().is_err());
        assert!(Config::new(Ipv4Addr::new(10, 0, 0, 1), 33).check().is_err());
        assert!(base.mac_address([1, 0, 0, 0, 0, 1]).check().is_err());
    }
}
