//! What to ask the CA for and how: the names, the contact, the keys, the
//! directory, where to answer challenges and where to keep the results.
//!
//! It mirrors the OCaml original's `configuration` record, with the ACME
//! directory and the transport to it added (the original passes them to
//! `provision_certificate` apart). A [`Config`] is checked once, when
//! [`ConfigBuilder::build`] makes it, so provisioning fails only for reasons
//! found on the network.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use paf_core::{client::Client, Ctx};
use rustls::pki_types::DnsName;

use crate::{
    challenge::{ChallengeType, Challenges, DnsProvider},
    error::{Error, Result},
    layout::Layout,
    renew::DEFAULT_RENEW_FRACTION,
    storage::{FileStorage, MemoryStorage, Storage},
};

/// The shortest seed [`AccountKey::Seed`] accepts: 128 bits.
pub const MIN_SEED_LEN: usize = 16;

const DEFAULT_POLL_TIMEOUT: Duration = Duration::from_secs(90);
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Long enough for an order at a slow CA: both waits at their default
/// limit, and room for the requests around them.
const DEFAULT_LOCK_LEASE: Duration = Duration::from_secs(600);

/// The ACME directory: which CA to ask.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Directory {
    /// Let's Encrypt's production CA: certificates browsers trust, strict
    /// rate limits.
    LetsEncrypt,
    /// Let's Encrypt's staging CA (the default): the same protocol, generous
    /// limits, certificates nobody trusts. Try here first.
    #[default]
    LetsEncryptStaging,
    /// Any ACME directory (a private CA, pebble in tests). When its HTTPS
    /// certificate is not publicly trusted, add its CA with
    /// [`ConfigBuilder::extra_ca_pem`].
    Url(url::Url),
}

impl Directory {
    /// The directory URL.
    pub fn url(&self) -> &str {
        match self {
            Directory::LetsEncrypt => instant_acme::LetsEncrypt::Production.url(),
            Directory::LetsEncryptStaging => instant_acme::LetsEncrypt::Staging.url(),
            Directory::Url(url) => url.as_str(),
        }
    }
}

/// The ACME account key: it signs every request and identifies the account.
///
/// instant-acme signs with ECDSA P-256 (`ES256`), so every account key is a
/// P-256 key, however it is obtained.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum AccountKey {
    /// A new key, made when an account is created; with a persistence
    /// directory it is stored there and the account reused (the default).
    #[default]
    Generate,
    /// A PEM file holding a P-256 private key (PKCS#8 `PRIVATE KEY` or SEC1
    /// `EC PRIVATE KEY`). The CA finds the account of this key, or makes one.
    File(PathBuf),
    /// Derived from this secret seed (at least [`MIN_SEED_LEN`] bytes) with
    /// HKDF-SHA256: the same seed always gives the same key, hence the same
    /// account, as the original's `account_seed`. Keep the seed as secret as
    /// a key.
    Seed(Vec<u8>),
}

impl fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountKey::Generate => f.write_str("Generate"),
            AccountKey::File(path) => f.debug_tuple("File").field(path).finish(),
            AccountKey::Seed(_) => f.write_str("Seed(<redacted>)"),
        }
    }
}

/// An external account binding (RFC 8555 §7.3.4): the key identifier and
/// HMAC key that a CA requiring one (ZeroSSL, Google Trust Services, many
/// private CAs) hands out, to tie the new ACME account to an account with
/// the CA.
///
/// ```
/// // As CAs show them: a key ID and a base64url HMAC key.
/// let eab = paf_le::ExternalAccount::from_base64url("kid-1", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajV")?;
/// assert_eq!(eab.kid(), "kid-1");
/// # Ok::<(), paf_le::Error>(())
/// ```
#[derive(Clone)]
pub struct ExternalAccount {
    kid: String,
    hmac_key: Vec<u8>,
}

impl fmt::Debug for ExternalAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalAccount")
            .field("kid", &self.kid)
            .field("hmac_key", &"<redacted>")
            .finish()
    }
}

impl ExternalAccount {
    /// A binding of key identifier `kid` with the raw HMAC key bytes.
    pub fn new(kid: impl Into<String>, hmac_key: impl Into<Vec<u8>>) -> Self {
        ExternalAccount {
            kid: kid.into(),
            hmac_key: hmac_key.into(),
        }
    }

