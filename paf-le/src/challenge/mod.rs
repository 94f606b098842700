//! The challenges: how the CA is shown that this program controls a name,
//! and the live answers while an order is in progress.
//!
//! Three ways (RFC 8555 §8, RFC 8737), picked per authorization from the
//! configured [`ChallengeType`]s: an HTTP answer on port 80 (HTTP-01,
//! [`ChallengeHandler`]), a special certificate on the HTTPS port
//! (TLS-ALPN-01, answered by the certificate resolvers), or a TXT record
//! (DNS-01, through the user's [`DnsProvider`]). HTTP-01 and TLS-ALPN-01
//! answers are kept in [`Challenges`]: in the process, and in the
//! [`Storage`] when one is attached, so that another instance sharing the
//! storage answers the CA when the CA reaches it instead.

mod dns;
mod http;
mod tls_alpn;

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

use rustls::sign::CertifiedKey;
use tracing::{debug, warn};

pub use dns::{txt_record_name, DnsProvider};
pub use http::{ChallengeHandler, NotFound, CHALLENGE_PATH_PREFIX};
pub use tls_alpn::ACME_TLS_ALPN;
pub(crate) use tls_alpn::{challenge_certificate, offers_only_acme_tls};

use crate::{
    error::{Error, Result},
    storage::{check_key, Storage},
    sync::{lock, read, write},
};

/// A way of proving control of a name to the CA.
///
/// [`ConfigBuilder::challenge_types`](crate::ConfigBuilder::challenge_types)
/// lists the ones to use in order of preference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChallengeType {
    /// HTTP-01: the CA fetches
    /// `http://<name>/.well-known/acme-challenge/<token>` on port 80;
    /// serve [`Config::challenges`](crate::Config::challenges) there with a
    /// [`ChallengeHandler`]. Not for wildcard names.
    Http01,
    /// TLS-ALPN-01 (RFC 8737): the CA opens a TLS connection to port 443
    /// of the name offering only the ALPN protocol `acme-tls/1`, and wants
    /// a certificate made for the challenge. The HTTPS server's resolver
    /// answers it ([`CertManager`](crate::CertManager), or a
    /// [`CertResolver`](crate::CertResolver) given the challenges); its
    /// configuration must list `acme-tls/1` among its ALPN protocols. Not
    /// for wildcard names, nor IP addresses.
    TlsAlpn01,
    /// DNS-01: the CA looks up the TXT record
    /// `_acme-challenge.<name>`, set and removed through the configured
    /// [`DnsProvider`]. The only type that can validate wildcard names
    /// (`*.example.org`).
    Dns01,
}

impl ChallengeType {
    /// The name ACME gives it (`http-01`, `tls-alpn-01`, `dns-01`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeType::Http01 => "http-01",
            ChallengeType::TlsAlpn01 => "tls-alpn-01",
            ChallengeType::Dns01 => "dns-01",
        }
    }

    pub(crate) fn acme(self) -> instant_acme::ChallengeType {
        match self {
            ChallengeType::Http01 => instant_acme::ChallengeType::Http01,
            ChallengeType::TlsAlpn01 => instant_acme::ChallengeType::TlsAlpn01,
            ChallengeType::Dns01 => instant_acme::ChallengeType::Dns01,
        }
    }

    pub(crate) fn from_acme(kind: &instant_acme::ChallengeType) -> Option<ChallengeType> {
        match kind {
            instant_acme::ChallengeType::Http01 => Some(ChallengeType::Http01),
            instant_acme::ChallengeType::TlsAlpn01 => Some(ChallengeType::TlsAlpn01),
            instant_acme::ChallengeType::Dns01 => Some(ChallengeType::Dns01),
            _ => None,
        }
    }
}

impl fmt::Display for ChallengeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ChallengeType {
    type Err = Error;

    /// `http-01`, `tls-alpn-01` or `dns-01`.
    fn from_str(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "http-01" => Ok(ChallengeType::Http01),
            "tls-alpn-01" => Ok(ChallengeType::TlsAlpn01),
            "dns-01" => Ok(ChallengeType::Dns01),
            other => Err(Error::config(format!(
                "{other:?} is not a challenge type (http-01, tls-alpn-01, dns-01)"
            ))),
        }
    }
}

