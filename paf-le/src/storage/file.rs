//! [`FileStorage`]: values as files under a root directory.
//!
//! A value is written to a temporary file created exclusively (`O_EXCL`)
//! under an unpredictable name beside its final name, synced, renamed over
//! the old value and the directory synced: a reader, or the next start
//! after a crash, sees the old value or the new one, whole. Files are mode
//! 0600 and the directories paf-le creates 0700, as every value may hold
//! a private key.
//!
//! A lock `name` is the file `.locks/<name>.lock` holding its holder's
//! token and lease end. It appears with its content in one step (written
//! aside, then hard-linked into place, which fails when the name exists),
//! so nobody reads half a lock and only one taker gets it. A lock is
//! removed (released, or taken over once its lease ended) only by whoever
//! first creates a claim file named after its content, so two takers of
//! one expired lock cannot remove each other's new lock. Lease ends are
//! wall-clock times: machines sharing a directory over the network need
//! synchronised clocks.

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use paf_core::BoxFuture;

use super::{check_key, hex, random_hex, Lease, Storage, StorageError};

/// The directory of the locks, a dot name so that no key can reach it.
const LOCK_DIR: &str = ".locks";
/// A lock file that cannot be read as one is left alone this long: it may
/// be a lock being moved back by the takeover check.
const UNREADABLE_LOCK_GRACE: Duration = Duration::from_secs(60);
/// A claim is held across one read, one unlink and one directory sync of a
/// lock: one older than this was left by a process that died holding it.
/// Waiting the unreadable-lock grace here held every waiter up to a minute
/// past a dead holder's lease (seen by the crash test).
const ABANDONED_CLAIM_AGE: Duration = Duration::from_secs(5);

/// A [`Storage`] in a directory of the local file system; see the module
/// documentation for how it writes.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use paf_le::{FileStorage, Storage};
/// let dir = tempfile::tempdir()?;
/// let storage = FileStorage::new(dir.path().join("acme"));
/// storage.put("accounts/ca/account.json", b"{}".to_vec()).await?;
/// assert!(storage.path("accounts/ca/account.json")?.is_file());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStorage {
    root: PathBuf,
}

impl FileStorage {
    /// A store under `root`, created (mode 0700) when first written to.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FileStorage { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file that holds the value of `key`.
    pub fn path(&self, key: &str) -> Result<PathBuf, StorageError> {
        check_key(key)?;
        Ok(key
            .split('/')
            .fold(self.root.clone(), |path, segment| path.join(segment)))
    }

    /// The file that holds the lock `name`.
    pub fn lock_path(&self, name: &str) -> Result<PathBuf, StorageError> {
        check_key(name)?;
        let mut path = self.root.join(LOCK_DIR);
        let mut segments = name.split('/').peekable();
        while let Some(segment) = segments.next() {
            if segments.peek().is_some() {
                path.push(segment);
            } else {
                path.push(format!("{segment}.lock"));
            }
        }
        Ok(path)
    }
}

