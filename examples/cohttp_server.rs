//! cohttp's own file server, `cohttp_server_lwt` (`cohttp-lwt-unix/bin/`
//! in mirage/ocaml-cohttp, with the helpers of its `Cohttp_server`
//! module), ported to paf-compat function by function. It serves a
//! directory: files with their MIME type and length, an HTML listing for
//! a directory (or its `index.html`), a redirect to `dir/` for `dir`,
//! `HEAD` as `GET` without the body, `404` and `405` pages.
//!
//! ```text
//! cargo run -p paf-examples --features compat --example cohttp_server -- [DOCROOT] [-p PORT] [-s HOST] [-i INDEX] [--tls CERT,KEY]
//! ```
//!
//! Each function carries the OCaml it ports. paf-compat's own tests run
//! this file against the OCaml original and compare what a client gets
//! (`paf-compat/tests/ocaml_peers.rs`, which includes it as a module).
//!
//! Where it differs from the OCaml:
//! - a path whose `..` would leave the root is `404` (paf-compat's
//!   `resolve_local_file` gives no file for it; CoHTTP drops the `..`);
//! - the logging (`Logs`, the `conn_closed` callback that only logs) is
//!   left out: paf logs through `tracing`;
//! - the command line is read by hand (the OCaml uses Cmdliner).

use std::cmp::Ordering;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use paf_compat::code::{self, Method, Status};
use paf_compat::server::{self, Conn, Create, Mode, Server};
use paf_compat::uri::{pct_decode, pct_encode};
use paf_compat::{Body, Header, Request, Response, Uri};

// ------------------------------------------------------- Cohttp_server ---

/// `let ( / ) = Filename.concat`
fn concat(dir: &str, file: &str) -> String {
    if dir.is_empty() || dir.ends_with('/') {
        format!("{dir}{file}")
    } else {
        format!("{dir}/{file}")
    }
}

/// `` [ `Directory | `File | `Socket | `Block | `Fifo | `Char | `Link ] ``
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Directory,
    File,
    Socket,
    Block,
    Fifo,
    Char,
    Link,
}

/// One entry of a listing: its kind (`None` when `stat` failed), its size
/// and its name.
type Entry = (Option<Kind>, u64, String);

/// `let compare_kind = function ...`
fn compare_kind(ka: Option<Kind>, kb: Option<Kind>) -> Ordering {
    match (ka, kb) {
        (Some(Kind::Directory), Some(Kind::Directory)) => Ordering::Equal,
        (Some(Kind::Directory), _) => Ordering::Less,
        (_, Some(Kind::Directory)) => Ordering::Greater,
        (Some(Kind::File), Some(Kind::File)) => Ordering::Equal,
        (Some(Kind::File), _) => Ordering::Greater,
        (_, Some(Kind::File)) => Ordering::Less,
        (_, _) => Ordering::Equal,
    }
}

/// `let sort lst = List.sort (fun (ka, _sa, a) (kb, _sb, b) -> ...) lst`
/// (`List.sort` is stable, as `sort_by` is).
fn sort(mut lst: Vec<Entry>) -> Vec<Entry> {
    lst.sort_by(|(ka, _sa, a), (kb, _sb, b)| {
        compare_kind(*ka, *kb).then_with(|| a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase()))
    });
    lst
}

/// `let li ?title l = ... sprintf "<li><a %shref=\"%s\">%s</a></li>" title (Uri.to_string l)`
fn li(title: Option<&str>, l: &Uri, text: &str) -> String {
    let title = match title {
        None => String::new(),
        Some(s) => format!("title=\"{s}\" "),
    };
    format!("<li><a {title}href=\"{l}\">{text}</a></li>")
}

/// `let kind_of_unix_kind = Unix.(function S_DIR -> `Directory | ...)`
fn kind_of_unix_kind(kind: std::fs::FileType) -> Kind {
    if kind.is_dir() {
        Kind::Directory
    } else if kind.is_file() {
        Kind::File
    } else if kind.is_socket() {
        Kind::Socket
    } else if kind.is_block_device() {
        Kind::Block
    } else if kind.is_fifo() {
        Kind::Fifo
    } else if kind.is_char_device() {
        Kind::Char
    } else {
        Kind::Link
    }
}

/// `let human_size_of_size size = ...`
fn human_size_of_size(size: u64) -> String {
    let size = size as f64;
    let kibi = size / 1024.;
    if kibi < 1. {
        format!("{size:.0}B")
    } else {
        let mibi = kibi / 1024.;
        if mibi < 1. {
            format!("{kibi:.1}KiB")
        } else {
            let gibi = mibi / 1024.;
            if gibi < 1. {
                format!("{mibi:.1}MiB")
            } else {
                format!("{gibi:.1}GiB")
            }
        }
    }
}

