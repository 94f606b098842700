//! ocaml-uri's `Uri`: URI references (absolute or relative) with the same
//! parsing, percent-encoding, query handling and resolution as the OCaml
//! library every CoHTTP program uses.
//!
//! Before, in OCaml:
//!
//! ```ocaml
//! let uri = Uri.of_string "http://example.org/search?q=paf+le+chien&page=2" in
//! let q = Uri.get_query_param uri "q" in                  (* Some "paf le chien" *)
//! let next = Uri.add_query_param' (Uri.remove_query_param uri "page") ("page", "3") in
//! let up = Uri.resolve "http" uri (Uri.of_string "../about") in
//! print_endline (Uri.to_string next);
//! Client.get up
//! ```
//!
//! After:
//!
//! ```
//! use paf_compat::Uri;
//!
//! let uri = Uri::of_string("http://example.org/search?q=paf+le+chien&page=2");
//! let q = uri.get_query_param("q");
//! assert_eq!(q.as_deref(), Some("paf le chien"));
//! let next = uri.remove_query_param("page").add_query_param_prime(("page", "3"));
//! let up = Uri::resolve("http", &uri, &Uri::of_string("../about"));
//! assert_eq!(next.to_string(), "http://example.org/search?page=3&q=paf%20le%20chien");
//! assert_eq!(up.to_string(), "http://example.org/about");
//! // `client.get(&up)` takes it as it is: `Uri` converts to `http::Uri`.
//! ```
//!
//! # The model
//!
//! A [`Uri`] holds its parts decoded, as ocaml-uri does: the scheme, the
//! user and password, the host (an IPv4 address, an IPv6 address or a
//! name), the port, the path as segments, the query as pairs of a key and
//! its list of values, and the fragment. [`Uri::of_string`] never fails: it
//! reads what it can, as ocaml-uri's parser does; `to_string` (`Display`)
//! encodes each part again with ocaml-uri's tables of safe bytes
//! ([`Component`]), so `%7e` comes back as `~` and `+` in a query as `%20`.
//! A query parsed from text also keeps the text, for
//! [`Uri::verbatim_query`]; a URI without `?` has no query, one with a bare
//! `?` has one pair with an empty key.
//!
//! Decoded parts are bytes, as OCaml strings are, so `%FF` comes back as
//! `%FF`; the accessors that return decoded text (`host`, `query`,
//! `fragment`…) write bytes that are not UTF-8 as U+FFFD.
//!
//! The reference is ocaml-uri 4.4, the current upstream, whose tests are
//! ported in `tests/ocaml_uri.rs`; ocaml-uri 4.2 and older (Debian 12 ships
//! 4.2) percent-encode the brackets of an IPv6 host instead of reading an
//! address in them.
//!
//! # Names
//!
//! OCaml functions keep their names and become methods of [`Uri`] (the `t`
//! argument is `self`; the input is never changed, a new `Uri` is
//! returned); functions without a `t` are functions of this module. An
//! OCaml name ending in a prime becomes the same name ending in `_prime`:
//! `get_query_param'` is [`Uri::get_query_param_prime`]. `?x` arguments are
//! builder methods (`make`, `with_uri`, `pct_encoder`), an `Option`
//! parameter (`host_with_default`), or a `_with` variant taking a
//! [`PctEncoder`] (`?pct_encoder`). ocaml-uri's `?scheme` arguments are not
//! taken: its scheme modules all share one set of encoding tables.
//!
//! | ocaml-uri | paf-compat |
//! |---|---|
//! | `Uri.t` | [`Uri`] |
//! | `Uri.empty` | [`Uri::empty`] (and `Default`) |
//! | `Uri.of_string s` | [`Uri::of_string`] (and `FromStr`, `From<&str>`) |
//! | `Uri.to_string ?pct_encoder u`, `Uri.pp`, `Uri.pp_hum` | `u.to_string()` (`Display`), [`Uri::to_string_with`] |
//! | `Uri.make ?scheme ?userinfo ?host ?port ?path ?query ?fragment ()` | [`Uri::builder`] `.scheme(s)` `.userinfo(u)` `.host(h)` `.port(p)` `.path(p)` `.query(q)` `.fragment(f)` `.build()` |
//! | `Uri.with_uri ?scheme ?userinfo ?host ?port ?path ?query ?fragment u` | [`Uri::with_uri`] `.scheme(Option)` … `.build()` |
//! | `Uri.equal`, `Uri.compare` | [`Uri::equal`], [`Uri::compare`] (and `==`, `Ord`, `Hash`) |
//! | `Uri.resolve scheme base u` | [`Uri::resolve`] |
//! | `Uri.canonicalize u` | [`Uri::canonicalize`] |
//! | `Uri.pct_encode ?component s`, `Uri.pct_decode s` | [`pct_encode`], [`pct_encode_component`], [`pct_decode`] ([`pct_decode_bytes`]) |
//! | `` `Path ``, `` `Query_value `` … `` `Custom (c, safe, unsafe) `` | [`Component::Path`], [`Component::QueryValue`] … [`Component::custom`] |
//! | `Uri.pct_encoder ?scheme ?userinfo ?host ?path ?query_key ?query_value ?fragment ()` | [`PctEncoder::new`] `.scheme(c)` … `.fragment(c)` |
//! | `Uri.query_of_encoded`, `Uri.encoded_of_query ?pct_encoder` | [`query_of_encoded`], [`encoded_of_query`], [`encoded_of_query_with`] |
//! | `Uri.query`, `Uri.verbatim_query ?pct_encoder` | [`Uri::query`], [`Uri::verbatim_query`], [`Uri::verbatim_query_with`] |
//! | `Uri.get_query_param`, `Uri.get_query_param'` | [`Uri::get_query_param`] (the values joined with `,`), [`Uri::get_query_param_prime`] (the list) |
//! | `Uri.with_query`, `Uri.with_query'` | [`Uri::with_query`], [`Uri::with_query_prime`] (one value per key) |
//! | `Uri.add_query_param`, `add_query_param'`, `add_query_params`, `add_query_params'` | [`Uri::add_query_param`], [`Uri::add_query_param_prime`], [`Uri::add_query_params`], [`Uri::add_query_params_prime`] |
//! | `Uri.remove_query_param` | [`Uri::remove_query_param`] |
//! | `Uri.path ?pct_encoder`, `Uri.path_unencoded`, `Uri.path_and_query`, `Uri.with_path` | [`Uri::path`], [`Uri::path_with`], [`Uri::path_unencoded`], [`Uri::path_and_query`], [`Uri::with_path`] |
//! | `Uri.scheme`, `Uri.with_scheme` | [`Uri::scheme`], [`Uri::with_scheme`] |
//! | `Uri.userinfo ?pct_encoder`, `Uri.with_userinfo`, `Uri.user`, `Uri.password`, `Uri.with_password` | [`Uri::userinfo`], [`Uri::userinfo_with`], [`Uri::with_userinfo`], [`Uri::user`], [`Uri::password`], [`Uri::with_password`] |
//! | `Uri.host`, `Uri.with_host`, `Uri.host_with_default ?default` | [`Uri::host`], [`Uri::with_host`], [`Uri::host_with_default`] |
//! | `Uri.port`, `Uri.with_port` | [`Uri::port`], [`Uri::with_port`] |
//! | `Uri.fragment`, `Uri.with_fragment` | [`Uri::fragment`], [`Uri::with_fragment`] |
//! | `Uri.Absolute_http` | *(none)*: `http::Uri::try_from(&uri)` checks for an absolute or origin-form URI |
//! | `Uri.Parser`, `Uri_services`, `Uri_sexp` | *(none)*: the parser is [`Uri::of_string`]; service ports and S-expressions have no use here |
//!
//! # Where this differs from ocaml-uri
//!
//! - Ports are `u16`: a port above 65535 in the text is dropped, as
//!   ocaml-uri drops one above OCaml's `max_int`.
//! - A host whose dotted digits overflow an OCaml int makes ocaml-uri raise
//!   `Failure`; here it is a host name like any other.
//! - `equal` and `compare` compare parsed queries by their decoded pairs;
//!   ocaml-uri compares two parsed queries by their text (`?a=%7E` and
//!   `?a=~` differ there), which makes its equality non-transitive. Host
//!   kinds that differ (an IPv4 address and a name) are ordered IPv4, IPv6,
//!   name, where ocaml-uri answers "less" both ways. Both changes make
//!   `Eq`, `Ord` and `Hash` lawful.
//! - A path that starts with `//` in a URI without an authority (parsed
//!   from `%2F/x`, or set with `with_path`) is written `%2F/x`. ocaml-uri
//!   writes `//x`, which reads back as the host `x`; this way the text
//!   reads back as the same URI.
//!
//! # Conversions
//!
//! `http::Uri::try_from(&uri)` gives the absolute form (with a scheme and a
//! host) or the origin form (a path from `/`, no scheme or host), without
//! the fragment; other references are an [`Error`](crate::Error). `Uri`
//! and `&Uri` are [`IntoUri`](crate::request::IntoUri), so the clients take
//! them, and `Uri::from(&http_uri)` goes the other way.

