//! CoHTTP's `Link`: the `Link` header field of RFC 8288 (formerly RFC 5988),
//! with the RFC 8187 (formerly RFC 5987) `name*=charset'lang'value`
//! parameters.
//!
//! [`Link::of_string`] reads a header value the way CoHTTP's hand-written
//! scanner does: it is lenient, never fails and, unlike CoHTTP (which raises
//! `Invalid_argument` on some truncated values such as `<a>; rel`), never
//! panics. URIs are kept as the text written between `<` and `>` (or in
//! `anchor`), where CoHTTP holds a `Uri.t`.
//! [`Header::get_links`](crate::Header::get_links) reads every `Link`
//! field of a header.

use std::fmt;

// One table gives the registered relation names both ways.
macro_rules! relations {
    ($( $variant:ident = $name:literal, )*) => {
        /// A link relation type, as CoHTTP's `Link.Rel.t`.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum Rel {
            /// An extension relation, a URI (any name CoHTTP does not know is
            /// also kept here).
            Extension(String),
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        /// The relation's name as written in a header.
        fn string_of_rel(rel: &Rel) -> &str {
            match rel {
                Rel::Extension(uri) => uri,
                $( Rel::$variant => $name, )*
            }
        }

        fn registered_rel(name: &str) -> Option<Rel> {
            match name {
                $( $name => Some(Rel::$variant), )*
                _ => None,
            }
        }
    };
}

relations! {
    Alternate = "alternate",
    Appendix = "appendix",
    Bookmark = "bookmark",
    Chapter = "chapter",
    Contents = "contents",
    Copyright = "copyright",
    Current = "current",
    DescribedBy = "describedby",
    Edit = "edit",
    EditMedia = "edit-media",
    Enclosure = "enclosure",
    First = "first",
    Glossary = "glossary",
    Help = "help",
    Hub = "hub",
    Index = "index",
    Last = "last",
    LatestVersion = "latest-version",
    License = "license",
    Next = "next",
    NextArchive = "next-archive",
    Payment = "payment",
    PredecessorVersion = "predecessor-version",
    Prev = "prev",
    PrevArchive = "prev-archive",
    Related = "related",
    Replies = "replies",
    Section = "section",
    SelfRel = "self",
    Service = "service",
    Start = "start",
    Stylesheet = "stylesheet",
    Subsection = "subsection",
    SuccessorVersion = "successor-version",
    Up = "up",
    VersionHistory = "version-history",
    Via = "via",
    WorkingCopy = "working-copy",
    WorkingCopyOf = "working-copy-of",
}

impl Rel {
    /// CoHTTP's `Rel.extension`: an extension relation named by a URI.
    pub fn extension(uri: impl Into<String>) -> Rel {
        Rel::Extension(uri.into())
    }

    /// Reads a relation name as CoHTTP does: a name with a `:` is an
    /// extension URI; the registered names are matched case-sensitively,
    /// `previous` being read as [`Rel::Prev`]; anything else is an extension.
    pub fn of_string(name: &str) -> Rel {
        if name.contains(':') {
            return Rel::Extension(name.to_owned());
        }
        if name == "previous" {
            return Rel::Prev;
        }
        registered_rel(name).unwrap_or_else(|| Rel::Extension(name.to_owned()))
    }
}

impl fmt::Display for Rel {
    /// Writes the relation's name (the URI of an extension).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(string_of_rel(self))
    }
}

// CoHTTP's `Link.Language` and `Link.Charset` are both a private string
// with `of_string` and `to_string`; one macro writes both.
macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            #[doc = concat!("CoHTTP's `", stringify!($name), ".of_string`.")]
            pub fn of_string(s: impl Into<String>) -> $name {
                $name(s.into())
            }

            #[doc = concat!(
                "The text (CoHTTP's `", stringify!($name), ".to_string`, also given by `Display`)."
            )]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            /// Writes the text.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_type! {
    /// A language tag of an extended parameter, as CoHTTP's
    /// `Link.Language.t` (the text as written, not checked).
    Language
}

text_type! {
    /// A charset name of an extended parameter, as CoHTTP's
    /// `Link.Charset.t` (the text as written, not checked).
    Charset
}

/// A value with the charset and language of an RFC 8187 extended parameter
/// (`title*=UTF-8'en'Next`), as CoHTTP's `'a Link.Ext.t`. The value is not
/// percent-decoded, as in CoHTTP.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ext<T> {
    charset: Charset,
    language: Language,
    value: T,
}

impl<T> Ext<T> {
    /// CoHTTP's `Ext.make` without its optional arguments: an empty charset
    /// and language. Add them with [`Ext::with_charset`] and
    /// [`Ext::with_language`].
    pub fn make(value: T) -> Ext<T> {
        Ext {
            charset: Charset::default(),
            language: Language::default(),
            value,
        }
    }