/// How long one look into the storage for a TLS-ALPN-01 answer may hold a
/// handshake up: the CA's validation connection waits meanwhile, no one
/// else.
const STORAGE_LOOKUP_LIMIT: Duration = Duration::from_secs(2);
/// How long an answer fetched in the background (a runtime that cannot
/// block, see [`Challenges::tls_alpn_answer`]) is served without a new look.
const REMOTE_ANSWER_TTL: Duration = Duration::from_secs(10);

/// The live challenge answers of the orders in progress: HTTP-01 key
/// authorizations by token, TLS-ALPN-01 certificates by name.
///
/// Cheap to clone: clones share the answers. With a storage attached
/// ([`with_storage`](Challenges::with_storage); a [`Config`](crate::Config)
/// attaches its own), each answer is also written to the storage under
/// `challenges/http-01/<token>` or `challenges/tls-alpn-01/<name>`, and an
/// answer not found in the process is looked up there: an instance that
/// shares the storage answers for the one that ordered.
#[derive(Clone, Default)]
pub struct Challenges {
    answers: Arc<Answers>,
    storage: Option<Arc<dyn Storage>>,
}

#[derive(Default)]
struct Answers {
    http: RwLock<HashMap<String, String>>,
    tls_alpn: RwLock<HashMap<String, AlpnAnswer>>,
    /// TLS-ALPN-01 answers read from the storage, by name.
    remote: Mutex<HashMap<String, RemoteAnswer>>,
}

#[derive(Clone)]
struct AlpnAnswer {
    key_authorization: String,
    certified: Arc<CertifiedKey>,
}

struct RemoteAnswer {
    answer: AlpnAnswer,
    fetched: Instant,
}

impl fmt::Debug for Challenges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenges")
            .field("http_01", &read(&self.answers.http).len())
            .field("tls_alpn_01", &read(&self.answers.tls_alpn).len())
            .field("storage", &self.storage)
            .finish()
    }
}

impl Challenges {
    /// An empty store, in the process only.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same answers (clones share them), also written to and read from
    /// `storage`.
    pub fn with_storage(&self, storage: Arc<dyn Storage>) -> Self {
        Challenges {
            answers: self.answers.clone(),
            storage: Some(storage),
        }
    }

    /// The storage answers go through, if one is attached.
    pub fn storage(&self) -> Option<&Arc<dyn Storage>> {
        self.storage.as_ref()
    }

    /// Answers HTTP-01 `token` with `key_authorization` from now on, in
    /// this process (orders write the storage themselves).
    pub fn insert(&self, token: impl Into<String>, key_authorization: impl Into<String>) {
        write(&self.answers.http).insert(token.into(), key_authorization.into());
    }

    /// Stops answering HTTP-01 `token` in this process.
    pub fn remove(&self, token: &str) {
        write(&self.answers.http).remove(token);
    }

    /// The key authorization served for HTTP-01 `token`, if it is live in
    /// this process.
    pub fn key_authorization(&self, token: &str) -> Option<String> {
        read(&self.answers.http).get(token).cloned()
    }

    /// The key authorization for HTTP-01 `token`: live in this process, or
    /// else in the attached storage.
    pub async fn lookup(&self, token: &str) -> Option<String> {
        if let Some(local) = self.key_authorization(token) {
            return Some(local);
        }
        let storage = self.storage.as_ref()?;
        let key = http_key(token);
        check_key(&key).ok()?;
        match storage.get(&key).await {
            Ok(Some(bytes)) => String::from_utf8(bytes).ok(),
            Ok(None) => None,
            Err(e) => {
                warn!(key, error = %e, "cannot read a challenge answer from the storage");
                None
            }
        }
    }

    /// How many answers are live in this process (HTTP-01 and TLS-ALPN-01).
    pub fn len(&self) -> usize {
        read(&self.answers.http).len() + read(&self.answers.tls_alpn).len()
    }

