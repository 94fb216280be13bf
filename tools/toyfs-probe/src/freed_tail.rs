// SPDX-License-Identifier: GPL-2.0
//! `toyfs-probe freed-tail-fsync DIR DEVICE BACKING allocate|truncate
//! [READERS]`: the `fsync` of a file whose old tail's disk block another
//! file takes meanwhile must not fail.
//!
//! On an image with fragments (1 KiB blocks, 128-byte fragments) a tail is
//! written back into the block device's buffer of its block (B), dirty on the
//! file's own list of buffers (`mmb_mark_buffer_dirty`), which its `fsync`
//! writes and waits for (`mmb_sync`).  `mmb_sync` takes a buffer that is not
//! uptodate once waited for as a failed write: `EIO`.  File `x` has an indirect
//! block (C, on its list before B) and a tail in block F; the tail is written
//! back and `x` truncated to its whole blocks, which frees F while B stays on
//! `x`'s list; the rest of the filesystem is full.  Then, with the filesystem
//! that holds the image's loop file frozen (`FIFREEZE`: the loop device's
//! writes wait, in order): B's write is started (`sync_file_range` of the
//! device), READERS threads read the filling file's blocks with `O_DIRECT`
//! (queued behind it), `x`'s `fsync` writes C (behind them) and waits for C,
//! then B; file `v` writes one whole block, which can only be F (`allocate`:
//! toyfs forgets the cached copies of a block allocated whole, after waiting
//! for B's write), and with `truncate` is truncated into it at once (the block
//! keeps `v`'s first fragment: toyfs forgets the block's cached copy again,
//! `forget_block_copy`, so that the next tail there reads the disk).  Once both
//! wait, the filesystem is thawed: B's write ends first, `v`'s side (a
//! real-time thread) goes on while the device reads, and `x`'s `fsync` looks at
//! B only after C.  A forget that clears B's uptodate flag while B is on `x`'s
//! list makes that `fsync` return `EIO` with no I/O error (found by fsx-rs with
//! six processes on images with fragments; bfba512 for the allocation, the
//! truncation after it).  Checked: the `fsync` succeeds, and `v` got F (else
//! the test tested nothing: an error too).

use crate::sys;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

type Check = Result<(), String>;

/// `ENOSPC`.
const ENOSPC: i32 = 28;

/// Files that take the whole blocks left once the filling file cannot
/// grow (it needs indirect blocks too): one block each, direct pointers.
const PADS: usize = 24;

/// How long each step may take to reach the state the next one needs.
const STEP: Duration = Duration::from_secs(5);

/// Polls `cond` every millisecond until it holds (true) or [`STEP`]
/// passed (false).
pub(crate) fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + STEP;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Requests of block device `name` in its driver, `(reads, writes)`
/// (/sys/block/NAME/inflight).
fn inflight(name: &str) -> (u64, u64) {
    let text = fs::read_to_string(format!("/sys/block/{name}/inflight")).unwrap_or_default();
    let mut words = text.split_whitespace().map(|w| w.parse().unwrap_or(0));
    (words.next().unwrap_or(0), words.next().unwrap_or(0))
}

/// The state letter of thread `tid` of this process (`D`: waiting
/// uninterruptibly), `None` once it ended.
pub(crate) fn thread_state(tid: i32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// Writes `len`-byte chunks at the end (`size`) of `file` until `ENOSPC`;
/// its size then.
fn write_until_full(file: &File, mut size: u64, len: usize) -> Result<u64, String> {
    let chunk = vec![0x5a; len];
    loop {
        match file.write_at(&chunk, size) {
            Ok(0) => return Ok(size),
            Ok(n) => size += n as u64,
            Err(e) if e.raw_os_error() == Some(ENOSPC) => return Ok(size),
            Err(e) => return Err(format!("fill: {e}")),
        }
    }
}

/// A frozen filesystem ([`sys::freeze`]), thawed by [`Frozen::thaw`] or
/// on drop (an early return never leaves the device waiting).
pub(crate) struct Frozen<'a> {
    dir: &'a File,
    frozen: bool,
}

