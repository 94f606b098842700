//! CoHTTP's `Cookie`: the `Set-Cookie` response field ([`SetCookieHdr`]) and
//! the `Cookie` request field ([`CookieHdr`]).
//!
//! Parsing follows CoHTTP, which is older than RFC 6265 and lenient: it never
//! fails, skips what it cannot read, and never panics here. Its quirks are
//! kept and listed on each function.

use crate::Header;

/// A cookie: its name and value, as CoHTTP's `Cookie.cookie`.
pub type Cookie = (String, String);

/// When the user agent drops a cookie, as CoHTTP's `Cookie.expiration`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Expiration {
    /// At the end of the session (no `Max-Age`).
    #[default]
    Session,
    /// After this many seconds (`Max-Age`).
    MaxAge(i64),
}

/// The `Set-Cookie` form to write, as the `?version` argument of CoHTTP's
/// `Set_cookie_hdr.serialize`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SetCookieVersion {
    /// `Set-Cookie` (Netscape / RFC 6265 style); CoHTTP's default.
    #[default]
    Http1_0,
    /// `Set-Cookie2` (RFC 2965, obsolete).
    Http1_1,
}

/// A cookie a server sets, with its attributes, as CoHTTP's
/// `Cookie.Set_cookie_hdr.t`. The fields are public as in the OCaml record;
/// the accessor methods mirror CoHTTP's functions of the same names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SetCookieHdr {
    /// Name and value.
    pub cookie: Cookie,
    /// Lifetime.
    pub expiration: Expiration,
    /// `Domain`, if any.
    pub domain: Option<String>,
    /// `Path`, if any.
    pub path: Option<String>,
    /// `Secure`.
    pub secure: bool,
    /// `HttpOnly`.
    pub http_only: bool,
}

impl SetCookieHdr {
    /// CoHTTP's `Set_cookie_hdr.make` with its defaults: a session cookie
    /// with no domain or path, neither secure nor HTTP-only. Set the rest with
    /// the `with_*` methods. Like CoHTTP, the name and value are not checked
    /// for `;`, `,`, spaces or a leading `$`.
    pub fn make(cookie: (impl Into<String>, impl Into<String>)) -> SetCookieHdr {
        SetCookieHdr {
            cookie: (cookie.0.into(), cookie.1.into()),
            expiration: Expiration::Session,
            domain: None,
            path: None,
            secure: false,
            http_only: false,
        }
    }

    /// `make ~expiration`.
    pub fn with_expiration(mut self, expiration: Expiration) -> SetCookieHdr {
        self.expiration = expiration;
        self
    }

    /// `make ~path`.
    pub fn with_path(mut self, path: impl Into<String>) -> SetCookieHdr {
        self.path = Some(path.into());
        self
    }

    /// `make ~domain`.
    pub fn with_domain(mut self, domain: impl Into<String>) -> SetCookieHdr {
        self.domain = Some(domain.into());
        self
    }

    /// `make ~secure`.
    pub fn with_secure(mut self, secure: bool) -> SetCookieHdr {
        self.secure = secure;
        self
    }

    /// `make ~http_only`.
    pub fn with_http_only(mut self, http_only: bool) -> SetCookieHdr {
        self.http_only = http_only;
        self
    }

    /// CoHTTP's `Set_cookie_hdr.serialize` with its default version: the
    /// `Set-Cookie` field, as
    /// `name=value; Max-Age=N; domain=D; path=P; secure; httponly` (only the
    /// attributes that are set; no `=` when the value is empty).
    pub fn serialize(&self) -> (String, String) {
        self.serialize_version(SetCookieVersion::Http1_0)
    }

    /// CoHTTP's `Set_cookie_hdr.serialize ~version`. The `Http1_1` form is
    /// CoHTTP's `Set-Cookie2` one,
    /// `Domain=D; Max-Age=N | Discard; Path=P; Secure; Version=1`: like
    /// CoHTTP it leaves out the cookie's name and value and `HttpOnly`.
    pub fn serialize_version(&self, version: SetCookieVersion) -> (String, String) {
        match version {
            SetCookieVersion::Http1_0 => ("Set-Cookie".to_owned(), self.serialize_1_0()),
            SetCookieVersion::Http1_1 => ("Set-Cookie2".to_owned(), self.serialize_1_1()),
        }
    }

