//! The helpers against what they stand in for: a TLS handshake with the test
//! certificate, a real `redis-server` killed and restarted, the echo over
//! an in-memory pipe.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use paf_testkit::{read_head, redis, round_trip, upper_echo, within, RedisServer, TestCert};
use rustls::pki_types::{pem::PemObject, CertificateDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[test]
fn the_server_config_serves_the_certificate_and_offers_the_alpn_given() {
    let cert = TestCert::localhost();
    let config = cert.server_config(&[b"h2", b"http/1.1"]);
    assert_eq!(
        config.alpn_protocols,
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    );
    // A client trusting the certificate completes a handshake with it.
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(cert.cert_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    for name in ["localhost", "127.0.0.1"] {
        let mut client = rustls::ClientConnection::new(
            Arc::new(client.clone()),
            name.to_string().try_into().unwrap(),
        )
        .unwrap();
        let mut server = rustls::ServerConnection::new(config.clone()).unwrap();
        while client.is_handshaking() || server.is_handshaking() {
            let mut flight = Vec::new();
            client.write_tls(&mut flight).unwrap();
            server.read_tls(&mut &flight[..]).unwrap();
            server.process_new_packets().unwrap();
            let mut flight = Vec::new();
            server.write_tls(&mut flight).unwrap();
            client.read_tls(&mut &flight[..]).unwrap();
            client.process_new_packets().unwrap();
        }
    }
}

#[tokio::test]
async fn upper_echo_answers_in_upper_case_after_a_head() {
    let (mut near, far) = tokio::io::duplex(1024);
    let server = tokio::spawn(async move {
        let mut far = far;
        far.write_all(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\n\r\n")
            .await
            .unwrap();
        upper_echo(far).await;
    });
    let head = read_head(&mut near).await;
    assert_eq!(
        head,
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\n\r\n"
    );
    assert_eq!(round_trip(&mut near, b"hello").await, b"HELLO");
    drop(near);
    within(5, server).await.unwrap();
}

#[tokio::test]
async fn redis_server_answers_and_keeps_append_only_data_across_a_restart() {
    let Some(mut server) = RedisServer::start(redis::APPEND_ONLY).await else {
        return;
    };
    assert_eq!(
        server.url(),
        format!("redis://127.0.0.1:{}/", server.port())
    );
    let command = |port: u16, line: &'static [u8], reply_len: usize| async move {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        stream.write_all(line).await.unwrap();
        let mut reply = vec![0u8; reply_len];
        within(5, stream.read_exact(&mut reply)).await.unwrap();
        String::from_utf8(reply).unwrap()
    };
    assert_eq!(command(server.port(), b"SET k v\r\n", 5).await, "+OK\r\n");
    server.kill();
    server.restart().await;
    assert_eq!(command(server.port(), b"GET k\r\n", 7).await, "$1\r\nv\r\n");
}
