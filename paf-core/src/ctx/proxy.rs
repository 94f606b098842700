//! HTTP proxies: one more way for the context to reach a TCP peer. The
//! documentation is on [`Proxy`].

use std::{
    borrow::Cow,
    fmt,
    hash::{Hash, Hasher},
    io::{self, Read, Write},
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::{Duration, Instant},
};

use rustls::{pki_types::ServerName, ClientConfig, ClientConnection, StreamOwned};

use super::{bare_host, BlockingIo, Ctx, Endpoint, Prefixed, Scheme};
use crate::{
    error::{Error, Result, TimeoutKind},
    tls,
};

/// The largest proxy answer to `CONNECT` read, all of its head lines.
const MAX_HEAD: usize = 8 * 1024;

/// An HTTP proxy: the proxy's URL, the targets it is for (all, `http://`
/// or `https://`), its credentials and the hosts it is not used for.
///
/// A proxy is a transport concern of the [`Ctx`], like a Unix socket or
/// a route: the context opens TCP to the proxy, asks it for a tunnel with
/// `CONNECT host:port`, and hands the tunnel to the usual TLS layering (SNI
/// and certificate verification are for the target, never the proxy). The
/// engines (hyper, ureq) only ever see a connected stream, so a proxy
/// behaves the same whatever engine sends the request.
///
/// ```
/// use paf_core::ctx::{Ctx, NoProxy, Proxy};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let proxy = Proxy::all("http://alice:s3cr%65t@proxy.internal:3128")?
///     .with_no_proxy(NoProxy::parse("localhost, .corp.example, 10.0.0.0/8"));
/// assert_eq!(proxy.to_string(), "http://proxy.internal:3128"); // no credentials
/// assert_eq!(proxy.password(), Some("s3cret")); // percent-decoded
///
/// let ctx = Ctx::new()
///     .with_proxy(proxy)
///     .with_uri(&"https://example.org/".parse::<http::Uri>()?)?;
/// assert_eq!(ctx.proxy().map(|p| p.host()), Some("proxy.internal"));
///
/// // NO_PROXY: hosts of the list are reached directly.
/// let inside = ctx.with_uri(&"http://build.corp.example/".parse::<http::Uri>()?)?;
/// assert!(inside.proxy().is_none());
/// # Ok(()) }
/// ```
///
/// # Off unless asked for
/// A context uses no proxy until [`Ctx::with_proxy`], [`Ctx::with_proxies`]
/// or [`Ctx::with_proxy_from_env`] says so; paf never reads `HTTP_PROXY` and
/// friends on its own. This differs from reqwest, ureq 3 (whose default
/// `Config` reads them) and curl, which all follow the environment unless
/// told not to; it matches OCaml's CoHTTP, which never reads it, and Go's
/// zero-value `http.Transport`. A library should not change where its
/// user's requests go, and which credentials they carry, because of a
/// variable set for some other program: the user opts in with one call.
///
/// # Always a tunnel
/// Every proxied connection is a `CONNECT` tunnel, for `http://` targets
/// too (curl's `--proxytunnel`; ureq does the same). The proxy stays a
/// transport concern that the engines never see: requests keep their
/// origin form, pooled connections are keyed by target and proxy
/// ([`ConnKey`](super::ConnKey)), and hyper and ureq behave alike. The cost
/// is that a proxy that refuses `CONNECT` to port 80 (Squid's default
/// `SSL_ports` rule, for one) cannot carry `http://` requests: it answers
/// 403, which comes back as [`ProxyRefused`].
///
/// Only TCP endpoints ([`Endpoint::Tcp`], [`Endpoint::TcpAddr`]) go through
/// a proxy; Unix sockets and user transports never do. For an
/// [`Endpoint::TcpAddr`] the tunnel goes to that address, for a route to
/// another host to that host.
///
/// # Proxies over TLS
/// An `https://` proxy is reached over TLS first (the proxy's name is
/// verified with the context's TLS configuration, offering only
/// `http/1.1`), and the target's TLS runs inside that.
///
/// # `NO_PROXY`
/// [`NoProxy`] is the conventional list: comma-separated, case-insensitive,
/// whitespace around entries ignored; `*` matches every host; a domain
/// (`example.com`, `.example.com` or `*.example.com`) matches itself and
/// its subdomains; an IP address matches that address, a CIDR block
/// (`10.0.0.0/8`, `fd00::/8`) the addresses inside it; `host:port` (or
/// `[v6]:port`) matches only that port. It is checked against the URL's
/// host and port (not the address a name resolves to, and `localhost` is
/// not special: list it to reach it directly). Entries that are none of
/// these are skipped, as curl does.
///
/// # The environment
/// [`Proxies::from_env`] reads, lower-case names first as curl does:
/// `https_proxy`/`HTTPS_PROXY` for `https://` targets, `http_proxy`/
/// `HTTP_PROXY` for `http://` targets (`HTTP_PROXY` is ignored when
/// `REQUEST_METHOD` is set: in a CGI program it can come from a request's
/// `Proxy:` header, the "httpoxy" attack), `all_proxy`/`ALL_PROXY` for
/// either when the specific one is unset, and `no_proxy`/`NO_PROXY` for all
/// of them. Empty values count as unset; a value without a scheme is
/// `http://`. A value paf cannot use (a `socks5://` proxy, a malformed URL)
/// is an error rather than silently going direct. The environment can name
/// a proxy per scheme, hence a list of rules, [`Proxies`], rather than one
/// `Proxy`.
///
/// # Errors
/// The connect timeout ([`Ctx::with_connect_timeout`]) bounds the whole
/// exchange with the proxy. A proxy that cannot be reached is an
/// [`Error::Connect`] whose endpoint names the proxy; one that answers
/// `CONNECT` with anything but 2xx is an [`Error::Connect`] carrying a
/// [`ProxyRefused`] (status and reason; [`ProxyRefused::is_auth_failure`]
/// for 407); an answer that is not HTTP, or whose head passes 8 KiB, is an
/// [`Error::Connect`] of kind `InvalidData`. Bytes the proxy sends after its
/// `200` are kept and read first from the tunnel.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Proxy {
    scheme: Scheme,
    host: String,
    port: u16,
    auth: Option<Credentials>,
    targets: Targets,
    no_proxy: NoProxy,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Credentials {
    user: String,
    password: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Targets {
    All,
    Http,
    Https,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("url", &self.to_string())
            .field("user", &self.auth.as_ref().map(|a| &a.user))
            .field("password", &self.auth.as_ref().map(|_| "<redacted>"))
            .field("targets", &self.targets)
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

/// The proxy's URL without credentials: `http://proxy.internal:3128`.
impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.authority())
    }
}