/// `let html_of_listing uri path listing info = ...`
fn html_of_listing(uri: &Uri, path: &str, listing: Vec<Entry>, info: &str) -> String {
    let html: Vec<String> = sort(listing)
        .into_iter()
        .map(|(kind, size, f)| {
            let encoded_f = pct_encode(&f);
            match kind {
                Some(Kind::Directory) => {
                    let link = uri.with_path(&concat(&concat(path, &encoded_f), ""));
                    li(None, &link, &format!("<i>{f}/</i>"))
                }
                Some(Kind::File) => {
                    let link = uri.with_path(&concat(path, &encoded_f));
                    li(Some(&human_size_of_size(size)), &link, &f)
                }
                Some(_) => format!("<li><s>{f}</s></li>"),
                None => format!("<li>Error with file: {f}</li>"),
            }
        })
        .collect();
    let contents = html.join("\n");
    format!(
        "<html><body><h2>Directory Listing for <em>{}</em></h2><ul>{contents}</ul><hr />{info}</body></html>",
        pct_decode(path)
    )
}

/// `let html_of_forbidden_unnormal path info = ...` (upstream's text,
/// missing space included)
fn html_of_forbidden_unnormal(path: &str, info: &str) -> String {
    format!(
        "<html><body><h2>Forbidden</h2><p><b>{path}</b>is not a normal file or directory</p><hr/>{info}</body></html>"
    )
}

/// `let html_of_not_found path info = ...`
fn html_of_not_found(path: &str, info: &str) -> String {
    format!(
        "<html><body><h2>Not Found</h2><p><b>{path}</b>was not found on this server</p><hr />{info}</body></html>"
    )
}

/// `let html_of_method_not_allowed meth allowed path info = ...`
fn html_of_method_not_allowed(meth: &str, allowed: &str, path: &str, info: &str) -> String {
    format!(
        "<html><body><h2>Method Not Allowed</h2><p><b>{meth}</b>is not an allowed method on <b>{path}</b></p><p>Allowed methods on <b>{path}</b> are <b>{allowed}</b></p><hr />{info}</body></html>"
    )
}

// --------------------------------------------------- cohttp_server_lwt ---

/// `` let method_filter meth (res, body) = match meth with `HEAD -> (res, `Empty) | _ -> (res, body) ``
/// (paf-compat keeps the `Content-Length` of a `HEAD` answer, as CoHTTP does).
fn method_filter(meth: &Method, (res, body): (Response, Body)) -> (Response, Body) {
    match meth {
        Method::Head => (res, Body::empty()),
        _ => (res, body),
    }
}

/// `let serve_file ~docroot ~uri = let fname = Cohttp.Path.resolve_local_file ~docroot ~uri in Server.respond_file ~fname ()`
async fn serve_file(docroot: &Path, uri: &Uri) -> (Response, Body) {
    match server::resolve_local_file(docroot, &uri.path()) {
        Some(fname) => server::respond_file(fname, None).await,
        // A path that would leave the root.
        None => server::respond_not_found(None),
    }
}

