//! cohttp's curl, `cohttp_curl_lwt` (`cohttp-lwt-unix/bin/` in
//! mirage/ocaml-cohttp), ported to paf-compat: fetch a URI with a method
//! and print the body, to standard output or a file; an answer that is not
//! a success prints its status to standard error and exits with 1.
//!
//! ```text
//! cargo run -p paf-examples --features compat --example cohttp_curl -- [-X METHOD] [-o FILE] [-i] URI
//! ```
//!
//! `-i` is not upstream's: as curl's, it prints the status line and the
//! headers before the body, and the body of a failure too (the exit
//! status is still 1). paf-compat's tests compare this program's output
//! with the OCaml's (`paf-compat/tests/ocaml/cohttp_curl_lwt.ml`, which
//! has the same `-i`) against the same servers.

use std::io::Write;

use paf_compat::code::{self, Status};
use paf_compat::{body, Client};

/// `let client uri ofile meth' = ...`: writes to `out` and answers the
/// status; the caller prints it and exits when it is not a success (the
/// OCaml does that here, with `exit 1`).
pub(crate) async fn client(
    uri: &str,
    meth_: &str,
    include_head: bool,
    out: &mut impl Write,
) -> Result<Status, Box<dyn std::error::Error>> {
    // let meth = Cohttp.Code.method_of_string meth' in
    let meth = code::method_of_string(meth_);
    // Client.call meth uri >>= fun (resp, body) ->
    let (resp, body) = Client::new().call(meth, uri).await?;
    let status = resp.status();
    if include_head {
        let version = code::string_of_version(resp.version());
        write!(out, "{version} {}\r\n", code::string_of_status(&status))?;
        write!(out, "{}\r\n", resp.headers().to_lines().concat())?;
    }
    // (* TODO follow redirects *)
    if !code::is_success(code::code_of_status(&status)) {
        if include_head {
            out.write_all(&body.to_bytes_with_limit(body::DEFAULT_LIMIT).await?)?;
        }
        return Ok(status);
    }
    // Cohttp_lwt.Body.length body >>= fun (len, body) ->
    let (_len, body) = body.length(body::DEFAULT_LIMIT).await?;
    // Cohttp_lwt.Body.to_string body >>= fun _s -> ... output_body: bytes,
    // as OCaml strings are (a file need not be UTF-8).
    out.write_all(&body.to_bytes_with_limit(body::DEFAULT_LIMIT).await?)?;
    out.flush()?;
    Ok(status)
}

/// `let run_client level ofile uri meth = ...` and its Cmdliner terms:
/// `-X`/`--request METHOD` (GET), `-o FILE`, `-i`/`--include`, `URI`.
#[allow(dead_code)] // paf-compat's tests include this file and call `client`.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut meth, mut ofile, mut include_head, mut uri) = ("GET".to_owned(), None, false, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-X" | "--request" => meth = args.next().ok_or("-X needs a method")?,
            "-o" => ofile = Some(args.next().ok_or("-o needs a file")?),
            "-i" | "--include" => include_head = true,
            _ if !arg.starts_with('-') => uri = Some(arg),
            _ => return Err(format!("unknown option {arg}").into()),
        }
    }
    let uri = uri.ok_or("usage: cohttp_curl [-X METHOD] [-o FILE] [-i] URI")?;
    let status = match ofile {
        None => client(&uri, &meth, include_head, &mut std::io::stdout().lock()).await?,
        Some(fname) => {
            client(
                &uri,
                &meth,
                include_head,
                &mut std::fs::File::create(fname)?,
            )
            .await?
        }
    };
    if !code::is_success(code::code_of_status(&status)) {
        // prerr_endline (Code.string_of_status status); exit 1
        eprintln!("{}", code::string_of_status(&status));
        std::process::exit(1);
    }
    Ok(())
}
