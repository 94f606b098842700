//! TCP as the streams show it: half-close, reset, drop, refusal, the
//! listener's backlog, and the devices (Ethernet with ARP, the polling
//! fallback).
#![allow(clippy::unwrap_used)]

mod common;

use std::{
    io::ErrorKind,
    net::{Ipv4Addr, SocketAddr},
    time::Duration,
};

use common::*;
use paf_smoltcp::{Config, MemoryDevice, MemoryLink, Polled, Stack, TcpStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn server_addr(port: u16) -> SocketAddr {
    SocketAddr::from((SERVER_IP, port))
}

/// A connected pair: (client end, server end).
async fn connected(server: &Stack, client: &Stack, port: u16) -> (TcpStream, TcpStream) {
    let mut listener = server.listen(port).unwrap();
    let (client_end, accepted) = within(5, async {
        tokio::join!(client.connect(server_addr(port)), listener.accept())
    })
    .await;
    let (server_end, peer) = accepted.unwrap();
    let client_end = client_end.unwrap();
    assert_eq!(peer, client_end.local_addr());
    assert_eq!(client_end.peer_addr(), server_addr(port));
    assert_eq!(server_end.local_addr(), server_addr(port));
    (client_end, server_end)
}

async fn read_all(stream: &mut TcpStream) -> Vec<u8> {
    let mut data = Vec::new();
    within(5, stream.read_to_end(&mut data)).await.unwrap();
    data
}

#[tokio::test]
async fn shutdown_sends_fin_and_the_peer_can_still_answer() {
    let (server, client) = stacks();
    let (mut c, mut s) = connected(&server, &client, 7).await;
    c.write_all(b"ping").await.unwrap();
    c.shutdown().await.unwrap();
    // The server reads to the end: the FIN came after the data.
    assert_eq!(read_all(&mut s).await, b"ping");
    // Its own half is still open.
    s.write_all(b"pong").await.unwrap();
    drop(s);
    assert_eq!(read_all(&mut c).await, b"pong");
    // Writing after shutdown is refused, as on a kernel socket.
    let err = c.write_all(b"late").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    // The end stays the end.
    assert_eq!(c.read(&mut [0; 8]).await.unwrap(), 0);
}

#[tokio::test]
async fn dropping_a_stream_delivers_what_was_written_then_eof() {
    let (server, client) = stacks();
    let (mut c, mut s) = connected(&server, &client, 7).await;
    // More than fits in one window: the stack sends the rest after the drop.
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let writer = tokio::spawn(async move {
        c.write_all(&data).await.unwrap();
        data
    });
    let received = read_all(&mut s).await;
    let data = writer.await.unwrap();
    assert_eq!(received.len(), data.len());
    assert!(received == data);
}

#[tokio::test]
async fn abort_resets_the_peer() {
    let (server, client) = stacks();
    let (c, mut s) = connected(&server, &client, 7).await;
    c.abort();
    let err = within(5, s.read(&mut [0; 8])).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    let err = s.write_all(b"anyone?").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
}

#[tokio::test]
async fn connecting_to_a_closed_port_is_refused() {
    let (_server, client) = stacks();
    let err = within(5, client.connect(server_addr(81)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
}

#[tokio::test]
async fn connecting_to_nobody_times_out() {
    // The other end of the link is there, but no stack answers on it.
    let (a, _b) = MemoryDevice::pair();
    let lonely = Stack::new(
        a,
        Config::new(Ipv4Addr::new(10, 0, 0, 3), 24).connect_timeout(Duration::from_millis(300)),
    )
    .unwrap();
    let err = within(5, lonely.connect(server_addr(80)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    let err = within(5, lonely.connect("192.168.1.1:80".parse().unwrap()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrNotAvailable, "{err}");
}

#[tokio::test]
async fn a_port_is_listened_on_once_and_freed_by_drop() {
    let (server, client) = stacks();
    let listener = server.listen(80).unwrap();
    let err = server.listen(80).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    drop(listener);
    let err = within(5, client.connect(server_addr(80)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    let again = server.listen(80).unwrap();
    // Port 0 picks a free port of the ephemeral range.
    let any = server.listen(0).unwrap();
    assert!(any.local_addr().port() >= 49152);
    assert_eq!(again.local_addr(), server_addr(80));
}

#[tokio::test]
async fn the_backlog_takes_connections_before_accept() {
    let (a, b) = MemoryDevice::pair();
    let server = Stack::new(a, config(SERVER_IP).backlog(8)).unwrap();
    let client = Stack::new(b, config(CLIENT_IP)).unwrap();
    let mut listener = server.listen(80).unwrap();
    // Eight clients connect at the same moment, nobody accepting yet.
    let connects = futures_util::future::join_all((0..8).map(|_| client.connect(server_addr(80))));
    let mut clients: Vec<TcpStream> = within(5, connects)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.write_all(&[i as u8]).await.unwrap();
    }
    let mut seen = Vec::new();
    for _ in 0..8 {
        let (mut s, peer) = within(5, listener.accept()).await.unwrap();
        let mut byte = [0];
        s.read_exact(&mut byte).await.unwrap();
        assert!(clients[byte[0] as usize].local_addr() == peer);
        seen.push(byte[0]);
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..8).collect::<Vec<u8>>());
}

#[tokio::test]
async fn ethernet_link_finds_the_peer_by_arp_with_checksums() {
    let (a, b) = MemoryLink::ethernet()
        .mtu(1514)
        .verify_checksums(true)
        .pair();
    let server = Stack::new(a, config(SERVER_IP)).unwrap();
    let client = Stack::new(b, config(CLIENT_IP)).unwrap();
    let (mut c, mut s) = connected(&server, &client, 80).await;
    let data = vec![0x5a; 200_000];
    c.write_all(&data).await.unwrap();
    c.shutdown().await.unwrap();
    assert!(read_all(&mut s).await == data);
}

#[tokio::test]
async fn a_device_without_readiness_works_when_polled() {
    let (a, b) = MemoryDevice::pair();
    let every = Duration::from_millis(1);
    let server = Stack::new(Polled::new(a, every), config(SERVER_IP)).unwrap();
    let client = Stack::new(Polled::new(b, every), config(CLIENT_IP)).unwrap();
    let (mut c, mut s) = connected(&server, &client, 80).await;
    c.write_all(b"polled").await.unwrap();
    c.shutdown().await.unwrap();
    assert_eq!(read_all(&mut s).await, b"polled");
}

#[tokio::test]
async fn a_stack_on_its_own_thread_serves_one_on_the_runtime() {
    let (a, b) = MemoryDevice::pair();
    let server = Stack::on_thread(move || Ok(a), config(SERVER_IP)).unwrap();
    let client = Stack::new(b, config(CLIENT_IP)).unwrap();
    let (mut c, mut s) = connected(&server, &client, 80).await;
    s.write_all(b"from the thread").await.unwrap();
    drop(s);
    assert_eq!(read_all(&mut c).await, b"from the thread");
    let err = Stack::on_thread(
        || Err::<MemoryDevice, _>(std::io::Error::other("no such device")),
        config(SERVER_IP),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "no such device");
}

#[tokio::test]
async fn a_stack_needs_a_sensible_config() {
    let (a, _) = MemoryDevice::pair();
    let err = Stack::new(a, config(SERVER_IP).buffer_size(1)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

/// A reader slower than its writer, reading odd amounts: the window fills
/// to zero, and the reads must reopen it (the stack is woken to say so),
/// a few bytes at a time or all at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_of_odd_amounts_gets_every_byte() {
    let (server, client) = stacks();
    let (mut c, mut s) = connected(&server, &client, 7).await;
    const LEN: usize = 16 << 20;
    let writer = tokio::spawn(async move {
        let block: Vec<u8> = (0..65536u32).map(|i| (i % 251) as u8).collect();
        for _ in 0..LEN / block.len() {
            c.write_all(&block).await.unwrap();
        }
    });
    let mut buf = vec![0; 8192];
    let (mut read, mut step) = (0, 0usize);
    within(30, async {
        while read < LEN {
            step = (step * 7 + 13) % 8191 + 1;
            let n = s.read(&mut buf[..step]).await.unwrap();
            assert!(n > 0, "early end after {read} bytes");
            assert!(buf[..n]
                .iter()
                .enumerate()
                .all(|(i, b)| *b == ((read + i) % 65536 % 251) as u8));
            read += n;
            // Now and then the reader falls behind: the window fills.
            if step % 64 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    })
    .await;
    writer.await.unwrap();
}
