//! CoHTTP's `Request`: the head of a request (method, resource, version,
//! headers) and what CoHTTP derives from it.
//!
//! The server hands one to its callback; the clients build one for every
//! call with [`Request::make`]'s rules (CoHTTP's `Request.make`: `host`,
//! `user-agent`, credentials from the URI, framing), and
//! `Client::callv` takes them whole.

use percent_encoding::percent_decode_str;

use crate::body::{frame, CoreBody};
use crate::code::{Method, Version};
use crate::header::USER_AGENT;
use crate::transfer::{self, Encoding, HasBody};
use crate::uri::{self, Uri};
use crate::{auth::Credential, Error, Header};

/// Something that names a URL: `&str`, `String`, [`http::Uri`] or
/// [`url::Url`](paf_core::url::Url). Text is parsed as an [`http::Uri`],
/// which keeps the path as written (`/a/../b` stays so).
pub trait IntoUri {
    /// The URI, or [`paf_core::Error::InvalidUrl`] naming the text.
    fn into_uri(self) -> Result<http::Uri, Error>;
}

impl IntoUri for http::Uri {
    fn into_uri(self) -> Result<http::Uri, Error> {
        Ok(self)
    }
}

impl IntoUri for &http::Uri {
    fn into_uri(self) -> Result<http::Uri, Error> {
        Ok(self.clone())
    }
}

impl IntoUri for &str {
    fn into_uri(self) -> Result<http::Uri, Error> {
        self.parse().map_err(|e: http::uri::InvalidUri| {
            Error::Http(paf_core::Error::InvalidUrl {
                url: self.to_owned(),
                reason: e.to_string(),
            })
        })
    }
}

impl IntoUri for &String {
    fn into_uri(self) -> Result<http::Uri, Error> {
        self.as_str().into_uri()
    }
}

impl IntoUri for String {
    fn into_uri(self) -> Result<http::Uri, Error> {
        self.as_str().into_uri()
    }
}

impl IntoUri for &paf_core::url::Url {
    fn into_uri(self) -> Result<http::Uri, Error> {
        self.as_str().into_uri()
    }
}

impl IntoUri for paf_core::url::Url {
    fn into_uri(self) -> Result<http::Uri, Error> {
        self.as_str().into_uri()
    }
}

/// A request head, as CoHTTP's `Request.t` (`Http.Request.t`).
///
/// ```
/// use paf_compat::{code::Method, transfer::Encoding, Request};
///
/// let req = Request::builder("http://example.org:8080/a?b=c".parse().unwrap())
///     .meth(Method::Post)
///     .encoding(Encoding::Fixed(3))
///     .build();
/// assert_eq!(req.resource(), "/a?b=c");
/// // CoHTTP's `Request.make` fills `host` and `user-agent` in.
/// assert_eq!(req.headers().get("host"), Some("example.org:8080"));
/// assert_eq!(req.headers().get("content-length"), Some("3"));
/// assert!(req.is_keep_alive());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    meth: Method,
    /// CoHTTP's `scheme`: the made URI's on a client, none on a server.
    scheme: Option<String>,
    resource: String,
    version: Version,
    headers: Header,
    /// The target as the engine takes it (absolute on a client).
    target: http::Uri,
}

/// CoHTTP's `Request.make` optional arguments: set what you need, then
/// [`build`](RequestBuilder::build).
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    uri: http::Uri,
    meth: Method,
    version: Version,
    headers: Header,
    encoding: Option<Encoding>,
    absolute_form: bool,
}

impl RequestBuilder {
    /// `?meth` (default `GET`).
    pub fn meth(mut self, meth: Method) -> Self {
        self.meth = meth;
        self
    }

    /// `?version` (default HTTP/1.1).
    pub fn version(mut self, version: Version) -> Self {
        self.version = version;
        self
    }

    /// `?headers` (default none).
    pub fn headers(mut self, headers: Header) -> Self {
        self.headers = headers;
        self
    }

