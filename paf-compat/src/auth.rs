//! CoHTTP's `Auth`: the `Authorization` credential and the
//! `WWW-Authenticate` challenge.
//!
//! Only HTTP Basic is understood, as in CoHTTP; any other credential passes
//! through untouched as [`Credential::Other`].
//! [`Header::add_authorization`](crate::Header::add_authorization) and
//! [`Header::get_authorization`](crate::Header::get_authorization) use these.

use base64::{
    alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
    Engine as _,
};
use std::fmt;

/// An authentication challenge a server sends, as CoHTTP's `Auth.challenge`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Challenge {
    /// Basic authentication within the named realm.
    Basic(String),
}

/// The credentials a client sends, as CoHTTP's `Auth.credential`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Credential {
    /// Basic authorization: user name and password.
    Basic(String, String),
    /// Any credential not understood, passed through as the whole header value.
    Other(String),
}

/// CoHTTP's `Auth.string_of_credential`: the `Authorization` header value.
/// `Basic` is `"Basic "` and the base64 of `user:pass`; `Other` is its text.
pub fn string_of_credential(credential: &Credential) -> String {
    match credential {
        Credential::Basic(user, pass) => {
            format!(
                "Basic {}",
                base64_encode(format!("{user}:{pass}").as_bytes())
            )
        }
        Credential::Other(value) => value.clone(),
    }
}

/// CoHTTP's `Auth.credential_of_string`: reads an `Authorization` value.
///
/// As CoHTTP's `Scanf "Basic %s"`: the value must start with `Basic`
/// (case-sensitive), any whitespace may follow, and the credential is the
/// next run of non-whitespace; text after it is ignored. It must be padded
/// base64 whose decoding holds a `:` (the password is everything after the
/// first one). Anything else, including a decoding that is not UTF-8 (Rust
/// strings are text), gives back the whole input as [`Credential::Other`].
pub fn credential_of_string(value: &str) -> Credential {
    parse_basic(value).unwrap_or_else(|| Credential::Other(value.to_owned()))
}

fn parse_basic(value: &str) -> Option<Credential> {
    let rest = value.strip_prefix("Basic")?;
    let rest = rest.trim_start_matches(is_scanf_space);
    let token = rest.split(is_scanf_space).next().unwrap_or("");
    let decoded = String::from_utf8(base64_decode(token)?).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    Some(Credential::Basic(user.to_owned(), pass.to_owned()))
}

/// The characters OCaml's `Scanf` skips for a space in its format and stops
/// a `%s` at.
fn is_scanf_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// CoHTTP's `Auth.string_of_challenge`: `Basic realm="REALM"`, the realm
/// written as given (CoHTTP does not escape quotes in it either).
pub fn string_of_challenge(challenge: &Challenge) -> String {
    match challenge {
        Challenge::Basic(realm) => format!("Basic realm=\"{realm}\""),
    }
}

impl fmt::Display for Credential {
    /// Writes [`string_of_credential`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&string_of_credential(self))
    }
}

impl fmt::Display for Challenge {
    /// Writes [`string_of_challenge`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&string_of_challenge(self))
    }
}

impl From<&str> for Credential {
    /// [`credential_of_string`]: never fails.
    fn from(value: &str) -> Self {
        credential_of_string(value)
    }
}

/// Standard base64 (RFC 4648 §4) as ocaml-base64 reads and writes it for
/// CoHTTP: padding written, and required where it belongs when read; bits
/// left over in the last character are ignored rather than refused.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);

fn base64_encode(input: &[u8]) -> String {
    BASE64.encode(input)
}

fn base64_decode(input: &str) -> Option<Vec<u8>> {
    BASE64.decode(input).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_test_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64_encode(plain.as_bytes()), encoded);
            assert_eq!(base64_decode(encoded).as_deref(), Some(plain.as_bytes()));
        }
    }

    #[test]
    fn base64_refuses_unpadded_or_misplaced_padding() {
        for bad in ["Zg", "Zg=", "Z===", "Zg==Zg==", "Zm9v!A==", "=Zm9"] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn basic_without_colon_stays_other() {
        // "Zm9v" is "foo": no user/password separator.
        assert_eq!(
            credential_of_string("Basic Zm9v"),
            Credential::Other("Basic Zm9v".into())
        );
    }

    #[test]
    fn challenge_and_credential_wire_forms() {
        assert_eq!(
            string_of_challenge(&Challenge::Basic("paf".into())),
            "Basic realm=\"paf\""
        );
        assert_eq!(
            credential_of_string("Bearer abc"),
            Credential::Other("Bearer abc".into())
        );
        // Scanf's "Basic %s": any whitespace, and text after the token is ignored.
        assert_eq!(
            credential_of_string("Basic \t dTpw extra"),
            Credential::Basic("u".into(), "p".into())
        );
    }
}