impl<'a> Frozen<'a> {
    pub(crate) fn new(dir: &'a File) -> Result<Self, String> {
        sys::freeze(dir).map_err(|e| format!("FIFREEZE of the backing filesystem: {e}"))?;
        Ok(Self { dir, frozen: true })
    }

    pub(crate) fn thaw(&mut self) -> Check {
        self.frozen = false;
        sys::thaw(self.dir).map_err(|e| format!("FITHAW of the backing filesystem: {e}"))
    }
}

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        if self.frozen {
            let _ = sys::thaw(self.dir);
        }
    }
}

/// The check (module documentation): `mode` `allocate` or `truncate`,
/// `readers` threads reading the device while `v` goes on.
pub fn freed_tail_fsync(
    dir: &Path,
    device: &Path,
    backing: &Path,
    mode: &str,
    readers: usize,
) -> Check {
    let truncate = match mode {
        "allocate" => false,
        "truncate" => true,
        _ => return Err(format!("mode {mode}: allocate or truncate")),
    };
    let b = fs::metadata(dir).map_err(|e| e.to_string())?.blksize();
    let page = sys::page_size();
    let name = device
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| format!("{}: not a device path", device.display()))?;
    let open = |name: &str| crate::new_file(&dir.join(name));
    let (x, spacer, w, v) = (open("x")?, open("spacer")?, open("w")?, open("v")?);
    let pads = (0..PADS)
        .map(|i| open(&format!("pad{i}")))
        .collect::<Result<Vec<_>, _>>()?;
    // x: file block 12, the first under the indirect block C; a page of
    // whole blocks of another file between C and the tail, so that B's
    // folio of the device holds no C; the tail, file block 13.
    let tail_len = (b - b / 8) as usize;
    x.write_all_at(&vec![0x11; b as usize], 12 * b)
        .and_then(|()| spacer.write_all_at(&vec![0x44; page.max(b) as usize], 0))
        .and_then(|()| x.write_all_at(&vec![0x22; tail_len], 13 * b))
        .map_err(|e| format!("write x: {e}"))?;
    sys::sync_range(&x, 0, 0, sys::SYNC_RANGE_AND_WAIT)
        .map_err(|e| format!("write x back: {e}"))?;
    let extents = sys::fiemap(&x).map_err(|e| format!("fiemap x: {e}"))?;
    let f = match extents.iter().find(|e| e.0 == 13 * b) {
        Some(e) if e.3 & sys::FIEMAP_EXTENT_DATA_TAIL != 0 => e.1 / b,
        _ => {
            return Err(format!(
                "x: extents {extents:?}, expected a tail at {}",
                13 * b
            ))
        }
    };
    // Every other whole block taken: v's block can only be F.
    let size = write_until_full(&w, 0, 64 * 1024)?;
    write_until_full(&w, size, b as usize)?;
    let mut full = false;
    for pad in &pads {
        match pad.write_all_at(&vec![0x66; b as usize], 0) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(ENOSPC) => {
                full = true;
                break;
            }
            Err(e) => return Err(format!("pad: {e}")),
        }
    }
    if !full {
        return Err(format!(
            "{PADS} files of one block did not fill the filesystem"
        ));
    }
    // F free, B still dirty on x's list; the bitmap block written (w's
    // fsync), so that x's fsync waits for no write before its list.
    x.set_len(13 * b).map_err(|e| format!("truncate x: {e}"))?;
    w.sync_all().map_err(|e| format!("fsync w: {e}"))?;

    let backing_dir = File::open(backing).map_err(|e| format!("{}: {e}", backing.display()))?;
    let dev = File::open(device).map_err(|e| format!("{}: {e}", device.display()))?;
    // w's whole blocks, read by bio (an O_DIRECT read of the device
    // would first write its dirty folios: C and B).
    let direct = OpenOptions::new()
        .read(true)
        .custom_flags(sys::O_DIRECT)
        .open(dir.join("w"))
        .map_err(|e| format!("w (O_DIRECT): {e}"))?;
    let read_len = w.metadata().map_err(|e| e.to_string())?.len() / page * page;
    let (reads_before, writes_before) = inflight(name);
    let mut frozen = Frozen::new(&backing_dir)?;
    sys::sync_range(&dev, f * b / page * page, page, sys::SYNC_RANGE_START)
        .map_err(|e| format!("start the write of block {f}: {e}"))?;
    let b_started = wait_until(|| inflight(name).1 > writes_before);
    let (_, writes_b) = inflight(name);
    let tid = AtomicI32::new(0);
    let outcome = std::thread::scope(|s| {
        let reading: Vec<_> = (0..readers)
            .map(|_| {
                s.spawn(|| {
                    let mut raw = vec![0u8; read_len as usize + 4096];
                    let at = raw.as_ptr().align_offset(4096);
                    direct.read_exact_at(&mut raw[at..at + read_len as usize], 0)
                })
            })
            .collect();
        let queued = wait_until(|| inflight(name).0 >= reads_before + readers as u64);
        let fsync = s.spawn(|| x.sync_all());
        let c_written = wait_until(|| inflight(name).1 > writes_b);
        let taker = s.spawn(|| {
            // Real-time: woken by the end of B's write, v's side runs to
            // its end before x's fsync (ordinary) runs again, on any
            // number of CPUs.
            sys::run_realtime().map_err(|e| format!("SCHED_FIFO: {e}"))?;
            tid.store(sys::thread_id(), Ordering::SeqCst);
            v.write_all_at(&vec![0x33; b as usize], 0)
                .map_err(|e| format!("write v: {e}"))?;
            if truncate {
                v.set_len(100).map_err(|e| format!("truncate v: {e}"))?;
            }
            Ok::<(), String>(())
        });
        let waiting = wait_until(|| {
            let tid = tid.load(Ordering::SeqCst);
            tid != 0 && matches!(thread_state(tid), Some('D') | None)
        }) && thread_state(tid.load(Ordering::SeqCst)) == Some('D');
        let thawed = frozen.thaw();
        let read = reading
            .into_iter()
            .map(|r| {
                r.join()
                    .unwrap_or_else(|_| Err(io::Error::other("a reader panicked")))
            })
            .collect::<Result<Vec<_>, _>>();
        let fsync = fsync
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the fsync thread panicked")));
        let taken = taker
            .join()
            .unwrap_or_else(|_| Err("v's thread panicked".into()));
        (queued, c_written, waiting, thawed, read, fsync, taken)
    });
    let (queued, c_written, waiting, thawed, read, fsync, taken) = outcome;
    thawed?;
    taken?;
    read.map_err(|e| format!("O_DIRECT read of w: {e}"))?;
    let what = if truncate {
        "took it whole and was truncated into it"
    } else {
        "took it whole"
    };
    fsync.map_err(|e| {
        format!(
            "fsync of x returned {e} (no I/O failed): v {what} (block {f}, x's old tail) while \
             the fsync waited"
        )
    })?;
    // The premises, after the verdict: a test that tested nothing fails.
    let premise = |held: bool, what: &str| {
        if held {
            Ok(())
        } else {
            Err(format!("the test's premise: {what}"))
        }
    };
    premise(b_started, "B's write did not start (B not dirty)")?;
    premise(queued, "the O_DIRECT reads were not queued")?;
    premise(
        c_written,
        "x's fsync wrote no block (its indirect block clean, or in B's folio)",
    )?;
    premise(waiting, "v's write did not wait for B's write")?;
    let got = sys::fiemap(&v).map_err(|e| format!("fiemap v: {e}"))?;
    premise(
        got.first().map(|e| e.1 / b) == Some(f),
        &format!("v's block is not x's old tail's block {f}: {got:?}"),
    )?;
    println!(
        "freed-tail-fsync {mode}: v {what} (block {f}, x's old tail, its buffer on x's list) \
         while x's fsync waited for that buffer: fsync succeeded"
    );
    Ok(())
}
