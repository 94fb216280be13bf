// SPDX-License-Identifier: GPL-2.0
//! `fsbench`: the timed I/O of the filesystem table of `make bench`
//! (scripts/guest/fsbench.sh), one workload per run.  Busybox's `date` has no
//! sub-second clock, so the timing is done here, with the monotonic clock,
//! around the system calls only.  Prints `bytes=N ns=T mbps=M vcsw=V` (MB/s is
//! 10^6 bytes per second, as in the other tables; V the voluntary context
//! switches of the process, from `/proc/self/status`, left out without it).
//!
//! ```text
//! fsbench write FILE SIZE REQUEST   create FILE, write SIZE bytes in REQUEST-byte
//!                                   write(2) calls, fsync; fsync is timed
//! fsbench copy SRC FILE REQUEST     read SRC (not timed), create FILE, write
//!                                   SRC's bytes in REQUEST-byte write(2) calls,
//!                                   fsync; fsync is timed
//! fsbench read FILE REQUEST         read FILE to its end in REQUEST-byte reads
//! fsbench sparse FILE SIZE          create FILE of SIZE bytes, holes but for
//!                                   1 KiB at every 8 MiB, fsync (not timed)
//! fsbench randwrite FILE COUNT      COUNT 1 KiB overwrites at 1 KiB-aligned
//!                                   offsets of FILE (fixed seed), then fsync
//! fsbench appendsync FILE COUNT     create FILE, COUNT appends of odd sizes
//!                                   (1 to 3 KiB and some bytes), fsync after
//!                                   each: partial blocks at every end of file
//! fsbench trunccycle FILE COUNT     create FILE, COUNT cycles of: write 5 KiB
//!                                   and some bytes at its end, truncate it down
//!                                   into a block, extend it past the next page
//!                                   with truncate; fsync at the end
//! fsbench readtree DIR REQUEST      read every regular file below DIR to its
//!                                   end in REQUEST-byte reads, in name order
//!                                   (the directory walk is timed too); prints
//!                                   files=N too
//! fsbench text FILE SIZE DIR        create FILE of SIZE bytes: the regular
//!                                   files below DIR, in name order, over and
//!                                   over (a compressible file of text; not
//!                                   timed)
//! fsbench dircreate DIR COUNT       make DIR (not timed), then create COUNT
//!                                   empty files in it, f0 f1 ... in order
//! fsbench dirstat DIR COUNT         stat those COUNT names of DIR in order
//! fsbench dirlist DIR               list DIR with readdir(3) to its end
//! fsbench dirunlink DIR COUNT       unlink those COUNT names of DIR in order,
//!                                   then remove DIR (not timed)
//! ```
//!
//! The directory workloads print `ops=N ns=T opsps=R` instead: N
//! operations (files created, stated or unlinked, entries listed) and R
//! of them a second.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: fsbench write FILE SIZE REQUEST | copy SRC FILE REQUEST | \
read FILE REQUEST | \
sparse FILE SIZE | randwrite FILE COUNT | appendsync FILE COUNT | trunccycle FILE COUNT | \
readtree DIR REQUEST | text FILE SIZE DIR | dircreate DIR COUNT | dirstat DIR COUNT | \
dirlist DIR | dirunlink DIR COUNT";

/// Granule of the sparse file's data and of the random overwrites.
const KIB: u64 = 1024;
/// Distance between the written pieces of the sparse file.
const SPARSE_STRIDE: u64 = 8 << 20;

/// A byte count, plain or with a K, M or G suffix (powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let (digits, shift) = match text.as_bytes().last() {
        Some(b'K') => (&text[..text.len() - 1], 10),
        Some(b'M') => (&text[..text.len() - 1], 20),
        Some(b'G') => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_shl(shift).filter(|v| v >> shift == n))
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("not a positive size: {text}"))
}

/// A buffer of `len` bytes of a nonzero pattern (no all-zero block).
fn pattern(len: u64) -> Result<Vec<u8>, String> {
    let len = usize::try_from(len).map_err(|_| format!("request too large: {len}"))?;
    Ok((0..len).map(|i| (i % 251) as u8 + 1).collect())
}

fn report(bytes: u64, start: Instant) {
    let ns = start.elapsed().as_nanos().max(1);
    println!(
        "bytes={bytes} ns={ns} mbps={}{}",
        u128::from(bytes) * 1000 / ns,
        switches_field(fs::read_to_string("/proc/self/status").ok().as_deref())
    );
}

