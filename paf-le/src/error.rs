//! The one error type of paf-le.
//!
//! Each variant is a step of the ACME flow a caller can act on: fix the
//! configuration, check the network path to the CA, look at why the CA
//! refused an authorization. Messages name what failed (the directory URL,
//! the identifier and its authorization URL, the file) and carry the ACME
//! problem document's detail when the CA sent one.

use std::{fmt, time::Duration};

use paf_core::BoxError;

use crate::storage::StorageError;

/// `Result` with paf-le's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong while getting, storing or serving a certificate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration cannot be used (no hostname, a wildcard name, a
    /// malformed contact address, a seed too short…).
    #[error("invalid paf-le configuration: {reason}")]
    Config {
        /// What is wrong with it.
        reason: String,
    },

    /// Something paf-le cannot do on this build, such as generating RSA keys
    /// (ring, paf's only crypto provider, cannot generate them).
    #[error("not supported: {what}")]
    Unsupported {
        /// What was asked for, and what to do instead.
        what: String,
    },

    /// The ACME directory could not be fetched, or what came back is not an
    /// ACME directory.
    #[error("the ACME directory {url} is unreachable")]
    DirectoryUnreachable {
        /// The directory URL.
        url: String,
        /// Why: a transport error, an HTTP status, a body that is not a directory.
        #[source]
        source: BoxError,
    },

    /// The CA refused to create (or find) the account.
    #[error("the ACME server at {directory} refused the account: {problem}")]
    AccountRefused {
        /// The directory URL.
        directory: String,
        /// The CA's problem document.
        problem: Box<Problem>,
    },

    /// The CA refused the order (an identifier it will not issue for, a rate
    /// limit…).
    #[error("the ACME server refused an order for {}: {problem}", .identifiers.join(", "))]
    OrderRefused {
        /// The identifiers asked for.
        identifiers: Vec<String>,
        /// The CA's problem document.
        problem: Box<Problem>,
    },

    /// The CA could not validate an identifier: the authorization is
    /// invalid (or was never pending).
    #[error("the authorization of {identifier} ({url}) failed: {}", ProblemOrStatus(.problem.as_deref(), .status))]
    Authorization {
        /// The identifier (host name or IP address) of the authorization.
        identifier: String,
        /// The authorization's URL at the CA.
        url: String,
        /// The authorization's status (`invalid`, `expired`, `revoked`…).
        status: String,
        /// The problem document of its failed challenge, when the CA gave one.
        problem: Option<Box<Problem>>,
    },

    /// The CA did not finish a step in the time allowed.
    #[error("timed out after {after:?} {what}")]
    Timeout {
        /// What was being waited for.
        what: &'static str,
        /// The limit that was passed.
        after: Duration,
    },

    /// The storage lock of the certificate was lost while it was being
    /// ordered (its lease ended and another instance took it over, or the
    /// storage refused to extend it): the order was abandoned, or its
    /// certificate not stored, so as not to overwrite the new holder's.
    #[error("lost the storage lock {lock} while ordering; nothing was stored")]
    LockLost {
        /// The lock's name.
        lock: String,
    },

    /// An ACME exchange failed in another way: a transport error, an
    /// unexpected answer, or a problem document at a step without a variant
    /// of its own.
    #[error("ACME request failed while {step}{}", OptionalProblem(.problem.as_deref()))]
    Acme {
        /// The step of the flow (`placing the order`, `finalizing the order`…).
        step: &'static str,
        /// The CA's problem document, when it sent one.
        problem: Option<Box<Problem>>,
        /// The cause.
        #[source]
        source: BoxError,
    },

    /// A key could not be read, derived or generated.
    #[error("{what}: {reason}")]
    Key {
        /// Which key (`account key file /etc/…`, `certificate key`…).
        what: String,
        /// Why.
        reason: String,
    },

    /// The storage (the persistence directory, or another backend) failed
    /// to read, write or lock.
    #[error(transparent)]
    Storage(#[from] StorageError),

    /// A value read back from the storage is damaged: half written, edited
    /// by hand, or a private key that does not belong to its certificate.
    /// [`obtain`](crate::obtain) reports it in its log and orders anew (a
    /// certificate) or registers anew (an account) instead of failing.
    #[error("the stored {key} is unusable: {kind}")]
    Corrupt {
        /// The storage key of the value.
        key: String,
        /// What is wrong with it.
        kind: Corruption,
    },

    /// A certificate (issued, stored or given) cannot be used.
    #[error("unusable certificate: {reason}")]
    Certificate {
        /// Why.
        reason: String,
    },

    /// The HTTP-01 challenge server could not be started.
    #[error("cannot start the HTTP-01 challenge server on {addr}")]
    ChallengeServer {
        /// The address it was to listen on.
        addr: std::net::SocketAddr,
        /// The cause (from the server backend).
        #[source]
        source: paf_core::Error,
    },

    /// The DNS provider failed to set or remove a DNS-01 TXT record.
    #[error("the DNS provider could not {action} the TXT record {record}")]
    Dns {
        /// `set` or `clear`.
        action: &'static str,
        /// The record's name (`_acme-challenge.example.org`).
        record: String,
        /// The provider's error.
        #[source]
        source: BoxError,
    },

    /// A paf-core error: building a TLS configuration, parsing PEM.
    #[error(transparent)]
    Paf(#[from] paf_core::Error),
}

impl Error {
    /// True for [`Error::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// True for [`Error::Authorization`].
    pub fn is_authorization(&self) -> bool {
        matches!(self, Error::Authorization { .. })
    }

    /// True for [`Error::DirectoryUnreachable`].
    pub fn is_directory_unreachable(&self) -> bool {
        matches!(self, Error::DirectoryUnreachable { .. })
    }

    /// True for [`Error::Unsupported`].
    pub fn is_unsupported(&self) -> bool {
        matches!(self, Error::Unsupported { .. })
    }

    /// True for [`Error::Config`].
    pub fn is_config(&self) -> bool {
        matches!(self, Error::Config { .. })
    }

    /// True for [`Error::Corrupt`].
    pub fn is_corrupt(&self) -> bool {
        matches!(self, Error::Corrupt { .. })
    }

    /// True for [`Error::Storage`].
    pub fn is_storage(&self) -> bool {
        matches!(self, Error::Storage(_))
    }

    /// True when trying again unchanged cannot help: the configuration is
    /// refused ([`Error::Config`], [`Error::Unsupported`], [`Error::Key`]),
    /// or the CA answered with a problem that only a change of names,
    /// account or DNS can fix (`rejectedIdentifier`, `unauthorized`,
    /// `malformed`, `unsupportedIdentifier`, `caa`, `badCSR`,
    /// `invalidContact`, `unsupportedContact`, `externalAccountRequired`,
    /// `userActionRequired`). Renewal still retries these, at the long end
    /// of its backoff, in case the cause was fixed meanwhile.
    pub fn is_permanent(&self) -> bool {
        match self {
            Error::Config { .. } | Error::Unsupported { .. } | Error::Key { .. } => true,
            _ => self
                .problem()
                .and_then(|problem| problem.kind.as_deref())
                .and_then(|kind| kind.strip_prefix(ACME_ERROR_PREFIX))
                .is_some_and(|kind| PERMANENT_PROBLEMS.contains(&kind)),
        }
    }

    /// How long the CA asked to wait before trying again (its
    /// `Retry-After`, counted from its answer), when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.problem().and_then(|problem| problem.retry_after)
    }

    /// The ACME problem document the CA sent, for the variants that carry one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::AccountRefused { problem, .. } | Error::OrderRefused { problem, .. } => {
                Some(problem)
            }
            Error::Authorization { problem, .. } | Error::Acme { problem, .. } => {
                problem.as_deref()
            }
            _ => None,
        }
    }

    pub(crate) fn config(reason: impl Into<String>) -> Self {
        Error::Config {
            reason: reason.into(),
        }
    }

    pub(crate) fn corrupt(key: impl Into<String>, kind: Corruption) -> Self {
        Error::Corrupt {
            key: key.into(),
            kind,
        }
    }

    /// Attaches the CA's `Retry-After` to the problem document, if there
    /// is one: instant-acme keeps only the body of a refusal, paf-le's
    /// HTTP client sees its headers.
    pub(crate) fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        let problem = match &mut self {
            Error::AccountRefused { problem, .. } | Error::OrderRefused { problem, .. } => {
                Some(problem)
            }
            Error::Authorization { problem, .. } | Error::Acme { problem, .. } => problem.as_mut(),
            _ => None,
        };
        if let Some(problem) = problem {
            if problem.retry_after.is_none() {
                problem.retry_after = retry_after;
            }
        }
        self
    }

    /// An instant-acme error at `step` of the flow, with the problem
    /// document taken out when there is one.
    pub(crate) fn acme(step: &'static str, err: instant_acme::Error) -> Self {
        let problem = match &err {
            instant_acme::Error::Api(problem) => Some(Box::new(Problem::from(problem))),
            _ => None,
        };
        Error::Acme {
            step,
            problem,
            source: Box::new(err),
        }
    }
}

