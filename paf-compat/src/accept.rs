//! CoHTTP's `Accept`: the `Accept`, `Accept-Charset`, `Accept-Encoding` and
//! `Accept-Language` header values, each element with its quality.
//!
//! The parsers accept the language of CoHTTP's ocamllex/ocamlyacc grammar and
//! return the elements **in header order**, as CoHTTP does: sort them by
//! preference with [`qsort`]. Where CoHTTP raises `Parsing.Parse_error` (or a
//! lexer failure) they return [`Error::AcceptSyntax`]; they never panic.

use crate::Error;

/// A quality: `q=0.7` is `700`. CoHTTP's `Accept.q` is an OCaml `int`;
/// parsed values are `truncate (1000 × q)`, so they may lie outside
/// `0..=1000` when the header says so (`q=2` is `2000`).
pub type Q = i32;

/// Elements annotated with their quality, as CoHTTP's `'a Accept.qlist`.
pub type QList<T> = Vec<(Q, T)>;

/// A media-range parameter (name, value), as CoHTTP's `Accept.p`.
pub type P = (String, String);

/// A media range of an `Accept` value; type and subtype are lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MediaRange {
    /// `type/subtype`.
    MediaType(String, String),
    /// `type/*`.
    AnyMediaSubtype(String),
    /// `*/*`.
    AnyMedia,
}

/// A charset of an `Accept-Charset` value, lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Charset {
    /// A named charset.
    Charset(String),
    /// `*`.
    AnyCharset,
}

/// A content coding of an `Accept-Encoding` value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Any coding without a variant of its own, lowercased.
    Encoding(String),
    /// `gzip`.
    Gzip,
    /// `compress`.
    Compress,
    /// `deflate`.
    Deflate,
    /// `identity`.
    Identity,
    /// `*`.
    AnyEncoding,
}

/// A language range of an `Accept-Language` value: `en-GB` is
/// `Language(["en", "gb"])` (lowercased, split on `-`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Language {
    /// A language tag, as its lowercased subtags.
    Language(Vec<String>),
    /// `*`.
    AnyLanguage,
}

/// CoHTTP's `Accept.qsort`: highest quality first, a stable sort so equal
/// qualities keep their header order.
pub fn qsort<T>(mut list: QList<T>) -> QList<T> {
    list.sort_by(|(a, _), (b, _)| b.cmp(a));
    list
}

/// CoHTTP's `Accept.media_ranges`: parses an `Accept` value. `None` (no
/// header) means `*/*` at quality 1000; `Some("")` is the empty list.
/// Parameters keep their case and order; the first `q` parameter gives the
/// quality and is removed from them.
pub fn media_ranges(value: Option<&str>) -> Result<QList<(MediaRange, Vec<P>)>, Error> {
    match value {
        None => Ok(vec![(1000, (MediaRange::AnyMedia, Vec::new()))]),
        Some(s) => Parser::new(s)?.list(true, Parser::media_range),
    }
}

/// CoHTTP's `Accept.charsets`: parses an `Accept-Charset` value. `None`
/// means `*` at quality 1000; an empty value is an error, as in CoHTTP.
pub fn charsets(value: Option<&str>) -> Result<QList<Charset>, Error> {
    match value {
        None => Ok(vec![(1000, Charset::AnyCharset)]),
        Some(s) => Parser::new(s)?.list(false, |p| {
            p.simple(Charset::AnyCharset, |tok| {
                Charset::Charset(tok.to_ascii_lowercase())
            })
        }),
    }
}

/// CoHTTP's `Accept.encodings`: parses an `Accept-Encoding` value. `None`
/// means `*` at quality 1000; `Some("")` is the empty list.
pub fn encodings(value: Option<&str>) -> Result<QList<Encoding>, Error> {
    match value {
        None => Ok(vec![(1000, Encoding::AnyEncoding)]),
        Some(s) => Parser::new(s)?.list(true, |p| {
            p.simple(Encoding::AnyEncoding, |tok| {
                match tok.to_ascii_lowercase().as_str() {
                    "gzip" => Encoding::Gzip,
                    "compress" => Encoding::Compress,
                    "deflate" => Encoding::Deflate,
                    "identity" => Encoding::Identity,
                    other => Encoding::Encoding(other.to_owned()),
                }
            })
        }),
    }
}

/// CoHTTP's `Accept.languages`: parses an `Accept-Language` value. `None`
/// means `*` at quality 1000; an empty value is an error, as in CoHTTP.
pub fn languages(value: Option<&str>) -> Result<QList<Language>, Error> {
    match value {
        None => Ok(vec![(1000, Language::AnyLanguage)]),
        Some(s) => Parser::new(s)?.list(false, |p| {
            p.simple(Language::AnyLanguage, |tok| {
                Language::Language(
                    tok.to_ascii_lowercase()
                        .split('-')
                        .map(str::to_owned)
                        .collect(),
                )
            })
        }),
    }
}

