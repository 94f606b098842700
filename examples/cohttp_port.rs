//! A straight port of the usual first cohttp-lwt-unix program: a server
//! that answers with the details of the request it got, and a client that
//! fetches from it and prints the status, the headers and the body. It
//! listens on a free port of 127.0.0.1 and exits once the client is done.
//!
//! ```text
//! cargo run -p paf-examples --features compat --example cohttp_port
//! ```
//!
//! The OCaml it ports, function for function:
//!
//! ```text
//! let callback _conn req body =
//!   let uri = Request.uri req |> Uri.to_string in
//!   let meth = Request.meth req |> Code.string_of_method in
//!   let headers = Request.headers req |> Header.to_string in
//!   Cohttp_lwt.Body.to_string body >>= fun body ->
//!   Server.respond_string ~status:`OK
//!     ~body:(Printf.sprintf "Uri: %s\nMethod: %s\nHeaders: %s\nBody: %s" uri meth headers body) ()
//!
//! let client uri =
//!   Client.post ~headers:(Header.init_with "x-ported-from" "ocaml")
//!     ~body:(Cohttp_lwt.Body.of_string "ping") uri >>= fun (resp, body) ->
//!   Printf.printf "Response code: %d\n" (Response.status resp |> Code.code_of_status);
//!   Printf.printf "Headers: %s\n" (Response.headers resp |> Header.to_string);
//!   Cohttp_lwt.Body.to_string body >|= fun body ->
//!   Printf.printf "Body of length: %d\n%s\n" (String.length body) body
//! ```

use std::time::Duration;

use paf_compat::code::{self, Status};
use paf_compat::server::{self, Conn, Server};
use paf_compat::{Body, Client, Header, Request, Response};

/// CoHTTP's `callback _conn req body`.
async fn callback(_conn: Conn, req: Request, body: Body) -> (Response, Body) {
    let uri = req.uri().to_string();
    let meth = code::string_of_method(req.meth()).to_owned();
    let headers = req.headers().to_string();
    let body = match body.to_string().await {
        Ok(body) => body,
        Err(e) => return server::respond_error(Some(Status::BadRequest), &e.to_string(), None),
    };
    let text = format!("Uri: {uri}\nMethod: {meth}\nHeaders: {headers}\nBody: {body}");
    server::respond_string(Status::Ok, text, None)
}

/// CoHTTP's client half: one `POST`, everything printed.
async fn client(uri: &str) -> Result<(), paf_compat::Error> {
    let (resp, body) = Client::new()
        .post(uri)
        .headers(Header::init_with("x-ported-from", "ocaml"))
        .body("ping")
        .await?;
    println!("Response code: {}", code::code_of_status(&resp.status()));
    // `Display` is CoHTTP's `Header.to_string`: one line per field.
    print!("Headers: {}", resp.headers());
    let body = body.to_string().await?;
    println!("Body of length: {}\n{body}", body.len());
    Ok(())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // CoHTTP's Server.create ~mode:(`TCP (`Port 0)) (Server.make ~callback ()).
    let running = Server::make(callback)
        .bind_tcp(([127, 0, 0, 1], 0).into())
        .await?;
    let base = running.url().ok_or("a TCP server has a URL")?;
    println!("serving on {base}\n");

    client(&format!("{base}/hello?from=rust")).await?;

    // CoHTTP's `?stop`: no new connections, a second for those in flight.
    running.stop(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    paf_examples::exit(run().await)
}
