//! The method, status and version cases of CoHTTP's tests, ported:
//! `http/test/test_response.ml` ("body_allowed"), `cohttp/test/test_response.ml`
//! (the status lines it expects) and `cohttp-lwt-unix/test/test_parser.ml`
//! (the method, version and status it reads).

use paf_compat::code::{self, Method, Status, Version};

/// Mirrors http/test/test_response.ml "body_allowed"
#[test]
fn body_allowed_by_status() {
    let vectors = [
        (Status::Continue, false),
        (Status::SwitchingProtocols, false),
        (Status::Processing, false),
        (Status::Checkpoint, false),
        (Status::NoContent, false),
        (Status::NotModified, false),
        (Status::Code(199), false),
        (Status::Ok, true),
        (Status::Created, true),
        (Status::Found, true),
        (Status::BadRequest, true),
        (Status::InternalServerError, true),
        (Status::Code(250), true),
    ];
    for (status, expected) in vectors {
        assert_eq!(
            status.body_allowed(),
            expected,
            "body_allowed {}",
            code::string_of_status(&status)
        );
    }
}

/// Mirrors cohttp/test/test_response.ml "chunked", "101 Switching
/// Protocols", "204 No Content" and "304 Not Modified" (their status lines)
#[test]
fn status_lines_of_written_responses() {
    let vectors = [
        (Status::Ok, "200 OK"),
        (Status::SwitchingProtocols, "101 Switching Protocols"),
        (Status::NoContent, "204 No Content"),
        (Status::NotModified, "304 Not Modified"),
    ];
    for (status, expected) in vectors {
        assert_eq!(code::string_of_status(&status), expected);
        assert_eq!(
            format!("HTTP/1.1 {status}\r\n"),
            format!("HTTP/1.1 {expected}\r\n")
        );
    }
}

/// Mirrors cohttp-lwt-unix/test/test_parser.ml "basic_req_parse",
/// "req_parse" and "basic_res_parse" (the request line
/// `GET /index.html HTTP/1.1` and the status line `HTTP/1.1 200 OK`)
#[test]
fn request_and_status_lines_are_read() {
    assert_eq!(code::version_of_string("HTTP/1.1"), Version::Http1_1);
    assert_eq!(code::method_of_string("GET"), Method::Get);
    assert_eq!(code::status_of_code(200), Status::Ok);
}
