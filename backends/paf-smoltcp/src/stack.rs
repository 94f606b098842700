//! The stack: one smoltcp interface and its sockets, shared by the handles
//! users hold (the [`Stack`], its streams and listeners) and by the task
//! that polls the interface (`driver`).
//!
//! Everything smoltcp owns sits behind one mutex, taken briefly: by a
//! stream to copy bytes in or out of its socket's buffers, by the driver
//! to move frames. Whoever changes something the driver must act on (bytes
//! to send, room to receive, a socket to close) wakes it.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    hash::{BuildHasher, RandomState},
    io,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    ops::Deref,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex, MutexGuard, PoisonError,
    },
    task::Waker,
    time::{Duration, Instant},
};

use smoltcp::{
    iface::{Config as IfaceConfig, Interface, SocketHandle, SocketSet},
    phy::Medium,
    socket::{tcp, AnySocket},
    wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint, IpListenEndpoint},
};
use tokio::sync::Notify;

use crate::{
    blocking::{self, BlockingTcpStream},
    config::Config,
    device::Device,
    driver,
    listener::TcpListener,
    stream::TcpStream,
};

/// How long a closed stream's socket may take to finish (send what was
/// written, exchange FINs) before it is reset: a peer that never closes
/// its side must not keep the socket for ever. Linux's FIN-WAIT-2 limit.
const LINGER: Duration = Duration::from_secs(60);
/// Where ports for outgoing connections and `listen(0)` are taken (IANA's
/// dynamic range).
const EPHEMERAL: std::ops::RangeInclusive<u16> = 49152..=65535;

/// A user-space TCP/IP stack: a smoltcp interface on a device, polled by a
/// task of its own. Cheap to clone: clones are handles to one stack.
///
/// It makes TCP connections ([`connect`](Stack::connect)), listens
/// ([`listen`](Stack::listen), a [`paf_core::server::Listener`] for
/// `paf_hyper::Server::serve`), and is a paf transport: registered in a
/// [`paf_core::Ctx`] with `with_transport` (and `with_blocking_transport`
/// for blocking clients), it reaches the `SocketAddr` given as the user
/// endpoint.
///
/// The stack runs while a handle to it (a `Stack`, a stream, a listener)
/// is alive, and a little longer for closed connections to say goodbye.
#[derive(Clone)]
pub struct Stack {
    handle: Handle,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("address", &self.handle.config.address)
            .field("prefix_len", &self.handle.config.prefix_len)
            .finish_non_exhaustive()
    }
}

