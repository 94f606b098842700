(* The CoHTTP row of bench/compare.sh: cohttp-lwt-unix answering every
   request with the same 13 bytes as the Rust servers, on 127.0.0.1 only.
   Usage: cohttp_server PORT *)
open Lwt.Infix

let callback _conn _req body =
  (* Read the request body to its end so that the connection stays usable. *)
  Cohttp_lwt.Body.drain_body body >>= fun () ->
  Cohttp_lwt_unix.Server.respond_string ~status:`OK ~body:"Hello, World!" ()

let () =
  let port = int_of_string Sys.argv.(1) in
  Lwt_main.run
    ( Conduit_lwt_unix.init ~src:"127.0.0.1" () >>= fun ctx ->
      let ctx = Cohttp_lwt_unix.Net.init ~ctx () in
      Cohttp_lwt_unix.Server.create ~ctx ~mode:(`TCP (`Port port))
        (Cohttp_lwt_unix.Server.make ~callback ()) )
