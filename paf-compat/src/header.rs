//! CoHTTP's `Header`: an ordered list of header fields.
//!
//! This follows CoHTTP 6 (current upstream, `Http.Header`): fields stay in
//! the order they were added, with the case of their names as given; names
//! are compared case-insensitively; [`Header::get`] returns the **last**
//! value of a name. (The CoHTTP 4 that Debian ships kept a map with
//! lowercased, sorted names: code ported from it may see a different order.)
//!
//! ## Style
//!
//! CoHTTP's functions take the headers and return new ones
//! (`Header.add h k v`). Here they take `self` **by value** and return the
//! new [`Header`], so `let h = h.add(k, v);` reads like the OCaml and calls
//! chain (`Header::init().add("a", "1").add("b", "2")`). Nothing is copied:
//! to keep the old headers too, clone them first (`h.clone().add(k, v)`).
//! Read-only functions take `&self`.
//!
//! ## CoHTTP's ways, kept
//!
//! - [`Header::get_multi_concat`] joins with a bare `","`, for any field
//!   (`Set-Cookie` too); only the `_list_value_only` variant treats the
//!   fields of [`LIST_VALUE_HEADERS`] apart.
//! - [`Header::iter`] and [`Header::fold`] visit the newest field first;
//!   [`Header::iter_ord`] and [`Header::pairs`] go in transmission order.
//! - One change: CoHTTP looks a name up in its list-value table as given, so
//!   `"Accept"` (capitalised) is not a list-value field there; here that
//!   lookup ignores case like every other.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;

use crate::accept::{self, Charset, Encoding, Language, MediaRange, QList, P};
use crate::auth::{self, Challenge, Credential};
use crate::code::Version;
use crate::link::Link;
use crate::transfer;
use crate::Error;

/// HTTP header fields in transmission order, as CoHTTP's `Header.t`.
///
/// Equality and ordering ([`Header::compare`]) are structural and
/// case-sensitive, as OCaml's `compare` on CoHTTP's list. `Display` writes
/// CoHTTP's `Header.to_string` (the fields as lines, then an empty line), so
/// `h.to_string()` is that function.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Header {
    /// (name, value) pairs, oldest first.
    fields: Vec<(String, String)>,
}

/// The fields RFC 7230 §3.2.2 lets a sender repeat (their values are
/// comma-separated lists), as CoHTTP's `headers_with_list_values`, which
/// [`Header::get_multi_concat_list_value_only`] and [`Header::clean_dup`]
/// consult. `set-cookie` is not one: its values cannot be joined.
pub const LIST_VALUE_HEADERS: [&str; 24] = [
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "allow",
    "cache-control",
    "connection",
    "content-encoding",
    "content-language",
    "expect",
    "if-match",
    "if-none-match",
    "link",
    "pragma",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "vary",
    "via",
    "warning",
    "www-authenticate",
];

/// Whether `name` is a list-value field. CoHTTP looks the name up as given,
/// so `"Accept"` is not one there; here the comparison ignores case like
/// every other name comparison of this type.
fn is_header_with_list_value(name: &str) -> bool {
    LIST_VALUE_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}

/// The value of the `Connection` field, as CoHTTP's `Header.connection`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Connection {
    /// Exactly `keep-alive`.
    KeepAlive,
    /// Exactly `close`.
    Close,
    /// Anything else, as written.
    Unknown(String),
}

/// The `User-Agent` product token of this library, CoHTTP's
/// `Header.user_agent` (there `ocaml-cohttp/VERSION`).
pub const USER_AGENT: &str = concat!("paf-compat/", env!("CARGO_PKG_VERSION"));

impl Header {
    /// CoHTTP's `Header.init`: no field.
    pub fn init() -> Header {
        Header::default()
    }

    /// CoHTTP's `Header.init_with`: one field.
    pub fn init_with(name: impl Into<String>, value: impl Into<String>) -> Header {
        Header::init().add(name, value)
    }

    /// CoHTTP's `Header.is_empty`.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The number of fields (each repeated name counts once per value).
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// CoHTTP's `Header.of_list`: the fields in the given order.
    pub fn of_list<K, V>(fields: impl IntoIterator<Item = (K, V)>) -> Header
    where
        K: Into<String>,
        V: Into<String>,
    {
        Header::init().add_list(fields)
    }

