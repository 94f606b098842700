//! Repeating a step the CA refused for a bad nonce.
//!
//! instant-acme already sends each request up to three times when the CA
//! refuses its nonce; pebble refuses 5% of good nonces, so three refusals
//! in a row happen about once in 8000 requests: often enough to fail a
//! test run now and then, and a busy CA can do worse. A CA checks the
//! nonce before acting on a request, so repeating the whole step is safe.

/// How many times a step refused for a bad nonce is tried in all.
pub(crate) const BAD_NONCE_ROUNDS: usize = 6;

pub(crate) fn is_bad_nonce(err: &instant_acme::Error) -> bool {
    matches!(err, instant_acme::Error::Api(problem) if is_bad_nonce_problem(problem))
}

pub(crate) fn is_bad_nonce_problem(problem: &instant_acme::Problem) -> bool {
    problem.r#type.as_deref() == Some("urn:ietf:params:acme:error:badNonce")
}

/// Evaluates an instant-acme step (an expression ending in `.await`) again
/// while the CA refuses it for a bad nonce, at most [`BAD_NONCE_ROUNDS`]
/// times in all. A macro rather than a function taking a closure: the
/// steps borrow the order mutably, and a future made by an async closure
/// through a generic function is not provably `Send`.
macro_rules! retry_bad_nonce {
    ($step:expr) => {{
        let mut round = 1;
        loop {
            match $step {
                Err(err)
                    if $crate::nonce::is_bad_nonce(&err)
                        && round < $crate::nonce::BAD_NONCE_ROUNDS =>
                {
                    ::tracing::debug!(round, "the CA refused the nonce again: repeating the step");
                    round += 1;
                }
                outcome => break outcome,
            }
        }
    }};
}
pub(crate) use retry_bad_nonce;
