//! The optional access log: one [`AccessRecord`] per request, handed to the
//! user's [`AccessLog`] once the response is done, and rendered in the
//! Combined Log Format that nginx, Apache and log analysers read.

use std::{
    fmt,
    io::Write,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use http::{HeaderValue, Method, StatusCode, Uri, Version};
use paf_core::server::{ConnInfo, PeerAddr};

/// Receives one [`AccessRecord`] per request, when its response is done
/// (its last body byte handed to the connection, or the response cut
/// short). Any `Fn(&AccessRecord)` is one; [`AccessLogWriter`] writes the
/// records as lines to a file or stdout.
///
/// It is called on the connection's task: a log that may block for long
/// (a network sink) should hand the record to a channel and return.
///
/// ```
/// use paf_hyper::{server::AccessRecord, Server};
///
/// let server = Server::builder()
///     .access_log(|record: &AccessRecord| {
///         if record.status.is_server_error() {
///             eprintln!("{record}");
///         }
///     })
///     .build(|_req| async { paf_core::http::Response::new(paf_core::Body::empty()) });
/// ```
pub trait AccessLog: Send + Sync + 'static {
    /// One request is done.
    fn log(&self, record: &AccessRecord);
}

impl<F> AccessLog for F
where
    F: Fn(&AccessRecord) + Send + Sync + 'static,
{
    fn log(&self, record: &AccessRecord) {
        self(record);
    }
}

impl<L: AccessLog + ?Sized> AccessLog for Arc<L> {
    fn log(&self, record: &AccessRecord) {
        (**self).log(record);
    }
}

/// Writes each record as one line in the Combined Log Format (see
/// [`AccessRecord`]'s `Display`), in one `write_all` under a lock so that
/// lines of concurrent requests never interleave. Write errors are
/// ignored: a full disk must not fail the requests. Nothing is flushed:
/// give it a [`File`](std::fs::File) or [`std::io::stdout`] (which flushes
/// each line), or flush a `BufWriter` yourself.
///
/// ```
/// use paf_hyper::{server::AccessLogWriter, Server};
///
/// let server = Server::builder()
///     .access_log(AccessLogWriter::new(std::io::stdout()))
///     .build(|_req| async { paf_core::http::Response::new(paf_core::Body::empty()) });
/// ```
pub struct AccessLogWriter<W> {
    out: Mutex<W>,
}

impl<W> AccessLogWriter<W> {
    /// Writes the access log to `out`.
    pub fn new(out: W) -> Self {
        AccessLogWriter {
            out: Mutex::new(out),
        }
    }
}

impl<W> fmt::Debug for AccessLogWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessLogWriter").finish_non_exhaustive()
    }
}

impl<W: Write + Send + 'static> AccessLog for AccessLogWriter<W> {
    fn log(&self, record: &AccessRecord) {
        // Rendered before the lock is taken: requests wait for each other
        // only for the write itself.
        let line = format!("{record}\n");
        // A writer that panicked mid-line leaves at worst a torn line.
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = out.write_all(line.as_bytes());
    }
}

/// One request as the access log sees it.
///
/// Its `Display` is the Combined Log Format, as nginx's default `combined`
/// format writes it:
///
/// ```text
/// 127.0.0.1 - - [01/Dec/2026:10:00:00 +0000] "GET /path HTTP/1.1" 200 1234 "-" "curl/8.0"
/// ```
///
/// the peer's IP address (`unix:` for a Unix socket), the time the request
/// head came in (UTC), the request line, the status, the body bytes sent
/// (0 for none), the `Referer` and `User-Agent` headers. Quotes,
/// backslashes and bytes that are not printable ASCII are written `\xHH`,
/// so that a line stays one line whatever the client sent.
///
/// The request line has the **path only**: queries often carry secrets
/// (password-reset tokens, OAuth codes, signed URLs' signatures) that
/// should not end up in log files. [`with_query`](AccessRecord::with_query)
/// renders the same line with the query, as nginx's `$request` does; the
/// whole target is in [`uri`](AccessRecord::uri) for a format of your own.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AccessRecord {
    /// The connection the request came on.
    pub conn: Arc<ConnInfo>,
    /// When the request head came in.
    pub received: SystemTime,
    /// The request method.
    pub method: Method,
    /// The request target, as received.
    pub uri: Uri,
    /// The request's HTTP version.
    pub version: Version,
    /// The response status.
    pub status: StatusCode,
    /// The response body bytes sent (without HTTP/1 chunk framing).
    pub bytes: u64,
    /// From the request head coming in to the last body byte handed to the
    /// connection (or to the response being cut short).
    pub duration: Duration,
    /// Whether the whole response body was sent; `false` when the client
    /// went away or the connection failed first.
    pub complete: bool,
    /// The request's `Referer` header.
    pub referer: Option<HeaderValue>,
    /// The request's `User-Agent` header.
    pub user_agent: Option<HeaderValue>,
}

