//! What paf's tests share, so that it is written once: the rule for peers
//! that are not installed ([`peers_required`]), a self-signed test
//! certificate ([`TestCert`]), and a `tinyproxy` of the test's own
//! ([`Tinyproxy`]). Dev-only: not published, and free of paf crates so that
//! any crate's tests can use it.
//!
//! ```
//! let cert = paf_testkit::TestCert::localhost();
//! assert!(cert.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
//! ```
#![forbid(unsafe_code)]
// Test support: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used)]

mod tinyproxy;

pub use tinyproxy::Tinyproxy;

/// True when a missing peer (a program the test starts) must fail the test
/// instead of skipping it: `PAF_REQUIRE_PEERS=1`, as CI sets.
pub fn peers_required() -> bool {
    std::env::var("PAF_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// Says that a test is skipped because `what` is missing, or panics when
/// [`peers_required`].
pub fn skip_or_fail(what: &str, install: &str) {
    assert!(
        !peers_required(),
        "{what} is not installed and PAF_REQUIRE_PEERS=1"
    );
    eprintln!("note: skipping: {what} is not installed ({install})");
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
}
