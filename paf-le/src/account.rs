//! The ACME account: the stored one, the one the CA has for the configured
//! key, or a new one; and a new one again when the CA has forgotten the
//! stored account (`accountDoesNotExist`: a CA that lost its state, an
//! account removed on its side), rather than failing at every try.
//!
//! Creating an account happens under the storage lock of the account, so
//! that processes sharing a store end up with one account per CA.

use instant_acme::{Account, AccountCredentials, Key, NewAccount};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tracing::{debug, info, warn};

use crate::{
    acme_client::AcmeHttpClient,
    config::{Config, ExternalAccount},
    error::{Corruption, Error, Problem, Result, ACME_ERROR_PREFIX},
    keys,
    nonce::{is_bad_nonce_problem, retry_bad_nonce},
    storage::LockGuard,
};

/// What the stored credentials say, as far as paf-le looks into them.
pub(crate) struct StoredAccount {
    pub(crate) credentials: AccountCredentials,
    pub(crate) id: String,
    pub(crate) directory: Option<String>,
}

/// The URL (ACME id) of the account stored for the configured CA, if one
/// is stored.
///
/// Fails with [`Error::Corrupt`] when the stored credentials do not
/// parse, and with [`Error::Storage`] when the storage cannot be read.
pub async fn stored_account_id(config: &Config) -> Result<Option<String>> {
    Ok(stored_account(config).await?.map(|account| account.id))
}

