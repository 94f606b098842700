//! `Accept`, `Accept-Charset`, `Accept-Encoding` and `Accept-Language`
//! values, parsed and printed again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paf_compat::accept;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(list) = accept::media_ranges(Some(value)) {
        let _ = accept::string_of_media_ranges(&accept::qsort(list));
    }
    if let Ok(list) = accept::charsets(Some(value)) {
        let _ = accept::string_of_charsets(&list);
    }
    if let Ok(list) = accept::encodings(Some(value)) {
        let _ = accept::string_of_encodings(&list);
    }
    if let Ok(list) = accept::languages(Some(value)) {
        let _ = accept::string_of_languages(&list);
    }
});
