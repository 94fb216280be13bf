// SPDX-License-Identifier: GPL-2.0
//! The two programs as a user runs them: files on disk, exit statuses,
//! messages.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

const MKFS: &str = env!("CARGO_BIN_EXE_mkfs-toyfs");
const FSCK: &str = env!("CARGO_BIN_EXE_fsck-toyfs");

/// A file name in the temporary directory, removed when dropped.
struct TempPath(PathBuf);

impl TempPath {
    fn new(label: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let unique = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("toyfs-cli-{}-{unique}-{label}.img", std::process::id());
        let path = std::env::temp_dir().join(name);
        let _ = fs::remove_file(&path);
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn mkfs_then_fsck_is_clean_at_every_block_size() {
    for (block_size, size) in [
        ("512", "300"),
        ("1024", "1M"),
        ("2048", "4096K"),
        ("4096", "64M"),
    ] {
        let image = TempPath::new(block_size);
        let made = run(MKFS, &["-b", block_size, image.arg(), size]);
        assert_eq!(made.status.code(), Some(0), "{}", stderr(&made));
        let checked = run(FSCK, &["-n", "-v", image.arg()]);
        assert_eq!(checked.status.code(), Some(0), "{}", stdout(&checked));
        assert!(
            stdout(&checked).ends_with(": clean\n"),
            "{}",
            stdout(&checked)
        );
    }
}

#[test]
fn mkfs_sizes_and_defaults() {
    let image = TempPath::new("default");
    let made = run(MKFS, &[image.arg(), "2M"]);
    assert_eq!(made.status.code(), Some(0), "{}", stderr(&made));
    assert_eq!(fs::metadata(image.path()).unwrap().len(), 2 << 20);
    assert_eq!(
        stdout(&made),
        format!(
            "{}: 2048 blocks of 1024 bytes, 512 inodes, 66 metadata blocks, 1981 blocks free\n",
            image.arg()
        )
    );
    // Without SIZE an existing file is used whole; a larger one is not shrunk.
    let made = run(MKFS, &["-q", "-b", "4096", "-N", "20", image.arg()]);
    assert_eq!(made.status.code(), Some(0), "{}", stderr(&made));
    assert_eq!(stdout(&made), "");
    let made = run(MKFS, &["-q", "-b", "512", image.arg(), "100"]);
    assert_eq!(made.status.code(), Some(0), "{}", stderr(&made));
    assert_eq!(fs::metadata(image.path()).unwrap().len(), 2 << 20);
    assert_eq!(run(FSCK, &[image.arg()]).status.code(), Some(0));
}

#[test]
fn mkfs_refusals() {
    let image = TempPath::new("refusals");
    let cases: [(&[&str], &str); 11] = [
        (
            &["-b", "1000", image.arg(), "1M"],
            "block size 1000 is not a power of two",
        ),
        (
            &["-b", "8192", image.arg(), "1M"],
            "block size 8192 is out of range (512 to 4096)",
        ),
        (
            &["-b", "256", image.arg(), "1M"],
            "block size 256 is out of range",
        ),
        (&["-N", "0", image.arg(), "1M"], "inode count is 0"),
        (
            &["-N", "100000", image.arg(), "64"],
            "100000 inodes do not fit",
        ),
        (
            &[image.arg(), "3"],
            "3 blocks cannot hold the metadata and the root directory",
        ),
        (
            &["-b", "2048", image.arg(), "1K"],
            "size 1024 bytes is not a multiple of the block size 2048",
        ),
        (&[image.arg()], "is empty or does not exist: give a SIZE"),
        (
            &["-b", "1024", image.arg(), "5000000000"],
            "5000000000 blocks is more than",
        ),
        (&["-x", image.arg(), "1M"], "unknown option \"-x\""),
        (
            &[image.arg(), "1M", "extra"],
            "unexpected argument \"extra\"",
        ),
    ];
    for (args, message) in cases {
        let output = run(MKFS, args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(!image.path().exists(), "{args:?} must not create the image");
    }
    let output = run(MKFS, &["-b"]);
    assert!(stderr(&output).contains("option -b needs a value"));
    let output = run(MKFS, &["-N", "x1", "img"]);
    assert!(stderr(&output).contains("inode count: \"x1\" is not a number"));
    let output = run(MKFS, &["-N", "4294967296", "img"]);
    assert!(stderr(&output).contains("inode count 4294967296 is larger than 4294967295"));
    let output = run(MKFS, &["/dev/null", "1M"]);
    assert!(stderr(&output).contains("/dev/null is neither a regular file nor a block device"));
    let help = run(MKFS, &["-h"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).starts_with("usage: mkfs.toyfs"));
}

#[test]
fn mkfs_keeps_a_sparse_image_sparse_and_zeroes_old_metadata() {
    use std::os::unix::fs::MetadataExt;
    // 1 GiB of 1 KiB blocks: a 32 MiB inode table (one inode per 4 KiB),
    // which reads as zeros in a new sparse file and is not written.
    let image = TempPath::new("sparse");
    assert_eq!(
        run(MKFS, &["-q", "-b", "1024", image.arg(), "1G"])
            .status
            .code(),
        Some(0)
    );
    let allocated = fs::metadata(image.path()).unwrap().blocks() * 512;
    assert!(
        allocated <= 1 << 20,
        "{allocated} bytes allocated to a new 1 GiB image"
    );
    assert_eq!(run(FSCK, &["-n", image.arg()]).status.code(), Some(0));
    // 4 GiB with 128-byte fragments: a 4 MiB bitmap, only its first and
    // last blocks not zeros.
    let fragments = TempPath::new("sparse-lz4");
    assert_eq!(
        run(
            MKFS,
            &["-q", "-b", "1024", "-c", "lz4", fragments.arg(), "4G"]
        )
        .status
        .code(),
        Some(0)
    );
    let allocated = fs::metadata(fragments.path()).unwrap().blocks() * 512;
    assert!(
        allocated <= 1 << 20,
        "{allocated} bytes allocated to a new 4 GiB image with fragments"
    );

    // An image that held something: every metadata byte that is not a
    // zero is written (old inodes in the table would be files again).
    let old = TempPath::new("old");
    fs::write(old.path(), vec![0xa5u8; 4 << 20]).unwrap();
    assert_eq!(run(MKFS, &["-q", old.arg()]).status.code(), Some(0));
    let fsck = run(FSCK, &["-n", "-f", old.arg()]);
    assert_eq!(fsck.status.code(), Some(0), "{}", stdout(&fsck));
    let bytes = fs::read(old.path()).unwrap();
    // 4096 blocks: superblock, one bitmap block, 1024 inodes in 128
    // blocks from block 2; the root inode is the table's first 128 bytes.
    let table = &bytes[2 * 1024 + 128..130 * 1024];
    assert!(
        table.iter().all(|&byte| byte == 0),
        "old inode-table bytes survive"
    );
}

#[test]
fn fsck_of_a_large_image_needs_little_memory() {
    // 4 GiB of 1 KiB blocks: a million inodes, 128 MiB of inode table.
    // fsck reads it a chunk at a time and keeps records of the inodes in
    // use only, so 64 MiB of address space is enough (it held the whole
    // table and a record of every inode: about 290 MiB).
    let image = TempPath::new("large");
    assert_eq!(
        run(MKFS, &["-q", "-b", "1024", image.arg(), "4G"])
            .status
            .code(),
        Some(0)
    );
    let limited = Command::new("sh")
        .args([
            "-c",
            "ulimit -v 65536 && exec \"$0\" -n \"$1\"",
            FSCK,
            image.arg(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        limited.status.code(),
        Some(0),
        "{}{}",
        stdout(&limited),
        stderr(&limited)
    );
    assert!(stdout(&limited).contains("clean"), "{}", stdout(&limited));
}

#[test]
fn mkfs_of_the_largest_image_needs_little_memory() {
    // 2^32 - 1 blocks of 512 bytes: a 512 MiB bitmap, written a block at
    // a time where it has a bit set (it was built whole in memory).
    let image = TempPath::new("largest");
    let output = Command::new("sh")
        .args([
            "-c",
            "ulimit -v 65536 && exec \"$0\" -q -b 512 -N 16 \"$1\" 4294967295",
            MKFS,
            image.arg(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let metadata = fs::metadata(image.path()).unwrap();
    assert_eq!(metadata.len(), 4294967295 * 512);
    {
        use std::os::unix::fs::MetadataExt;
        assert!(
            metadata.blocks() * 512 <= 1 << 20,
            "{} sectors",
            metadata.blocks()
        );
    }
}

#[test]
fn fsck_exit_statuses() {
    let image = TempPath::new("fsck");
    assert_eq!(run(MKFS, &["-q", image.arg(), "1M"]).status.code(), Some(0));

    // Bitmap byte 100 marks blocks 800..808 used: eight leaks, and the free count is wrong.
    let mut bytes = fs::read(image.path()).unwrap();
    bytes[1024 + 100] = 0xff;
    fs::write(image.path(), &bytes).unwrap();
    let damaged = run(FSCK, &[image.arg()]);
    assert_eq!(damaged.status.code(), Some(4));
    let report = stdout(&damaged);
    assert!(
        report.contains("block 800 is marked in use but no inode uses it"),
        "{report}"
    );
    assert!(
        report.ends_with("9 errors found, left uncorrected\n"),
        "{report}"
    );
    // Read-only: the damage is still there.
    assert_eq!(fs::read(image.path()).unwrap(), bytes);

    bytes[0] = b'X';
    fs::write(image.path(), &bytes).unwrap();
    let not_toyfs = run(FSCK, &[image.arg()]);
    assert_eq!(not_toyfs.status.code(), Some(4));
    assert!(stdout(&not_toyfs).contains("not a toyfs image"));

    let missing = run(FSCK, &["/nonexistent/toyfs.img"]);
    assert_eq!(missing.status.code(), Some(8));
    assert!(stderr(&missing).contains("/nonexistent/toyfs.img"));

    for args in [
        &["-y", image.arg()][..],
        &["-p", image.arg()],
        &[],
        &["a", "b"],
        &["-z", "a"],
    ] {
        assert_eq!(run(FSCK, args).status.code(), Some(16), "{args:?}");
    }
    assert!(stderr(&run(FSCK, &["-y", "a"])).contains("asks for repair"));
}

/// A directory tree in the temporary directory, removed when dropped.
struct TempTree(PathBuf);

impl Drop for TempTree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Files of [`tree`]: path and contents.
fn tree_files() -> Vec<(&'static str, Vec<u8>)> {
    let text: Vec<u8> = b"mkfs.toyfs -d copies a tree, as mke2fs -d does. "
        .iter()
        .cycle()
        .take(10_000)
        .copied()
        .collect();
    let mut sparse = vec![0u8; 3 * 4096 + 100];
    sparse[..5].copy_from_slice(b"start");
    sparse[3 * 4096 + 95..].copy_from_slice(b"end\n\n");
    vec![
        ("empty", Vec::new()),
        ("small", b"a small file\n".to_vec()),
        ("text", text),
        ("sparse", sparse),
        ("dir/nested", b"nested\n".to_vec()),
        ("dir/sub/deep", vec![b'x'; 5000]),
    ]
}

fn tree() -> TempTree {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let unique = NEXT.fetch_add(1, Ordering::Relaxed);
    let root = std::env::temp_dir().join(format!("toyfs-cli-tree-{}-{unique}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(root.join("dir/sub")).unwrap();
    for (path, bytes) in tree_files() {
        fs::write(root.join(path), bytes).unwrap();
    }
    fs::hard_link(root.join("small"), root.join("dir/hardlink")).unwrap();
    std::os::unix::fs::symlink("small", root.join("symlink")).unwrap();
    std::os::unix::fs::symlink("symlink", root.join("dir/symlink-hardlink-source")).unwrap();
    fs::hard_link(
        root.join("dir/symlink-hardlink-source"),
        root.join("dir/symlink-hardlink"),
    )
    .unwrap();
    // A socket (std makes one without root; devices would need it).
    drop(std::os::unix::net::UnixListener::bind(root.join("dir/socket")).unwrap());
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(root.join("dir/nested"), fs::Permissions::from_mode(0o600)).unwrap();
    TempTree(root)
}

#[test]
fn mkfs_populates_from_a_directory_with_and_without_fragments_and_lz4() {
    use toyfs_format::constants::ROOT_INO;
    use toyfs_format::{FileDevice, Filesystem, Timestamp};
    let source = tree();
    let source_arg = source.0.to_str().unwrap();
    for options in [
        &["-b", "1024"][..],
        &["-b", "4096", "-f", "512"],
        &["-b", "4096", "-f", "512", "-c", "lz4"],
        &["-b", "1024", "-c", "lz4"],
    ] {
        let image = TempPath::new("populated");
        let mut args = options.to_vec();
        args.extend(["-d", source_arg, image.arg(), "4M"]);
        let output = run(MKFS, &args);
        assert!(output.status.success(), "{options:?}: {}", stderr(&output));
        assert_eq!(stderr(&output), "", "{options:?}");
        assert!(
            stdout(&output).contains("copied 6 files (")
                && stdout(&output)
                    .contains(", 2 directories and 3 symbolic links and special files"),
            "{}",
            stdout(&output)
        );
        let fsck = run(FSCK, &["-f", "-v", image.arg()]);
        assert_eq!(
            fsck.status.code(),
            Some(0),
            "{options:?}: {}",
            stdout(&fsck)
        );
        // Every inode in use is counted by its type: the hard links once.
        assert!(
            stdout(&fsck).contains(
                " inodes (6 files, 3 directories, 2 symbolic links, 0 character devices, \
                 0 block devices, 0 FIFOs, 1 sockets), "
            ),
            "{options:?}: {}",
            stdout(&fsck)
        );
        let file = fs::File::open(image.path()).unwrap();
        let fs = Filesystem::open(FileDevice::new(file), Timestamp::default()).unwrap();
        let resolve = |path: &str| {
            path.split('/').fold(ROOT_INO, |dir, name| {
                fs.lookup(dir, name.as_bytes()).unwrap().unwrap()
            })
        };
        for (path, bytes) in tree_files() {
            let ino = resolve(path);
            assert!(
                fs.read(ino, 0, usize::MAX).unwrap() == bytes,
                "{options:?}: {path}"
            );
        }
        assert_eq!(resolve("dir/hardlink"), resolve("small"));
        assert_eq!(fs.read_inode(resolve("small")).unwrap().nlink, 2);
        use toyfs_format::FileType;
        assert!(fs.geometry().has_special_files());
        let symlink = resolve("symlink");
        assert_eq!(
            fs.read_inode(symlink).unwrap().file_type(),
            Some(FileType::Symlink)
        );
        assert_eq!(fs.read(symlink, 0, usize::MAX).unwrap(), b"small");
        assert_eq!(
            resolve("dir/symlink-hardlink"),
            resolve("dir/symlink-hardlink-source")
        );
        assert_eq!(
            fs.read_inode(resolve("dir/symlink-hardlink"))
                .unwrap()
                .nlink,
            2
        );
        assert_eq!(
            fs.read_inode(resolve("dir/socket")).unwrap().file_type(),
            Some(FileType::Socket)
        );
        assert_eq!(
            fs.read_inode(resolve("dir/nested")).unwrap().mode,
            0o100_600
        );
        // Blocks of zeros stay holes.
        let sparse = resolve("sparse");
        let inode = fs.read_inode(sparse).unwrap();
        let block_size = fs.geometry().block_size();
        assert_eq!(
            fs.map_extent(sparse, &inode, u64::from(4096 / block_size))
                .unwrap(),
            None
        );
        let compressed = options.contains(&"lz4");
        let text = resolve("text");
        let text_inode = fs.read_inode(text).unwrap();
        assert_eq!(text_inode.flags != 0, compressed, "{options:?}");
        let first = fs.map_extent(text, &text_inode, 0).unwrap().unwrap();
        assert_eq!(first.compressed, compressed, "{options:?}");
    }
}

#[test]
fn mkfs_features_are_printed_and_fsck_counts_fragments() {
    let image = TempPath::new("features");
    let output = run(
        MKFS,
        &["-b", "4096", "-f", "1024", "-c", "lz4", image.arg(), "1M"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("fragments of 1024 bytes, LZ4 compression on by default"),
        "{}",
        stdout(&output)
    );
    let fsck = run(FSCK, &["-v", image.arg()]);
    assert!(stdout(&fsck).contains("fragments"), "{}", stdout(&fsck));
    let refused = run(
        MKFS,
        &["-b", "4096", "-f", "4096", "-c", "lz4", image.arg(), "1M"],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("LZ4 compression needs fragments of at most half a block"),
        "{}",
        stderr(&refused)
    );
    let missing = run(MKFS, &["-d", "/nonexistent-toyfs-tree", image.arg(), "1M"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("cannot read /nonexistent-toyfs-tree"),
        "{}",
        stderr(&missing)
    );
}
