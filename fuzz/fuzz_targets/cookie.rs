//! `Set-Cookie` and `Cookie` header values, parsed and serialized again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paf_compat::{
    cookie::{CookieHdr, SetCookieHdr, SetCookieVersion},
    Header,
};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let header = Header::init()
        .add("set-cookie", value)
        .add("set-cookie2", value)
        .add("cookie", value);
    for (_, cookie) in SetCookieHdr::extract(&header) {
        let _ = (
            cookie.value(),
            cookie.expiration(),
            cookie.domain(),
            cookie.path(),
        );
        let _ = cookie.serialize();
        let _ = cookie.serialize_version(SetCookieVersion::Http1_1);
    }
    let cookies = CookieHdr::extract(&header);
    let _ = CookieHdr::serialize(cookies);
});
