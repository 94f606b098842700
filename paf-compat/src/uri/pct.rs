//! Percent-encoding as ocaml-uri does it: one table of "safe" bytes per
//! URI component, everything else written `%XX` in upper case, and a
//! decoder that leaves malformed escapes as they are.

/// A part of a URI, which decides the bytes [`pct_encode_component`] leaves
/// alone (ocaml-uri's `component`, its polymorphic variants in CamelCase).
///
/// Every table holds the unreserved bytes `A-Z a-z 0-9 - . _ ~`; the others
/// add or remove some, as ocaml-uri's `Generic` scheme module does (the
/// `http`, `https`, `file` and `urn` modules use the same tables):
///
/// | component | also safe | note |
/// |---|---|---|
/// | `Scheme` | `+` | |
/// | `Authority`, `Host`, `Generic` | — | only the unreserved bytes |
/// | `Userinfo` | — | `:` is encoded, it separates user and password |
/// | `Path` | `! $ & ' ( ) * + , ; = : @` | `/` is encoded: separators are not part of a segment |
/// | `Query`, `Fragment` | `! $ ' ( ) * , = : @ / ?` | `& ; +` are encoded (query separators, `+` is a space) |
/// | `QueryKey` | as `Query`, less `=` | |
/// | `QueryValue` | as `Query`, less `,` | `,` separates the values of one key |
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Component {
    /// `` `Scheme ``.
    Scheme,
    /// `` `Authority ``.
    Authority,
    /// `` `Userinfo ``.
    Userinfo,
    /// `` `Host ``.
    Host,
    /// `` `Path ``, ocaml-uri's default.
    Path,
    /// `` `Query ``.
    Query,
    /// `` `Query_key ``.
    QueryKey,
    /// `` `Query_value ``.
    QueryValue,
    /// `` `Fragment ``.
    Fragment,
    /// `` `Generic ``.
    Generic,
    /// `` `Custom (component, safe, unsafe) ``: the table of `base`, with
    /// the bytes of `safe` added and then those of `unsafe_chars` removed.
    /// [`Component::custom`] builds one.
    Custom {
        /// The component whose table is the starting point.
        base: Box<Component>,
        /// Bytes to leave unencoded.
        safe_chars: String,
        /// Bytes to encode (applied after `safe_chars`).
        unsafe_chars: String,
    },
}

impl Component {
    /// `` `Custom (base, safe, unsafe) ``.
    pub fn custom(base: Component, safe: &str, unsafe_chars: &str) -> Component {
        Component::Custom {
            base: Box::new(base),
            safe_chars: safe.to_owned(),
            unsafe_chars: unsafe_chars.to_owned(),
        }
    }

    /// The safe-byte table of this component.
    fn table(&self) -> Table {
        match self {
            Component::Scheme => SCHEME,
            Component::Userinfo => USERINFO,
            Component::Path => PATH,
            Component::Query | Component::Fragment => QUERY,
            Component::QueryKey => QUERY_KEY,
            Component::QueryValue => QUERY_VALUE,
            Component::Authority | Component::Host | Component::Generic => UNRESERVED,
            Component::Custom {
                base,
                safe_chars,
                unsafe_chars,
            } => {
                let mut table = base.table();
                for &b in safe_chars.as_bytes() {
                    table[usize::from(b)] = true;
                }
                for &b in unsafe_chars.as_bytes() {
                    table[usize::from(b)] = false;
                }
                table
            }
        }
    }
}

