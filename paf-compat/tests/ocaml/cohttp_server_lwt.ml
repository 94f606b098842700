(* cohttp's own file server, bin/cohttp_server_lwt.ml in mirage/ocaml-cohttp
   with the helpers of its Cohttp_server module (bin/cohttp_server.ml) in
   front, kept as upstream has them; the reference that
   examples/cohttp_server.rs is compared with (tests/ocaml_peers.rs).

   Changed for Debian's cohttp 4.0.0 and for the test, nothing else:
   - no Logs, Fmt_tty or Debug reporter (the lines that only log are gone);
   - `Lwt.fail` for `Lwt.reraise` (Lwt 5.6 has no `reraise`);
   - the conn_closed callback, which only logged, is gone.

   Usage: cohttp_server_lwt [DOCROOT] [-p PORT] [-s HOST] [-i INDEX]
          [--tls CERT,KEY] *)

open Lwt.Infix
open Cohttp_lwt_unix

(* ---- Cohttp_server (bin/cohttp_server.ml) ---- *)

open Printf

let ( / ) = Filename.concat

let compare_kind = function
  | Some `Directory, Some `Directory -> 0
  | Some `Directory, _ -> -1
  | _, Some `Directory -> 1
  | Some `File, Some `File -> 0
  | Some `File, _ -> 1
  | _, Some `File -> -1
  | _, _ -> 0

let sort lst =
  List.sort
    (fun (ka, _sa, a) (kb, _sb, b) ->
      let c = compare_kind (ka, kb) in
      if c <> 0 then c
      else String.compare (String.lowercase_ascii a) (String.lowercase_ascii b))
    lst

let li ?title l =
  let title =
    match title with None -> "" | Some s -> sprintf "title=\"%s\" " s
  in
  sprintf "<li><a %shref=\"%s\">%s</a></li>" title (Uri.to_string l)

let kind_of_unix_kind =
  Unix.(
    function
    | S_DIR -> `Directory
    | S_REG -> `File
    | S_SOCK -> `Socket
    | S_BLK -> `Block
    | S_FIFO -> `Fifo
    | S_CHR -> `Char
    | S_LNK -> `Link)

let human_size_of_size size =
  let size = Int64.to_float size in
  let kibi = size /. 1024. in
  if kibi < 1. then sprintf "%.0fB" size
  else
    let mibi = kibi /. 1024. in
    if mibi < 1. then sprintf "%.1fKiB" kibi
    else
      let gibi = mibi /. 1024. in
      if gibi < 1. then sprintf "%.1fMiB" mibi else sprintf "%.1fGiB" gibi

let html_of_listing uri path listing info =
  let html =
    List.map
      (fun (kind, size, f) ->
        let encoded_f = Uri.pct_encode f in
        match kind with
        | Some `Directory ->
            let link = Uri.with_path uri (path / encoded_f / "") in
            li link (sprintf "<i>%s/</i>" f)
        | Some `File ->
            let link = Uri.with_path uri (path / encoded_f) in
            li ~title:(human_size_of_size size) link f
        | Some (`Socket | `Block | `Fifo | `Char | `Link) ->
            sprintf "<li><s>%s</s></li>" f
        | None -> sprintf "<li>Error with file: %s</li>" f)
      (sort listing)
  in
  let contents = String.concat "\n" html in
  sprintf
    "<html><body><h2>Directory Listing for <em>%s</em></h2><ul>%s</ul><hr \
     />%s</body></html>"
    (Uri.pct_decode path) contents info

let html_of_forbidden_unnormal path info =
  sprintf
    "<html><body><h2>Forbidden</h2><p><b>%s</b>is not a normal file or \
     directory</p><hr/>%s</body></html>"
    path info

let html_of_not_found path info =
  sprintf
    "<html><body><h2>Not Found</h2><p><b>%s</b>was not found on this \
     server</p><hr />%s</body></html>"
    path info

let html_of_method_not_allowed meth allowed path info =
  sprintf
    "<html><body><h2>Method Not Allowed</h2><p><b>%s</b>is not an allowed \
     method on <b>%s</b></p><p>Allowed methods on <b>%s</b> are \
     <b>%s</b></p><hr />%s</body></html>"
    meth path path allowed info

(* ---- cohttp_server_lwt.ml ---- *)

let method_filter meth (res, body) =
  match meth with
  | `HEAD -> Lwt.return (res, `Empty)
  | _ -> Lwt.return (res, body)

let serve_file ~docroot ~uri =
  let fname = Cohttp.Path.resolve_local_file ~docroot ~uri in
  Server.respond_file ~fname ()

