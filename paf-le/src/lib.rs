//! paf-le: certificates from Let's Encrypt (or any ACME CA) over HTTP-01,
//! served by paf's own server, swapped in place and renewed.
//!
//! ```no_run
//! use std::sync::Arc;
//! use paf_core::{http::{Request, Response}, Body};
//! use paf_le::{CertResolver, ChallengeHandler, Config, Directory, Renewal};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), paf_le::Error> {
//! let config = Config::builder()
//!     .hostname("example.org")
//!     .contact_email("ops@example.org")
//!     .directory(Directory::LetsEncryptStaging)
//!     .storage_dir("/var/lib/example/acme")
//!     .build()?;
//!
//! let site = |_req: Request<Body>| async { Response::new(Body::from("hello")) };
//!
//! // Port 80: challenges answered in front of the site.
//! let http = paf_hyper::Server::new(ChallengeHandler::wrap(config.challenges().clone(), site))
//!     .bind_tcp("0.0.0.0:80".parse().unwrap())
//!     .await?;
//!
//! // The stored certificate, or a new one (the port 80 server answers the challenges).
//! let stored = config.store().map(|store| store.load_certificate()).transpose()?.flatten();
//! let current = match stored {
//!     Some(cert) => cert,
//!     None => paf_le::provision_certificate(&config).await?,
//! };
//!
//! // Port 443, its certificate swapped in place by each renewal.
//! let resolver = Arc::new(CertResolver::new(&current)?);
//! let https = paf_hyper::Server::builder()
//!     .tls(resolver.server_config()?)
//!     .build(site)
//!     .bind_tcp("0.0.0.0:443".parse().unwrap())
//!     .await?;
//! let renewal = Renewal::new(config, resolver).spawn(current);
//! # let _ = (http, https, renewal);
//! # Ok(()) }
//! ```
//!
//! # The flow
//! As in the OCaml original (paf-le-chien): an HTTP server on port 80 runs
//! the challenge handler, and [`provision_certificate`] runs beside it,
//! with instant-acme speaking ACME. Provisioning finds or creates the
//! account, orders the names, publishes each HTTP-01 token in the
//! configuration's [`Challenges`] store, waits for the CA to validate them,
//! sends a CSR for a fresh key and fetches the chain.
//! [`provision_with_challenge_server`] does it all in one call, binding its
//! own challenge server on [`Config::challenge_addr`] and stopping it
//! afterwards.
//!
//! ACME requests go through a paf client ([`AcmeHttpClient`] over
//! [`paf_core::client::Client`]): by default a [`paf_hyper::Client`] whose
//! transport context is [`ConfigBuilder::ctx`] with the CA certificates of
//! [`ConfigBuilder::extra_ca_pem`] trusted; any paf backend with
//! [`ConfigBuilder::http_client`].
//!
//! # Serving and renewing
//! [`CertResolver`] is a rustls certificate resolver whose certificate can
//! be replaced while the server runs: new handshakes get the new one.
//! [`Renewal`] spawns a task that provisions again once a fraction of the
//! lifetime (two thirds by default) has passed, by a [`Clock`] tests can
//! replace, and puts the result in the resolver.
//!
//! # Keys
//! The account key is generated, read from a PEM file, or derived from a
//! seed ([`AccountKey`]); instant-acme signs with ECDSA P-256, so it is
//! always a P-256 key. The certificate key is a fresh ECDSA P-256 key, or
//! one the user brings ([`CertificateKey::Pem`], RSA included). Generating
//! RSA keys is not supported: ring, paf's only crypto provider, cannot.
//!
//! # Persistence
//! With [`ConfigBuilder::storage_dir`], the account credentials
//! (`account.json`), the chain (`cert.pem`) and its key (`key.pem`) are kept
//! in a directory ([`Store`]); private keys are written with mode 0600, and
//! a stored account is reused.
//!
//! # Example program
//! `cargo run -p paf-examples --example letsencrypt -- --email you@example.org
//! example.org` runs the whole flow against Let's Encrypt staging (or
//! `--directory URL` with `--ca FILE` for a private CA) and prints where the
//! certificate was written.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod acme_client;
mod certificate;
mod challenge;
mod config;
mod error;
mod keys;
mod provision;
mod renew;
mod resolver;
mod store;
mod x509;

pub use acme_client::AcmeHttpClient;
pub use certificate::Certificate;
pub use challenge::{ChallengeHandler, Challenges, NotFound, CHALLENGE_PATH_PREFIX};
pub use config::{AccountKey, CertificateKey, Config, ConfigBuilder, Directory, MIN_SEED_LEN};
pub use error::{Error, Problem, Result};
pub use provision::{provision_certificate, provision_with_challenge_server};
pub use renew::{Clock, Renewal, RenewalHandle, RenewalState, SystemClock, DEFAULT_RENEW_FRACTION};
pub use resolver::CertResolver;
pub use store::Store;