/// ` vcsw=N`: the process's voluntary context switches so far, from the
/// text of `/proc/self/status` (nothing without it): how often the
/// workload slept, on an I/O that had not completed mostly (every wait of
/// an `fsync` on a device that completes its requests later; none on brd,
/// which completes each before `submit_bio` returns).  A count, not a
/// time: the same on a loaded host.
fn switches_field(status: Option<&str>) -> String {
    status
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))
        })
        .and_then(|n| n.trim().parse::<u64>().ok())
        .map_or_else(String::new, |n| format!(" vcsw={n}"))
}

fn create(path: &str) -> Result<File, String> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| format!("{path}: {e}"))
}

fn write(path: &str, size: u64, request: u64) -> Result<(), String> {
    write_data(path, &pattern(request.min(size))?, size, request)
}

/// Creates `path` and writes `size` bytes of `data`, over and over, in
/// write(2) calls of at most `request` bytes, then fsync; all timed.
fn write_data(path: &str, data: &[u8], size: u64, request: u64) -> Result<(), String> {
    if data.is_empty() {
        return Err(format!("{path}: nothing to write"));
    }
    let start = Instant::now();
    let mut file = create(path)?;
    let mut done = 0;
    while done < size {
        // CAST: below `data.len()`.
        let at = (done % data.len() as u64) as usize;
        let n = ((size - done).min(request) as usize).min(data.len() - at);
        file.write_all(&data[at..at + n])
            .map_err(|e| format!("{path}: write at {done}: {e}"))?;
        done += n as u64;
    }
    file.sync_all().map_err(|e| format!("{path}: fsync: {e}"))?;
    report(size, start);
    Ok(())
}

/// `copy`: the bytes of `source`, read first (not timed), written to a
/// new `path` as `write` does.
fn copy(source: &str, path: &str, request: u64) -> Result<(), String> {
    let data = fs::read(source).map_err(|e| format!("{source}: {e}"))?;
    write_data(path, &data, data.len() as u64, request)
}

/// Reads the file at `path` to its end through `buf`; returns its bytes.
fn read_through(path: &Path, buf: &mut [u8]) -> Result<u64, String> {
    let path_text = path.display();
    let mut file = File::open(path).map_err(|e| format!("{path_text}: {e}"))?;
    let mut done = 0u64;
    loop {
        match file.read(buf) {
            Ok(0) => return Ok(done),
            Ok(n) => done += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("{path_text}: read at {done}: {e}")),
        }
    }
}

fn request_buffer(request: u64) -> Result<Vec<u8>, String> {
    Ok(vec![
        0u8;
        usize::try_from(request)
            .map_err(|_| "request too large")?
    ])
}

fn read(path: &str, request: u64) -> Result<(), String> {
    let mut buf = request_buffer(request)?;
    let start = Instant::now();
    let done = read_through(Path::new(path), &mut buf)?;
    report(done, start);
    Ok(())
}

/// Calls `visit` on every regular file below `dir`, in name order, a
/// directory's files where its name sorts; other file types are skipped.
fn walk_files(
    dir: &Path,
    visit: &mut dyn FnMut(&Path) -> Result<(), String>,
) -> Result<(), String> {
    let mut paths = fs::read_dir(dir)
        .and_then(|entries| {
            entries
                .map(|entry| entry.map(|entry| entry.path()))
                .collect::<Result<Vec<PathBuf>, _>>()
        })
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    paths.sort();
    for path in paths {
        let file_type = fs::symlink_metadata(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .file_type();
        if file_type.is_dir() {
            walk_files(&path, visit)?;
        } else if file_type.is_file() {
            visit(&path)?;
        }
    }
    Ok(())
}

fn readtree(dir: &str, request: u64) -> Result<(), String> {
    let mut buf = request_buffer(request)?;
    let (mut files, mut bytes) = (0u64, 0u64);
    let start = Instant::now();
    walk_files(Path::new(dir), &mut |path| {
        bytes += read_through(path, &mut buf)?;
        files += 1;
        Ok(())
    })?;
    let ns = start.elapsed().as_nanos().max(1);
    println!(
        "files={files} bytes={bytes} ns={ns} mbps={}",
        u128::from(bytes) * 1000 / ns
    );
    Ok(())
}

/// The first `size` bytes of the regular files below `dir` concatenated
/// in name order, over and over.
fn text_bytes(dir: &Path, size: u64) -> Result<Vec<u8>, String> {
    let size = usize::try_from(size).map_err(|_| format!("too large: {size}"))?;
    let mut text = Vec::new();
    walk_files(dir, &mut |path| {
        let mut file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        file.read_to_end(&mut text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(())
    })?;
    if text.is_empty() {
        return Err(format!("{}: no bytes in its files", dir.display()));
    }
    Ok(text.iter().copied().cycle().take(size).collect())
}

fn text(path: &str, size: u64, dir: &str) -> Result<(), String> {
    let bytes = text_bytes(Path::new(dir), size)?;
    let mut file = create(path)?;
    file.write_all(&bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| format!("{path}: {e}"))
}

fn sparse(path: &str, size: u64) -> Result<(), String> {
    let buf = pattern(KIB)?;
    let mut file = create(path)?;
    file.set_len(size)
        .map_err(|e| format!("{path}: truncate: {e}"))?;
    let mut offset = 0;
    while offset + KIB <= size {
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.write_all(&buf))
            .map_err(|e| format!("{path}: write at {offset}: {e}"))?;
        offset += SPARSE_STRIDE;
    }
    file.sync_all().map_err(|e| format!("{path}: fsync: {e}"))
}

fn randwrite(path: &str, count: u64) -> Result<(), String> {
    let buf = pattern(KIB)?;
    let start = Instant::now();
    let mut file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| format!("{path}: {e}"))?;
    let blocks = file.metadata().map_err(|e| format!("{path}: {e}"))?.len() / KIB;
    if blocks == 0 {
        return Err(format!("{path}: smaller than 1 KiB"));
    }
    // xorshift64, fixed seed: the same offsets on every filesystem and run.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..count {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let offset = (state % blocks) * KIB;
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.write_all(&buf))
            .map_err(|e| format!("{path}: write at {offset}: {e}"))?;
    }
    file.sync_all().map_err(|e| format!("{path}: fsync: {e}"))?;
    report(count * KIB, start);
    Ok(())
}

