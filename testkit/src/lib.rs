//! What paf's tests share, so that it is written once: the rule for peers
//! that are not installed ([`peers_required`], [`skip_or_fail`]), a
//! self-signed test certificate and its rustls server configuration
//! ([`TestCert`]), a `tinyproxy` ([`Tinyproxy`]) and a `redis-server`
//! ([`RedisServer`]) of the test's own, and small tokio helpers: a bound on a
//! test step ([`within`]), a response head read byte by byte
//! ([`read_head`]), the upper-casing echo protocol the upgrade tests switch
//! to ([`upper_echo`]). Dev-only: not published, and free of paf crates so
//! that any crate's tests can use it.
//!
//! ```
//! let cert = paf_testkit::TestCert::localhost();
//! assert!(cert.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
//! ```
#![forbid(unsafe_code)]
// Test support: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used)]

mod io;
pub mod redis;
mod tinyproxy;

use std::{io::Write, sync::Arc};

pub use io::{read_head, round_trip, upper_echo, within};
pub use redis::RedisServer;
pub use tinyproxy::Tinyproxy;

/// True when a missing peer (a program the test starts) must fail the test
/// instead of skipping it: `PAF_REQUIRE_PEERS=1`, as CI sets.
pub fn peers_required() -> bool {
    std::env::var("PAF_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// Says that a test is skipped because `what` is missing (`install` says
/// how to get it), or panics when [`peers_required`].
pub fn skip_or_fail(what: &str, install: &str) {
    assert!(
        !peers_required(),
        "{what} is not installed and PAF_REQUIRE_PEERS=1"
    );
    note(&format!(
        "note: skipping: {what} is not installed ({install})"
    ));
}

/// Says something in the test output even when the test passes: straight
/// to the standard error stream, which libtest does not capture (it
/// captures `eprintln!`).
pub fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// A self-signed certificate for `localhost` and 127.0.0.1: its PEM is both
/// the server's chain and the client's trusted root.
#[derive(Debug, Clone)]
pub struct TestCert {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PEM.
    pub key_pem: String,
}

impl TestCert {
    /// A new certificate for `localhost` and 127.0.0.1.
    pub fn localhost() -> TestCert {
        TestCert::for_names(&["localhost", "127.0.0.1"])
    }

    /// A new certificate for these names.
    pub fn for_names(names: &[&str]) -> TestCert {
        let names = names
            .iter()
            .map(|name| name.to_string())
            .collect::<Vec<_>>();
        let cert = rcgen::generate_simple_self_signed(names).expect("rcgen makes a certificate");
        TestCert {
            cert_pem: cert.cert.pem(),
            key_pem: cert.signing_key.serialize_pem(),
        }
    }

    /// A rustls server configuration serving this certificate and offering
    /// these ALPN protocols, built as `paf_core::tls::server_config` builds
    /// one: the `ring` provider, its safe default protocol versions, no
    /// client authentication.
    ///
    /// ```
    /// let cert = paf_testkit::TestCert::localhost();
    /// let config = cert.server_config(&[b"h2", b"http/1.1"]);
    /// assert_eq!(config.alpn_protocols[0], b"h2");
    /// ```
    pub fn server_config(&self, alpn: &[&[u8]]) -> Arc<rustls::ServerConfig> {
        use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
        let chain = CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("the test certificate's PEM");
        let key =
            PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).expect("the test key's PEM");
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring's protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("the test certificate and its key");
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }
}