impl Storage for FileStorage {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StorageError>> {
        Box::pin(async move {
            let path = self.path(key)?;
            blocking(move || match fs::read(&path) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(StorageError::io("read", path.display(), e)),
            })
            .await
        })
    }

    fn put<'a>(&'a self, key: &'a str, value: Vec<u8>) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let path = self.path(key)?;
            blocking(move || {
                let dir = parent(&path)?;
                ensure_dir(dir)?;
                write_atomically(&path, &value)
                    .map_err(|e| StorageError::io("write", path.display(), e))
            })
            .await
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let path = self.path(key)?;
            blocking(move || {
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                    Err(e) => return Err(StorageError::io("delete", path.display(), e)),
                }
                let dir = parent(&path)?;
                sync_dir(dir).map_err(|e| StorageError::io("sync the directory", dir.display(), e))
            })
            .await
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StorageError>> {
        Box::pin(async move {
            // Walk from the deepest directory the prefix names whole.
            let base = match prefix.rfind('/') {
                Some(end) => &prefix[..end],
                None => "",
            };
            let start = if base.is_empty() {
                self.root.clone()
            } else {
                self.path(base)?
            };
            let prefix = prefix.to_string();
            let base = base.to_string();
            blocking(move || {
                let mut keys = Vec::new();
                walk(&start, &base, &mut keys)?;
                keys.retain(|key| key.starts_with(&prefix));
                keys.sort();
                Ok(keys)
            })
            .await
        })
    }

    fn try_lock<'a>(
        &'a self,
        name: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Option<Lease>, StorageError>> {
        Box::pin(async move {
            let path = self.lock_path(name)?;
            let name = name.to_string();
            blocking(move || try_lock(&path, &name, lease)).await
        })
    }

    fn unlock<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let path = self.lock_path(lease.name())?;
            let token = lease.token().to_string();
            blocking(move || {
                let failed = |e| StorageError::io("release the lock", path.display(), e);
                let bytes = match fs::read(&path) {
                    Ok(bytes) => bytes,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                    Err(e) => return Err(failed(e)),
                };
                match LockFile::parse(&bytes) {
                    Some(held) if held.token == token => {
                        remove_lock_if_unchanged(&path, &bytes).map_err(failed)?;
                    }
                    // Taken over after our lease ended: not ours to remove.
                    _ => {}
                }
                Ok(())
            })
            .await
        })
    }
}

/// Runs blocking file work off the async threads (syncing a file can take
/// a while), or right here outside a tokio runtime.
async fn blocking<T, F>(work: F) -> Result<T, StorageError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StorageError> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.spawn_blocking(work).await.unwrap_or_else(|e| {
            Err(StorageError::io(
                "finish",
                "a file storage task",
                io::Error::other(e.to_string()),
            ))
        }),
        Err(_) => work(),
    }
}

fn parent(path: &Path) -> Result<&Path, StorageError> {
    path.parent().ok_or_else(|| StorageError::InvalidKey {
        key: path.display().to_string(),
        reason: "it has no parent directory",
    })
}

/// Creates `dir` and its missing parents (the root included), mode 0700,
/// syncing each parent so that the new entry survives a crash.
fn ensure_dir(dir: &Path) -> Result<(), StorageError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut current = Some(dir);
    while let Some(path) = current {
        if path.as_os_str().is_empty() || path.is_dir() {
            break;
        }
        missing.push(path);
        current = path.parent();
    }
    for path in missing.into_iter().rev() {
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        match builder.create(path) {
            Ok(()) => {}
            // Another task or process made it meanwhile.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => continue,
            Err(e) => return Err(StorageError::io("create the directory", path.display(), e)),
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)
                .map_err(|e| StorageError::io("sync the directory", parent.display(), e))?;
        }
    }
    Ok(())
}

/// Writes `bytes` to a new, exclusively created file of mode 0600 beside
/// `path`, named unpredictably so that nobody can prepare it in advance,
/// and syncs it; the caller links or renames it into place. Returns its
/// path.
fn write_temporary(path: &Path, bytes: &[u8], kind: &str) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let random = random_hex(12).map_err(io::Error::other)?;
    let tmp = path.with_file_name(format!(".{name}.{kind}-{random}"));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    let written = (|| {
        #[cfg(unix)]
        {
            // The umask may have taken bits away; the mode is exactly 0600.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
        }
        file.write_all(bytes)?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(tmp)
}

/// Replaces `path` with `bytes` as one unit, durably.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = write_temporary(path, bytes, "tmp")?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    match path.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

/// Makes a directory's entries (a rename, a new or removed file) durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        // Directories cannot be opened for syncing elsewhere.
        let _ = dir;
        Ok(())
    }
}

/// Collects the keys of the regular files under `dir`, whose key is
/// `base`; dot names (temporary files, locks) and symbolic links are
/// skipped.
fn walk(dir: &Path, base: &str, keys: &mut Vec<String>) -> Result<(), StorageError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => return Ok(()),
        Err(e) => return Err(StorageError::io("list", dir.display(), e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| StorageError::io("list", dir.display(), e))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') || check_key(&name).is_err() {
            continue;
        }
        let key = if base.is_empty() {
            name
        } else {
            format!("{base}/{name}")
        };
        let file_type = entry
            .file_type()
            .map_err(|e| StorageError::io("list", entry.path().display(), e))?;
        if file_type.is_dir() {
            walk(&entry.path(), &key, keys)?;
        } else if file_type.is_file() {
            keys.push(key);
        }
    }
    Ok(())
}

