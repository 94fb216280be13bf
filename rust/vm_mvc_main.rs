// SPDX-License-Identifier: GPL-2.0

//! vm_mvc: zero, zero-and-protect, read or write a partial page of a file.
//!
//! The Linux counterpart of the AIX kernel service `vm_mvc`, for filesystems
//! that handle end-of-file, holes and fragments page by page.  See
//! `Documentation/vm_mvc.rst`.

use kernel::{debugfs, prelude::*};

pub mod abi;
#[cfg(CONFIG_KUNIT)]
mod client_tests;
mod command;
mod folio;
mod iov;
mod iter;
mod mapping;
mod mvc;
mod registry;
mod sid;
mod stats;
#[cfg(CONFIG_KUNIT)]
mod test_fixture;
pub mod vm_mvc_client;
mod xmem;

/// Bindgen's view of include/vm_mvc.h, vm_mvc_helpers.h and the few kernel
/// declarations the kernel's own bindings lack (see rust/Kbuild).
#[allow(
    clippy::all,
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
    // Generated next to this file by rust/Kbuild.
    include!("vm_mvc_bindings_generated.rs");
}

/// What rust/vm_mvc_client.rs calls `vm_mvc_abi`: in a client crate,
/// bindgen's reading of include/vm_mvc.h; here the module's own, which
/// includes it.
use sys as vm_mvc_abi;

module! {
    type: VmMvcModule,
    name: "vm_mvc",
    authors: ["vm_mvc developers"],
    description: "Partial-page zero, read and write on page-cache folios (AIX vm_mvc)",
    license: "GPL",
}

struct VmMvcModule {
    // Dropped before `_dir`: the file goes before its directory, and both
    // before `_counters`, which the file reads.
    _stats: Pin<KBox<debugfs::File<&'static stats::Stats>>>,
    _dir: debugfs::Dir,
    _counters: stats::Registration,
}

impl kernel::Module for VmMvcModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        sid::init();
        let counters = stats::init()?;
        let dir = debugfs::Dir::new(c"vm_mvc");
        let stats = KBox::pin_init(dir.read_only_file(c"stats", stats::get()), GFP_KERNEL)?;
        pr_info!("loaded\n");
        Ok(VmMvcModule {
            _stats: stats,
            _dir: dir,
            _counters: counters,
        })
    }
}

impl Drop for VmMvcModule {
    fn drop(&mut self) {
        #[cfg(CONFIG_KUNIT)]
        test_fixture::restore_leaked_mounts();
        sid::free_all();
    }
}
