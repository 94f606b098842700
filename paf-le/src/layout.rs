//! Where paf-le keeps what in a [`Storage`](crate::Storage): the keys of
//! accounts, certificate bundles and their locks.
//!
//! Everything is filed under the CA's directory, so that a certificate
//! from Let's Encrypt's staging CA is never taken for a production one,
//! and an account is only ever shown to the CA that made it:
//!
//! - `accounts/<ca>/account.json`: instant-acme's account credentials;
//! - `certificates/<ca>/<certificate>/bundle.pem`: the chain and its key;
//!
//! with `<ca>` the directory's host and port plus a hash of its whole URL
//! (`acme-v02.api.letsencrypt.org-3f1d…`), and `<certificate>` the first
//! name, followed for certificates of several names by their number and
//! a hash of the set (`example.org+2-9ab0…`), so that two configurations
//! with the same first name do not take turns replacing each other's
//! certificate. Locks have the names of what they guard, without the file
//! name.

use ring::digest::{digest, SHA256};

use crate::{config::Name, storage::hex};

/// The storage keys of one configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) account: String,
    pub(crate) account_lock: String,
    pub(crate) bundle: String,
    pub(crate) certificate_lock: String,
}

impl Layout {
    pub(crate) fn new(directory_url: &str, names: &[Name]) -> Layout {
        let ca = ca_id(directory_url);
        let certificate = certificate_id(names);
        Layout {
            account: format!("accounts/{ca}/account.json"),
            account_lock: format!("accounts/{ca}"),
            bundle: format!("certificates/{ca}/{certificate}/bundle.pem"),
            certificate_lock: format!("certificates/{ca}/{certificate}"),
        }
    }
}

/// `host[_port]-<hash>` of a directory URL.
fn ca_id(url: &str) -> String {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|url| {
            let host = url.host_str()?.to_string();
            Some(match url.port() {
                Some(port) => format!("{host}_{port}"),
                None => host,
            })
        })
        .unwrap_or_else(|| "ca".into());
    format!("{}-{}", segment(&host), short_hash(url.as_bytes()))
}

fn certificate_id(names: &[Name]) -> String {
    let first = names.first().map(ToString::to_string).unwrap_or_default();
    if names.len() <= 1 {
        return segment(&first);
    }
    let mut all: Vec<String> = names.iter().map(ToString::to_string).collect();
    all.sort();
    let set = all.join("\n");
    format!(
        "{}+{}-{}",
        segment(&first),
        names.len() - 1,
        short_hash(set.as_bytes())
    )
}

/// `text` as one key segment: a wildcard's `*` becomes `@`, other
/// characters keys do not allow (an IPv6 address's colons, a bracket)
/// `_`, and it never starts with a dot.
fn segment(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | '@') {
                c
            } else if c == '*' {
                // A wildcard's star: `@` is in no host name, so
                // `*.example.org` cannot meet another name's key.
                '@'
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with('.') {
        out.insert(0, '_');
    }
    out
}

/// 12 hex digits of SHA-256: enough to keep a handful of CAs or name sets
/// apart, short enough to read.
fn short_hash(bytes: &[u8]) -> String {
    hex(&digest(&SHA256, bytes).as_ref()[..6])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::check_key;

    fn names(list: &[&str]) -> Vec<Name> {
        list.iter()
            .map(|name| match name.parse() {
                Ok(ip) => Name::Ip(ip),
                Err(_) => Name::Dns((*name).to_string()),
            })
            .collect()
    }

    #[test]
    fn keys_are_valid_and_filed_by_ca_and_name() {
        let layout = Layout::new(
            "https://acme-staging-v02.api.letsencrypt.org/directory",
            &names(&["example.org"]),
        );
        assert!(layout
            .bundle
            .starts_with("certificates/acme-staging-v02.api.letsencrypt.org-"));
        assert!(layout.bundle.ends_with("/example.org/bundle.pem"));
        assert!(layout
            .account
            .starts_with("accounts/acme-staging-v02.api.letsencrypt.org-"));
        for key in [
            &layout.account,
            &layout.account_lock,
            &layout.bundle,
            &layout.certificate_lock,
        ] {
            check_key(key).unwrap();
        }
        let wildcard = Layout::new("https://ca.example/dir", &names(&["*.example.org"]));
        assert!(wildcard.bundle.ends_with("/@.example.org/bundle.pem"));
        check_key(&wildcard.bundle).unwrap();
        let v6 = Layout::new("https://[::1]:14000/dir", &names(&["2001:db8::1"]));
        check_key(&v6.bundle).unwrap();
        check_key(&v6.account).unwrap();
    }

    #[test]
    fn other_ca_or_other_name_set_is_another_key() {
        let one = names(&["example.org"]);
        let staging = Layout::new("https://staging.example/dir", &one);
        let production = Layout::new("https://production.example/dir", &one);
        assert_ne!(staging.bundle, production.bundle);
        assert_ne!(staging.account, production.account);

        let two = Layout::new(
            "https://staging.example/dir",
            &names(&["example.org", "www.example.org"]),
        );
        let other_two = Layout::new(
            "https://staging.example/dir",
            &names(&["example.org", "api.example.org"]),
        );
        assert_ne!(two.bundle, staging.bundle);
        assert_ne!(two.bundle, other_two.bundle);
        assert_eq!(two.account, staging.account, "one account per CA");
        // The order of the names after the first does not matter.
        let three = Layout::new(
            "https://ca.example/dir",
            &names(&["a.example", "b.example", "c.example"]),
        );
        let reordered = Layout::new(
            "https://ca.example/dir",
            &names(&["a.example", "c.example", "b.example"]),
        );
        assert_eq!(three.bundle, reordered.bundle);
    }
}