pub(crate) async fn stored_account(config: &Config) -> Result<Option<StoredAccount>> {
    let key = config.account_storage_key();
    let Some(bytes) = config.storage.get(key).await? else {
        return Ok(None);
    };
    let corrupt = |reason: String| Error::corrupt(key, Corruption::Account(reason));
    // The credentials type is opaque; its JSON form says which account
    // and which directory it is for.
    let json: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let field = |name: &str| {
        json.get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let id = field("id").ok_or_else(|| corrupt("no account id".into()))?;
    let directory = field("directory");
    let credentials = serde_json::from_value(json).map_err(|e| corrupt(e.to_string()))?;
    Ok(Some(StoredAccount {
        credentials,
        id,
        directory,
    }))
}

/// True when the CA answered that the account does not exist.
pub(crate) fn is_account_gone(err: &instant_acme::Error) -> bool {
    matches!(err, instant_acme::Error::Api(problem)
        if problem.r#type.as_deref().and_then(|kind| kind.strip_prefix(ACME_ERROR_PREFIX))
            == Some("accountDoesNotExist"))
}

/// The account to order with: the stored one when it fits the
/// configuration, else the one the CA has for the configured key, else a
/// new one.
pub(crate) async fn account(config: &Config, http: &AcmeHttpClient) -> Result<Account> {
    let configured_key = keys::account_key(&config.account_key)?;
    if let Some(account) = reuse_stored(config, http, configured_key.as_ref(), None).await? {
        return Ok(account);
    }
    let guard = LockGuard::acquire(
        config.storage.clone(),
        &config.layout.account_lock,
        config.lock_lease,
    )
    .await?;
    // Another task or process may have made it while this one waited.
    let account = match reuse_stored(config, http, configured_key.as_ref(), None).await? {
        Some(account) => account,
        None => create(config, http, configured_key).await?,
    };
    guard.release_or_log().await;
    Ok(account)
}

/// A new account, the CA having answered that it does not know `lost`:
/// the stored credentials are replaced (unless another process already
/// replaced them).
pub(crate) async fn reregister(
    config: &Config,
    http: &AcmeHttpClient,
    lost: &str,
) -> Result<Account> {
    warn!(
        account = lost,
        directory = config.directory.url(),
        "the CA no longer knows the stored account: registering a new one"
    );
    let configured_key = keys::account_key(&config.account_key)?;
    let guard = LockGuard::acquire(
        config.storage.clone(),
        &config.layout.account_lock,
        config.lock_lease,
    )
    .await?;
    let account = match reuse_stored(config, http, configured_key.as_ref(), Some(lost)).await? {
        Some(account) => account,
        None => {
            config.storage.delete(config.account_storage_key()).await?;
            create(config, http, configured_key).await?
        }
    };
    guard.release_or_log().await;
    Ok(account)
}

/// The stored account, when there is one for this CA, made with the
/// configured key (if a key is configured) and not the account `lost`.
/// Damaged credentials count as none: a new account replaces them.
async fn reuse_stored(
    config: &Config,
    http: &AcmeHttpClient,
    configured_key: Option<&PrivatePkcs8KeyDer<'static>>,
    lost: Option<&str>,
) -> Result<Option<Account>> {
    let directory = config.directory.url();
    let stored = match stored_account(config).await {
        Ok(Some(stored)) => stored,
        Ok(None) => return Ok(None),
        Err(err @ Error::Corrupt { .. }) => {
            warn!(error = %err, "registering a new account instead");
            return Ok(None);
        }
        Err(err) => return Err(err),
    };
    if stored.directory.as_deref() != Some(directory) {
        return Err(Error::config(format!(
            "the account stored at {} belongs to the directory {}, not {directory}",
            config.account_storage_key(),
            stored.directory.as_deref().unwrap_or("(unknown)"),
        )));
    }
    if lost == Some(stored.id.as_str()) {
        return Ok(None);
    }
    let same_key = configured_key.is_none_or(|key| {
        key.secret_pkcs8_der() == stored.credentials.private_key().secret_pkcs8_der()
    });
    if !same_key {
        info!("the configured account key is not the stored account's: asking the CA");
        return Ok(None);
    }
    debug!(account = %stored.id, "reusing the stored account");
    Account::builder_with_http(Box::new(http.clone()))
        .from_credentials(stored.credentials)
        .await
        .map(Some)
        .map_err(|e| Error::acme("loading the stored account", e))
}

/// Asks the CA for the account of the configured key, or for a new
/// account with a new key, and stores its credentials.
async fn create(
    config: &Config,
    http: &AcmeHttpClient,
    configured_key: Option<PrivatePkcs8KeyDer<'static>>,
) -> Result<Account> {
    let directory = config.directory.url();
    let builder = || Account::builder_with_http(Box::new(http.clone()));
    let contact: Vec<&str> = config.contact.as_deref().into_iter().collect();
    let refused = |err| match err {
        instant_acme::Error::Api(problem) if !is_bad_nonce_problem(&problem) => {
            Error::AccountRefused {
                directory: directory.to_string(),
                problem: Box::new(Problem::from(&problem)),
            }
        }
        other => Error::acme("creating the account", other),
    };
    let (account, credentials) = match configured_key {
        None => {
            let new_account = NewAccount {
                contact: &contact,
                terms_of_service_agreed: true,
                only_return_existing: false,
            };
            let binding = config.external_account.as_ref().map(ExternalAccount::key);
            retry_bad_nonce!(
                builder()
                    .create(&new_account, directory.to_string(), binding.as_ref())
                    .await
            )
            .map_err(refused)?
        }
        Some(pkcs8) => {
            // Checked before any request, so that a bad key is not taken
            // for a refusal by the CA.
            Key::from_pkcs8_der(pkcs8.clone_key()).map_err(|e| Error::Key {
                what: "account key".into(),
                reason: e.to_string(),
            })?;
            // The CA answers with the account this key already has, or
            // makes one; the contact is then set apart, as instant-acme
            // creates accounts from a key without one.
            let (account, credentials) = retry_bad_nonce!(
                async {
                    let key = Key::from_pkcs8_der(pkcs8.clone_key())?;
                    builder()
                        .create_from_key(
                            (key, PrivateKeyDer::Pkcs8(pkcs8.clone_key())),
                            directory.to_string(),
                        )
                        .await
                }
                .await
            )
            .map_err(refused)?;
            if !contact.is_empty() {
                retry_bad_nonce!(account.update_contacts(&contact).await).map_err(refused)?;
            }
            (account, credentials)
        }
    };
    info!(account = %account.id(), directory, "ACME account ready");
    let json = serde_json::to_vec_pretty(&credentials).map_err(|e| Error::Acme {
        step: "storing the account credentials",
        problem: None,
        source: Box::new(e),
    })?;
    config
        .storage
        .put(config.account_storage_key(), json)
        .await?;
    Ok(account)
}
