//! paf-compat: OCaml CoHTTP's names over paf, for porting CoHTTP code to
//! Rust one function at a time.
//!
//! ```
//! use paf_compat::code::{self, Method, Status};
//! use paf_compat::Header;
//!
//! // `Header.add (Header.init ()) "accept" "text/html"` and so on:
//! let h = Header::init()
//!     .add("Accept", "text/html")
//!     .add("accept", "application/xml");
//! // CoHTTP 6 semantics: names ignore case, `get` is the last value.
//! assert_eq!(h.get("ACCEPT"), Some("application/xml"));
//! assert_eq!(h.get_multi_concat("accept").as_deref(), Some("text/html,application/xml"));
//!
//! assert_eq!(code::status_of_code(404), Status::NotFound);
//! assert_eq!(code::string_of_status(&Status::NotFound), "404 Not Found");
//! assert_eq!(code::method_of_string("PATCH"), Method::Patch);
//! ```
//!
//! Each module mirrors the CoHTTP module of the same name (CoHTTP 6, the
//! current upstream): [`header`], [`code`], [`cookie`], [`auth`],
//! [`accept`], [`link`] and [`transfer`]. OCaml functions keep their names;
//! OCaml variants become Rust enums in CamelCase. Where CoHTTP's behaviour is
//! surprising it is kept and said in the item's documentation; where it
//! raises an exception, the Rust function returns an [`Error`] or, for
//! CoHTTP's lenient parsers, reads what it can. Nothing here panics on
//! input. The types convert to and from the `http` crate's (`HeaderMap`,
//! `Method`, `StatusCode`, `Version`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod accept;
pub mod auth;
pub mod code;
pub mod cookie;
mod error;
pub mod header;
pub mod link;
pub mod transfer;

pub use error::Error;
pub use header::Header;
