//! paf-le: certificates from Let's Encrypt (or any ACME CA) over HTTP-01,
//! served by paf's own server, kept in a storage, swapped in place and
//! renewed.
//!
//! ```no_run
//! use std::sync::Arc;
//! use paf_core::{http::{Request, Response}, Body};
//! use paf_le::{CertResolver, ChallengeHandler, Config, Directory, Origin, Renewal};
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
//! // The stored certificate while it is good, else a new one (the port 80
//! // server answers the challenges).
//! let obtained = paf_le::obtain(&config).await?;
//! if obtained.origin == Origin::Stored {
//!     println!("serving the stored certificate");
//! }
//!
//! // Port 443, its certificate swapped in place by each renewal.
//! let resolver = Arc::new(CertResolver::new(&obtained.certificate)?);
//! let https = paf_hyper::Server::builder()
//!     .tls(resolver.server_config()?)
//!     .build(site)
//!     .bind_tcp("0.0.0.0:443".parse().unwrap())
//!     .await?;
//! let renewal = Renewal::new(config, resolver).spawn(obtained.certificate);
//! # let _ = (http, https, renewal);
//! # Ok(()) }
//! ```
//!
//! # The flow
//! As in the OCaml original (paf-le-chien): an HTTP server on port 80 runs
//! the challenge handler, and provisioning runs beside it, with
//! instant-acme speaking ACME. [`obtain`] serves the stored certificate
//! when it covers the configured names and is not due for renewal, and
//! orders one otherwise; [`provision_certificate`] always orders.
//! Ordering finds or creates the account (registering a new one when the
//! CA no longer knows the stored one), orders the names, publishes each
//! HTTP-01 token in the configuration's [`Challenges`] store, waits for
//! the CA to validate them, sends a CSR for a fresh key and fetches the
//! chain. [`obtain_with_challenge_server`] and
//! [`provision_with_challenge_server`] bind their own challenge server on
//! [`Config::challenge_addr`] for the order and stop it afterwards.
//!
//! ACME requests go through a paf client ([`AcmeHttpClient`] over
//! [`paf_core::client::Client`]): by default a [`paf_hyper::Client`] whose
//! transport context is [`ConfigBuilder::ctx`] with the CA certificates of
//! [`ConfigBuilder::extra_ca_pem`] trusted; any paf backend with
//! [`ConfigBuilder::http_client`].
//!
//! # Storage
//! Accounts, certificates and locks go through a [`Storage`]: a small
//! key/value interface with leased locks. [`FileStorage`]
//! ([`ConfigBuilder::storage_dir`]) keeps them in a directory: each value
//! is written to an exclusively created temporary file with an
//! unpredictable name, synced, renamed into place and its directory
//! synced; files are mode 0600 and directories 0700. The chain and its key
//! are one value, a bundle (`certificates/<ca>/<name>/bundle.pem`), so a
//! crash can never pair a chain with another certificate's key; a damaged
//! bundle is an [`Error::Corrupt`] naming what is wrong ([`Corruption`]),
//! and [`obtain`] then orders anew. Tasks and processes sharing a storage
//! take turns through the certificate's lock, so they order once.
//! Without a storage, a [`MemoryStorage`] shared by the configuration's
//! clones is used. [`ConfigBuilder::storage`] takes any other backend.
//!
//! # Serving and renewing
//! [`CertResolver`] is a rustls certificate resolver whose certificate can
//! be replaced while the server runs: new handshakes get the new one.
//! [`Renewal`] spawns a task that renews once a fraction of the lifetime
//! (two thirds by default) has passed, by a [`Clock`] tests can replace,
//! and puts the result in the resolver. A failed renewal keeps the served
//! certificate and is retried after a [`Backoff`] (one minute doubling to
//! one day, jittered, at least the CA's `Retry-After`; a day at once for
//! [permanent](Error::is_permanent) failures). Every outcome is logged
//! with `tracing` and published as a [`RenewalEvent`]
//! ([`Renewal::on_event`], [`RenewalHandle::events`]).
//!
//! # Keys
//! The account key is generated, read from a PEM file, or derived from a
//! seed ([`AccountKey`]); instant-acme signs with ECDSA P-256, so it is
//! always a P-256 key. A CA that requires an external account binding
//! gets one from [`ConfigBuilder::external_account`] ([`ExternalAccount`]). The certificate key is a fresh ECDSA P-256 key, or
//! one the user brings ([`CertificateKey::Pem`], RSA included). Generating
//! RSA keys is not supported: ring, paf's only crypto provider, cannot.
//!
//! # Migrating from the first release
//! - `Store` is gone; [`ConfigBuilder::storage_dir`] now makes a
//!   [`FileStorage`] with a new layout (`accounts/<ca>/account.json`,
//!   `certificates/<ca>/<name>/bundle.pem`). The old `account.json`,
//!   `cert.pem` and `key.pem` are not read: the first start orders a new
//!   certificate (and, with a generated account key, a new account).
//!   Delete the old files afterwards.
//! - `Config::store()` → [`Config::storage`];
//!   `store.load_certificate()` → [`stored_certificate`]`(&config).await`
//!   (or better [`obtain`]); `store.account_id()` →
//!   [`stored_account_id`]`(&config).await`; `store.certificate_path()` and
//!   `store.key_path()` → the one bundle file,
//!   [`FileStorage::path`]`(config.certificate_storage_key())`.
//! - "Load the stored certificate, else provision" → [`obtain`], which
//!   also checks validity, names and key, and takes the lock.
//! - `Renewal::retry_interval(d)` → [`Renewal::backoff`]`(Backoff::new(first, max))`.
//! - [`Error::Storage`] now wraps a [`StorageError`] (any backend); a
//!   damaged value is [`Error::Corrupt`]; an unreadable account key file
//!   is [`Error::Key`].
//!
//! # Example program
//! `cargo run -p paf-examples --example letsencrypt -- --email you@example.org
//! example.org` runs the whole flow against Let's Encrypt staging (or
//! `--directory URL` with `--ca FILE` for a private CA), says whether it
//! reused the stored certificate or ordered one, and prints where the
//! bundle is.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod account;
mod acme_client;
mod backoff;
mod bundle;
mod certificate;
mod challenge;
mod config;
mod error;
mod keys;
mod layout;
mod nonce;
mod obtain;
mod provision;
mod renew;
mod resolver;
mod storage;
mod x509;

pub use account::stored_account_id;
pub use acme_client::AcmeHttpClient;
pub use backoff::Backoff;
pub use certificate::Certificate;
pub use challenge::{ChallengeHandler, Challenges, NotFound, CHALLENGE_PATH_PREFIX};
pub use config::{
    AccountKey, CertificateKey, Config, ConfigBuilder, Directory, ExternalAccount, MIN_SEED_LEN,
};
pub use error::{Corruption, Error, Problem, Result};
pub use obtain::{obtain, obtain_with_challenge_server, stored_certificate, Obtained, Origin};
pub use provision::{provision_certificate, provision_with_challenge_server};
pub use renew::{
    Clock, ManualClock, Renewal, RenewalEvent, RenewalHandle, RenewalState, SystemClock,
    DEFAULT_RENEW_FRACTION,
};
pub use resolver::CertResolver;
pub use storage::{check_key, FileStorage, Lease, LockGuard, MemoryStorage, Storage, StorageError};
