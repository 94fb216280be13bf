// SPDX-License-Identifier: GPL-2.0
//! Joining the scoped threads of a run.

use std::thread::ScopedJoinHandle;

/// Each thread's result, in the order of `handles`; a thread that
/// panicked is an error of its own, so the others' results still count.
pub(crate) fn join_all<T>(
    handles: Vec<ScopedJoinHandle<'_, Result<T, String>>>,
) -> Vec<Result<T, String>> {
    handles
        .into_iter()
        .map(|handle| {
            handle
                .join()
                .unwrap_or_else(|_| Err("a thread panicked".into()))
        })
        .collect()
}