impl Proxy {
    /// A proxy for every target, `http://` and `https://`.
    ///
    /// `url` is `http://[user:password@]host[:port]` (or `https://`);
    /// without a scheme it is `http://`, without a port the scheme's
    /// default. Credentials in the URL are percent-decoded. Other schemes
    /// (SOCKS) are an [`Error::InvalidUrl`].
    pub fn all(url: &str) -> Result<Proxy> {
        Proxy::parse(url, Targets::All)
    }

    /// A proxy for `http://` targets only (see [`Proxy::all`] for `url`).
    pub fn http(url: &str) -> Result<Proxy> {
        Proxy::parse(url, Targets::Http)
    }

    /// A proxy for `https://` targets only (see [`Proxy::all`] for `url`).
    pub fn https(url: &str) -> Result<Proxy> {
        Proxy::parse(url, Targets::Https)
    }

    /// Sends these credentials to the proxy (`Proxy-Authorization: Basic`),
    /// replacing any from the URL.
    pub fn with_basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = Some(Credentials {
            user: user.into(),
            password: password.into(),
        });
        self
    }

    /// Sends no credentials to the proxy.
    pub fn without_basic_auth(mut self) -> Self {
        self.auth = None;
        self
    }

    /// Does not use the proxy for the hosts of this list.
    pub fn with_no_proxy(mut self, no_proxy: NoProxy) -> Self {
        self.no_proxy = no_proxy;
        self
    }

    /// `http` or `https`: how the proxy itself is spoken to.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The proxy's host (lowercase, IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user name sent to the proxy, if any.
    pub fn username(&self) -> Option<&str> {
        self.auth.as_ref().map(|a| a.user.as_str())
    }

    /// The password sent to the proxy, if any.
    pub fn password(&self) -> Option<&str> {
        self.auth.as_ref().map(|a| a.password.as_str())
    }

    /// The hosts the proxy is not used for.
    pub fn no_proxy(&self) -> &NoProxy {
        &self.no_proxy
    }

    /// Whether the proxy is for targets of this scheme (whatever `NO_PROXY`
    /// says).
    pub fn applies_to(&self, scheme: Scheme) -> bool {
        match self.targets {
            Targets::All => true,
            Targets::Http => scheme == Scheme::Http,
            Targets::Https => scheme == Scheme::Https,
        }
    }

    /// Whether a connection to `host:port` for a URL of `scheme` goes
    /// through this proxy: it is for the scheme and the host is not in its
    /// `NO_PROXY` list.
    pub fn intercepts(&self, scheme: Scheme, host: &str, port: u16) -> bool {
        self.applies_to(scheme) && !self.no_proxy.matches(host, port)
    }

    fn parse(url: &str, targets: Targets) -> Result<Proxy> {
        let given = url.trim();
        let bad = |reason: String| Error::InvalidUrl {
            url: redact(given),
            reason,
        };
        let full: Cow<'_, str> = if given.contains("://") {
            given.into()
        } else {
            format!("http://{given}").into()
        };
        let parsed =
            url::Url::parse(&full).map_err(|e| bad(format!("not a usable proxy URL: {e}")))?;
        let scheme = match parsed.scheme() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => {
                return Err(bad(format!(
                    "unsupported proxy scheme {other:?}: paf tunnels through HTTP and HTTPS \
                     proxies only"
                )))
            }
        };
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("the proxy URL has no host".into()))?;
        if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() {
            return Err(bad("a proxy URL has no path or query".into()));
        }
        let auth = if parsed.username().is_empty() && parsed.password().is_none() {
            None
        } else {
            let decode = |part: &str| {
                percent_decode(part)
                    .ok_or_else(|| bad("the credentials are not UTF-8 once decoded".into()))
            };
            Some(Credentials {
                user: decode(parsed.username())?,
                password: decode(parsed.password().unwrap_or_default())?,
            })
        };
        Ok(Proxy {
            scheme,
            host: bare_host(host).to_ascii_lowercase(),
            port: parsed.port().unwrap_or(scheme.default_port()),
            auth,
            targets,
            no_proxy: NoProxy::default(),
        })
    }

    /// `host:port`, IPv6 bracketed.
    fn authority(&self) -> String {
        authority(&self.host, self.port)
    }

    fn endpoint(&self) -> Endpoint {
        Endpoint::Tcp {
            host: self.host.clone(),
            port: self.port,
        }
    }

    /// The `CONNECT` request for a tunnel to `target`.
    fn connect_request(&self, target: &Endpoint) -> io::Result<Vec<u8>> {
        let target = match target {
            Endpoint::Tcp { host, port } => authority(host, *port),
            Endpoint::TcpAddr(addr) => addr.to_string(),
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("a proxy tunnels TCP only, not {other}"),
                ))
            }
        };
        // Endpoints from routes are the user's strings: no header injection.
        if target.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{target:?} cannot be a CONNECT target"),
            ));
        }
        let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
        if let Some(auth) = &self.auth {
            let credentials = format!("{}:{}", auth.user, auth.password);
            request.push_str("Proxy-Authorization: Basic ");
            request.push_str(&base64(credentials.as_bytes()));
            request.push_str("\r\n");
        }
        request.push_str("\r\n");
        Ok(request.into_bytes())
    }

    /// The error of a tunnel through this proxy that failed after the
    /// proxy was reached.
    fn tunnel_error(&self, target: &Endpoint, source: io::Error) -> Error {
        Error::Connect {
            endpoint: format!("{target} through proxy {self}"),
            source,
        }
    }

    /// Renames the error of reaching the proxy itself so that it names the
    /// proxy and what it was for.
    fn unreachable(&self, err: Error, target: &Endpoint) -> Error {
        match err {
            Error::Connect { source, .. } => Error::Connect {
                endpoint: format!("proxy {self} (tunnel to {target})"),
                source,
            },
            other => other,
        }
    }
}