impl AccessRecord {
    /// The same Combined Log Format line with the query in the request line
    /// (see the type's docs on why it is left out by default).
    pub fn with_query(&self) -> impl fmt::Display + '_ {
        Combined {
            record: self,
            query: true,
        }
    }
}

impl fmt::Display for AccessRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Combined {
            record: self,
            query: false,
        }
        .fmt(f)
    }
}

struct Combined<'a> {
    record: &'a AccessRecord,
    query: bool,
}

impl fmt::Display for Combined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.record;
        match &r.conn.peer {
            PeerAddr::Tcp(addr) => write!(f, "{}", SocketAddr::ip(addr))?,
            // As nginx writes `$remote_addr` for a Unix socket.
            PeerAddr::Unix(_) => f.write_str("unix:")?,
            // A peer described by the user (`PeerAddr::Other`).
            other => match other.to_string() {
                text if text.is_empty() => f.write_str("-")?,
                text => Escaped::unquoted(text.as_bytes()).fmt(f)?,
            },
        }
        let target = RequestTarget {
            uri: &r.uri,
            query: self.query,
        };
        write!(
            f,
            " - - [{}] \"{} {} {:?}\" {} {} \"{}\" \"{}\"",
            ClfDate(r.received),
            Escaped::quoted(r.method.as_str().as_bytes()),
            target,
            r.version,
            r.status.as_u16(),
            r.bytes,
            Header(r.referer.as_ref()),
            Header(r.user_agent.as_ref()),
        )
    }
}

/// A request target as logged: the path (with the query when asked), or
/// for a target without a path (`CONNECT host:port`) the authority,
/// without any userinfo.
pub(super) struct RequestTarget<'a> {
    pub(super) uri: &'a Uri,
    pub(super) query: bool,
}

impl fmt::Display for RequestTarget<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.uri.path();
        if path.is_empty() {
            let authority = self.uri.authority().map_or("", |a| a.as_str());
            let host = authority.rsplit('@').next().unwrap_or(authority);
            return Escaped::quoted(host.as_bytes()).fmt(f);
        }
        Escaped::quoted(path.as_bytes()).fmt(f)?;
        match self.uri.query() {
            Some(query) if self.query => {
                f.write_str("?")?;
                Escaped::quoted(query.as_bytes()).fmt(f)
            }
            _ => Ok(()),
        }
    }
}

/// A header value in quotes, `-` when absent.
struct Header<'a>(Option<&'a HeaderValue>);

impl fmt::Display for Header<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(value) => Escaped::quoted(value.as_bytes()).fmt(f),
            None => f.write_str("-"),
        }
    }
}

/// Bytes written as nginx escapes log variables: `"`, `\` and anything
/// outside printable ASCII as `\xHH` (and, outside quotes, the space too).
struct Escaped<'a> {
    bytes: &'a [u8],
    space: bool,
}

impl<'a> Escaped<'a> {
    fn quoted(bytes: &'a [u8]) -> Self {
        Escaped {
            bytes,
            space: false,
        }
    }

    fn unquoted(bytes: &'a [u8]) -> Self {
        Escaped { bytes, space: true }
    }
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain =
            |b: u8| (b.is_ascii_graphic() && b != b'"' && b != b'\\') || (b == b' ' && !self.space);
        let mut rest = self.bytes;
        while !rest.is_empty() {
            let run = rest.iter().position(|&b| !plain(b)).unwrap_or(rest.len());
            let (clean, tail) = rest.split_at(run);
            // Only ASCII so far: always valid UTF-8.
            f.write_str(std::str::from_utf8(clean).map_err(|_| fmt::Error)?)?;
            if let Some((&b, tail)) = tail.split_first() {
                write!(f, "\\x{b:02X}")?;
                rest = tail;
            } else {
                rest = tail;
            }
        }
        Ok(())
    }
}

/// A time as the Common Log Format writes it, in UTC:
/// `01/Dec/2026:10:00:00 +0000`.
struct ClfDate(SystemTime);

