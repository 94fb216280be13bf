// SPDX-License-Identifier: GPL-2.0

//! Ratelimits of toyfs's log messages: the kernel's `ratelimit_state`
//! (at most `DEFAULT_RATELIMIT_BURST` messages every
//! `DEFAULT_RATELIMIT_INTERVAL`, then one "callbacks suppressed" line
//! with the count), so that a damaged image or a bad mount loop cannot
//! flood the log.

use crate::sys;
use kernel::{bindings, prelude::*, str::CStr, types::Opaque};

/// A ratelimit of log messages.
#[pin_data]
pub(crate) struct RateLimit {
    #[pin]
    state: Opaque<bindings::ratelimit_state>,
}

// SAFETY: `___ratelimit` serialises its updates with the state's own
// lock, so the state may be shared by threads.
unsafe impl Sync for RateLimit {}

// SAFETY: The state holds no reference to its thread.
unsafe impl Send for RateLimit {}

impl RateLimit {
    /// A ratelimit with the kernel's default interval and burst.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `ratelimit_default_init` fully initialises the
            // state it is given.
            state <- Opaque::ffi_init(|state| unsafe { sys::toyfs_ratelimit_default_init(state) }),
        })
    }

    /// Whether a message may be logged now; `who` names the suppressed
    /// messages when their count is reported.
    pub(crate) fn allow(&self, who: &CStr) -> bool {
        // SAFETY: The state was initialised by `new`, and `who` is a
        // NUL-terminated string that outlives the call.
        unsafe { bindings::___ratelimit(self.state.get(), who.as_char_ptr()) != 0 }
    }
}

/// The ratelimit of messages logged before a filesystem is mounted, or
/// about no filesystem in particular.
pub(crate) struct MountLog(Opaque<bindings::ratelimit_state>);

// SAFETY: As for `RateLimit`.
unsafe impl Sync for MountLog {}

/// The one `MountLog`; `init_mount_log` sets it up at module load.
pub(crate) static MOUNT_LOG: MountLog = MountLog(Opaque::uninit());

/// Sets up `MOUNT_LOG`.  Called once by module init, before the
/// filesystem type is registered and anything can log.
pub(crate) fn init_mount_log() {
    // SAFETY: Module init runs once, before any other use of the state.
    unsafe { sys::toyfs_ratelimit_default_init(MOUNT_LOG.0.get()) };
}

impl MountLog {
    /// Whether a message may be logged now.
    pub(crate) fn allow(&self) -> bool {
        // SAFETY: `init_mount_log` set the state up before the filesystem
        // type was registered, and the name is a static C string.
        unsafe { bindings::___ratelimit(self.0.get(), c"toyfs".as_char_ptr()) != 0 }
    }
}

/// Logs a ratelimited error about no filesystem in particular (a mount
/// attempt, or the module).
macro_rules! toyfs_err {
    ($($arg:tt)*) => {
        if $crate::vfs::MOUNT_LOG.allow() {
            kernel::pr_err!($($arg)*);
        }
    };
}
pub(crate) use toyfs_err;