/// CoHTTP's `Accept.string_of_media_range`: `type/sub;q=Q;k=v…`.
///
/// A parameter value is written bare when CoHTTP would: unless it holds one
/// of `[ ] * . \ ? + ^ $`, which CoHTTP backslash-escapes (its
/// `Stringext.quote`) and then wraps in double quotes, so `1.0` is written
/// `"1\.0"`. Beyond CoHTTP, a value that would otherwise break the header
/// (empty, or holding `"`, `,`, `;`, space…) is quoted too, with `"`
/// escaped.
///
/// Fails with [`Error::QualityOutOfRange`] unless `0 <= q <= 1000` (CoHTTP
/// raises `Invalid_argument`).
pub fn string_of_media_range(range: &(MediaRange, Vec<P>), q: Q) -> Result<String, Error> {
    let (range, params) = range;
    let element = match range {
        MediaRange::MediaType(t, st) => format!("{t}/{st}"),
        MediaRange::AnyMediaSubtype(t) => format!("{t}/*"),
        MediaRange::AnyMedia => "*/*".to_owned(),
    };
    accept_element(&element, params, q)
}

/// CoHTTP's `Accept.string_of_charset`: `name;q=Q`.
pub fn string_of_charset(charset: &Charset, q: Q) -> Result<String, Error> {
    let element = match charset {
        Charset::Charset(c) => c.as_str(),
        Charset::AnyCharset => "*",
    };
    accept_element(element, &[], q)
}

/// CoHTTP's `Accept.string_of_encoding`: `name;q=Q`.
pub fn string_of_encoding(encoding: &Encoding, q: Q) -> Result<String, Error> {
    let element = match encoding {
        Encoding::Encoding(e) => e.as_str(),
        Encoding::Gzip => "gzip",
        Encoding::Compress => "compress",
        Encoding::Deflate => "deflate",
        Encoding::Identity => "identity",
        Encoding::AnyEncoding => "*",
    };
    accept_element(element, &[], q)
}

/// CoHTTP's `Accept.string_of_language`: `en-gb;q=Q`.
pub fn string_of_language(language: &Language, q: Q) -> Result<String, Error> {
    match language {
        Language::Language(tags) => accept_element(&tags.join("-"), &[], q),
        Language::AnyLanguage => accept_element("*", &[], q),
    }
}

/// CoHTTP's `Accept.string_of_media_ranges`: the elements joined by `,`.
pub fn string_of_media_ranges(list: &QList<(MediaRange, Vec<P>)>) -> Result<String, Error> {
    string_of_list(list, string_of_media_range)
}

/// CoHTTP's `Accept.string_of_charsets`: the elements joined by `,`.
pub fn string_of_charsets(list: &QList<Charset>) -> Result<String, Error> {
    string_of_list(list, string_of_charset)
}

/// CoHTTP's `Accept.string_of_encodings`: the elements joined by `,`.
pub fn string_of_encodings(list: &QList<Encoding>) -> Result<String, Error> {
    string_of_list(list, string_of_encoding)
}

/// CoHTTP's `Accept.string_of_languages`: the elements joined by `,`.
pub fn string_of_languages(list: &QList<Language>) -> Result<String, Error> {
    string_of_list(list, string_of_language)
}

fn string_of_list<T>(
    list: &QList<T>,
    element: impl Fn(&T, Q) -> Result<String, Error>,
) -> Result<String, Error> {
    let parts = list
        .iter()
        .map(|(q, el)| element(el, *q))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(parts.join(","))
}

fn string_of_q(q: Q) -> Result<String, Error> {
    match q {
        1000 => Ok("1".to_owned()),
        0..=999 => Ok(format!("0.{q:03}")),
        _ => Err(Error::QualityOutOfRange { q }),
    }
}

fn accept_element(element: &str, params: &[P], q: Q) -> Result<String, Error> {
    let mut out = format!("{element};q={}", string_of_q(q)?);
    for (k, v) in params {
        out.push(';');
        out.push_str(k);
        out.push('=');
        out.push_str(&param_value(v));
    }
    Ok(out)
}

/// Writes a parameter value as explained on [`string_of_media_range`].
fn param_value(v: &str) -> String {
    let mut escaped = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(
            c,
            '[' | ']' | '*' | '.' | '\\' | '?' | '+' | '^' | '$' | '"'
        ) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    if escaped == v && !v.is_empty() && v.chars().all(is_token_char) {
        escaped
    } else {
        format!("\"{escaped}\"")
    }
}

