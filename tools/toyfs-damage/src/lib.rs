// SPDX-License-Identifier: GPL-2.0
//! Damaged toyfs images on purpose, for the corrupted-image tests of
//! `make check` (scripts/guest/corrupt-tests.sh) and fsck.toyfs's host
//! tests: a source image whose files say whose bytes they are, named
//! damages, a seeded metadata byte-flipper, and the check of what the
//! kernel reads from a mounted damaged image.

pub mod error;
pub mod exercise;
pub mod flip;
pub mod image;
pub mod named;
pub mod pattern;
pub mod reference;
