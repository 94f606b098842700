//! Files: CoHTTP's `resolve_local_file` and `respond_file ~fname`, and
//! [`respond_file_under`], which does both for a request's path and never
//! reads outside the root.
//!
//! CoHTTP's idiom ports line for line: `resolve_local_file ~docroot ~uri`
//! gives the file name (its `..` segments resolved inside the root), then
//! `respond_file ~fname` serves it. A `..` that would climb above the root
//! (also percent-encoded, `%2e%2e`), or a NUL or a backslash in the path,
//! gives no file name here (CoHTTP drops such a `..` and keeps the NUL).
//! [`respond_file_under`] also refuses a symbolic link that leads outside
//! the root (the canonical path must lie under the canonical root). A
//! refusal is the same `404` as a file that does not exist, so that nothing
//! tells what exists outside the root.

use std::{
    io,
    path::{Path, PathBuf},
};

use bytes::{Bytes, BytesMut};
use futures_util::{stream, Stream};
use percent_encoding::percent_decode_str;
use tokio::fs::{File, OpenOptions};
use tokio::io::AsyncReadExt;

use super::{respond_error, respond_not_found};
use crate::code::Status;
use crate::transfer::Encoding;
use crate::{Body, Header, Response};

/// Bytes read from the file at a time (CoHTTP reads 16 KiB too).
const CHUNK: usize = 16 * 1024;

/// CoHTTP's `Server.resolve_local_file ~docroot ~uri`: the file of
/// `docroot` that a request for `uri` names, or `None` when the path would
/// leave the root. `uri` is a resource (`/a/b.html?q`) or an absolute URI;
/// its path is percent-decoded and split on `/`, empty and `.` segments are
/// skipped, a `..` goes up one segment as CoHTTP resolves it, and a `..`
/// above the root, a segment holding a NUL or a backslash, or a path that
/// is not UTF-8 once decoded, gives `None`. This is lexical:
/// [`respond_file_under`] also checks where symbolic links lead.
///
/// ```
/// use std::path::Path;
/// use paf_compat::server::resolve_local_file;
///
/// let root = Path::new("/srv/www");
/// assert_eq!(resolve_local_file(root, "/a/./b.html?x=1"), Some(root.join("a/b.html")));
/// assert_eq!(resolve_local_file(root, "/a/../b.html"), Some(root.join("b.html")));
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
    let mut depth = 0usize;
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." if depth == 0 => return None,
            ".." => {
                file.pop();
                depth -= 1;
            }
            s if s.contains(['\0', '\\']) || (cfg!(windows) && s.contains(':')) => return None,
            // A single segment without a separator: `push` cannot replace
            // the root with it.
            s => {
                file.push(s);
                depth += 1;
            }
        }
    }
    Some(file)
}

/// CoHTTP's `Server.respond_file ?headers ~fname ()`: `200` with the file
/// `fname` streamed from disk in chunks, a `Content-Length`, and a
/// `content-type` from its extension ([`mime_type`]) unless `headers` has
/// one. As in CoHTTP the name is trusted (get it from
/// [`resolve_local_file`], or use [`respond_file_under`] for a request's
/// path, which also keeps symbolic links inside the root).
///
/// A file that does not exist, a name the file system refuses (too long, a
/// link loop) and anything but a regular file (a directory, a FIFO, a
/// socket, a device) get [`respond_not_found`] (`404`), as CoHTTP answers a
/// missing file; none of these is logged, and none is opened, so that a
/// FIFO cannot hold a thread waiting for a writer. Any other failure (no
/// permission to read) gets `500`, which is what CoHTTP's server answers
/// when `respond_file` raises, and a warning in the log.
pub async fn respond_file(fname: impl AsRef<Path>, headers: Option<Header>) -> (Response, Body) {
    let fname = fname.as_ref();
    serve(fname, open_regular(fname).await, headers)
}

/// [`resolve_local_file`] then [`respond_file`], for the file of `docroot`
/// that a request for `uri` names, never reading outside the root: a path
/// that leaves it (by `..`, `%2e%2e` or a symbolic link) gets `404` like a
/// missing file.
pub async fn respond_file_under(
    docroot: impl AsRef<Path>,
    uri: &str,
    headers: Option<Header>,
) -> (Response, Body) {
    let docroot = docroot.as_ref();
    let Some(wanted) = resolve_local_file(docroot, uri) else {
        return respond_not_found(None);
    };
    serve(&wanted, open_under(docroot, &wanted).await, headers)
}

/// The answer for a file that was opened, or not.
fn serve(
    path: &Path,
    opened: io::Result<Option<(File, u64)>>,
    headers: Option<Header>,
) -> (Response, Body) {
    let (file, len) = match opened {
        Ok(Some(opened)) => opened,
        Ok(None) => return respond_not_found(None),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot serve a file");
            return respond_error(None, "Internal Server Error", None);
        }
    };
    let headers = Header::add_opt_unless_exists(headers, "content-type", mime_type(path));
    let response = Response::builder()
        .status(Status::Ok)
        .encoding(Encoding::Fixed(len))
        .headers(headers)
        .build();
    let body = paf_core::Body::from_stream_sized(chunks(file), len);
    (response, Body::of_stream(body))
}

