// SPDX-License-Identifier: GPL-2.0

//! The VFS's view of toyfs: the operation tables and the `extern "C"`
//! trampolines that turn each VFS call into a call of the safe
//! filesystem logic.
//!
//! Linux 7.3 has no Rust VFS abstraction, so the tables are built as
//! `rust/kernel/miscdevice.rs` builds its `file_operations`: constant
//! tables of `extern "C"` functions, zero for what toyfs leaves to the
//! VFS.  These files sit above both the logic and the wrappers of `vfs/`;
//! nothing below imports them.

mod aops;
mod export;
mod file;
mod namei;
mod raw;
mod super_ops;

pub(crate) use super_ops::FsRegistration;
