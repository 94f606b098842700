//! Paths as ocaml-uri keeps them: a list of tokens, each either a lone `/`
//! (a separator) or a decoded segment, never empty. Keeping separators as
//! tokens is what lets ocaml-uri's dot-segment removal work on the list from
//! its end, and this port follows that list step for step so that odd paths
//! (`//`, `a/..`, `../..`) resolve as they do in OCaml.

use super::pct::{self, Component};

/// A path: `/` tokens and decoded segments.
pub(super) type Path = Vec<Vec<u8>>;

const SLASH: &[u8] = b"/";

/// Whether a token is the `/` separator.
pub(super) fn is_slash(token: &[u8]) -> bool {
    token == SLASH
}

/// ocaml-uri's `path_of_encoded`: split on `/`, keeping each `/` as a token
/// and every run between them, then percent-decode each token. A `%2F` run
/// decodes to `/` and is from then on a separator, as in ocaml-uri.
pub(super) fn path_of_encoded(ps: &[u8]) -> Path {
    let mut tokens = Vec::new();
    let mut start = 0;
    for (i, &b) in ps.iter().enumerate() {
        if b == b'/' {
            if i > start {
                tokens.push(pct::decode(&ps[start..i]));
            }
            tokens.push(SLASH.to_vec());
            start = i + 1;
        }
    }
    if start < ps.len() {
        tokens.push(pct::decode(&ps[start..]));
    }
    tokens
}

/// ocaml-uri's `encoded_of_path`: separators as `/`, segments encoded with
/// `component` (so a `/` inside a segment is `%2F`).
pub(super) fn encoded_of_path(path: &[Vec<u8>], component: &Component) -> String {
    let mut out = String::new();
    for token in path {
        if is_slash(token) {
            out.push('/');
        } else {
            out.push_str(&pct::encode(token, component));
        }
    }
    out
}

/// RFC 3986 §5.2.4 in ocaml-uri's form: the tokens are read from the end,
/// `..` counts one level to climb, each later segment (earlier in the
/// path) pays one level, and levels left at the start of a relative path
/// become leading `../`.
///
/// Where it differs from the RFC's algorithm, this follows ocaml-uri: a
/// relative path keeps the `..` it cannot climb (`../a` stays, the RFC
/// drops it), and `a//..` climbs one empty segment only (`/foo/bar//..` is
/// `/foo/bar/`).
pub(super) fn remove_dot_segments(path: &[Vec<u8>]) -> Path {
    let absolute = path.first().is_some_and(|t| is_slash(t));
    let rev: Vec<&[u8]> = path.iter().rev().map(Vec::as_slice).collect();
    // `out` is ocaml-uri's output list built by consing, so it is held
    // reversed here: its last element is the list's head.
    let mut out: Vec<&[u8]> = Vec::new();
    let mut ascension = 0usize;
    let mut i = 0;
    loop {
        let first = rev.get(i).copied();
        let second = rev.get(i + 1).copied();
        match (first, second) {
            (Some(SLASH), Some(b"..")) => {
                ascension += 1;
                i += 2;
            }
            (Some(b".."), _) => {
                ascension += 1;
                i += 1;
            }
            (Some(SLASH), Some(b".")) => i += 2,
            (Some(b"."), _) => i += 1,
            (Some(SLASH), None) | (None, _) if absolute => {
                out.push(SLASH);
                break;
            }
            (None, _) if ascension > 0 => {
                let mut forward: Path = Vec::with_capacity(2 * ascension + out.len());
                for _ in 0..ascension {
                    forward.push(b"..".to_vec());
                    forward.push(SLASH.to_vec());
                }
                forward.extend(out.iter().rev().map(|t| t.to_vec()));
                return forward;
            }
            (None, _) => {
                if out.last().is_some_and(|t| is_slash(t)) {
                    out.pop();
                }
                break;
            }
            // `a//..`: the empty segment between the slashes is the one
            // climbed, so only one slash is consumed.
            (Some(SLASH), Some(SLASH)) if ascension > 0 => {
                ascension -= 1;
                i += 1;
            }
            (Some(SLASH), Some(_)) if ascension > 0 => {
                ascension -= 1;
                i += 2;
            }
            (Some(token), _) => {
                ascension = 0;
                out.push(token);
                i += 1;
            }
        }
    }
    out.iter().rev().map(|t| t.to_vec()).collect()
}

/// RFC 3986 §5.2.3, ocaml-uri's `merge`: the base path up to and with its
/// last `/`, then the reference's path; `/` when the base has an authority
/// and no path.
pub(super) fn merge(base_has_host: bool, base: &[Vec<u8>], rel: &[Vec<u8>]) -> Path {
    let n = base.len();
    let kept: &[Vec<u8>] = match (base.last(), n.checked_sub(2).and_then(|j| base.get(j))) {
        (None, _) if base_has_host => {
            let mut out = vec![SLASH.to_vec()];
            out.extend_from_slice(rel);
            return out;
        }
        (Some(last), _) if is_slash(last) => base,
        (Some(_), Some(before)) if is_slash(before) => &base[..n - 1],
        _ => &[],
    };
    let mut out = kept.to_vec();
    out.extend_from_slice(rel);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Path {
        path_of_encoded(s.as_bytes())
    }

    fn show(path: &[Vec<u8>]) -> String {
        encoded_of_path(path, &Component::Path)
    }

    #[test]
    fn tokens_keep_each_separator() {
        let tokens: Vec<&[u8]> = vec![b"/", b"/", b"a", b"/", b"/"];
        assert_eq!(p("//a//"), tokens);
        assert!(p("").is_empty());
        // A decoded `%2F` alone is a separator from then on.
        assert_eq!(show(&p("a/%2F/b")), "a///b");
        assert_eq!(show(&p("foo%2fbar")), "foo%2Fbar");
    }

    #[test]
    fn dot_segments_follow_ocaml_uri() {
        for (input, want) in [
            ("/a/b/c/./../../g", "/a/g"),
            ("mid/content=5/../6", "mid/6"),
            ("../a", "../a"),
            ("a/..", ""),
            ("..", "../"),
            ("/..", "/"),
            ("/foo/bar//..", "/foo/bar/"),
            ("/foo/bar///..", "/foo/bar//"),
            ("../a/..", "../"),
            ("./g/.", "g/"),
        ] {
            assert_eq!(show(&remove_dot_segments(&p(input))), want, "{input}");
        }
    }

    #[test]
    fn merge_keeps_base_up_to_its_last_slash() {
        assert_eq!(show(&merge(true, &p("/b/c/d;p"), &p("g"))), "/b/c/g");
        assert_eq!(show(&merge(true, &[], &p("g"))), "/g");
        assert_eq!(show(&merge(false, &[], &p("g"))), "g");
        assert_eq!(show(&merge(false, &p("b"), &p("a"))), "a");
        assert_eq!(show(&merge(false, &p("b/"), &p("a"))), "b/a");
    }
}
