(* cohttp's curl, cohttp-lwt-unix/bin/cohttp_curl_lwt.ml in
   mirage/ocaml-cohttp; the reference that examples/cohttp_curl.rs is
   compared with (tests/ocaml_peers.rs).

   Changed for Debian's cohttp 4.0.0 and for the test, nothing else:
   - `Client.call` is an Lwt promise here (`>>=`, as in cohttp 4 and 5);
   - no Logs, Fmt_tty or Debug reporter (the lines that only log are gone);
   - `-i` (as curl's): the status line and the headers are printed before
     the body, and the body of an answer that is not a success too (then
     the exit status is still 1), so that the test sees every answer whole.

   Usage: cohttp_curl_lwt [-X METHOD] [-o FILE] [-i] URI *)

open Lwt
open Cohttp
open Cohttp_lwt_unix

let client uri ofile meth' include_head =
  let meth = Cohttp.Code.method_of_string meth' in
  Client.call meth uri >>= fun (resp, body) ->
  let status = Response.status resp in
  let print_head c =
    if include_head then
      Lwt_io.fprintf c "%s %s\r\n%s\r\n"
        (Code.string_of_version (Response.version resp))
        (Code.string_of_status status)
        (String.concat "" (Header.to_lines (Response.headers resp)))
    else Lwt.return_unit
  in
  (* TODO follow redirects *)
  match Code.is_success (Code.code_of_status status) with
  | false ->
      (if include_head then
         print_head Lwt_io.stdout >>= fun () ->
         Cohttp_lwt.Body.to_string body >>= Lwt_io.print >>= fun () ->
         Lwt_io.flush Lwt_io.stdout
       else Lwt.return_unit)
      >>= fun () ->
      prerr_endline (Code.string_of_status status);
      exit 1
  | true -> (
      Cohttp_lwt.Body.length body >>= fun (_len, body) ->
      Cohttp_lwt.Body.to_string body >>= fun _s ->
      let output_body c =
        print_head c >>= fun () ->
        Lwt_stream.iter_s (Lwt_io.fprint c) (Cohttp_lwt.Body.to_stream body)
      in
      match ofile with
      | None -> output_body Lwt_io.stdout
      | Some fname -> Lwt_io.with_file ~mode:Lwt_io.output fname output_body)

let run_client ofile uri meth include_head =
  Lwt_main.run (client uri ofile meth include_head)

open Cmdliner

let uri =
  let loc : Uri.t Arg.conv =
    let parse s =
      try Ok (Uri.of_string s) with Failure _ -> Error (`Msg "unable to parse URI")
    in
    Arg.conv (parse, fun ppf p -> Format.fprintf ppf "%s" (Uri.to_string p))
  in
  Arg.(
    required
    & pos 0 (some loc) None
    & info [] ~docv:"URI"
        ~doc:"string of the remote address (e.g. https://google.com)")

let meth =
  let doc = "Set http method" in
  Arg.(value & opt string "GET" & info [ "X"; "request" ] ~doc)

let ofile =
  let doc = "Output filename to store the URI into." in
  Arg.(value & opt (some string) None & info [ "o" ] ~docv:"FILE" ~doc)

let include_head =
  let doc = "Print the status line and the headers before the body." in
  Arg.(value & flag & info [ "i"; "include" ] ~doc)

let cmd =
  let doc = "retrieve a remote URI contents" in
  Cmd.v
    (Cmd.info "cohttp-curl" ~doc)
    Term.(const run_client $ ofile $ uri $ meth $ include_head)

let () = exit @@ Cmd.eval cmd