    /// `?encoding`: declared with
    /// [`Header::add_transfer_encoding`] (so headers that already declare a
    /// framing keep theirs).
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = Some(encoding);
        self
    }

    /// `?absolute_form`: the resource is the whole URI (for a proxy) rather
    /// than its path and query.
    pub fn absolute_form(mut self, on: bool) -> Self {
        self.absolute_form = on;
        self
    }

    /// The request, as CoHTTP's `Request.make` builds it: `host` replaced
    /// by the URI's authority (a `host` header without a port gets the
    /// URI's), `user-agent` set to [`USER_AGENT`] unless present,
    /// `authorization: Basic` from the URI's `user:password@` unless
    /// present, and the framing of [`encoding`](RequestBuilder::encoding).
    pub fn build(self) -> Request {
        let uri = self.uri;
        let port = uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
        let host = match self.headers.get("host") {
            Some(host) if host.contains(':') => host.to_owned(),
            Some(host) => format!("{host}{port}"),
            None => format!("{}{port}", uri.host().unwrap_or("localhost")),
        };
        let mut headers = self
            .headers
            .replace("host", host)
            .add_unless_exists("user-agent", USER_AGENT);
        if headers.get_authorization().is_none() {
            if let Some(credential) = userinfo_credential(&uri) {
                headers = headers.add_authorization(&credential);
            }
        }
        if let Some(encoding) = self.encoding {
            headers = headers.add_transfer_encoding(encoding);
        }
        let resource = if self.absolute_form {
            uri.to_string()
        } else {
            origin_form(&uri)
        };
        Request {
            meth: self.meth,
            scheme: uri.scheme_str().map(str::to_owned),
            resource,
            version: self.version,
            headers,
            target: uri,
        }
    }
}

/// CoHTTP's `Request.make_for_client` optional arguments: set what you
/// need, then [`build`](ForClientBuilder::build).
#[derive(Debug, Clone)]
pub struct ForClientBuilder {
    meth: Method,
    uri: http::Uri,
    headers: Option<Header>,
    chunked: Option<bool>,
    body_length: Option<u64>,
    absolute_form: bool,
}

impl ForClientBuilder {
    /// `?headers` (default none).
    pub fn headers(mut self, headers: Header) -> Self {
        self.headers = Some(headers);
        self
    }

    /// `?chunked`: `true` declares `transfer-encoding: chunked`.
    pub fn chunked(mut self, chunked: bool) -> Self {
        self.chunked = Some(chunked);
        self
    }

    /// `?body_length`: declares `content-length`.
    pub fn body_length(mut self, length: u64) -> Self {
        self.body_length = Some(length);
        self
    }

    /// `?absolute_form`: the resource is the whole URI (for a proxy).
    pub fn absolute_form(mut self, on: bool) -> Self {
        self.absolute_form = on;
        self
    }

    /// The request, as CoHTTP's `Request.make_for_client` makes it:
    /// [`RequestBuilder::build`] with the encoding the arguments give
    /// (`chunked(true)`: `Chunked`; a `body_length`: `Fixed`; neither:
    /// `Unknown`, no framing declared). Headers that already declare a
    /// framing keep theirs. `chunked(true)` with a `body_length` is
    /// [`Error::InvalidArgument`], where OCaml raises `Invalid_argument`.
    pub fn build(self) -> Result<Request, Error> {
        let encoding = match (self.chunked, self.body_length) {
            (Some(true), Some(_)) => {
                return Err(Error::InvalidArgument {
                    function: "Request::make_for_client",
                    reason: "cannot set both chunked(true) and body_length",
                })
            }
            (Some(true), None) => Encoding::Chunked,
            (_, Some(length)) => Encoding::Fixed(length),
            (_, None) => Encoding::Unknown,
        };
        let builder = Request::builder(self.uri)
            .meth(self.meth)
            .encoding(encoding)
            .absolute_form(self.absolute_form);
        Ok(match self.headers {
            Some(headers) => builder.headers(headers),
            None => builder,
        }
        .build())
    }
}

/// CoHTTP's `Uri.user` and `Uri.password`, percent-decoded.
fn userinfo_credential(uri: &http::Uri) -> Option<Credential> {
    let (userinfo, _) = uri.authority()?.as_str().rsplit_once('@')?;
    let (user, password) = userinfo.split_once(':')?;
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    Some(Credential::Basic(decode(user), decode(password)))
}

fn origin_form(uri: &http::Uri) -> String {
    match uri.path_and_query().map(|p| p.as_str()) {
        None | Some("") => "/".to_owned(),
        Some(p) => p.to_owned(),
    }
}

impl Request {
    /// CoHTTP's `Request.make` with its defaults (`GET`, HTTP/1.1, no
    /// header but those it adds; see [`RequestBuilder::build`]).
    pub fn make(uri: http::Uri) -> Request {
        Request::builder(uri).build()
    }

    /// CoHTTP's `Request.make` with optional arguments.
    pub fn builder(uri: http::Uri) -> RequestBuilder {
        RequestBuilder {
            uri,
            meth: Method::Get,
            version: Version::Http1_1,
            headers: Header::init(),
            encoding: None,
            absolute_form: false,
        }
    }

