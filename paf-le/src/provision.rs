//! The ACME flow: directory, account, order, HTTP-01 challenges,
//! finalization, certificate.
//!
//! instant-acme speaks the protocol; this module decides the steps, as the
//! OCaml original's `provision_certificate` does: find or create the account
//! (reusing a stored one, registering anew when the CA forgot it), order
//! the names, publish every token in the challenge store and tell the CA,
//! wait until the CA has validated them (tokens stay published until then:
//! the CA fetches them several times), send a CSR for a fresh key, and wait
//! for the chain. [`obtain`](crate::obtain) decides whether to order at all.

use std::{collections::HashSet, future::Future, time::Duration};

use http::{header::USER_AGENT, Request};
use instant_acme::{Account, AuthorizationStatus, ChallengeType, NewOrder, Order, OrderStatus};
use paf_core::{Body, BoxError};
use tokio::time::Instant;
use tracing::{debug, info};

use crate::{
    account,
    acme_client::AcmeHttpClient,
    bundle,
    certificate::Certificate,
    challenge::ChallengeHandler,
    config::{Config, Name},
    error::{Error, Problem, Result},
    keys,
    nonce::{is_bad_nonce, is_bad_nonce_problem, retry_bad_nonce, BAD_NONCE_ROUNDS},
    obtain::{self, Want},
};

const USER_AGENT_VALUE: &str = concat!("paf-le/", env!("CARGO_PKG_VERSION"));
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
/// certificate's lock.
pub(crate) async fn order_and_store(config: &Config) -> Result<Certificate> {
    let started = std::time::Instant::now();
    let http = AcmeHttpClient::new(config.http.clone(), config.request_timeout);
    let directory = config.directory.url();
    let issued = async {
        probe_directory(&http, directory).await?;
        let mut account = account::account(config, &http).await?;
        let order = match new_order(config, &account).await {
            Err(e) if account::is_account_gone(&e) => {
                account = account::reregister(config, &http, account.id()).await?;
                new_order(config, &account).await
            }
            placed => placed,
        }
        .map_err(|err| order_refused(config, err))?;
        complete_order(config, order).await
    }
    .await
    // A refusal's `Retry-After` is only seen by the HTTP client.
    .map_err(|err| err.with_retry_after(http.last_retry_after()))?;
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
/// whichever request came first.
async fn probe_directory(http: &AcmeHttpClient, url: &str) -> Result<()> {
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
    Ok(())
}

async fn new_order(config: &Config, account: &Account) -> Result<Order, instant_acme::Error> {
    let identifiers: Vec<_> = config.names.iter().map(Name::identifier).collect();
    let new_order = NewOrder::new(&identifiers);
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

async fn complete_order(config: &Config, mut order: Order) -> Result<Certificate> {
    debug!(order = order.url(), "order placed");

    // Tokens stay published until the CA has validated them all, or this
    // function returns, whichever way.
    let mut published = config.challenges.scope();
    let mut answered = HashSet::new();
    let mut restarts = 0;
    // An authorization whose fetch failed is fetched again by a new walk
    // over the order's authorizations (the walk cannot be resumed); the
    // ones already answered are skipped.
    'walk: loop {
        let mut authorizations = order.authorizations();
        while let Some(authorization) = authorizations.next().await {
            let mut authorization = match authorization {
                Ok(authorization) => authorization,
                Err(e) if is_bad_nonce(&e) && restarts + 1 < BAD_NONCE_ROUNDS => {
                    restarts += 1;
                    continue 'walk;
                }
                Err(e) => return Err(Error::acme("fetching the authorizations", e)),
            };
            let identifier = authorization.identifier().to_string();
            let url = authorization.url().to_string();
            if answered.contains(&url) {
                continue;
            }
            match authorization.status {
                // A CA may reuse a recent validation of the same account.
                AuthorizationStatus::Valid => continue,
                AuthorizationStatus::Pending => {}
                status => {
                    let problem = challenge_problem(&authorization);
                    return Err(Error::Authorization {
                        identifier,
                        url,
                        status: status_name(status),
                        problem,
                    });
                }
            }
            let Some(mut challenge) = authorization.challenge(ChallengeType::Http01) else {
                return Err(Error::Unsupported {
                    what: format!("the CA offers no http-01 challenge for {identifier} ({url})"),
                });
            };
            published.insert(
                challenge.token.clone(),
                challenge.key_authorization().as_str().to_owned(),
            );
            debug!(%identifier, token = %challenge.token, "challenge published");
            retry_bad_nonce!(challenge.set_ready().await).map_err(|err| match err {
                // The CA's answer carries the challenge's error already.
                instant_acme::Error::Api(problem) if !is_bad_nonce_problem(&problem) => {
                    Error::Authorization {
                        identifier: identifier.clone(),
                        url: url.clone(),
                        status: "invalid".into(),
                        problem: Some(Box::new(Problem::from(&problem))),
                    }
                }
                other => Error::acme("telling the CA the challenge is ready", other),
            })?;
            answered.insert(url);
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
        return Err(failed_authorization(&mut order).await);
    }
    drop(published);

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
        });
    }
    let chain = retry_bad_nonce!(order.certificate().await)
        .map_err(|e| Error::acme("downloading the certificate", e))?
        .ok_or_else(|| Error::Acme {
            step: "downloading the certificate",
            problem: None,
            source: "the order is valid but has no certificate".into(),
        })?;
    Certificate::from_pem(chain, key.serialize_pem())
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
/// that is not valid, with its challenge's problem document.
async fn failed_authorization(order: &mut Order) -> Error {
    let order_problem = order.state().error.as_ref().map(boxed_problem);
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization = match authorization {
            Ok(authorization) => authorization,
            Err(e) => return Error::acme("reading the failed authorization", e),
        };
        if let Err(e) = retry_bad_nonce!(authorization.refresh().await.map(|_| ())) {
            return Error::acme("reading the failed authorization", e);
        }
        if authorization.status == AuthorizationStatus::Valid {
            continue;
        }
        return Error::Authorization {
            identifier: authorization.identifier().to_string(),
            url: authorization.url().to_string(),
            status: status_name(authorization.status),
            problem: challenge_problem(&authorization).or(order_problem),
        };
    }
    Error::Acme {
        step: "waiting for the CA to validate the challenges",
        problem: order_problem,
        source: "the order became invalid, but every authorization is valid".into(),
    }
}

/// The problem document of the authorization's HTTP-01 challenge, or of
/// any of its challenges.
fn challenge_problem(authorization: &instant_acme::AuthorizationState) -> Option<Box<Problem>> {
    let challenges = &authorization.challenges;
    challenges
        .iter()
        .find(|c| c.r#type == ChallengeType::Http01 && c.error.is_some())
        .or_else(|| challenges.iter().find(|c| c.error.is_some()))
        .and_then(|c| c.error.as_ref())
        .map(boxed_problem)
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
