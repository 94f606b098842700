//! `Link` header values, parsed and printed again; what is printed parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paf_compat::link;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    for parsed in link::of_string(value) {
        let printed = parsed.to_string();
        let _ = link::of_string(&printed);
    }
});