use std::cmp::Ordering;
use std::convert::Infallible;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

mod convert;
mod parse;
mod path;
mod pct;
mod query;

pub use pct::{
    pct_decode, pct_decode_bytes, pct_encode, pct_encode_component, Component, PctEncoder,
};
pub use query::{encoded_of_query, encoded_of_query_with, query_of_encoded};

use path::{encoded_of_path, is_slash, merge, path_of_encoded, remove_dot_segments, Path};
use query::{encode_query, Kv, Query};

/// A URI reference, as ocaml-uri's `Uri.t`: absolute (`http://h/p`) or
/// relative (`../p?q`, `//h`, `#f`), its parts held decoded.
///
/// ```
/// use paf_compat::Uri;
///
/// let uri = Uri::of_string("https://user:pass@foo.com:123/wh/at/ever?foo=1&bar=5#5");
/// assert_eq!(uri.scheme().as_deref(), Some("https"));
/// assert_eq!(uri.user().as_deref(), Some("user"));
/// assert_eq!(uri.host().as_deref(), Some("foo.com"));
/// assert_eq!(uri.port(), Some(123));
/// assert_eq!(uri.path(), "/wh/at/ever");
/// assert_eq!(uri.get_query_param("bar").as_deref(), Some("5"));
/// assert_eq!(uri.fragment().as_deref(), Some("5"));
/// assert_eq!(uri.to_string(), "https://user:pass@foo.com:123/wh/at/ever?foo=1&bar=5#5");
/// ```
///
/// Equality and order are ocaml-uri's `compare` (host, scheme, port,
/// userinfo, path, query, fragment, each decoded), with the changes listed
/// in the [module documentation](self).
#[derive(Debug, Clone)]
pub struct Uri {
    scheme: Option<Vec<u8>>,
    userinfo: Option<Userinfo>,
    host: Option<Host>,
    port: Option<u16>,
    path: Path,
    query: Query,
    fragment: Option<Vec<u8>>,
}

/// A decoded user and optional password.
type Userinfo = (Vec<u8>, Option<Vec<u8>>);

/// ocaml-uri's host variants.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Host {
    /// `` `Ipv4_literal ``: as written.
    Ipv4(String),
    /// `` `Ipv6_literal ``: without brackets, as ocaml-uri's parser writes it.
    Ipv6(String),
    /// `` `Host ``: a decoded name.
    Name(Vec<u8>),
}

impl Host {
    fn rank(&self) -> u8 {
        match self {
            Host::Ipv4(_) => 0,
            Host::Ipv6(_) => 1,
            Host::Name(_) => 2,
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Host::Ipv4(h) | Host::Ipv6(h) => h.as_bytes(),
            Host::Name(h) => h,
        }
    }
}

/// The scheme-specific rules of ocaml-uri (its `Http`, `Https`, `File`
/// modules; `urn` and the others are generic).
#[derive(Clone, Copy, PartialEq, Eq)]
enum SchemeRules {
    Http,
    Https,
    File,
    Generic,
}

