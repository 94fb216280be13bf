// SPDX-License-Identifier: GPL-2.0
//! mkfs.toyfs: makes an empty toyfs on an image file or block device.

fn main() {
    std::process::exit(toyfs_tools::mkfs::run(std::env::args().skip(1)));
}