    /// A binding whose HMAC key is given base64url-encoded, as CAs show it
    /// (padding optional; the `+/` alphabet is read too).
    ///
    /// Fails with [`Error::Key`] when the text is not base64.
    pub fn from_base64url(kid: impl Into<String>, hmac_key: &str) -> Result<Self> {
        let bytes = base64_decode(hmac_key.trim()).ok_or_else(|| Error::Key {
            what: "external account HMAC key".into(),
            reason: "not base64url text".into(),
        })?;
        Ok(Self::new(kid, bytes))
    }

    /// The key identifier.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub(crate) fn key(&self) -> instant_acme::ExternalAccountKey {
        instant_acme::ExternalAccountKey::new(self.kid.clone(), &self.hmac_key)
    }
}

/// Base64 in either alphabet, padded or not; `None` for anything else.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    if text.is_empty() || text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The certificate's key: a fresh one of a type for each certificate, or
/// one the user brings.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum CertificateKey {
    /// A new ECDSA P-256 key for every certificate (the default).
    #[default]
    EcdsaP256,
    /// A new 2048-bit RSA key. Not supported: ring, paf's only crypto
    /// provider, cannot generate RSA keys, so [`ConfigBuilder::build`]
    /// answers [`Error::Unsupported`]. Generate the key elsewhere and pass
    /// it with [`CertificateKey::Pem`].
    Rsa2048,
    /// A new 4096-bit RSA key. Not supported, as [`CertificateKey::Rsa2048`].
    Rsa4096,
    /// This PKCS#8 PEM private key (`PRIVATE KEY`): ECDSA P-256 or P-384,
    /// Ed25519, or RSA. It is used for every certificate.
    Pem(String),
}

impl fmt::Debug for CertificateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertificateKey::EcdsaP256 => f.write_str("EcdsaP256"),
            CertificateKey::Rsa2048 => f.write_str("Rsa2048"),
            CertificateKey::Rsa4096 => f.write_str("Rsa4096"),
            CertificateKey::Pem(_) => f.write_str("Pem(<redacted>)"),
        }
    }
}

/// One name the certificate is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Name {
    Dns(String),
    Ip(IpAddr),
}

