//! `application/x-www-form-urlencoded` bodies the way CoHTTP writes and
//! reads them (through ocaml-uri's `Uri.encoded_of_query` and
//! `Uri.query_of_encoded`).
//!
//! CoHTTP's form is a list of keys, each with a *list* of values, and
//! ocaml-uri joins a key's values with commas: `[("a", ["1"; "2"])]` is
//! `a=1,2`, not `a=1&a=2`; a key without values is written bare (`a`). A
//! comma inside a value is percent-encoded, so reading splits on the bare
//! commas only. Reading also takes `+` as a space, as HTML forms send it.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986's unreserved characters is escaped: safe in a
/// query and in a form body alike, and the separators `&`, `=`, `,` and `+`
/// never appear raw inside a key or a value.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `Uri.encoded_of_query`: `k=v1,v2&k2=v3`.
pub(crate) fn encode<K, I, V>(params: impl IntoIterator<Item = (K, I)>) -> String
where
    K: AsRef<str>,
    I: IntoIterator<Item = V>,
    V: AsRef<str>,
{
    let mut out = String::new();
    for (key, values) in params {
        if !out.is_empty() {
            out.push('&');
        }
        out.extend(utf8_percent_encode(key.as_ref(), COMPONENT));
        for (i, value) in values.into_iter().enumerate() {
            out.push(if i == 0 { '=' } else { ',' });
            out.extend(utf8_percent_encode(value.as_ref(), COMPONENT));
        }
    }
    out
}

/// `Uri.query_of_encoded`: the keys in order, each with its values. An empty
/// input has no key. Bytes that are not UTF-8 once decoded are replaced by
/// U+FFFD.
pub(crate) fn decode(encoded: &str) -> Vec<(String, Vec<String>)> {
    if encoded.is_empty() {
        return Vec::new();
    }
    encoded
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, values)) => (unescape(key), values.split(',').map(unescape).collect()),
            None => (unescape(pair), Vec::new()),
        })
        .collect()
}

fn unescape(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_values_join_with_commas_as_ocaml_uri_does() {
        let encoded = encode([("a", vec!["1", "2"]), ("b", vec![])]);
        assert_eq!(encoded, "a=1,2&b");
    }

    #[test]
    fn separators_inside_values_are_escaped_and_read_back() {
        let params = vec![
            (
                "k&=".to_string(),
                vec!["a,b".to_string(), "c d+é".to_string()],
            ),
            (String::new(), vec![String::new()]),
        ];
        let encoded = encode(params.clone());
        assert_eq!(encoded, "k%26%3D=a%2Cb,c%20d%2B%C3%A9&=");
        assert_eq!(decode(&encoded), params);
    }

    #[test]
    fn plus_reads_as_space_and_empty_input_has_no_key() {
        assert_eq!(decode("q=a+b"), vec![("q".into(), vec!["a b".into()])]);
        assert!(decode("").is_empty());
    }
}