/// The ACME error types (after `urn:ietf:params:acme:error:`) that
/// trying again unchanged cannot fix.
const PERMANENT_PROBLEMS: &[&str] = &[
    "rejectedIdentifier",
    "unauthorized",
    "malformed",
    "unsupportedIdentifier",
    "caa",
    "badCSR",
    "invalidContact",
    "unsupportedContact",
    "externalAccountRequired",
    "userActionRequired",
];

pub(crate) const ACME_ERROR_PREFIX: &str = "urn:ietf:params:acme:error:";

/// What is wrong with a damaged value in the storage ([`Error::Corrupt`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Corruption {
    /// The bytes are not UTF-8 text.
    #[error("it is not text")]
    NotText,
    /// A PEM section is malformed or cut short: the file was half written.
    #[error("its PEM text is malformed or cut short ({0})")]
    Pem(String),
    /// The bundle holds no certificate.
    #[error("it holds no certificate")]
    NoCertificate,
    /// The bundle holds no private key (a bundle cut short loses its key,
    /// which comes last).
    #[error("it holds no private key")]
    NoPrivateKey,
    /// The bundle holds more than one private key.
    #[error("it holds more than one private key")]
    SeveralKeys,
    /// The private key does not belong to the leaf certificate.
    #[error("its private key does not belong to its certificate")]
    KeyMismatch,
    /// The leaf certificate cannot be read (its validity period, its names).
    #[error("its certificate cannot be read: {0}")]
    Certificate(String),
    /// The account credentials are not what paf-le stores.
    #[error("the account credentials do not parse: {0}")]
    Account(String),
}