impl Stack {
    /// A stack on `device`, polled by a task spawned on the current tokio
    /// runtime. Fails outside a runtime, and with
    /// [`io::ErrorKind::InvalidInput`] on a configuration that makes no
    /// sense (the reason says which).
    pub fn new<D: Device + Send + 'static>(mut device: D, config: Config) -> io::Result<Stack> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            io::Error::other("Stack::new needs a tokio runtime; Stack::on_thread brings its own")
        })?;
        let shared = Shared::new(&mut device, config)?;
        // The handle exists before the task starts: a task that saw no
        // handle would end at once.
        let stack = Stack {
            handle: Handle::new(shared.clone()),
        };
        runtime.spawn(driver::run(device, shared));
        Ok(stack)
    }

    /// A stack polled on a thread of its own, with a tokio runtime of its
    /// own: for devices that are not `Send` (a TAP device) or that should
    /// not share the caller's threads. `make` opens the device on that
    /// thread, inside its runtime; its error is returned here.
    pub fn on_thread<D, F>(make: F, config: Config) -> io::Result<Stack>
    where
        D: Device + 'static,
        F: FnOnce() -> io::Result<D> + Send + 'static,
    {
        config.check()?;
        let (started, start) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name(format!("paf-smoltcp {}", config.address))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = started.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let opened = make().and_then(|mut device| {
                        let shared = Shared::new(&mut device, config)?;
                        Ok((device, shared))
                    });
                    let (device, shared) = match opened {
                        Ok(opened) => opened,
                        Err(e) => {
                            let _ = started.send(Err(e));
                            return;
                        }
                    };
                    let stack = Stack {
                        handle: Handle::new(shared.clone()),
                    };
                    // When the caller has gone, the handle sent comes back
                    // and is dropped: the driver then ends at once.
                    if started.send(Ok(stack)).is_ok() {
                        driver::run(device, shared).await;
                    }
                });
            })?;
        start
            .recv()
            .map_err(|_| io::Error::other("the stack's thread ended before the stack started"))?
    }

    /// A stack on the TAP interface `name` (see [`TapDevice`](crate::TapDevice)),
    /// on a thread of its own.
    #[cfg(all(feature = "tap", target_os = "linux"))]
    #[cfg_attr(docsrs, doc(cfg(all(feature = "tap", target_os = "linux"))))]
    pub fn tap(name: &str, config: Config) -> io::Result<Stack> {
        let name = name.to_string();
        Stack::on_thread(move || crate::TapDevice::open(&name), config)
    }

    /// The stack's IPv4 address.
    pub fn address(&self) -> Ipv4Addr {
        self.handle.config.address
    }

    /// The settings the stack was made with.
    pub fn config(&self) -> &Config {
        &self.handle.config
    }

    /// Opens a TCP connection to `addr` (an IPv4 address on the stack's
    /// network, or beyond its gateway).
    ///
    /// A refused connection (a reset in answer to the SYN) is
    /// [`io::ErrorKind::ConnectionRefused`]; no answer within the
    /// configured connect timeout is [`io::ErrorKind::TimedOut`]; an
    /// address the stack has no route to is
    /// [`io::ErrorKind::AddrNotAvailable`].
    pub async fn connect(&self, addr: SocketAddr) -> io::Result<TcpStream> {
        let mut stream = self.start_connect(addr)?;
        let limit = self.handle.config.connect_timeout;
        match tokio::time::timeout(limit, std::future::poll_fn(|cx| stream.poll_connected(cx)))
            .await
        {
            Ok(Ok(())) => Ok(stream),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(connect_timed_out(addr, limit)),
        }
    }

    /// [`connect`](Stack::connect) for blocking code: the stack's task goes
    /// on in its runtime while this thread waits, so it needs no runtime of
    /// its own (and must not run on one of the stack's runtime threads).
    pub fn connect_blocking(&self, addr: SocketAddr) -> io::Result<BlockingTcpStream> {
        let mut stream = self.start_connect(addr)?;
        let limit = self.handle.config.connect_timeout;
        let deadline = Instant::now() + limit;
        match blocking::wait(Some(deadline), |cx| stream.poll_connected(cx)) {
            Some(Ok(())) => Ok(BlockingTcpStream::new(stream)),
            Some(Err(e)) => Err(e),
            None => Err(connect_timed_out(addr, limit)),
        }
    }

    /// A socket sending its SYN to `addr`.
    fn start_connect(&self, addr: SocketAddr) -> io::Result<TcpStream> {
        let SocketAddr::V4(remote) = addr else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("{addr}: paf-smoltcp speaks IPv4 only"),
            ));
        };
        let config = &self.handle.config;
        let network = IpCidr::new(IpAddress::Ipv4(config.address), config.prefix_len);
        if config.gateway.is_none() && !network.contains_addr(&IpAddress::Ipv4(*remote.ip())) {
            return Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("connecting to {addr}: outside {network} and no gateway"),
            ));
        }
        let mut guard = self.handle.lock();
        let state = &mut *guard;
        state.check_up()?;
        let port = state.free_port()?;
        let socket = state.sockets.add(new_socket(&self.handle.config));
        let tcp = state.sockets.get_mut::<tcp::Socket<'static>>(socket);
        let connected = tcp.connect(state.iface.context(), IpEndpoint::from(remote), port);
        let local = tcp.local_endpoint();
        let local = match (connected, local) {
            (Ok(()), Some(local)) => to_socket_addr(local),
            (result, _) => {
                state.sockets.remove(socket);
                let reason = match result {
                    Err(tcp::ConnectError::Unaddressable) => "no route to it",
                    _ => "the socket could not be opened",
                };
                return Err(io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    format!("connecting to {addr} from {}: {reason}", self.address()),
                ));
            }
        };
        drop(guard);
        self.handle.wake_driver();
        Ok(TcpStream::new(self.handle.clone(), socket, local, addr))
    }

    /// Listens on `port` of the stack's address (0 picks a free port; see
    /// [`TcpListener::local_addr`]). [`Config::backlog`] sockets wait for
    /// connections at any time, so that many clients can connect at once.
    ///
    /// A port already in use is [`io::ErrorKind::AddrInUse`].
    pub fn listen(&self, port: u16) -> io::Result<TcpListener> {
        let mut state = self.handle.lock();
        state.check_up()?;
        let port = match port {
            0 => state.free_port()?,
            port if state.port_in_use(port) => {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("port {port} of {} is in use", self.address()),
                ))
            }
            port => port,
        };
        state.listeners.insert(port, Backlog::default());
        state.refill(port, &self.handle.config);
        drop(state);
        let local = SocketAddr::new(IpAddr::V4(self.address()), port);
        Ok(TcpListener::new(self.handle.clone(), local))
    }
}