    /// True when no answer is live in this process.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The TLS-ALPN-01 certificate to answer a handshake for `name`: live
    /// in this process, or, when `ask_storage` is true, in the attached
    /// storage.
    ///
    /// rustls asks for certificates synchronously, and storage is async:
    /// on tokio's multi-threaded runtime the handshake's task waits for
    /// the storage (at most 2 s) with `block_in_place`; elsewhere the
    /// storage is read in the background and the handshake fails, and a
    /// later one (the CA validates from several places, and retries) finds
    /// the answer. Pass `ask_storage` only for names the program manages,
    /// so that strangers cannot make every handshake a storage read.
    pub fn tls_alpn_answer(&self, name: &str, ask_storage: bool) -> Option<Arc<CertifiedKey>> {
        if let Some(answer) = read(&self.answers.tls_alpn).get(name) {
            return Some(answer.certified.clone());
        }
        let storage = match (&self.storage, ask_storage) {
            (Some(storage), true) => storage.clone(),
            _ => return None,
        };
        let key = tls_alpn_key(name);
        check_key(&key).ok()?;
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        if runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            let fetched = tokio::task::block_in_place(|| {
                runtime.block_on(async {
                    tokio::time::timeout(STORAGE_LOOKUP_LIMIT, storage.get(&key)).await
                })
            });
            let key_authorization = match fetched {
                Ok(Ok(Some(bytes))) => String::from_utf8(bytes).ok()?,
                Ok(Ok(None)) => {
                    lock(&self.answers.remote).remove(name);
                    return None;
                }
                Ok(Err(e)) => {
                    warn!(key, error = %e, "cannot read a challenge answer from the storage");
                    return None;
                }
                Err(_) => {
                    warn!(
                        key,
                        "the storage did not answer in time for a TLS-ALPN-01 handshake"
                    );
                    return None;
                }
            };
            return self.remote_answer(name, key_authorization);
        }
        // A runtime that cannot block: serve what a background read found
        // lately, and read again for the next handshake.
        let cached = lock(&self.answers.remote)
            .get(name)
            .filter(|remote| remote.fetched.elapsed() < REMOTE_ANSWER_TTL)
            .map(|remote| remote.answer.certified.clone());
        let this = self.clone();
        let name_owned = name.to_string();
        runtime.spawn(async move {
            match storage.get(&key).await {
                Ok(Some(bytes)) => {
                    if let Ok(key_authorization) = String::from_utf8(bytes) {
                        this.remote_answer(&name_owned, key_authorization);
                    }
                }
                Ok(None) => {
                    lock(&this.answers.remote).remove(&name_owned);
                }
                Err(e) => warn!(key, error = %e, "cannot read a challenge answer from the storage"),
            }
        });
        cached
    }

    /// The certificate for a key authorization read from the storage,
    /// made once per key authorization.
    fn remote_answer(&self, name: &str, key_authorization: String) -> Option<Arc<CertifiedKey>> {
        let mut remote = lock(&self.answers.remote);
        if let Some(known) = remote.get_mut(name) {
            if known.answer.key_authorization == key_authorization {
                known.fetched = Instant::now();
                return Some(known.answer.certified.clone());
            }
        }
        let certified = match challenge_certificate(name, &key_authorization) {
            Ok(certified) => certified,
            Err(e) => {
                warn!(name, error = %e, "cannot make the TLS-ALPN-01 certificate of a stored answer");
                return None;
            }
        };
        remote.insert(
            name.to_string(),
            RemoteAnswer {
                answer: AlpnAnswer {
                    key_authorization,
                    certified: certified.clone(),
                },
                fetched: Instant::now(),
            },
        );
        Some(certified)
    }

    /// A set of answers that are withdrawn together when the order is done.
    pub(crate) fn scope(&self, dns: Option<Arc<dyn DnsProvider>>) -> ChallengeScope {
        ChallengeScope {
            challenges: self.clone(),
            dns,
            http_tokens: Vec::new(),
            alpn_names: Vec::new(),
            txt_records: Vec::new(),
        }
    }
}

fn http_key(token: &str) -> String {
    format!("challenges/http-01/{token}")
}

fn tls_alpn_key(name: &str) -> String {
    format!("challenges/tls-alpn-01/{name}")
}

/// The answers of one order; each is withdrawn when the scope is
/// [withdrawn](ChallengeScope::withdraw) or dropped (an order that fails
/// or is cancelled leaves nothing behind).
pub(crate) struct ChallengeScope {
    challenges: Challenges,
    dns: Option<Arc<dyn DnsProvider>>,
    http_tokens: Vec<String>,
    alpn_names: Vec<String>,
    txt_records: Vec<(String, String)>,
}

impl ChallengeScope {
    /// Answers HTTP-01 `token`, in the process and in the storage.
    pub(crate) async fn publish_http(
        &mut self,
        token: &str,
        key_authorization: &str,
    ) -> Result<()> {
        self.challenges.insert(token, key_authorization);
        self.http_tokens.push(token.to_string());
        self.store(http_key(token), key_authorization).await
    }

