// SPDX-License-Identifier: GPL-2.0
//! fsck.toyfs: checks a toyfs image or block device, read-only.

fn main() {
    std::process::exit(toyfs_tools::fsck::run(std::env::args().skip(1)));
}