fn connect_timed_out(addr: SocketAddr, after: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("connecting to {addr}: no answer within {after:?}"),
    )
}

/// A TCP socket with the stack's buffers, Nagle off: HTTP writes whole
/// messages and waits for answers, so holding back a small write only adds
/// a round trip.
fn new_socket(config: &Config) -> tcp::Socket<'static> {
    let mut socket = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; config.rx_buffer]),
        tcp::SocketBuffer::new(vec![0; config.tx_buffer]),
    );
    socket.set_nagle_enabled(false);
    socket
}

pub(crate) fn to_socket_addr(endpoint: IpEndpoint) -> SocketAddr {
    SocketAddr::new(IpAddr::from(endpoint.addr), endpoint.port)
}

/// What the handles and the driver share.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Wakes the driver. `notify_one` keeps a permit when the driver is
    /// busy, so a wake-up between its last poll and its sleep is not lost.
    wake: Notify,
    /// Handles alive. The driver ends once there is none, no listener and
    /// no closing socket.
    users: AtomicUsize,
    /// smoltcp's clock starts here: a monotonic clock, unlike the wall
    /// clock smoltcp would read itself.
    epoch: Instant,
    pub(crate) config: Config,
}

impl Shared {
    fn new<D: Device>(device: &mut D, config: Config) -> io::Result<Arc<Shared>> {
        config.check()?;
        let hardware = match device.capabilities().medium {
            Medium::Ethernet => {
                HardwareAddress::Ethernet(EthernetAddress::from_bytes(&config.mac()))
            }
            Medium::Ip => HardwareAddress::Ip,
            #[allow(unreachable_patterns)]
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("a {other:?} device: paf-smoltcp speaks Ethernet and IP"),
                ))
            }
        };
        let mut iface_config = IfaceConfig::new(hardware);
        // The seed picks initial sequence numbers and ports: it must differ
        // between runs, or a restarted stack would collide with its past.
        iface_config.random_seed = RandomState::new().hash_one(Instant::now());
        let epoch = Instant::now();
        let mut iface = Interface::new(iface_config, device, smoltcp::time::Instant::ZERO);
        let cidr = IpCidr::new(IpAddress::Ipv4(config.address), config.prefix_len);
        iface.update_ip_addrs(|addrs| {
            // One address on a fresh interface always fits.
            let _ = addrs.push(cidr);
        });
        if let Some(gateway) = config.gateway {
            iface
                .routes_mut()
                .add_default_ipv4_route(gateway)
                .map_err(|_| io::Error::other("the route table is full"))?;
        }
        let seed = RandomState::new().hash_one(config.address) as u16;
        let span = EPHEMERAL.end() - EPHEMERAL.start() + 1;
        let state = State {
            iface,
            sockets: SocketSet::new(Vec::new()),
            listeners: HashMap::new(),
            closing: Vec::new(),
            next_port: EPHEMERAL.start() + seed % span,
            down: None,
        };
        Ok(Arc::new(Shared {
            state: Mutex::new(state),
            wake: Notify::new(),
            users: AtomicUsize::new(0),
            epoch,
            config,
        }))
    }

    /// The state. A panic elsewhere while it was held leaves it usable:
    /// smoltcp's structures stay consistent between calls.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn wake_driver(&self) {
        self.wake.notify_one();
    }

    pub(crate) async fn driver_woken(&self) {
        self.wake.notified().await;
    }

    pub(crate) fn has_users(&self) -> bool {
        self.users.load(Ordering::Acquire) > 0
    }

    /// smoltcp's idea of now.
    pub(crate) fn now(&self) -> smoltcp::time::Instant {
        let micros = self.epoch.elapsed().as_micros();
        smoltcp::time::Instant::from_micros(i64::try_from(micros).unwrap_or(i64::MAX))
    }
}

