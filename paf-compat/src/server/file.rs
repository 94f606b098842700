//! Files served from a root directory: CoHTTP's `respond_file` and
//! `resolve_local_file`, made safe to call with a request's path.
//!
//! CoHTTP's `respond_file ~fname` trusts `fname`, and its
//! `resolve_local_file` merely drops the `..` that would climb above the
//! root. Here the root is an argument and nothing outside it is ever read:
//! a `..` segment (also percent-encoded, `%2e%2e`), a NUL or a backslash in
//! the path is refused before the file system is asked, and a symbolic link
//! that leads outside is refused once the path is resolved (the canonical
//! path must lie under the canonical root). A refusal is the same `404` as
//! a file that does not exist, so that nothing tells what exists outside
//! the root.

use std::{
    io,
    path::{Path, PathBuf},
};

use bytes::{Bytes, BytesMut};
use futures_util::{stream, Stream};
use percent_encoding::percent_decode_str;
use tokio::{fs::File, io::AsyncReadExt};

use super::{respond_error, respond_not_found};
use crate::code::Status;
use crate::transfer::Encoding;
use crate::{Body, Header, Response};

/// Bytes read from the file at a time (CoHTTP reads 16 KiB too).
const CHUNK: usize = 16 * 1024;

/// The file of `docroot` that a request for `uri` names, or `None` when the
/// path would leave the root. `uri` is a resource (`/a/b.html?q`) or an
/// absolute URI; its path is percent-decoded and split on `/`, empty and
/// `.` segments are skipped, and a `..` segment, or one holding a NUL or a
/// backslash, or a path that is not UTF-8 once decoded, gives `None`. This
/// is lexical: [`respond_file`] also checks where symbolic links lead.
///
/// ```
/// use std::path::Path;
/// use paf_compat::server::resolve_local_file;
///
/// let root = Path::new("/srv/www");
/// assert_eq!(resolve_local_file(root, "/a/./b.html?x=1"), Some(root.join("a/b.html")));
/// assert_eq!(resolve_local_file(root, "//etc/passwd"), Some(root.join("etc/passwd")));
/// assert_eq!(resolve_local_file(root, "/a/%2e%2e/%2e%2e/etc/passwd"), None);
/// ```
pub fn resolve_local_file(docroot: impl AsRef<Path>, uri: &str) -> Option<PathBuf> {
    let path = if uri.contains("://") {
        uri.parse::<http::Uri>().ok()?.path().to_owned()
    } else {
        uri.split(['?', '#']).next().unwrap_or_default().to_owned()
    };
    let decoded = percent_decode_str(&path).decode_utf8().ok()?;
    let mut file = docroot.as_ref().to_path_buf();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => return None,
            s if s.contains(['\0', '\\']) || (cfg!(windows) && s.contains(':')) => return None,
            // A single segment without a separator: `push` cannot replace
            // the root with it.
            s => file.push(s),
        }
    }
    Some(file)
}

/// CoHTTP's `Server.respond_file ?headers ~fname ()`, for the file of
/// `docroot` that `uri` names (see [`resolve_local_file`]): `200` with the
/// file streamed from disk in chunks, a `Content-Length`, and a
/// `content-type` from the file's extension ([`mime_type`]) unless
/// `headers` has one.
///
/// A path outside the root (by `..`, `%2e%2e` or a symbolic link), a file
/// that does not exist and anything but a regular file (a directory) get
/// [`respond_not_found`] (`404`), as CoHTTP answers a missing file. Any
/// other failure (no permission to read) gets `500`, which is what CoHTTP's
/// server answers when `respond_file` raises.
pub async fn respond_file(
    docroot: impl AsRef<Path>,
    uri: &str,
    headers: Option<Header>,
) -> (Response, Body) {
    let docroot = docroot.as_ref();
    let Some(wanted) = resolve_local_file(docroot, uri) else {
        return respond_not_found(None);
    };
    let (file, len) = match open_under(docroot, &wanted).await {
        Ok(Some(opened)) => opened,
        Ok(None) => return respond_not_found(None),
        Err(e) => {
            tracing::warn!(path = %wanted.display(), error = %e, "cannot serve a file");
            return respond_error(None, "Internal Server Error", None);
        }
    };
    let headers = Header::add_opt_unless_exists(headers, "content-type", mime_type(&wanted));
    let response = Response::builder()
        .status(Status::Ok)
        .encoding(Encoding::Fixed(len))
        .headers(headers)
        .build();
    let body = paf_core::Body::from_stream_sized(chunks(file), len);
    (response, Body::of_stream(body))
}

/// Opens `wanted` when it is a regular file whose real path lies under the
/// real `docroot`; `None` when it does not exist or is not such a file.
async fn open_under(docroot: &Path, wanted: &Path) -> io::Result<Option<(File, u64)>> {
    let root = tokio::fs::canonicalize(docroot).await?;
    let real = match tokio::fs::canonicalize(wanted).await {
        Ok(real) => real,
        Err(e) if is_missing(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    if !real.starts_with(&root) {
        return Ok(None);
    }
    // The canonical path, checked above: a link swapped in since would
    // take write access to the served tree.
    let file = match File::open(&real).await {
        Ok(file) => file,
        Err(e) if is_missing(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata().await?;
    Ok(meta.is_file().then_some((file, meta.len())))
}

fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// The file's bytes as they are read, [`CHUNK`] at a time.
fn chunks(file: File) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = BytesMut::with_capacity(CHUNK);
        match file.read_buf(&mut buf).await {
            Ok(0) => None,
            Ok(_) => Some((Ok(buf.freeze()), Some(file))),
            Err(e) => Some((Err(e), None)),
        }
    })
}

/// The media type for a file name, by its extension (ignoring case), from a
/// small built-in table of the types a web server commonly serves;
/// `application/octet-stream` otherwise, as CoHTTP's `Magic_mime.lookup`.
pub fn mime_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "js" | "mjs" => "text/javascript",
        "json" => "application/json",
        "map" => "application/json",
        "txt" | "text" | "log" => "text/plain",
        "md" | "markdown" => "text/markdown",
        "csv" => "text/csv",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/vnd.microsoft.icon",
        "bmp" => "image/bmp",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "pdf" => "application/pdf",
        "wasm" => "application/wasm",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_is_refused_before_the_file_system() {
        let root = Path::new("/srv");
        for bad in [
            "/../etc/passwd",
            "/a/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/%2E%2E%2Fetc%2Fpasswd",
            "/a%2f..%2f..%2fetc",
            "/a%00.html",
            "/..%5c..%5cetc",
            "/%ff",
            "http://host/../x",
        ] {
            assert_eq!(resolve_local_file(root, bad), None, "{bad}");
        }
    }

    #[test]
    fn absolute_looking_paths_stay_under_the_root() {
        let root = Path::new("/srv");
        assert_eq!(
            resolve_local_file(root, "/%2Fetc%2Fpasswd"),
            Some(root.join("etc/passwd"))
        );
        assert_eq!(resolve_local_file(root, "/"), Some(root.to_path_buf()));
        assert_eq!(
            resolve_local_file(root, "http://host/x/y.css?z"),
            Some(root.join("x/y.css"))
        );
    }

    #[test]
    fn mime_types_ignore_case_and_default_to_octet_stream() {
        assert_eq!(mime_type(Path::new("a/INDEX.HTML")), "text/html");
        assert_eq!(mime_type(Path::new("a.tar.gz")), "application/gzip");
        assert_eq!(mime_type(Path::new("noext")), "application/octet-stream");
    }
}