/// `host:port` with an IPv6 host bracketed.
fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The URL with its userinfo hidden, for error messages.
fn redact(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(at) => url.split_at(at + 3),
        None => ("", url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}***@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// `%XX` decoding; `None` when the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&hi), Some(&lo)) if hex(hi).is_some() && hex(lo).is_some() => {
                let value = hex(hi).unwrap_or_default() * 16 + hex(lo).unwrap_or_default();
                out.push(u8::try_from(value).unwrap_or_default());
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Standard base64 with padding (RFC 4648), for `Basic` credentials.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (k, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if k <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Proxy rules, tried in order: the first [`Proxy`] that
/// [intercepts](Proxy::intercepts) a target is used, and none means going
/// direct. Cheap to clone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Proxies {
    rules: Arc<Vec<Proxy>>,
}

impl Proxies {
    /// No proxy: every connection goes direct.
    pub fn new() -> Self {
        Proxies::default()
    }

    /// Adds a rule, tried after those already there.
    pub fn with(mut self, proxy: Proxy) -> Self {
        Arc::make_mut(&mut self.rules).push(proxy);
        self
    }

    /// The proxies the process environment names (see the
    /// [`Proxy` docs](Proxy#the-environment) for the variables and their
    /// order). Nothing set gives an empty list; a value paf cannot use is an
    /// [`Error::InvalidUrl`] naming the variable.
    pub fn from_env() -> Result<Proxies> {
        Proxies::from_env_with(|name| std::env::var(name).ok())
    }

    /// [`Proxies::from_env`] with the variables read through `lookup`
    /// (a map in tests, a configuration file's section...).
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Proxies> {
        let get = |name: &'static str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .map(|v| (name, v))
        };
        let no_proxy = get("no_proxy")
            .or_else(|| get("NO_PROXY"))
            .map(|(_, list)| NoProxy::parse(&list))
            .unwrap_or_default();
        // httpoxy: in a CGI program, HTTP_PROXY may be a request's `Proxy:`.
        let cgi = get("REQUEST_METHOD").is_some();
        let https = get("https_proxy").or_else(|| get("HTTPS_PROXY"));
        let http = get("http_proxy").or_else(|| get("HTTP_PROXY").filter(|_| !cgi));
        let all = get("all_proxy").or_else(|| get("ALL_PROXY"));
        let mut proxies = Proxies::new();
        for (found, targets) in [
            (https, Targets::Https),
            (http, Targets::Http),
            (all, Targets::All),
        ] {
            if let Some((name, value)) = found {
                let proxy = Proxy::parse(&value, targets).map_err(|e| match e {
                    Error::InvalidUrl { url, reason } => Error::InvalidUrl {
                        url,
                        reason: format!("{name}: {reason}"),
                    },
                    other => other,
                })?;
                proxies = proxies.with(proxy.with_no_proxy(no_proxy.clone()));
            }
        }
        Ok(proxies)
    }

    /// True when there is no rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Proxy> {
        self.rules.iter()
    }

    /// The proxy a connection to `host:port` for a URL of `scheme` goes
    /// through, if any.
    pub fn for_target(&self, scheme: Scheme, host: &str, port: u16) -> Option<&Proxy> {
        self.rules
            .iter()
            .find(|proxy| proxy.intercepts(scheme, host, port))
    }
}

