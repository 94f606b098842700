//! Query strings as ocaml-uri reads and writes them: `&` separates pairs,
//! the first `=` separates a key from its values, `,` separates values and
//! `+` is a space. A query parsed from text also keeps that text, which
//! [`Uri::verbatim_query`](super::Uri::verbatim_query) gives back.

use super::pct::{self, PctEncoder};

/// Decoded pairs: a key and its values, in order, keys repeated as written.
pub(super) type Kv = Vec<(Vec<u8>, Vec<Vec<u8>>)>;

/// ocaml-uri's `Query.t`.
#[derive(Debug, Clone)]
pub(super) enum Query {
    /// Pairs set by a function (`with_query`, `add_query_param`, `make`).
    Kv(Kv),
    /// A query as parsed: its text (`None`: there was no `?`) and pairs.
    Raw(Option<String>, Kv),
}

impl Query {
    /// No query at all: what `Uri.empty` and a URI without `?` hold.
    pub(super) fn none() -> Query {
        Query::Raw(None, Vec::new())
    }

    /// A query from the text after `?`.
    pub(super) fn of_raw(qs: String) -> Query {
        let kv = query_of_encoded_bytes(qs.as_bytes());
        Query::Raw(Some(qs), kv)
    }

    /// The decoded pairs.
    pub(super) fn kv(&self) -> &Kv {
        match self {
            Query::Kv(kv) | Query::Raw(_, kv) => kv,
        }
    }

    /// Whether `to_string` writes no `?` (and `resolve` takes the base's).
    pub(super) fn is_absent(&self) -> bool {
        match self {
            Query::Raw(None, _) => true,
            Query::Kv(kv) => kv.is_empty(),
            Query::Raw(Some(_), _) => false,
        }
    }
}

/// Splits on `sep` as Stringext's `split` does: `n` separators give `n + 1`
/// parts, except that the empty string gives none.
fn split(s: &[u8], sep: u8) -> Vec<&[u8]> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(move |&b| b == sep).collect()
    }
}

fn plus_to_space(s: &[u8]) -> Vec<u8> {
    s.iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect()
}

/// ocaml-uri's `query_of_encoded` on bytes.
pub(super) fn query_of_encoded_bytes(qs: &[u8]) -> Kv {
    let pairs = split(qs, b'&');
    if pairs.is_empty() {
        // The empty query is one pair: an empty key without values.
        return vec![(Vec::new(), Vec::new())];
    }
    pairs
        .into_iter()
        .map(|pair| {
            let (key, values) = match pair.iter().position(|&b| b == b'=') {
                None => (plus_to_space(pair), Vec::new()),
                Some(eq) => {
                    let values = plus_to_space(&pair[eq + 1..]);
                    let mut values: Vec<Vec<u8>> =
                        split(&values, b',').into_iter().map(pct::decode).collect();
                    if values.is_empty() {
                        // `k=` has one empty value, `k` has none.
                        values.push(Vec::new());
                    }
                    (plus_to_space(&pair[..eq]), values)
                }
            };
            (pct::decode(&key), values)
        })
        .collect()
}

/// ocaml-uri's `encoded_of_query` on decoded pairs.
pub(super) fn encode_query(kv: &[(Vec<u8>, Vec<Vec<u8>>)], enc: &PctEncoder) -> String {
    let mut out = String::new();
    for (i, (key, values)) in kv.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&pct::encode(key, &enc.query_key));
        if !values.is_empty() {
            out.push('=');
            for (j, value) in values.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push_str(&pct::encode(value, &enc.query_value));
            }
        }
    }
    out
}

/// `Uri.query_of_encoded qs`: the decoded pairs of a query string (the
/// text after `?`).
///
/// `""` is one pair with an empty key and no values, `k` a key without
/// values, `k=` a key with one empty value, `k=a,b` two values; `+` is a
/// space and only the first `=` of a pair separates.
///
/// ```
/// use paf_compat::uri;
///
/// assert_eq!(
///     uri::query_of_encoded("f+1=bar&a=b%26c%3Dd,e&flag"),
///     vec![
///         ("f 1".to_owned(), vec!["bar".to_owned()]),
///         ("a".to_owned(), vec!["b&c=d".to_owned(), "e".to_owned()]),
///         ("flag".to_owned(), vec![]),
///     ]
/// );
/// ```
pub fn query_of_encoded(qs: &str) -> Vec<(String, Vec<String>)> {
    super::kv_text(&query_of_encoded_bytes(qs.as_bytes()))
}

/// `Uri.encoded_of_query l`: a query string from decoded pairs, each key
/// and value percent-encoded (`&`, `;`, `+` always; `=` in keys; `,` in
/// values), values joined with `,`, a key without values written alone.
///
/// ```
/// use paf_compat::uri;
///
/// assert_eq!(uri::encoded_of_query([("#", vec!["#", "#"])]), "%23=%23,%23");
/// assert_eq!(uri::encoded_of_query([("k", Vec::<&str>::new())]), "k");
/// ```
pub fn encoded_of_query<I, K, VS, V>(query: I) -> String
where
    I: IntoIterator<Item = (K, VS)>,
    K: AsRef<str>,
    VS: IntoIterator<Item = V>,
    V: AsRef<str>,
{
    encoded_of_query_with(query, &PctEncoder::new())
}

/// `Uri.encoded_of_query ~pct_encoder l`: as [`encoded_of_query`], keys and
/// values encoded with `enc`'s `query_key` and `query_value` components.
pub fn encoded_of_query_with<I, K, VS, V>(query: I, enc: &PctEncoder) -> String
where
    I: IntoIterator<Item = (K, VS)>,
    K: AsRef<str>,
    VS: IntoIterator<Item = V>,
    V: AsRef<str>,
{
    encode_query(&super::kv_bytes(query), enc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(qs: &str) -> Vec<(String, Vec<String>)> {
        query_of_encoded(qs)
    }

    #[test]
    fn empty_pieces_are_kept() {
        assert_eq!(decoded(""), vec![(String::new(), vec![])]);
        assert_eq!(decoded("&").len(), 2);
        assert_eq!(
            decoded("a=,"),
            vec![("a".to_owned(), vec![String::new(), String::new()])]
        );
        assert_eq!(decoded("=="), vec![(String::new(), vec!["=".to_owned()])]);
    }

    #[test]
    fn raw_query_keeps_its_text_and_pairs() {
        let q = Query::of_raw("a=1&b".to_owned());
        assert!(!q.is_absent());
        assert_eq!(q.kv().len(), 2);
        assert!(Query::none().is_absent());
        assert!(Query::Kv(Vec::new()).is_absent());
    }
}