impl SchemeRules {
    fn of(scheme: Option<&[u8]>) -> SchemeRules {
        match scheme {
            Some(s) if s.eq_ignore_ascii_case(b"http") => SchemeRules::Http,
            Some(s) if s.eq_ignore_ascii_case(b"https") => SchemeRules::Https,
            Some(s) if s.eq_ignore_ascii_case(b"file") => SchemeRules::File,
            _ => SchemeRules::Generic,
        }
    }

    /// `normalize_host`: HTTP(S) hosts are lower case, a `file` host too
    /// and `localhost` there is the empty host.
    fn normalize_host(self, host: Host) -> Host {
        let lower = |h: Host| match h {
            Host::Ipv4(s) => Host::Ipv4(s.to_ascii_lowercase()),
            Host::Ipv6(s) => Host::Ipv6(s.to_ascii_lowercase()),
            Host::Name(s) => Host::Name(s.to_ascii_lowercase()),
        };
        match self {
            SchemeRules::Http | SchemeRules::Https => lower(host),
            SchemeRules::File => match lower(host) {
                Host::Name(s) if s == b"localhost" => Host::Name(Vec::new()),
                h => h,
            },
            SchemeRules::Generic => host,
        }
    }
}

/// Decoded bytes as text, U+FFFD for what is not UTF-8.
fn text(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

fn text_ref(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn kv_text(kv: &[(Vec<u8>, Vec<Vec<u8>>)]) -> Vec<(String, Vec<String>)> {
    kv.iter()
        .map(|(k, vs)| (text_ref(k), vs.iter().map(|v| text_ref(v)).collect()))
        .collect()
}

fn kv_bytes<I, K, VS, V>(query: I) -> Kv
where
    I: IntoIterator<Item = (K, VS)>,
    K: AsRef<str>,
    VS: IntoIterator<Item = V>,
    V: AsRef<str>,
{
    query
        .into_iter()
        .map(|(k, vs)| {
            let values = vs.into_iter().map(|v| v.as_ref().as_bytes().to_vec());
            (k.as_ref().as_bytes().to_vec(), values.collect())
        })
        .collect()
}

fn singletons<I, K, V>(query: I) -> Kv
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    kv_bytes(query.into_iter().map(|(k, v)| (k, [v])))
}

/// ocaml-uri's `userinfo_of_encoded`: user, then after the first `:` the
/// password, each decoded.
fn userinfo_of_encoded(us: &[u8]) -> Userinfo {
    match us.iter().position(|&b| b == b':') {
        Some(colon) => (
            pct::decode(&us[..colon]),
            Some(pct::decode(&us[colon + 1..])),
        ),
        None => (pct::decode(us), None),
    }
}

fn encoded_of_userinfo((user, password): &Userinfo, component: &Component) -> String {
    let mut out = pct::encode(user, component);
    if let Some(p) = password {
        out.push(':');
        out.push_str(&pct::encode(p, component));
    }
    out
}

impl Default for Uri {
    fn default() -> Self {
        Uri::empty()
    }
}

impl Uri {
    /// `Uri.empty`: the empty reference, no part set; `""` as text.
    pub fn empty() -> Uri {
        Uri {
            scheme: None,
            userinfo: None,
            host: None,
            port: None,
            path: Vec::new(),
            query: Query::none(),
            fragment: None,
        }
    }

    /// `Uri.of_string s`: parse a URI reference; never fails.
    ///
    /// A bare string is a path, `//` starts an authority, and what a part
    /// cannot take goes on to the next part (`http://a b/` has the host `a`
    /// and the path ` b/`). Everything from the first newline on is
    /// ignored. The scheme is lower-cased, and the host too for `http`,
    /// `https` and `file` (where `localhost` becomes the empty host).
    ///
    /// ```
    /// use paf_compat::Uri;
    ///
    /// assert_eq!(Uri::of_string("HTTP://Example.Com/%68%65%6c%6c%6f").to_string(), "http://example.com/hello");
    /// assert_eq!(Uri::of_string("//foobar.com/quux").host().as_deref(), Some("foobar.com"));
    /// assert_eq!(Uri::of_string("quux%2F%20").path(), "quux%2F%20");
    /// assert_eq!(Uri::of_string("http://[::1]:8080/").host().as_deref(), Some("::1"));
    /// ```
    pub fn of_string(s: &str) -> Uri {
        parse::of_string(s)
    }

    /// `Uri.make ?scheme ?userinfo ?host ?port ?path ?query ?fragment ()`.
    ///
    /// ```
    /// use paf_compat::Uri;
    ///
    /// let uri = Uri::builder()
    ///     .scheme("https")
    ///     .userinfo("user:pass")
    ///     .host("foo.com")
    ///     .port(123)
    ///     .path("/wh/at/ever")
    ///     .query([("foo", ["1"]), ("bar", ["5"])])
    ///     .fragment("5")
    ///     .build();
    /// assert_eq!(uri.to_string(), "https://user:pass@foo.com:123/wh/at/ever?foo=1&bar=5#5");
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// `Uri.with_uri ?scheme ?userinfo ?host ?port ?path ?query ?fragment u`:
    /// the parts given replaced (`Some`) or removed (`None`), the others
    /// kept.
    ///
    /// ```
    /// use paf_compat::Uri;
    ///
    /// let base = Uri::of_string("scheme://user:pass@host:0/path?query=arg#fragment");
    /// let uri = base.with_uri().userinfo(None).port(Some(1)).fragment(Some("new")).build();
    /// assert_eq!(uri.to_string(), "scheme://host:1/path?query=arg#new");
    /// ```
    pub fn with_uri(&self) -> WithUri<'_> {
        WithUri {
            uri: self,
            scheme: None,
            userinfo: None,
            host: None,
            port: None,
            path: None,
            query: None,
            fragment: None,
        }
    }

    /// `Uri.to_string ~pct_encoder u`: the text, each part encoded with the
    /// component `enc` names for it. `to_string()` uses
    /// [`PctEncoder::new`].
    pub fn to_string_with(&self, enc: &PctEncoder) -> String {
        let mut out = String::new();
        if let Some(scheme) = &self.scheme {
            out.push_str(&pct::encode(scheme, &enc.scheme));
            out.push(':');
        }
        // Any part of the authority makes one, even if the host is empty.
        let has_authority = self.userinfo.is_some() || self.host.is_some() || self.port.is_some();
        if has_authority {
            out.push_str("//");
        }
        if let Some(userinfo) = &self.userinfo {
            out.push_str(&encoded_of_userinfo(userinfo, &enc.userinfo));
            out.push('@');
        }
        match &self.host {
            None => {}
            Some(Host::Name(name)) => out.push_str(&pct::encode(name, &enc.host)),
            Some(Host::Ipv4(addr)) => out.push_str(addr),
            Some(Host::Ipv6(addr)) => {
                out.push('[');
                out.push_str(addr);
                out.push(']');
            }
        }
        if let Some(port) = self.port {
            out.push(':');
            out.push_str(&port.to_string());
        }
        if let Some(first) = self.path.first() {
            if !is_slash(first) {
                if self.host.is_some() {
                    out.push('/');
                } else if self.scheme.is_none() && first.contains(&b':') {
                    // `a:b` alone would read back as a scheme.
                    out.push_str("./");
                }
            }
            let path = encoded_of_path(&self.path, &enc.path);
            if !has_authority && path.starts_with("//") {
                // Read back, `//x` would be the host `x` (RFC 3986 §3.3); a
                // deviation from ocaml-uri, which writes it so.
                out.push_str("%2F");
                out.push_str(&path[1..]);
            } else {
                out.push_str(&path);
            }
        }
        if !self.query.is_absent() {
            // Written from the pairs, even for a parsed query: this is
            // where `%7e` becomes `~` and `+` becomes `%20`.
            out.push('?');
            out.push_str(&encode_query(self.query.kv(), enc));
        }
        if let Some(fragment) = &self.fragment {
            out.push('#');
            out.push_str(&pct::encode(fragment, &enc.fragment));
        }
        out
    }

    /// `Uri.equal a b`: `compare a b = 0`, which is `==`.
    pub fn equal(&self, other: &Uri) -> bool {
        self == other
    }

    /// `Uri.compare a b`: by host, scheme, port, userinfo, path, query and
    /// fragment, each decoded; an absent part comes first. See the [module
    /// documentation](self) for where this differs from ocaml-uri.
    pub fn compare(&self, other: &Uri) -> Ordering {
        self.cmp(other)
    }

    /// `Uri.resolve scheme base u`: `u` resolved against `base` (RFC 3986
    /// §5.2), dot segments removed, then the scheme lower-cased and the
    /// host normalised with the rules of `base`'s scheme, or of `scheme`
    /// when `base` has none.
    ///
    /// ocaml-uri departs from the RFC where a relative path climbs above a
    /// relative base (`..`s it cannot remove are kept: `../a` against `b`
    /// is `../a`) and on `//` (`/foo/bar//..` is `/foo/bar/`); this does
    /// the same.
    ///
    /// ```
    /// use paf_compat::Uri;
    ///
    /// let base = Uri::of_string("http://a/b/c/d;p?q");
    /// let at = |rel: &str| Uri::resolve("http", &base, &Uri::of_string(rel)).to_string();
    /// assert_eq!(at("../g"), "http://a/b/g");
    /// assert_eq!(at("?y"), "http://a/b/c/d;p?y");
    /// assert_eq!(at("//g"), "http://g");
    /// assert_eq!(at("../../../g"), "http://a/g");
    /// ```
    pub fn resolve(scheme: &str, base: &Uri, uri: &Uri) -> Uri {
        let rules_scheme = base
            .scheme
            .clone()
            .unwrap_or_else(|| scheme.as_bytes().to_vec());
        let mut out = uri.clone();
        if uri.scheme.is_some() {
            out.path = remove_dot_segments(&uri.path);
        } else if uri.userinfo.is_some() || uri.host.is_some() {
            out.scheme.clone_from(&base.scheme);
            out.path = remove_dot_segments(&uri.path);
        } else {
            out.scheme.clone_from(&base.scheme);
            out.userinfo.clone_from(&base.userinfo);
            out.host.clone_from(&base.host);
            out.port = base.port;
            match uri.path.first() {
                None => {
                    out.path.clone_from(&base.path);
                    if uri.query.is_absent() {
                        out.query = base.query.clone();
                    }
                }
                Some(first) if is_slash(first) => out.path = remove_dot_segments(&uri.path),
                Some(_) => {
                    out.path =
                        remove_dot_segments(&merge(base.host.is_some(), &base.path, &uri.path))
                }
            }
        }
        out.normalize(Some(&rules_scheme))
    }

    /// `Uri.canonicalize u`: [`Uri::resolve`] against [`Uri::empty`], then
    /// RFC 3986 §6.2.3 for `http` and `https`: the default port (80, 443)
    /// dropped and an empty path made `/`.
    ///
    /// ```
    /// use paf_compat::Uri;
    ///
    /// let canonical = |s: &str| Uri::of_string(s).canonicalize().to_string();
    /// assert_eq!(canonical("http://foo.bar:80/a/b/c"), "http://foo.bar/a/b/c");
    /// assert_eq!(canonical("https://example.org"), "https://example.org/");
    /// assert_eq!(canonical("/foo/../../"), "/");
    /// ```
    pub fn canonicalize(&self) -> Uri {
        let mut uri = Uri::resolve("", &Uri::empty(), self);
        let rules = SchemeRules::of(uri.scheme.as_deref());
        match (rules, uri.port) {
            (SchemeRules::Http, Some(80)) | (SchemeRules::Https, Some(443)) => uri.port = None,
            _ => {}
        }
        if matches!(rules, SchemeRules::Http | SchemeRules::Https) && uri.path.is_empty() {
            uri.path = vec![b"/".to_vec()];
        }
        uri
    }

    /// ocaml-uri's `normalize`: the scheme in lower case, the host by the
    /// rules of `rules_scheme`.
    fn normalize(mut self, rules_scheme: Option<&[u8]>) -> Uri {
        if let Some(scheme) = &mut self.scheme {
            scheme.make_ascii_lowercase();
        }
        let rules = SchemeRules::of(rules_scheme);
        self.host = self.host.map(|h| rules.normalize_host(h));
        self
    }

    // --- query ---

    /// `Uri.query u`: the decoded pairs, in order; empty when there is no
    /// query.
    ///
    /// ```
    /// use paf_compat::Uri;
    ///
    /// let pairs = |s: &str| Uri::of_string(s).query();
    /// assert_eq!(pairs("/"), vec![]);
    /// assert_eq!(pairs("/?"), vec![(String::new(), vec![])]);
    /// assert_eq!(pairs("/?a=1,2&b"), vec![
    ///     ("a".to_owned(), vec!["1".to_owned(), "2".to_owned()]),
    ///     ("b".to_owned(), vec![]),
    /// ]);
    /// ```
    pub fn query(&self) -> Vec<(String, Vec<String>)> {
        kv_text(self.query.kv())
    }

    /// `Uri.verbatim_query u`: the query as parsed, if it was parsed and
    /// not changed since; else the pairs encoded; `None` without a query.
    ///
    /// ```
    /// use paf_compat::Uri;
    ///
    /// let uri = Uri::of_string("?name=3+4%20+%3a|");
    /// assert_eq!(uri.verbatim_query().as_deref(), Some("name=3+4%20+%3a|"));
    /// assert_eq!(uri.to_string(), "?name=3%204%20%20:%7C");
    /// ```
    pub fn verbatim_query(&self) -> Option<String> {
        self.verbatim_query_with(&PctEncoder::new())
    }

    /// `Uri.verbatim_query ~pct_encoder u`.
    pub fn verbatim_query_with(&self, enc: &PctEncoder) -> Option<String> {
        match &self.query {
            Query::Raw(qs, _) => qs.clone(),
            Query::Kv(kv) if kv.is_empty() => None,
            Query::Kv(kv) => Some(encode_query(kv, enc)),
        }
    }

    /// `Uri.get_query_param' u key`: the values of the first pair named
    /// `key`. `/?k` gives `Some([])`, `/?k=` `Some([""])`, `/?k=a,b`
    /// `Some(["a", "b"])`, and `/` `None`.
    pub fn get_query_param_prime(&self, key: &str) -> Option<Vec<String>> {
        self.query
            .kv()
            .iter()
            .find(|(k, _)| k == key.as_bytes())
            .map(|(_, vs)| vs.iter().map(|v| text_ref(v)).collect())
    }

    /// `Uri.get_query_param u key`: the values of the first pair named
    /// `key`, joined with `,`.
    ///
    /// ocaml-uri's interface documentation says "the first" value; its code
    /// joins them all, and so does this: `?k=a,b` gives `"a,b"`, `?k` gives
    /// `""`.
    ///
    /// ```
    /// use paf_compat::Uri;
    ///
    /// let uri = Uri::of_string("/?foo=bar,chi&foo=x");
    /// assert_eq!(uri.get_query_param("foo").as_deref(), Some("bar,chi"));
    /// assert_eq!(uri.get_query_param_prime("foo"), Some(vec!["bar".to_owned(), "chi".to_owned()]));
    /// assert_eq!(uri.get_query_param("nope"), None);
    /// ```
    pub fn get_query_param(&self, key: &str) -> Option<String> {
        self.get_query_param_prime(key).map(|vs| vs.join(","))
    }

    /// `Uri.with_query u q`: the query replaced by these pairs (an empty
    /// list removes it).
    ///
    /// ```
    /// use paf_compat::Uri;
    ///
    /// let uri = Uri::of_string("http://h/p?old");
    /// assert_eq!(uri.with_query([("k", vec!["a", "b"])]).to_string(), "http://h/p?k=a,b");
    /// assert_eq!(uri.with_query(Vec::<(&str, Vec<&str>)>::new()).to_string(), "http://h/p");
    /// ```
    pub fn with_query<I, K, VS, V>(&self, query: I) -> Uri
    where
        I: IntoIterator<Item = (K, VS)>,
        K: AsRef<str>,
        VS: IntoIterator<Item = V>,
        V: AsRef<str>,
    {
        self.set_query(kv_bytes(query))
    }

    /// `Uri.with_query' u q`: [`Uri::with_query`] with one value per key.
    pub fn with_query_prime<I, K, V>(&self, query: I) -> Uri
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        self.set_query(singletons(query))
    }

    /// `Uri.add_query_param u (k, vs)`: the pair put **first**, before the
    /// existing ones, as ocaml-uri does.
    pub fn add_query_param<K, VS, V>(&self, param: (K, VS)) -> Uri
    where
        K: AsRef<str>,
        VS: IntoIterator<Item = V>,
        V: AsRef<str>,
    {
        self.add_query_params([param])
    }

    /// `Uri.add_query_param' u (k, v)`: [`Uri::add_query_param`] with one
    /// value.
    pub fn add_query_param_prime<K, V>(&self, param: (K, V)) -> Uri
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        self.add_query_params_prime([param])
    }

    /// `Uri.add_query_params u ps`: the pairs put first, in their order.
    pub fn add_query_params<I, K, VS, V>(&self, params: I) -> Uri
    where
        I: IntoIterator<Item = (K, VS)>,
        K: AsRef<str>,
        VS: IntoIterator<Item = V>,
        V: AsRef<str>,
    {
        self.prepend_query(kv_bytes(params))
    }

    /// `Uri.add_query_params' u ps`: [`Uri::add_query_params`] with one
    /// value per key.
    pub fn add_query_params_prime<I, K, V>(&self, params: I) -> Uri
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        self.prepend_query(singletons(params))
    }

    /// `Uri.remove_query_param u key`: every pair named `key` removed.
    pub fn remove_query_param(&self, key: &str) -> Uri {
        let kv = self.query.kv();
        let kept = kv.iter().filter(|(k, _)| k != key.as_bytes()).cloned();
        self.set_query(kept.collect())
    }

    fn prepend_query(&self, mut kv: Kv) -> Uri {
        kv.extend(self.query.kv().iter().cloned());
        self.set_query(kv)
    }

    fn set_query(&self, kv: Kv) -> Uri {
        Uri {
            query: Query::Kv(kv),
            ..self.clone()
        }
    }

    // --- path ---

    /// `Uri.path u`: the path, percent-encoded.
    pub fn path(&self) -> String {
        self.path_with(&PctEncoder::new())
    }

    /// `Uri.path ~pct_encoder u`.
    pub fn path_with(&self, enc: &PctEncoder) -> String {
        encoded_of_path(&self.path, &enc.path)
    }

    /// `Uri.path_unencoded u`: the path decoded (a `%2F` is then a `/`).
    pub fn path_unencoded(&self) -> String {
        text(self.path.concat())
    }

    /// `Uri.path_and_query u`: the encoded path and query, as in a request
    /// line; `/` for an empty path.
    ///
    /// ```
    /// use paf_compat::Uri;
    ///
    /// assert_eq!(Uri::of_string("http://h").path_and_query(), "/");
    /// assert_eq!(Uri::of_string("http://h?a=b+c").path_and_query(), "/?a=b%20c");
    /// assert_eq!(Uri::of_string("/foo%20bar/").path_and_query(), "/foo%20bar/");
    /// ```
    pub fn path_and_query(&self) -> String {
        let path = self.path();
        let kv = self.query.kv();
        let path = if path.is_empty() {
            "/".to_owned()
        } else {
            path
        };
        if kv.is_empty() {
            path
        } else {
            format!("{path}?{}", encode_query(kv, &PctEncoder::new()))
        }
    }

    /// `Uri.with_path u p`: the path replaced by the encoded path `p`; with
    /// a host, a path not starting with `/` gets one (it is not resolved).
    ///
    /// ```
    /// use paf_compat::Uri;
    ///
    /// assert_eq!(Uri::of_string("//h").with_path("a").to_string(), "//h/a");
    /// assert_eq!(Uri::empty().with_path("a%2F").to_string(), "a%2F");
    /// ```
    pub fn with_path(&self, path: &str) -> Uri {
        let mut path = path_of_encoded(path.as_bytes());
        if self.host.is_some() {
            root(&mut path);
        }
        Uri {
            path,
            ..self.clone()
        }
    }

    // --- scheme, userinfo, host, port, fragment ---

    /// `Uri.scheme u`: the scheme, decoded.
    pub fn scheme(&self) -> Option<String> {
        self.scheme.as_deref().map(text_ref)
    }

    /// `Uri.with_scheme u s`: the scheme replaced, as given (not
    /// lower-cased, not checked).
    ///
    /// ```
    /// use paf_compat::Uri;
    ///
    /// let uri = Uri::of_string("https://foo.bar/a/b/c");
    /// assert_eq!(uri.with_scheme(Some("f o o")).to_string(), "f%20o%20o://foo.bar/a/b/c");
    /// ```
    pub fn with_scheme(&self, scheme: Option<&str>) -> Uri {
        Uri {
            scheme: scheme.map(|s| s.as_bytes().to_vec()),
            ..self.clone()
        }
    }

    /// `Uri.userinfo u`: `user` or `user:password`, percent-encoded (a `:`
    /// in either is `%3A`).
    pub fn userinfo(&self) -> Option<String> {
        self.userinfo_with(&PctEncoder::new())
    }

    /// `Uri.userinfo ~pct_encoder u`.
    pub fn userinfo_with(&self, enc: &PctEncoder) -> Option<String> {
        self.userinfo
            .as_ref()
            .map(|u| encoded_of_userinfo(u, &enc.userinfo))
    }

    /// `Uri.with_userinfo u ui`: the userinfo replaced by the encoded
    /// `user[:password]`; a URI without a host gets an empty one, even when
    /// `ui` is `None` (as in ocaml-uri).
    ///
    /// ```
    /// use paf_compat::Uri;
    ///
    /// let uri = Uri::of_string("https://foo.bar/a/b/c");
    /// assert_eq!(
    ///     uri.with_userinfo(Some("avsm:pa%3Asswo rd")).to_string(),
    ///     "https://avsm:pa%3Asswo%20rd@foo.bar/a/b/c"
    /// );
    /// assert_eq!(Uri::empty().with_userinfo(Some("avsm")).to_string(), "//avsm@");
    /// ```
    pub fn with_userinfo(&self, userinfo: Option<&str>) -> Uri {
        Uri {
            userinfo: userinfo.map(|u| userinfo_of_encoded(u.as_bytes())),
            host: Some(self.host_or_empty()),
            ..self.clone()
        }
    }

    /// `Uri.user u`: the user, decoded.
    pub fn user(&self) -> Option<String> {
        self.userinfo.as_ref().map(|(user, _)| text_ref(user))
    }

    /// `Uri.password u`: the password, decoded.
    pub fn password(&self) -> Option<String> {
        self.userinfo
            .as_ref()
            .and_then(|(_, password)| password.as_deref().map(text_ref))
    }

    /// `Uri.with_password u p`: the password replaced (decoded text); with
    /// no userinfo yet the user is empty, and a URI without a host gets an
    /// empty one. `None` on a URI without userinfo changes nothing.
    ///
    /// ```
    /// use paf_compat::Uri;
    ///
    /// assert_eq!(Uri::of_string("/").with_password(Some(":")).to_string(), "//:%3A@/");
    /// assert_eq!(Uri::of_string("//user:pass@foo").with_password(None).to_string(), "//user@foo");
    /// ```
    pub fn with_password(&self, password: Option<&str>) -> Uri {
        let password = password.map(|p| p.as_bytes().to_vec());
        let user = match (&self.userinfo, &password) {
            (None, None) => return self.clone(),
            (None, Some(_)) => Vec::new(),
            (Some((user, _)), _) => user.clone(),
        };
        Uri {
            userinfo: Some((user, password)),
            host: Some(self.host_or_empty()),
            ..self.clone()
        }
    }

    /// `Uri.host u`: the host; an IPv6 address without its brackets, a
    /// name decoded.
    pub fn host(&self) -> Option<String> {
        self.host.as_ref().map(|h| text_ref(h.bytes()))
    }

    /// `Uri.host_with_default ?default u`: the host, or `default`
    /// (`"localhost"` when `None`).
    pub fn host_with_default(&self, default: Option<&str>) -> String {
        self.host()
            .unwrap_or_else(|| default.unwrap_or("localhost").to_owned())
    }

    /// `Uri.with_host u h`: the host replaced. The text is read as a host
    /// (`1.2.3.4`, `[::1]`, `foo%21.com`), else as a bare IPv6 address
    /// (`::1`), else kept as a name without decoding, as in ocaml-uri. It
    /// is not lower-cased. `None` removes the host but keeps userinfo and
    /// port.
    ///
    /// ```
    /// use paf_compat::Uri;
    ///
    /// let uri = Uri::of_string("http://h:8080/p");
    /// assert_eq!(uri.with_host(Some("2001:DB8::1")).to_string(), "http://[2001:DB8::1]:8080/p");
    /// assert_eq!(uri.with_host(Some("foo%21.com")).host().as_deref(), Some("foo!.com"));
    /// ```
    pub fn with_host(&self, host: Option<&str>) -> Uri {
        Uri {
            host: host.map(parse::decode_host),
            ..self.clone()
        }
    }

    /// `Uri.port u`.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// `Uri.with_port u p`: the port replaced; a URI without a host gets an
    /// empty one when `p` is `Some`, and loses its port when `None`.
    pub fn with_port(&self, port: Option<u16>) -> Uri {
        let host = match (&self.host, port) {
            (Some(h), _) => Some(h.clone()),
            (None, None) => None,
            (None, Some(_)) => Some(Host::Name(Vec::new())),
        };
        Uri {
            host,
            port,
            ..self.clone()
        }
    }

    /// `Uri.fragment u`: the fragment, decoded.
    pub fn fragment(&self) -> Option<String> {
        self.fragment.as_deref().map(text_ref)
    }

    /// `Uri.with_fragment u f`: the fragment replaced (decoded text).
    pub fn with_fragment(&self, fragment: Option<&str>) -> Uri {
        Uri {
            fragment: fragment.map(|f| f.as_bytes().to_vec()),
            ..self.clone()
        }
    }

    fn host_or_empty(&self) -> Host {
        self.host.clone().unwrap_or(Host::Name(Vec::new()))
    }
}

