// SPDX-License-Identifier: GPL-2.0
//! Numbers on the command line: a plain count, or bytes with a K/M/G suffix.

use std::fmt;

/// A filesystem size as given to mkfs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeArg {
    /// A plain number: blocks of the chosen block size.
    Blocks(u64),
    /// A number with a K, M or G suffix (powers of 1024): bytes.
    Bytes(u64),
}

/// Why a number on the command line is not one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NumberError {
    /// Not digits (with an optional suffix where one is allowed).
    Malformed(String),
    /// Larger than 2^64 - 1.
    TooLarge(String),
}

impl fmt::Display for NumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(text) => write!(f, "\"{text}\" is not a number"),
            Self::TooLarge(text) => write!(f, "\"{text}\" is too large"),
        }
    }
}

/// Parses decimal digits only: no sign, no spaces, no suffix.
pub fn parse_count(text: &str) -> Result<u64, NumberError> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(NumberError::Malformed(text.to_owned()));
    }
    // Only overflow is left once every byte is a digit.
    text.parse()
        .map_err(|_| NumberError::TooLarge(text.to_owned()))
}

/// Parses a size: digits, optionally followed by K, M or G (either case).
pub fn parse_size(text: &str) -> Result<SizeArg, NumberError> {
    let shift = match text.chars().last() {
        Some('k' | 'K') => 10,
        Some('m' | 'M') => 20,
        Some('g' | 'G') => 30,
        _ => return parse_count(text).map(SizeArg::Blocks),
    };
    let digits = &text[..text.len() - 1];
    let number = parse_count(digits).map_err(|error| match error {
        NumberError::Malformed(_) => NumberError::Malformed(text.to_owned()),
        NumberError::TooLarge(_) => NumberError::TooLarge(text.to_owned()),
    })?;
    number
        .checked_mul(1 << shift)
        .map(SizeArg::Bytes)
        .ok_or_else(|| NumberError::TooLarge(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(parse_count("0"), Ok(0));
        assert_eq!(parse_count("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            parse_count("18446744073709551616"),
            Err(NumberError::TooLarge("18446744073709551616".into()))
        );
        for bad in ["", "-1", "+1", " 1", "1k", "0x10", "1.5"] {
            assert_eq!(
                parse_count(bad),
                Err(NumberError::Malformed(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(SizeArg::Blocks(4096)));
        assert_eq!(parse_size("64k"), Ok(SizeArg::Bytes(65536)));
        assert_eq!(parse_size("64K"), Ok(SizeArg::Bytes(65536)));
        assert_eq!(parse_size("2M"), Ok(SizeArg::Bytes(2 << 20)));
        assert_eq!(parse_size("1g"), Ok(SizeArg::Bytes(1 << 30)));
        assert_eq!(parse_size("K"), Err(NumberError::Malformed("K".into())));
        assert_eq!(parse_size("1T"), Err(NumberError::Malformed("1T".into())));
        assert_eq!(parse_size("1kk"), Err(NumberError::Malformed("1kk".into())));
        assert_eq!(
            parse_size("17179869184G"),
            Err(NumberError::TooLarge("17179869184G".into()))
        );
    }
}