/// A counted reference to the stack: the driver goes on while one lives.
pub(crate) struct Handle(Arc<Shared>);

impl Handle {
    fn new(shared: Arc<Shared>) -> Handle {
        shared.users.fetch_add(1, Ordering::AcqRel);
        Handle(shared)
    }
}

impl Clone for Handle {
    fn clone(&self) -> Handle {
        Handle::new(self.0.clone())
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if self.0.users.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.wake_driver();
        }
    }
}

impl Deref for Handle {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// A listener's sockets: those waiting for or in a handshake, and those
/// connected that `accept` has not taken yet.
#[derive(Default)]
pub(crate) struct Backlog {
    pub(crate) waiting: Vec<SocketHandle>,
    pub(crate) ready: VecDeque<SocketHandle>,
    pub(crate) waker: Option<Waker>,
}

/// A socket whose stream or listener is gone, finishing its goodbye.
pub(crate) struct Closing {
    socket: SocketHandle,
    reset_at: Instant,
}

/// Everything behind the mutex.
pub(crate) struct State {
    pub(crate) iface: Interface,
    pub(crate) sockets: SocketSet<'static>,
    pub(crate) listeners: HashMap<u16, Backlog>,
    closing: Vec<Closing>,
    next_port: u16,
    /// Why the driver stopped, once it has.
    down: Option<String>,
}

impl State {
    /// The TCP socket behind `handle`.
    ///
    /// Panics only on a handle this crate let go of, which would be a bug:
    /// a handle is removed from the set only by whoever owns it.
    pub(crate) fn tcp(&mut self, handle: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket<'static>>(handle)
    }