/// A path given with a host starts with `/` (ocaml-uri's `make` and
/// `with_path`).
fn root(path: &mut Path) {
    if path.first().is_some_and(|t| !is_slash(t)) {
        path.insert(0, b"/".to_vec());
    }
}

impl fmt::Display for Uri {
    /// `Uri.to_string u`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_with(&PctEncoder::new()))
    }
}

impl FromStr for Uri {
    type Err = Infallible;

    /// [`Uri::of_string`], which never fails.
    fn from_str(s: &str) -> Result<Uri, Infallible> {
        Ok(Uri::of_string(s))
    }
}

impl From<&str> for Uri {
    fn from(s: &str) -> Uri {
        Uri::of_string(s)
    }
}

impl PartialEq for Uri {
    fn eq(&self, other: &Uri) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Uri {}

impl PartialOrd for Uri {
    fn partial_cmp(&self, other: &Uri) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Uri {
    fn cmp(&self, other: &Uri) -> Ordering {
        let host = match (&self.host, &other.host) {
            (Some(a), Some(b)) => a
                .rank()
                .cmp(&b.rank())
                .then_with(|| a.bytes().cmp(b.bytes())),
            (a, b) => a.is_some().cmp(&b.is_some()),
        };
        host.then_with(|| self.scheme.cmp(&other.scheme))
            .then_with(|| self.port.cmp(&other.port))
            .then_with(|| self.userinfo.cmp(&other.userinfo))
            .then_with(|| self.path.cmp(&other.path))
            .then_with(|| self.query.kv().cmp(other.query.kv()))
            .then_with(|| self.fragment.cmp(&other.fragment))
    }
}

impl Hash for Uri {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.host.hash(state);
        self.scheme.hash(state);
        self.port.hash(state);
        self.userinfo.hash(state);
        self.path.hash(state);
        self.query.kv().hash(state);
        self.fragment.hash(state);
    }
}

/// The parts of a new [`Uri`]: `Uri.make`'s optional arguments, from
/// [`Uri::builder`].
///
/// As in ocaml-uri, userinfo or a port without a host add an empty host, a
/// path given with a host is made to start with `/` (not resolved), and
/// the scheme is lower-cased (the host too for `http`, `https`, `file`).
#[derive(Debug, Clone, Default)]
pub struct Builder {
    scheme: Option<String>,
    userinfo: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    path: Option<String>,
    query: Option<Kv>,
    fragment: Option<String>,
}

impl Builder {
    /// `?scheme`: decoded text.
    pub fn scheme(mut self, scheme: &str) -> Builder {
        self.scheme = Some(scheme.to_owned());
        self
    }