    /// CoHTTP's `Ext.make ~charset`.
    pub fn with_charset(mut self, charset: Charset) -> Ext<T> {
        self.charset = charset;
        self
    }

    /// CoHTTP's `Ext.make ~language`.
    pub fn with_language(mut self, language: Language) -> Ext<T> {
        self.language = language;
        self
    }

    /// CoHTTP's `Ext.charset`.
    pub fn charset(&self) -> &Charset {
        &self.charset
    }

    /// CoHTTP's `Ext.language`.
    pub fn language(&self) -> &Language {
        &self.language
    }

    /// CoHTTP's `Ext.value`.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// CoHTTP's `Ext.map`: the same charset and language around `f(value)`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Ext<U> {
        Ext {
            charset: self.charset,
            language: self.language,
            value: f(self.value),
        }
    }
}

/// What a link says about its target, as CoHTTP's `Link.Arc.t`.
///
/// (Named `Arc` after CoHTTP, not to be confused with `std::sync::Arc`.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Arc {
    /// The link came from `rev` rather than `rel`: context and target were
    /// swapped.
    pub reverse: bool,
    /// The relation types, in the order written.
    pub relation: Vec<Rel>,
    /// `hreflang`, as written up to the next `;` or `,`.
    pub hreflang: Option<String>,
    /// `media`.
    pub media: Option<String>,
    /// `title`.
    pub title: Option<String>,
    /// `title*`.
    pub title_ext: Option<Ext<String>>,
    /// `type`, split at the first `/` (`("text", "html")`).
    pub media_type: Option<(String, String)>,
    /// Any other parameter. As in CoHTTP, the **last** one written comes
    /// first.
    pub extensions: Vec<(String, String)>,
    /// Any other `name*` parameter, keyed by the name without its `*`. As in
    /// CoHTTP, the last one written comes first.
    pub extension_exts: Vec<(String, Ext<String>)>,
}

impl Arc {
    /// CoHTTP's `Arc.empty`: no relation, no parameter.
    pub fn empty() -> Arc {
        Arc::default()
    }
}

/// One link of a `Link` header, as CoHTTP's `Link.t`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Link {
    /// The context URI reference (`anchor`), empty when not given.
    pub context: String,
    /// The relation and its parameters.
    pub arc: Arc,
    /// The target URI reference, as written between `<` and `>`.
    pub target: String,
}

impl Link {
    /// CoHTTP's `Link.empty`: empty context and target, [`Arc::empty`].
    pub fn empty() -> Link {
        Link::default()
    }

    /// CoHTTP's `Link.of_string`: every link of one `Link` header value, in
    /// order. See [`of_string`].
    pub fn of_string(s: &str) -> Vec<Link> {
        of_string(s)
    }
}

/// CoHTTP's `Link.of_string`: every link of one `Link` header value, in
/// order.
///
/// Like CoHTTP: parameter names are case-sensitive; the first `rel`,
/// `anchor`, `hreflang`, `media`, `title`, `title*` and `type` win; a link
/// with no (or an empty) `rel` but a `rev` is reversed; quoted strings end
/// at the next `"` (no escapes); unquoted values run to the next `;` or `,`.
pub fn of_string(s: &str) -> Vec<Link> {
    let mut links = Vec::new();
    let mut start = 0;
    while let Some(open) = find_from(s, start, b'<') {
        let (target, i) = until(s, open + 1, b">");
        let (params, comma) = params_of_string(s, i + 1);
        let Params {
            anchor,
            rel,
            rev,
            mut arc,
        } = params;
        let (context, target) = (anchor.unwrap_or_default(), target.to_owned());
        let rel = rel.unwrap_or_default();
        let rev = rev.unwrap_or_default();
        let link = if rel.is_empty() && !rev.is_empty() {
            // A reverse link: what the header calls the target is the context.
            arc.reverse = true;
            arc.relation = rev;
            Link {
                context: target,
                arc,
                target: context,
            }
        } else {
            arc.relation = rel;
            Link {
                context,
                arc,
                target,
            }
        };
        links.push(link);
        match comma {
            Some(c) => start = c,
            None => break,
        }
    }
    links
}

