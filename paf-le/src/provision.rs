//! The ACME flow: directory, account, order, challenges, finalization,
//! certificate.
//!
//! instant-acme speaks the protocol; this module decides the steps, as the
//! OCaml original's `provision_certificate` does: find or create the account
//! (reusing a stored one, registering anew when the CA forgot it), order
//! the names, pick each authorization's challenge from the configured
//! types, publish every answer (HTTP-01 token, TLS-ALPN-01 certificate,
//! DNS-01 TXT record) and tell the CA, wait until the CA has validated
//! them (answers stay published until then: the CA looks several times),
//! send a CSR for a fresh key, and wait for the chain. When the CA fails
//! a challenge of one type, the order is placed again without that type
//! while others remain. [`obtain`](crate::obtain) decides whether to order
//! at all.

use std::{collections::HashMap, future::Future, time::Duration};

use http::{header::USER_AGENT, Request};
use instant_acme::{
    Account, AuthorizationState, AuthorizationStatus, CertificateIdentifier, Identifier, NewOrder,
    Order, OrderStatus,
};
use paf_core::{Body, BoxError};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::{
    account,
    acme_client::AcmeHttpClient,
    bundle,
    certificate::Certificate,
    challenge::{ChallengeHandler, ChallengeType},
    config::{Config, Name},
    error::{Error, Problem, Result},
    keys,
    nonce::{is_bad_nonce, is_bad_nonce_problem, retry_bad_nonce, BAD_NONCE_ROUNDS},
    obtain::{self, Want},
};

pub(crate) const USER_AGENT_VALUE: &str = concat!("paf-le/", env!("CARGO_PKG_VERSION"));
/// The first pause between two looks at an order; it doubles up to the
/// maximum, which keeps a slow CA from being asked more than every 5 s.
const FIRST_POLL_DELAY: Duration = Duration::from_millis(250);
const MAX_POLL_DELAY: Duration = Duration::from_secs(5);
/// How long the one-call helper lets the CA's last requests finish.
const CHALLENGE_SERVER_GRACE: Duration = Duration::from_secs(1);

/// Orders a new certificate for the configured names, whatever is stored:
/// the chain and a new private key (or the configured one), stored as one
/// bundle before this returns. [`obtain`](crate::obtain) orders only when
/// the stored certificate will not do; use it at start.
///
/// The HTTP-01 answers are put in [`Config::challenges`]; something must
/// serve them on port 80 of every name meanwhile: a paf server with a
/// [`ChallengeHandler`] (wrapping the site, if there is one), or use
/// [`provision_with_challenge_server`]. The order is placed under the
/// certificate's storage lock, so tasks and processes sharing the storage
/// take turns; the stored account is reused.
///
/// Errors name the failed step: [`Error::DirectoryUnreachable`],
/// [`Error::AccountRefused`], [`Error::OrderRefused`],
/// [`Error::Authorization`] (with the identifier, the authorization URL and
/// the CA's problem detail), [`Error::Timeout`], [`Error::Acme`],
/// [`Error::Storage`].
pub async fn provision_certificate(config: &Config) -> Result<Certificate> {
    Ok(obtain::run(config, Want::New, false).await?.certificate)
}

/// [`provision_certificate`] with its own challenge server: binds a paf
/// server answering challenges on [`Config::challenge_addr`] (port 80 by
/// default), provisions, and stops the server, whatever the outcome; as the
/// OCaml original does with its switch.
///
/// Fails with [`Error::ChallengeServer`] when the address cannot be bound
/// (port 80 needs privileges, or someone listens there already: then serve
/// a [`ChallengeHandler`] from that server and call
/// [`provision_certificate`]).
pub async fn provision_with_challenge_server(config: &Config) -> Result<Certificate> {
    Ok(obtain::run(config, Want::New, true).await?.certificate)
}

/// Runs `work` with a challenge server on [`Config::challenge_addr`],
/// stopped afterwards whatever the outcome, even when the caller drops the
/// future half-way.
pub(crate) async fn serving_challenges<T>(
    config: &Config,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    let addr = config.challenge_addr;
    let server = paf_hyper::Server::new(ChallengeHandler::new(config.challenges.clone()));
    let running = server
        .bind_tcp(addr)
        .await
        .map_err(|source| Error::ChallengeServer { addr, source })?;
    debug!(addr = ?running.local_addr(), "HTTP-01 challenge server listening");
    // Dropping a `Running` leaves the server on; this stops it even when
    // the caller drops this future half-way.
    let _stop_on_drop = StopOnDrop(running.stop_handle());
    let result = work.await;
    running.stop(CHALLENGE_SERVER_GRACE).await;
    result
}

