(* The interop request mix, sent by OCaml's CoHTTP (cohttp-lwt-unix).

   Usage: cohttp_client BASE_URL CA_FILE PAYLOAD_FILE OUT_DIR

   All four requests go down one connection with [Client.callv], CoHTTP's
   keep-alive call. Over https:// conduit uses OpenSSL (lwt_ssl) with peer and
   host name verification; CA_FILE is added to its trusted roots. Prints one
   line per request (see interop.rs) and writes each response body to
   OUT_DIR/NAME.body for the test to compare byte for byte. *)

open Lwt.Infix
open Cohttp
open Cohttp_lwt_unix

let read_file path =
  let ic = open_in_bin path in
  let data = really_input_string ic (in_channel_length ic) in
  close_in ic;
  data

let write_file path data =
  let oc = open_out_bin path in
  output_string oc data;
  close_out oc

let () =
  let base, ca_file, payload_file, out_dir =
    match Sys.argv with
    | [| _; base; ca; payload; out |] -> (base, ca, payload, out)
    | _ -> failwith "usage: cohttp_client BASE_URL CA_FILE PAYLOAD_FILE OUT_DIR"
  in
  (* Conduit's OpenSSL client context verifies the peer against the system
     roots; the test's CA joins them. *)
  Ssl.load_verify_locations Conduit_lwt_unix_ssl.Client.default_ctx ca_file "";
  let payload = read_file payload_file in
  let uri path = Uri.of_string (base ^ path) in
  let get path = (Request.make ~meth:`GET (uri path), Cohttp_lwt.Body.empty) in
  let post path body =
    let headers =
      Header.init_with "content-length" (string_of_int (String.length body))
    in
    (Request.make ~meth:`POST ~headers (uri path), Cohttp_lwt.Body.of_string body)
  in
  let requests =
    [
      ("hello", get "/hello");
      ("echo", post "/echo" payload);
      ("blob", get "/blob");
      ("hello-again", get "/hello");
    ]
  in
  let header resp name =
    Option.value ~default:"-" (Header.get (Response.headers resp) name)
  in
  let run =
    Client.callv (uri "/") (Lwt_stream.of_list (List.map snd requests))
    >>= fun responses ->
    Lwt_list.iter_s
      (fun (name, _) ->
        Lwt_stream.get responses >>= function
        | None -> Lwt.fail_with ("no response for " ^ name)
        | Some (resp, body) ->
            Cohttp_lwt.Body.to_string body >|= fun body ->
            write_file (Filename.concat out_dir (name ^ ".body")) body;
            Printf.printf "request=%s status=%d version=%s x-peer=%s x-version=%s\n%!"
              name
              (Code.code_of_status (Response.status resp))
              (Code.string_of_version (Response.version resp))
              (header resp "x-peer") (header resp "x-version"))
      requests
  in
  Lwt_main.run run