impl From<Proxy> for Proxies {
    fn from(proxy: Proxy) -> Self {
        Proxies::new().with(proxy)
    }
}

/// The hosts a proxy is not used for: the `NO_PROXY` list (see the
/// [`Proxy` docs](Proxy#no_proxy) for its syntax).
///
/// ```
/// use paf_core::ctx::NoProxy;
///
/// let list = NoProxy::parse(" .Example.com, 10.0.0.0/8,[::1], intranet:8080 ");
/// assert!(list.matches("example.com", 443));
/// assert!(list.matches("api.example.com", 443));
/// assert!(!list.matches("notexample.com", 443));
/// assert!(list.matches("10.1.2.3", 80));
/// assert!(list.matches("::1", 80));
/// assert!(list.matches("intranet", 8080) && !list.matches("intranet", 80));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct NoProxy {
    rules: Vec<Rule>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Rule {
    Any,
    Ip(IpAddr, Option<u16>),
    Net(IpAddr, u8),
    Domain(String, Option<u16>),
}

impl NoProxy {
    /// An empty list: the proxy is used for every host.
    pub fn new() -> Self {
        NoProxy::default()
    }

    /// Parses a comma-separated list; entries that are not a host, an IP
    /// address, a CIDR block or `*` are skipped.
    pub fn parse(list: &str) -> Self {
        NoProxy {
            rules: list.split(',').filter_map(parse_rule).collect(),
        }
    }

    /// The list in `no_proxy` (or else `NO_PROXY`), empty when neither is set.
    pub fn from_env() -> Self {
        ["no_proxy", "NO_PROXY"]
            .into_iter()
            .filter_map(|name| std::env::var(name).ok())
            .find(|v| !v.trim().is_empty())
            .map(|list| NoProxy::parse(&list))
            .unwrap_or_default()
    }

    /// True when the list has no usable entry.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether a connection to `host:port` goes direct. `host` is a name or
    /// an IP literal (brackets allowed), compared case-insensitively.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        let host = bare_host(host.trim())
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let ip = host.parse::<IpAddr>().ok();
        let port_ok = |wanted: &Option<u16>| wanted.is_none_or(|p| p == port);
        self.rules.iter().any(|rule| match rule {
            Rule::Any => true,
            Rule::Ip(addr, wanted) => ip == Some(*addr) && port_ok(wanted),
            Rule::Net(net, bits) => ip.is_some_and(|ip| in_net(ip, *net, *bits)),
            Rule::Domain(domain, wanted) => {
                let inside = host == *domain
                    || host
                        .strip_suffix(domain.as_str())
                        .is_some_and(|sub| sub.ends_with('.'));
                inside && port_ok(wanted)
            }
        })
    }
}

fn parse_rule(entry: &str) -> Option<Rule> {
    let entry = entry.trim().to_ascii_lowercase();
    if entry.is_empty() {
        return None;
    }
    if entry == "*" {
        return Some(Rule::Any);
    }
    if let Some((addr, bits)) = entry.split_once('/') {
        let addr = bare_host(addr).parse::<IpAddr>().ok()?;
        let bits = bits.parse::<u8>().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        return (bits <= max).then(|| Rule::Net(masked(addr, bits), bits));
    }
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(Rule::Ip(ip, None));
    }
    if let Some(rest) = entry.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        let ip = addr.parse::<IpAddr>().ok()?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?.parse::<u16>().ok()?),
        };
        return Some(Rule::Ip(ip, port));
    }
    let (host, port) = match entry.rsplit_once(':') {
        Some((host, port)) => (host, Some(port.parse::<u16>().ok()?)),
        None => (entry.as_str(), None),
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(Rule::Ip(ip, port));
    }
    let domain = host
        .strip_prefix("*.")
        .unwrap_or(host)
        .trim_start_matches('.')
        .trim_end_matches('.');
    let usable = !domain.is_empty()
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    usable.then(|| Rule::Domain(domain.to_string(), port))
}

/// The address with the bits past the prefix cleared.
fn masked(addr: IpAddr, bits: u8) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    ip.is_ipv4() == net.is_ipv4() && masked(ip, bits) == net
}

