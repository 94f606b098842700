//! A peer speaking hand-built packets on an in-memory link, to send what
//! no stack would: what it sends outside the window the stack advertised
//! is dropped or trimmed, and the stack goes on (smoltcp 0.12 panicked on
//! such data, smoltcp issue 1048, and on a SYN from 0.0.0.0). And a ping,
//! which the stack answers.
#![allow(clippy::unwrap_used)]

mod common;

use std::{future::poll_fn, net::Ipv4Addr};

use common::{within, SERVER_IP};
use paf_smoltcp::{
    smoltcp::{
        phy::{self, ChecksumCapabilities, RxToken, TxToken},
        time::Instant,
        wire::{
            Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket,
            TcpRepr, TcpSeqNumber,
        },
    },
    Config, Device, MemoryDevice, MemoryLink, Stack, TcpListener, TcpStream,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PEER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PEER_PORT: u16 = 40000;
const PORT: u16 = 80;
/// The server's buffers, and so its window: small enough to fill with one
/// segment.
const WINDOW: usize = 4096;

/// The link verifies checksums, and the peer computes them.
fn checksums() -> ChecksumCapabilities {
    ChecksumCapabilities::default()
}

/// A segment as the peer saw it.
#[derive(Debug)]
struct Segment {
    control: TcpControl,
    seq: TcpSeqNumber,
    ack: Option<TcpSeqNumber>,
    window: u16,
    payload: Vec<u8>,
}

/// The far end of the link, driven by hand.
struct Peer {
    device: MemoryDevice,
    /// The peer's next sequence number.
    seq: TcpSeqNumber,
    /// What the peer acknowledges: the server's next sequence number.
    ack: TcpSeqNumber,
}

impl Peer {
    /// Sends an IP packet from `src` whose payload `fill` writes.
    fn send_ip(
        &mut self,
        src: Ipv4Addr,
        protocol: IpProtocol,
        len: usize,
        fill: impl FnOnce(&mut [u8]),
    ) {
        let ip = Ipv4Repr {
            src_addr: src,
            dst_addr: SERVER_IP,
            next_header: protocol,
            payload_len: len,
            hop_limit: 64,
        };
        let token = phy::Device::transmit(&mut self.device, Instant::ZERO).unwrap();
        token.consume(ip.buffer_len() + len, |frame| {
            let mut packet = Ipv4Packet::new_unchecked(frame);
            ip.emit(&mut packet, &checksums());
            fill(packet.payload_mut());
        });
    }

    /// The next IP packet the server sends: its protocol and payload.
    async fn recv_ip(&mut self) -> (IpProtocol, Vec<u8>) {
        loop {
            poll_fn(|cx| self.device.poll_ready(cx)).await.unwrap();
            let Some((token, _)) = phy::Device::receive(&mut self.device, Instant::ZERO) else {
                continue;
            };
            return token.consume(|frame| {
                let packet = Ipv4Packet::new_checked(frame).unwrap();
                let ip = Ipv4Repr::parse(&packet, &checksums()).unwrap();
                assert_eq!(ip.dst_addr, PEER_IP);
                (ip.next_header, packet.payload().to_vec())
            });
        }
    }

    /// Sends a segment from `src`.
    fn send_from(&mut self, src: Ipv4Addr, src_port: u16, tcp: TcpRepr<'_>) {
        let tcp = TcpRepr { src_port, ..tcp };
        self.send_ip(src, IpProtocol::Tcp, tcp.buffer_len(), |payload| {
            let mut segment = TcpPacket::new_unchecked(payload);
            tcp.emit(&mut segment, &src.into(), &SERVER_IP.into(), &checksums());
        });
    }

    /// Sends `payload` at `seq` on the connection, acknowledging what the
    /// server sent.
    fn send_data(&mut self, seq: TcpSeqNumber, payload: &[u8]) {
        self.send_from(
            PEER_IP,
            PEER_PORT,
            TcpRepr {
                control: TcpControl::Psh,
                seq_number: seq,
                ack_number: Some(self.ack),
                payload,
                ..template()
            },
        );
    }

    /// The next segment the server sends.
    async fn recv(&mut self) -> Segment {
        let (protocol, payload) = self.recv_ip().await;
        assert_eq!(protocol, IpProtocol::Tcp);
        let segment = TcpPacket::new_checked(&payload[..]).unwrap();
        let tcp =
            TcpRepr::parse(&segment, &SERVER_IP.into(), &PEER_IP.into(), &checksums()).unwrap();
        Segment {
            control: tcp.control,
            seq: tcp.seq_number,
            ack: tcp.ack_number,
            window: tcp.window_len,
            payload: tcp.payload.to_vec(),
        }
    }

    /// Segments until one acknowledges `ack`; the last one.
    async fn acked(&mut self, ack: TcpSeqNumber) -> Segment {
        within(5, async {
            loop {
                let segment = self.recv().await;
                if segment.ack == Some(ack) {
                    return segment;
                }
            }
        })
        .await
    }
}

fn template() -> TcpRepr<'static> {
    TcpRepr {
        src_port: PEER_PORT,
        dst_port: PORT,
        control: TcpControl::None,
        seq_number: TcpSeqNumber(0),
        ack_number: None,
        window_len: 65535,
        window_scale: None,
        max_seg_size: None,
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp: None,
        payload: &[],
    }
}

/// `len` bytes, each telling where it is: a trimmed or shifted segment
/// shows.
fn bytes(from: usize, len: usize) -> Vec<u8> {
    (from..from + len).map(|i| (i % 251) as u8).collect()
}

