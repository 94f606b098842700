//! `Authorization` values, parsed and printed again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paf_compat::{auth, Header};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let credential = auth::credential_of_string(value);
    let printed = auth::string_of_credential(&credential);
    let _ = auth::credential_of_string(&printed);
    let _ = Header::init()
        .add("authorization", value)
        .get_authorization();
});
