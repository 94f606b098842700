//! CoHTTP's `Path`: a request's path as a key that cannot climb above its
//! root, for looking something up by path (a file, a key in a store).
//!
//! [`normalise`] is CoHTTP's own and answers as it does, NUL and backslash
//! included: it makes a key, not a file name. To serve files use
//! `resolve_local_file` (feature `hyper`), which refuses what a file
//! system could misread (a NUL, a backslash, a `..` above the root).

use crate::uri::{self, Uri};

/// CoHTTP's `Path.normalise uri`: the path of `uri` percent-decoded once,
/// split on `/`, with empty and `.` segments dropped and each `..` taking
/// the previous segment away (a `..` at the top is dropped), joined by `/`
/// without a leading or trailing one. It never climbs above its root:
/// `/../../etc/passwd` is `etc/passwd`, and so is `/..%2f..%2fetc/passwd`
/// (the decoded `/` separates segments).
///
/// As in CoHTTP, a decoded NUL or control byte is kept (`/sol%001.html` is
/// `sol\0` `1.html`, not `sol1.html`), and a backslash is an ordinary byte,
/// not a separator (`/..%5c..%5cwindows` is `..\..\windows`). Decoded bytes
/// that are not UTF-8 become U+FFFD; [`normalise_bytes`] keeps them.
///
/// ```
/// use paf_compat::{path, Uri};
///
/// assert_eq!(path::normalise(&Uri::of_string("/foo/./bar/")), "foo/bar");
/// assert_eq!(path::normalise(&Uri::of_string("http://host/../../etc/passwd")), "etc/passwd");
/// assert_eq!(path::normalise(&Uri::of_string("/private%5csecret.txt")), "private\\secret.txt");
/// ```
pub fn normalise(uri: &Uri) -> String {
    String::from_utf8_lossy(&normalise_bytes(uri)).into_owned()
}

/// [`normalise`], as the bytes OCaml's string holds.
pub fn normalise_bytes(uri: &Uri) -> Vec<u8> {
    let decoded = uri::pct_decode_bytes(&uri.path());
    let mut kept: Vec<&[u8]> = Vec::new();
    for segment in decoded.split(|&b| b == b'/') {
        match segment {
            b"" | b"." => {}
            b".." => {
                kept.pop();
            }
            segment => kept.push(segment),
        }
    }
    kept.join(&b'/')
}

/// CoHTTP's `Path.resolve_local_file ~docroot ~uri` (the same function as
/// `Server.resolve_local_file`): see
/// [`server::resolve_local_file`](crate::server::resolve_local_file), which
/// refuses a path that would leave the root where CoHTTP drops its `..`.
#[cfg(feature = "hyper")]
pub use crate::server::resolve_local_file;