/// The proxy answered `CONNECT` with a status other than 2xx: the source of
/// the [`Error::Connect`] it gives (inside its [`io::Error`], of kind
/// `PermissionDenied` for 401, 403 and 407, `ConnectionRefused` otherwise).
///
/// ```
/// # fn check(err: paf_core::Error) {
/// use paf_core::ctx::ProxyRefused;
///
/// if let Some(refused) = ProxyRefused::find(&err) {
///     if refused.is_auth_failure() {
///         eprintln!("check the proxy credentials: {refused}");
///     }
/// }
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyRefused {
    proxy: String,
    status: u16,
    reason: String,
}

impl fmt::Display for ProxyRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "proxy {} answered {}", self.proxy, self.status)?;
        if !self.reason.is_empty() {
            write!(f, " {}", self.reason)?;
        }
        Ok(())
    }
}

impl std::error::Error for ProxyRefused {}

impl ProxyRefused {
    /// A refusal by `proxy` (`host:port`), for a backend whose engine opens
    /// tunnels itself and learns the status from it.
    pub fn new(proxy: impl Into<String>, status: u16, reason: impl Into<String>) -> Self {
        ProxyRefused {
            proxy: proxy.into(),
            status,
            reason: reason.into(),
        }
    }

    /// The proxy, as `host:port`.
    pub fn proxy(&self) -> &str {
        &self.proxy
    }

    /// The status the proxy answered.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase the proxy gave (control characters removed).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// True for `407 Proxy Authentication Required` and for `401` (which
    /// some proxies, tinyproxy among them, answer to wrong credentials).
    pub fn is_auth_failure(&self) -> bool {
        matches!(self.status, 401 | 407)
    }

    /// The refusal an error carries, if it is one.
    pub fn find(err: &Error) -> Option<&ProxyRefused> {
        match err {
            Error::Connect { source, .. } => source.get_ref()?.downcast_ref(),
            _ => None,
        }
    }

    /// The [`io::Error`] carrying the refusal, as the source of an
    /// [`Error::Connect`]: of kind `PermissionDenied` for 401, 403 and 407,
    /// `ConnectionRefused` otherwise.
    pub fn into_io_error(self) -> io::Error {
        let kind = match self.status {
            401 | 403 | 407 => io::ErrorKind::PermissionDenied,
            _ => io::ErrorKind::ConnectionRefused,
        };
        io::Error::new(kind, self)
    }
}

/// Reads the proxy's answer to `CONNECT` into a bounded buffer; the async
/// and blocking sides only differ in how they fill it.
struct HeadReader {
    buf: Vec<u8>,
    filled: usize,
    /// Where the head being read begins (after interim 1xx heads).
    start: usize,
}

impl HeadReader {
    fn new() -> Self {
        HeadReader {
            buf: vec![0; MAX_HEAD],
            filled: 0,
            start: 0,
        }
    }

    /// Where the next read goes.
    fn spare(&mut self) -> &mut [u8] {
        &mut self.buf[self.filled..]
    }

    /// Takes `n` more bytes read into [`HeadReader::spare`]. `Ok(None)`:
    /// more are needed; `Ok(Some(early))`: the tunnel is open, and `early`
    /// holds what the proxy sent after its head.
    fn advance(&mut self, n: usize, proxy: &Proxy) -> io::Result<Option<Vec<u8>>> {
        let invalid = |what: String| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("proxy {} {what}", proxy.authority()),
            )
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "proxy {} closed the connection before answering CONNECT",
                    proxy.authority()
                ),
            ));
        }
        self.filled = (self.filled + n).min(self.buf.len());
        loop {
            let pending = &self.buf[self.start..self.filled];
            let Some(len) = head_end(pending) else {
                if self.filled == self.buf.len() {
                    return Err(invalid(format!(
                        "answered CONNECT with a head longer than {MAX_HEAD} bytes"
                    )));
                }
                return Ok(None);
            };
            let (status, reason) = status_line(&pending[..len])
                .map_err(|what| invalid(format!("answered CONNECT with {what}")))?;
            self.start += len;
            match status {
                // Interim answers; 101 cannot answer CONNECT.
                100..=199 if status != 101 => continue,
                200..=299 => return Ok(Some(self.buf[self.start..self.filled].to_vec())),
                _ => {
                    return Err(ProxyRefused {
                        proxy: proxy.authority(),
                        status,
                        reason,
                    }
                    .into_io_error())
                }
            }
        }
    }
}

/// The length of the head at the start of `buf` (its empty line included),
/// when it is complete. Bare `\n` line ends are accepted.
fn head_end(buf: &[u8]) -> Option<usize> {
    (1..buf.len()).find_map(|i| {
        let end = buf[i] == b'\n'
            && (buf[i - 1] == b'\n' || (i >= 2 && buf[i - 1] == b'\r' && buf[i - 2] == b'\n'));
        end.then_some(i + 1)
    })
}