impl fmt::Display for Link {
    /// CoHTTP's `Link.to_string`: `<target>; ` and the parameters, in
    /// CoHTTP's order (`anchor`, extended extensions, extensions, `type`,
    /// `title*`, `title`, `media`, `hreflang`, `rel`/`rev`). `title` and
    /// extension values are quoted with OCaml's string escapes (`%S`), as
    /// CoHTTP does. Extended extensions are written `name*=…`, where CoHTTP
    /// drops the `*` and so writes a different parameter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let arc = &self.arc;
        let mut attrs: Vec<String> = Vec::new();
        if !self.context.is_empty() {
            attrs.push(format!("anchor=\"{}\"", self.context));
        }
        for (k, ext) in &arc.extension_exts {
            attrs.push(format!(
                "{k}*={}'{}'{}",
                ext.charset, ext.language, ext.value
            ));
        }
        for (k, v) in &arc.extensions {
            attrs.push(format!("{k}={}", ocaml_quoted(v)));
        }
        if let Some((t, st)) = &arc.media_type {
            attrs.push(format!("type={t}/{st}"));
        }
        if let Some(ext) = &arc.title_ext {
            attrs.push(format!(
                "title*={}'{}'{}",
                ext.charset, ext.language, ext.value
            ));
        }
        if let Some(title) = &arc.title {
            attrs.push(format!("title={}", ocaml_quoted(title)));
        }
        if let Some(media) = &arc.media {
            attrs.push(format!("media=\"{media}\""));
        }
        if let Some(hreflang) = &arc.hreflang {
            attrs.push(format!("hreflang={hreflang}"));
        }
        if !arc.relation.is_empty() {
            let rels: Vec<&str> = arc.relation.iter().map(string_of_rel).collect();
            let name = if arc.reverse { "rev" } else { "rel" };
            attrs.push(format!("{name}=\"{}\"", rels.join(" ")));
        }
        write!(f, "<{}>; {}", self.target, attrs.join("; "))
    }
}

/// The parameters of one link as the scanner reads them. As in CoHTTP the
/// first `anchor`, `rel`, `rev`, `hreflang`, `media`, `title`, `title*`
/// and `type` win, and extensions end up last written first (CoHTTP folds
/// them with `::`).
#[derive(Default)]
struct Params {
    anchor: Option<String>,
    rel: Option<Vec<Rel>>,
    rev: Option<Vec<Rel>>,
    /// Every field but `reverse` and `relation`.
    arc: Arc,
}

/// The index of the first `byte` at or after `start`.
fn find_from(s: &str, start: usize, byte: u8) -> Option<usize> {
    let bytes = s.as_bytes();
    let start = start.min(bytes.len());
    bytes[start..]
        .iter()
        .position(|&b| b == byte)
        .map(|i| start + i)
}

/// The text from `start` up to the first of `stops` (or the end), and the
/// index of that stop (or the length). CoHTTP raises when `start` is past
/// the end; here the text is then empty.
fn until<'a>(s: &'a str, start: usize, stops: &[u8]) -> (&'a str, usize) {
    let bytes = s.as_bytes();
    let start = start.min(bytes.len());
    let end = bytes[start..]
        .iter()
        .position(|b| stops.contains(b))
        .map_or(bytes.len(), |i| start + i);
    // Both ends sit at the string's end or next to an ASCII byte, so they
    // are character boundaries.
    (&s[start..end], end)
}

/// A value at `q`: after spaces, either a quoted string (to the next `"`, or
/// the end) or the text up to the next `;` or `,`. Returns the index just
/// after it.
fn quoted_string_of_string(s: &str, mut q: usize) -> (String, usize) {
    let bytes = s.as_bytes();
    loop {
        match bytes.get(q) {
            // CoHTTP raises on a value cut short at the end of the string.
            None => return (String::new(), bytes.len()),
            Some(b' ') => q += 1,
            Some(b'"') => {
                let open = q + 1;
                return match find_from(s, open, b'"') {
                    None => (s[open..].to_owned(), bytes.len()),
                    Some(close) => (s[open..close].to_owned(), close + 1),
                };
            }
            Some(_) => {
                let (value, end) = until(s, q, b";,");
                return (value.to_owned(), end);
            }
        }
    }
}

/// `rel`/`rev` values: quoted and space-separated when a `"` comes before the
/// next `;` or `,`, else one bare name.
fn rels_of_string(s: &str, i: usize) -> (Vec<Rel>, usize) {
    let (bare, stop) = until(s, i, b";,");
    match find_from(s, i, b'"') {
        Some(quote) if quote < stop => {
            let (quoted, end) = quoted_string_of_string(s, quote);
            let rels = quoted
                .split(' ')
                .filter(|r| !r.is_empty())
                .map(Rel::of_string)
                .collect();
            (rels, end)
        }
        _ => (vec![Rel::of_string(bare)], stop),
    }
}

/// An extended value `charset'language'value`. As in CoHTTP the quotes are
/// looked for anywhere further in the header, not only in this parameter.
fn star_of_string(s: &str, i: usize) -> (Ext<String>, usize) {
    let Some(a) = find_from(s, i, b'\'') else {
        let (value, end) = quoted_string_of_string(s, i);
        return (Ext::make(value), end);
    };
    let charset = Charset::of_string(&s[i.min(a)..a]);
    let i = a + 1;
    let Some(b) = find_from(s, i, b'\'') else {
        let (value, end) = quoted_string_of_string(s, i);
        return (Ext::make(value).with_charset(charset), end);
    };
    let language = Language::of_string(&s[i.min(b)..b]);
    let (value, end) = quoted_string_of_string(s, b + 1);
    (
        Ext::make(value)
            .with_charset(charset)
            .with_language(language),
        end,
    )
}

