//! [`EncryptedStorage`]: every value sealed with a key of the user's before
//! it reaches the storage underneath, so that a shared store (Redis, a
//! network file system, their backups) holds no private key in clear.
//!
//! A sealed value is `MAGIC`, a format version, a random 96-bit nonce and
//! the ChaCha20-Poly1305 ciphertext with its tag. The associated data is
//! the header and the value's key, so a value copied to another key, or
//! to another format version, no longer opens.

use std::{error::Error as _, fmt, io};

use paf_core::BoxFuture;
use ring::{
    aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN},
    rand::{SecureRandom, SystemRandom},
};

use super::{Lease, Storage, StorageError};

/// What every sealed value starts with: tells a sealed value from one
/// written in clear (before encryption was turned on, or by someone else).
const MAGIC: &[u8; 4] = b"pafE";
const VERSION: u8 = 1;
const HEADER_LEN: usize = MAGIC.len() + 1;

/// A [`Storage`] that encrypts every value it writes to the storage `S`
/// and checks and decrypts every value it reads, with a 256-bit key that
/// the user supplies and the storage never sees.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), paf_le::StorageError> {
/// use paf_le::{EncryptedStorage, MemoryStorage, Storage};
///
/// // In practice 32 random bytes (`head -c 32 /dev/urandom`) from a secret
/// // file or manager, the same on every machine that shares the store.
/// let key = [7u8; 32];
/// let shared = MemoryStorage::new();
/// let storage = EncryptedStorage::new(shared.clone(), &key);
/// storage.put("certificates/ca/a/bundle.pem", b"-----BEGIN".to_vec()).await?;
/// assert_eq!(
///     storage.get("certificates/ca/a/bundle.pem").await?.as_deref(),
///     Some(b"-----BEGIN".as_slice())
/// );
/// // The storage underneath holds something else.
/// let sealed = shared.get("certificates/ca/a/bundle.pem").await?.expect("just written");
/// assert!(!sealed.windows(10).any(|w| w == b"-----BEGIN"));
/// # Ok(()) }
/// ```
///
/// # Private keys in a shared store
/// paf-le keeps each certificate's private key, and the ACME account's,
/// in its storage. Putting them in a store that others can read (a Redis
/// server, its replicas and backups, a network file system, the network
/// in between) is a risk the user chooses: whoever reads a key can
/// impersonate the site until the certificate expires or is revoked, or
/// act as the ACME account.
///
/// This wrapper moves that risk to one 32-byte key held only by the
/// processes that run paf-le: the store then holds ciphertext that it
/// cannot read or alter unnoticed (a changed, truncated or moved value is
/// refused with a [`DecryptionError`]). It does not hide which keys exist
/// (the names of the sites served), and it cannot tell an older sealed
/// value of the same key from the current one, so a store that can write
/// may still roll a value back or delete it. Locks pass through
/// unencrypted: they hold only random tokens.
///
/// # Every value, not only the keys
/// Every value is sealed, certificates and challenge answers included:
/// which values hold secrets is a matter of paf-le's layout, which may
/// change, while sealing a few KiB costs microseconds.
///
/// # The key
/// The same key must be given to every process sharing the store; losing
/// it makes every value unreadable (paf-le then fails to read its
/// account and certificates until they are deleted and ordered anew).
/// Values written in clear before the wrapper was put in place are
/// refused ([`DecryptionError::NotSealed`]), not read. Each write draws
/// a random 96-bit nonce: two writes share one with negligible chance up
/// to 2^32 writes under one key, far more than a certificate store makes.
pub struct EncryptedStorage<S> {
    inner: S,
    key: LessSafeKey,
    random: SystemRandom,
}

impl<S: fmt::Debug> fmt::Debug for EncryptedStorage<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedStorage")
            .field("inner", &self.inner)
            .field("algorithm", &"ChaCha20-Poly1305")
            .finish_non_exhaustive()
    }
}

impl<S: Storage> EncryptedStorage<S> {
    /// Seals the values of `inner` with `key`.
    pub fn new(inner: S, key: &[u8; 32]) -> Self {
        let key = UnboundKey::new(&CHACHA20_POLY1305, key)
            .expect("a 32-byte key is what ChaCha20-Poly1305 takes");
        EncryptedStorage {
            inner,
            key: LessSafeKey::new(key),
            random: SystemRandom::new(),
        }
    }

    /// The storage underneath, which holds the sealed values.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The storage underneath, the wrapper gone.
    pub fn into_inner(self) -> S {
        self.inner
    }