/// A server stack listening on [`PORT`], and the peer at the other end of
/// its link.
fn server_and_peer() -> (Stack, TcpListener, Peer) {
    let (a, b) = MemoryLink::ip().verify_checksums(true).pair();
    let server = Stack::new(a, Config::new(SERVER_IP, 24).buffer_size(WINDOW)).unwrap();
    let listener = server.listen(PORT).unwrap();
    let peer = Peer {
        device: b,
        seq: TcpSeqNumber(0),
        ack: TcpSeqNumber(0),
    };
    (server, listener, peer)
}

/// The handshake, by hand; the server's end of the connection.
async fn connect(peer: &mut Peer, listener: &mut TcpListener) -> TcpStream {
    let isn = TcpSeqNumber(1000);
    peer.send_from(
        PEER_IP,
        PEER_PORT,
        TcpRepr {
            control: TcpControl::Syn,
            seq_number: isn,
            max_seg_size: Some(1460),
            ..template()
        },
    );
    let syn_ack = within(5, peer.recv()).await;
    assert_eq!(syn_ack.control, TcpControl::Syn, "{syn_ack:?}");
    assert_eq!(syn_ack.ack, Some(isn + 1));
    assert_eq!(usize::from(syn_ack.window), WINDOW);
    peer.seq = isn + 1;
    peer.ack = syn_ack.seq + 1;
    peer.send_from(
        PEER_IP,
        PEER_PORT,
        TcpRepr {
            seq_number: peer.seq,
            ack_number: Some(peer.ack),
            ..template()
        },
    );
    within(5, listener.accept()).await.unwrap().0
}

/// The stack is up and the stream works: an answer reaches the peer.
async fn still_answers(server: &Stack, stream: &mut TcpStream, peer: &mut Peer) {
    stream.write_all(b"still here").await.unwrap();
    let answer = within(5, async {
        loop {
            let segment = peer.recv().await;
            if !segment.payload.is_empty() {
                return segment;
            }
        }
    })
    .await;
    assert_eq!(answer.payload, b"still here");
    assert_eq!(answer.seq, peer.ack);
    assert!(server.listen(PORT + 1).is_ok(), "the stack has stopped");
}

#[tokio::test]
async fn data_outside_the_advertised_window_is_dropped_and_the_stack_goes_on() {
    let (server, mut listener, mut peer) = server_and_peer();
    let mut stream = connect(&mut peer, &mut listener).await;

    // The peer fills the window: the server acknowledges it, and says its
    // window is closed.
    let start = peer.seq;
    peer.send_data(start, &bytes(0, WINDOW));
    let ack = peer.acked(start + WINDOW).await;
    assert_eq!(ack.window, 0, "{ack:?}");

    // The reader empties the buffer; before the stack can say so, the peer
    // sends into the room that was never advertised. (On this runtime's
    // one thread the stack runs only once the test waits.) smoltcp 0.12
    // took the bytes, then panicked working out its window.
    let mut buf = vec![0; WINDOW];
    stream.read_exact(&mut buf).await.unwrap();
    assert!(buf == bytes(0, WINDOW));
    peer.send_data(start + WINDOW, &bytes(WINDOW, WINDOW));
    // Dropped: the acknowledgement stays where it was, the window opens.
    let ack = peer.acked(start + WINDOW).await;
    assert_eq!(
        usize::from(ack.window),
        WINDOW,
        "the read emptied the buffer: {ack:?}"
    );

    // A segment straddling the window's end is cut at it.
    peer.send_data(start + WINDOW, &bytes(WINDOW, 2 * WINDOW));
    let ack = peer.acked(start + 2 * WINDOW).await;
    assert_eq!(ack.window, 0, "{ack:?}");
    // Far beyond the window, and far behind it: ignored.
    peer.send_data(start + (1 << 20), &bytes(0, 1000));
    peer.send_data(start + WINDOW - (1 << 20), &bytes(0, 1000));

    // Exactly the bytes within the window arrived, in order.
    stream.read_exact(&mut buf).await.unwrap();
    assert!(buf == bytes(WINDOW, WINDOW), "the trimmed segment");
    still_answers(&server, &mut stream, &mut peer).await;
}

/// smoltcp 0.12 panicked answering it.
#[tokio::test]
async fn a_syn_from_the_unspecified_address_is_ignored() {
    let (server, mut listener, mut peer) = server_and_peer();
    peer.send_from(
        Ipv4Addr::UNSPECIFIED,
        PEER_PORT,
        TcpRepr {
            control: TcpControl::Syn,
            seq_number: TcpSeqNumber(5000),
            ..template()
        },
    );
    // Frames are taken in order: the handshake that follows finds the
    // stack after it dealt with the SYN.
    let mut stream = connect(&mut peer, &mut listener).await;
    still_answers(&server, &mut stream, &mut peer).await;
}

#[tokio::test]
async fn a_ping_is_answered() {
    let (_server, _listener, mut peer) = server_and_peer();
    let request = Icmpv4Repr::EchoRequest {
        ident: 7,
        seq_no: 1,
        data: b"ping",
    };
    peer.send_ip(PEER_IP, IpProtocol::Icmp, request.buffer_len(), |payload| {
        request.emit(&mut Icmpv4Packet::new_unchecked(payload), &checksums());
    });
    let (protocol, payload) = within(5, peer.recv_ip()).await;
    assert_eq!(protocol, IpProtocol::Icmp);
    let packet = Icmpv4Packet::new_checked(&payload[..]).unwrap();
    let reply = Icmpv4Repr::parse(&packet, &checksums()).unwrap();
    assert_eq!(
        reply,
        Icmpv4Repr::EchoReply {
            ident: 7,
            seq_no: 1,
            data: b"ping",
        }
    );
}
