//! The conformance suite of paf's client backends lives in `tests/`: one
//! list of cases, run against hyper and reqwest through the async client
//! trait and against ureq through the blocking one, printing a capability
//! matrix (case × backend → pass / unsupported). Each case also has a
//! test per backend, `paf::<case>::<backend>`, to run it alone.
#![forbid(unsafe_code)]
