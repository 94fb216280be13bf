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
            &[image.arg(), "5000000000"],
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