impl Name {
    /// A host name, a wildcard (`*.example.org`) or an IP address; whether
    /// a wildcard can be validated is checked against the challenge types
    /// by [`parse_names`].
    pub(crate) fn parse(name: &str) -> Result<Name> {
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Ok(Name::Ip(ip));
        }
        let (wildcard, base) = match name.strip_prefix("*.") {
            Some(base) => (true, base),
            None => (false, name),
        };
        let dns = DnsName::try_from(base)
            .map_err(|_| Error::config(format!("{name:?} is not a valid host name")))?;
        let dns = dns.as_ref().trim_end_matches('.').to_ascii_lowercase();
        if !dns.contains('.') && (wildcard || dns != "localhost") {
            // A CA only issues for names under a public suffix, and pebble
            // for anything with a dot; a bare label is almost surely a typo.
            return Err(Error::config(format!(
                "{name:?} is not a fully qualified host name"
            )));
        }
        if dns.contains('*') {
            return Err(Error::config(format!(
                "{name:?}: a wildcard can only be the whole first label (*.example.org)"
            )));
        }
        Ok(Name::Dns(if wildcard { format!("*.{dns}") } else { dns }))
    }

    pub(crate) fn is_wildcard(&self) -> bool {
        matches!(self, Name::Dns(name) if name.starts_with("*."))
    }

    pub(crate) fn identifier(&self) -> instant_acme::Identifier {
        match self {
            Name::Dns(name) => instant_acme::Identifier::Dns(name.clone()),
            Name::Ip(ip) => instant_acme::Identifier::Ip(*ip),
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Name::Dns(name) => f.write_str(name),
            Name::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// A checked configuration: build one with [`Config::builder`].
///
/// Cheap to clone; clones share the challenge store and the HTTP client.
///
/// Provisioning agrees to the CA's terms of service on the account holder's
/// behalf, as the OCaml original does: read them (Let's Encrypt's are linked
/// from its directory) before using a real CA.
#[derive(Clone)]
pub struct Config {
    pub(crate) names: Vec<Name>,
    pub(crate) contact: Option<String>,
    pub(crate) account_key: AccountKey,
    pub(crate) external_account: Option<ExternalAccount>,
    pub(crate) certificate_key: CertificateKey,
    pub(crate) directory: Directory,
    pub(crate) http: Arc<dyn Client>,
    pub(crate) challenge_addr: SocketAddr,
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) layout: Layout,
    pub(crate) challenges: Challenges,
    pub(crate) challenge_types: Vec<ChallengeType>,
    pub(crate) dns_provider: Option<Arc<dyn DnsProvider>>,
    pub(crate) dns_propagation_delay: Duration,
    pub(crate) poll_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) renew_fraction: f64,
    pub(crate) lock_lease: Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("hostnames", &self.hostnames())
            .field("contact", &self.contact)
            .field("account_key", &self.account_key)
            .field("external_account", &self.external_account)
            .field("certificate_key", &self.certificate_key)
            .field("directory", &self.directory.url())
            .field("http", &self.http.backend())
            .field("challenge_addr", &self.challenge_addr)
            .field("storage", &self.storage)
            .field("challenge_types", &self.challenge_types)
            .field("dns_provider", &self.dns_provider)
            .field("poll_timeout", &self.poll_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("renew_fraction", &self.renew_fraction)
            .field("lock_lease", &self.lock_lease)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// A builder with the defaults: Let's Encrypt staging, a generated
    /// account key, an ECDSA P-256 certificate key, HTTP-01 challenges
    /// answered on `0.0.0.0:80`, kept in memory only ([`MemoryStorage`]).
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// The names the certificate is for, in the order given (lowercase).
    pub fn hostnames(&self) -> Vec<String> {
        self.names.iter().map(ToString::to_string).collect()
    }

    /// The contact URL given to the CA (`mailto:…`), if any.
    pub fn contact(&self) -> Option<&str> {
        self.contact.as_deref()
    }

    /// The ACME directory.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// The store provisioning writes challenge answers to, backed by the
    /// configuration's storage; serve it with
    /// [`ChallengeHandler`](crate::ChallengeHandler) (HTTP-01) and from the
    /// HTTPS resolver (TLS-ALPN-01).
    pub fn challenges(&self) -> &Challenges {
        &self.challenges
    }

    /// The challenge types tried, in order of preference (see
    /// [`ConfigBuilder::challenge_types`]).
    pub fn challenge_types(&self) -> &[ChallengeType] {
        &self.challenge_types
    }

    /// This configuration for another set of names: the same CA, account,
    /// storage, challenges and settings, the storage keys of those names.
    ///
    /// Fails with [`Error::Config`] as [`ConfigBuilder::build`] does for
    /// names it refuses.
    pub fn for_names<I, S>(&self, names: I) -> Result<Config>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let names: Vec<String> = names.into_iter().map(|n| n.as_ref().to_string()).collect();
        let names = parse_names(&names, &self.challenge_types)?;
        let mut config = self.clone();
        config.layout = Layout::new(self.directory.url(), &names);
        config.names = names;
        Ok(config)
    }

    /// Where [`provision_with_challenge_server`](crate::provision_with_challenge_server)
    /// listens.
    pub fn challenge_addr(&self) -> SocketAddr {
        self.challenge_addr
    }

    /// Where accounts, certificates and locks are kept: the
    /// [`FileStorage`] of [`ConfigBuilder::storage_dir`], the backend of
    /// [`ConfigBuilder::storage`], or a [`MemoryStorage`] shared by this
    /// configuration's clones.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// The storage key of the ACME account's credentials
    /// (`accounts/<ca>/account.json`).
    pub fn account_storage_key(&self) -> &str {
        &self.layout.account
    }

    /// The storage key of the certificate bundle, the chain and its key in
    /// one PEM text (`certificates/<ca>/<name>/bundle.pem`).
    pub fn certificate_storage_key(&self) -> &str {
        &self.layout.bundle
    }

    /// The fraction of a certificate's lifetime after which it is renewed
    /// (see [`ConfigBuilder::renew_after`]).
    pub fn renew_fraction(&self) -> f64 {
        self.renew_fraction
    }
}