    /// `?userinfo`: encoded `user[:password]`.
    pub fn userinfo(mut self, userinfo: &str) -> Builder {
        self.userinfo = Some(userinfo.to_owned());
        self
    }

    /// `?host`: read as [`Uri::with_host`] reads it.
    pub fn host(mut self, host: &str) -> Builder {
        self.host = Some(host.to_owned());
        self
    }

    /// `?port`.
    pub fn port(mut self, port: u16) -> Builder {
        self.port = Some(port);
        self
    }

    /// `?path`: an encoded path.
    pub fn path(mut self, path: &str) -> Builder {
        self.path = Some(path.to_owned());
        self
    }

    /// `?query`: decoded pairs of a key and its values.
    pub fn query<I, K, VS, V>(mut self, query: I) -> Builder
    where
        I: IntoIterator<Item = (K, VS)>,
        K: AsRef<str>,
        VS: IntoIterator<Item = V>,
        V: AsRef<str>,
    {
        self.query = Some(kv_bytes(query));
        self
    }

    /// `?fragment`: decoded text.
    pub fn fragment(mut self, fragment: &str) -> Builder {
        self.fragment = Some(fragment.to_owned());
        self
    }

    /// `Uri.make … ()`.
    pub fn build(self) -> Uri {
        let host = match (&self.host, &self.userinfo, self.port) {
            (None, Some(_), _) | (None, _, Some(_)) => Some(String::new()),
            (host, _, _) => host.clone(),
        };
        let mut path = self
            .path
            .map(|p| path_of_encoded(p.as_bytes()))
            .unwrap_or_default();
        if host.is_some() {
            root(&mut path);
        }
        let scheme = self.scheme.map(String::into_bytes);
        let rules_scheme = scheme.clone();
        Uri {
            scheme,
            userinfo: self.userinfo.map(|u| userinfo_of_encoded(u.as_bytes())),
            host: host.as_deref().map(parse::decode_host),
            port: self.port,
            path,
            query: Query::Kv(self.query.unwrap_or_default()),
            fragment: self.fragment.map(String::into_bytes),
        }
        .normalize(rules_scheme.as_deref())
    }
}

/// Changes to a [`Uri`]: `Uri.with_uri`'s optional arguments, from
/// [`Uri::with_uri`]. A part not named is kept; `Some` replaces it and
/// `None` removes it, each through the `with_` function of its name.
#[derive(Debug, Clone)]
pub struct WithUri<'a> {
    uri: &'a Uri,
    scheme: Option<Option<String>>,
    userinfo: Option<Option<String>>,
    host: Option<Option<String>>,
    port: Option<Option<u16>>,
    path: Option<Option<String>>,
    query: Option<Option<Kv>>,
    fragment: Option<Option<String>>,
}