let ls_dir dir =
  Lwt_stream.to_list
    (Lwt_stream.filter (( <> ) ".") (Lwt_unix.files_of_directory dir))

let serve ~info ~docroot ~index uri path =
  let file_name = Cohttp.Path.resolve_local_file ~docroot ~uri in
  Lwt.catch
    (fun () ->
      Lwt_unix.stat file_name >>= fun stat ->
      match kind_of_unix_kind stat.Unix.st_kind with
      | `Directory -> (
          let path_len = String.length path in
          if path_len <> 0 && path.[path_len - 1] <> '/' then
            Server.respond_redirect ~uri:(Uri.with_path uri (path ^ "/")) ()
          else
            match Sys.file_exists (file_name / index) with
            | true ->
                let uri = Uri.with_path uri (path / index) in
                serve_file ~docroot ~uri
            | false ->
                ls_dir file_name
                >>= Lwt_list.map_s (fun f ->
                        let file_name = file_name / f in
                        Lwt.try_bind
                          (fun () -> Lwt_unix.LargeFile.stat file_name)
                          (fun stat ->
                            Lwt.return
                              ( Some
                                  (kind_of_unix_kind stat.Unix.LargeFile.st_kind),
                                stat.Unix.LargeFile.st_size,
                                f ))
                          (fun _exn -> Lwt.return (None, 0L, f)))
                >>= fun listing ->
                let body = html_of_listing uri path (sort listing) info in
                Server.respond_string ~status:`OK ~body ())
      | `File -> serve_file ~docroot ~uri
      | _ ->
          Server.respond_string ~status:`Forbidden
            ~body:(html_of_forbidden_unnormal path info)
            ())
    (function
      | Unix.Unix_error (Unix.ENOENT, "stat", p) as e ->
          if p = file_name then
            Server.respond_string ~status:`Not_found
              ~body:(html_of_not_found path info)
              ()
          else Lwt.fail e
      | e -> Lwt.fail e)

let handler ~info ~docroot ~index _conn req _body =
  let uri = Cohttp.Request.uri req in
  let path = Uri.path uri in
  match Request.meth req with
  | (`GET | `HEAD) as meth ->
      serve ~info ~docroot ~index uri path >>= method_filter meth
  | meth ->
      let meth = Cohttp.Code.string_of_method meth in
      let allowed = [ "GET"; "HEAD" ] in
      let headers = Cohttp.Header.(add_multi (init ()) "allow" allowed) in
      Server.respond_string ~headers ~status:`Method_not_allowed
        ~body:
          (html_of_method_not_allowed meth
             (String.concat "," allowed)
             path info)
        ()

let start_server docroot port host index tls () =
  let info =
    Printf.sprintf "Served by Cohttp/Lwt listening on %s:%d" host port
  in
  let callback = handler ~info ~docroot ~index in
  let config = Server.make ~callback () in
  let mode =
    match tls with
    | Some (c, k) ->
        `TLS (`Crt_file_path c, `Key_file_path k, `No_password, `Port port)
    | None -> `TCP (`Port port)
  in
  Conduit_lwt_unix.init ~src:host () >>= fun ctx ->
  let ctx = Cohttp_lwt_unix.Net.init ~ctx () in
  Server.create ~ctx ~mode config

let lwt_start_server docroot port host index tls =
  Lwt_main.run (start_server docroot port host index tls ())

open Cmdliner

let host =
  let doc = "IP address to listen on." in
  Arg.(value & opt string "::" & info [ "s" ] ~docv:"HOST" ~doc)

let port =
  let doc = "TCP port to listen on." in
  Arg.(value & opt int 8080 & info [ "p" ] ~docv:"PORT" ~doc)

let index =
  let doc = "Name of index file in directory." in
  Arg.(value & opt string "index.html" & info [ "i" ] ~docv:"INDEX" ~doc)

let tls =
  let doc = "TLS certificate files." in
  Arg.(
    value
    & opt (some (pair string string)) None
    & info [ "tls" ] ~docv:"CERT,KEY" ~doc)

let doc_root =
  let doc = "Serving directory." in
  Arg.(value & pos 0 dir "." & info [] ~docv:"DOCROOT" ~doc)

let cmd =
  let info =
    let doc = "a simple http server" in
    Cmd.info "cohttp-server" ~doc
  in
  let term =
    Term.(const lwt_start_server $ doc_root $ port $ host $ index $ tls)
  in
  Cmd.v info term

let () = exit @@ Cmd.eval cmd
