// SPDX-License-Identifier: GPL-2.0
//! Guest-side tester for the toyfs kernel module.
//!
//! ```text
//! toyfs-stress mmap-store FILE OFFSET BYTE
//!     stores BYTE at OFFSET through a shared mapping of FILE's first pages
//!     (OFFSET may lie past the end of the file inside its last page)
//! toyfs-stress punch FILE OFFSET LEN
//!     punches a hole of LEN bytes at OFFSET in FILE
//!     (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
//! toyfs-stress allocate FILE OFFSET LEN
//!     allocates LEN bytes at OFFSET in FILE, keeping its size
//!     (FALLOC_FL_KEEP_SIZE)
//! toyfs-stress zero FILE OFFSET LEN
//!     zeroes LEN bytes at OFFSET in FILE, growing it if they end past it
//!     (FALLOC_FL_ZERO_RANGE)
//! toyfs-stress compr FILE [+c|-c]
//!     with +c or -c, sets or clears FILE's FS_COMPR_FL (as chattr does);
//!     then prints "c" if FILE has it, "-" if not (as lsattr shows it)
//! toyfs-stress run [OPTIONS] SEED OPS DIR [DEVICE]
//!     OPS seeded random operations by several threads on files in DIR,
//!     every read checked against a model (src/run.rs, src/options.rs);
//!     with DEVICE, DIR is unmounted, checked and mounted again between
//!     rounds
//! toyfs-stress eof-race DIR ROUNDS
//!     stores through a mapping past the end of a file while another
//!     thread extends it: none may become file data (src/eof_race.rs)
//! toyfs-stress eof-writeback DIR ROUNDS
//!     stores through a mapping past the end of a file, then an extension,
//!     while another thread writes the file back over and over: none may
//!     become file data (src/eof_writeback.rs)
//! toyfs-stress extend-fault DIR ROUNDS
//!     stores through a mapping into a file's last block, a hole, while
//!     another thread writes past the old end: every msync succeeds and
//!     the file reads as its model (src/extend_fault.rs; an image with
//!     fragments)
//! toyfs-stress tail-writeback DIR ROUNDS
//!     resizes the last block of compressed files (fallocate, truncation
//!     up and down, a write past it) while another thread writes them
//!     back over and over; each must read as its model
//!     (src/tail_writeback.rs; an image with LZ4, then fsck.toyfs -f)
//! toyfs-stress mmap-fsync DIR SECONDS BOUND
//!     stores into a compressed file through a shared mapping all the
//!     time while fsync is called on it over and over for SECONDS
//!     seconds: each must return within BOUND seconds (src/mmap_fsync.rs;
//!     an image with LZ4)
//! toyfs-stress live-extend FILE [--allocates-at-fault]
//!     a store through a mapping kept writable across an extension must
//!     fault and get its block (src/live_extend.rs)
//! toyfs-stress fault-in DIR [--compress] [--any-alignment]
//!     reads and writes whose buffer is a mapping of their own file,
//!     buffered and O_DIRECT, private and shared: each in full, the file
//!     as expected (src/fault_in.rs; xfstests generic/647 and 729)
//! toyfs-stress mmap-extend FILE KIB [--truncate]
//!     a file grown a byte at a time (fallocate, or ftruncate), each
//!     byte stored through a shared mapping, beside writeback over and
//!     over: none lost (src/mmap_extend.rs; xfstests generic/438)
//! toyfs-stress faults SEED OPS DIR MANIFEST
//!     OPS seeded file and directory operations in DIR with fault
//!     injection on for this process, then MANIFEST for the check after
//!     remount (src/faults.rs)
//! toyfs-stress io-errors DIR DEVICE MANIFEST
//!     the device's writes fail (fail_make_request) during the fsync of
//!     one file: it must report EIO, other files nothing, and MANIFEST
//!     lists the files that must survive (src/io_errors.rs)
//! toyfs-stress namespace SEED OPS DIR [DEVICE FSTYPE FSCK]
//!     fsstress's churn of names (create, mkdir, link, unlink, rmdir,
//!     rename) checked against a model of the tree, with DEVICE remounted
//!     and checked (src/namespace.rs)
//! toyfs-stress churn THREADS SEED SECONDS DIR [DEVICE FSTYPE FSCK]
//!     fsstress's way: threads changing names and data of one shared
//!     tree at once, every errno one the race explains; then the tree
//!     walked and checked, and with DEVICE remounted and the same
//!     (src/churn.rs)
//! toyfs-stress full THREADS SEED SECONDS DIR DEVICE FSCK [--compress]
//!     threads writing (past the end too), truncating, punching, syncing
//!     and unlinking files of their own on a small image, where ENOSPC is
//!     frequent, each against a model; then every file checked, the
//!     image unmounted, checked, mounted and the files checked from the
//!     disk, and after they are deleted statfs's count of fragments in
//!     use equal to fsck's (src/full.rs)
//! toyfs-stress fail-nth DIR MANIFEST
//!     every fault point of each of a set of file and directory calls
//!     failed in turn (src/fail_nth.rs), then MANIFEST
//! toyfs-stress readdir-unlink DIR COUNT SEED
//!     lists a directory of COUNT files again and again, resuming each
//!     listing from a saved position (telldir/seekdir), while another
//!     thread unlinks a third of them: every other one is listed exactly
//!     once (src/readdir_unlink.rs)
//! ```
//!
//! A failure prints the seed, the thread and the operation number, and the
//! command line that runs it again, and exits with 1.