    fn serialize_1_0(&self) -> String {
        let (name, value) = &self.cookie;
        let mut attrs = vec![if value.is_empty() {
            name.clone()
        } else {
            format!("{name}={value}")
        }];
        if let Expiration::MaxAge(age) = self.expiration {
            attrs.push(format!("Max-Age={age}"));
        }
        if let Some(domain) = &self.domain {
            attrs.push(format!("domain={domain}"));
        }
        if let Some(path) = &self.path {
            attrs.push(format!("path={path}"));
        }
        if self.secure {
            attrs.push("secure".to_owned());
        }
        if self.http_only {
            attrs.push("httponly".to_owned());
        }
        attrs.join("; ")
    }

    fn serialize_1_1(&self) -> String {
        let mut attrs = Vec::new();
        if let Some(domain) = &self.domain {
            attrs.push(format!("Domain={domain}"));
        }
        attrs.push(match self.expiration {
            Expiration::Session => "Discard".to_owned(),
            Expiration::MaxAge(age) => format!("Max-Age={age}"),
        });
        if let Some(path) = &self.path {
            attrs.push(format!("Path={path}"));
        }
        if self.secure {
            attrs.push("Secure".to_owned());
        }
        attrs.push("Version=1".to_owned());
        attrs.join("; ")
    }

    /// CoHTTP's `Set_cookie_hdr.extract`: the cookies of every `Set-Cookie`
    /// field, in header order, each paired with its name.
    ///
    /// As CoHTTP: a value is split on **both** `;` and `,` (so an
    /// `Expires=Wed, 09 Jun 2021 …` attribute is cut in two), pieces lose
    /// their leading spaces and tabs, and the first piece is the cookie
    /// (split at its first `=`; a value may contain more). Attribute names
    /// are matched case-insensitively and the first of each wins; `path` is
    /// kept only when it starts with `/`; `domain` loses one leading `.` and
    /// is lowercased. `Expires` and `Max-Age` are not read: the expiration is
    /// always [`Expiration::Session`]. `Set-Cookie2` fields are ignored and
    /// an empty `Set-Cookie` value is skipped.
    pub fn extract(header: &Header) -> Vec<(String, SetCookieHdr)> {
        header
            .pairs()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| parse_set_cookie(v))
            .collect()
    }

    /// CoHTTP's `Set_cookie_hdr.cookie`.
    pub fn cookie(&self) -> &Cookie {
        &self.cookie
    }

    /// CoHTTP's `Set_cookie_hdr.value`: the cookie's value.
    pub fn value(&self) -> &str {
        &self.cookie.1
    }

    /// CoHTTP's `Set_cookie_hdr.expiration`.
    pub fn expiration(&self) -> Expiration {
        self.expiration
    }

    /// CoHTTP's `Set_cookie_hdr.domain`.
    pub fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    /// CoHTTP's `Set_cookie_hdr.path`.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// CoHTTP's `Set_cookie_hdr.secure`.
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// CoHTTP's `Set_cookie_hdr.http_only`.
    pub fn http_only(&self) -> bool {
        self.http_only
    }
}

/// `Stringext.split_trim_left`: split on any of `on`, then drop leading
/// `trim` characters of each piece; an empty input has no piece at all.
fn split_trim_left<'a>(s: &'a str, on: &'a [char], trim: &'a [char]) -> Vec<&'a str> {
    if s.is_empty() {
        return Vec::new();
    }
    s.split(on)
        .map(|piece| piece.trim_start_matches(trim))
        .collect()
}