impl WithUri<'_> {
    /// `?scheme`, as [`Uri::with_scheme`].
    pub fn scheme(mut self, scheme: Option<&str>) -> Self {
        self.scheme = Some(scheme.map(str::to_owned));
        self
    }

    /// `?userinfo`, as [`Uri::with_userinfo`].
    pub fn userinfo(mut self, userinfo: Option<&str>) -> Self {
        self.userinfo = Some(userinfo.map(str::to_owned));
        self
    }

    /// `?host`, as [`Uri::with_host`].
    pub fn host(mut self, host: Option<&str>) -> Self {
        self.host = Some(host.map(str::to_owned));
        self
    }

    /// `?port`, as [`Uri::with_port`].
    pub fn port(mut self, port: Option<u16>) -> Self {
        self.port = Some(port);
        self
    }

    /// `?path`, as [`Uri::with_path`] (`None` is the empty path).
    pub fn path(mut self, path: Option<&str>) -> Self {
        self.path = Some(path.map(str::to_owned));
        self
    }

    /// `?query`, as [`Uri::with_query`] (`None` is no query).
    pub fn query<I, K, VS, V>(mut self, query: Option<I>) -> Self
    where
        I: IntoIterator<Item = (K, VS)>,
        K: AsRef<str>,
        VS: IntoIterator<Item = V>,
        V: AsRef<str>,
    {
        self.query = Some(query.map(kv_bytes));
        self
    }

    /// `?fragment`, as [`Uri::with_fragment`].
    pub fn fragment(mut self, fragment: Option<&str>) -> Self {
        self.fragment = Some(fragment.map(str::to_owned));
        self
    }

    /// The changed URI, the changes applied in ocaml-uri's order (scheme,
    /// userinfo, host, port, path, query, fragment).
    pub fn build(self) -> Uri {
        let mut uri = self.uri.clone();
        if let Some(scheme) = &self.scheme {
            uri = uri.with_scheme(scheme.as_deref());
        }
        if let Some(userinfo) = &self.userinfo {
            uri = uri.with_userinfo(userinfo.as_deref());
        }
        if let Some(host) = &self.host {
            uri = uri.with_host(host.as_deref());
        }
        if let Some(port) = self.port {
            uri = uri.with_port(port);
        }
        if let Some(path) = &self.path {
            uri = uri.with_path(path.as_deref().unwrap_or(""));
        }
        if let Some(query) = self.query {
            uri = uri.set_query(query.unwrap_or_default());
        }
        if let Some(fragment) = &self.fragment {
            uri = uri.with_fragment(fragment.as_deref());
        }
        uri
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_ignores_how_a_query_was_written() {
        assert_eq!(Uri::of_string("?a=%7e"), Uri::of_string("?a=~"));
        assert_eq!(
            Uri::of_string("/?a=1"),
            Uri::of_string("/").with_query([("a", ["1"])])
        );
        assert_ne!(Uri::of_string("/?"), Uri::of_string("/"));
    }

    #[test]
    fn order_is_total_across_host_kinds() {
        let v4 = Uri::of_string("//1.2.3.4");
        let name = Uri::of_string("//1.2.3.%34");
        assert_eq!(name.host(), v4.host());
        assert_eq!(v4.cmp(&name), Ordering::Less);
        assert_eq!(name.cmp(&v4), Ordering::Greater);
    }

    #[test]
    fn hash_agrees_with_eq() {
        use std::collections::HashSet;
        let set: HashSet<Uri> = ["?a=%7e", "?a=~", "?a=%7E"]
            .iter()
            .map(|s| Uri::of_string(s))
            .collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn non_utf8_bytes_survive_a_round_trip() {
        let uri = Uri::of_string("http://t/announce?info_hash=%A1%B2%00&x=%FF#%FE");
        assert_eq!(
            uri.to_string(),
            "http://t/announce?info_hash=%A1%B2%00&x=%FF#%FE"
        );
        assert_eq!(uri.get_query_param("x").as_deref(), Some("\u{FFFD}"));
    }

    #[test]
    fn with_userinfo_none_still_adds_a_host() {
        assert_eq!(Uri::of_string("/p").with_userinfo(None).to_string(), "///p");
    }
}