/// Builds a [`Config`]; [`build`](ConfigBuilder::build) checks it.
pub struct ConfigBuilder {
    hostnames: Vec<String>,
    contact: Option<String>,
    account_key: AccountKey,
    external_account: Option<ExternalAccount>,
    certificate_key: CertificateKey,
    directory: Directory,
    extra_ca_pem: Vec<u8>,
    ctx: Option<Ctx>,
    http: Option<Arc<dyn Client>>,
    challenge_addr: SocketAddr,
    storage: Option<Arc<dyn Storage>>,
    challenges: Option<Challenges>,
    challenge_types: Vec<ChallengeType>,
    dns_provider: Option<Arc<dyn DnsProvider>>,
    dns_propagation_delay: Duration,
    poll_timeout: Duration,
    request_timeout: Duration,
    renew_fraction: f64,
    lock_lease: Duration,
}

impl Default for ConfigBuilder {
    fn default() -> Self {
        ConfigBuilder {
            hostnames: Vec::new(),
            contact: None,
            account_key: AccountKey::default(),
            external_account: None,
            certificate_key: CertificateKey::default(),
            directory: Directory::default(),
            extra_ca_pem: Vec::new(),
            ctx: None,
            http: None,
            challenge_addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 80),
            storage: None,
            challenges: None,
            challenge_types: vec![ChallengeType::Http01],
            dns_provider: None,
            dns_propagation_delay: Duration::ZERO,
            poll_timeout: DEFAULT_POLL_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            renew_fraction: DEFAULT_RENEW_FRACTION,
            lock_lease: DEFAULT_LOCK_LEASE,
        }
    }
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field("hostnames", &self.hostnames)
            .field("contact", &self.contact)
            .field("account_key", &self.account_key)
            .field("certificate_key", &self.certificate_key)
            .field("directory", &self.directory)
            .field("challenge_addr", &self.challenge_addr)
            .field("storage", &self.storage)
            .field("challenge_types", &self.challenge_types)
            .finish_non_exhaustive()
    }
}

impl ConfigBuilder {
    /// Adds a name to the certificate: a host name (`example.org`), a
    /// wildcard (`*.example.org`, which only DNS-01 can validate: see
    /// [`challenge_types`](ConfigBuilder::challenge_types)) or an IP
    /// address, if the CA issues for those.
    pub fn hostname(mut self, name: impl Into<String>) -> Self {
        self.hostnames.push(name.into());
        self
    }