    /// CoHTTP's `Header.of_list_rev`: the fields in the reverse of the given
    /// order (the list is CoHTTP's internal, newest-first one).
    pub fn of_list_rev<K, V>(fields: impl IntoIterator<Item = (K, V)>) -> Header
    where
        K: Into<String>,
        V: Into<String>,
    {
        let mut h = Header::of_list(fields);
        h.fields.reverse();
        h
    }

    /// CoHTTP's `Header.to_list`: the fields in order, names as given.
    pub fn to_list(&self) -> Vec<(String, String)> {
        self.fields.clone()
    }

    /// The fields in order, borrowed (Rust's counterpart of `to_list`).
    pub fn pairs(&self) -> impl DoubleEndedIterator<Item = (&str, &str)> + '_ {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// CoHTTP's `Header.add`: appends a field, whether or not the name is
    /// already there.
    pub fn add(mut self, name: impl Into<String>, value: impl Into<String>) -> Header {
        self.fields.push((name.into(), value.into()));
        self
    }

    /// CoHTTP's `Header.add_list`: appends the fields in order.
    pub fn add_list<K, V>(mut self, fields: impl IntoIterator<Item = (K, V)>) -> Header
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.fields
            .extend(fields.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// CoHTTP's `Header.add_multi`: appends one field per value, in order.
    pub fn add_multi<V: Into<String>>(
        mut self,
        name: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Header {
        let name = name.into();
        self.fields
            .extend(values.into_iter().map(|v| (name.clone(), v.into())));
        self
    }

    /// CoHTTP's `Header.add_opt`: [`add`](Header::add) to the headers if
    /// there are some, else [`init_with`](Header::init_with).
    pub fn add_opt(
        header: Option<Header>,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Header {
        header.unwrap_or_default().add(name, value)
    }

    /// CoHTTP's `Header.add_unless_exists`: adds the field only if the name
    /// is absent.
    pub fn add_unless_exists(self, name: impl Into<String>, value: impl Into<String>) -> Header {
        let name = name.into();
        if self.mem(&name) {
            self
        } else {
            self.add(name, value)
        }
    }

    /// CoHTTP's `Header.add_opt_unless_exists`:
    /// [`add_unless_exists`](Header::add_unless_exists) to the headers if
    /// there are some, else [`init_with`](Header::init_with).
    pub fn add_opt_unless_exists(
        header: Option<Header>,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Header {
        header.unwrap_or_default().add_unless_exists(name, value)
    }

    /// CoHTTP's `Header.remove`: drops every field with that name.
    pub fn remove(mut self, name: &str) -> Header {
        self.fields.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self
    }

    /// CoHTTP's `Header.replace`: the last field with that name takes the new
    /// value (and the new name's case) in place, and the other fields with
    /// that name go; without such a field, this is [`add`](Header::add).
    /// Afterwards `get_multi(name)` is exactly `[value]`.
    pub fn replace(self, name: impl Into<String>, value: impl Into<String>) -> Header {
        let name = name.into();
        let Some(last) = self.last_index(&name) else {
            return self.add(name, value);
        };
        let mut value = Some(value.into());
        let mut fields = Vec::with_capacity(self.fields.len());
        for (i, (k, v)) in self.fields.into_iter().enumerate() {
            if i == last {
                if let Some(value) = value.take() {
                    fields.push((name.clone(), value));
                }
            } else if !k.eq_ignore_ascii_case(&name) {
                fields.push((k, v));
            }
        }
        Header { fields }
    }

    /// CoHTTP's `Header.mem`: whether a field has that name.
    pub fn mem(&self, name: &str) -> bool {
        self.fields
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    }

    /// CoHTTP's `Header.compare`: OCaml's structural comparison of CoHTTP's
    /// internal list, which holds the newest field first. Names compare
    /// case-sensitively.
    pub fn compare(&self, other: &Header) -> Ordering {
        self.fields.iter().rev().cmp(other.fields.iter().rev())
    }

    /// CoHTTP's `Header.get`: the value of the **last** field with that name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.last_index(name).map(|i| self.fields[i].1.as_str())
    }

    /// CoHTTP's `Header.get_multi`: every value of that name, in order.
    pub fn get_multi(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// CoHTTP's `Header.get_multi_concat`: every value of that name joined
    /// by `","` (a bare comma, as CoHTTP), or `None` without such a field.
    /// This joins any field, `Set-Cookie` included; see
    /// [`get_multi_concat_list_value_only`](Header::get_multi_concat_list_value_only).
    pub fn get_multi_concat(&self, name: &str) -> Option<String> {
        let values = self.get_multi(name);
        if values.is_empty() {
            None
        } else {
            Some(values.join(","))
        }
    }

    /// CoHTTP's `Header.get_multi_concat ~list_value_only:true`: joins the
    /// values as [`get_multi_concat`](Header::get_multi_concat) only for a
    /// field RFC 7230 lets repeat (`Accept`, `Cache-Control`,
    /// `Transfer-Encoding`… but not `Set-Cookie`); for any other field it is
    /// [`get`](Header::get), the last value.
    pub fn get_multi_concat_list_value_only(&self, name: &str) -> Option<String> {
        if is_header_with_list_value(name) {
            self.get_multi_concat(name)
        } else {
            self.get(name).map(str::to_owned)
        }
    }

    /// CoHTTP's `Header.update`: with `v = f(get(name))`,
    /// - `None` removes the **last** field with that name (only that one);
    /// - `Some(w)` sets the last field with that name to `w`, keeping its
    ///   place and name, or adds `(name, w)` when there is none;
    /// - the headers are unchanged when `f` leaves the value as it was.
    pub fn update(self, name: &str, f: impl FnOnce(Option<&str>) -> Option<String>) -> Header {
        let last = self.last_index(name);
        let new = f(last.map(|i| self.fields[i].1.as_str()));
        let mut h = self;
        match (new, last) {
            (None, None) => h,
            (None, Some(i)) => {
                h.fields.remove(i);
                h
            }
            (Some(w), Some(i)) => {
                h.fields[i].1 = w;
                h
            }
            (Some(w), None) => h.add(name, w),
        }
    }

    /// CoHTTP's `Header.update_all`: with `vs = f(get_multi(name))`, an empty
    /// `vs` removes every field with that name; otherwise, unless `vs` is
    /// what was there, those fields are removed and `vs` is appended with
    /// [`add_multi`](Header::add_multi) (so they move to the end).
    pub fn update_all(self, name: &str, f: impl FnOnce(Vec<&str>) -> Vec<String>) -> Header {
        let old = self.get_multi(name);
        let had_any = !old.is_empty();
        let new = f(old);
        if new.is_empty() {
            return if !had_any { self } else { self.remove(name) };
        }
        if new.iter().map(String::as_str).eq(self.get_multi(name)) {
            return self;
        }
        self.remove(name).add_multi(name, new)
    }

    /// CoHTTP's `Header.iter`: calls `f` on each field in an **unspecified**
    /// order; as in CoHTTP it is the newest field first. Use
    /// [`iter_ord`](Header::iter_ord) (or [`pairs`](Header::pairs)) for
    /// transmission order.
    pub fn iter(&self, mut f: impl FnMut(&str, &str)) {
        for (k, v) in self.fields.iter().rev() {
            f(k, v);
        }
    }

    /// CoHTTP's `Header.iter_ord`: calls `f` on each field in transmission
    /// order.
    pub fn iter_ord(&self, mut f: impl FnMut(&str, &str)) {
        for (k, v) in &self.fields {
            f(k, v);
        }
    }

    /// CoHTTP's `Header.map`: replaces each value with `f(name, value)`,
    /// keeping names and order.
    pub fn map(self, mut f: impl FnMut(&str, &str) -> String) -> Header {
        let fields = self
            .fields
            .into_iter()
            .map(|(k, v)| {
                let v = f(&k, &v);
                (k, v)
            })
            .collect();
        Header { fields }
    }

    /// CoHTTP's `Header.fold`: folds `f(name, value, acc)` over the fields,
    /// **newest first** as in CoHTTP, so folding [`add`](Header::add)
    /// reverses the headers.
    pub fn fold<A>(&self, mut f: impl FnMut(&str, &str, A) -> A, init: A) -> A {
        self.fields
            .iter()
            .rev()
            .fold(init, |acc, (k, v)| f(k, v, acc))
    }

    /// CoHTTP's `Header.to_lines`: `"name: value\r\n"` for each field, in
    /// order.
    pub fn to_lines(&self) -> Vec<String> {
        self.pairs().map(|(k, v)| format!("{k}: {v}\r\n")).collect()
    }

    /// CoHTTP's `Header.to_frames`: `"name: value"` for each field, in order.
    pub fn to_frames(&self) -> Vec<String> {
        self.pairs().map(|(k, v)| format!("{k}: {v}")).collect()
    }

    /// CoHTTP's `Header.clean_dup`: removes duplicate fields as RFC 7230
    /// §3.2.2 allows.
    ///
    /// The values of a repeated list-value field are joined with `","` into
    /// the place of its first occurrence (taking the last occurrence's name
    /// case); for any other repeated field only the last occurrence stays, in
    /// its place. `Set-Cookie` fields are left alone. Values that already
    /// hold commas are not split.
    pub fn clean_dup(self) -> Header {
        // Slots of the output; a repeated single-value field empties the
        // slot of its earlier occurrence. `index` maps a lowercased name to
        // its live slot, so this stays linear.
        let mut out: Vec<Option<(String, String)>> = Vec::with_capacity(self.fields.len());
        let mut index: HashMap<String, usize> = HashMap::new();
        for (k, v) in self.fields {
            if k.eq_ignore_ascii_case("set-cookie") {
                out.push(Some((k, v)));
                continue;
            }
            let key = k.to_ascii_lowercase();
            match index.get(&key).copied() {
                Some(i) if is_header_with_list_value(&k) => {
                    if let Some(slot) = &mut out[i] {
                        slot.0 = k;
                        slot.1.push(',');
                        slot.1.push_str(&v);
                    }
                }
                seen => {
                    if let Some(i) = seen {
                        out[i] = None;
                    }
                    index.insert(key, out.len());
                    out.push(Some((k, v)));
                }
            }
        }
        let out = out.into_iter().flatten().collect();
        Header { fields: out }
    }

    /// CoHTTP's `Header.get_content_range`: the body length the headers
    /// announce. `Content-Length` (parsed as OCaml's `Int64.of_string`, which
    /// also takes `_` separators and `0x`/`0o`/`0b`/`0u` prefixes, and a sign)
    /// wins; else `Content-Range: bytes START-END/TOTAL` gives
    /// `END - START + 1` when `END < TOTAL`, `START <= TOTAL` and both
    /// `START` and `TOTAL` are non-negative.
    pub fn get_content_range(&self) -> Option<i64> {
        if let Some(length) = self.get("content-length") {
            return ocaml_int64_of_string(length);
        }
        let (start, end, total) = parse_content_range(self.get("content-range")?)?;
        if end < total && start <= total && 0 <= start && 0 <= total {
            end.checked_sub(start)?.checked_add(1)
        } else {
            None
        }
    }

    /// CoHTTP's `Header.get_media_type`: the first word of the last
    /// `Content-Type` (`"foo/bar"` from `" foo/bar ; charset=UTF-8"`).
    pub fn get_media_type(&self) -> Option<&str> {
        let value = self.get("content-type")?;
        let rest = value.trim_start_matches([' ', '\t']);
        let end = rest.find([' ', '\t', ';']).unwrap_or(rest.len());
        (end > 0).then(|| &rest[..end])
    }

    /// CoHTTP's `Header.get_connection_close`: whether the last `Connection`
    /// is exactly `close` (case-sensitive, as CoHTTP).
    pub fn get_connection_close(&self) -> bool {
        self.get("connection") == Some("close")
    }

    /// CoHTTP's `Header.connection`: the last `Connection` value, matched
    /// exactly against `keep-alive` and `close`.
    pub fn connection(&self) -> Option<Connection> {
        self.get("connection").map(|v| match v {
            "keep-alive" => Connection::KeepAlive,
            "close" => Connection::Close,
            other => Connection::Unknown(other.to_owned()),
        })
    }

    /// CoHTTP's `is_keep_alive` of a request or response with these headers:
    /// `Connection: keep-alive` keeps, `close` or any other value closes, and
    /// without the field only HTTP/1.1 keeps the connection.
    pub fn is_keep_alive(&self, version: &Version) -> bool {
        match self.connection() {
            Some(Connection::KeepAlive) => true,
            Some(Connection::Close | Connection::Unknown(_)) => false,
            None => *version == Version::Http1_1,
        }
    }

    /// CoHTTP's `Header.get_acceptable_media_ranges`: the `Accept` fields
    /// joined and parsed by [`accept::media_ranges`] (header order; sort
    /// with [`accept::qsort`]). Without the field: `*/*`.
    pub fn get_acceptable_media_ranges(&self) -> Result<QList<(MediaRange, Vec<P>)>, Error> {
        accept::media_ranges(self.get_multi_concat_list_value_only("accept").as_deref())
    }

    /// CoHTTP's `Header.get_acceptable_charsets`, by [`accept::charsets`].
    pub fn get_acceptable_charsets(&self) -> Result<QList<Charset>, Error> {
        accept::charsets(
            self.get_multi_concat_list_value_only("accept-charset")
                .as_deref(),
        )
    }

    /// CoHTTP's `Header.get_acceptable_encodings`, by [`accept::encodings`].
    pub fn get_acceptable_encodings(&self) -> Result<QList<Encoding>, Error> {
        accept::encodings(
            self.get_multi_concat_list_value_only("accept-encoding")
                .as_deref(),
        )
    }

    /// CoHTTP's `Header.get_acceptable_languages`, by [`accept::languages`].
    pub fn get_acceptable_languages(&self) -> Result<QList<Language>, Error> {
        accept::languages(
            self.get_multi_concat_list_value_only("accept-language")
                .as_deref(),
        )
    }

    /// CoHTTP's `Header.get_transfer_encoding`: [`Chunked`] when the
    /// `Transfer-Encoding` values, joined by `","`, are exactly `chunked`
    /// (so `gzip, chunked` is not, as in CoHTTP); else [`Fixed`] from
    /// [`get_content_range`](Header::get_content_range); else [`Unknown`].
    /// A negative length, which CoHTTP would carry, gives [`Unknown`].
    ///
    /// [`Chunked`]: transfer::Encoding::Chunked
    /// [`Fixed`]: transfer::Encoding::Fixed
    /// [`Unknown`]: transfer::Encoding::Unknown
    pub fn get_transfer_encoding(&self) -> transfer::Encoding {
        if self
            .get_multi_concat_list_value_only("transfer-encoding")
            .as_deref()
            == Some("chunked")
        {
            return transfer::Encoding::Chunked;
        }
        match self.get_content_range().map(u64::try_from) {
            Some(Ok(length)) => transfer::Encoding::Fixed(length),
            _ => transfer::Encoding::Unknown,
        }
    }

    /// CoHTTP's `Header.add_transfer_encoding`: declares the framing unless
    /// the headers already do ([`get_transfer_encoding`] is not `Unknown`):
    /// `Chunked` adds `transfer-encoding: chunked`, `Fixed(n)` adds
    /// `content-length: n`, `Unknown` adds nothing.
    ///
    /// [`get_transfer_encoding`]: Header::get_transfer_encoding
    pub fn add_transfer_encoding(self, encoding: transfer::Encoding) -> Header {
        use transfer::Encoding::{Chunked, Fixed, Unknown};
        match (self.get_transfer_encoding(), encoding) {
            (Unknown, Chunked) => self.add("transfer-encoding", "chunked"),
            (Unknown, Fixed(length)) => self.add("content-length", length.to_string()),
            _ => self,
        }
    }

    /// CoHTTP's `Header.add_authorization`: adds `authorization` with
    /// [`auth::string_of_credential`].
    pub fn add_authorization(self, credential: &Credential) -> Header {
        self.add("authorization", auth::string_of_credential(credential))
    }

    /// CoHTTP's `Header.get_authorization`: the last `Authorization` read by
    /// [`auth::credential_of_string`].
    pub fn get_authorization(&self) -> Option<Credential> {
        self.get("authorization").map(auth::credential_of_string)
    }

    /// CoHTTP's `Header.add_authorization_req`: adds `www-authenticate` with
    /// [`auth::string_of_challenge`].
    pub fn add_authorization_req(self, challenge: &Challenge) -> Header {
        self.add("www-authenticate", auth::string_of_challenge(challenge))
    }

    /// CoHTTP's `Header.is_form`: whether the media type is exactly
    /// `application/x-www-form-urlencoded`.
    pub fn is_form(&self) -> bool {
        self.get_media_type() == Some("application/x-www-form-urlencoded")
    }

    /// CoHTTP's `Header.get_location`: the last `Location` (a URI reference,
    /// as written).
    pub fn get_location(&self) -> Option<&str> {
        self.get("location")
    }

    /// CoHTTP's `Header.add_links`: one `link` field per link.
    pub fn add_links<'a>(self, links: impl IntoIterator<Item = &'a Link>) -> Header {
        self.add_multi("link", links.into_iter().map(|l| l.to_string()))
    }

    /// CoHTTP's `Header.get_links`: the links of every `Link` field, in
    /// order, read by [`Link::of_string`].
    pub fn get_links(&self) -> Vec<Link> {
        self.get_multi("link")
            .into_iter()
            .flat_map(Link::of_string)
            .collect()
    }

    /// CoHTTP's `Header.prepend_user_agent`: puts `user_agent` and a space
    /// before the last `User-Agent` value (with [`replace`](Header::replace)),
    /// or adds the field. Pass [`USER_AGENT`] for CoHTTP's use.
    pub fn prepend_user_agent(self, user_agent: &str) -> Header {
        match self.get("user-agent") {
            Some(ua) => {
                let value = format!("{user_agent} {ua}");
                self.replace("user-agent", value)
            }
            None => self.add("user-agent", user_agent),
        }
    }

    /// The fields as an [`http::HeaderMap`], appended in order.
    ///
    /// A `HeaderMap` groups the values of a name together and lowercases
    /// names, so fields of different names lose their interleaving. Fails with
    /// [`Error::InvalidHeaderName`] or [`Error::InvalidHeaderValue`] for a
    /// field the `http` crate refuses.
    pub fn to_header_map(&self) -> Result<http::HeaderMap, Error> {
        let mut map = http::HeaderMap::with_capacity(self.fields.len());
        for (k, v) in &self.fields {
            let name = http::HeaderName::from_bytes(k.as_bytes()).map_err(|source| {
                Error::InvalidHeaderName {
                    name: k.clone(),
                    source,
                }
            })?;
            let value =
                http::HeaderValue::from_str(v).map_err(|source| Error::InvalidHeaderValue {
                    name: k.clone(),
                    source,
                })?;
            map.append(name, value);
        }
        Ok(map)
    }

    /// The fields of an [`http::HeaderMap`] in its iteration order (names
    /// lowercase, each name's values together). Fails with
    /// [`Error::HeaderValueNotText`] for a value that is not UTF-8.
    pub fn from_header_map(map: &http::HeaderMap) -> Result<Header, Error> {
        let mut fields = Vec::with_capacity(map.len());
        for (name, value) in map {
            let text =
                std::str::from_utf8(value.as_bytes()).map_err(|_| Error::HeaderValueNotText {
                    name: name.as_str().to_owned(),
                })?;
            fields.push((name.as_str().to_owned(), text.to_owned()));
        }
        Ok(Header { fields })
    }

    fn last_index(&self, name: &str) -> Option<usize> {
        self.fields
            .iter()
            .rposition(|(k, _)| k.eq_ignore_ascii_case(name))
    }
}

impl PartialOrd for Header {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Header {
    /// [`Header::compare`].
    fn cmp(&self, other: &Self) -> Ordering {
        self.compare(other)
    }
}

impl fmt::Display for Header {
    /// CoHTTP's `Header.to_string`: each field as `name: value\r\n`, in
    /// order, then `\r\n`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, v) in &self.fields {
            write!(f, "{k}: {v}\r\n")?;
        }
        f.write_str("\r\n")
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Header {
    /// [`Header::of_list`].
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Header::of_list(iter)
    }
}

impl TryFrom<&Header> for http::HeaderMap {
    type Error = Error;

    /// [`Header::to_header_map`].
    fn try_from(header: &Header) -> Result<Self, Error> {
        header.to_header_map()
    }
}

impl TryFrom<&http::HeaderMap> for Header {
    type Error = Error;

    /// [`Header::from_header_map`].
    fn try_from(map: &http::HeaderMap) -> Result<Self, Error> {
        Header::from_header_map(map)
    }
}

/// OCaml's `Int64.of_string_opt`: an optional sign, an optional `0x`, `0o`,
/// `0b` or `0u` prefix, digits with `_` allowed after the first. Decimal must
/// fit in an `i64`; the other bases may use all 64 bits (wrapping to
/// negative), as in OCaml.
fn ocaml_int64_of_string(s: &str) -> Option<i64> {
    let (negative, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits, signed_decimal) = match rest.get(..2) {
        Some("0x" | "0X") => (16, &rest[2..], false),
        Some("0o" | "0O") => (8, &rest[2..], false),
        Some("0b" | "0B") => (2, &rest[2..], false),
        Some("0u" | "0U") => (10, &rest[2..], false),
        _ => (10, rest, true),
    };
    if digits.is_empty() || digits.starts_with('_') {
        return None;
    }
    let mut magnitude: u64 = 0;
    for c in digits.chars().filter(|&c| c != '_') {
        let d = c.to_digit(radix)?;
        magnitude = magnitude
            .checked_mul(u64::from(radix))?
            .checked_add(u64::from(d))?;
    }
    if signed_decimal {
        let limit = if negative {
            i64::MIN.unsigned_abs()
        } else {
            i64::MAX as u64
        };
        if magnitude > limit {
            return None;
        }
    }
    // Reinterpreting the bits is OCaml's behaviour for the prefixed forms.
    let value = magnitude as i64;
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// OCaml's `Scanf.sscanf s "bytes %Ld-%Ld/%Ld"`: text after the third number
/// is ignored.
fn parse_content_range(s: &str) -> Option<(i64, i64, i64)> {
    let rest = s.strip_prefix("bytes")?;
    let rest = rest.trim_start_matches([' ', '\t', '\n', '\r']);
    let (start, rest) = scan_int64(rest)?;
    let rest = rest.strip_prefix('-')?;
    let (end, rest) = scan_int64(rest)?;
    let rest = rest.strip_prefix('/')?;
    let (total, _) = scan_int64(rest)?;
    Some((start, end, total))
}

/// `Scanf`'s `%Ld`: an optionally signed decimal number (`_` allowed after
/// the first digit), and the text after it.
fn scan_int64(s: &str) -> Option<(i64, &str)> {
    let sign_len = usize::from(s.starts_with(['-', '+']));
    let body = &s[sign_len..];
    if !body.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let len = body
        .find(|c: char| !(c.is_ascii_digit() || c == '_'))
        .unwrap_or(body.len());
    let number: String = s[..sign_len + len].chars().filter(|&c| c != '_').collect();
    Some((number.parse().ok()?, &body[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ocaml_int64_forms() {
        assert_eq!(ocaml_int64_of_string("123"), Some(123));
        assert_eq!(ocaml_int64_of_string("-5"), Some(-5));
        assert_eq!(ocaml_int64_of_string("1_000"), Some(1000));
        assert_eq!(ocaml_int64_of_string("0x10"), Some(16));
        assert_eq!(ocaml_int64_of_string("0xFFFFFFFFFFFFFFFF"), Some(-1));
        assert_eq!(ocaml_int64_of_string("9223372036854775808"), None);
        assert_eq!(
            ocaml_int64_of_string("-9223372036854775808"),
            Some(i64::MIN)
        );
        assert_eq!(ocaml_int64_of_string(""), None);
        assert_eq!(ocaml_int64_of_string("_1"), None);
        assert_eq!(ocaml_int64_of_string("12a"), None);
    }

    #[test]
    fn clean_dup_follows_the_interface_example() {
        let h = Header::of_list([
            ("transfer-encoding", "gzip"),
            ("host", "afirsthost.com"),
            ("connection", "keep-alive"),
            ("host", "anhost.com, anotherhost.com"),
            ("transfer-encoding", "chunked"),
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2"),
        ]);
        assert_eq!(
            h.clean_dup().to_list(),
            Header::of_list([
                ("transfer-encoding", "gzip,chunked"),
                ("connection", "keep-alive"),
                ("host", "anhost.com, anotherhost.com"),
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2"),
            ])
            .to_list()
        );
    }

    #[test]
    fn header_map_round_trip_groups_names_and_lowercases_them() {
        let h = Header::of_list([("Accept", "a"), ("X-Id", "1"), ("accept", "b")]);
        let map = h.to_header_map().expect("valid fields");
        let back = Header::from_header_map(&map).expect("text values");
        assert_eq!(
            back.to_list(),
            Header::of_list([("accept", "a"), ("accept", "b"), ("x-id", "1")]).to_list()
        );
    }

    #[test]
    fn header_map_refuses_bad_names_and_values_with_typed_errors() {
        let bad_name = Header::init_with("bad name", "v").to_header_map();
        assert!(
            matches!(bad_name, Err(Error::InvalidHeaderName { name, .. }) if name == "bad name")
        );
        let bad_value = Header::init_with("x", "a\r\nb").to_header_map();
        assert!(matches!(bad_value, Err(Error::InvalidHeaderValue { name, .. }) if name == "x"));
        let mut map = http::HeaderMap::new();
        map.insert(
            "x-bin",
            http::HeaderValue::from_bytes(b"\xff").expect("obs-text is a valid value"),
        );
        assert!(matches!(
            Header::from_header_map(&map),
            Err(Error::HeaderValueNotText { name }) if name == "x-bin"
        ));
    }

    #[test]
    fn keep_alive_follows_connection_then_version() {
        let none = Header::init();
        assert!(none.is_keep_alive(&Version::Http1_1));
        assert!(!none.is_keep_alive(&Version::Http1_0));
        assert!(Header::init_with("connection", "keep-alive").is_keep_alive(&Version::Http1_0));
        assert!(!Header::init_with("connection", "Upgrade").is_keep_alive(&Version::Http1_1));
        assert!(Header::init_with("connection", "close").get_connection_close());
    }

    #[test]
    fn prepend_user_agent_puts_the_product_first() {
        let h = Header::init_with("User-Agent", "curl/8").prepend_user_agent(USER_AGENT);
        assert_eq!(
            h.get("user-agent"),
            Some(format!("{USER_AGENT} curl/8").as_str())
        );
        let h = Header::init().prepend_user_agent("me/1");
        assert_eq!(
            h.to_list(),
            vec![("user-agent".to_owned(), "me/1".to_owned())]
        );
    }

    #[test]
    fn list_value_only_ignores_name_case() {
        let h = Header::of_list([
            ("Accept", "a"),
            ("accept", "b"),
            ("Set-Cookie", "x"),
            ("set-cookie", "y"),
        ]);
        assert_eq!(
            h.get_multi_concat_list_value_only("ACCEPT").as_deref(),
            Some("a,b")
        );
        assert_eq!(
            h.get_multi_concat_list_value_only("set-cookie").as_deref(),
            Some("y")
        );
        assert_eq!(h.get_multi_concat("set-cookie").as_deref(), Some("x,y"));
    }

    #[test]
    fn transfer_encoding_needs_exactly_chunked() {
        let h = Header::of_list([
            ("transfer-encoding", "gzip"),
            ("transfer-encoding", "chunked"),
        ]);
        assert_eq!(h.get_transfer_encoding(), transfer::Encoding::Unknown);
        let negative = Header::init_with("content-length", "-1");
        assert_eq!(negative.get_content_range(), Some(-1));
        assert_eq!(
            negative.get_transfer_encoding(),
            transfer::Encoding::Unknown
        );
    }
}