fn media_type_of_string(s: &str, i: usize) -> ((String, String), usize) {
    let (mt, end) = quoted_string_of_string(s, i);
    let pair = match mt.split_once('/') {
        Some((t, st)) => (t.to_owned(), st.to_owned()),
        None => (mt, String::new()),
    };
    (pair, end)
}

/// OCaml's `String.trim` whitespace.
fn is_ocaml_space(c: char) -> bool {
    matches!(c, ' ' | '\x0c' | '\n' | '\r' | '\t')
}

/// The parameters after a target, up to the `,` that starts the next link
/// (returned) or the end.
fn params_of_string(s: &str, mut i: usize) -> (Params, Option<usize>) {
    fn first<T>(slot: &mut Option<T>, value: T) {
        slot.get_or_insert(value);
    }
    let mut p = Params::default();
    loop {
        let (_, d) = until(s, i, b";,");
        if d == s.len() || s.as_bytes()[d] == b',' {
            p.arc.extensions.reverse();
            p.arc.extension_exts.reverse();
            return (p, (d < s.len()).then_some(d));
        }
        let (name, eq) = until(s, d + 1, b"=");
        let at = eq + 1;
        i = match name.trim_matches(is_ocaml_space) {
            key @ ("rel" | "rev") => {
                let (rels, next) = rels_of_string(s, at);
                first(if key == "rel" { &mut p.rel } else { &mut p.rev }, rels);
                next
            }
            "hreflang" => {
                let (lang, next) = until(s, at, b",;");
                first(&mut p.arc.hreflang, lang.to_owned());
                next
            }
            "title*" => {
                let (ext, next) = star_of_string(s, at);
                first(&mut p.arc.title_ext, ext);
                next
            }
            "type" => {
                let (media_type, next) = media_type_of_string(s, at);
                first(&mut p.arc.media_type, media_type);
                next
            }
            other => match other.strip_suffix('*') {
                Some(main) => {
                    let (ext, next) = star_of_string(s, at);
                    p.arc.extension_exts.push((main.to_owned(), ext));
                    next
                }
                None => {
                    let (value, next) = quoted_string_of_string(s, at);
                    match other {
                        "anchor" => first(&mut p.anchor, value),
                        "media" => first(&mut p.arc.media, value),
                        "title" => first(&mut p.arc.title, value),
                        _ => p.arc.extensions.push((other.to_owned(), value)),
                    }
                    next
                }
            },
        };
    }
}

/// OCaml's `Printf "%S"`: double-quoted, with OCaml's `String.escaped`
/// escapes (`\"`, `\\`, `\n`, `\t`, `\r`, `\b`, and `\ddd` for any other
/// byte outside printable ASCII, UTF-8 included).
fn ocaml_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x08 => out.push_str("\\b"),
            b' '..=b'~' => out.push(char::from(b)),
            other => out.push_str(&format!("\\{other:03}")),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_values_do_not_panic() {
        for s in [
            "<a>; rel",
            "<a>; rel=",
            "<a>; title*=",
            "<",
            "<a",
            "<a>;",
            "<a>; x*",
        ] {
            let _ = of_string(s);
        }
    }

    #[test]
    fn extensions_come_last_written_first_and_print_in_cohttp_order() {
        let links = of_string("<x>; a=1; b=2; rel=next; title=\"T\"; hreflang=en");
        assert_eq!(links.len(), 1);
        assert_eq!(
            links[0].arc.extensions,
            vec![("b".into(), "2".into()), ("a".into(), "1".into())]
        );
        assert_eq!(
            links[0].to_string(),
            "<x>; b=\"2\"; a=\"1\"; title=\"T\"; hreflang=en; rel=\"next\""
        );
    }

    #[test]
    fn rel_names_round_trip() {
        for name in ["next", "edit-media", "working-copy-of", "describedby"] {
            assert_eq!(Rel::of_string(name).to_string(), name);
        }
        assert_eq!(Rel::of_string("previous"), Rel::Prev);
        assert_eq!(
            Rel::of_string("http://x/y"),
            Rel::Extension("http://x/y".into())
        );
    }

    #[test]
    fn ocaml_escapes_match_string_escaped() {
        assert_eq!(
            ocaml_quoted("a\"b\\c\n\u{e9}"),
            "\"a\\\"b\\\\c\\n\\195\\169\""
        );
    }
}