struct StopOnDrop(paf_hyper::StopHandle);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop(Duration::ZERO);
    }
}

/// Orders a certificate and stores its bundle; the caller holds the
/// certificate's lock. With a CA that has ARI, the order names the
/// certificate it is `replacing`.
pub(crate) async fn order_and_store(
    config: &Config,
    replacing: Option<&Certificate>,
    fence: Option<&crate::obtain::Held>,
) -> Result<Certificate> {
    let started = std::time::Instant::now();
    let http = AcmeHttpClient::new(config.http.clone(), config.request_timeout);
    let directory = config.directory.url();
    let issued = async {
        let has_ari = probe_directory(&http, directory).await?;
        let mut account = account::account(config, &http).await?;
        let mut types = config.challenge_types.clone();
        let mut replaces = replacing
            .filter(|_| has_ari)
            .and_then(crate::ari::certificate_id);
        loop {
            let placed = match new_order(config, &account, replaces.clone()).await {
                Err(e) if account::is_account_gone(&e) => {
                    account = account::reregister(config, &http, account.id()).await?;
                    new_order(config, &account, replaces.clone()).await
                }
                placed => placed,
            };
            let order = match placed {
                // A CA may refuse the replacement (already replaced, not
                // its certificate) or not echo it; the order matters more.
                Err(e) if replaces.is_some() && !account::is_account_gone(&e) => {
                    warn!(error = %e, "the order naming the replaced certificate failed: ordering without it");
                    replaces = None;
                    new_order(config, &account, None).await
                }
                placed => placed,
            }
            .map_err(|err| order_refused(config, err))?;
            let failure = match complete_order(config, order, &types).await {
                Ok(issued) => break Ok(issued),
                Err(failure) => failure,
            };
            // A challenge the CA failed: another type may pass (port 443
            // closed, port 80 open…); a new order gets new authorizations.
            let Some(failed) = failure.challenge.filter(|_| failure.error.is_authorization())
            else {
                return Err(failure.error);
            };
            types.retain(|kind| *kind != failed);
            if types.is_empty() {
                return Err(failure.error);
            }
            warn!(
                names = ?config.hostnames(),
                failed = %failed,
                next = ?types,
                error = %failure.error,
                "the CA failed a challenge: ordering again with the next challenge type"
            );
        }
    }
    .await
    // A refusal's `Retry-After` is only seen by the HTTP client.
    .map_err(|err| err.with_retry_after(http.last_retry_after()))?;
    if let Some(fence) = fence {
        // Still the lock's holder? Else the next holder's certificate
        // stays.
        fence.check().await?;
    }
    config
        .storage
        .put(config.certificate_storage_key(), bundle::encode(&issued))
        .await?;
    info!(
        names = ?config.hostnames(),
        directory,
        elapsed = ?started.elapsed(),
        "certificate issued"
    );
    Ok(issued)
}

/// Fetches the directory once before instant-acme does, so that a wrong
/// URL or an unreachable CA is reported as such rather than as a failure of
/// whichever request came first. True when it lists ARI's `renewalInfo`.
async fn probe_directory(http: &AcmeHttpClient, url: &str) -> Result<bool> {
    let unreachable = |source: BoxError| Error::DirectoryUnreachable {
        url: url.to_string(),
        source,
    };
    let request = Request::get(url)
        .header(USER_AGENT, USER_AGENT_VALUE)
        .body(Body::empty())
        .map_err(|e| unreachable(Box::new(e)))?;
    let (parts, body) = http
        .exchange(request)
        .await
        .map_err(|e| unreachable(Box::new(e)))?;
    if !parts.status.is_success() {
        return Err(unreachable(
            format!("it answered with status {}", parts.status).into(),
        ));
    }
    let directory: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| unreachable(format!("the answer is not JSON: {e}").into()))?;
    let has = |field: &str| {
        directory
            .get(field)
            .is_some_and(serde_json::Value::is_string)
    };
    if !(has("newNonce") && has("newAccount") && has("newOrder")) {
        return Err(unreachable(
            "the answer is not an ACME directory (no newNonce, newAccount or newOrder)".into(),
        ));
    }
    Ok(has("renewalInfo"))
}

