//! CoHTTP's `cohttp/test/test_accept.ml`, ported: every vector of its seven
//! suites, with the OCaml input string as the label.

use paf_compat::accept::{self, Charset, Encoding, Language, MediaRange, QList, P};
use paf_compat::Error;

/// What `media_ranges` returns.
type MediaRanges = QList<(MediaRange, Vec<P>)>;

fn mt(t: &str, st: &str) -> MediaRange {
    MediaRange::MediaType(t.into(), st.into())
}

fn sub(t: &str) -> MediaRange {
    MediaRange::AnyMediaSubtype(t.into())
}

fn p(k: &str, v: &str) -> P {
    (k.into(), v.into())
}

fn lang(tags: &[&str]) -> Language {
    Language::Language(tags.iter().map(|t| (*t).to_owned()).collect())
}

/// Mirrors cohttp/test/test_accept.ml "valid string to media range"
#[test]
fn valid_media_ranges() {
    let any = MediaRange::AnyMedia;
    let vectors: Vec<(&str, MediaRanges)> = vec![
        ("text/plain", vec![(1000, (mt("text", "plain"), vec![]))]),
        ("text/*", vec![(1000, (sub("text"), vec![]))]),
        ("*/*", vec![(1000, (any.clone(), vec![]))]),
        ("*/*;q=1", vec![(1000, (any.clone(), vec![]))]),
        ("*/*;q=0", vec![(0, (any.clone(), vec![]))]),
        ("*/*;q=1.", vec![(1000, (any.clone(), vec![]))]),
        ("*/*;q=1.0", vec![(1000, (any.clone(), vec![]))]),
        ("*/*;q=.0", vec![(0, (any.clone(), vec![]))]),
        ("*/*;q=0.", vec![(0, (any.clone(), vec![]))]),
        ("*/*;q=0.1", vec![(100, (any.clone(), vec![]))]),
        (
            "image/*,text/*",
            vec![
                (1000, (sub("image"), vec![])),
                (1000, (sub("text"), vec![])),
            ],
        ),
        (
            "text/plain; q=0.8; charset=utf-8,text/HTML;charset=utf-8;q=0.9",
            vec![
                (800, (mt("text", "plain"), vec![p("charset", "utf-8")])),
                (900, (mt("text", "html"), vec![p("charset", "utf-8")])),
            ],
        ),
        (
            "text/*;foo=\"bar\"",
            vec![(1000, (sub("text"), vec![p("foo", "bar")]))],
        ),
        (
            "*/*;qu=\"\\\"\"",
            vec![(1000, (any.clone(), vec![p("qu", "\"")]))],
        ),
        (
            "*/*;f=\";q=0,text/plain\"",
            vec![(1000, (any.clone(), vec![p("f", ";q=0,text/plain")]))],
        ),
    ];
    for (input, expected) in vectors {
        let got = accept::media_ranges(Some(input));
        assert_eq!(got.ok(), Some(expected), "{input}");
    }
}

/// Mirrors cohttp/test/test_accept.ml "invalid string to media range"
/// (CoHTTP raises `Parsing.Parse_error`)
#[test]
fn invalid_media_ranges() {
    let input = "*/*;q=.";
    let got = accept::media_ranges(Some(input));
    assert!(
        matches!(got, Err(Error::AcceptSyntax { .. })),
        "{input}: {got:?}"
    );
}

/// Mirrors cohttp/test/test_accept.ml "valid media range to string"
#[test]
fn valid_qualities_to_string() {
    let vectors = [
        (1000, "*/*;q=1"),
        (0, "*/*;q=0.000"),
        (353, "*/*;q=0.353"),
        (25, "*/*;q=0.025"),
        (1, "*/*;q=0.001"),
    ];
    for (q, expected) in vectors {
        let got = accept::string_of_media_range(&(MediaRange::AnyMedia, vec![]), q);
        assert_eq!(got.ok().as_deref(), Some(expected), "{expected}");
    }
}

/// Mirrors cohttp/test/test_accept.ml "invalid media range to string"
/// (CoHTTP raises `Invalid_argument "qvalue -3 must be positive"` and
/// `"qvalue 1001 must be less than 1000"`)
#[test]
fn invalid_qualities_to_string() {
    for (q, label) in [(-3, "negative"), (1001, "bigger than 1000")] {
        let got = accept::string_of_media_range(&(MediaRange::AnyMedia, vec![]), q);
        assert!(
            matches!(got, Err(Error::QualityOutOfRange { q: refused }) if refused == q),
            "{label}: {got:?}"
        );
    }
}

/// Mirrors cohttp/test/test_accept.ml "valid string to charset"
#[test]
fn valid_charsets() {
    let c = |s: &str| Charset::Charset(s.into());
    let vectors: Vec<(&str, QList<Charset>)> = vec![
        ("utf-8", vec![(1000, c("utf-8"))]),
        ("UTF-8", vec![(1000, c("utf-8"))]),
        ("iso-8859-1", vec![(1000, c("iso-8859-1"))]),
        (
            "ISO-8859-1; q = 0.8, *; q=0.7",
            vec![(800, c("iso-8859-1")), (700, Charset::AnyCharset)],
        ),
    ];
    for (input, expected) in vectors {
        assert_eq!(
            accept::charsets(Some(input)).ok(),
            Some(expected),
            "{input}"
        );
    }
}

/// Mirrors cohttp/test/test_accept.ml "valid string to encoding"
#[test]
fn valid_encodings() {
    let vectors: Vec<(&str, QList<Encoding>)> = vec![
        (
            "compress, gzip",
            vec![(1000, Encoding::Compress), (1000, Encoding::Gzip)],
        ),
        ("", vec![]),
        ("*", vec![(1000, Encoding::AnyEncoding)]),
        (
            "compress;q=0.5, gzip;q=1.0",
            vec![(500, Encoding::Compress), (1000, Encoding::Gzip)],
        ),
        (
            "Gzip;q=1.0, identity; q=0.5, *;q=0",
            vec![
                (1000, Encoding::Gzip),
                (500, Encoding::Identity),
                (0, Encoding::AnyEncoding),
            ],
        ),
    ];
    for (input, expected) in vectors {
        assert_eq!(
            accept::encodings(Some(input)).ok(),
            Some(expected),
            "{input}"
        );
    }
}

/// Mirrors cohttp/test/test_accept.ml "valid string to language"
#[test]
fn valid_languages() {
    let vectors: Vec<(&str, QList<Language>)> = vec![
        ("en", vec![(1000, lang(&["en"]))]),
        ("en-US", vec![(1000, lang(&["en", "us"]))]),
        ("en-cockney", vec![(1000, lang(&["en", "cockney"]))]),
        ("i-cherokee", vec![(1000, lang(&["i", "cherokee"]))]),
        ("x-pig-latin", vec![(1000, lang(&["x", "pig", "latin"]))]),
        (
            "da, en-gb;q=0.8, en;q=0.7",
            vec![
                (1000, lang(&["da"])),
                (800, lang(&["en", "gb"])),
                (700, lang(&["en"])),
            ],
        ),
        (
            "en-US, *;q=0.9",
            vec![(1000, lang(&["en", "us"])), (900, Language::AnyLanguage)],
        ),
    ];
    for (input, expected) in vectors {
        assert_eq!(
            accept::languages(Some(input)).ok(),
            Some(expected),
            "{input}"
        );
    }
}