    /// CoHTTP's `Request.make_for_client ?headers ?chunked ?body_length
    /// ?absolute_form meth uri`: a client's request, its framing declared
    /// from `chunked` or `body_length` (see [`ForClientBuilder::build`]).
    ///
    /// ```
    /// use paf_compat::{code::Method, Request};
    ///
    /// let uri: http::Uri = "http://example.org/upload".parse().unwrap();
    /// let req = Request::make_for_client(Method::Put, uri.clone()).body_length(6).build()?;
    /// assert_eq!(req.headers().get("content-length"), Some("6"));
    /// let req = Request::make_for_client(Method::Put, uri.clone()).chunked(true).build()?;
    /// assert_eq!(req.headers().get("transfer-encoding"), Some("chunked"));
    /// assert!(Request::make_for_client(Method::Put, uri).chunked(true).body_length(6).build().is_err());
    /// # Ok::<(), paf_compat::Error>(())
    /// ```
    pub fn make_for_client(meth: Method, uri: http::Uri) -> ForClientBuilder {
        ForClientBuilder {
            meth,
            uri,
            headers: None,
            chunked: None,
            body_length: None,
            absolute_form: false,
        }
    }

    /// CoHTTP's `Request.meth`.
    pub fn meth(&self) -> &Method {
        &self.meth
    }

    /// CoHTTP's `Request.resource`: the path and query as sent (the whole
    /// URI for an absolute-form request).
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// CoHTTP's `Request.version`.
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// CoHTTP's `Request.headers`. On the server they are as received:
    /// names lowercased, each name's values together (an `http::HeaderMap`
    /// came first).
    pub fn headers(&self) -> &Header {
        &self.headers
    }

    /// CoHTTP's `Request.uri`, built as CoHTTP builds it from the
    /// resource, the `Host` field and the scheme:
    ///
    /// - `OPTIONS *`: `//host:port` from `Host`, or the empty URI;
    /// - `CONNECT host:port`: `//host:port`, from the target, not `Host`;
    /// - an absolute target: itself, with `/` for an empty path;
    /// - a path: its dot segments removed (`/files/../data.json` is
    ///   `/data.json`, so prefix routes and access checks see what OCaml
    ///   sees), on `Host`'s host and port: `//example.com/data.json`. No
    ///   scheme is invented on a server (CoHTTP's parser knows none, TLS or
    ///   not); a request made by [`Request::make`] has its URI's.
    ///
    /// [`Request::target`] is the target as the engine took or sends it.
    pub fn uri(&self) -> Uri {
        let host_uri = || {
            self.headers
                .get("host")
                .map(|host| Uri::of_string(&format!("//{host}")))
        };
        let uri = match self.resource.as_str() {
            "*" => match host_uri() {
                None => Uri::empty(),
                Some(host) => Uri::empty()
                    .with_host(host.host().as_deref())
                    .with_port(host.port()),
            },
            authority if self.meth == Method::Connect => Uri::of_string(&format!("//{authority}")),
            path => {
                let uri = Uri::of_string(path);
                if uri.scheme().is_some() {
                    if uri.path().is_empty() {
                        uri.with_path("/")
                    } else {
                        uri
                    }
                } else {
                    let empty_base = Uri::of_string("///");
                    let resolved = |path: &str| {
                        Uri::resolve("http", &empty_base, &Uri::empty().with_path(path))
                    };
                    let pqs = match path.split_once('?') {
                        None => resolved(path),
                        Some((path, qs)) => resolved(path).with_query(uri::query_of_encoded(qs)),
                    };
                    match host_uri() {
                        None => pqs.with_host(None).with_scheme(None),
                        Some(host) => pqs.with_host(host.host().as_deref()).with_port(host.port()),
                    }
                }
            }
        };
        match uri.scheme() {
            Some(_) => uri,
            None => uri.with_scheme(self.scheme.as_deref()),
        }
    }

    /// The request's target as the engine takes it: on a client, the
    /// absolute URI it is sent to; on a server, as hyper parsed it.
    pub fn target(&self) -> &http::Uri {
        &self.target
    }

    /// CoHTTP's `Request.encoding`: the framing the headers declare
    /// ([`Header::get_transfer_encoding`]).
    pub fn encoding(&self) -> Encoding {
        self.headers.get_transfer_encoding()
    }