async fn new_order(
    config: &Config,
    account: &Account,
    replaces: Option<CertificateIdentifier<'static>>,
) -> Result<Order, instant_acme::Error> {
    let identifiers: Vec<_> = config.names.iter().map(Name::identifier).collect();
    let mut new_order = NewOrder::new(&identifiers);
    if let Some(replaces) = replaces {
        new_order = new_order.replaces(replaces);
    }
    retry_bad_nonce!(account.new_order(&new_order).await)
}

fn order_refused(config: &Config, err: instant_acme::Error) -> Error {
    match err {
        instant_acme::Error::Api(problem) if !is_bad_nonce_problem(&problem) => {
            Error::OrderRefused {
                identifiers: config.hostnames(),
                problem: Box::new(Problem::from(&problem)),
            }
        }
        other => Error::acme("placing the order", other),
    }
}

/// A failed order, and the challenge type the CA failed, if that is why.
struct OrderFailure {
    error: Error,
    challenge: Option<ChallengeType>,
}

impl From<Error> for OrderFailure {
    fn from(error: Error) -> Self {
        OrderFailure {
            error,
            challenge: None,
        }
    }
}

/// The first of `types` that the CA offers for the authorization and that
/// can validate its identifier: only DNS-01 validates a wildcard, and
/// TLS-ALPN-01 is for host names (paf-le does not answer RFC 8738's
/// reverse names of IP addresses).
fn pick_challenge(
    types: &[ChallengeType],
    authorization: &AuthorizationState,
) -> Option<ChallengeType> {
    let ip = matches!(authorization.identifier().identifier, Identifier::Ip(_));
    types.iter().copied().find(|kind| {
        let can = match kind {
            ChallengeType::Http01 => !authorization.wildcard,
            ChallengeType::TlsAlpn01 => !authorization.wildcard && !ip,
            ChallengeType::Dns01 => !ip,
        };
        can && authorization
            .challenges
            .iter()
            .any(|offered| offered.r#type == kind.acme())
    })
}

/// The identifier's value as the answers name it: the host name without a
/// wildcard's `*.`, or the address.
fn answer_name(authorization: &AuthorizationState) -> String {
    match authorization.identifier().identifier {
        Identifier::Dns(name) => name.to_ascii_lowercase(),
        other => other.authorized(false).to_string(),
    }
}

async fn complete_order(
    config: &Config,
    mut order: Order,
    types: &[ChallengeType],
) -> Result<Certificate, OrderFailure> {
    debug!(order = order.url(), "order placed");

    // Answers stay published until the CA has validated them all, or this
    // function returns, whichever way.
    let mut published = config.challenges.scope(config.dns_provider.clone());
    // The challenge type answered, by authorization URL.
    let mut chosen: HashMap<String, ChallengeType> = HashMap::new();
    let mut restarts = 0;
    // Every answer is published before the CA is told to look at any, so
    // that DNS records can propagate together. An authorization whose
    // fetch failed is fetched again by a new walk over the order's
    // authorizations (the walk cannot be resumed); the ones already
    // answered are skipped.
    'publish: loop {
        let mut authorizations = order.authorizations();
        while let Some(authorization) = authorizations.next().await {
            let mut authorization = match authorization {
                Ok(authorization) => authorization,
                Err(e) if is_bad_nonce(&e) && restarts + 1 < BAD_NONCE_ROUNDS => {
                    restarts += 1;
                    continue 'publish;
                }
                Err(e) => return Err(Error::acme("fetching the authorizations", e).into()),
            };
            let identifier = authorization.identifier().to_string();
            let url = authorization.url().to_string();
            if chosen.contains_key(&url) {
                continue;
            }
            match authorization.status {
                // A CA may reuse a recent validation of the same account.
                AuthorizationStatus::Valid => continue,
                AuthorizationStatus::Pending => {}
                status => {
                    let (problem, challenge) = challenge_problem(&authorization);
                    return Err(OrderFailure {
                        error: Error::Authorization {
                            identifier,
                            url,
                            status: status_name(status),
                            problem,
                        },
                        challenge,
                    });
                }
            }
            let Some(kind) = pick_challenge(types, &authorization) else {
                let offered: Vec<String> = authorization
                    .challenges
                    .iter()
                    .map(|c| format!("{:?}", c.r#type))
                    .collect();
                return Err(Error::Unsupported {
                    what: format!(
                        "validating {identifier} ({url}): none of the configured challenge \
                         types ({}) can, and the CA offers {}",
                        types
                            .iter()
                            .map(|t| t.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        offered.join(", ")
                    ),
                }
                .into());
            };
            let name = answer_name(&authorization);
            let Some(challenge) = authorization.challenge(kind.acme()) else {
                continue;
            };
            let key_authorization = challenge.key_authorization();
            let published_now = match kind {
                ChallengeType::Http01 => {
                    published
                        .publish_http(&challenge.token, key_authorization.as_str())
                        .await
                }
                ChallengeType::TlsAlpn01 => {
                    published
                        .publish_tls_alpn(&name, key_authorization.as_str())
                        .await
                }
                ChallengeType::Dns01 => {
                    published
                        .publish_dns(&name, &key_authorization.dns_value())
                        .await
                }
            };
            published_now.map_err(|error| OrderFailure {
                error,
                challenge: None,
            })?;
            debug!(%identifier, challenge = %kind, "challenge answer published");
            chosen.insert(url, kind);
        }
        break;
    }
    if chosen.values().any(|kind| *kind == ChallengeType::Dns01)
        && !config.dns_propagation_delay.is_zero()
    {
        debug!(delay = ?config.dns_propagation_delay, "waiting for the TXT records to propagate");
        tokio::time::sleep(config.dns_propagation_delay).await;
    }

    let mut readied: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut restarts = 0;
    'ready: loop {
        let mut authorizations = order.authorizations();
        while let Some(authorization) = authorizations.next().await {
            let mut authorization = match authorization {
                Ok(authorization) => authorization,
                Err(e) if is_bad_nonce(&e) && restarts + 1 < BAD_NONCE_ROUNDS => {
                    restarts += 1;
                    continue 'ready;
                }
                Err(e) => return Err(Error::acme("fetching the authorizations", e).into()),
            };
            let url = authorization.url().to_string();
            let Some(&kind) = chosen.get(&url) else {
                continue;
            };
            if readied.contains(&url) {
                continue;
            }
            let identifier = authorization.identifier().to_string();
            let Some(mut challenge) = authorization.challenge(kind.acme()) else {
                continue;
            };
            retry_bad_nonce!(challenge.set_ready().await).map_err(|err| match err {
                // The CA's answer carries the challenge's error already.
                instant_acme::Error::Api(problem) if !is_bad_nonce_problem(&problem) => {
                    OrderFailure {
                        error: Error::Authorization {
                            identifier: identifier.clone(),
                            url: url.clone(),
                            status: "invalid".into(),
                            problem: Some(Box::new(Problem::from(&problem))),
                        },
                        challenge: Some(kind),
                    }
                }
                other => Error::acme("telling the CA the challenge is ready", other).into(),
            })?;
            readied.insert(url);
        }
        break;
    }

    let status = poll_order(
        &mut order,
        config.poll_timeout,
        "waiting for the CA to validate the challenges",
        |status| matches!(status, OrderStatus::Pending),
    )
    .await?;
    if status == OrderStatus::Invalid {
        let (error, challenge) = failed_authorization(&mut order).await;
        published.withdraw().await;
        return Err(OrderFailure { error, challenge });
    }
    published.withdraw().await;

    let key = keys::certificate_key(&config.certificate_key)?;
    let csr = keys::csr(&config.names, &key)?;
    if status == OrderStatus::Ready {
        retry_bad_nonce!(order.finalize_csr(&csr).await)
            .map_err(|e| Error::acme("finalizing the order", e))?;
    }
    let status = poll_order(
        &mut order,
        config.poll_timeout,
        "waiting for the CA to issue the certificate",
        |status| matches!(status, OrderStatus::Ready | OrderStatus::Processing),
    )
    .await?;
    if status != OrderStatus::Valid {
        let problem = order.state().error.as_ref().map(boxed_problem);
        return Err(Error::Acme {
            step: "finalizing the order",
            problem,
            source: format!("the order became {}", status_name_order(status)).into(),
        }
        .into());
    }
    let chain = retry_bad_nonce!(order.certificate().await)
        .map_err(|e| Error::acme("downloading the certificate", e))?
        .ok_or_else(|| Error::Acme {
            step: "downloading the certificate",
            problem: None,
            source: "the order is valid but has no certificate".into(),
        })?;
    Ok(Certificate::from_pem(chain, key.serialize_pem())?)
}

/// Refreshes the order until `waiting(status)` is false, pausing longer
/// each time; [`Error::Timeout`] after `timeout`.
async fn poll_order(
    order: &mut Order,
    timeout: Duration,
    what: &'static str,
    waiting: impl Fn(OrderStatus) -> bool,
) -> Result<OrderStatus> {
    let deadline = Instant::now() + timeout;
    let mut delay = FIRST_POLL_DELAY;
    loop {
        let status = retry_bad_nonce!(order.refresh().await.map(|state| state.status))
            .map_err(|e| Error::acme("polling the order", e))?;
        if !waiting(status) {
            return Ok(status);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::Timeout {
                what,
                after: timeout,
            });
        }
        tokio::time::sleep(delay.min(deadline - now)).await;
        delay = (delay * 2).min(MAX_POLL_DELAY);
    }
}

/// The error for an order that became invalid: the first authorization
/// that is not valid, with its failed challenge's problem document and
/// type.
async fn failed_authorization(order: &mut Order) -> (Error, Option<ChallengeType>) {
    let order_problem = order.state().error.as_ref().map(boxed_problem);
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization = match authorization {
            Ok(authorization) => authorization,
            Err(e) => return (Error::acme("reading the failed authorization", e), None),
        };
        if let Err(e) = retry_bad_nonce!(authorization.refresh().await.map(|_| ())) {
            return (Error::acme("reading the failed authorization", e), None);
        }
        if authorization.status == AuthorizationStatus::Valid {
            continue;
        }
        let (problem, challenge) = challenge_problem(&authorization);
        let error = Error::Authorization {
            identifier: authorization.identifier().to_string(),
            url: authorization.url().to_string(),
            status: status_name(authorization.status),
            problem: problem.or(order_problem),
        };
        return (error, challenge);
    }
    let error = Error::Acme {
        step: "waiting for the CA to validate the challenges",
        problem: order_problem,
        source: "the order became invalid, but every authorization is valid".into(),
    };
    (error, None)
}

