// SPDX-License-Identifier: GPL-2.0
//! Symbolic links and special files (the SPECIAL_FILES feature): what the
//! writer makes is clean and reads back, the feature is set only when the
//! first one is made, and fsck finds what is wrong with them.

mod support;

use support::{edit_inode, empty, empty_with, findings, geometry, read_inode, NOW};
use toyfs_format::check::{check, Finding};
use toyfs_format::constants::ROOT_INO;
use toyfs_format::dirent::{dirent_type, parse_dir_block};
use toyfs_format::features::Features;
use toyfs_format::inode::{decode_dev, encode_dev, InodeProblem};
use toyfs_format::{BlockDevice, FileType, Filesystem, FsError, MemoryDevice};

/// The `file_type` byte of entry `name` of the root directory.
fn entry_type(device: &MemoryDevice, name: &[u8]) -> u8 {
    let fs = Filesystem::open(device.clone(), NOW).unwrap();
    let root = fs.read_inode(ROOT_INO).unwrap();
    let geometry = *fs.geometry();
    let extent = geometry.decode_pointer(root.direct[0]).unwrap();
    let mut block = vec![0u8; root.size.min(u64::from(geometry.block_size())) as usize];
    device
        .read_at(extent.byte_offset(&geometry), &mut block)
        .unwrap();
    parse_dir_block(&block)
        .unwrap()
        .into_iter()
        .find(|entry| entry.name == name)
        .unwrap()
        .file_type
}

fn every_kind(device: MemoryDevice) -> (MemoryDevice, [u32; 6]) {
    let mut fs = Filesystem::open(device, NOW).unwrap();
    let long = vec![b'x'; 4095];
    let inos = [
        fs.symlink(ROOT_INO, b"short", b"target").unwrap(),
        fs.symlink(ROOT_INO, b"long", &long).unwrap(),
        fs.mknod(ROOT_INO, b"fifo", FileType::Fifo, 0o644, 0)
            .unwrap(),
        fs.mknod(ROOT_INO, b"sock", FileType::Socket, 0o600, 0)
            .unwrap(),
        fs.mknod(
            ROOT_INO,
            b"chr",
            FileType::CharDevice,
            0o600,
            encode_dev(1, 3),
        )
        .unwrap(),
        fs.mknod(
            ROOT_INO,
            b"blk",
            FileType::BlockDevice,
            0o600,
            encode_dev(259, 0x12345),
        )
        .unwrap(),
    ];
    (fs.close().unwrap(), inos)
}

#[test]
fn every_kind_is_clean_and_reads_back_at_every_block_size() {
    for block_size in [512, 1024, 4096] {
        for features in [Features::NONE, Features::fragments(block_size / 8)] {
            let device = empty_with(block_size, 256, 32, features);
            assert!(!geometry(&device).has_special_files());
            let (device, [short, long, fifo, sock, chr, blk]) = every_kind(device);
            assert_eq!(findings(&device), [], "{block_size} {features:?}");
            assert!(geometry(&device).has_special_files());
            let fs = Filesystem::open(device.clone(), NOW).unwrap();
            assert_eq!(fs.read(short, 0, 4096).unwrap(), b"target");
            assert_eq!(fs.read(long, 0, 8192).unwrap(), vec![b'x'; 4095]);
            for (ino, file_type, name) in [
                (short, FileType::Symlink, &b"short"[..]),
                (fifo, FileType::Fifo, b"fifo"),
                (sock, FileType::Socket, b"sock"),
                (chr, FileType::CharDevice, b"chr"),
                (blk, FileType::BlockDevice, b"blk"),
            ] {
                let inode = fs.read_inode(ino).unwrap();
                assert_eq!(inode.file_type(), Some(file_type));
                assert_eq!(entry_type(&device, name), dirent_type(file_type));
            }
            assert_eq!(decode_dev(fs.read_inode(chr).unwrap().rdev()), (1, 3));
            assert_eq!(
                decode_dev(fs.read_inode(blk).unwrap().rdev()),
                (259, 0x12345)
            );
            let special = fs.read_inode(blk).unwrap();
            assert_eq!((special.size, special.blocks), (0, 0));
        }
    }
}