fn parse_set_cookie(value: &str) -> Option<(String, SetCookieHdr)> {
    let mut pieces = split_trim_left(value, &[',', ';'], &[' ', '\t'])
        .into_iter()
        .map(|attr| match attr.split_once('=') {
            Some((n, v)) => (n, v),
            None => (attr, ""),
        });
    let (name, value) = pieces.next()?;
    let attrs: Vec<(String, &str)> = pieces.map(|(n, v)| (n.to_ascii_lowercase(), v)).collect();
    let first = |key: &str| attrs.iter().find(|(n, _)| n == key).map(|(_, v)| *v);
    let path = first("path")
        .filter(|p| p.starts_with('/'))
        .map(str::to_owned);
    let domain = first("domain")
        .filter(|d| !d.is_empty())
        .map(|d| d.strip_prefix('.').unwrap_or(d).to_ascii_lowercase());
    let cookie = SetCookieHdr {
        cookie: (name.to_owned(), value.to_owned()),
        expiration: Expiration::Session,
        domain,
        path,
        secure: first("secure").is_some(),
        http_only: first("httponly").is_some(),
    };
    Some((name.to_owned(), cookie))
}

/// CoHTTP's `Cookie.Cookie_hdr`: the `Cookie` request field. A namespace
/// for its two functions.
#[derive(Debug, Clone, Copy)]
pub struct CookieHdr;

impl CookieHdr {
    /// CoHTTP's `Cookie_hdr.serialize`: the field `("cookie", "a=1; b=2")`.
    pub fn serialize<K, V>(cookies: impl IntoIterator<Item = (K, V)>) -> (String, String)
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let pairs: Vec<String> = cookies
            .into_iter()
            .map(|(k, v)| format!("{}={}", k.as_ref(), v.as_ref()))
            .collect();
        ("cookie".to_owned(), pairs.join("; "))
    }

    /// CoHTTP's `Cookie_hdr.extract`: the cookies a client sent.
    ///
    /// As CoHTTP: each `Cookie` field is split on `;`, pieces lose leading
    /// spaces and tabs, empty pieces and pieces starting with `$` (RFC 2965
    /// `$Path`, `$Version`…) are dropped, and each piece is split at its
    /// first `=` (no `=`: an empty value). When there are several `Cookie`
    /// fields, the cookies of the **last** field come first.
    pub fn extract(header: &Header) -> Vec<Cookie> {
        let mut cookies = Vec::new();
        for field in header.get_multi("cookie").into_iter().rev() {
            cookies.extend(
                split_trim_left(field, &[';'], &[' ', '\t'])
                    .into_iter()
                    .filter(|piece| !piece.is_empty() && !piece.starts_with('$'))
                    .map(|piece| match piece.split_once('=') {
                        Some((n, v)) => (n.to_owned(), v.to_owned()),
                        None => (piece.to_owned(), String::new()),
                    }),
            );
        }
        cookies
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_attributes_are_read_like_cohttp() {
        let h = Header::init().add(
            "Set-Cookie",
            "id=a=b; Path=/x; Domain=.Example.COM; Secure; HttpOnly; Path=/y",
        );
        let got = SetCookieHdr::extract(&h);
        assert_eq!(got.len(), 1);
        let (name, c) = &got[0];
        assert_eq!(name, "id");
        assert_eq!(c.cookie, ("id".to_owned(), "a=b".to_owned()));
        assert_eq!(c.path(), Some("/x"));
        assert_eq!(c.domain(), Some("example.com"));
        assert!(c.secure() && c.http_only());
    }

    #[test]
    fn relative_path_and_empty_value_are_dropped() {
        let h = Header::init()
            .add("set-cookie", "")
            .add("set-cookie", "a=1; path=rel");
        let got = SetCookieHdr::extract(&h);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1.path, None);
    }

    #[test]
    fn serialized_set_cookie_extracts_back() {
        let c = SetCookieHdr::make(("sid", "42"))
            .with_path("/app")
            .with_domain("example.org")
            .with_secure(true)
            .with_http_only(true);
        let h = Header::of_list([c.serialize()]);
        assert_eq!(SetCookieHdr::extract(&h), vec![("sid".to_owned(), c)]);
    }

    #[test]
    fn later_cookie_fields_come_first() {
        let h = Header::of_list([("Cookie", "a=1; $Path=/"), ("cookie", "b; c=3")]);
        let got = CookieHdr::extract(&h);
        let want: Vec<Cookie> = vec![
            ("b".into(), "".into()),
            ("c".into(), "3".into()),
            ("a".into(), "1".into()),
        ];
        assert_eq!(got, want);
    }
}
