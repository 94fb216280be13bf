// SPDX-License-Identifier: GPL-2.0
//! fsck's accounting of the space in use (fsck.toyfs -v, the space bench):
//! every fragment the inodes name under file data, compressed data,
//! directories or indirect blocks, and the metadata before the data.

use toyfs_format::check::{check, Usage};
use toyfs_format::constants::ROOT_INO;
use toyfs_format::features::Features;
use toyfs_format::Filesystem;

mod support;

use support::{empty_with, noise, NOW};

#[test]
fn fragments_in_use_by_kind() {
    let device = empty_with(4096, 1024, 256, Features::compressed(512));
    let mut fs = Filesystem::open(device, NOW).unwrap();
    fs.mkdir(ROOT_INO, b"d", 0o755).unwrap();
    // 12 direct blocks, then two more through the single indirect block:
    // 13 whole blocks of 8 fragments, a 100-byte tail in 1, and the
    // indirect block (8).  LZ4 does not shrink noise: stored plain.
    let plain = fs.create(ROOT_INO, b"noise", 0o644).unwrap();
    let plain_len = 13 * 4096 + 100;
    fs.write(plain, 0, &noise(0x2545_f491, plain_len)).unwrap();
    // A block of text compressed into fewer than its 8 fragments.
    let packed = fs.create(ROOT_INO, b"text", 0o644).unwrap();
    fs.write(packed, 0, &b"toyfs tail ".repeat(373)[..4096])
        .unwrap();
    let inode = fs.read_inode(packed).unwrap();
    let text_run = fs.map_extent(packed, &inode, 0).unwrap().unwrap();
    assert!(text_run.compressed && text_run.count < 8, "{text_run:?}");
    fs.flush().unwrap();
    let metadata = fs.geometry().first_data_fragment();

    let report = check(fs.device()).unwrap();
    assert_eq!(report.findings, []);
    let summary = report.summary.unwrap();
    assert_eq!(summary.metadata, metadata);
    assert_eq!(
        summary.usage,
        Usage {
            file_data: 13 * 8 + 1 + text_run.count,
            compressed: text_run.count,
            // The root and "d", one fragment each.
            directories: 2,
            indirect: 8,
            file_bytes: plain_len as u64 + 4096,
            ..Usage::default()
        }
    );
    // Every fragment in use is metadata or named by an inode.
    let usage = summary.usage;
    assert_eq!(
        summary.blocks_in_use,
        metadata + usage.file_data + usage.directories + usage.indirect
    );
}