    /// Adds several names, as [`hostname`](ConfigBuilder::hostname).
    pub fn hostnames<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.hostnames.extend(names.into_iter().map(Into::into));
        self
    }

    /// The e-mail address the CA may write to about the account (expiry
    /// warnings, incidents). Optional.
    pub fn contact_email(mut self, email: impl Into<String>) -> Self {
        self.contact = Some(email.into());
        self
    }

    /// How the account key is obtained (default [`AccountKey::Generate`]).
    pub fn account_key(mut self, key: AccountKey) -> Self {
        self.account_key = key;
        self
    }

    /// Binds the new account to an account with the CA, for CAs that
    /// require it (they answer `externalAccountRequired` without). Only
    /// with [`AccountKey::Generate`]: instant-acme binds the key it
    /// generates, so [`build`](ConfigBuilder::build) refuses another
    /// account key with [`Error::Unsupported`].
    pub fn external_account(mut self, binding: ExternalAccount) -> Self {
        self.external_account = Some(binding);
        self
    }

    /// The certificate's key (default [`CertificateKey::EcdsaP256`]).
    pub fn certificate_key(mut self, key: CertificateKey) -> Self {
        self.certificate_key = key;
        self
    }

    /// The ACME directory (default [`Directory::LetsEncryptStaging`]).
    pub fn directory(mut self, directory: Directory) -> Self {
        self.directory = directory;
        self
    }

    /// Trusts the CA certificates of this PEM text for the connections to the
    /// ACME server, beside Mozilla's roots: for a private CA or pebble.
    pub fn extra_ca_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.extra_ca_pem.extend_from_slice(pem.as_ref());
        self.extra_ca_pem.push(b'\n');
        self
    }

    /// The transport context for ACME requests (routes, a proxy transport,
    /// TLS settings), as the original passes its Mimic context. The
    /// directory's URL fills in the rest per request.
    pub fn ctx(mut self, ctx: Ctx) -> Self {
        self.ctx = Some(ctx);
        self
    }

    /// Sends ACME requests with this paf client (any backend) instead of a
    /// [`paf_hyper::Client`] built from [`ctx`](ConfigBuilder::ctx) and
    /// [`extra_ca_pem`](ConfigBuilder::extra_ca_pem); those two must then be
    /// left unset, as the client has its own context.
    pub fn http_client(mut self, client: Arc<dyn Client>) -> Self {
        self.http = Some(client);
        self
    }

    /// Where [`provision_with_challenge_server`](crate::provision_with_challenge_server)
    /// answers HTTP-01 challenges (default `0.0.0.0:80`: the CA always
    /// connects to port 80 of the name; another port is only for test CAs
    /// configured to use it, or behind a port forward).
    pub fn challenge_addr(mut self, addr: SocketAddr) -> Self {
        self.challenge_addr = addr;
        self
    }

    /// Keeps the account credentials and the certificate bundle in this
    /// directory ([`FileStorage`], created mode 0700 if missing): what is
    /// found there is reused, and processes sharing it take turns.
    pub fn storage_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.storage = Some(Arc::new(FileStorage::new(dir.as_ref())));
        self
    }

    /// Keeps accounts, certificates and locks in this backend (replaces
    /// [`storage_dir`](ConfigBuilder::storage_dir)).
    pub fn storage(mut self, storage: Arc<dyn Storage>) -> Self {
        self.storage = Some(storage);
        self
    }

    /// Renews a certificate once this fraction (0 to 1) of its lifetime
    /// has passed (default [`DEFAULT_RENEW_FRACTION`], two thirds):
    /// [`obtain`](crate::obtain) orders anew rather than serve a stored
    /// certificate past that point, and [`Renewal`](crate::Renewal)
    /// schedules by it.
    pub fn renew_after(mut self, fraction: f64) -> Self {
        self.renew_fraction = fraction;
        self
    }

    /// How long the storage lock of the certificate is leased while it is
    /// ordered (default 10 minutes). An order that takes longer is
    /// abandoned, so that the lease is never outlived; a process that
    /// dies while ordering keeps the others waiting at most this long.
    /// It must exceed twice the [`poll_timeout`](ConfigBuilder::poll_timeout).
    pub fn lock_lease(mut self, lease: Duration) -> Self {
        self.lock_lease = lease;
        self
    }

    /// The challenge types to prove control of the names with, in order of
    /// preference (default `[Http01]`).
    ///
    /// For each name the first type the CA offers and that can validate it
    /// is used (only [`Dns01`](ChallengeType::Dns01) validates wildcards;
    /// [`TlsAlpn01`](ChallengeType::TlsAlpn01) no IP address). When the CA
    /// fails a name's challenge of one type, the order is placed again
    /// without that type, as long as another remains: `[TlsAlpn01, Http01]`
    /// falls back to HTTP-01 when port 443 is not reachable.
    /// [`Dns01`](ChallengeType::Dns01) needs a
    /// [`dns_provider`](ConfigBuilder::dns_provider).
    pub fn challenge_types(mut self, types: impl IntoIterator<Item = ChallengeType>) -> Self {
        self.challenge_types = Vec::new();
        for kind in types {
            if !self.challenge_types.contains(&kind) {
                self.challenge_types.push(kind);
            }
        }
        self
    }

    /// Sets and removes DNS-01 TXT records through this provider.
    pub fn dns_provider(mut self, provider: Arc<dyn DnsProvider>) -> Self {
        self.dns_provider = Some(provider);
        self
    }

    /// Waits this long after the DNS provider set the TXT records before
    /// telling the CA to look (default none: the provider returns once
    /// they are served). DNS hosts whose changes take time to reach their
    /// servers want a minute or two.
    pub fn dns_propagation_delay(mut self, delay: Duration) -> Self {
        self.dns_propagation_delay = delay;
        self
    }

    /// Writes challenge answers to this store, to share it with a server
    /// already running (by default each config has its own).
    pub fn challenges(mut self, challenges: Challenges) -> Self {
        self.challenges = Some(challenges);
        self
    }

    /// How long to wait for the CA to validate the challenges, and again for
    /// it to issue the certificate (default 90 s each).
    pub fn poll_timeout(mut self, timeout: Duration) -> Self {
        self.poll_timeout = timeout;
        self
    }

    /// How long one ACME request may take, connecting and reading the
    /// answer included (default 30 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Checks the configuration and builds the HTTP client.
    ///
    /// Fails with [`Error::Config`] for no name, a malformed name, a
    /// wildcard without DNS-01, no challenge type, DNS-01 without a
    /// provider, a malformed e-mail address, a seed shorter than
    /// [`MIN_SEED_LEN`], or an HTTP client given together with a context or
    /// extra CA; with [`Error::Unsupported`] for RSA key generation; with
    /// [`Error::Paf`] for an extra CA PEM that does not parse.
    pub fn build(self) -> Result<Config> {
        if self.hostnames.is_empty() {
            return Err(Error::config("no hostname to get a certificate for"));
        }
        self.build_settings()
    }

    /// [`build`](ConfigBuilder::build) without names, for the certificate
    /// manager, which has a configuration per certificate
    /// ([`Config::for_names`]).
    pub(crate) fn build_settings(self) -> Result<Config> {
        if self.challenge_types.is_empty() {
            return Err(Error::config(
                "no challenge type to validate the names with",
            ));
        }
        if self.challenge_types.contains(&ChallengeType::Dns01) && self.dns_provider.is_none() {
            return Err(Error::config(
                "dns-01 is a configured challenge type, but no DNS provider sets the TXT \
                 records (ConfigBuilder::dns_provider)",
            ));
        }
        let names = parse_names(&self.hostnames, &self.challenge_types)?;
        let contact = self.contact.as_deref().map(mailto).transpose()?;
        if let AccountKey::Seed(seed) = &self.account_key {
            if seed.len() < MIN_SEED_LEN {
                return Err(Error::config(format!(
                    "the account key seed has {} bytes, at least {MIN_SEED_LEN} are needed",
                    seed.len()
                )));
            }
        }
        if self.external_account.is_some() && !matches!(self.account_key, AccountKey::Generate) {
            return Err(Error::Unsupported {
                what: "an external account binding with a given account key: instant-acme \
                       binds only a key it generates; use AccountKey::Generate (the account \
                       is stored and reused all the same)"
                    .into(),
            });
        }
        if let CertificateKey::Rsa2048 | CertificateKey::Rsa4096 = self.certificate_key {
            return Err(Error::Unsupported {
                what: "generating RSA certificate keys: ring, paf's crypto provider, cannot \
                       generate RSA keys; make one elsewhere (e.g. `openssl genpkey -algorithm RSA`) \
                       and pass it as CertificateKey::Pem, or use CertificateKey::EcdsaP256"
                    .into(),
            });
        }
        if self.lock_lease <= self.poll_timeout * 2 {
            return Err(Error::config(format!(
                "the lock lease ({:?}) must exceed twice the poll timeout ({:?}): \
                 an order waits up to that long",
                self.lock_lease, self.poll_timeout
            )));
        }
        let http = match self.http {
            Some(client) => {
                if self.ctx.is_some() || !self.extra_ca_pem.is_empty() {
                    return Err(Error::config(
                        "an HTTP client was given together with a context or extra CA \
                         certificates: put those in the client's own context",
                    ));
                }
                client
            }
            None => {
                let mut ctx = self.ctx.unwrap_or_default();
                if !self.extra_ca_pem.is_empty() {
                    ctx = ctx.with_ca_pem(&self.extra_ca_pem)?;
                }
                let client = paf_hyper::Client::builder()
                    .ctx(ctx)
                    .connect_timeout(DEFAULT_CONNECT_TIMEOUT)
                    .build();
                Arc::new(client)
            }
        };
        let layout = Layout::new(self.directory.url(), &names);
        let storage = self
            .storage
            .unwrap_or_else(|| Arc::new(MemoryStorage::new()));
        // Answers go through the storage too, so that instances sharing
        // it answer for each other.
        let challenges = self
            .challenges
            .unwrap_or_default()
            .with_storage(storage.clone());
        Ok(Config {
            layout,
            names,
            contact,
            account_key: self.account_key,
            external_account: self.external_account,
            certificate_key: self.certificate_key,
            directory: self.directory,
            http,
            challenge_addr: self.challenge_addr,
            storage,
            challenges,
            challenge_types: self.challenge_types,
            dns_provider: self.dns_provider,
            dns_propagation_delay: self.dns_propagation_delay,
            poll_timeout: self.poll_timeout,
            request_timeout: self.request_timeout,
            renew_fraction: self.renew_fraction,
            lock_lease: self.lock_lease,
        })
    }
}

