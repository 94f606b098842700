//! CoHTTP's `Transfer`: how a message body is framed on the wire.
//!
//! [`Header::get_transfer_encoding`](crate::Header::get_transfer_encoding)
//! infers an [`Encoding`] from the `transfer-encoding`, `content-length` and
//! `content-range` fields; [`has_body`] tells whether that framing carries a
//! body at all.

use std::cmp::Ordering;
use std::fmt;

/// The framing of a body, as CoHTTP's `Transfer.encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// `Transfer-Encoding: chunked`: the body comes in chunks of announced size.
    Chunked,
    /// A body of exactly this many bytes (`Content-Length`). CoHTTP holds an
    /// `int64`; a negative length has no meaning on the wire and is never
    /// produced here.
    Fixed(u64),
    /// No framing was declared: read until the connection closes.
    Unknown,
}

/// Whether a message has a body, as CoHTTP's `` [ `Yes | `No | `Unknown ] ``.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HasBody {
    /// There is a body (chunked, or a fixed length above zero).
    Yes,
    /// There is no body (`Content-Length: 0`).
    No,
    /// Nothing says: CoHTTP does not guess.
    Unknown,
}

/// A piece of a body being read, as CoHTTP's `Transfer.chunk`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Chunk {
    /// Data, and more may follow.
    Chunk(Vec<u8>),
    /// The last data of the body: nothing more should be read.
    FinalChunk(Vec<u8>),
    /// No more body data.
    Done,
}

/// CoHTTP's `Transfer.string_of_encoding`: `"chunked"`, `"fixed[N]"` or
/// `"unknown"` (a human-readable form, not a header value).
pub fn string_of_encoding(encoding: &Encoding) -> String {
    match encoding {
        Encoding::Chunked => "chunked".to_owned(),
        Encoding::Fixed(n) => format!("fixed[{n}]"),
        Encoding::Unknown => "unknown".to_owned(),
    }
}

/// CoHTTP's `Transfer.has_body`: `Fixed 0` has no body, `Chunked` and other
/// fixed lengths have one, and `Unknown` stays unknown.
pub fn has_body(encoding: &Encoding) -> HasBody {
    match encoding {
        Encoding::Fixed(0) => HasBody::No,
        Encoding::Chunked | Encoding::Fixed(_) => HasBody::Yes,
        Encoding::Unknown => HasBody::Unknown,
    }
}

/// CoHTTP's `Http.Transfer.compare_encoding`, OCaml's structural order:
/// constant constructors sort before constructors with arguments, so
/// `Chunked < Unknown < Fixed _`, and fixed lengths compare by value.
pub fn compare_encoding(a: &Encoding, b: &Encoding) -> Ordering {
    fn rank(e: &Encoding) -> (u8, u64) {
        match e {
            Encoding::Chunked => (0, 0),
            Encoding::Unknown => (1, 0),
            Encoding::Fixed(n) => (2, *n),
        }
    }
    rank(a).cmp(&rank(b))
}

impl fmt::Display for Encoding {
    /// Writes [`string_of_encoding`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&string_of_encoding(self))
    }
}

impl Encoding {
    /// Method form of [`has_body`].
    pub fn has_body(&self) -> HasBody {
        has_body(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ocaml_order_puts_constant_constructors_first() {
        assert_eq!(
            compare_encoding(&Encoding::Unknown, &Encoding::Fixed(0)),
            Ordering::Less
        );
        assert_eq!(
            compare_encoding(&Encoding::Chunked, &Encoding::Unknown),
            Ordering::Less
        );
        assert_eq!(
            compare_encoding(&Encoding::Fixed(2), &Encoding::Fixed(1)),
            Ordering::Greater
        );
    }

    #[test]
    fn has_body_by_encoding() {
        assert_eq!(has_body(&Encoding::Fixed(0)), HasBody::No);
        assert_eq!(has_body(&Encoding::Fixed(1)), HasBody::Yes);
        assert_eq!(has_body(&Encoding::Chunked), HasBody::Yes);
        assert_eq!(has_body(&Encoding::Unknown), HasBody::Unknown);
        assert_eq!(Encoding::Fixed(7).to_string(), "fixed[7]");
    }
}
