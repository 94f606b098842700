//! The persistence directory: the ACME account and the last certificate.
//!
//! - `account.json`: instant-acme's account credentials (the account URL,
//!   its private key, the directory URL), mode 0600;
//! - `cert.pem`: the chain, leaf first, mode 0644;
//! - `key.pem`: the certificate's private key, mode 0600.
//!
//! Files are written to a temporary name in the same directory and renamed
//! over the old one, so a reader (or a crash) never sees half a key. The
//! files are a few KiB, so they are read and written synchronously.

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

use crate::{
    certificate::Certificate,
    error::{Error, Result},
};

const ACCOUNT_FILE: &str = "account.json";
const CERT_FILE: &str = "cert.pem";
const KEY_FILE: &str = "key.pem";

/// A persistence directory; see the module documentation for its files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Store {
    dir: PathBuf,
}

/// What `account.json` holds, as far as paf-le looks into it.
pub(crate) struct StoredAccount {
    pub(crate) credentials: instant_acme::AccountCredentials,
    pub(crate) id: String,
    pub(crate) directory: Option<String>,
}

impl Store {
    /// A store in `dir`; nothing is touched until something is read or
    /// written.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Store { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The account credentials file.
    pub fn account_path(&self) -> PathBuf {
        self.dir.join(ACCOUNT_FILE)
    }

    /// The certificate chain file.
    pub fn certificate_path(&self) -> PathBuf {
        self.dir.join(CERT_FILE)
    }

    /// The certificate's private key file.
    pub fn key_path(&self) -> PathBuf {
        self.dir.join(KEY_FILE)
    }

    /// The URL of the stored account at its CA (its ACME id), if an account
    /// is stored.
    pub fn account_id(&self) -> Result<Option<String>> {
        Ok(self.load_account()?.map(|account| account.id))
    }

    /// The stored certificate, if there is one.
    pub fn load_certificate(&self) -> Result<Option<Certificate>> {
        let Some(chain) = read_optional(&self.certificate_path())? else {
            return Ok(None);
        };
        let key = read_optional(&self.key_path())?.ok_or_else(|| {
            Error::storage(
                "read",
                self.key_path(),
                io::Error::new(
                    io::ErrorKind::NotFound,
                    "the certificate is stored without its key",
                ),
            )
        })?;
        let text = |bytes: Vec<u8>, path: PathBuf| {
            String::from_utf8(bytes).map_err(|e| {
                Error::storage("read", path, io::Error::new(io::ErrorKind::InvalidData, e))
            })
        };
        let chain = text(chain, self.certificate_path())?;
        let key = text(key, self.key_path())?;
        Certificate::from_pem(chain, key).map(Some)
    }

    /// Stores `cert`: the chain readable by all, the key by the owner only.
    pub fn save_certificate(&self, cert: &Certificate) -> Result<()> {
        self.ensure_dir()?;
        write_file(&self.key_path(), cert.key_pem().as_bytes(), 0o600)?;
        write_file(&self.certificate_path(), cert.chain_pem().as_bytes(), 0o644)
    }

    pub(crate) fn load_account(&self) -> Result<Option<StoredAccount>> {
        let path = self.account_path();
        let Some(bytes) = read_optional(&path)? else {
            return Ok(None);
        };
        let invalid = |e: serde_json::Error| {
            Error::storage(
                "read the account credentials in",
                &path,
                io::Error::new(io::ErrorKind::InvalidData, e),
            )
        };
        // The credentials type is opaque; its JSON form says which account
        // and which directory it is for.
        let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(invalid)?;
        let id = json
            .get("id")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        let directory = json
            .get("directory")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        let credentials = serde_json::from_value(json).map_err(invalid)?;
        let id = id.ok_or_else(|| {
            Error::storage(
                "read the account credentials in",
                &path,
                io::Error::new(io::ErrorKind::InvalidData, "no account id"),
            )
        })?;
        Ok(Some(StoredAccount {
            credentials,
            id,
            directory,
        }))
    }

    pub(crate) fn save_account(
        &self,
        credentials: &instant_acme::AccountCredentials,
    ) -> Result<()> {
        let path = self.account_path();
        let json = serde_json::to_vec_pretty(credentials).map_err(|e| {
            Error::storage(
                "write",
                &path,
                io::Error::new(io::ErrorKind::InvalidData, e),
            )
        })?;
        self.ensure_dir()?;
        write_file(&path, &json, 0o600)
    }

    fn ensure_dir(&self) -> Result<()> {
        if self.dir.is_dir() {
            return Ok(());
        }
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            // It will hold private keys.
            builder.mode(0o700);
        }
        builder
            .create(&self.dir)
            .map_err(|e| Error::storage("create the directory", &self.dir, e))
    }
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::storage("read", path, e)),
    }
}

/// Writes `bytes` to `path` through a temporary file created with `mode`
/// (on Unix), so the secret is never readable by others, not even briefly.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    let write = || -> io::Result<()> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            options.mode(mode);
            let mut file = options.open(&tmp)?;
            // The umask may have taken bits away from `mode`; the stored
            // mode is exactly what is documented.
            file.set_permissions(fs::Permissions::from_mode(mode))?;
            file.write_all(bytes)?;
            file.sync_all()?;
        }
        #[cfg(not(unix))]
        {
            let _ = mode;
            let mut file = options.open(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
        }
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::storage("write", path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn certificate_round_trips_and_key_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("le"));
        assert!(store.load_certificate().unwrap().is_none());
        let cert = Certificate::self_signed(["a.example.org"]).unwrap();
        store.save_certificate(&cert).unwrap();
        let loaded = store.load_certificate().unwrap().unwrap();
        assert_eq!(loaded.leaf(), cert.leaf());
        assert_eq!(loaded.key_pem(), cert.key_pem());
        #[cfg(unix)]
        {
            assert_eq!(mode(&store.key_path()), 0o600);
            assert_eq!(mode(&store.certificate_path()), 0o644);
            assert_eq!(mode(store.dir()), 0o700);
        }
        // Saving again replaces the files and leaves no temporary behind.
        store.save_certificate(&cert).unwrap();
        let names: Vec<_> = fs::read_dir(store.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn certificate_without_key_is_an_error_naming_the_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let cert = Certificate::self_signed(["a.example.org"]).unwrap();
        store.save_certificate(&cert).unwrap();
        fs::remove_file(store.key_path()).unwrap();
        let err = store.load_certificate().unwrap_err();
        assert!(err.to_string().contains("key.pem"), "{err}");
    }

    #[test]
    fn corrupt_account_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert!(store.account_id().unwrap().is_none());
        fs::write(store.account_path(), b"{not json").unwrap();
        let err = store.account_id().unwrap_err();
        assert!(err.to_string().contains("account.json"), "{err}");
    }
}
