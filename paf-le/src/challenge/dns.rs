//! DNS-01: the CA looks up a TXT record under the name, which the user's
//! DNS provider sets and removes. paf-le has no DNS client of its own; the
//! provider says when a record is in place.

use std::fmt;

use paf_core::{BoxError, BoxFuture};

/// Sets and removes the TXT records of DNS-01 challenges, at whatever
/// serves the zone (a DNS host's API, an RFC 2136 update, a hook script).
///
/// `name` is the record's fully qualified name without the final dot,
/// `_acme-challenge.example.org` for both `example.org` and
/// `*.example.org` ([`txt_record_name`]); `value` is the text to publish.
/// One name can carry several values at once (an order for `example.org`
/// and `*.example.org` sets two), so `set_txt` adds a value and
/// `clear_txt` removes that one value, leaving the others.
///
/// `set_txt` should return once the record is served by the zone's
/// authoritative servers, or the CA may look too early; a provider that
/// cannot tell can rely on
/// [`ConfigBuilder::dns_propagation_delay`](crate::ConfigBuilder::dns_propagation_delay).
///
/// ```
/// use paf_core::{BoxError, BoxFuture};
///
/// /// Prints the records for someone to set by hand.
/// #[derive(Debug)]
/// struct ByHand;
///
/// impl paf_le::DnsProvider for ByHand {
///     fn set_txt<'a>(&'a self, name: &'a str, value: &'a str) -> BoxFuture<'a, Result<(), BoxError>> {
///         Box::pin(async move {
///             println!("please add: {name}. 60 IN TXT \"{value}\"");
///             Ok(())
///         })
///     }
///
///     fn clear_txt<'a>(&'a self, name: &'a str, value: &'a str) -> BoxFuture<'a, Result<(), BoxError>> {
///         Box::pin(async move {
///             println!("you may remove: {name}. TXT \"{value}\"");
///             Ok(())
///         })
///     }
/// }
/// ```
pub trait DnsProvider: fmt::Debug + Send + Sync + 'static {
    /// Adds the TXT record `name` with `value`.
    fn set_txt<'a>(&'a self, name: &'a str, value: &'a str) -> BoxFuture<'a, Result<(), BoxError>>;

    /// Removes the TXT record `name` with `value` (other values of the
    /// same name stay). Removing a record that is not there is not an
    /// error.
    fn clear_txt<'a>(
        &'a self,
        name: &'a str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<(), BoxError>>;
}

/// The TXT record name of DNS-01 for `name`: `_acme-challenge.` before it,
/// a wildcard's `*.` taken off (RFC 8555 §8.4).
///
/// ```
/// assert_eq!(paf_le::txt_record_name("*.example.org"), "_acme-challenge.example.org");
/// ```
pub fn txt_record_name(name: &str) -> String {
    let name = name.strip_prefix("*.").unwrap_or(name);
    format!("_acme-challenge.{}", name.trim_end_matches('.'))
}