/// The status and reason of a response head's first line.
fn status_line(head: &[u8]) -> std::result::Result<(u16, String), String> {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let malformed = || {
        let shown: String = String::from_utf8_lossy(&line[..line.len().min(64)])
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        format!("a malformed status line {shown:?}")
    };
    let rest = line.strip_prefix(b"HTTP/1.").ok_or_else(malformed)?;
    let (minor, rest) = rest.split_first().ok_or_else(malformed)?;
    let rest = rest.strip_prefix(b" ").filter(|_| minor.is_ascii_digit());
    let rest = rest.ok_or_else(malformed)?;
    let (code, reason) = rest.split_at(rest.len().min(3));
    let status = std::str::from_utf8(code)
        .ok()
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|s| (100..600).contains(s))
        .ok_or_else(malformed)?;
    if !reason.is_empty() && !reason.starts_with(b" ") {
        return Err(malformed());
    }
    let reason: String = String::from_utf8_lossy(reason)
        .chars()
        .filter(|c| !c.is_control())
        .take(128)
        .collect();
    Ok((status, reason.trim().to_string()))
}

/// What keys a pooled connection's proxy: the proxy reached (scheme, host,
/// port, credentials) and, for an `https://` proxy, the TLS configuration
/// (by identity) that verified it.
#[derive(Clone)]
pub(super) struct ProxyKey {
    proxy: Proxy,
    tls: Option<Arc<ClientConfig>>,
}

impl ProxyKey {
    pub(super) fn proxy(&self) -> &Proxy {
        &self.proxy
    }
}

impl fmt::Debug for ProxyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyKey")
            .field("proxy", &self.proxy.to_string())
            .field("user", &self.proxy.username())
            .finish()
    }
}

impl PartialEq for ProxyKey {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&self.proxy, &other.proxy);
        a.scheme == b.scheme
            && a.host == b.host
            && a.port == b.port
            && a.auth == b.auth
            && match (&self.tls, &other.tls) {
                (Some(x), Some(y)) => Arc::ptr_eq(x, y),
                (None, None) => true,
                _ => false,
            }
    }
}
impl Eq for ProxyKey {}
impl Hash for ProxyKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.proxy.scheme.hash(state);
        self.proxy.host.hash(state);
        self.proxy.port.hash(state);
        self.proxy.auth.hash(state);
        self.tls.as_ref().map(Arc::as_ptr).hash(state);
    }
}

impl Ctx {
    /// Adds a proxy rule; rules are tried in the order added and the first
    /// that [intercepts](Proxy::intercepts) the target is used. Without one
    /// a context connects directly (see [`Proxy`]).
    pub fn with_proxy(mut self, proxy: Proxy) -> Self {
        self.proxies = std::mem::take(&mut self.proxies).with(proxy);
        self
    }

    /// Uses these proxy rules, replacing any set before.
    pub fn with_proxies(mut self, proxies: Proxies) -> Self {
        self.proxies = proxies;
        self
    }

    /// Uses the proxies the environment names ([`Proxies::from_env`]),
    /// replacing any set before. paf reads the environment only when asked
    /// to, here.
    pub fn with_proxy_from_env(self) -> Result<Self> {
        Ok(self.with_proxies(Proxies::from_env()?))
    }

    /// Connects directly: removes every proxy rule.
    pub fn without_proxy(mut self) -> Self {
        self.proxies = Proxies::new();
        self
    }

    /// The proxy rules.
    pub fn proxies(&self) -> &Proxies {
        &self.proxies
    }

    /// The proxy a connection of this context goes through: `None` when it
    /// has no rule for the URL's scheme, the host is in the rule's
    /// `NO_PROXY`, or the endpoint is not TCP.
    pub fn proxy(&self) -> Option<&Proxy> {
        if self.proxies.is_empty() {
            return None;
        }
        self.proxy_for(&self.endpoint().ok()?)
    }

    /// The proxy for a connection to `endpoint`, checked against the URL's
    /// scheme, host and port (the endpoint's when there is no URL).
    pub(super) fn proxy_for(&self, endpoint: &Endpoint) -> Option<&Proxy> {
        if self.proxies.is_empty() {
            return None;
        }
        let (host, port): (Cow<'_, str>, u16) = match endpoint {
            Endpoint::Tcp { host, port } => (host.as_str().into(), *port),
            Endpoint::TcpAddr(addr) => (addr.ip().to_string().into(), addr.port()),
            _ => return None,
        };
        let scheme = self.scheme.unwrap_or(if self.tls_enabled() {
            Scheme::Https
        } else {
            Scheme::Http
        });
        match self.host.as_deref() {
            Some(url_host) => {
                let url_port = self.port.unwrap_or(scheme.default_port());
                self.proxies.for_target(scheme, url_host, url_port)
            }
            None => self.proxies.for_target(scheme, &host, port),
        }
    }

    /// The pool key part for the proxy of a connection to `endpoint`.
    pub(super) fn proxy_key(&self, endpoint: &Endpoint) -> Option<ProxyKey> {
        let proxy = self.proxy_for(endpoint)?;
        Some(ProxyKey {
            proxy: proxy.clone(),
            tls: (proxy.scheme == Scheme::Https).then(|| self.tls_config()),
        })
    }