#[test]
fn the_summary_counts_every_kind() {
    let (device, _) = every_kind(empty(1024, 256, 32));
    let summary = check(&device).unwrap().summary.unwrap();
    assert_eq!(summary.inodes_in_use, 7);
    // Files, directories, symbolic links, character and block devices,
    // FIFOs, sockets.
    assert_eq!(
        summary.by_type().map(|(count, _)| count),
        [0, 1, 2, 1, 1, 1, 1]
    );
}

#[test]
fn file_types_of_the_host_in_words() {
    use std::fs;
    let dir = std::env::temp_dir().join(format!("toyfs-format-types-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("file"), b"x").unwrap();
    fs::create_dir(dir.join("dir")).unwrap();
    std::os::unix::fs::symlink("file", dir.join("link")).unwrap();
    drop(std::os::unix::net::UnixListener::bind(dir.join("sock")).unwrap());
    let word =
        |path: &std::path::Path| FileType::word_of(fs::symlink_metadata(path).unwrap().file_type());
    let words = ["file", "dir", "link", "sock"].map(|name| word(&dir.join(name)));
    fs::remove_dir_all(&dir).unwrap();
    assert_eq!(words, ["regular", "directory", "symlink", "socket"]);
    assert_eq!(word("/dev/null".as_ref()), "character");
}

#[test]
fn bad_targets_and_types_are_refused_and_change_nothing() {
    let device = empty(1024, 64, 16);
    let mut fs = Filesystem::open(device.clone(), NOW).unwrap();
    for target in [&b""[..], b"a\0b", &[b'y'; 4096]] {
        assert!(matches!(
            fs.symlink(ROOT_INO, b"bad", target),
            Err(FsError::BadSymlinkTarget { .. })
        ));
    }
    for file_type in [FileType::Regular, FileType::Directory, FileType::Symlink] {
        assert!(matches!(
            fs.mknod(ROOT_INO, b"bad", file_type, 0o644, 0),
            Err(FsError::NotASpecialType)
        ));
    }
    assert!(fs.close().unwrap().bytes() == device.bytes());
}

#[test]
fn fsck_finds_damaged_special_files() {
    let (device, [short, _, fifo, _, chr, _]) = every_kind(empty(1024, 256, 32));
    // A NUL in the target.
    let mut damaged = device.clone();
    let geometry = geometry(&damaged);
    let extent = geometry
        .decode_pointer(read_inode(&damaged, short).direct[0])
        .unwrap();
    let offset = extent.byte_offset(&geometry) + 2;
    damaged.write_at(offset, &[0]).unwrap();
    assert_eq!(
        findings(&damaged),
        [Finding::SymlinkTargetNul {
            ino: short,
            offset: 2
        }]
    );
    // A size past the target: the zeros after it, then a hole.
    let mut damaged = device.clone();
    edit_inode(&mut damaged, short, |inode| inode.size = 2000);
    assert!(findings(&damaged).contains(&Finding::SymlinkTargetNul {
        ino: short,
        offset: 6
    }));
    // An empty symbolic link.
    let mut damaged = device.clone();
    edit_inode(&mut damaged, short, |inode| inode.size = 0);
    assert!(findings(&damaged).contains(&Finding::InodeField {
        ino: short,
        problem: InodeProblem::SymlinkSize { size: 0 }
    }));
    // A FIFO with a size; a device with a second pointer.
    for (ino, edit) in [
        (
            fifo,
            (|inode: &mut toyfs_format::Inode| inode.size = 10) as fn(&mut _),
        ),
        (chr, |inode| inode.direct[1] = 9),
    ] {
        let mut damaged = device.clone();
        edit_inode(&mut damaged, ino, edit);
        assert_eq!(
            findings(&damaged),
            [Finding::InodeField {
                ino,
                problem: InodeProblem::SpecialWithBlocks
            }]
        );
    }
    // The whole image without the feature: every one of them refused.
    let mut damaged = device.clone();
    support::edit_superblock(&mut damaged, |bytes| bytes[60] &= !0x4);
    let report = check(&damaged).unwrap();
    let refused = report
        .findings
        .iter()
        .filter(|finding| {
            matches!(
                finding,
                Finding::InodeField {
                    problem: InodeProblem::SpecialWithoutFeature { .. },
                    ..
                }
            )
        })
        .count();
    assert_eq!(refused, 6);
}
