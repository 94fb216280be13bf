// SPDX-License-Identifier: GPL-2.0

//! toyfs: a small disk-backed filesystem whose partial-page work (end of
//! file, holes, truncation, mmap) goes through vm_mvc.
//!
//! Its blocks (512 to 4096 bytes, 1024 by default) are smaller than a page,
//! so most pages of a file are made of several blocks, some data, some
//! holes, some past the end of the file.  Documentation/toyfs.rst describes
//! the format and which vm_mvc call each case uses.
//!
//! The files follow ext2's split: `balloc` (blocks), `ialloc` (inodes),
//! `inode` (inodes on disk and block maps), `dir` (entries), `namei`
//! (names), `file` (data in the page cache) and `mount` (the superblock),
//! all safe code under the lock of `meta`, over `format` (the on-disk
//! format) and `vfs` (safe wrappers of kernel objects).  `ops` holds the
//! VFS operation tables and their trampolines, on top of everything.

use kernel::prelude::*;

mod balloc;
mod dir;
mod file;
/// The on-disk format, shared with tools/toyfs-format (which tests it).
#[allow(dead_code, unreachable_pub)]
mod format;
mod ialloc;
mod info;
mod inode;
mod meta;
mod mount;
mod namei;
mod ops;
mod packed;
mod read;
mod tail_owners;
mod tails;
mod vfs;
mod write;
mod writeback;

/// include/vm_mvc.h as bindgen reads it (rust/vm_mvc_client.mk), for the
/// wrapper below.
#[allow(
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    dead_code,
    improper_ctypes,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    unreachable_pub
)]
mod vm_mvc_abi {
    use kernel::bindings::*;
    use kernel::ffi;
    include!("vm_mvc_abi_generated.rs");
}

/// The vm_mvc C ABI, wrapped once (rust/vm_mvc_client.rs).  toyfs uses
/// kernel buffers and locked folios only, not the user-buffer half.
#[allow(dead_code, unreachable_pub)]
#[path = "../../rust/vm_mvc_client.rs"]
mod vm_mvc_client;

/// Bindgen's view of toyfs_helpers.h: the forwarders, and the buffer-head
/// and fs_context declarations the kernel's own bindings lack (see Kbuild).
#[allow(
    clippy::all,
    clippy::cast_lossless,
    clippy::ptr_as_ptr,
    clippy::undocumented_unsafe_blocks,
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    improper_ctypes,
    unreachable_pub,
    unsafe_op_in_unsafe_fn
)]
mod sys {
    use kernel::bindings::*;
    use kernel::ffi;
    // Generated next to this file by Kbuild.
    include!("toyfs_bindings_generated.rs");
}

module! {
    type: ToyfsModule,
    name: "toyfs",
    authors: ["vm_mvc developers"],
    description: "Sample disk-backed filesystem using vm_mvc for partial pages",
    license: "GPL",
}

struct ToyfsModule {
    _registration: ops::FsRegistration,
}

impl kernel::Module for ToyfsModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(Self {
            _registration: {
                vfs::init_mount_log();
                ops::FsRegistration::register(module)?
            },
        })
    }
}