impl fmt::Display for ClfDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        // A clock set before 1970 is logged as 1970.
        let secs = self.0.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
        let of_day = secs % 86_400;
        let (year, month, day) = civil_from_days(days);
        let month = MONTHS[usize::from(month - 1)];
        write!(
            f,
            "{day:02}/{month}/{year}:{:02}:{:02}:{:02} +0000",
            of_day / 3600,
            of_day / 60 % 60,
            of_day % 60
        )
    }
}

/// The proleptic Gregorian date (year, month 1–12, day 1–31) `days` after
/// 1970-01-01: Howard Hinnant's `civil_from_days`, which counts in 400-year
/// eras starting on 1 March so that the leap day ends each year.
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March first
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both are in range by construction.
    (year, month as u8, day as u8)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
        // The inverse, written the slow way: count the days of each year
        // and month from 1970.
        let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let month_days = |y: i64, m: i64| match m {
            2 if leap(y) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let mut days = 0;
        for year in 1970..y {
            days += if leap(year) { 366 } else { 365 };
        }
        for month in 1..m {
            days += month_days(y, month);
        }
        days + d - 1
    }

    #[test]
    fn civil_from_days_agrees_with_counting_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        for (y, m, d) in [
            (1970, 3, 1),
            (1972, 2, 29),
            (2000, 2, 29),
            (2000, 3, 1),
            (2026, 12, 1),
            (2100, 2, 28),
            (2100, 3, 1),
            (2400, 12, 31),
        ] {
            assert_eq!(
                civil_from_days(days_from_civil(y, m, d)),
                (y, m as u8, d as u8)
            );
        }
        // Every day of four centuries, one after the other.
        let (mut y, mut m, mut d) = civil_from_days(0);
        for days in 1..146_097 {
            let next = civil_from_days(days);
            let expected = if next.2 == 1 {
                if next.1 == 1 {
                    (y + 1, 1, 1)
                } else {
                    (y, m + 1, 1)
                }
            } else {
                (y, m, d + 1)
            };
            assert_eq!(next, expected, "day {days}");
            (y, m, d) = next;
        }
        assert_eq!((y, m, d), (2369, 12, 31));
    }

    fn record(peer: PeerAddr, uri: &str) -> AccessRecord {
        AccessRecord {
            conn: Arc::new(ConnInfo::new(peer, Version::HTTP_11, None)),
            // 2026-12-01 10:00:00 UTC
            received: UNIX_EPOCH + Duration::from_secs(1_796_119_200),
            method: Method::GET,
            uri: uri.parse().unwrap(),
            version: Version::HTTP_11,
            status: StatusCode::OK,
            bytes: 1234,
            duration: Duration::from_millis(3),
            complete: true,
            referer: None,
            user_agent: Some(HeaderValue::from_static("curl/8.0")),
        }
    }

    #[test]
    fn records_render_as_combined_log_format_without_the_query() {
        let peer = PeerAddr::Tcp((Ipv4Addr::LOCALHOST, 40_000).into());
        let r = record(peer, "/path?token=secret");
        assert_eq!(
            r.to_string(),
            r#"127.0.0.1 - - [01/Dec/2026:10:00:00 +0000] "GET /path HTTP/1.1" 200 1234 "-" "curl/8.0""#
        );
        assert_eq!(
            r.with_query().to_string(),
            r#"127.0.0.1 - - [01/Dec/2026:10:00:00 +0000] "GET /path?token=secret HTTP/1.1" 200 1234 "-" "curl/8.0""#
        );
    }

    #[test]
    fn odd_peers_targets_and_headers_stay_on_one_parseable_line() {
        let peer = PeerAddr::Tcp((Ipv6Addr::LOCALHOST, 1).into());
        let mut r = record(peer, "http://user:pw@example.org/a%20b");
        r.referer = Some(HeaderValue::from_bytes(b"x\"y\\z\xff").unwrap());
        let line = r.to_string();
        assert!(line.starts_with("::1 - - ["), "{line}");
        assert!(line.contains(r#""GET /a%20b HTTP/1.1""#), "{line}");
        assert!(line.contains(r#""x\x22y\x5Cz\xFF""#), "{line}");
        assert!(!line.contains("pw"), "{line}");

        let r = record(PeerAddr::Other("my pipe".into()), "example.org:443");
        assert!(r.to_string().starts_with("my\\x20pipe - - "), "{r}");
        let mut r = record(PeerAddr::Unix(None), "user:pw@example.org:443");
        r.method = Method::CONNECT;
        let line = r.to_string();
        assert!(line.starts_with("unix: - - "), "{line}");
        assert!(
            line.contains(r#""CONNECT example.org:443 HTTP/1.1""#),
            "{line}"
        );
    }
}