/// The size of append or write number `i`: an odd number of bytes from
/// 1 KiB to 3 KiB, never a multiple of the block size.
fn odd_size(i: u64) -> u64 {
    1024 + (((i * 1237) % 2048) | 1)
}

fn appendsync(path: &str, count: u64) -> Result<(), String> {
    let buf = pattern(4 * KIB)?;
    let start = Instant::now();
    let mut file = create(path)?;
    let mut done = 0;
    for i in 0..count {
        let n = odd_size(i) as usize;
        file.write_all(&buf[..n])
            .and_then(|_| file.sync_data())
            .map_err(|e| format!("{path}: append at {done}: {e}"))?;
        done += n as u64;
    }
    report(done, start);
    Ok(())
}

fn trunccycle(path: &str, count: u64) -> Result<(), String> {
    let buf = pattern(8 * KIB)?;
    let start = Instant::now();
    let mut file = create(path)?;
    let mut size = 0u64;
    let mut done = 0;
    for i in 0..count {
        let n = 5 * KIB + odd_size(i) % 1000;
        file.seek(SeekFrom::Start(size))
            .and_then(|_| file.write_all(&buf[..n as usize]))
            .map_err(|e| format!("{path}: write at {size}: {e}"))?;
        done += n;
        // Down into the middle of a block, then up past the next page.
        let down = size + n - odd_size(i + 1) % 3000 - 1;
        let up = down + 4096 + odd_size(i + 2) % 1500;
        file.set_len(down)
            .and_then(|_| file.set_len(up))
            .map_err(|e| format!("{path}: truncate {down} {up}: {e}"))?;
        size = up;
        if size > 48 << 20 {
            file.set_len(0)
                .map_err(|e| format!("{path}: truncate 0: {e}"))?;
            size = 0;
        }
    }
    file.sync_all().map_err(|e| format!("{path}: fsync: {e}"))?;
    report(done, start);
    Ok(())
}

fn report_ops(ops: u64, start: Instant) {
    let ns = start.elapsed().as_nanos().max(1);
    println!(
        "ops={ops} ns={ns} opsps={}",
        u128::from(ops) * 1_000_000_000 / ns
    );
}

/// The name of file `i` of the directory workloads.
fn dir_name(dir: &Path, i: u64) -> PathBuf {
    dir.join(format!("f{i}"))
}