/// The problem document of the authorization's failed challenge (the one
/// that was answered), and its type.
fn challenge_problem(
    authorization: &AuthorizationState,
) -> (Option<Box<Problem>>, Option<ChallengeType>) {
    match authorization.challenges.iter().find(|c| c.error.is_some()) {
        Some(failed) => (
            failed.error.as_ref().map(boxed_problem),
            ChallengeType::from_acme(&failed.r#type),
        ),
        None => (None, None),
    }
}

fn boxed_problem(problem: &instant_acme::Problem) -> Box<Problem> {
    Box::new(Problem::from(problem))
}

fn status_name(status: AuthorizationStatus) -> String {
    format!("{status:?}").to_ascii_lowercase()
}

fn status_name_order(status: OrderStatus) -> String {
    format!("{status:?}").to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An authorization as a CA sends it, offering all three types.
    fn authorization(identifier: serde_json::Value, wildcard: bool) -> AuthorizationState {
        let challenge = |kind: &str| {
            serde_json::json!({"type": kind, "url": format!("https://ca/{kind}"),
                               "token": "tok", "status": "pending"})
        };
        serde_json::from_value(serde_json::json!({
            "identifier": identifier,
            "status": "pending",
            "wildcard": wildcard,
            "challenges": [challenge("http-01"), challenge("dns-01"), challenge("tls-alpn-01")],
        }))
        .unwrap()
    }

    #[test]
    fn the_first_configured_type_that_can_validate_the_name_is_picked() {
        use ChallengeType::*;
        let dns = serde_json::json!({"type": "dns", "value": "example.org"});
        let plain = authorization(dns.clone(), false);
        assert_eq!(
            pick_challenge(&[TlsAlpn01, Http01], &plain),
            Some(TlsAlpn01)
        );
        assert_eq!(pick_challenge(&[Http01, TlsAlpn01], &plain), Some(Http01));
        assert_eq!(pick_challenge(&[Dns01], &plain), Some(Dns01));

        let wildcard = authorization(dns, true);
        assert_eq!(pick_challenge(&[TlsAlpn01, Http01], &wildcard), None);
        assert_eq!(pick_challenge(&[Http01, Dns01], &wildcard), Some(Dns01));
        assert_eq!(answer_name(&wildcard), "example.org");

        let ip = authorization(
            serde_json::json!({"type": "ip", "value": "192.0.2.1"}),
            false,
        );
        assert_eq!(
            pick_challenge(&[TlsAlpn01, Dns01, Http01], &ip),
            Some(Http01)
        );
        assert_eq!(pick_challenge(&[TlsAlpn01, Dns01], &ip), None);
    }
}