/// `let ls_dir dir = Lwt_stream.to_list (Lwt_stream.filter ((<>) ".") (Lwt_unix.files_of_directory dir))`:
/// `files_of_directory` lists `.` and `..`, and only `.` is filtered out,
/// so `..` stays; `read_dir` lists neither.
async fn ls_dir(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names = vec!["..".to_owned()];
    let mut entries = tokio::fs::read_dir(dir).await?;
    while let Some(entry) = entries.next_entry().await? {
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    Ok(names)
}

/// `let serve ~info ~docroot ~index uri path = ...`: an `Err` is the
/// exception the OCaml re-raises, which CoHTTP (and paf-compat) answer
/// with `500`.
async fn serve(
    info: &str,
    docroot: &Path,
    index: &str,
    uri: &Uri,
    path: &str,
) -> std::io::Result<(Response, Body)> {
    let not_found =
        || server::respond_string(Status::NotFound, html_of_not_found(path, info), None);
    // let file_name = Cohttp.Path.resolve_local_file ~docroot ~uri in
    let Some(file_name) = server::resolve_local_file(docroot, path) else {
        return Ok(not_found());
    };
    // Lwt_unix.stat file_name >>= fun stat ->
    let stat = match tokio::fs::metadata(&file_name).await {
        Ok(stat) => stat,
        // | Unix.Unix_error (Unix.ENOENT, "stat", p) -> ... `Not_found
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(not_found()),
        Err(e) => return Err(e),
    };
    match kind_of_unix_kind(stat.file_type()) {
        Kind::Directory => {
            if !path.is_empty() && !path.ends_with('/') {
                // Server.respond_redirect ~uri:(Uri.with_path uri (path ^ "/")) ()
                let uri = uri.with_path(&format!("{path}/"));
                return Ok(server::respond_redirect(&uri.to_string(), None));
            }
            // match Sys.file_exists (file_name / index) with
            if file_name.join(index).exists() {
                let uri = uri.with_path(&concat(path, index));
                return Ok(serve_file(docroot, &uri).await);
            }
            // ls_dir file_name >>= Lwt_list.map_s (fun f -> ... LargeFile.stat ...)
            let mut listing = Vec::new();
            for f in ls_dir(&file_name).await? {
                let entry = match tokio::fs::metadata(file_name.join(&f)).await {
                    Ok(stat) => (Some(kind_of_unix_kind(stat.file_type())), stat.len(), f),
                    Err(_exn) => (None, 0, f),
                };
                listing.push(entry);
            }
            let body = html_of_listing(uri, path, sort(listing), info);
            Ok(server::respond_string(Status::Ok, body, None))
        }
        Kind::File => Ok(serve_file(docroot, uri).await),
        _ => Ok(server::respond_string(
            Status::Forbidden,
            html_of_forbidden_unnormal(path, info),
            None,
        )),
    }
}

/// `let handler ~info ~docroot ~index (ch, _conn) req _body = ...`
async fn handler(
    info: &str,
    docroot: &Path,
    index: &str,
    _conn: Conn,
    req: Request,
    _body: Body,
) -> std::io::Result<(Response, Body)> {
    let uri = req.uri();
    let path = uri.path();
    match req.meth() {
        meth @ (Method::Get | Method::Head) => Ok(method_filter(
            meth,
            serve(info, docroot, index, &uri, &path).await?,
        )),
        meth => {
            let meth = code::string_of_method(meth);
            let allowed = ["GET", "HEAD"];
            let headers = Header::init().add_multi("allow", allowed);
            let body = html_of_method_not_allowed(meth, &allowed.join(","), &path, info);
            Ok(server::respond_string(
                Status::MethodNotAllowed,
                body,
                Some(headers),
            ))
        }
    }
}

/// `let start_server docroot port host index tls () = ...`: the server,
/// to be awaited (`Server.create ~ctx ~mode config`). Add a `.stop(future)`
/// to stop it, as CoHTTP's `?stop`.
pub(crate) fn start_server(
    docroot: PathBuf,
    port: u16,
    host: &str,
    index: String,
    tls: Option<(PathBuf, PathBuf)>,
) -> Result<Create, Box<dyn std::error::Error>> {
    let info: Arc<str> = format!("Served by Cohttp/Lwt listening on {host}:{port}").into();
    let docroot: Arc<Path> = docroot.into();
    let index: Arc<str> = index.into();
    // let callback = handler ~info ~docroot ~index in
    let callback = move |conn: Conn, req: Request, body: Body| {
        let (info, docroot, index) = (info.clone(), docroot.clone(), index.clone());
        async move { handler(&info, &docroot, &index, conn, req, body).await }
    };
    let config = Server::make(callback);
    // Conduit_lwt_unix.init ~src:host: listen on that address.
    let addr = SocketAddr::new(host.parse::<IpAddr>()?, port);
    let mode = match tls {
        Some((c, k)) => {
            let config = paf_compat::paf_core::tls::server_config_from_pem(
                &std::fs::read(c)?,
                &std::fs::read(k)?,
            )?;
            Mode::Tls(addr, Arc::new(config))
        }
        None => Mode::Tcp(addr),
    };
    Ok(Server::create(mode, config))
}

/// The command line, as the OCaml's Cmdliner terms: `DOCROOT` (default
/// `.`), `-p PORT` (8080), `-s HOST` (`::`), `-i INDEX` (`index.html`),
/// `--tls CERT,KEY`.
#[allow(dead_code)] // paf-compat's tests include this file and start the server themselves.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut docroot, mut port, mut host, mut index, mut tls) = (
        PathBuf::from("."),
        8080,
        "::".to_owned(),
        "index.html".to_owned(),
        None,
    );
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "-p" => port = value()?.parse()?,
            "-s" => host = value()?,
            "-i" => index = value()?,
            "--tls" => {
                let pair = value()?;
                let (c, k) = pair.split_once(',').ok_or("--tls takes CERT,KEY")?;
                tls = Some((c.into(), k.into()));
            }
            _ if !arg.starts_with('-') => docroot = arg.into(),
            _ => return Err(format!("unknown option {arg}").into()),
        }
    }
    println!("Listening for HTTP request on: {host} {port}");
    start_server(docroot, port, &host, index, tls)?.await?;
    Ok(())
}
