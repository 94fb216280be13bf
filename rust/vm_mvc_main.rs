// SPDX-License-Identifier: GPL-2.0

//! vm_mvc: zero, zero-and-protect, read or write a partial page of a file.
//!
//! The Linux counterpart of the AIX kernel service `vm_mvc`, for filesystems
//! that handle end-of-file, holes and fragments page by page.  See
//! `Documentation/vm_mvc.rst`.

use kernel::prelude::*;

mod command;

module! {
    type: VmMvcModule,
    name: "vm_mvc",
    authors: ["vm_mvc developers"],
    description: "Partial-page zero, read and write on page-cache folios (AIX vm_mvc)",
    license: "GPL",
}

struct VmMvcModule;

impl kernel::Module for VmMvcModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("loaded\n");
        Ok(VmMvcModule)
    }
}
