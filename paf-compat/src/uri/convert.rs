//! [`Uri`] to and from [`http::Uri`], so a ported program's `Uri.t` goes
//! wherever paf-compat takes a URI ([`IntoUri`]).
//!
//! An HTTP request target is either absolute (`http://host/path?query`) or
//! an origin form (`/path?query`); ocaml-uri also holds relative
//! references and fragments, which have no `http::Uri`.

use super::{is_slash, Uri};
use crate::request::IntoUri;
use crate::Error;

fn invalid(uri: &Uri, reason: impl Into<String>) -> Error {
    Error::Http(paf_core::Error::InvalidUrl {
        url: uri.to_string(),
        reason: reason.into(),
    })
}

impl TryFrom<&Uri> for http::Uri {
    type Error = Error;

    /// The absolute form when `uri` has a scheme and a host, the origin
    /// form (`path_and_query`) when it has neither and its path is empty or
    /// starts with `/`; the fragment is left out. Anything else (`a/b`,
    /// `//host/p`, `mailto:x`) is [`paf_core::Error::InvalidUrl`].
    ///
    /// ```
    /// use paf_compat::Uri;
    ///
    /// let uri = Uri::of_string("http://example.org:8080/a b?q=1#top");
    /// let target = http::Uri::try_from(&uri).unwrap();
    /// assert_eq!(target, "http://example.org:8080/a%20b?q=1");
    /// assert_eq!(http::Uri::try_from(&Uri::of_string("/x?y")).unwrap(), "/x?y");
    /// assert!(http::Uri::try_from(&Uri::of_string("../x")).is_err());
    /// ```
    fn try_from(uri: &Uri) -> Result<http::Uri, Error> {
        let has_authority = uri.host.is_some() || uri.userinfo.is_some() || uri.port.is_some();
        let text = match (&uri.scheme, has_authority) {
            (Some(_), true) => uri.with_fragment(None).to_string(),
            (None, false) if uri.path.first().is_none_or(|t| is_slash(t)) => uri.path_and_query(),
            (Some(_), false) => {
                return Err(invalid(
                    uri,
                    "a URI with a scheme needs a host to be a request target",
                ))
            }
            (None, true) => {
                return Err(invalid(
                    uri,
                    "a network-path reference (`//host`) has no scheme",
                ))
            }
            (None, false) => {
                return Err(invalid(uri, "a relative path is not a request target"));
            }
        };
        text.parse()
            .map_err(|e: http::uri::InvalidUri| invalid(uri, e.to_string()))
    }
}

impl TryFrom<Uri> for http::Uri {
    type Error = Error;

    /// As `http::Uri::try_from(&uri)`.
    fn try_from(uri: Uri) -> Result<http::Uri, Error> {
        http::Uri::try_from(&uri)
    }
}

impl From<&http::Uri> for Uri {
    /// The same reference read by [`Uri::of_string`]; the authority form
    /// (`host:443`, for `CONNECT`) becomes a URI with that host and port.
    ///
    /// ```
    /// use paf_compat::Uri;
    ///
    /// let uri = Uri::from(&"https://example.org/a?b=c".parse::<http::Uri>().unwrap());
    /// assert_eq!(uri.get_query_param("b").as_deref(), Some("c"));
    /// let connect = Uri::from(&"example.org:443".parse::<http::Uri>().unwrap());
    /// assert_eq!((connect.host().as_deref(), connect.port()), (Some("example.org"), Some(443)));
    /// ```
    fn from(uri: &http::Uri) -> Uri {
        match (uri.scheme(), uri.authority()) {
            (None, Some(authority)) => Uri::of_string(&format!("//{authority}")),
            _ => Uri::of_string(&uri.to_string()),
        }
    }
}

impl From<http::Uri> for Uri {
    /// As `Uri::from(&uri)`.
    fn from(uri: http::Uri) -> Uri {
        Uri::from(&uri)
    }
}

impl IntoUri for Uri {
    fn into_uri(self) -> Result<http::Uri, Error> {
        http::Uri::try_from(&self)
    }
}

impl IntoUri for &Uri {
    fn into_uri(self) -> Result<http::Uri, Error> {
        http::Uri::try_from(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_targets_convert_and_others_do_not() {
        let ok = |s: &str| http::Uri::try_from(&Uri::of_string(s)).map(|u| u.to_string());
        assert_eq!(ok("http://h").unwrap(), "http://h/");
        assert_eq!(ok("https://u:p@h:1/p?q#f").unwrap(), "https://u:p@h:1/p?q");
        assert_eq!(ok("").unwrap(), "/");
        assert_eq!(ok("?a=b").unwrap(), "/?a=b");
        for bad in ["a/b", "//h/p", "mailto:joe@example.org", "http:///p"] {
            assert!(ok(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn from_http_uri_reads_the_same_text() {
        let h: http::Uri = "http://Example.org:8080/a%2Fb?x=1+2".parse().unwrap();
        let uri = Uri::from(&h);
        assert_eq!(uri.host().as_deref(), Some("example.org"));
        assert_eq!(uri.path(), "/a%2Fb");
        assert_eq!(uri.get_query_param("x").as_deref(), Some("1 2"));
        let star: http::Uri = "*".parse().unwrap();
        assert_eq!(Uri::from(&star).path(), "*");
    }
}
