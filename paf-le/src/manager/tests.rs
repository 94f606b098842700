//! The manager's resolver with stored certificates: real handshakes over
//! loopback, no CA (its directory is a closed port).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use paf_core::{BoxError, BoxFuture};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::{bundle, challenge::ChallengeType, storage::MemoryStorage, DnsProvider, Storage};

#[derive(Debug)]
struct NoDns;

impl DnsProvider for NoDns {
    fn set_txt<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async { Err("no DNS here".into()) })
    }

    fn clear_txt<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async { Ok(()) })
    }
}

fn settings(storage: Arc<dyn Storage>) -> ConfigBuilder {
    Config::builder()
        .directory(crate::Directory::Url(
            "https://127.0.0.1:1/dir".parse().unwrap(),
        ))
        .storage(storage)
        .challenge_types([ChallengeType::TlsAlpn01, ChallengeType::Dns01])
        .dns_provider(Arc::new(NoDns))
}

/// Stores a self-signed certificate for `names` where the manager looks.
async fn store(manager: &CertManager, names: &[&str]) -> Certificate {
    let cert = Certificate::self_signed(names.iter().copied()).unwrap();
    let config = manager.settings().for_names(names).unwrap();
    config
        .storage()
        .put(config.certificate_storage_key(), bundle::encode(&cert))
        .await
        .unwrap();
    cert
}

/// An acceptor serving `manager` on loopback: each connection is
/// handshaken and dropped.
async fn serve(manager: &CertManager) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(manager.server_config().unwrap());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(tcp).await;
            });
        }
    });
    addr
}

/// Accepts any certificate: the tests compare leaves themselves.
#[derive(Debug)]
struct AnyCertificate;

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        paf_core::tls::provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The leaf served to a client naming `name` and offering `alpn`.
async fn leaf(addr: SocketAddr, name: &str, alpn: &[&[u8]]) -> std::io::Result<Vec<u8>> {
    let mut config = rustls::ClientConfig::builder_with_provider(paf_core::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate))
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await?;
    let tls = connector
        .connect(ServerName::try_from(name.to_string()).unwrap(), tcp)
        .await?;
    Ok(tls.get_ref().1.peer_certificates().unwrap()[0].to_vec())
}

const H2: &[&[u8]] = &[b"h2", b"http/1.1"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sni_picks_each_names_certificate_and_unknown_names_get_none() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let manager = CertManager::new(settings(storage)).unwrap();
    let a = store(&manager, &["a.example.org"]).await;
    let both = store(&manager, &["b.example.org", "c.example.org"]).await;
    let wild = store(&manager, &["*.wild.example.org"]).await;
    manager.add(["a.example.org"]).unwrap();
    manager.add(["b.example.org", "c.example.org"]).unwrap();
    manager.add(["*.wild.example.org"]).unwrap();
    for name in ["a.example.org", "c.example.org", "x.wild.example.org"] {
        manager.ready(name).await.unwrap();
    }
    let addr = serve(&manager).await;

    assert_eq!(
        leaf(addr, "a.example.org", H2).await.unwrap(),
        a.leaf().to_vec()
    );
    assert_eq!(
        leaf(addr, "B.example.org", H2).await.unwrap(),
        both.leaf().to_vec()
    );
    assert_eq!(
        leaf(addr, "c.example.org", H2).await.unwrap(),
        both.leaf().to_vec()
    );
    assert_eq!(
        leaf(addr, "x.wild.example.org", H2).await.unwrap(),
        wild.leaf().to_vec()
    );
    for unknown in ["d.example.org", "x.y.wild.example.org", "wild.example.org"] {
        assert!(leaf(addr, unknown, H2).await.is_err(), "{unknown}");
    }
    assert_eq!(manager.names().len(), 4);

    // Removed at run time: its names fail from then on, the others stay.
    assert!(manager.remove("c.example.org").await);
    assert!(leaf(addr, "b.example.org", H2).await.is_err());
    assert_eq!(
        leaf(addr, "a.example.org", H2).await.unwrap(),
        a.leaf().to_vec()
    );
    assert!(!manager.remove("c.example.org").await);
    // And added back.
    manager.add(["b.example.org"]).unwrap();
    let err = manager.add(["b.example.org"]).unwrap_err();
    assert!(err.is_config(), "{err}");
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_without_a_certificate_fails_its_handshake_instead_of_getting_another() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let manager = CertManager::builder(settings(storage))
        .backoff(Backoff::new(
            Duration::from_secs(3600),
            Duration::from_secs(3600),
        ))
        .build()
        .unwrap();
    let a = store(&manager, &["a.example.org"]).await;
    manager.add(["a.example.org"]).unwrap();
    manager.add(["new.example.org"]).unwrap();
    manager.ready("a.example.org").await.unwrap();
    // Nothing stored, and the CA is unreachable: the first order fails.
    let err = manager.ready("new.example.org").await.unwrap_err();
    assert!(err.is_directory_unreachable(), "{err}");
    assert!(manager.certificate("new.example.org").is_none());
    let addr = serve(&manager).await;
    let refused = leaf(addr, "new.example.org", H2).await.unwrap_err();
    assert!(refused.to_string().contains("alert"), "{refused}");
    assert_eq!(
        leaf(addr, "a.example.org", H2).await.unwrap(),
        a.leaf().to_vec()
    );
    manager.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acme_tls_handshakes_get_the_challenge_certificate_or_nothing() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let manager = CertManager::new(settings(storage.clone())).unwrap();
    let a = store(&manager, &["a.example.org"]).await;
    manager.add(["a.example.org"]).unwrap();
    manager.ready("a.example.org").await.unwrap();
    let addr = serve(&manager).await;
    const ACME: &[&[u8]] = &[b"acme-tls/1"];

    // No challenge in progress: no certificate, not the site's.
    assert!(leaf(addr, "a.example.org", ACME).await.is_err());
    // A browser offering acme-tls/1 among others gets the site's.
    let mixed: &[&[u8]] = &[b"h2", b"acme-tls/1"];
    assert_eq!(
        leaf(addr, "a.example.org", mixed).await.unwrap(),
        a.leaf().to_vec()
    );

    // Another instance publishes a challenge in the shared storage.
    let other = Challenges::new().with_storage(storage);
    let mut scope = other.scope(None);
    scope
        .publish_tls_alpn("a.example.org", "tok.thumb")
        .await
        .unwrap();
    let challenge = leaf(addr, "a.example.org", ACME).await.unwrap();
    assert_ne!(challenge, a.leaf().to_vec());
    let hash = ring::digest::digest(&ring::digest::SHA256, b"tok.thumb");
    assert!(challenge.windows(32).any(|w| w == hash.as_ref()));
    // Not for names the manager does not manage.
    scope
        .publish_tls_alpn("stranger.example.org", "tok2.thumb")
        .await
        .unwrap();
    assert!(leaf(addr, "stranger.example.org", ACME).await.is_err());
    scope.withdraw().await;
    assert!(leaf(addr, "a.example.org", ACME).await.is_err());
    manager.stop().await;
}

#[test]
fn names_in_the_settings_are_refused() {
    let err = CertManager::new(Config::builder().hostname("a.example.org")).unwrap_err();
    assert!(err.is_config(), "{err}");
}
