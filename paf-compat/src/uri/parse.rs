//! `Uri.of_string`: ocaml-uri's parser, an Angstrom grammar with ordered
//! choice, rewritten by hand. It never fails: every part is optional and
//! what a part cannot take falls to the next (a bad host leaves the rest to
//! the path), as in ocaml-uri. Each function here is one rule of that
//! grammar and says where it differs from RFC 3986.

use super::path::path_of_encoded;
use super::pct;
use super::query::Query;
use super::{userinfo_of_encoded, Host, Uri};

/// `Uri.of_string s`.
pub(super) fn of_string(s: &str) -> Uri {
    // ocaml-uri stops at the first newline and drops the rest, a
    // compatibility rule kept from its older regular-expression parser.
    let s = s.as_bytes();
    let s = &s[..s.iter().position(|&b| b == b'\n').unwrap_or(s.len())];
    let mut pos = 0;

    // scheme: everything up to the first `:`, `/`, `?` or `#`, if that is
    // a `:`. Unlike RFC 3986 any byte may be in it, and it may be empty.
    let scheme = match s
        .iter()
        .position(|&b| matches!(b, b':' | b'/' | b'?' | b'#'))
    {
        Some(colon) if s[colon] == b':' => {
            pos = colon + 1;
            Some(pct::decode(&s[..colon]))
        }
        _ => None,
    };

    let (mut userinfo, mut host, mut port) = (None, None, None);
    if s[pos..].starts_with(b"//") {
        pos += 2;
        // userinfo: RFC 3986's characters, then `@`; otherwise none.
        let end = scan(s, pos, |b| is_unreserved(b) || is_sub_delim(b) || b == b':');
        if s.get(end) == Some(&b'@') {
            userinfo = Some(userinfo_of_encoded(&s[pos..end]));
            pos = end + 1;
        }
        let (h, end) = host_at(s, pos);
        host = Some(h);
        pos = end;
        // port: `:` then digits; none when there are no digits or (unlike
        // ocaml-uri, which keeps any OCaml int) more than a u16 holds.
        if s.get(pos) == Some(&b':') {
            let end = pos
                + 1
                + s[pos + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
            port = std::str::from_utf8(&s[pos + 1..end])
                .ok()
                .and_then(|digits| digits.parse::<u16>().ok());
            pos = end;
        }
    }

    // path: up to `?` or `#`, whatever it holds (ocaml-uri does not check
    // it, and after an authority it need not start with `/`).
    let end = pos
        + s[pos..]
            .iter()
            .take_while(|&&b| b != b'?' && b != b'#')
            .count();
    let path = path_of_encoded(&s[pos..end]);
    pos = end;

    let mut query = Query::none();
    if s.get(pos) == Some(&b'?') {
        let end = pos + 1 + s[pos + 1..].iter().take_while(|&&b| b != b'#').count();
        query = Query::of_raw(String::from_utf8_lossy(&s[pos + 1..end]).into_owned());
        pos = end;
    }

    let fragment = (s.get(pos) == Some(&b'#')).then(|| pct::decode(&s[pos + 1..]));

    let scheme_for_host = scheme.clone();
    Uri {
        scheme,
        userinfo,
        host,
        port,
        path,
        query,
        fragment,
    }
    .normalize(scheme_for_host.as_deref())
}

/// ocaml-uri's `decode_host`, used by `with_host` and `make`: the whole text
/// as a host (IPv4, bracketed IPv6, or a percent-encoded name), else as a
/// bare IPv6 address, else the text itself as a name, not decoded.
pub(super) fn decode_host(text: &str) -> Host {
    let s = text.as_bytes();
    if let Some((host, end)) = host_choice(s, 0) {
        // The first alternative that matches is kept even when it leaves
        // text over (Angstrom's ordered choice), and then the whole fails.
        if end == s.len() {
            return host;
        }
    }
    match ipv6(s, 0) {
        Some((addr, end)) if end == s.len() => Host::Ipv6(addr),
        _ => Host::Name(s.to_vec()),
    }
}

/// The host rule inside an authority: never fails, an empty name at worst.
fn host_at(s: &[u8], pos: usize) -> (Host, usize) {
    host_choice(s, pos).unwrap_or((Host::Name(Vec::new()), pos))
}

/// ocaml-uri's `host`: an IPv4 address, else `[` IPv6 `]`, else a name of
/// unreserved bytes, sub-delimiters and `%XX` escapes. Where RFC 3986
/// reads the longest match, the first alternative wins: `1.2.3.45a` is the
/// address `1.2.3.45` followed by the path `a`. IPvFuture (`[v1.x]`) is not
/// recognised, as in ocaml-uri.
fn host_choice(s: &[u8], pos: usize) -> Option<(Host, usize)> {
    if let Some((addr, end)) = ipv4(s, pos) {
        return Some((Host::Ipv4(addr), end));
    }
    if s.get(pos) == Some(&b'[') {
        if let Some((addr, end)) = ipv6(s, pos + 1) {
            if s.get(end) == Some(&b']') {
                return Some((Host::Ipv6(addr), end + 1));
            }
        }
    }
    let end = scan(s, pos, |b| is_unreserved(b) || is_sub_delim(b));
    Some((Host::Name(pct::decode(&s[pos..end])), end))
}

/// Skips bytes `ok` accepts and `%XX` escapes, as Angstrom's
/// `many (choice [...; pct_encoded])` does; a `%` without two hex digits
/// ends the run.
fn scan(s: &[u8], mut pos: usize, ok: impl Fn(u8) -> bool) -> usize {
    while let Some(&b) = s.get(pos) {
        if ok(b) {
            pos += 1;
        } else if b == b'%' && is_hex(s.get(pos + 1)) && is_hex(s.get(pos + 2)) {
            pos += 3;
        } else {
            break;
        }
    }
    pos
}

fn is_hex(b: Option<&u8>) -> bool {
    b.is_some_and(u8::is_ascii_hexdigit)
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn is_sub_delim(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

/// One to any number of digits whose value is below 256 (leading zeros
/// allowed, as in ocaml-uri); the text is kept as written.
fn dec_octet(s: &[u8], pos: usize) -> Option<usize> {
    let len = s[pos.min(s.len())..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if len == 0 {
        return None;
    }
    // ocaml-uri raises `Failure "int_of_string"` from the parser when the
    // digits overflow an OCaml int; here they are just not an octet.
    let value = std::str::from_utf8(&s[pos..pos + len])
        .ok()
        .and_then(|d| d.parse::<u64>().ok());
    value.filter(|&v| v < 256).map(|_| pos + len)
}

/// Four octets separated by dots.
fn ipv4(s: &[u8], pos: usize) -> Option<(String, usize)> {
    let mut end = pos;
    for i in 0..4 {
        if i > 0 {
            if s.get(end) != Some(&b'.') {
                return None;
            }
            end += 1;
        }
        end = dec_octet(s, end)?;
    }
    Some((String::from_utf8_lossy(&s[pos..end]).into_owned(), end))
}

/// Any number of hex digits, none included.
fn hexadecimal(s: &[u8], pos: usize) -> (String, usize) {
    let len = s[pos.min(s.len())..]
        .iter()
        .take_while(|b| b.is_ascii_hexdigit())
        .count();
    (
        String::from_utf8_lossy(&s[pos..pos + len]).into_owned(),
        pos + len,
    )
}

/// ocaml-uri's `ipv6`: the groups of an address (an empty group stands for
/// `::`), written back by [`format_ipv6`]. Its grammar is looser than RFC
/// 3986's: a group may have any number of hex digits, `::` may appear more
/// than once after the first one, and `1:2:3:4:5:6:7:` is an address; this
/// follows it rule for rule so the same texts are addresses.
fn ipv6(s: &[u8], pos: usize) -> Option<(String, usize)> {
    let (groups, end) = if s[pos.min(s.len())..].starts_with(b"::") {
        double_colon(s, 0, pos + 2)
    } else {
        part(s, 0, pos)?
    };
    Some((format_ipv6(&groups), end))
}

/// Groups after `::`: an IPv4 address ends them, else hex groups separated
/// by single colons (an empty group when two colons meet).
fn after_double_colon(s: &[u8], mut pos: usize) -> (Vec<String>, usize) {
    let mut groups = Vec::new();
    loop {
        if let Some((addr, end)) = ipv4(s, pos) {
            groups.push(addr);
            return (groups, end);
        }
        let (group, end) = hexadecimal(s, pos);
        groups.push(group);
        if s.get(end) == Some(&b':') {
            pos = end + 1;
        } else {
            return (groups, end);
        }
    }
}

/// After `::` with `count` groups before it: the groups that follow, if
/// they leave room for at least one zero group; otherwise nothing after the
/// `::` is taken.
fn double_colon(s: &[u8], count: usize, pos: usize) -> (Vec<String>, usize) {
    let (rest, end) = after_double_colon(s, pos);
    if count + rest.len() < 8 {
        let mut groups = Vec::with_capacity(rest.len() + 1);
        groups.push(String::new());
        groups.extend(rest);
        (groups, end)
    } else {
        (vec![String::new()], pos)
    }
}

/// Group `n` (from 0) and what follows it, before any `::`.
fn part(s: &[u8], n: usize, pos: usize) -> Option<(Vec<String>, usize)> {
    match n {
        7 => {
            let (group, end) = hexadecimal(s, pos);
            Some((vec![group], end))
        }
        6 => match ipv4(s, pos) {
            Some((addr, end)) => Some((vec![addr], end)),
            None => hex_part(s, n, pos),
        },
        _ => hex_part(s, n, pos),
    }
}

/// A hex group, a colon, then `::` or the next group.
fn hex_part(s: &[u8], n: usize, pos: usize) -> Option<(Vec<String>, usize)> {
    let (group, end) = hexadecimal(s, pos);
    if s.get(end) != Some(&b':') {
        return None;
    }
    let (rest, end) = if s.get(end + 1) == Some(&b':') {
        double_colon(s, n + 1, end + 2)
    } else {
        part(s, n + 1, end + 1)?
    };
    let mut groups = Vec::with_capacity(rest.len() + 1);
    groups.push(group);
    groups.extend(rest);
    Some((groups, end))
}

/// ocaml-uri's `format_addr`: the groups before the first empty one joined
/// with `:`, then `::` and the rest joined with `:`.
fn format_ipv6(groups: &[String]) -> String {
    match groups.iter().position(String::is_empty) {
        None => groups.join(":"),
        Some(gap) => format!(
            "{}::{}",
            groups[..gap].join(":"),
            groups[gap + 1..].join(":")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(text: &str) -> Option<String> {
        ipv6(text.as_bytes(), 0)
            .filter(|(_, end)| *end == text.len())
            .map(|(addr, _)| addr)
    }

    #[test]
    fn ipv6_follows_ocaml_uri_grammar() {
        assert_eq!(v6("::").as_deref(), Some("::"));
        assert_eq!(v6("::1").as_deref(), Some("::1"));
        assert_eq!(v6("::ffff:192.0.2.1").as_deref(), Some("::ffff:192.0.2.1"));
        assert_eq!(v6("2001:DB8::42").as_deref(), Some("2001:DB8::42"));
        assert_eq!(v6("1:2:3:4:5:6:7:").as_deref(), Some("1:2:3:4:5:6:7::"));
        assert_eq!(v6(":1:2:3:4:5:6:7").as_deref(), Some("::1:2:3:4:5:6:7"));
        assert_eq!(v6("::1::2").as_deref(), Some("::1::2"));
        assert_eq!(v6("1:2"), None);
        assert_eq!(v6("1.2.3.4"), None);
    }

    #[test]
    fn ipv4_needs_four_octets_below_256() {
        assert!(ipv4(b"1.2.3.4", 0).is_some());
        assert!(ipv4(b"01.2.3.4", 0).is_some());
        assert!(ipv4(b"256.1.1.1", 0).is_none());
        assert!(ipv4(b"99999999999999999999999.1.1.1", 0).is_none());
        assert_eq!(ipv4(b"1.2.3.45a", 0).map(|(_, end)| end), Some(8));
    }

    #[test]
    fn decode_host_falls_back_to_raw_text() {
        assert_eq!(decode_host("foo%21"), Host::Name(b"foo!".to_vec()));
        assert_eq!(decode_host("foo bar"), Host::Name(b"foo bar".to_vec()));
        assert_eq!(decode_host("1.2.3.4"), Host::Ipv4("1.2.3.4".to_owned()));
        assert_eq!(decode_host("[::1]"), Host::Ipv6("::1".to_owned()));
        assert_eq!(decode_host("::1"), Host::Ipv6("::1".to_owned()));
        // IPv4 matched a prefix: the choice is spent, the text is a raw name.
        assert_eq!(decode_host("1.2.3.4.5"), Host::Name(b"1.2.3.4.5".to_vec()));
    }
}