mod churn;
mod eof_race;
mod eof_writeback;
mod extend_fault;
mod fail_nth;
mod far;
mod fault_in;
mod faults;
mod full;
mod io_errors;
mod live_extend;
mod mapping;
mod mmap_extend;
mod mmap_fsync;
mod model;
mod namespace;
mod options;
mod readdir_unlink;
mod run;
mod shared;
mod sys;
mod tail_writeback;
mod threads;
mod worker;

use mapping::Mapping;
use std::fs::OpenOptions;
use std::process::ExitCode;

fn mmap_store(path: &str, offset: usize, byte: u8) -> Result<(), String> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|err| err.to_string())?;
    let map =
        Mapping::new(&file, (offset / 4096 + 1) * 4096).map_err(|err| format!("mmap: {err}"))?;
    map.store(offset, &[byte]);
    map.sync().map_err(|err| format!("msync: {err}"))
}

/// `fallocate(mode)` of `len` bytes at `offset` of the file at `path`:
/// `punch` (`FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE`), `allocate`
/// (`FALLOC_FL_KEEP_SIZE`) and `zero` (`FALLOC_FL_ZERO_RANGE`, which
/// grows the file if the range ends past it).
fn fallocate_path(path: &str, mode: u32, offset: u64, len: u64) -> Result<(), String> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|err| format!("{path}: {err}"))?;
    sys::fallocate(&file, mode, offset, len).map_err(|err| format!("fallocate: {err}"))
}

fn compr(path: &str, change: Option<&str>) -> Result<(), String> {
    let file = OpenOptions::new()
        .read(true)
        .open(path)
        .map_err(|err| format!("{path}: {err}"))?;
    let flags = sys::inode_flags(&file).map_err(|err| format!("FS_IOC_GETFLAGS: {err}"))?;
    let flags = match change {
        None => flags,
        Some("+c") => flags | sys::FS_COMPR_FL,
        Some("-c") => flags & !sys::FS_COMPR_FL,
        Some(other) => return Err(format!("compr: {other}: +c or -c")),
    };
    if change.is_some() {
        sys::set_inode_flags(&file, flags).map_err(|err| format!("FS_IOC_SETFLAGS: {err}"))?;
    }
    let now = sys::inode_flags(&file).map_err(|err| format!("FS_IOC_GETFLAGS: {err}"))?;
    println!(
        "{}",
        if now & sys::FS_COMPR_FL != 0 {
            "c"
        } else {
            "-"
        }
    );
    Ok(())
}

