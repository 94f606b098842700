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
//! [`accept`], [`link`], [`transfer`], [`body`], [`request`],
//! [`response`], and with the backend features `client`, `blocking` and
//! `server`. OCaml functions keep their names; OCaml variants become Rust
//! enums in CamelCase. Where CoHTTP's behaviour is surprising it is kept and
//! said in the item's documentation; where it raises an exception, the Rust
//! function returns an [`Error`] or, for CoHTTP's lenient parsers, reads
//! what it can. Nothing here panics on input. The types convert to and from
//! the `http` crate's (`HeaderMap`, `Method`, `StatusCode`, `Version`).
//!
//! paf-compat is a naming layer: requests go through paf's backends
//! (hyper, reqwest, ureq) and the server is paf-hyper's. CoHTTP's `?ctx`
//! (a Conduit context) is paf-core's transport context, [`Ctx`]: routes,
//! Unix sockets, extra CA certificates, user transports.
//!
//! # Features
//!
//! | feature | enables |
//! |---|---|
//! | `hyper` (default) | the async `Client` on hyper, and the `server` module (only hyper serves) |
//! | `reqwest` | the async `Client` on reqwest; with `hyper` too, pick one with `Client::with_backend` |
//! | `ureq` | the `blocking` module: the same client functions without a runtime, on ureq |
//!
//! With none of them, the header-level modules, [`Body`], [`Request`] and
//! [`Response`] remain. Naming a backend whose feature is off is
//! [`Error::BackendDisabled`].
//!
//! # Porting a client
//!
//! CoHTTP's optional arguments become methods of the call, which is sent
//! when awaited. Before, with cohttp-lwt-unix:
//!
//! ```ocaml
//! let fetch uri =
//!   let headers = Header.init_with "accept" "text/plain" in
//!   Client.get ~headers uri >>= fun (resp, body) ->
//!   let status = Code.code_of_status (Response.status resp) in
//!   Cohttp_lwt.Body.to_string body >|= fun text -> (status, text)
//! ```
//!
//! After:
//!
//! ```
//! # #[cfg(feature = "hyper")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), paf_compat::Error> {
//! # let running = paf_compat::Server::make(|_, _, _| async {
//! #     paf_compat::server::respond_string(paf_compat::code::Status::Ok, "hi", None)
//! # })
//! # .bind_tcp("127.0.0.1:0".parse().unwrap())
//! # .await?;
//! # let uri = running.url().unwrap();
//! use paf_compat::{code, Client, Header};
//!
//! async fn fetch(client: &Client, uri: &str) -> Result<(u16, String), paf_compat::Error> {
//!     let headers = Header::init_with("accept", "text/plain");
//!     let (resp, body) = client.get(uri).headers(headers).await?;
//!     let status = code::code_of_status(&resp.status());
//!     Ok((status, body.to_string().await?))
//! }
//!
//! let (status, text) = fetch(&Client::new(), &uri).await?;
//! assert_eq!((status, text.as_str()), (200, "hi"));
//! # running.stop(std::time::Duration::from_secs(1)).await;
//! # Ok(()) }
//! # #[cfg(not(feature = "hyper"))]
//! # fn main() {}
//! ```
//!
//! # Porting a server
//!
//! Before:
//!
//! ```ocaml
//! let callback _conn req body =
//!   Cohttp_lwt.Body.to_string body >>= fun text ->
//!   let meth = Code.string_of_method (Request.meth req) in
//!   Server.respond_string ~status:`OK
//!     ~body:(Printf.sprintf "%s %s: %s" meth (Request.resource req) text) ()
//!
//! let () = Lwt_main.run (Server.create ~mode:(`TCP (`Port 8080)) (Server.make ~callback ()))
//! ```
//!
//! After:
//!
//! ```
//! # #[cfg(feature = "hyper")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), paf_compat::Error> {
//! use paf_compat::code::{self, Status};
//! use paf_compat::server::{self, Conn, Server};
//! use paf_compat::{Body, Request};
//!
//! let callback = |_conn: Conn, req: Request, body: Body| async move {
//!     let text = body.to_string().await.unwrap_or_default();
//!     let meth = code::string_of_method(req.meth());
//!     server::respond_string(Status::Ok, format!("{meth} {}: {text}", req.resource()), None)
//! };
//! // Port 0 picks a free port; `Running` holds the stop handle.
//! let running = Server::make(callback).bind_tcp("127.0.0.1:0".parse().unwrap()).await?;
//! # let uri = format!("{}/x", running.url().unwrap());
//! # let (_, body) = paf_compat::Client::new().post(uri).body("hi").await?;
//! # assert_eq!(body.to_string().await?, "POST /x: hi");
//! running.stop(std::time::Duration::from_secs(1)).await;
//! # Ok(()) }
//! # #[cfg(not(feature = "hyper"))]
//! # fn main() {}
//! ```
//!
//! # Porting table
//!
//! OCaml `?x` arguments are methods (calls, builders) or `Option`
//! parameters (server helpers); `Lwt.t` results are futures, except in
//! `blocking`. A name followed by *(none)* has no counterpart, for the
//! reason given.
//!
//! ## Client (`Cohttp_lwt_unix.Client`)
//!
//! | CoHTTP | paf-compat |
//! |---|---|
//! | `Client.get ?ctx ?headers uri` | `client.get(uri)` `.ctx(c)` `.headers(h)` `.await` |
//! | `Client.head ?ctx ?headers uri` (a `Response.t`) | `client.head(uri)…await` (a `Response`) |
//! | `Client.delete`, `post`, `put`, `patch` `?ctx ?body ?chunked ?headers uri` | `client.delete(uri)`, `post`, `put`, `patch` `.body(b)` `.chunked(bool)` `…await` |
//! | `Client.call ?ctx ?headers ?body ?chunked meth uri` | `client.call(meth, uri)…await` |
//! | `Client.post_form ?ctx ?headers ~params uri` | `client.post_form(uri, params)…await` |
//! | `Client.callv ?ctx uri requests` (an `Lwt_stream.t`) | `client.callv(uri, requests)` `.ctx(c)` `.await` (a `Vec`, in order) |
//! | `Client.set_cache` | *(none)*: pooling is the backend's, keyed by endpoint |
//! | the same, blocking | `blocking::Client`, the same names, `.send()` |
//! | `Conduit` context, `?ctx` | [`Ctx`] (`paf_core::Ctx`) |
//!
//! ## Server (`Cohttp_lwt_unix.Server`)
//!
//! | CoHTTP | paf-compat |
//! |---|---|
//! | `Server.make ?conn_closed ~callback ()` | `Server::make(callback).conn_closed(f)` |
//! | `Server.make_response_action`, `make_expert`, `` `Expert `` | *(none)*: hyper owns the connection |
//! | `` Server.create ~mode:(`TCP (`Port p)) t `` | `server.bind_tcp(addr).await` → `Running` |
//! | `` Server.create ~mode:(`TLS …) t `` | `server.tls(rustls_config).bind_tcp(addr).await` |
//! | `` Server.create ~mode:(`Unix_domain_socket (`File p)) t `` | `server.bind_unix(path).await` |
//! | `?stop`, `?timeout`, `?on_exn` | `Running::stop` / `StopHandle`; `server.hyper(paf_hyper::ServerBuilder)` for timeouts |
//! | `Server.callback t` | `server.handler()` (a `paf_core::server::Handler`) |
//! | `conn` (callback argument) | `server::Conn` (`paf_core::server::ConnInfo`: peer, version, TLS) |
//! | `Server.respond ?headers ~status ~body ()` | `server::respond(status, body, headers)` |
//! | `Server.respond_string ?headers ~status ~body ()` | `server::respond_string(status, body, headers)` |
//! | `Server.respond_error ?headers ?status ~body ()` | `server::respond_error(status, body, headers)` |
//! | `Server.respond_redirect ?headers ~uri ()` | `server::respond_redirect(uri, headers)` |
//! | `Server.respond_need_auth ?headers ~auth ()` | `server::respond_need_auth(&auth, headers)` |
//! | `Server.respond_not_found ?uri ()` | `server::respond_not_found(uri)` |
//! | `Server.respond_file ?headers ~fname ()` | `server::respond_file(fname, headers).await`: streamed, regular files only; `server::respond_file_under(docroot, uri, headers)` does the resolution too and never reads outside the root |
//! | `Server.resolve_file ~docroot ~uri`, `Path.resolve_local_file` | `server::resolve_local_file(docroot, uri)`: `..` resolved inside the root, `None` for one that would leave it |
//! | `Magic_mime.lookup` | `server::mime_type(path)` |
//!
//! ## Request and Response
//!
//! | CoHTTP | paf-compat |
//! |---|---|
//! | `Request.make ?meth ?version ?encoding ?headers ?absolute_form uri` | `Request::builder(uri)` `.meth(m)` `.version(v)` `.encoding(e)` `.headers(h)` `.absolute_form(b)` `.build()`; `Request::make(uri)` |
//! | `Request.meth`, `resource`, `version`, `headers`, `uri`, `encoding`, `has_body`, `is_keep_alive` | [`Request::meth`], [`resource`](Request::resource), [`version`](Request::version), [`headers`](Request::headers), [`uri`](Request::uri), [`encoding`](Request::encoding), [`has_body`](Request::has_body), [`is_keep_alive`](Request::is_keep_alive) |
//! | `Response.make ?version ?status ?encoding ?headers ()` | `Response::builder()` `.status(s)` … `.build()`; [`Response::make`] |
//! | `Response.status`, `version`, `headers`, `encoding`, `has_body`, `is_keep_alive` | [`Response::status`], [`version`](Response::version), [`headers`](Response::headers), [`encoding`](Response::encoding), [`has_body`](Response::has_body), [`is_keep_alive`](Response::is_keep_alive) |
//! | `{ r with headers }`, `{ r with status }` | `with_headers`, `with_status` |
//! | `Request.compare`, `Response.compare`, `pp_hum` | `==` (`PartialEq`), `{:?}` |
//!
//! ## Body (`Cohttp_lwt.Body`)
//!
//! | CoHTTP | paf-compat |
//! |---|---|
//! | `Body.empty`, `of_string`, `of_string_list`, `of_stream`, `of_form` | [`Body::empty`], [`Body::of_string`], [`Body::of_string_list`], [`Body::of_stream`], [`Body::of_form`] |
//! | `Body.to_string` | [`Body::to_string`] (capped at [`body::DEFAULT_LIMIT`]; [`Body::to_string_with_limit`]) |
//! | `Body.to_string_list`, `to_form` | [`Body::to_string_list`], [`Body::to_form`] |
//! | `Body.is_empty`, `length`, `transfer_encoding`, `map` | [`Body::is_empty`], [`Body::length`] (and [`Body::len`]), [`Body::transfer_encoding`], [`Body::map`] |
//! | `Body.drain_body` | [`Body::drain`] |
//! | `Body.to_stream`, `write_body`, `create_stream` | [`Body::into_core`] (a `paf_core::Body`, a stream) |
//!
//! ## Header
//!
//! | CoHTTP | paf-compat |
//! |---|---|
//! | `Header.init`, `init_with`, `of_list`, `of_list_rev`, `to_list`, `to_lines`, `to_frames`, `to_string` | [`Header::init`], [`Header::init_with`], [`Header::of_list`], [`Header::of_list_rev`], [`Header::to_list`], [`Header::to_lines`], [`Header::to_frames`], `to_string()` (`Display`) |
//! | `Header.add`, `add_list`, `add_multi`, `add_opt`, `add_unless_exists`, `add_opt_unless_exists` | [`Header::add`], [`Header::add_list`], [`Header::add_multi`], [`Header::add_opt`], [`Header::add_unless_exists`], [`Header::add_opt_unless_exists`] |
//! | `Header.get`, `get_multi`, `get_multi_concat ?list_value_only`, `mem` | [`Header::get`] (the last value), [`Header::get_multi`], [`Header::get_multi_concat`], [`Header::get_multi_concat_list_value_only`], [`Header::mem`] |
//! | `Header.remove`, `replace`, `update`, `update_all`, `map`, `clean_dup` | [`Header::remove`], [`Header::replace`], [`Header::update`], [`Header::update_all`], [`Header::map`], [`Header::clean_dup`] |
//! | `Header.iter`, `iter_ord`, `fold`, `is_empty`, `length`, `compare` | [`Header::iter`], [`Header::iter_ord`], [`Header::fold`], [`Header::is_empty`], [`Header::len`], [`Header::compare`] |
//! | `Header.get_content_range`, `get_media_type`, `get_connection_close`, `connection`, `get_location`, `is_form` | [`Header::get_content_range`], [`Header::get_media_type`], [`Header::get_connection_close`], [`Header::connection`], [`Header::get_location`], [`Header::is_form`] |
//! | `Header.get_transfer_encoding`, `add_transfer_encoding` | [`Header::get_transfer_encoding`], [`Header::add_transfer_encoding`] |
//! | `Header.get_authorization`, `add_authorization`, `add_authorization_req` | [`Header::get_authorization`], [`Header::add_authorization`], [`Header::add_authorization_req`] |
//! | `Header.get_links`, `add_links` | [`Header::get_links`], [`Header::add_links`] |
//! | `Header.get_acceptable_media_ranges`, `_charsets`, `_encodings`, `_languages` | [`Header::get_acceptable_media_ranges`], [`Header::get_acceptable_charsets`], [`Header::get_acceptable_encodings`], [`Header::get_acceptable_languages`] |
//! | `Header.user_agent`, `prepend_user_agent` | [`header::USER_AGENT`], [`Header::prepend_user_agent`] |
//!
//! ## Code
//!
//! | CoHTTP | paf-compat |
//! |---|---|
//! | `` `GET ``, `` `Not_found ``, `` `HTTP_1_1 `` … | [`code::Method::Get`], [`code::Status::NotFound`], [`code::Version::Http1_1`] … |
//! | `Code.string_of_method`, `method_of_string`, `compare_method` | [`code::string_of_method`], [`code::method_of_string`], [`code::compare_method`] |
//! | `Code.string_of_version`, `version_of_string`, `compare_version` | [`code::string_of_version`], [`code::version_of_string`], [`code::compare_version`] |
//! | `Code.status_of_code`, `code_of_status`, `string_of_status`, `reason_phrase_of_code` | [`code::status_of_code`], [`code::code_of_status`], [`code::string_of_status`], [`code::reason_phrase_of_code`] |
//! | `Code.is_informational`, `is_success`, `is_redirection`, `is_client_error`, `is_server_error`, `is_error` | [`code::is_informational`], [`code::is_success`], [`code::is_redirection`], [`code::is_client_error`], [`code::is_server_error`], [`code::is_error`] |
//!
//! ## Cookie, Auth, Accept, Link, Transfer
//!
//! | CoHTTP | paf-compat |
//! |---|---|
//! | `Cookie.Set_cookie_hdr.make ?expiration ?path ?domain ?secure ?http_only cookie` | [`cookie::SetCookieHdr::make`] `.with_expiration(e)` `.with_path(p)` `.with_domain(d)` `.with_secure(b)` `.with_http_only(b)` |
//! | `Set_cookie_hdr.serialize ?version`, `extract`, `cookie`, `value`, `expiration`, `domain`, `path`, `secure`, `http_only` | [`cookie::SetCookieHdr::serialize`] / [`serialize_version`](cookie::SetCookieHdr::serialize_version), [`extract`](cookie::SetCookieHdr::extract), [`cookie`](cookie::SetCookieHdr::cookie), [`value`](cookie::SetCookieHdr::value), [`expiration`](cookie::SetCookieHdr::expiration), [`domain`](cookie::SetCookieHdr::domain), [`path`](cookie::SetCookieHdr::path), [`secure`](cookie::SetCookieHdr::secure), [`http_only`](cookie::SetCookieHdr::http_only) |
//! | `Cookie.Cookie_hdr.serialize`, `extract`; `` `Session ``, `` `Max_age `` | [`cookie::CookieHdr::serialize`], [`cookie::CookieHdr::extract`]; [`cookie::Expiration`] |
//! | `Auth.string_of_credential`, `credential_of_string`, `string_of_challenge`; `` `Basic `` | [`auth::string_of_credential`], [`auth::credential_of_string`], [`auth::string_of_challenge`]; [`auth::Credential`], [`auth::Challenge`] |
//! | `Accept.media_ranges`, `charsets`, `encodings`, `languages`, `qsort` | [`accept::media_ranges`], [`accept::charsets`], [`accept::encodings`], [`accept::languages`], [`accept::qsort`] |
//! | `Accept.string_of_media_range(s)`, `_charset(s)`, `_encoding(s)`, `_language(s)` | [`accept::string_of_media_range`], [`accept::string_of_media_ranges`], [`accept::string_of_charset`], [`accept::string_of_charsets`], [`accept::string_of_encoding`], [`accept::string_of_encodings`], [`accept::string_of_language`], [`accept::string_of_languages`] |
//! | `Link.of_string`, `Link.to_string`, `Link.Rel`, `Link.Arc`, `Link.Ext` | [`link::of_string`], `to_string()` (`Display`), [`link::Rel`], [`link::Arc`], [`link::Ext`] |
//! | `Transfer.encoding` (`Chunked`, `Fixed`, `Unknown`), `chunk`, `string_of_encoding`, `has_body`, `compare_encoding` | [`transfer::Encoding`], [`transfer::Chunk`], [`transfer::string_of_encoding`], [`transfer::has_body`], [`transfer::compare_encoding`] |
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Without a backend feature only the header-level modules have users: the
// conversions to and from the engines' messages lie unused.
#![cfg_attr(
    not(any(feature = "hyper", feature = "reqwest", feature = "ureq")),
    allow(dead_code, unused_imports, unused_macros)
)]

pub mod accept;
pub mod auth;
#[cfg(feature = "ureq")]
pub mod blocking;
pub mod body;
#[cfg(any(feature = "hyper", feature = "reqwest", feature = "ureq"))]
mod call;
#[cfg(any(feature = "hyper", feature = "reqwest"))]
pub mod client;
pub mod code;
pub mod cookie;
mod error;
mod form;
pub mod header;
pub mod link;
pub mod request;
pub mod response;
#[cfg(feature = "hyper")]
pub mod server;
#[cfg(any(feature = "hyper", feature = "reqwest", feature = "ureq"))]
mod settings;
pub mod transfer;
pub mod uri;

pub use body::Body;
#[cfg(any(feature = "hyper", feature = "reqwest"))]
pub use client::{Backend, Client};
pub use error::Error;
pub use header::Header;
pub use paf_core::{self, Ctx};
pub use request::Request;
pub use response::Response;
#[cfg(feature = "hyper")]
pub use server::Server;
pub use uri::Uri;