    /// Answers TLS-ALPN-01 handshakes for `name`, in the process and in
    /// the storage.
    pub(crate) async fn publish_tls_alpn(
        &mut self,
        name: &str,
        key_authorization: &str,
    ) -> Result<()> {
        let certified = challenge_certificate(name, key_authorization)?;
        write(&self.challenges.answers.tls_alpn).insert(
            name.to_string(),
            AlpnAnswer {
                key_authorization: key_authorization.to_string(),
                certified,
            },
        );
        self.alpn_names.push(name.to_string());
        self.store(tls_alpn_key(name), key_authorization).await
    }

    /// Sets the DNS-01 TXT record of `name` through the DNS provider.
    pub(crate) async fn publish_dns(&mut self, name: &str, value: &str) -> Result<()> {
        let record = txt_record_name(name);
        let Some(dns) = self.dns.clone() else {
            return Err(Error::config(
                "dns-01 was chosen without a DNS provider (ConfigBuilder::dns_provider)",
            ));
        };
        // Recorded first: a provider that failed half-way may have set it.
        self.txt_records.push((record.clone(), value.to_string()));
        dns.set_txt(&record, value)
            .await
            .map_err(|source| Error::Dns {
                action: "set",
                record,
                source,
            })
    }

    async fn store(&self, key: String, value: &str) -> Result<()> {
        let Some(storage) = &self.challenges.storage else {
            return Ok(());
        };
        if let Err(e) = check_key(&key) {
            // A CA's token is base64url, always a valid key; anything
            // else is served from this process only.
            warn!(error = %e, "a challenge answer is kept out of the storage");
            return Ok(());
        }
        storage.put(&key, value.as_bytes().to_vec()).await?;
        Ok(())
    }

    /// Withdraws every answer now, waiting for the storage and the DNS
    /// provider; their failures are logged (the answers are useless once
    /// the order is done).
    pub(crate) async fn withdraw(mut self) {
        let (storage_keys, txt_records) = self.take_local();
        withdraw_remote(
            self.challenges.storage.clone(),
            self.dns.clone(),
            storage_keys,
            txt_records,
        )
        .await;
    }

    /// Removes the answers from the process; what remains to be removed
    /// from the storage and the DNS.
    fn take_local(&mut self) -> (Vec<String>, Vec<(String, String)>) {
        let mut storage_keys = Vec::new();
        {
            let mut http = write(&self.challenges.answers.http);
            for token in self.http_tokens.drain(..) {
                http.remove(&token);
                storage_keys.push(http_key(&token));
            }
        }
        {
            let mut alpn = write(&self.challenges.answers.tls_alpn);
            for name in self.alpn_names.drain(..) {
                alpn.remove(&name);
                storage_keys.push(tls_alpn_key(&name));
            }
        }
        if self.challenges.storage.is_none() {
            storage_keys.clear();
        }
        (storage_keys, std::mem::take(&mut self.txt_records))
    }
}

async fn withdraw_remote(
    storage: Option<Arc<dyn Storage>>,
    dns: Option<Arc<dyn DnsProvider>>,
    storage_keys: Vec<String>,
    txt_records: Vec<(String, String)>,
) {
    if let Some(storage) = storage {
        for key in storage_keys {
            if check_key(&key).is_err() {
                continue;
            }
            if let Err(e) = storage.delete(&key).await {
                warn!(key, error = %e, "cannot remove a challenge answer from the storage");
            }
        }
    }
    if let Some(dns) = dns {
        for (record, value) in txt_records {
            match dns.clear_txt(&record, &value).await {
                Ok(()) => debug!(record, "TXT record removed"),
                Err(e) => warn!(record, error = %e, "cannot remove a DNS-01 TXT record"),
            }
        }
    }
}

impl Drop for ChallengeScope {
    fn drop(&mut self) {
        let (storage_keys, txt_records) = self.take_local();
        if storage_keys.is_empty() && txt_records.is_empty() {
            return;
        }
        // Dropped without `withdraw` (an error path, a cancelled order):
        // clean the shared places up in the background.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            warn!("challenge answers left in the storage or the DNS: no runtime to remove them");
            return;
        };
        runtime.spawn(withdraw_remote(
            self.challenges.storage.clone(),
            self.dns.clone(),
            storage_keys,
            txt_records,
        ));
    }
}

#[cfg(test)]
mod tests;