    fn seal(&self, key: &str, mut value: Vec<u8>) -> Result<Vec<u8>, StorageError> {
        let failed = |source: io::Error| StorageError::Backend {
            action: "encrypt",
            key: key.to_string(),
            source: Box::new(source),
        };
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| failed(io::Error::other("the system's random generator failed")))?;
        let mut sealed =
            Vec::with_capacity(HEADER_LEN + NONCE_LEN + value.len() + CHACHA20_POLY1305.tag_len());
        sealed.extend_from_slice(MAGIC);
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated_data(key)),
                &mut value,
            )
            .map_err(|_| failed(io::Error::other("the value is too large to encrypt")))?;
        sealed.append(&mut value);
        Ok(sealed)
    }

    fn open(&self, key: &str, mut sealed: Vec<u8>) -> Result<Vec<u8>, DecryptionError> {
        let header = sealed.get(..HEADER_LEN).ok_or(DecryptionError::NotSealed)?;
        if &header[..MAGIC.len()] != MAGIC {
            return Err(DecryptionError::NotSealed);
        }
        let version = header[MAGIC.len()];
        if version != VERSION {
            return Err(DecryptionError::UnknownVersion(version));
        }
        let ciphertext = HEADER_LEN + NONCE_LEN;
        if sealed.len() < ciphertext + CHACHA20_POLY1305.tag_len() {
            return Err(DecryptionError::Truncated);
        }
        let nonce = Nonce::try_assume_unique_for_key(&sealed[HEADER_LEN..ciphertext])
            .map_err(|_| DecryptionError::Truncated)?;
        let len = self
            .key
            .open_within(
                nonce,
                Aad::from(associated_data(key)),
                &mut sealed,
                ciphertext..,
            )
            .map_err(|_| DecryptionError::NotAuthentic)?
            .len();
        sealed.truncate(len);
        Ok(sealed)
    }
}

/// The header and the key: a value opens only at the key, and in the
/// format, it was sealed for.
fn associated_data(key: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(HEADER_LEN + key.len());
    data.extend_from_slice(MAGIC);
    data.push(VERSION);
    data.extend_from_slice(key.as_bytes());
    data
}

impl<S: Storage> Storage for EncryptedStorage<S> {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StorageError>> {
        Box::pin(async move {
            let Some(sealed) = self.inner.get(key).await? else {
                return Ok(None);
            };
            self.open(key, sealed)
                .map(Some)
                .map_err(|e| StorageError::Backend {
                    action: "decrypt",
                    key: key.to_string(),
                    source: Box::new(e),
                })
        })
    }

    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let sealed = self.seal(key, value)?;
            self.inner.put(key, sealed).await
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        self.inner.delete(key)
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StorageError>> {
        self.inner.list(prefix)
    }

    fn try_lock<'a>(
        &'a self,
        name: &'a str,
        lease: std::time::Duration,
    ) -> BoxFuture<'a, Result<Option<Lease>, StorageError>> {
        self.inner.try_lock(name, lease)
    }

    fn unlock<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), StorageError>> {
        self.inner.unlock(lease)
    }

    fn extend<'a>(
        &'a self,
        lease: &'a Lease,
        duration: std::time::Duration,
    ) -> BoxFuture<'a, Result<Option<Lease>, StorageError>> {
        self.inner.extend(lease, duration)
    }
}

/// Why an [`EncryptedStorage`] refused a stored value: the
/// [`source`](std::error::Error::source) of the
/// [`StorageError::Backend`] its `get` returns
/// ([`DecryptionError::of`] finds it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptionError {
    /// The value is not sealed: written in clear, before encryption was
    /// turned on or by another program.
    #[error("the value is not encrypted (written before encryption was turned on, or by another program)")]
    NotSealed,

    /// The value is sealed in a format this version does not know.
    #[error("the value is encrypted in an unknown format (version {0})")]
    UnknownVersion(u8),

    /// The value is shorter than a nonce and a tag.
    #[error("the encrypted value is truncated")]
    Truncated,

    /// The value does not authenticate: it was altered, copied from
    /// another key, or sealed with another key. Encryption cannot tell
    /// these apart.
    #[error("the encrypted value does not authenticate: altered, moved from another key, or encrypted with another key")]
    NotAuthentic,
}

impl DecryptionError {
    /// The decryption failure behind `error`, if that is what it is.
    pub fn of(error: &StorageError) -> Option<&DecryptionError> {
        error.source()?.downcast_ref()
    }
}