/// Which component table [`Uri::to_string_with`](super::Uri::to_string_with)
/// and the other `_with` functions use for each part of a URI (ocaml-uri's
/// `pct_encoder`, built by `Uri.pct_encoder ?scheme ?userinfo … ()`).
///
/// ```
/// use paf_compat::uri::{Component, PctEncoder, Uri};
///
/// // Uri.pct_encoder ~query_value:(`Custom (`Query_value, "", "@")) ()
/// let enc = PctEncoder::new().query_value(Component::custom(Component::QueryValue, "", "@"));
/// let uri = Uri::of_string("https://google.com?test=@");
/// assert_eq!(uri.to_string_with(&enc), "https://google.com?test=%40");
/// assert_eq!(uri.to_string(), "https://google.com?test=@");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PctEncoder {
    pub(super) scheme: Component,
    pub(super) userinfo: Component,
    pub(super) host: Component,
    pub(super) path: Component,
    pub(super) query_key: Component,
    pub(super) query_value: Component,
    pub(super) fragment: Component,
}

impl Default for PctEncoder {
    fn default() -> Self {
        PctEncoder::new()
    }
}

impl PctEncoder {
    /// `Uri.pct_encoder ()`: each part with the component of its name.
    pub fn new() -> PctEncoder {
        PctEncoder {
            scheme: Component::Scheme,
            userinfo: Component::Userinfo,
            host: Component::Host,
            path: Component::Path,
            query_key: Component::QueryKey,
            query_value: Component::QueryValue,
            fragment: Component::Fragment,
        }
    }

    /// `?scheme`.
    pub fn scheme(mut self, component: Component) -> PctEncoder {
        self.scheme = component;
        self
    }

    /// `?userinfo`.
    pub fn userinfo(mut self, component: Component) -> PctEncoder {
        self.userinfo = component;
        self
    }

    /// `?host`.
    pub fn host(mut self, component: Component) -> PctEncoder {
        self.host = component;
        self
    }

    /// `?path`.
    pub fn path(mut self, component: Component) -> PctEncoder {
        self.path = component;
        self
    }

    /// `?query_key`.
    pub fn query_key(mut self, component: Component) -> PctEncoder {
        self.query_key = component;
        self
    }

    /// `?query_value`.
    pub fn query_value(mut self, component: Component) -> PctEncoder {
        self.query_value = component;
        self
    }

    /// `?fragment`.
    pub fn fragment(mut self, component: Component) -> PctEncoder {
        self.fragment = component;
        self
    }
}

/// One flag per byte: true when the byte is written as is.
type Table = [bool; 256];