    /// An error when the driver has stopped: nothing moves any more.
    pub(crate) fn check_up(&self) -> io::Result<()> {
        match &self.down {
            None => Ok(()),
            Some(reason) => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                format!("the smoltcp stack has stopped: {reason}"),
            )),
        }
    }

    pub(crate) fn is_down(&self) -> bool {
        self.down.is_some()
    }

    fn port_in_use(&self, port: u16) -> bool {
        self.listeners.contains_key(&port) || self.used_ports().contains(&port)
    }

    fn used_ports(&self) -> HashSet<u16> {
        let mut used: HashSet<u16> = self.listeners.keys().copied().collect();
        for tcp in self
            .sockets
            .iter()
            .filter_map(|(_, s)| tcp::Socket::downcast(s))
        {
            if let Some(local) = tcp.local_endpoint() {
                used.insert(local.port);
            }
            used.insert(tcp.listen_endpoint().port);
        }
        used
    }

    /// The next port of the ephemeral range that no socket uses.
    fn free_port(&mut self) -> io::Result<u16> {
        let used = self.used_ports();
        for _ in EPHEMERAL {
            let port = self.next_port;
            self.next_port = if port == *EPHEMERAL.end() {
                *EPHEMERAL.start()
            } else {
                port + 1
            };
            if !used.contains(&port) {
                return Ok(port);
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "every ephemeral port is in use",
        ))
    }

    /// Hands a socket whose owner is gone to the driver, which lets it
    /// finish closing, then removes it.
    pub(crate) fn close_orphan(&mut self, socket: SocketHandle) {
        if self.is_down() {
            // Nothing will ever be sent: forget it at once.
            self.sockets.remove(socket);
            return;
        }
        self.tcp(socket).close();
        self.closing.push(Closing {
            socket,
            reset_at: Instant::now() + LINGER,
        });
    }

    /// [`State::close_orphan`] with a reset.
    pub(crate) fn abort_orphan(&mut self, socket: SocketHandle) {
        if !self.is_down() {
            self.tcp(socket).abort();
        }
        self.close_orphan(socket);
    }

    /// Moves a listener's connected sockets to its ready queue (waking
    /// `accept`), forgets failed handshakes, and opens listening sockets
    /// until the backlog is full.
    pub(crate) fn refill(&mut self, port: u16, config: &Config) {
        let Some(backlog) = self.listeners.get_mut(&port) else {
            return;
        };
        let mut arrived = false;
        let sockets = &mut self.sockets;
        backlog.waiting.retain(|&handle| {
            let socket = sockets.get_mut::<tcp::Socket<'static>>(handle);
            match socket.state() {
                tcp::State::Listen | tcp::State::SynReceived => true,
                tcp::State::Established | tcp::State::CloseWait => {
                    backlog.ready.push_back(handle);
                    arrived = true;
                    false
                }
                // The handshake failed (it timed out, or was reset after
                // completing): no connection to hand out.
                _ => {
                    sockets.remove(handle);
                    false
                }
            }
        });
        while backlog.waiting.len() + backlog.ready.len() < config.backlog {
            let mut socket = new_socket(config);
            let endpoint = IpListenEndpoint { addr: None, port };
            // Only a port of 0 or an open socket is refused; neither is
            // possible here, and a socket that failed would simply not be
            // added.
            if socket.listen(endpoint).is_err() {
                break;
            }
            backlog.waiting.push(sockets.add(socket));
        }
        if arrived {
            if let Some(waker) = backlog.waker.take() {
                waker.wake();
            }
        }
    }

    /// After each poll: listeners refilled, closing sockets drained of
    /// what their peer still sends, removed once closed or reset when
    /// their time is up. Returns when the next closing socket is due.
    pub(crate) fn housekeep(&mut self, config: &Config) -> Option<Instant> {
        let ports: Vec<u16> = self.listeners.keys().copied().collect();
        for port in ports {
            self.refill(port, config);
        }
        let now = Instant::now();
        let sockets = &mut self.sockets;
        self.closing.retain(|closing| {
            let socket = sockets.get_mut::<tcp::Socket<'static>>(closing.socket);
            // Nobody will read: take what arrives so that the peer is not
            // stuck on a closed window while it finishes.
            while let Ok(n) = socket.recv(|data| (data.len(), data.len())) {
                if n == 0 {
                    break;
                }
            }
            let finished = match socket.state() {
                // TIME-WAIT guards against old duplicates on a reused port;
                // ports here are not reused soon, and the socket's buffers
                // are better freed now.
                tcp::State::TimeWait => true,
                // Closed, and the reset (if any) sent.
                tcp::State::Closed => socket.remote_endpoint().is_none(),
                _ => false,
            };
            if finished {
                sockets.remove(closing.socket);
                return false;
            }
            if now >= closing.reset_at {
                socket.abort();
            }
            true
        });
        self.closing.iter().map(|c| c.reset_at).min()
    }

    /// Whether the driver has anything left to do for nobody.
    pub(crate) fn is_idle(&self) -> bool {
        self.closing.is_empty() && self.listeners.is_empty()
    }

    /// The driver has stopped: every socket is closed (which wakes its
    /// reader and writer) and every `accept` woken, to find the error.
    pub(crate) fn shut_down(&mut self, reason: String) {
        self.down = Some(reason);
        for (_, socket) in self.sockets.iter_mut() {
            if let Some(tcp) = tcp::Socket::downcast_mut(socket) {
                tcp.abort();
            }
        }
        for backlog in self.listeners.values_mut() {
            if let Some(waker) = backlog.waker.take() {
                waker.wake();
            }
        }
        let closing: Vec<SocketHandle> = self.closing.drain(..).map(|c| c.socket).collect();
        for socket in closing {
            self.sockets.remove(socket);
        }
    }
}