/// Opens `wanted` when it is a regular file whose real path lies under the
/// real `docroot`; `None` when it is not such a file or names none at all
/// ([`names_no_file`]).
async fn open_under(docroot: &Path, wanted: &Path) -> io::Result<Option<(File, u64)>> {
    let root = tokio::fs::canonicalize(docroot).await?;
    let real = match tokio::fs::canonicalize(wanted).await {
        Ok(real) => real,
        Err(e) if names_no_file(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    if !real.starts_with(&root) {
        return Ok(None);
    }
    open_regular(&real).await
}

/// Opens `path` when it is a regular file: opening a FIFO waits for a
/// writer (holding a blocking-pool thread per request, for ever), a device
/// may act on being opened, a socket cannot be opened at all. `None` when it
/// is not one, or names no file.
async fn open_regular(path: &Path) -> io::Result<Option<(File, u64)>> {
    match tokio::fs::metadata(path).await {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => return Ok(None),
        Err(e) if names_no_file(&e) => return Ok(None),
        Err(e) => return Err(e),
    }
    // A FIFO swapped in for the file since: the open does not wait (it is
    // non-blocking, which changes nothing for a regular file) and the type
    // of what was opened is checked again.
    let file = match read_only_non_blocking().open(path).await {
        Ok(file) => file,
        Err(e) if names_no_file(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata().await?;
    Ok(meta.is_file().then_some((file, meta.len())))
}

fn read_only_non_blocking() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    options.custom_flags(os::O_NONBLOCK);
    options
}

/// An error that says the name leads to no file: nothing by that name, a
/// component that is not a directory, a name longer than the file system
/// takes, or links that go round in a loop. The client chose the name, so
/// this is a `404`, not a failure to log at every request.
fn names_no_file(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    ) || e
        .raw_os_error()
        .is_some_and(|code| os::NAME_ERRORS.contains(&code))
}

/// The C library's values that the standard library does not name, without
/// a dependency on `libc`: `O_NONBLOCK`, and `ENAMETOOLONG` and `ELOOP`
/// (`io::ErrorKind::InvalidFilename` only arrived in Rust 1.87, after this
/// crate's minimum, and the loop has no stable kind). They differ between
/// targets (Linux on MIPS, SPARC, Alpha and PA-RISC has its own), so only targets
/// whose values are known get them; elsewhere a file is opened without
/// `O_NONBLOCK` (its type is still checked just before) and those names get
/// a `500`.
mod os {
    /// Linux's generic values, which most of its architectures share.
    const LINUX: bool = cfg!(all(
        any(target_os = "linux", target_os = "android"),
        any(
            target_arch = "x86",
            target_arch = "x86_64",
            target_arch = "arm",
            target_arch = "aarch64",
            target_arch = "riscv32",
            target_arch = "riscv64",
            target_arch = "powerpc",
            target_arch = "powerpc64",
            target_arch = "s390x",
            target_arch = "loongarch64"
        )
    ));
    /// The BSDs' values, Apple's systems included.
    const BSD: bool = cfg!(any(
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "dragonfly",
        target_os = "netbsd",
        target_os = "openbsd"
    ));

    #[cfg(unix)]
    pub(super) const O_NONBLOCK: i32 = if LINUX {
        0o4000
    } else if BSD {
        0x4
    } else {
        0
    };

    /// `ENAMETOOLONG` and `ELOOP`.
    pub(super) const NAME_ERRORS: &[i32] = if LINUX {
        &[36, 40]
    } else if BSD {
        &[63, 62]
    } else {
        &[]
    };
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

/// The media type for a file name, by its extension (ignoring case), from
/// `mime_guess`'s table (about as many types as CoHTTP's
/// `Magic_mime.lookup` knows); `application/octet-stream` for a name
/// without an extension or with one neither knows, as `Magic_mime.lookup`
/// answers. Where the two tables disagree (about one extension in ten of
/// `Magic_mime`'s: `.js` is `text/javascript` here, `application/javascript`
/// there), the answer is `mime_guess`'s, except for a few extensions that
/// `mime_guess` gives an older name of their type (see `OVERRIDES` in the
/// source).
///
/// ```
/// use std::path::Path;
/// use paf_compat::server::mime_type;
///
/// assert_eq!(mime_type(Path::new("www/index.HTML")), "text/html");
/// assert_eq!(mime_type(Path::new("book.epub")), "application/epub+zip");
/// assert_eq!(mime_type(Path::new("README")), "application/octet-stream");
/// ```
pub fn mime_type(path: &Path) -> &'static str {
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
        return OCTET_STREAM;
    };
    OVERRIDES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(ext))
        .map(|&(_, mime)| mime)
        .or_else(|| mime_guess::from_ext(ext).first_raw())
        .unwrap_or(OCTET_STREAM)
}