    /// The TLS configuration for an `https://` proxy: the context's roots,
    /// `http/1.1` only (the proxy is spoken to in HTTP/1.1).
    fn proxy_tls_config(&self) -> Arc<ClientConfig> {
        let mut config = (*self.tls_config()).clone();
        config.alpn_protocols = vec![tls::ALPN_HTTP11.to_vec()];
        Arc::new(config)
    }

    /// The error for a TLS failure with the proxy.
    fn proxy_tls_error(proxy: &Proxy, source: crate::BoxError) -> Error {
        Error::Tls {
            server_name: format!("proxy {}", proxy.host),
            source,
        }
    }

    /// Opens a tunnel to `target` through `proxy`, without an async runtime.
    /// `started` is when connecting began: the connect limit bounds the
    /// whole exchange with the proxy.
    pub(super) fn open_through_blocking(
        &self,
        proxy: &Proxy,
        target: &Endpoint,
        limit: Option<Duration>,
        started: Instant,
    ) -> Result<(Box<dyn BlockingIo>, Option<SocketAddr>)> {
        let (io, peer_addr) = self
            .open_blocking(&proxy.endpoint(), limit)
            .map_err(|e| proxy.unreachable(e, target))?;
        let left = || {
            limit.map(|limit| {
                limit
                    .saturating_sub(started.elapsed())
                    .max(Duration::from_millis(1))
            })
        };
        let failed = |e: io::Error| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut if limit.is_some() => {
                Error::Timeout {
                    what: TimeoutKind::Connect,
                    after: limit.unwrap_or_default(),
                }
            }
            _ => proxy.tunnel_error(target, e),
        };
        let mut io: Box<dyn BlockingIo> = match proxy.scheme {
            Scheme::Http => io,
            Scheme::Https => {
                let name = ServerName::try_from(proxy.host.clone())
                    .map_err(|e| Self::proxy_tls_error(proxy, Box::new(e)))?;
                let mut conn = ClientConnection::new(self.proxy_tls_config(), name)
                    .map_err(|e| Self::proxy_tls_error(proxy, Box::new(e)))?;
                let mut io = io;
                io.set_timeouts(left(), left()).map_err(failed)?;
                while conn.is_handshaking() {
                    if let Err(e) = conn.complete_io(&mut io) {
                        return Err(match e.kind() {
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => failed(e),
                            _ => Self::proxy_tls_error(proxy, tls::rustls_cause(e)),
                        });
                    }
                }
                Box::new(StreamOwned::new(conn, io))
            }
        };
        io.set_timeouts(left(), left()).map_err(failed)?;
        let request = proxy.connect_request(target).map_err(failed)?;
        io.write_all(&request).map_err(failed)?;
        io.flush().map_err(failed)?;
        let mut head = HeadReader::new();
        let early = loop {
            let n = match io.read(head.spare()) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(failed(e)),
            };
            if let Some(early) = head.advance(n, proxy).map_err(failed)? {
                break early;
            }
        };
        io.set_timeouts(None, None).map_err(failed)?;
        if early.is_empty() {
            return Ok((io, peer_addr));
        }
        let io = Prefixed::new(early.into(), io);
        Ok((Box::new(io), peer_addr))
    }
}