fn number<T: std::str::FromStr>(text: Option<&String>, what: &str) -> Result<T, String> {
    text.and_then(|text| text.parse().ok())
        .ok_or(format!("{what}: expected a number"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("mmap-store") if args.len() == 5 => (|| {
            mmap_store(
                &args[2],
                number(args.get(3), "OFFSET")?,
                number(args.get(4), "BYTE")?,
            )
        })(),
        Some("punch") if args.len() == 5 => (|| {
            fallocate_path(
                &args[2],
                sys::FALLOC_FL_PUNCH_HOLE | sys::FALLOC_FL_KEEP_SIZE,
                number(args.get(3), "OFFSET")?,
                number(args.get(4), "LEN")?,
            )
        })(),
        Some("allocate") if args.len() == 5 => (|| {
            fallocate_path(
                &args[2],
                sys::FALLOC_FL_KEEP_SIZE,
                number(args.get(3), "OFFSET")?,
                number(args.get(4), "LEN")?,
            )
        })(),
        Some("zero") if args.len() == 5 => (|| {
            fallocate_path(
                &args[2],
                sys::FALLOC_FL_ZERO_RANGE,
                number(args.get(3), "OFFSET")?,
                number(args.get(4), "LEN")?,
            )
        })(),
        Some("compr") if (3..=4).contains(&args.len()) => {
            compr(&args[2], args.get(3).map(String::as_str))
        }
        Some("run") => (|| {
            let options = options::Options::parse(&args[2..])?;
            println!("toyfs-stress: {}", run::run(&options)?);
            Ok(())
        })(),
        Some("faults") if args.len() == 6 => (|| {
            let seed = number(args.get(2), "SEED")?;
            let ops = number(args.get(3), "OPS")?;
            println!(
                "toyfs-stress: {}",
                faults::run(seed, ops, &args[4], &args[5])?
            );
            Ok(())
        })(),
        Some("eof-race") if args.len() == 4 => (|| {
            let rounds = number(args.get(3), "ROUNDS")?;
            println!("toyfs-stress: {}", eof_race::run(&args[2], rounds)?);
            Ok(())
        })(),
        Some("eof-writeback") if args.len() == 4 => (|| {
            let rounds = number(args.get(3), "ROUNDS")?;
            println!("toyfs-stress: {}", eof_writeback::run(&args[2], rounds)?);
            Ok(())
        })(),
        Some("extend-fault") if args.len() == 4 => (|| {
            let rounds = number(args.get(3), "ROUNDS")?;
            println!("toyfs-stress: {}", extend_fault::run(&args[2], rounds)?);
            Ok(())
        })(),
        Some("tail-writeback") if args.len() == 4 => (|| {
            let rounds = number(args.get(3), "ROUNDS")?;
            println!("toyfs-stress: {}", tail_writeback::run(&args[2], rounds)?);
            Ok(())
        })(),
        Some("mmap-fsync") if args.len() == 5 => (|| {
            let seconds = number(args.get(3), "SECONDS")?;
            let bound = number(args.get(4), "BOUND")?;
            println!(
                "toyfs-stress: {}",
                mmap_fsync::run(&args[2], seconds, bound)?
            );
            Ok(())
        })(),
        Some("live-extend") if (3..=4).contains(&args.len()) => (|| {
            let at_fault = match args.get(3).map(String::as_str) {
                None => false,
                Some("--allocates-at-fault") => true,
                Some(other) => return Err(format!("live-extend: unknown option {other}")),
            };
            println!("toyfs-stress: {}", live_extend::run(&args[2], at_fault)?);
            Ok(())
        })(),
        Some("fault-in") if (3..=5).contains(&args.len()) => (|| {
            let (mut compress, mut any_alignment) = (false, false);
            for option in &args[3..] {
                match option.as_str() {
                    "--compress" => compress = true,
                    "--any-alignment" => any_alignment = true,
                    other => return Err(format!("fault-in: unknown option {other}")),
                }
            }
            println!(
                "toyfs-stress: {}",
                fault_in::run(&args[2], compress, any_alignment)?
            );
            Ok(())
        })(),
        Some("mmap-extend") if (4..=5).contains(&args.len()) => (|| {
            let truncate = match args.get(4).map(String::as_str) {
                None => false,
                Some("--truncate") => true,
                Some(other) => return Err(format!("mmap-extend: unknown option {other}")),
            };
            let kib = number(args.get(3), "KIB")?;
            println!(
                "toyfs-stress: {}",
                mmap_extend::run(&args[2], kib, truncate)?
            );
            Ok(())
        })(),
        Some("io-errors") if args.len() == 5 => (|| {
            println!(
                "toyfs-stress: {}",
                io_errors::run(&args[2], &args[3], &args[4])?
            );
            Ok(())
        })(),
        Some("namespace") if args.len() == 5 || args.len() == 8 => (|| {
            let seed = number(args.get(2), "SEED")?;
            let ops = number(args.get(3), "OPS")?;
            let device = (args.len() == 8).then(|| (&*args[5], &*args[6], &*args[7]));
            println!(
                "toyfs-stress: {}",
                namespace::run(seed, ops, &args[4], device)?
            );
            Ok(())
        })(),
        Some("churn") if args.len() == 6 || args.len() == 9 => (|| {
            let threads = number(args.get(2), "THREADS")?;
            let seed = number(args.get(3), "SEED")?;
            let seconds = number(args.get(4), "SECONDS")?;
            let device = (args.len() == 9).then(|| (&*args[6], &*args[7], &*args[8]));
            println!(
                "toyfs-stress: {}",
                churn::run(threads, seed, seconds, &args[5], device)?
            );
            Ok(())
        })(),
        Some("full") if args.len() == 8 || args.len() == 9 => (|| {
            let threads = number(args.get(2), "THREADS")?;
            let seed = number(args.get(3), "SEED")?;
            let seconds = number(args.get(4), "SECONDS")?;
            let compress = match args.get(8).map(String::as_str) {
                None => false,
                Some("--compress") => true,
                Some(other) => return Err(format!("full: unknown option {other}")),
            };
            println!(
                "toyfs-stress: {}",
                full::run(threads, seed, seconds, &args[5], &args[6], &args[7], compress)?
            );
            Ok(())
        })(),
        Some("fail-nth") if args.len() == 4 => (|| {
            println!("{}", fail_nth::run(&args[2], &args[3])?);
            Ok(())
        })(),
        Some("readdir-unlink") if args.len() == 5 => (|| {
            let count = number(args.get(3), "COUNT")?;
            let seed = number(args.get(4), "SEED")?;
            println!("toyfs-stress: {}", readdir_unlink::run(&args[2], count, seed)?);
            Ok(())
        })(),
        _ => Err(format!(
            "usage: toyfs-stress mmap-store FILE OFFSET BYTE | punch FILE OFFSET LEN | allocate FILE OFFSET LEN | zero FILE OFFSET LEN | compr FILE [+c|-c] | {} \
             | eof-race DIR ROUNDS | eof-writeback DIR ROUNDS | extend-fault DIR ROUNDS | tail-writeback DIR ROUNDS | mmap-fsync DIR SECONDS BOUND | live-extend FILE [--allocates-at-fault] | fault-in DIR [--compress] [--any-alignment] | mmap-extend FILE KIB [--truncate] | faults SEED OPS DIR MANIFEST | io-errors DIR DEVICE MANIFEST \
             | namespace SEED OPS DIR [DEVICE FSTYPE FSCK] | churn THREADS SEED SECONDS DIR [DEVICE FSTYPE FSCK] | full THREADS SEED SECONDS DIR DEVICE FSCK [--compress] | fail-nth DIR MANIFEST | readdir-unlink DIR COUNT SEED",
            options::USAGE
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("toyfs-stress: {}", worker::console_lines(&err));
            ExitCode::FAILURE
        }
    }
}