/// The names of one certificate, checked, lowercased, without repeats; a
/// wildcard only when DNS-01 can validate it.
pub(crate) fn parse_names(hostnames: &[String], types: &[ChallengeType]) -> Result<Vec<Name>> {
    let mut names: Vec<Name> = Vec::with_capacity(hostnames.len());
    for text in hostnames {
        let name = Name::parse(text)?;
        if name.is_wildcard() && !types.contains(&ChallengeType::Dns01) {
            return Err(Error::config(format!(
                "{text:?} is a wildcard name: only DNS-01 can validate wildcards, and the \
                 challenge types are {}",
                types
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

/// `someone@example.org` (or `mailto:someone@example.org`) as the contact
/// URL ACME wants.
fn mailto(email: &str) -> Result<String> {
    let address = email.strip_prefix("mailto:").unwrap_or(email);
    let valid = address
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | '<' | '>'));
    if !valid {
        return Err(Error::config(format!("{email:?} is not an e-mail address")));
    }
    Ok(format!("mailto:{address}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_lowercased_and_deduplicated() {
        let config = Config::builder()
            .hostnames(["Example.ORG", "www.example.org", "example.org", "192.0.2.1"])
            .build()
            .unwrap();
        assert_eq!(
            config.hostnames(),
            ["example.org", "www.example.org", "192.0.2.1"]
        );
    }

    #[test]
    fn no_name_wildcards_and_garbage_are_config_errors() {
        assert!(Config::builder().build().unwrap_err().is_config());
        for bad in ["*.example.org", "exa mple.org", "intranet", ""] {
            let err = Config::builder().hostname(bad).build().unwrap_err();
            assert!(err.is_config(), "{bad:?}: {err}");
        }
    }

    #[test]
    fn contact_becomes_a_mailto_url() {
        let config = Config::builder()
            .hostname("example.org")
            .contact_email("ops@example.org")
            .build()
            .unwrap();
        assert_eq!(config.contact(), Some("mailto:ops@example.org"));
        for bad in ["ops", "ops@localhost", "a b@example.org", "@example.org"] {
            let err = Config::builder()
                .hostname("example.org")
                .contact_email(bad)
                .build()
                .unwrap_err();
            assert!(err.is_config(), "{bad:?}");
        }
    }

    #[test]
    fn rsa_key_generation_is_reported_unsupported() {
        for key in [CertificateKey::Rsa2048, CertificateKey::Rsa4096] {
            let err = Config::builder()
                .hostname("example.org")
                .certificate_key(key)
                .build()
                .unwrap_err();
            assert!(err.is_unsupported(), "{err}");
            assert!(err.to_string().contains("CertificateKey::Pem"));
        }
    }

    #[test]
    fn short_seed_is_refused_and_seeds_are_not_printed() {
        let err = Config::builder()
            .hostname("example.org")
            .account_key(AccountKey::Seed(b"short".to_vec()))
            .build()
            .unwrap_err();
        assert!(err.is_config());
        let key = AccountKey::Seed(b"a secret seed of enough length".to_vec());
        assert_eq!(format!("{key:?}"), "Seed(<redacted>)");
    }

    #[test]
    fn a_client_excludes_a_context() {
        let err = Config::builder()
            .hostname("example.org")
            .http_client(Arc::new(paf_hyper::Client::new()))
            .ctx(Ctx::new())
            .build()
            .unwrap_err();
        assert!(err.is_config());
    }

    #[test]
    fn external_account_keys_are_read_as_base64_and_need_a_generated_account_key() {
        assert_eq!(
            base64_decode("aGVsbG8").as_deref(),
            Some(b"hello".as_slice())
        );
        assert_eq!(
            base64_decode("aGVsbG8=").as_deref(),
            Some(b"hello".as_slice())
        );
        assert_eq!(
            base64_decode("-_8").as_deref(),
            Some([0xfb, 0xff].as_slice())
        );
        assert_eq!(
            base64_decode("+/8").as_deref(),
            Some([0xfb, 0xff].as_slice())
        );
        for bad in ["", "a", "a*bc", "abcde"] {
            assert_eq!(base64_decode(bad), None, "{bad:?}");
        }
        let eab = ExternalAccount::from_base64url("kid-1", "aGVsbG8").unwrap();
        assert_eq!(
            format!("{eab:?}"),
            r#"ExternalAccount { kid: "kid-1", hmac_key: "<redacted>" }"#
        );
        assert!(ExternalAccount::from_base64url("kid-1", "not base64!").is_err());
        let err = Config::builder()
            .hostname("example.org")
            .external_account(eab.clone())
            .account_key(AccountKey::Seed(
                b"a seed of sixteen bytes or more".to_vec(),
            ))
            .build()
            .unwrap_err();
        assert!(err.is_unsupported(), "{err}");
        Config::builder()
            .hostname("example.org")
            .external_account(eab)
            .build()
            .unwrap();
    }

    #[test]
    fn a_lock_lease_shorter_than_an_order_is_refused() {
        let err = Config::builder()
            .hostname("example.org")
            .poll_timeout(Duration::from_secs(60))
            .lock_lease(Duration::from_secs(120))
            .build()
            .unwrap_err();
        assert!(
            err.is_config() && err.to_string().contains("lock lease"),
            "{err}"
        );
        Config::builder()
            .hostname("example.org")
            .poll_timeout(Duration::from_secs(60))
            .lock_lease(Duration::from_secs(121))
            .build()
            .unwrap();
    }

    #[derive(Debug)]
    struct NoDns;

    impl DnsProvider for NoDns {
        fn set_txt<'a>(
            &'a self,
            _: &'a str,
            _: &'a str,
        ) -> paf_core::BoxFuture<'a, Result<(), paf_core::BoxError>> {
            Box::pin(async { Ok(()) })
        }

        fn clear_txt<'a>(
            &'a self,
            _: &'a str,
            _: &'a str,
        ) -> paf_core::BoxFuture<'a, Result<(), paf_core::BoxError>> {
            Box::pin(async { Ok(()) })
        }
    }

    #[test]
    fn wildcards_need_dns_01_and_dns_01_needs_a_provider() {
        let err = Config::builder()
            .hostname("*.example.org")
            .challenge_types([ChallengeType::TlsAlpn01, ChallengeType::Http01])
            .build()
            .unwrap_err();
        assert!(
            err.is_config() && err.to_string().contains("DNS-01"),
            "{err}"
        );
        let err = Config::builder()
            .hostname("example.org")
            .challenge_types([ChallengeType::Dns01])
            .build()
            .unwrap_err();
        assert!(
            err.is_config() && err.to_string().contains("DNS provider"),
            "{err}"
        );
        let err = Config::builder()
            .hostname("example.org")
            .challenge_types([])
            .build()
            .unwrap_err();
        assert!(err.is_config(), "{err}");

        let config = Config::builder()
            .hostnames(["*.Example.org", "example.org", "*.example.org"])
            .challenge_types([ChallengeType::Dns01, ChallengeType::Dns01])
            .dns_provider(Arc::new(NoDns))
            .build()
            .unwrap();
        assert_eq!(config.hostnames(), ["*.example.org", "example.org"]);
        assert_eq!(config.challenge_types(), [ChallengeType::Dns01]);
        for bad in ["*.org", "a.*.example.org", "**.example.org", "*example.org"] {
            let err = config.for_names([bad]).unwrap_err();
            assert!(err.is_config(), "{bad:?}");
        }
        let other = config.for_names(["b.example.org"]).unwrap();
        assert_eq!(other.hostnames(), ["b.example.org"]);
        assert_ne!(
            other.certificate_storage_key(),
            config.certificate_storage_key()
        );
        assert_eq!(other.account_storage_key(), config.account_storage_key());
    }

    #[test]
    fn defaults_are_staging_and_port_80() {
        let config = Config::builder().hostname("example.org").build().unwrap();
        assert_eq!(config.directory(), &Directory::LetsEncryptStaging);
        assert!(config.directory().url().contains("staging"));
        assert_eq!(config.challenge_addr().port(), 80);
        assert!(format!("{:?}", config.storage()).starts_with("MemoryStorage"));
        assert_eq!(config.renew_fraction(), DEFAULT_RENEW_FRACTION);
        assert_eq!(config.challenge_types(), [ChallengeType::Http01]);
        assert!(
            config.challenges().storage().is_some(),
            "answers go through the storage"
        );
    }
}