    /// CoHTTP's `Request.has_body`: `No` for methods without a body (`GET`,
    /// `HEAD`, `CONNECT`, `TRACE`), else what the framing says.
    pub fn has_body(&self) -> HasBody {
        if self.meth.body_allowed() {
            transfer::has_body(&self.encoding())
        } else {
            HasBody::No
        }
    }

    /// CoHTTP's `Request.is_keep_alive`: `Connection: keep-alive` keeps,
    /// any other value closes, no field keeps on HTTP/1.1 only; HTTP/2
    /// always keeps (CoHTTP has no HTTP/2).
    pub fn is_keep_alive(&self) -> bool {
        keep_alive(&self.headers, &self.version)
    }

    /// CoHTTP's `Http.Request.requires_content_length`: whether the
    /// method is one whose request must say how long its body is (`POST`,
    /// `PUT`, `PATCH`; RFC 9112 §6.3).
    pub fn requires_content_length(&self) -> bool {
        matches!(self.meth, Method::Post | Method::Put | Method::Patch)
    }

    /// CoHTTP's `Http.Request.content_length`: the last `Content-Length`
    /// when [`requires_content_length`](Request::requires_content_length)
    /// holds and the value is a length; `None` otherwise (a `GET` with
    /// `Content-Length: 5` says `None`, as in CoHTTP).
    ///
    /// A length is digits only, as RFC 9110 §8.6 writes it (`012345` is
    /// 12345); OCaml's `int_of_string` also reads `+5`, `0x10` and `1_0`,
    /// which are not lengths and give `None` here.
    pub fn content_length(&self) -> Option<u64> {
        content_length(self.requires_content_length(), &self.headers)
    }

    /// CoHTTP's `Http.Request.supports_chunked_trailers`: whether a `TE`
    /// field has the value `trailers`. As in CoHTTP the value is compared
    /// whole: `TE: trailers, deflate` does not count.
    pub fn supports_chunked_trailers(&self) -> bool {
        self.headers.get_multi("te").contains(&"trailers")
    }

    /// CoHTTP's `Http.Request.add_te_trailers`: adds `TE: trailers` and
    /// `Connection: TE`, saying the client takes trailer fields after a
    /// chunked body. (Over HTTP/2 the `Connection` field is dropped, as
    /// that protocol forbids it; `TE: trailers` stays.)
    pub fn add_te_trailers(mut self) -> Request {
        self.headers = self.headers.add("TE", "trailers").add("Connection", "TE");
        self
    }

    /// The same request with other headers (OCaml's `{ req with headers }`).
    pub fn with_headers(mut self, headers: Header) -> Request {
        self.headers = headers;
        self
    }

    /// What the server received, as CoHTTP sees it: the resource is the
    /// target as sent (`*`, the authority of a `CONNECT`, an absolute URI,
    /// or a path and query), there is no scheme (see [`Request::uri`]),
    /// and an HTTP/2 request's `:authority` is its `host` field.
    #[cfg(feature = "hyper")]
    pub(crate) fn of_http(parts: &http::request::Parts) -> Request {
        let mut headers = header_of_map(&parts.headers);
        // HTTP/2 carries the authority as `:authority` where HTTP/1.1 has
        // `Host`; CoHTTP knows only the latter, so it is given as `host`.
        if parts.version >= http::Version::HTTP_2 && headers.get("host").is_none() {
            if let Some(authority) = parts.uri.authority() {
                headers = headers.add("host", authority.as_str());
            }
        }
        let absolute_form = parts.uri.scheme().is_some() && parts.version < http::Version::HTTP_2;
        let resource = if parts.method == http::Method::CONNECT {
            parts
                .uri
                .authority()
                .map_or_else(|| origin_form(&parts.uri), |a| a.as_str().to_owned())
        } else if parts.uri.scheme().is_none() && parts.uri.path() == "*" {
            "*".to_owned()
        } else if absolute_form {
            parts.uri.to_string()
        } else {
            origin_form(&parts.uri)
        };
        Request {
            meth: Method::from(&parts.method),
            scheme: None,
            resource,
            version: parts.version.into(),
            headers,
            target: parts.uri.clone(),
        }
    }

    /// [`Request::into_http`] for one request of a `callv` batch sent to
    /// `base`: the request's resource on `base`'s scheme and authority.
    pub(crate) fn into_callv_http<B: CoreBody>(
        mut self,
        base: &http::Uri,
        body: B,
    ) -> Result<http::Request<B>, Error> {
        self.target = callv_target(base, &self)?;
        self.into_http(body)
    }

