// SPDX-License-Identifier: GPL-2.0

//! The calls [`crate::iter`] makes on a caller's `iov_iter` and on the
//! current task, beside the copies (which are [`crate::folio`]'s), as safe
//! functions: `kernel::iov` has no fault-in, `kernel::task` no fatal-signal
//! test.

use crate::sys;
use kernel::{bindings, iov::IovIterSource};

/// What `kernel::iov::IovIterSource` lacks.
pub(crate) trait IovIterSourceExt {
    /// Faults in the first `bytes` bytes of the iterator's memory for
    /// reading (`fault_in_iov_iter_readable`), without advancing it; the
    /// bytes that could not be faulted in (0 when all are resident).
    fn fault_in_readable(&mut self, bytes: usize) -> usize;
}

impl IovIterSourceExt for IovIterSource<'_> {
    fn fault_in_readable(&mut self, bytes: usize) -> usize {
        // SAFETY: `self` holds a valid `ITER_SOURCE` iterator (its type's
        // invariant), borrowed mutably for the call; the fault-in only
        // reads the iterator's segments.
        unsafe { bindings::fault_in_iov_iter_readable(self.as_raw(), bytes) }
    }
}

/// Whether the current task has a fatal signal pending
/// (`fatal_signal_pending(current)`).
pub(crate) fn fatal_signal_pending() -> bool {
    let task = kernel::current!().as_ptr();
    // SAFETY: `current` is a live task for the call.
    unsafe { sys::vm_mvc_fatal_signal_pending(task) }
}
