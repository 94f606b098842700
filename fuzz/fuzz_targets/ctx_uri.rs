//! The transport context filled from arbitrary URLs: `Ctx::with_uri` on what
//! `http::Uri` accepts, `Ctx::with_url` on what `url::Url` accepts, and
//! what a context then says about its endpoint, key and server name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paf_core::Ctx;

fn inspect(ctx: &Ctx) {
    let _ = (ctx.scheme(), ctx.host(), ctx.port(), ctx.tls_enabled());
    let _ = ctx.endpoint();
    let _ = ctx.server_name();
    let _ = ctx.key();
    if let Some(host) = ctx.host() {
        let _ = ctx.endpoint_for(host);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(uri) = text.parse::<http::Uri>() {
        if let Ok(ctx) = Ctx::new().with_uri(&uri) {
            inspect(&ctx);
            // A second URL on the same context replaces the first.
            if let Ok(ctx) = ctx.with_uri(&uri) {
                inspect(&ctx);
            }
        }
    }
    if let Ok(url) = url::Url::parse(text) {
        if let Ok(ctx) = Ctx::new().with_url(&url) {
            inspect(&ctx);
        }
    }
});