/// `Magic_mime.lookup`'s answer for an extension it does not know.
const OCTET_STREAM: &str = "application/octet-stream";

/// Extensions whose type `mime_guess` (2.0) gives by an older name. These
/// keep the type the former built-in table gave, which is also CoHTTP's
/// `Magic_mime`'s for `.xml`, `.woff` and `.otf`; for `.mjs` it is what
/// `mime_guess` gives `.js`. None of these is served by the comparison
/// with CoHTTP (`tests/ocaml_peers.rs`), whose extensions both tables
/// agree on.
const OVERRIDES: &[(&str, &str)] = &[
    // mime_guess: text/xml, which RFC 7303 makes an alias of application/xml.
    ("xml", "application/xml"),
    // mime_guess: application/font-woff and application/font-sfnt, the names
    // before RFC 8081 registered the font/ types.
    ("woff", "font/woff"),
    ("otf", "font/otf"),
    // mime_guess: application/javascript, which RFC 9239 made obsolete (it
    // gives `.js` text/javascript already).
    ("mjs", "text/javascript"),
];

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

    /// The race `open_under` guards against: a FIFO where a regular file
    /// was a moment before. Opening it must not wait for a writer.
    #[test]
    #[cfg(target_os = "linux")]
    fn a_fifo_opens_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let opened = runtime.block_on(async {
            let options = read_only_non_blocking();
            let open = options.open(&fifo);
            let file = tokio::time::timeout(std::time::Duration::from_secs(3), open).await;
            match file {
                Ok(Ok(file)) => Some(file.metadata().await.map(|m| m.is_file())),
                Ok(Err(e)) => Some(Err(e)),
                Err(_) => None,
            }
        });
        // Without waiting for an open that may never end.
        runtime.shutdown_background();
        let is_file = opened.expect("the open waited for a writer");
        assert!(!is_file.expect("a FIFO opens non-blocking"));
    }

    #[test]
    fn mime_types_ignore_case_and_default_to_octet_stream() {
        assert_eq!(mime_type(Path::new("a/INDEX.HTML")), "text/html");
        assert_eq!(mime_type(Path::new("a.tar.gz")), "application/gzip");
        assert_eq!(mime_type(Path::new("noext")), "application/octet-stream");
        assert_eq!(mime_type(Path::new("a.")), "application/octet-stream");
        assert_eq!(mime_type(Path::new(".hidden")), "application/octet-stream");
        assert_eq!(
            mime_type(Path::new("a.no-such-extension")),
            "application/octet-stream"
        );
    }

    /// The extensions of the files the comparison with CoHTTP serves
    /// (`tests/ocaml_peers.rs`), with `Magic_mime.lookup`'s answers.
    #[test]
    fn the_types_cohttp_gives_the_compared_files() {
        for (name, cohttp) in [
            ("hello.txt", "text/plain"),
            ("blob.bin", "application/octet-stream"),
            ("Data.json", "application/json"),
            ("zeta.html", "text/html"),
            ("a.htm", "text/html"),
            ("a.css", "text/css"),
            ("a.png", "image/png"),
            ("a.jpg", "image/jpeg"),
            ("a.svg", "image/svg+xml"),
            ("a.pdf", "application/pdf"),
            ("a.xml", "application/xml"),
            ("a.woff", "font/woff"),
            ("a.WOFF2", "font/woff2"),
            ("a.otf", "font/otf"),
        ] {
            assert_eq!(mime_type(Path::new(name)), cohttp, "{name}");
        }
        assert_eq!(mime_type(Path::new("a.mjs")), mime_type(Path::new("a.js")));
    }

    /// Types the hand-written table of before (35 extensions) did not know.
    #[test]
    fn types_beyond_the_common_web_ones() {
        for (name, mime) in [
            ("book.epub", "application/epub+zip"),
            (
                "letter.DOCX",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            (
                "sheet.ods",
                "application/vnd.oasis.opendocument.spreadsheet",
            ),
            ("doc.odt", "application/vnd.oasis.opendocument.text"),
            ("feed.atom", "application/atom+xml"),
            ("site.webmanifest", "application/manifest+json"),
            ("app.jar", "application/java-archive"),
            ("data.7z", "application/x-7z-compressed"),
        ] {
            assert_eq!(mime_type(Path::new(name)), mime, "{name}");
        }
    }

    /// `respond_file` puts the type in the answer, unless `headers` has one.
    #[test]
    fn respond_file_gives_an_epub_its_type() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let book = dir.path().join("book.epub");
        std::fs::write(&book, b"PK\x03\x04").expect("the file is written");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let (res, _) = runtime.block_on(respond_file(&book, None));
        assert_eq!(res.status(), Status::Ok);
        assert_eq!(
            res.headers().get("content-type"),
            Some("application/epub+zip")
        );
        let given = Header::init_with("content-type", "application/x-book");
        let (res, _) = runtime.block_on(respond_file(&book, Some(given)));
        assert_eq!(
            res.headers().get("content-type"),
            Some("application/x-book")
        );
    }
}