#[cfg(feature = "tokio")]
impl Ctx {
    /// Opens a tunnel to `target` through `proxy`. The caller's connect
    /// timeout wraps it.
    pub(super) async fn open_through(
        &self,
        proxy: &Proxy,
        target: &Endpoint,
    ) -> Result<(super::BoxIo, Option<SocketAddr>)> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let (io, peer_addr) = self
            .open(&proxy.endpoint())
            .await
            .map_err(|e| proxy.unreachable(e, target))?;
        let mut io: super::BoxIo = match proxy.scheme {
            Scheme::Http => io,
            Scheme::Https => {
                let name = ServerName::try_from(proxy.host.clone())
                    .map_err(|e| Self::proxy_tls_error(proxy, Box::new(e)))?;
                let stream = tokio_rustls::TlsConnector::from(self.proxy_tls_config())
                    .connect(name, io)
                    .await
                    .map_err(|e| Self::proxy_tls_error(proxy, tls::rustls_cause(e)))?;
                Box::new(stream)
            }
        };
        let failed = |e: io::Error| proxy.tunnel_error(target, e);
        let request = proxy.connect_request(target).map_err(failed)?;
        io.write_all(&request).await.map_err(failed)?;
        io.flush().await.map_err(failed)?;
        let mut head = HeadReader::new();
        let early = loop {
            let n = io.read(head.spare()).await.map_err(failed)?;
            if let Some(early) = head.advance(n, proxy).map_err(failed)? {
                break early;
            }
        };
        if early.is_empty() {
            return Ok((io, peer_addr));
        }
        let io = Prefixed::new(early.into(), io);
        Ok((Box::new(io), peer_addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy() -> Proxy {
        Proxy::all("http://127.0.0.1:8888").expect("a proxy URL")
    }

    fn feed(proxy: &Proxy, chunks: &[&[u8]]) -> io::Result<Option<Vec<u8>>> {
        let mut head = HeadReader::new();
        for chunk in chunks {
            head.spare()[..chunk.len()].copy_from_slice(chunk);
            if let Some(early) = head.advance(chunk.len(), proxy)? {
                return Ok(Some(early));
            }
        }
        Ok(None)
    }

    #[test]
    fn connect_request_has_host_and_credentials() {
        let target = Endpoint::Tcp {
            host: "example.org".into(),
            port: 443,
        };
        let request = proxy().connect_request(&target).expect("a request");
        assert_eq!(
            request,
            b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n"
        );
        let with_auth = proxy().with_basic_auth("Aladdin", "open sesame");
        let v6 = Endpoint::Tcp {
            host: "::1".into(),
            port: 80,
        };
        let request =
            String::from_utf8(with_auth.connect_request(&v6).expect("a request")).expect("ASCII");
        assert_eq!(
            request,
            "CONNECT [::1]:80 HTTP/1.1\r\nHost: [::1]:80\r\n\
             Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"
        );
        let injected = Endpoint::Tcp {
            host: "a\r\nX-Evil: 1".into(),
            port: 80,
        };
        assert!(proxy().connect_request(&injected).is_err());
        let unix = Endpoint::Unix("/run/x.sock".into());
        assert!(proxy().connect_request(&unix).is_err());
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xff, 0xfe, 0xfd, 0x00]), "//79AA==");
    }

    #[test]
    fn head_split_across_reads_keeps_early_bytes() {
        let p = proxy();
        let early = feed(
            &p,
            &[
                b"HTTP/1.1 200 Conn",
                b"ection established\r\n",
                b"\r\nEARLY",
            ],
        );
        assert_eq!(early.expect("parsed"), Some(b"EARLY".to_vec()));
        let bare_lf = feed(&p, &[b"HTTP/1.0 200 OK\nProxy-Agent: x\n\n"]);
        assert_eq!(bare_lf.expect("parsed"), Some(Vec::new()));
        let incomplete = feed(&p, &[b"HTTP/1.1 200 OK\r\n"]);
        assert_eq!(incomplete.expect("no error yet"), None);
    }

    #[test]
    fn interim_answers_are_skipped() {
        let early = feed(
            &proxy(),
            &[b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"],
        );
        assert_eq!(early.expect("parsed"), Some(Vec::new()));
    }

    #[test]
    fn refusals_are_typed() {
        let err = feed(
            &proxy(),
            &[b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n"],
        )
        .expect_err("refused");
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(
            err.to_string(),
            "proxy 127.0.0.1:8888 answered 407 Proxy Authentication Required"
        );
        let refused = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<ProxyRefused>())
            .expect("a ProxyRefused");
        assert!(refused.is_auth_failure());
        let err = feed(&proxy(), &[b"HTTP/1.1 502\r\n\r\n"]).expect_err("refused");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        assert_eq!(err.to_string(), "proxy 127.0.0.1:8888 answered 502");
    }

    #[test]
    fn malformed_oversized_and_closed_answers_are_errors() {
        for bad in [
            &b"SSH-2.0-OpenSSH\r\n\r\n"[..],
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 200OK\r\n\r\n",
            b"HTTP/2 200\r\n\r\n",
            b"\r\n\r\n",
        ] {
            let err = feed(&proxy(), &[bad]).expect_err("malformed");
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{bad:?}");
            assert!(err.to_string().contains("127.0.0.1:8888"), "{err}");
        }
        let mut head = HeadReader::new();
        let p = proxy();
        let err = loop {
            let spare = head.spare();
            let n = spare.len().min(1000);
            spare[..n].fill(b'x');
            match head.advance(n, &p) {
                Ok(None) => continue,
                Ok(Some(_)) => panic!("no head in x's"),
                Err(e) => break e,
            }
        };
        assert!(err.to_string().contains("longer than 8192"), "{err}");
        let err = HeadReader::new().advance(0, &p).expect_err("closed");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn prefixed_reads_the_prefix_first() {
        let mut stream = Prefixed::new(
            bytes::Bytes::from_static(b"ab"),
            io::Cursor::new(b"cd".to_vec()),
        );
        let mut one = [0u8; 1];
        assert_eq!(stream.read(&mut one).expect("read"), 1);
        assert_eq!(&one, b"a");
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).expect("read");
        assert_eq!(rest, b"bcd");
    }

    #[test]
    fn redaction_hides_userinfo() {
        assert_eq!(redact("http://u:p@h:1/x"), "http://***@h:1/x");
        assert_eq!(redact("u:p@h:1"), "***@h:1");
        assert_eq!(redact("http://h:1/a@b"), "http://h:1/a@b");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("p%40ss%3Aw%2f").as_deref(), Some("p@ss:w/"));
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decode("%zz").as_deref(), Some("%zz"));
        assert_eq!(percent_decode("%ff"), None);
    }
}
