//! paf-compat: OCaml CoHTTP's names over paf, for porting CoHTTP code to
//! Rust one function at a time.
//!
//! **Which crate?** This one is for code that comes from CoHTTP (its names,
//! its answers). New Rust code is better served by the `http`-typed API:
//! [`paf_core`] (requests are `http::Request<paf_core::Body>`) with an
//! engine crate, `paf-hyper` (async client and server), `paf-reqwest` or
//! `paf-ureq` (blocking). Both layers share the transport context and the
//! engines, and convert into each other.
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
//! [`response`], [`path`], and with the backend features `client`,
//! `blocking` and `server`. OCaml functions keep their names; OCaml variants become Rust
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
//! | `client`, `server` | named for what they give: both are `hyper` |
//! | `blocking` | named for what it gives: `ureq` |
//!
//! With none of them, the header-level modules, [`Body`], [`Request`] and
//! [`Response`] remain. A backend whose feature is off cannot be named
//! (`Backend::Reqwest` does not exist without `reqwest`): a compile error,
//! not a surprise at run time; a backend named at run time (`"reqwest".parse()`)
//! is [`Error::BackendDisabled`] when its feature is off.
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
//!     // An `Err` answers CoHTTP's 500, as a raised exception does there.
//!     let text = body.to_string().await?;
//!     let meth = code::string_of_method(req.meth());
//!     let body = format!("{meth} {}: {text}", req.resource());
//!     Ok::<_, paf_compat::Error>(server::respond_string(Status::Ok, body, None))
//! };
//! // `Server::create(Mode::port(8080), Server::make(callback)).await?` is
//! // the line above, line for line. Binding instead gives the port (0 picks
//! // a free one) and a handle that stops the server.
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
//! Every function (`val`) of CoHTTP 6's interfaces is here: `cohttp`'s
//! modules, `cohttp-lwt`'s `Body`, `Client`, `Server`, `Connection` and
//! `Connection_cache`, `cohttp-lwt-unix`'s additions, and the functions of the
//! `http` library that CoHTTP programs call on its requests and responses
//! (`Http.Request.requires_content_length`, `content_length`,
//! `supports_chunked_trailers`, `add_te_trailers`,
//! `Http.Response.is_keep_alive`, `requires_content_length`,
//! `content_length`, `Http.Transfer.compare_encoding`). Each counts once, in
//! the last column:
//!
//! - **same name**: a Rust item of the OCaml name (in Rust's case:
//!   `Header.user_agent` is `USER_AGENT`, `Rel.next` is `Rel::Next`), its
//!   optional arguments as methods or `Option`s;
//! - **reshaped**: a counterpart under another name or form (`Body.drain_body`
//!   is `Body::drain`, `pp_hum` is `{:?}`);
//! - **missing**: no counterpart, for the reason given.
//!
//! Of 259 functions, **208 have the same name, 15 are reshaped and 36 are
//! missing**. Derived sexp converters and the functor plumbing are listed at
//! the end and not counted. ocaml-uri's `Uri`, which CoHTTP programs use
//! throughout, has a table of its own in the [`uri`] module.
//!
//! ## Client (`Cohttp_lwt_unix.Client`, `Cohttp.Generic.Client`)
//!
//! | CoHTTP | paf-compat | counted |
//! |---|---|---|
//! | `Client.get ?ctx ?headers uri` | `client.get(uri)` `.ctx(c)` `.headers(h)` `.await` | same name ×1 |
//! | `Client.head ?ctx ?headers uri` (a `Response.t`) | `client.head(uri)…await` (a `Response`) | same name ×1 |
//! | `Client.delete`, `post`, `put`, `patch` `?ctx ?body ?chunked ?headers uri` | `client.delete(uri)`, `post`, `put`, `patch` `.body(b)` `.chunked(bool)` `…await` | same name ×4 |
//! | `Client.call ?ctx ?headers ?body ?chunked meth uri` | `client.call(meth, uri)…await` | same name ×1 |
//! | `Client.post_form ?ctx ?headers ~params uri` | `client.post_form(uri, params)…await` | same name ×1 |
//! | `Client.callv ?ctx uri requests` (an `Lwt_stream.t`) | `client.callv(uri, requests)` `.ctx(c)` `.await` (a `Vec`, in order) | same name ×1 |
//! | `Client.map_context v f` (lifts `f` over a function taking `?ctx`) | `client.map_context(f)`: a client whose calls go through `f(ctx)`, `f` changing the client's context (see `client::Client::map_context`) | reshaped ×1 |
//! | `Cohttp_lwt_unix.Client.custom_ctx ?ctx ?resolver ()` | [`Ctx::new`] `.route(host, endpoint)`, `.with_ca_pem(pem)` …; `ClientBuilder::ctx` | reshaped ×1 |
//! | `Client.set_cache` | *(none)*: pooling is the backend's, keyed by endpoint | missing ×1 |
//! | the same, blocking | `blocking::Client`, the same names, `.send()` | — |
//! | `Conduit` context, `?ctx` | [`Ctx`] (`paf_core::Ctx`) | — |
//!
//! ## Server (`Cohttp_lwt_unix.Server`, `Cohttp.Generic.Server`)
//!
//! | CoHTTP | paf-compat | counted |
//! |---|---|---|
//! | `Server.make ?conn_closed ~callback ()` | `Server::make(callback).conn_closed(f)`; the callback answers `(Response, Body)` or a `Result` of it, whose `Err` gets CoHTTP's answer to a raised exception (`server::CallbackOutput`) | same name ×1 |
//! | `Server.create ?timeout ?backlog ?stop ?on_exn ?ctx ?mode t` | `Server::create(mode, server)` `.stop(future)` `.grace(d)` `.hyper(builder)` `.await`; `mode` is a `server::Mode`: `` `TCP `` `Tcp(addr)` (`Mode::port(p)`), `` `TLS `` `Tls(addr, config)`, `` `Unix_domain_socket `` `UnixDomainSocket(path)`. `?timeout`, `?backlog`: `.hyper(paf_hyper::ServerBuilder)`; `?on_exn`: errors go to the `tracing` log | same name ×1 |
//! | `Server.create` holding the server, to learn its port or stop it from elsewhere | `server.bind_tcp(addr).await` or `server.bind_unix(path).await` → `Running`; `running.wait().await` is `Server.create`'s blocking form, `Running::stop` / `StopHandle` its `?stop` | — |
//! | `Server.callback t` | `server.handler()` (a `paf_core::server::Handler`); `server.hyper(builder)` for a paf-hyper server | reshaped ×1 |
//! | `Server.make_response_action ?conn_closed ~callback ()` (`` `Expert `` or `` `Response `` answers) | `Server::make_response_action(callback)`: the callback answers a `server::ResponseAction` (`Expert(res, f)` or `Response(res, body)`); `server::respond_upgrade(headers, f)` is a `101` with `f` | same name ×1 |
//! | `Server.make_expert ?conn_closed ~callback ()` (`res, fun ic oc -> …`) | `Server::make_expert(callback)`: the callback answers `(Response, server::Expert)`, `Expert::new(f)` taking the connection (`server::Upgraded`, `ic` and `oc` in one stream) once `res` is written. An `Expert` answer must switch protocols: `101` to an upgrade request on HTTP/1.1, or `2xx` to `CONNECT` (others are `500`: hyper owns the connection until it is upgraded) | same name ×1 |
//! | the client half of an upgrade (ocaml-websocket writes it on a Conduit flow) | `client.get(uri).headers(h).upgrade().await` → `(Response, client::Upgrade)`: `Switched(stream)` after a `101`, else `Refused(body)` (hyper backend) | — |
//! | `conn` (callback argument) | `server::Conn` (`paf_core::server::ConnInfo`: peer, version, TLS, id) | — |
//! | `Server.respond ?headers ~status ~body ()` | `server::respond(status, body, headers)` | same name ×1 |
//! | `Server.respond_string ?headers ~status ~body ()` | `server::respond_string(status, body, headers)` | same name ×1 |
//! | `Server.respond_error ?headers ?status ~body ()` | `server::respond_error(status, body, headers)` | same name ×1 |
//! | `Server.respond_redirect ?headers ~uri ()` | `server::respond_redirect(uri, headers)` | same name ×1 |
//! | `Server.respond_need_auth ?headers ~auth ()` | `server::respond_need_auth(&auth, headers)` | same name ×1 |
//! | `Server.respond_not_found ?uri ()` | `server::respond_not_found(uri)` | same name ×1 |
//! | `Server.respond_file ?headers ~fname ()` | `server::respond_file(fname, headers).await`: streamed, regular files only; `server::respond_file_under(docroot, uri, headers)` does the resolution too and never reads outside the root | same name ×1 |
//! | `Server.resolve_local_file ~docroot ~uri` | `server::resolve_local_file(docroot, uri)`: `..` resolved inside the root, `None` for one that would leave it | same name ×1 |
//! | `Server.resolve_file ~docroot ~uri` (deprecated) | `server::resolve_local_file(docroot, uri)` | reshaped ×1 |
//! | `Magic_mime.lookup` | `server::mime_type(path)` | — |
//!
//! ## Request (`Cohttp.Request`, and `Http.Request`'s own functions)
//!
//! | CoHTTP | paf-compat | counted |
//! |---|---|---|
//! | `Request.make ?meth ?version ?encoding ?headers ?absolute_form uri` | `Request::builder(uri)` `.meth(m)` `.version(v)` `.encoding(e)` `.headers(h)` `.absolute_form(b)` `.build()`; [`Request::make`] | same name ×1 |
//! | `Request.make_for_client ?headers ?chunked ?body_length ?absolute_form meth uri` | [`Request::make_for_client`]`(meth, uri)` `.headers(h)` `.chunked(b)` `.body_length(n)` `.absolute_form(b)` `.build()?` (`Invalid_argument` is [`Error::InvalidArgument`]) | same name ×1 |
//! | `Request.meth`, `resource`, `version`, `headers`, `uri`, `encoding`, `has_body`, `is_keep_alive` | [`Request::meth`], [`resource`](Request::resource), [`version`](Request::version), [`headers`](Request::headers), [`uri`](Request::uri), [`encoding`](Request::encoding), [`has_body`](Request::has_body), [`is_keep_alive`](Request::is_keep_alive) | same name ×8 |
//! | `Http.Request.requires_content_length`, `content_length`, `supports_chunked_trailers`, `add_te_trailers` | [`Request::requires_content_length`], [`content_length`](Request::content_length), [`supports_chunked_trailers`](Request::supports_chunked_trailers), [`add_te_trailers`](Request::add_te_trailers) | same name ×4 |
//! | `Request.compare`, `pp_hum` | `==` (`PartialEq`), `{:?}` | reshaped ×2 |
//! | `{ r with headers }` | `with_headers` | — |
//! | `Request.read`, `make_body_reader`, `read_body_chunk`, `make_body_writer`, `write_header`, `write_body`, `write` (cohttp-lwt-unix's wire I/O) | *(none)*: hyper reads and writes the messages; bodies are [`Body`] streams | missing ×7 |
//!
//! ## Response (`Cohttp.Response`, and `Http.Response`'s own functions)
//!
//! | CoHTTP | paf-compat | counted |
//! |---|---|---|
//! | `Response.make ?version ?status ?encoding ?headers ()` | `Response::builder()` `.status(s)` … `.build()`; [`Response::make`] | same name ×1 |
//! | `Response.status`, `version`, `headers`, `encoding`, `has_body` | [`Response::status`], [`version`](Response::version), [`headers`](Response::headers), [`encoding`](Response::encoding), [`has_body`](Response::has_body) | same name ×5 |
//! | `Http.Response.is_keep_alive`, `requires_content_length ?request_meth`, `content_length` | [`Response::is_keep_alive`], [`requires_content_length`](Response::requires_content_length)`(Option<&Method>)`, [`content_length`](Response::content_length) | same name ×3 |
//! | `Response.compare`, `pp_hum` | `==` (`PartialEq`), `{:?}` | reshaped ×2 |
//! | `{ r with headers }`, `{ r with status }` | `with_headers`, `with_status` | — |
//! | `Response.read`, `make_body_reader`, `read_body_chunk`, `make_body_writer`, `write_header`, `write_body`, `write` (cohttp-lwt-unix's wire I/O) | *(none)*: hyper reads and writes the messages | missing ×7 |
//!
//! ## Body (`Cohttp_lwt.Body`)
//!
//! `Cohttp.Body`'s functions are the same names over the in-memory forms, served by the same [`Body`]; they are counted once, here.
//!
//! | CoHTTP | paf-compat | counted |
//! |---|---|---|
//! | `Body.empty`, `of_string`, `of_string_list`, `of_stream`, `of_form` | [`Body::empty`], [`Body::of_string`], [`Body::of_string_list`], [`Body::of_stream`], [`Body::of_form`] | same name ×5 |
//! | `Body.to_string`, `to_string_list`, `to_form` | [`Body::to_string`] (capped at [`body::DEFAULT_LIMIT`]; [`Body::to_string_with_limit`]; bytes that are not UTF-8 are [`Error::BodyNotUtf8`]), [`Body::to_string_list`], [`Body::to_form`] | same name ×3 |
//! | `Body.is_empty`, `length`, `transfer_encoding`, `map` | [`Body::is_empty`], [`Body::length`] (and [`Body::len`]), [`Body::transfer_encoding`], [`Body::map`] | same name ×4 |
//! | `Body.write_body fn body` | [`Body::write_body`]`(f).await`, `f` an async closure | same name ×1 |
//! | `Body.create_stream fn arg` | [`body::create_stream`]`(f, arg)`, `f` an async closure answering a [`transfer::Chunk`]; give it to [`Body::of_stream`] | same name ×1 |
//! | `Body.drain_body` | [`Body::drain`] | reshaped ×1 |
//! | `Body.to_stream` | [`Body::into_core`] (a `paf_core::Body`, a stream) | reshaped ×1 |
//!
//! ## Header (`Cohttp.Header`, which includes `Http.Header`)
//!
//! | CoHTTP | paf-compat | counted |
//! |---|---|---|
//! | `Header.init`, `init_with`, `of_list`, `of_list_rev`, `to_list`, `to_lines`, `to_frames`, `to_string` | [`Header::init`], [`Header::init_with`], [`Header::of_list`], [`Header::of_list_rev`], [`Header::to_list`], [`Header::to_lines`], [`Header::to_frames`], `to_string()` (`Display`) | same name ×8 |
//! | `Header.add`, `add_list`, `add_multi`, `add_opt`, `add_unless_exists`, `add_opt_unless_exists` | [`Header::add`], [`Header::add_list`], [`Header::add_multi`], [`Header::add_opt`], [`Header::add_unless_exists`], [`Header::add_opt_unless_exists`] | same name ×6 |
//! | `Header.get`, `get_multi`, `get_multi_concat ?list_value_only`, `mem` | [`Header::get`] (the last value), [`Header::get_multi`], [`Header::get_multi_concat`], [`Header::get_multi_concat_list_value_only`], [`Header::mem`] | same name ×4 |
//! | `Header.remove`, `replace`, `update`, `update_all`, `map`, `clean_dup` | [`Header::remove`], [`Header::replace`], [`Header::update`], [`Header::update_all`], [`Header::map`], [`Header::clean_dup`] | same name ×6 |
//! | `Header.iter`, `iter_ord`, `fold`, `is_empty`, `compare` | [`Header::iter`], [`Header::iter_ord`], [`Header::fold`], [`Header::is_empty`], [`Header::compare`] (and [`Header::len`], CoHTTP 5's `length`) | same name ×5 |
//! | `Header.get_content_range`, `get_media_type`, `get_connection_close`, `connection`, `get_location`, `is_form` | [`Header::get_content_range`], [`Header::get_media_type`], [`Header::get_connection_close`], [`Header::connection`], [`Header::get_location`], [`Header::is_form`] | same name ×6 |
//! | `Header.get_transfer_encoding`, `add_transfer_encoding` | [`Header::get_transfer_encoding`], [`Header::add_transfer_encoding`] | same name ×2 |
//! | `Header.get_authorization`, `add_authorization`, `add_authorization_req` | [`Header::get_authorization`], [`Header::add_authorization`], [`Header::add_authorization_req`] | same name ×3 |
//! | `Header.get_links`, `add_links` | [`Header::get_links`], [`Header::add_links`] | same name ×2 |
//! | `Header.get_acceptable_media_ranges`, `_charsets`, `_encodings`, `_languages` | [`Header::get_acceptable_media_ranges`], [`Header::get_acceptable_charsets`], [`Header::get_acceptable_encodings`], [`Header::get_acceptable_languages`] | same name ×4 |
//! | `Header.user_agent`, `prepend_user_agent` | [`header::USER_AGENT`], [`Header::prepend_user_agent`] | same name ×2 |
//! | `Header.pp_hum` | `{:?}` | reshaped ×1 |
//!
//! ## Code
//!
//! | CoHTTP | paf-compat | counted |
//! |---|---|---|
//! | `` `GET ``, `` `Not_found ``, `` `HTTP_1_1 `` … | [`code::Method::Get`], [`code::Status::NotFound`], [`code::Version::Http1_1`] … | — |
//! | `Code.string_of_method`, `method_of_string`, `compare_method` | [`code::string_of_method`], [`code::method_of_string`], [`code::compare_method`] | same name ×3 |
//! | `Code.string_of_version`, `version_of_string`, `compare_version` | [`code::string_of_version`], [`code::version_of_string`], [`code::compare_version`] | same name ×3 |
//! | `Code.status_of_code`, `code_of_status`, `string_of_status`, `reason_phrase_of_code` | [`code::status_of_code`], [`code::code_of_status`], [`code::string_of_status`], [`code::reason_phrase_of_code`] | same name ×4 |
//! | `Code.is_informational`, `is_success`, `is_redirection`, `is_client_error`, `is_server_error`, `is_error` | [`code::is_informational`], [`code::is_success`], [`code::is_redirection`], [`code::is_client_error`], [`code::is_server_error`], [`code::is_error`] | same name ×6 |
//!
//! ## Cookie, Auth, Accept
//!
//! | CoHTTP | paf-compat | counted |
//! |---|---|---|
//! | `Cookie.Set_cookie_hdr.make ?expiration ?path ?domain ?secure ?http_only cookie` | [`cookie::SetCookieHdr::make`] `.with_expiration(e)` `.with_path(p)` `.with_domain(d)` `.with_secure(b)` `.with_http_only(b)` | same name ×1 |
//! | `Set_cookie_hdr.serialize ?version`, `extract`, `cookie`, `value`, `expiration`, `domain`, `path`, `secure`, `http_only` | [`cookie::SetCookieHdr::serialize`] / [`serialize_version`](cookie::SetCookieHdr::serialize_version), [`extract`](cookie::SetCookieHdr::extract), [`cookie`](cookie::SetCookieHdr::cookie), [`value`](cookie::SetCookieHdr::value), [`expiration`](cookie::SetCookieHdr::expiration), [`domain`](cookie::SetCookieHdr::domain), [`path`](cookie::SetCookieHdr::path), [`secure`](cookie::SetCookieHdr::secure), [`http_only`](cookie::SetCookieHdr::http_only) | same name ×9 |
//! | `Cookie.Cookie_hdr.serialize`, `extract`; `` `Session ``, `` `Max_age `` | [`cookie::CookieHdr::serialize`], [`cookie::CookieHdr::extract`]; [`cookie::Expiration`] | same name ×2 |
//! | `Auth.string_of_credential`, `credential_of_string`, `string_of_challenge`; `` `Basic `` | [`auth::string_of_credential`], [`auth::credential_of_string`], [`auth::string_of_challenge`]; [`auth::Credential`], [`auth::Challenge`] | same name ×3 |
//! | `Accept.media_ranges`, `charsets`, `encodings`, `languages`, `qsort` | [`accept::media_ranges`], [`accept::charsets`], [`accept::encodings`], [`accept::languages`], [`accept::qsort`] | same name ×5 |
//! | `Accept.string_of_media_range(s)`, `_charset(s)`, `_encoding(s)`, `_language(s)` | [`accept::string_of_media_range`], [`accept::string_of_media_ranges`], [`accept::string_of_charset`], [`accept::string_of_charsets`], [`accept::string_of_encoding`], [`accept::string_of_encodings`], [`accept::string_of_language`], [`accept::string_of_languages`] | same name ×8 |
//!
//! ## Link
//!
//! | CoHTTP | paf-compat | counted |
//! |---|---|---|
//! | `Link.of_string`, `Link.to_string`, `Link.empty` | [`link::of_string`], `to_string()` (`Display`), [`link::Link::empty`] | same name ×3 |
//! | `Link.Rel.extension` and the 39 relations (`Rel.alternate` … `Rel.working_copy_of`) | [`link::Rel::extension`], [`link::Rel::Alternate`] … [`link::Rel::WorkingCopyOf`] | same name ×40 |
//! | `Link.Arc.empty` | [`link::Arc::empty`] | same name ×1 |
//! | `Link.Ext.make ?charset ?language v`, `charset`, `language`, `value`, `map` | [`link::Ext::make`] `.with_charset(c)` `.with_language(l)`, [`charset`](link::Ext::charset), [`language`](link::Ext::language), [`value`](link::Ext::value), [`map`](link::Ext::map) | same name ×5 |
//! | `Link.Language.of_string`, `to_string`; `Link.Charset.of_string`, `to_string` | [`link::Language::of_string`], `to_string()` (`Display`; [`as_str`](link::Language::as_str)); [`link::Charset::of_string`], `to_string()` | same name ×4 |
//!
//! ## Transfer, Path
//!
//! | CoHTTP | paf-compat | counted |
//! |---|---|---|
//! | `Transfer.encoding` (`Chunked`, `Fixed`, `Unknown`), `chunk` | [`transfer::Encoding`], [`transfer::Chunk`] | — |
//! | `Transfer.string_of_encoding`, `has_body`, `Http.Transfer.compare_encoding` | [`transfer::string_of_encoding`], [`transfer::has_body`], [`transfer::compare_encoding`] | same name ×3 |
//! | `Transfer.pp_encoding` | `{}` (`Display`) | reshaped ×1 |
//! | `Path.normalise uri` | [`path::normalise`] (text; [`path::normalise_bytes`] keeps bytes that are not UTF-8), CoHTTP's answers, NUL and backslash included | same name ×1 |
//! | `Path.resolve_local_file ~docroot ~uri` | `path::resolve_local_file` (feature `hyper`; the same as `server::resolve_local_file`) | same name ×1 |
//!
//! ## The rest of CoHTTP
//!
//! | CoHTTP | paf-compat | counted |
//! |---|---|---|
//! | `Connection.create`, `to_string`, `compare` (connection ids) | `conn.id` (`server::ConnInfo::id`), a number the server gives each connection: `to_string()`, `cmp` | reshaped ×3 |
//! | `Conf.version` | *(none)*: CoHTTP's own version; [`header::USER_AGENT`] carries paf-compat's | missing ×1 |
//! | `Proxy.Forward.make_servers`, `get` | *(none)*: paf's clients have no forward proxy (`absolute_form` makes a request for one) | missing ×2 |
//! | `Cohttp_lwt.Connection`: `create`, `create_tunnel`, `connect`, `shutdown`, `close`, `is_closed`, `length`, `notify`, `call`; `exception Retry` | *(none)*: the engines own and pool connections; `callv` sends in order on one kept-alive connection, and the clients send an idempotent request again once when its connection closed unanswered (`Retry`'s case) | missing ×9 |
//! | `Connection_cache.Make_no_cache`, `Make`, `Make_proxy`: `create`, `call` | *(none)*: pooling is the backend's, keyed by endpoint | missing ×6 |
//! | `Cohttp_lwt_unix.Debug.activate_debug`, `debug_active`, `default_reporter` | *(none)*: logs are `tracing` events; install a subscriber (`tracing-subscriber`) at `debug` | missing ×3 |
//! | `sexp_of_t`, `t_of_sexp` and the other converters `[@@deriving sexp]` makes | *(none)*, and not counted: no sexplib; `{:?}` prints, `==` compares | — |
//! | `Net`, `IO`, the functors (`Make`, `Make_client`, `Make_server`), `S`, `Private` | *(none)*, and not counted: the plumbing that instantiates CoHTTP for an I/O library; paf-compat is one instantiation | — |
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
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
pub mod path;
pub mod request;
pub mod response;
#[cfg(feature = "hyper")]
pub mod server;
#[cfg(any(feature = "hyper", feature = "reqwest", feature = "ureq"))]
pub mod settings;
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
