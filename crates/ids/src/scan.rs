//! Internal scanning helpers shared by the parsers, plus the macros that
//! implement the common traits of string-like identifiers.

use crate::IdError;

/// Description used in [`IdError::Character`] for digit-only positions.
pub(crate) const A_DIGIT: &str = "a digit";

/// Checks that `s` has between `min` and `max` characters.
///
/// The byte length is looked at first, so that oversized inputs are rejected
/// without inspecting their content beyond a character count. Inputs whose
/// character count is acceptable but which contain non-ASCII characters are
/// let through: the character scan that follows reports the exact culprit.
pub(crate) fn check_len(
    kind: &'static str,
    s: &str,
    min: usize,
    max: usize,
) -> Result<(), IdError> {
    if (min..=max).contains(&s.len()) {
        return Ok(());
    }
    let got = s.chars().count();
    if (min..=max).contains(&got) {
        Ok(())
    } else {
        Err(IdError::Length {
            kind,
            min,
            max,
            got,
        })
    }
}

/// Scans a fixed-length ASCII identifier.
///
/// `rule(index, ch, previous)` is called for each character (0-based
/// `index`, `previous` holds the bytes already accepted) and returns the
/// description of what is expected when `ch` is refused. Non-ASCII
/// characters are always refused.
pub(crate) fn scan<const N: usize>(
    kind: &'static str,
    s: &str,
    rule: impl Fn(usize, char, &[u8]) -> Result<(), &'static str>,
) -> Result<[u8; N], IdError> {
    check_len(kind, s, N, N)?;
    let mut out = [0_u8; N];
    for (index, ch) in s.chars().enumerate() {
        let previous = out.get(..index).unwrap_or(&[]);
        let verdict = rule(index, ch, previous);
        let byte = match (verdict, u8::try_from(ch)) {
            (Ok(()), Ok(byte)) if byte.is_ascii() => byte,
            (Err(expected), _) => {
                return Err(IdError::Character {
                    kind,
                    ch,
                    position: index + 1,
                    expected,
                });
            }
            (Ok(()), _) => {
                return Err(IdError::Character {
                    kind,
                    ch,
                    position: index + 1,
                    expected: "an ASCII character",
                });
            }
        };
        match out.get_mut(index) {
            Some(slot) => *slot = byte,
            // Unreachable: check_len guarantees at most N characters.
            None => {
                return Err(IdError::Length {
                    kind,
                    min: N,
                    max: N,
                    got: s.chars().count(),
                });
            }
        }
    }
    Ok(out)
}

/// Scanning rule accepting only ASCII digits.
pub(crate) fn digit(_index: usize, ch: char, _previous: &[u8]) -> Result<(), &'static str> {
    if ch.is_ascii_digit() {
        Ok(())
    } else {
        Err(A_DIGIT)
    }
}

/// Writes the low `out.len()` decimal digits of `n` into `out`, zero-padded.
pub(crate) fn write_digits(out: &mut [u8], mut n: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Views validated ASCII bytes as `&str`.
pub(crate) fn ascii(bytes: &[u8]) -> &str {
    // Parsers only ever store ASCII, so this never falls back.
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// Numeric value of an ASCII digit (0 for anything else; callers validate).
pub(crate) const fn digit_value(b: u8) -> u8 {
    b.wrapping_sub(b'0') % 10
}

/// Implements `Display`, `FromStr`, `AsRef<str>`, `as_str()` and string
/// serde for a newtype around a `[u8; N]` of validated ASCII.
macro_rules! string_id {
    ($ty:ident, $expecting:literal) => {
        impl $ty {
            /// The canonical string form.
            #[must_use]
            pub fn as_str(&self) -> &str {
                $crate::scan::ascii(&self.0)
            }
        }

        impl ::core::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::core::convert::AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl ::core::str::FromStr for $ty {
            type Err = $crate::IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        $crate::scan::string_serde!($ty, $expecting);
    };
}

/// Implements serde `Serialize` (as its `Display` string) and `Deserialize`
/// (through the type's `FromStr`, i.e. its strict parser).
macro_rules! string_serde {
    ($ty:ty, $expecting:literal) => {
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                struct Visitor;
                impl ::serde::de::Visitor<'_> for Visitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: ::serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        v.parse().map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(Visitor)
            }
        }
    };
}

pub(crate) use {string_id, string_serde};
