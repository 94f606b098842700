//! paf-le: certificates from Let's Encrypt (or any ACME CA) for paf's
//! HTTPS server: obtained over HTTP-01, TLS-ALPN-01 or DNS-01, kept in a
//! storage that several instances can share, served by SNI, renewed in
//! place.
//!
//! ```no_run
//! use std::time::Duration;
//! use paf_core::{http::{Request, Response}, Body};
//! use paf_le::{CertManager, ChallengeType, Config, Directory, RenewalEvent};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let manager = CertManager::builder(
//!     Config::builder()
//!         .directory(Directory::LetsEncryptStaging)
//!         .contact_email("ops@example.org")
//!         .storage_dir("/var/lib/example/acme")
//!         // Port 443 first; port 80 when the CA cannot reach 443.
//!         .challenge_types([ChallengeType::TlsAlpn01, ChallengeType::Http01]),
//! )
//! .on_event(|event| match event {
//!     RenewalEvent::Failed { error, retry_in, .. } => {
//!         eprintln!("{:?}: {error}, next try in {retry_in:?}", event.names())
//!     }
//!     other => println!("{other:?}"),
//! })
//! .build()?;
//!
//! let site = |_req: Request<Body>| async { Response::new(Body::from("hello")) };
//! // Port 443: a certificate per name by SNI, and the TLS-ALPN-01 answers.
//! let https = paf_hyper::Server::builder()
//!     .tls(manager.server_config()?)
//!     .build(site)
//!     .bind_tcp("0.0.0.0:443".parse()?)
//!     .await?;
//! // Port 80: the HTTP-01 answers in front of the site.
//! let http = paf_hyper::Server::new(manager.http_handler(site))
//!     .bind_tcp("0.0.0.0:80".parse()?)
//!     .await?;
//!
//! // One certificate each: the stored one at once if it is valid, else a
//! // new one; renewed in the background from then on.
//! manager.add(["example.org", "www.example.org"])?;
//! manager.add(["api.example.org"])?;
//! manager.ready("example.org").await?;
//!
//! // … serve until told to stop …
//! manager.stop().await;
//! https.stop(Duration::from_secs(5)).await;
//! http.stop(Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```
//!
//! # The certificate manager
//! [`CertManager`] is the HTTPS server's rustls certificate resolver.
//! Each [`add`](CertManager::add) is one certificate (one name, or
//! several on one certificate); names are added and
//! [removed](CertManager::remove) while the server runs. At each
//! handshake the client's SNI picks the certificate (a managed
//! `*.example.org` covers one label). A name without a certificate yet,
//! or one nobody manages, gets none: the handshake fails with an alert,
//! and never shows another name's certificate.
//!
//! Each certificate has its own task, which serves the stored certificate
//! at once when it is valid (renewing it next if it is due), orders one
//! otherwise, and renews from then on, as [`obtain`] and [`Renewal`] do:
//! under the storage's lock, so that instances sharing a storage order
//! once; a failure keeps the served certificate and is retried after a
//! jittered [`Backoff`]. What happens is logged with `tracing` and
//! published as [`RenewalEvent`]s ([`CertManagerBuilder::on_event`],
//! [`CertManager::events`]); [`CertManager::ready`] waits for a name's
//! first certificate. Renewal is due at two thirds of the lifetime, or
//! when the CA says, if it supports ACME Renewal Information (ARI, RFC
//! 9773): a random point of its suggested window, asked again after its
//! `Retry-After`; the new order then names the certificate it replaces.
//! The time comes from a [`Clock`] that tests replace ([`ManualClock`]).
//! New handshakes get a renewed certificate at once; a resumed TLS
//! session keeps the certificate it was made with, as with any server.
//!
//! # Challenges
//! [`ConfigBuilder::challenge_types`] lists the ways to prove control of
//! a name, in order of preference; per name the first one the CA offers
//! and that can validate it is used, and when the CA fails a challenge
//! the order is placed again with the next type.
//!
//! | type | the CA… | answered by | wildcards |
//! |---|---|---|---|
//! | [`Http01`](ChallengeType::Http01) (default) | fetches `http://NAME/.well-known/acme-challenge/TOKEN` on port 80 | [`CertManager::http_handler`] / [`ChallengeHandler`] | no |
//! | [`TlsAlpn01`](ChallengeType::TlsAlpn01) | connects to port 443 offering ALPN `acme-tls/1` only | the HTTPS resolver itself ([`CertManager`], or [`CertResolver::answering`]); its configuration lists `acme-tls/1` | no |
//! | [`Dns01`](ChallengeType::Dns01) | looks up the TXT record `_acme-challenge.NAME` | your [`DnsProvider`] ([`ConfigBuilder::dns_provider`]) | yes |
//!
//! HTTP-01 tokens and TLS-ALPN-01 answers are also written to the storage
//! (`challenges/http-01/TOKEN`, `challenges/tls-alpn-01/NAME`), and an
//! answer not found in the process is looked up there: when the CA
//! reaches another instance than the one that ordered, that instance
//! answers. rustls asks for certificates synchronously, so a TLS-ALPN-01
//! answer is read from the storage during the handshake with
//! `block_in_place` on tokio's multi-threaded runtime (on a current-thread
//! runtime it is read in the background and a later validation attempt
//! gets it), for managed names only.
//!
//! # One certificate, without the manager
//! The pieces the manager is made of work alone: [`obtain`] serves the
//! stored certificate when it covers the configured names and is not due
//! for renewal, and orders one otherwise; [`provision_certificate`] always
//! orders; [`obtain_with_challenge_server`] and
//! [`provision_with_challenge_server`] bind their own HTTP-01 server on
//! [`Config::challenge_addr`] for the order and stop it afterwards.
//! [`CertResolver`] is a resolver whose one certificate can be replaced
//! while the server runs, and [`Renewal`] a task that renews it:
//!
//! ```no_run
//! use std::sync::Arc;
//! use paf_core::{http::{Request, Response}, Body};
//! use paf_le::{CertResolver, ChallengeHandler, Config, Origin, Renewal};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), paf_le::Error> {
//! let config = Config::builder()
//!     .hostname("example.org")
//!     .storage_dir("/var/lib/example/acme")
//!     .build()?;
//! let site = |_req: Request<Body>| async { Response::new(Body::from("hello")) };
//! let http = paf_hyper::Server::new(ChallengeHandler::wrap(config.challenges().clone(), site))
//!     .bind_tcp("0.0.0.0:80".parse().unwrap())
//!     .await?;
//! let obtained = paf_le::obtain(&config).await?;
//! if obtained.origin == Origin::Stored {
//!     println!("serving the stored certificate");
//! }
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
//! Ordering finds or creates the account (registering a new one when the
//! CA no longer knows the stored one), orders the names, publishes each
//! answer, waits for the CA to validate them, sends a CSR for a fresh key
//! and fetches the chain. ACME requests go through a paf client
//! ([`AcmeHttpClient`] over [`paf_core::client::Client`]): by default a
//! [`paf_hyper::Client`] whose transport context is
//! [`ConfigBuilder::ctx`] with the CA certificates of
//! [`ConfigBuilder::extra_ca_pem`] trusted; any paf backend with
//! [`ConfigBuilder::http_client`].
//!
//! # Storage
//! Accounts, certificates, live challenge answers and locks go through a
//! [`Storage`]: a small key/value interface with leased locks. [`FileStorage`]
//! ([`ConfigBuilder::storage_dir`]) keeps them in a directory: each value
//! is written to an exclusively created temporary file with an
//! unpredictable name, synced, renamed into place and its directory
//! synced; files are mode 0600 and directories 0700. The chain and its key
//! are one value, a bundle (`certificates/<ca>/<name>/bundle.pem`), so a
//! crash can never pair a chain with another certificate's key (a
//! wildcard's `*` is `@` in keys: `certificates/<ca>/@.example.org/…`);
//! a damaged bundle is an [`Error::Corrupt`] naming what is wrong
//! ([`Corruption`]), and [`obtain`] then orders anew. Tasks and processes sharing a storage
//! take turns through the certificate's lock, so they order once.
//! Without a storage, a [`MemoryStorage`] shared by the configuration's
//! clones is used. [`ConfigBuilder::storage`] takes any other backend.
//!
//! # Several instances behind one name
//! Instances that share a storage (`RedisStorage` with the `redis`
//! feature, or a [`FileStorage`] on a shared volume) work as one:
//! - **Challenges.** Every answer is written to the storage, so whichever
//!   instance the CA reaches answers it ([`CertManager::http_handler`]
//!   and the TLS-ALPN-01 resolver look there for what they do not hold).
//! - **One order per certificate.** The certificate's lock lets one
//!   instance order; the others wait for it and then load what it stored.
//!   The holder extends its lease while it orders ([`Storage::extend`],
//!   which Redis and the memory store support) and checks that it still
//!   holds the lock just before it stores the certificate, so that a
//!   holder whose lease ran out never overwrites its successor's
//!   certificate ([`Error::LockLost`]). A holder that dies loses the lock
//!   when its lease ends ([`ConfigBuilder::lock_lease`]), and another
//!   instance takes over.
//! - **Renewals seen everywhere.** Each task reads its stored bundle
//!   every [`CertManagerBuilder::storage_check_interval`] (five minutes by
//!   default) and serves a certificate another instance stored
//!   ([`RenewalEvent::Renewed`] with [`Origin::Stored`]);
//!   `CertManagerBuilder::redis_notifications` makes that immediate:
//!   every `RedisStorage` write is announced on a pub/sub channel.
//!   [`CertManager::check_storage`] asks for a look at once.
//! - **The storage away.** Instances keep serving what they hold; renewals
//!   fail with [`Error::Storage`] and are tried again after the
//!   [`Backoff`]; a lost subscription is taken again and every
//!   certificate looked at.
//!
//! `examples/cluster.rs` is one such instance (`--redis URL`).
//!
//! # Keys
//! The account key is generated, read from a PEM file, or derived from a
//! seed ([`AccountKey`]); instant-acme signs with ECDSA P-256, so it is
//! always a P-256 key. A CA that requires an external account binding
//! gets one from [`ConfigBuilder::external_account`] ([`ExternalAccount`]).
//! The certificate key is a fresh ECDSA P-256 key, or
//! one the user brings ([`CertificateKey::Pem`], RSA included). Generating
//! RSA keys is not supported: ring, paf's only crypto provider, cannot.
//!
//! # Changes for several instances
//! - [`Storage::extend`] is new, with a default that fails with the new
//!   [`StorageError::Unsupported`]: a backend of your own keeps compiling.
//!   `RedisStorage`, [`MemoryStorage`] and [`EncryptedStorage`] (passing
//!   it through) implement it; [`FileStorage`] does not (paf-le then goes
//!   by the lease's end).
//! - [`Error::LockLost`] is new: an order abandoned, or its certificate not
//!   stored, because the lock went to another instance.
//! - [`CertManagerBuilder::storage_check_interval`],
//!   `CertManagerBuilder::redis_notifications` and
//!   [`CertManager::check_storage`] are new; a certificate picked up from
//!   the storage is reported as [`RenewalEvent::Renewed`] with
//!   [`Origin::Stored`].
//! - `RedisStorage`'s `put` also publishes the key on
//!   `RedisStorage::changes_channel`.
//!
//! # Changes since the storage release
//! - [`RenewalEvent`]'s variants carry the certificate's `names`, and a
//!   new variant, [`RenewalEvent::Loaded`], reports the first certificate
//!   of a task that started without one (the manager's); match with `..`.
//!   [`RenewalState::serving`] is new.
//! - [`Config::challenges`] is backed by the configuration's storage:
//!   [`ChallengeHandler`] looks tokens it does not have up there.
//!   [`Challenges::len`] counts TLS-ALPN-01 answers too.
//! - Wildcard names are accepted when DNS-01 is a configured challenge
//!   type; [`Error::Dns`] reports a failing [`DnsProvider`].
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
//! `examples/letsencrypt.rs` is a server to deploy: HTTPS with a
//! [`CertManager`] for the names on its command line, the challenge types
//! from `--challenge`, the store reused across restarts, renewals in the
//! background and every event logged. `cargo run -p paf-examples
//! --features le --example letsencrypt -- --help` lists its options.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod account;
mod acme_client;
mod ari;
mod backoff;
mod bundle;
mod certificate;
mod challenge;
mod config;
mod error;
mod keys;
mod layout;
mod manager;
mod nonce;
mod obtain;
mod provision;
mod renew;
mod resolver;
mod storage;
mod sync;
mod x509;

pub use account::stored_account_id;
pub use acme_client::AcmeHttpClient;
pub use backoff::Backoff;
pub use certificate::Certificate;
pub use challenge::{
    txt_record_name, ChallengeHandler, ChallengeType, Challenges, DnsProvider, NotFound,
    ACME_TLS_ALPN, CHALLENGE_PATH_PREFIX,
};
pub use config::{
    AccountKey, CertificateKey, Config, ConfigBuilder, Directory, ExternalAccount, MIN_SEED_LEN,
};
pub use error::{Corruption, Error, Problem, Result};
pub use manager::{CertManager, CertManagerBuilder};
pub use obtain::{obtain, obtain_with_challenge_server, stored_certificate, Obtained, Origin};
pub use provision::{provision_certificate, provision_with_challenge_server};
pub use renew::{
    Clock, ManualClock, Renewal, RenewalEvent, RenewalHandle, RenewalState, SystemClock,
    DEFAULT_RENEW_FRACTION,
};
pub use resolver::CertResolver;
#[cfg(feature = "redis")]
pub use storage::RedisStorage;
pub use storage::{
    check_key, DecryptionError, EncryptedStorage, FileStorage, Lease, LockGuard, MemoryStorage,
    Storage, StorageError,
};
