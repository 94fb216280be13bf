// SPDX-License-Identifier: GPL-2.0

//! The in-memory state of a mounted toyfs (`s_fs_info`): its geometry,
//! the metadata lock with the free counts it protects, and the ratelimit
//! of its error messages.

use crate::{format::geometry::Geometry, format::superblock::Superblock, vfs::RateLimit};
use kernel::{new_mutex, prelude::*, sync::Mutex};

/// The free counts, kept exact in memory while mounted.
pub(crate) struct Counts {
    /// Free data blocks.
    pub(crate) free_blocks: u32,
    /// Free inodes.
    pub(crate) free_inodes: u32,
    /// The bitmap block and byte of the last block allocation, where the
    /// next search starts: a growing file then finds its next block at
    /// once instead of rescanning the full start of the bitmap.
    pub(crate) alloc_hint: (u32, usize),
}

/// The in-memory state of a mounted filesystem (`s_fs_info`).
#[pin_data]
pub(crate) struct SbInfo {
    /// The layout, fixed at mkfs time.
    pub(crate) geometry: Geometry,
    /// The metadata lock and the free counts it protects.
    #[pin]
    pub(crate) counts: Mutex<Counts>,
    /// The ratelimit of the corruption messages about this filesystem
    /// (as ext4's `s_err_ratelimit_state`), so that one damaged
    /// filesystem cannot hide another's errors.
    #[pin]
    pub(crate) errors: RateLimit,
}

impl SbInfo {
    /// The state for a superblock read from the disk.
    pub(crate) fn new(disk: Superblock) -> impl PinInit<Self, Error> {
        try_pin_init!(SbInfo {
            geometry: disk.geometry,
            counts <- new_mutex!(Counts {
                free_blocks: disk.free_blocks,
                free_inodes: disk.free_inodes,
                alloc_hint: (0, 0),
            }),
            errors <- RateLimit::new(),
        }? Error)
    }
}