    /// The request for an engine, its body framed as the headers declare
    /// (see [`frame`]).
    pub(crate) fn into_http<B: CoreBody>(self, body: B) -> Result<http::Request<B>, Error> {
        let encoding = self.encoding();
        let mut headers = self.headers.to_header_map()?;
        let body = frame(&mut headers, encoding, body);
        let mut request = http::Request::new(body);
        *request.method_mut() = http::Method::try_from(&self.meth)?;
        *request.uri_mut() = self.target;
        *request.headers_mut() = headers;
        Ok(request)
    }
}

/// CoHTTP's keep-alive rule (`Connection: keep-alive` keeps, any other
/// value closes, no field keeps on HTTP/1.1 only), plus one case CoHTTP
/// never meets: HTTP/2 and later always keep the connection.
pub(crate) fn keep_alive(headers: &Header, version: &Version) -> bool {
    let multiplexed =
        matches!(version, Version::Other(v) if v.starts_with("HTTP/2") || v.starts_with("HTTP/3"));
    multiplexed || headers.is_keep_alive(version)
}

/// CoHTTP's `Http.content_length`, shared by requests and responses: the
/// last `Content-Length` when the message needs one and it is a length.
pub(crate) fn content_length(required: bool, headers: &Header) -> Option<u64> {
    let value = headers.get("content-length").filter(|_| required)?;
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// The fields of a received message. CoHTTP's headers are byte strings and
/// paf-compat's are Rust strings: bytes that are not UTF-8 (rare, legal
/// `obs-text`) become U+FFFD rather than failing the message.
pub(crate) fn header_of_map(map: &http::HeaderMap) -> Header {
    Header::of_list(map.iter().map(|(k, v)| {
        (
            k.as_str(),
            String::from_utf8_lossy(v.as_bytes()).into_owned(),
        )
    }))
}

/// `callv`'s target for one request: the scheme and authority of the URI
/// the batch goes to, the request's own resource.
fn callv_target(base: &http::Uri, request: &Request) -> Result<http::Uri, Error> {
    let resource = match request.target.path_and_query() {
        Some(p) if request.target.scheme().is_some() => p.as_str(),
        _ => request.resource(),
    };
    let mut parts = base.clone().into_parts();
    parts.path_and_query = Some(resource.parse().map_err(|e: http::uri::InvalidUri| {
        Error::Http(paf_core::Error::InvalidUrl {
            url: resource.to_owned(),
            reason: e.to_string(),
        })
    })?);
    http::Uri::from_parts(parts).map_err(|e| {
        Error::Http(paf_core::Error::InvalidUrl {
            url: format!("{base} + {resource}"),
            reason: e.to_string(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn make_takes_credentials_from_the_uri_unless_given() {
        let req = Request::make("http://us%40er:pa%3Ass@host/".parse().unwrap());
        assert_eq!(
            req.headers().get_authorization(),
            Some(Credential::Basic("us@er".into(), "pa:ss".into()))
        );
        assert_eq!(req.headers().get("host"), Some("host"));
        let given = Header::init().add("authorization", "Bearer t");
        let req = Request::builder("http://u:p@host/".parse().unwrap())
            .headers(given)
            .build();
        assert_eq!(req.headers().get("authorization"), Some("Bearer t"));
    }

    #[test]
    fn host_header_without_port_gets_the_uri_port() {
        let req = Request::builder("http://a:81/".parse().unwrap())
            .headers(Header::init_with("host", "b"))
            .build();
        assert_eq!(req.headers().get("host"), Some("b:81"));
        assert_eq!(req.resource(), "/");
    }

    #[test]
    fn get_has_no_body_whatever_its_headers_say() {
        let req = Request::builder("http://a/".parse().unwrap())
            .encoding(Encoding::Chunked)
            .build();
        assert_eq!(req.has_body(), HasBody::No);
        let req = Request::builder("http://a/".parse().unwrap())
            .meth(Method::Put)
            .encoding(Encoding::Chunked)
            .build();
        assert_eq!(req.has_body(), HasBody::Yes);
    }

    #[test]
    fn callv_keeps_the_batch_authority_and_the_request_resource() {
        let base: http::Uri = "http://127.0.0.1:9/ignored".parse().unwrap();
        let req = Request::make("http://elsewhere/a?b=1".parse().unwrap());
        assert_eq!(
            callv_target(&base, &req).unwrap(),
            "http://127.0.0.1:9/a?b=1"
        );
    }
}
