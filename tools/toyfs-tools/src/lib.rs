// SPDX-License-Identifier: GPL-2.0
//! Command-line front ends of mkfs.toyfs and fsck.toyfs; the binaries in
//! `src/bin` only call [`mkfs::run`] and [`fsck::run`].

pub mod fsck;
pub mod mkfs;
pub mod size;