/// A character of CoHTTP's lexer `token` class (RFC 2616 §2.2 without its
/// separators). Anything else that is not a space or one of `*/;,="` stops
/// the lexer.
fn is_token_char(c: char) -> bool {
    !matches!(
        c,
        '(' | ')'
            | '<'
            | '>'
            | '@'
            | ','
            | ';'
            | ':'
            | '\\'
            | '"'
            | '/'
            | '['
            | ']'
            | '?'
            | '='
            | '{'
            | '}'
            | ' '
            | '\t'
    )
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Star,
    Slash,
    Semi,
    Comma,
    Equal,
    Quoted(String),
    Tok(String),
}

/// A parameter as the grammar reads it: the quality or any other pair.
enum Param {
    Q(Q),
    Kv(P),
}

/// A recursive-descent reading of CoHTTP's `accept_parser.mly`, over the
/// tokens of its `accept_lexer.mll`.
struct Parser<'a> {
    input: &'a str,
    tokens: Vec<(usize, Token)>,
    next: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Result<Self, Error> {
        Ok(Parser {
            input,
            tokens: lex(input)?,
            next: 0,
        })
    }

    fn error(&self, reason: &'static str) -> Error {
        let position = self
            .tokens
            .get(self.next)
            .map_or(self.input.len(), |(pos, _)| *pos);
        Error::AcceptSyntax {
            input: self.input.to_owned(),
            position,
            reason,
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next).map(|(_, t)| t)
    }

    fn bump(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).map(|(_, t)| t.clone());
        if token.is_some() {
            self.next += 1;
        }
        token
    }

    fn expect(&mut self, wanted: Token, reason: &'static str) -> Result<(), Error> {
        if self.peek() == Some(&wanted) {
            self.next += 1;
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    /// `elements: element EOI | element COMMA elements`, plus `| EOI` when
    /// `empty_ok` (media ranges and encodings accept an empty value and a
    /// trailing comma; charsets and languages do not).
    fn list<T>(
        mut self,
        empty_ok: bool,
        mut element: impl FnMut(&mut Self) -> Result<(Q, T), Error>,
    ) -> Result<QList<T>, Error> {
        let mut out = Vec::new();
        loop {
            if empty_ok && self.peek().is_none() {
                return Ok(out);
            }
            out.push(element(&mut self)?);
            match self.bump() {
                None => return Ok(out),
                Some(Token::Comma) => {}
                Some(_) => {
                    self.next -= 1;
                    return Err(self.error("expected ',' or the end of the value"));
                }
            }
        }
    }

    /// `params: (SEMI TOK EQUAL (QS | TOK))*`; the first `q` gives the
    /// quality, 1000 when there is none.
    fn params(&mut self) -> Result<(Q, Vec<P>), Error> {
        let mut params = Vec::new();
        while self.peek() == Some(&Token::Semi) {
            self.next += 1;
            let Some(Token::Tok(name)) = self.bump() else {
                self.next -= 1;
                return Err(self.error("expected a parameter name"));
            };
            self.expect(Token::Equal, "expected '=' after a parameter name")?;
            let param = match self.bump() {
                Some(Token::Quoted(value)) => Param::Kv((name, value)),
                Some(Token::Tok(value)) if name == "q" => {
                    let q = value
                        .parse::<f64>()
                        .map_err(|_| self.error_before("invalid quality value"))?;
                    // OCaml's `truncate (1000. *. q)`; Rust's cast saturates
                    // where OCaml's is unspecified (NaN, infinities).
                    Param::Q((1000.0 * q).trunc() as Q)
                }
                Some(Token::Tok(value)) => Param::Kv((name, value)),
                _ => {
                    self.next = self.next.saturating_sub(1);
                    return Err(self.error("expected a parameter value"));
                }
            };
            params.push(param);
        }
        let q = params
            .iter()
            .find_map(|p| match p {
                Param::Q(q) => Some(*q),
                Param::Kv(_) => None,
            })
            .unwrap_or(1000);
        let rest = params
            .into_iter()
            .filter_map(|p| match p {
                Param::Kv(kv) => Some(kv),
                Param::Q(_) => None,
            })
            .collect();
        Ok((q, rest))
    }

    /// An error located at the token just read.
    fn error_before(&self, reason: &'static str) -> Error {
        let position = self
            .tokens
            .get(self.next.saturating_sub(1))
            .map_or(self.input.len(), |(pos, _)| *pos);
        Error::AcceptSyntax {
            input: self.input.to_owned(),
            position,
            reason,
        }
    }

    /// `STAR SLASH STAR params | TOK SLASH STAR params | TOK SLASH TOK params`.
    fn media_range(&mut self) -> Result<(Q, (MediaRange, Vec<P>)), Error> {
        let range = match self.bump() {
            Some(Token::Star) => {
                self.expect(Token::Slash, "expected '/' after '*'")?;
                self.expect(Token::Star, "expected '*' after '*/'")?;
                MediaRange::AnyMedia
            }
            Some(Token::Tok(t)) => {
                self.expect(Token::Slash, "expected '/' after a media type")?;
                match self.bump() {
                    Some(Token::Star) => MediaRange::AnyMediaSubtype(t.to_ascii_lowercase()),
                    Some(Token::Tok(st)) => {
                        MediaRange::MediaType(t.to_ascii_lowercase(), st.to_ascii_lowercase())
                    }
                    _ => {
                        self.next = self.next.saturating_sub(1);
                        return Err(self.error("expected a media subtype or '*'"));
                    }
                }
            }
            _ => {
                self.next = self.next.saturating_sub(1);
                return Err(self.error("expected a media range"));
            }
        };
        let (q, params) = self.params()?;
        Ok((q, (range, params)))
    }

    /// `TOK params | STAR params`, the shape of charsets, encodings and
    /// languages; parameters other than `q` are dropped, as in CoHTTP.
    fn simple<T>(&mut self, any: T, named: impl FnOnce(&str) -> T) -> Result<(Q, T), Error> {
        let element = match self.bump() {
            Some(Token::Star) => any,
            Some(Token::Tok(tok)) => named(&tok),
            _ => {
                self.next = self.next.saturating_sub(1);
                return Err(self.error("expected a name or '*'"));
            }
        };
        let (q, _) = self.params()?;
        Ok((q, element))
    }
}

/// CoHTTP's `accept_lexer.mll`: spaces are skipped; a quoted string ends at
/// the first `"` not preceded by a backslash, and `\"` stands for `"` (other
/// backslashes are kept). CoHTTP's lexer only honours `\"` at the start of a
/// run and reassembles runs in reverse order; that bug is not reproduced.
fn lex(input: &str) -> Result<Vec<(usize, Token)>, Error> {
    let fail = |position, reason| Error::AcceptSyntax {
        input: input.to_owned(),
        position,
        reason,
    };
    let mut tokens = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some((pos, c)) = chars.next() {
        let token = match c {
            ' ' => continue,
            '/' => Token::Slash,
            ';' => Token::Semi,
            ',' => Token::Comma,
            '=' => Token::Equal,
            '"' => {
                let mut value = String::new();
                loop {
                    match chars.next() {
                        None => return Err(fail(pos, "unterminated quoted string")),
                        Some((_, '"')) => break,
                        Some((_, '\\')) if matches!(chars.peek(), Some((_, '"'))) => {
                            chars.next();
                            value.push('"');
                        }
                        Some((_, other)) => value.push(other),
                    }
                }
                Token::Quoted(value)
            }
            c if is_token_char(c) => {
                let mut end = pos + c.len_utf8();
                while let Some(&(p, next)) = chars.peek() {
                    if !is_token_char(next) {
                        break;
                    }
                    end = p + next.len_utf8();
                    chars.next();
                }
                // ocamllex takes the longest match and, on a tie, the first
                // rule: a lone `*` is STAR, `*abc` is a token.
                match &input[pos..end] {
                    "*" => Token::Star,
                    run => Token::Tok(run.to_owned()),
                }
            }
            _ => return Err(fail(pos, "unexpected character")),
        };
        tokens.push((pos, token));
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qsort_is_stable_and_descending() {
        let sorted = qsort(vec![(500, 'a'), (1000, 'b'), (500, 'c'), (900, 'd')]);
        assert_eq!(
            sorted,
            vec![(1000, 'b'), (900, 'd'), (500, 'a'), (500, 'c')]
        );
    }

    #[test]
    fn tab_is_a_lexer_error_as_in_cohttp() {
        assert!(charsets(Some("utf-8;\tq=1")).is_err());
    }

    #[test]
    fn parameter_values_are_quoted_like_cohttp() {
        let written = string_of_media_range(
            &(
                MediaRange::MediaType("text".into(), "plain".into()),
                vec![
                    ("charset".into(), "utf-8".into()),
                    ("level".into(), "1.0".into()),
                    ("x".into(), "a,b".into()),
                ],
            ),
            1000,
        );
        assert_eq!(
            written.ok().as_deref(),
            Some(r#"text/plain;q=1;charset=utf-8;level="1\.0";x="a,b""#)
        );
    }
}