/// What a lock file says.
struct LockFile {
    token: String,
    expires: SystemTime,
}

impl LockFile {
    fn to_json(lease: &Lease) -> Vec<u8> {
        let expires_ms = lease
            .expires()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis());
        serde_json::json!({
            "token": lease.token(),
            "expires_unix_ms": u64::try_from(expires_ms).unwrap_or(u64::MAX),
            // For whoever looks at a lock by hand.
            "pid": std::process::id(),
        })
        .to_string()
        .into_bytes()
    }

    fn parse(bytes: &[u8]) -> Option<LockFile> {
        let json: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        let token = json.get("token")?.as_str()?.to_string();
        let expires_ms = json.get("expires_unix_ms")?.as_u64()?;
        let expires = UNIX_EPOCH.checked_add(Duration::from_millis(expires_ms))?;
        Some(LockFile { token, expires })
    }
}

fn try_lock(path: &Path, name: &str, duration: Duration) -> Result<Option<Lease>, StorageError> {
    let failed = |action, e| StorageError::io(action, path.display(), e);
    ensure_dir(parent(path)?)?;
    // A few rounds: a lock released or taken over between two steps here
    // is tried for again at once.
    for _ in 0..4 {
        let lease = Lease::new(name, duration)?;
        let tmp = write_temporary(path, &LockFile::to_json(&lease), "new")
            .map_err(|e| failed("write the lock", e))?;
        let linked = fs::hard_link(&tmp, path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                let dir = parent(path)?;
                sync_dir(dir).map_err(|e| failed("sync the lock directory", e))?;
                return Ok(Some(lease));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(failed("take the lock", e)),
        }
        let held = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(failed("read the lock", e)),
        };
        let now = SystemTime::now();
        let stale = match LockFile::parse(&held) {
            Some(lock) => now >= lock.expires,
            None => fs::metadata(path)
                .and_then(|meta| meta.modified())
                .is_ok_and(|modified| {
                    now.duration_since(modified)
                        .is_ok_and(|age| age > UNREADABLE_LOCK_GRACE)
                }),
        };
        if !stale {
            return Ok(None);
        }
        tracing::info!(lock = %path.display(), "taking over an expired lock");
        remove_lock_if_unchanged(path, &held).map_err(|e| failed("take over the lock", e))?;
    }
    Ok(None)
}

/// Removes the lock file at `path` if it still holds `expected`.
///
/// Only one remover per lock content may act: it first creates a claim
/// file named after that content, exclusively. As every removal of a
/// lock goes through its claim (release and takeover alike), the lock
/// cannot change between the check and the removal; whoever loses the
/// claim leaves the lock to the winner. A claim left by a crash between
/// its creation and its removal is cleared after a grace period.
fn remove_lock_if_unchanged(path: &Path, expected: &[u8]) -> io::Result<bool> {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let digest = ring::digest::digest(&ring::digest::SHA256, expected);
    let claim = path.with_file_name(format!(".{name}.claim-{}", hex(&digest.as_ref()[..16])));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    match options.open(&claim) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let abandoned = fs::metadata(&claim)
                .and_then(|meta| meta.modified())
                .is_ok_and(|modified| {
                    SystemTime::now()
                        .duration_since(modified)
                        .is_ok_and(|age| age > ABANDONED_CLAIM_AGE)
                });
            if abandoned {
                let _ = fs::remove_file(&claim);
            }
            return Ok(false);
        }
        Err(e) => return Err(e),
    }
    let removed = (|| {
        match fs::read(path) {
            Ok(current) if current == expected => {}
            Ok(_) => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        }
        fs::remove_file(path)?;
        if let Some(dir) = path.parent() {
            sync_dir(dir)?;
        }
        Ok(true)
    })();
    let _ = fs::remove_file(&claim);
    removed
}
