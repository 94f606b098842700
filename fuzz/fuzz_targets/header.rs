//! CoHTTP's `Header` helpers on arbitrary fields: the getters that parse
//! values (lengths, ranges, media types, connection, transfer encoding,
//! links), the list operations, and the conversion to `http::HeaderMap`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paf_compat::{code, Header};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // "name: value" lines; a line without a colon is a name with an empty value.
    let fields = text.split('\n').map(|line| match line.split_once(':') {
        Some((name, value)) => (name.to_string(), value.to_string()),
        None => (line.to_string(), String::new()),
    });
    let header = Header::of_list(fields);
    let _ = header.get_content_range();
    let _ = header.get_media_type();
    let _ = header.get_connection_close();
    let _ = header.connection();
    let _ = header.is_keep_alive(&code::Version::Http1_1);
    let _ = header.get_transfer_encoding();
    let _ = header.get_authorization();
    let _ = header.get_location();
    let _ = header.get_links();
    let _ = header.is_form();
    let _ = header.get_acceptable_media_ranges();
    let _ = header.get_acceptable_charsets();
    let _ = header.get_acceptable_encodings();
    let _ = header.get_acceptable_languages();
    let _ = header.get_multi_concat("accept");
    let _ = header.get_multi_concat_list_value_only("cache-control");
    let _ = header.to_lines();
    let _ = header.to_frames();
    if let Ok(map) = header.to_header_map() {
        let _ = Header::from_header_map(&map);
    }
    let header = header.clone().prepend_user_agent(text).clean_dup();
    let _ = header.to_list();
    let _ = code::method_of_string(text);
    let _ = code::version_of_string(text);
});