fn dircreate(dir: &str, count: u64) -> Result<(), String> {
    let dir = Path::new(dir);
    fs::create_dir(dir).map_err(|e| format!("{}: mkdir: {e}", dir.display()))?;
    let start = Instant::now();
    for i in 0..count {
        let path = dir_name(dir, i);
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    report_ops(count, start);
    Ok(())
}

fn dirstat(dir: &str, count: u64) -> Result<(), String> {
    let dir = Path::new(dir);
    let start = Instant::now();
    for i in 0..count {
        let path = dir_name(dir, i);
        fs::symlink_metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    report_ops(count, start);
    Ok(())
}

fn dirlist(dir: &str) -> Result<(), String> {
    let start = Instant::now();
    let mut ops = 0;
    for entry in fs::read_dir(dir).map_err(|e| format!("{dir}: {e}"))? {
        entry.map_err(|e| format!("{dir}: readdir: {e}"))?;
        ops += 1;
    }
    report_ops(ops, start);
    Ok(())
}

fn dirunlink(dir: &str, count: u64) -> Result<(), String> {
    let dir = Path::new(dir);
    let start = Instant::now();
    for i in 0..count {
        let path = dir_name(dir, i);
        fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    report_ops(count, start);
    fs::remove_dir(dir).map_err(|e| format!("{}: rmdir: {e}", dir.display()))
}

fn run(args: &[String]) -> Result<(), String> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["write", path, size, request] => write(path, parse_size(size)?, parse_size(request)?),
        ["copy", source, path, request] => copy(source, path, parse_size(request)?),
        ["read", path, request] => read(path, parse_size(request)?),
        ["sparse", path, size] => sparse(path, parse_size(size)?),
        ["randwrite", path, count] => randwrite(path, parse_size(count)?),
        ["appendsync", path, count] => appendsync(path, parse_size(count)?),
        ["trunccycle", path, count] => trunccycle(path, parse_size(count)?),
        ["readtree", dir, request] => readtree(dir, parse_size(request)?),
        ["text", path, size, dir] => text(path, parse_size(size)?, dir),
        ["dircreate", dir, count] => dircreate(dir, parse_size(count)?),
        ["dirstat", dir, count] => dirstat(dir, parse_size(count)?),
        ["dirlist", dir] => dirlist(dir),
        ["dirunlink", dir, count] => dirunlink(dir, parse_size(count)?),
        _ => Err(USAGE.to_string()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fsbench: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("4K"), Ok(4096));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert!(parse_size("0").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("99999999999999G").is_err());
    }

    #[test]
    fn copy_writes_the_source_and_write_the_pattern() {
        let dir = std::env::temp_dir().join(format!("fsbench-copy-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let (source, copied, written) = (dir.join("src"), dir.join("copy"), dir.join("write"));
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 256) as u8).collect();
        fs::write(&source, &data).unwrap();
        copy(source.to_str().unwrap(), copied.to_str().unwrap(), 4096).unwrap();
        assert_eq!(fs::read(&copied).unwrap(), data);
        write(written.to_str().unwrap(), 5000, 2048).unwrap();
        let pattern_bytes = pattern(2048).unwrap();
        let got = fs::read(&written).unwrap();
        assert_eq!(got.len(), 5000);
        assert!(got.chunks(2048).all(|c| c == &pattern_bytes[..c.len()]));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn odd_sizes_are_never_whole_blocks() {
        for i in 0..10_000 {
            let n = odd_size(i);
            assert!((1025..4100).contains(&n) && n % 512 != 0, "{i}: {n}");
        }
    }

    #[test]
    fn walks_regular_files_in_name_order() {
        let dir = std::env::temp_dir().join(format!("fsbench-walk-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("b/c")).unwrap();
        fs::write(dir.join("a"), b"1").unwrap();
        fs::write(dir.join("b/c/d"), b"22").unwrap();
        fs::write(dir.join("c"), b"333").unwrap();
        std::os::unix::fs::symlink("a", dir.join("link")).unwrap();
        let mut seen = Vec::new();
        walk_files(&dir, &mut |path| {
            seen.push(path.strip_prefix(&dir).unwrap().to_path_buf());
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, [Path::new("a"), Path::new("b/c/d"), Path::new("c")]);
        assert_eq!(text_bytes(&dir, 14).unwrap(), b"12233312233312");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn directory_workloads_create_stat_list_and_remove() {
        let dir = std::env::temp_dir().join(format!("fsbench-dir-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let text = dir.to_str().unwrap();
        dircreate(text, 50).unwrap();
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 50);
        assert!(dir.join("f49").exists());
        dirstat(text, 50).unwrap();
        assert!(dirstat(text, 51).is_err());
        dirlist(text).unwrap();
        dirunlink(text, 50).unwrap();
        assert!(!dir.exists());
    }

    #[test]
    fn voluntary_switches_from_status() {
        let status =
            "Name:\tfsbench\nvoluntary_ctxt_switches:\t12\nnonvoluntary_ctxt_switches:\t3\n";
        assert_eq!(switches_field(Some(status)), " vcsw=12");
        assert_eq!(switches_field(Some("Name:\tx\n")), "");
        assert_eq!(switches_field(None), "");
        assert!(
            switches_field(fs::read_to_string("/proc/self/status").ok().as_deref())
                .starts_with(" vcsw=")
        );
    }

    #[test]
    fn pattern_has_no_zero_byte() {
        assert!(pattern(4096).unwrap().iter().all(|&b| b != 0));
    }
}