/// An ACME problem document (RFC 8555 §6.7, RFC 7807): the CA's account of
/// why it refused something.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The problem type, an URN such as
    /// `urn:ietf:params:acme:error:connection`.
    pub kind: Option<String>,
    /// The human-readable explanation.
    pub detail: Option<String>,
    /// The HTTP status the CA answered with.
    pub status: Option<u16>,
    /// Problems about single identifiers, as `identifier: detail (type)` texts.
    pub subproblems: Vec<String>,
    /// How long the CA asked to wait before trying again (its
    /// `Retry-After` header), counted from its answer.
    pub retry_after: Option<Duration>,
}

impl From<&instant_acme::Problem> for Problem {
    fn from(problem: &instant_acme::Problem) -> Self {
        Problem {
            kind: problem.r#type.clone(),
            detail: problem.detail.clone(),
            status: problem.status,
            subproblems: problem
                .subproblems
                .iter()
                .map(|sub| {
                    let mut text = String::new();
                    if let Some(id) = &sub.identifier {
                        text.push_str(&id.authorized(false).to_string());
                        text.push_str(": ");
                    }
                    text.push_str(sub.detail.as_deref().unwrap_or("no detail"));
                    if let Some(kind) = &sub.r#type {
                        text.push_str(&format!(" ({kind})"));
                    }
                    text
                })
                .collect(),
            retry_after: None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.detail.as_deref().unwrap_or("no detail given"))?;
        if let Some(kind) = &self.kind {
            write!(f, " ({kind})")?;
        }
        for sub in &self.subproblems {
            write!(f, "; {sub}")?;
        }
        Ok(())
    }
}

struct ProblemOrStatus<'a>(Option<&'a Problem>, &'a str);

impl fmt::Display for ProblemOrStatus<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(problem) => write!(f, "{problem}"),
            None => write!(f, "its status is {}", self.1),
        }
    }
}

struct OptionalProblem<'a>(Option<&'a Problem>);

impl fmt::Display for OptionalProblem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(problem) => write!(f, ": {problem}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection_problem() -> Problem {
        Problem {
            kind: Some("urn:ietf:params:acme:error:connection".into()),
            detail: Some("127.0.0.1: Connection refused".into()),
            status: Some(400),
            subproblems: Vec::new(),
            retry_after: None,
        }
    }

    #[test]
    fn authorization_error_names_identifier_url_and_detail() {
        let err = Error::Authorization {
            identifier: "example.test".into(),
            url: "https://ca/authz/1".into(),
            status: "invalid".into(),
            problem: Some(Box::new(connection_problem())),
        };
        assert!(err.is_authorization());
        assert_eq!(
            err.to_string(),
            "the authorization of example.test (https://ca/authz/1) failed: \
             127.0.0.1: Connection refused (urn:ietf:params:acme:error:connection)"
        );
        assert_eq!(err.problem(), Some(&connection_problem()));
    }

    #[test]
    fn authorization_error_without_problem_gives_the_status() {
        let err = Error::Authorization {
            identifier: "example.test".into(),
            url: "https://ca/authz/1".into(),
            status: "expired".into(),
            problem: None,
        };
        assert!(err.to_string().ends_with("failed: its status is expired"));
    }

    #[test]
    fn acme_error_keeps_the_problem_and_the_cause() {
        let source = instant_acme::Error::Api(instant_acme::Problem {
            r#type: Some("urn:ietf:params:acme:error:rateLimited".into()),
            detail: Some("too many orders".into()),
            status: Some(429),
            subproblems: Vec::new(),
        });
        let err = Error::acme("placing the order", source);
        assert_eq!(
            err.to_string(),
            "ACME request failed while placing the order: too many orders \
             (urn:ietf:params:acme:error:rateLimited)"
        );
        assert_eq!(err.problem().and_then(|p| p.status), Some(429));
        assert!(std::error::Error::source(&err).is_some());
    }
}
