// SPDX-License-Identifier: GPL-2.0

//! kmemleak_probe: leaks one allocation at load, on purpose.
//!
//! The debug guest's kmemleak self-test (scripts/guest/kmemleak.sh) loads
//! it, scans, and expects kmemleak to report the planted object with a
//! backtrace into this module; only then does "no report" at the end of a
//! run mean that nothing leaked.  Test-only: nothing else loads it.

use kernel::prelude::*;

module! {
    type: KmemleakProbe,
    name: "kmemleak_probe",
    authors: ["vm_mvc developers"],
    description: "Test-only: plants one leak for the kmemleak self-test",
    license: "GPL",
}

/// Bytes of the planted object (a kmalloc-128 object).
const PLANTED_LEN: usize = 100;
/// Its contents, repeated; kmemleak's hex dump shows the first bytes.
const MARKER: &[u8] = b"kmemleak_probe planted leak ";

struct KmemleakProbe;

impl kernel::Module for KmemleakProbe {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let mut planted = KVec::with_capacity(PLANTED_LEN, GFP_KERNEL)?;
        for byte in MARKER.iter().cycle().take(PLANTED_LEN) {
            planted.push(*byte, GFP_KERNEL)?;
        }
        // The leak: the only pointer to the buffer is dropped here, and
        // nothing this module keeps (it keeps nothing) refers to it.
        let (address, _, _) = planted.into_raw_parts();
        // The address, unhashed: when the self-test finds no report it asks
        // kmemleak about this object (`dump=`), which needs it.
        pr_info!(
            "planted a {PLANTED_LEN}-byte leak at {:#x} for kmemleak to find\n",
            address as usize
        );
        Ok(KmemleakProbe)
    }
}