/// A table holding the unreserved bytes and `extra`, less `removed`.
const fn table(extra: &[u8], removed: &[u8]) -> Table {
    const UNRESERVED_CHARS: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~";
    let mut t = [false; 256];
    let mut i = 0;
    while i < UNRESERVED_CHARS.len() {
        t[UNRESERVED_CHARS[i] as usize] = true;
        i += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    let mut i = 0;
    while i < removed.len() {
        t[removed[i] as usize] = false;
        i += 1;
    }
    t
}

// ocaml-uri builds its tables from `pchar` (the unreserved bytes, the
// sub-delimiters `!$&'()*+,;=`, `:` and `@`), then adds and removes; the
// same steps are spelled out here so each line can be read against it.
const UNRESERVED: Table = table(b"", b"");
const SCHEME: Table = table(b"+", b"");
const USERINFO: Table = table(b"", b":");
const PATH: Table = table(b"!$&'()*+,;=:@", b"/");
// `&` and `;` would read as separators of the parsed pairs, `+` as a space.
const QUERY: Table = table(b"!$&'()*+,;=:@/?", b"&;+");
const QUERY_KEY: Table = table(b"!$&'()*+,;=:@/?", b"&;+=");
const QUERY_VALUE: Table = table(b"!$&'()*+,;=:@/?", b"&;+,");

/// `Uri.pct_encode s`: `s` percent-encoded as a path segment (ocaml-uri's
/// default component, so `/` is encoded too).
///
/// ```
/// use paf_compat::uri::{self, Component};
///
/// assert_eq!(uri::pct_encode("hello world!"), "hello%20world!");
/// assert_eq!(uri::pct_encode("a/b"), "a%2Fb");
/// assert_eq!(uri::pct_encode_component("a&b=c d", &Component::QueryValue), "a%26b=c%20d");
/// ```
pub fn pct_encode(s: &str) -> String {
    pct_encode_component(s, &Component::Path)
}

/// `` Uri.pct_encode ~component s ``: `s` percent-encoded with the table of
/// `component` (see [`Component`]). ocaml-uri's `?scheme` argument is not
/// taken: every scheme module of ocaml-uri shares these tables.
pub fn pct_encode_component(s: &str, component: &Component) -> String {
    encode(s.as_bytes(), component)
}

/// Percent-encodes bytes with the table of `component`.
pub(super) fn encode(bytes: &[u8], component: &Component) -> String {
    encode_with(bytes, &component.table())
}

fn encode_with(bytes: &[u8], safe: &Table) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if safe[usize::from(b)] {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

/// `Uri.pct_decode s`: every `%XX` (either case) becomes its byte; a `%`
/// without two hex digits after it stays as written (`"%"`, `"%2"`, `"%zz"`
/// decode to themselves).
///
/// Bytes that do not form UTF-8 (`%FF`) become U+FFFD here, where OCaml
/// keeps them in its byte string; [`pct_decode_bytes`] keeps them.
///
/// ```
/// use paf_compat::uri;
///
/// assert_eq!(uri::pct_decode("hello%20world%21"), "hello world!");
/// assert_eq!(uri::pct_decode("100%"), "100%");
/// assert_eq!(uri::pct_decode("%%25"), "%%");
/// ```
pub fn pct_decode(s: &str) -> String {
    super::text(decode(s.as_bytes()))
}

/// `Uri.pct_decode s`, as the bytes OCaml's string holds.
pub fn pct_decode_bytes(s: &str) -> Vec<u8> {
    decode(s.as_bytes())
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// ocaml-uri's lenient decoder: a `%` not followed by two hex digits is
/// copied, and scanning resumes at the byte after it (so `%%41` is `%A`).
pub(super) fn decode(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        match (
            b.get(i + 1).copied().and_then(hex_value),
            b.get(i + 2).copied().and_then(hex_value),
        ) {
            (Some(high), Some(low)) => {
                out.push((high << 4) | low);
                i += 3;
            }
            // `%X` then a non-hex byte or the end: both are kept and the
            // scan goes on after the `X`.
            (Some(_), None) => {
                out.extend_from_slice(&b[i..i + 2]);
                i += 2;
            }
            (None, _) => {
                out.push(b'%');
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_hold_what_ocaml_uri_says() {
        let all: Vec<u8> = (0u8..=255).collect();
        let safe = |t: &Table| -> String {
            all.iter()
                .filter(|&&b| t[usize::from(b)] && !b.is_ascii_alphanumeric())
                .map(|&b| char::from(b))
                .collect()
        };
        assert_eq!(safe(&UNRESERVED), "-._~");
        assert_eq!(safe(&SCHEME), "+-._~");
        assert_eq!(safe(&USERINFO), "-._~");
        assert_eq!(safe(&PATH), "!$&'()*+,-.:;=@_~");
        assert_eq!(safe(&QUERY), "!$'()*,-./:=?@_~");
        assert_eq!(safe(&QUERY_KEY), "!$'()*,-./:?@_~");
        assert_eq!(safe(&QUERY_VALUE), "!$'()*-./:=?@_~");
    }

    #[test]
    fn custom_adds_then_removes() {
        let c = Component::custom(Component::QueryValue, "@,", "@");
        assert_eq!(pct_encode_component("a@b,c", &c), "a%40b,c");
    }

    #[test]
    fn decode_keeps_malformed_escapes() {
        for (input, want) in [
            ("%", "%"),
            ("%2", "%2"),
            ("%3g", "%3g"),
            ("%g3", "%g3"),
            ("%%25", "%%"),
            ("%2%25", "%2%"),
            ("%41%4a%4A", "AJJ"),
            ("a%", "a%"),
        ] {
            assert_eq!(pct_decode(input), want, "{input}");
        }
        assert_eq!(pct_decode_bytes("%FF%00"), vec![0xff, 0]);
    }
}
