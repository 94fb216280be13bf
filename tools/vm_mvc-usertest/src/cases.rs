// SPDX-License-Identifier: GPL-2.0
//! Case 3 of issue 6: vm_mvc with user buffers from user space.  Each case
//! works on a tmpfs file of [`PAGES`] cached pages with a sid created through the
//! test device, and ends by checking that the file holds exactly what the
//! successful calls wrote, every pin was released and every sid detached.
//! Failing calls must return their documented errno and change nothing:
//! not the file, and not a buffer they would have read into.

use crate::counters::Counters;
use crate::device::{self, MvcArgs, TestDev, NODIRTY, PROTZERO, READ, WRITE, ZERO};
use crate::sys::{errno::*, ioctl_ptr, ioctl_raw, unmapped_range, Mapping, Prot, PAGE_SIZE};
use crate::{errno_name, expect_errno, Outcome};
use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

/// Pages of the test file, all in the page cache.
const PAGES: usize = 4;
/// A byte no pattern position holds twice in a row: buffers that must not
/// change are filled with it.
const SENTINEL: u8 = 0xa5;

/// The file's initial bytes.
fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(7) + 3) as u8 ^ (i >> 12) as u8
}

/// A test file with a vm_mvc sid, its expected bytes, and the counters
/// before the case.
struct Fixture {
    dev: TestDev,
    path: String,
    file: File,
    sid: i64,
    model: Vec<u8>,
    before: Counters,
}

impl Fixture {
    fn new(name: &str) -> Result<Self, String> {
        let before = Counters::now()?;
        let path = format!("/tmp/vm_mvc-usertest-{name}");
        let model: Vec<u8> = (0..PAGES * PAGE_SIZE).map(pattern).collect();
        fs::write(&path, &model).map_err(|e| format!("{path}: {e}"))?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| format!("{path}: {e}"))?;
        let dev =
            TestDev::open().map_err(|e| format!("open {}: {}", device::PATH, errno_name(e)))?;
        let sid = dev
            .create_sid(&file)
            .map_err(|e| format!("sid create: {}", errno_name(e)))?;
        Ok(Self {
            dev,
            path,
            file,
            sid,
            model,
            before,
        })
    }

    /// `vm_mvc` through the device.
    fn mvc(&self, args: MvcArgs) -> Result<(), i32> {
        self.dev.mvc(args)
    }

    /// A call that must fail with `want` and change nothing.
    fn refused(&self, what: &str, args: MvcArgs, want: i32) -> Outcome {
        expect_errno(what, self.mvc(args), want)?;
        self.check_file(what)
    }

    /// A call that must succeed.
    fn done(&self, what: &str, args: MvcArgs) -> Outcome {
        self.mvc(args)
            .map_err(|e| format!("{what}: {args:?} failed with {}", errno_name(e)))
    }

    /// Fails unless the file holds the model's bytes.
    fn check_file(&self, what: &str) -> Outcome {
        let bytes = fs::read(&self.path).map_err(|e| format!("{what}: read back: {e}"))?;
        if bytes.len() != self.model.len() {
            return Err(format!(
                "{what}: file has {} bytes, expected {}",
                bytes.len(),
                self.model.len()
            ));
        }
        if let Some(at) = bytes.iter().zip(&self.model).position(|(a, b)| a != b) {
            return Err(format!(
                "{what}: byte {at} of the file is {:#x}, expected {:#x}",
                bytes[at], self.model[at]
            ));
        }
        Ok(())
    }

    /// Byte offset in the file of `pgoffs` in page `pno`.
    fn at(pno: usize, pgoffs: usize) -> usize {
        pno * PAGE_SIZE + pgoffs
    }

    /// Detaches, and checks the file and the counters.
    fn finish(self) -> Outcome {
        self.dev
            .delete_sid(self.sid)
            .map_err(|e| format!("sid delete: {}", errno_name(e)))?;
        self.check_file("at the end")?;
        drop(self.dev);
        let _ = fs::remove_file(&self.path);
        self.before.check_balanced().map(|_| ())
    }
}

/// Fails unless `mapping` holds only `byte` over `len` bytes at `offset`.
fn check_filled(mapping: &Mapping, offset: usize, len: usize, byte: u8, what: &str) -> Outcome {
    match mapping.load(offset, len).iter().position(|&b| b != byte) {
        Some(at) => Err(format!("{what}: buffer byte {at} changed")),
        None => Ok(()),
    }
}

/// An anonymous buffer of `pages` pages filled with [`SENTINEL`].
fn sentinel_buffer(pages: usize) -> Result<Mapping, String> {
    let buffer =
        Mapping::anonymous(pages * PAGE_SIZE, Prot::ReadWrite).map_err(|e| e.to_string())?;
    buffer.store(0, &vec![SENTINEL; pages * PAGE_SIZE]);
    Ok(buffer)
}

fn zero_clears_exactly_the_range() -> Outcome {
    let mut fx = Fixture::new("zero")?;
    for (pno, pgoffs, count) in [(0, 0, 1), (1, 100, 1000), (2, 4095, 1), (3, 0, PAGE_SIZE)] {
        fx.done(
            "zero",
            MvcArgs::new(fx.sid, pno as i64, pgoffs as i32, count as i32, ZERO),
        )?;
        let at = Fixture::at(pno, pgoffs);
        fx.model[at..at + count].fill(0);
        fx.check_file("after zero")?;
    }
    fx.finish()
}

fn write_copies_from_a_user_buffer() -> Outcome {
    let mut fx = Fixture::new("write")?;
    // Unaligned, and across a page boundary of the buffer.
    let buffer = Mapping::anonymous(2 * PAGE_SIZE, Prot::ReadWrite).map_err(|e| e.to_string())?;
    let data: Vec<u8> = (0..300).map(|i| (i * 13 + 1) as u8).collect();
    buffer.store(PAGE_SIZE - 10, &data);
    let args = MvcArgs::new(fx.sid, 2, 3000, 300, WRITE).with_buffer(&buffer, PAGE_SIZE - 10, 300);
    let pinned_before = fx.before;
    fx.done("write", args)?;
    let at = Fixture::at(2, 3000);
    fx.model[at..at + 300].copy_from_slice(&data);
    fx.check_file("after write")?;
    // Both buffer pages were pinned for the call: the path is the user one.
    let pinned = pinned_before.pinned_since()?;
    if pinned < 2 {
        return Err(format!("{pinned} user pages pinned, expected 2 or more"));
    }
    fx.finish()
}

fn write_from_a_read_only_buffer() -> Outcome {
    let mut fx = Fixture::new("write_ro")?;
    let data: Vec<u8> = (0..PAGE_SIZE).map(|i| (i * 5) as u8).collect();
    let path = "/tmp/vm_mvc-usertest-source";
    fs::write(path, &data).map_err(|e| e.to_string())?;
    let source = File::open(path).map_err(|e| e.to_string())?;
    let buffer = Mapping::shared(&source, PAGE_SIZE, Prot::Read).map_err(|e| e.to_string())?;
    let args =
        MvcArgs::new(fx.sid, 1, 0, PAGE_SIZE as i32, WRITE).with_buffer(&buffer, 0, PAGE_SIZE);
    // Attached both ways (FOLL_WRITE), a PROT_READ mapping refuses the pin.
    fx.refused(
        "write from a read-only mapping pinned for writing",
        args,
        EFAULT,
    )?;
    // As a source, it is pinned for reading only.
    fx.done("write from a read-only mapping", args.source_only())?;
    fx.model[PAGE_SIZE..2 * PAGE_SIZE].copy_from_slice(&data);
    drop(buffer);
    let _ = fs::remove_file(path);
    fx.finish()
}

fn read_copies_into_a_user_buffer() -> Outcome {
    let fx = Fixture::new("read")?;
    let buffer = sentinel_buffer(2)?;
    let args = MvcArgs::new(fx.sid, 0, 17, 4000, READ).with_buffer(&buffer, 200, 4000);
    fx.done("read", args)?;
    let got = buffer.load(200, 4000);
    if got != fx.model[17..4017] {
        return Err("read: the buffer does not hold the file's bytes".into());
    }
    check_filled(&buffer, 0, 200, SENTINEL, "bytes before the copy")?;
    check_filled(
        &buffer,
        4200,
        2 * PAGE_SIZE - 4200,
        SENTINEL,
        "bytes after the copy",
    )?;
    fx.finish()
}

fn protzero_zeroes_and_write_protects() -> Outcome {
    let mut fx = Fixture::new("protzero")?;
    let mapping =
        Mapping::shared(&fx.file, PAGES * PAGE_SIZE, Prot::ReadWrite).map_err(|e| e.to_string())?;
    // A store makes the page's entry writable and dirty.
    mapping.store(Fixture::at(1, 5), &[0x5a]);
    fx.model[Fixture::at(1, 5)] = 0x5a;
    let before = fx.before.write_protected;
    fx.done("protzero", MvcArgs::new(fx.sid, 1, 0, 10, PROTZERO))?;
    fx.model[PAGE_SIZE..PAGE_SIZE + 10].fill(0);
    check_filled(&mapping, PAGE_SIZE, 10, 0, "mapping after protzero")?;
    let after = Counters::now()?.write_protected;
    if after <= before {
        return Err("protzero write-protected no page-table entry".into());
    }
    // The next store faults and goes on.
    mapping.store(Fixture::at(1, 6), &[0x66]);
    fx.model[Fixture::at(1, 6)] = 0x66;
    drop(mapping);
    fx.finish()
}

fn count_zero_changes_nothing() -> Outcome {
    let fx = Fixture::new("count0")?;
    let buffer = sentinel_buffer(1)?;
    for cmd in [ZERO, READ, WRITE, PROTZERO] {
        let args = MvcArgs::new(fx.sid, 1, 100, 0, cmd).with_buffer(&buffer, 0, 16);
        fx.done("count 0", args)?;
        // Also of a page that is not cached: no lookup at all.
        let args = MvcArgs::new(fx.sid, 1000, PAGE_SIZE as i32, 0, cmd).with_buffer(&buffer, 0, 16);
        fx.done("count 0 at the end of an uncached page", args)?;
    }
    fx.check_file("count 0")?;
    check_filled(&buffer, 0, PAGE_SIZE, SENTINEL, "count 0")?;
    fx.finish()
}

fn null_buffer_is_efault() -> Outcome {
    let fx = Fixture::new("null")?;
    for cmd in [READ, WRITE] {
        let args = MvcArgs::new(fx.sid, 0, 0, 16, cmd).with_raw_buffer(0, 16, 0);
        fx.refused("null buffer", args, EFAULT)?;
    }
    fx.finish()
}

fn unmapped_buffer_is_efault() -> Outcome {
    let fx = Fixture::new("unmapped")?;
    let addr = unmapped_range(2 * PAGE_SIZE).map_err(|e| e.to_string())? as u64;
    for cmd in [READ, WRITE] {
        let args = MvcArgs::new(fx.sid, 0, 0, 100, cmd).with_raw_buffer(addr + 7, 100, addr + 7);
        fx.refused("unmapped buffer", args, EFAULT)?;
    }
    // A kernel address is no user buffer either.
    let kernel = 0xffff_ffff_8100_0000u64;
    let args = MvcArgs::new(fx.sid, 0, 0, 100, READ).with_raw_buffer(kernel, 100, kernel);
    fx.refused("kernel address as the buffer", args, EFAULT)?;
    fx.finish()
}

fn partly_unmapped_buffer_is_efault() -> Outcome {
    let fx = Fixture::new("partly")?;
    let mut buffer = sentinel_buffer(3)?;
    buffer.unmap_tail(PAGE_SIZE).map_err(|e| e.to_string())?;
    let start = buffer.addr(PAGE_SIZE - 50) as u64;
    for cmd in [READ, WRITE] {
        // The first page is pinned, the second is missing: the pinned one
        // must be released again.
        let args = MvcArgs::new(fx.sid, 0, 0, 100, cmd).with_raw_buffer(start, 100, start);
        fx.refused("buffer running into a hole", args, EFAULT)?;
    }
    check_filled(&buffer, 0, PAGE_SIZE, SENTINEL, "partly unmapped")?;
    fx.finish()
}

fn read_only_mapping_as_read_target() -> Outcome {
    let fx = Fixture::new("ro_target")?;
    let buffer = Mapping::anonymous(PAGE_SIZE, Prot::Read).map_err(|e| e.to_string())?;
    let args = MvcArgs::new(fx.sid, 0, 0, 64, READ).with_buffer(&buffer, 0, 64);
    // Pinned for writing, as a READ target needs: the mapping refuses.
    fx.refused("read into a read-only mapping", args, EFAULT)?;
    // Attached as a source only: READ may not copy into it.
    fx.refused("read into a source-only buffer", args.source_only(), EACCES)?;
    // And a destination only may not be the source of a WRITE.
    let writable = Mapping::anonymous(PAGE_SIZE, Prot::ReadWrite).map_err(|e| e.to_string())?;
    let write = MvcArgs::new(fx.sid, 0, 0, 64, WRITE).with_buffer(&writable, 0, 64);
    fx.refused(
        "write from a destination-only buffer",
        write.dest_only(),
        EACCES,
    )?;
    check_filled(&buffer, 0, 64, 0, "read-only mapping")?;
    fx.finish()
}

fn buffer_unmapped_by_another_thread() -> Outcome {
    let fx = Fixture::new("racing_unmap")?;
    let buffer = sentinel_buffer(2)?;
    let args =
        |cmd| MvcArgs::new(fx.sid, 1, 0, PAGE_SIZE as i32, cmd).with_buffer(&buffer, 10, PAGE_SIZE);
    let (read, write) = (args(READ), args(WRITE));
    let mut outcomes = [0usize; 2];
    std::thread::scope(|scope| -> Outcome {
        let unmapper = scope.spawn(|| {
            std::thread::yield_now();
            buffer.unmap()
        });
        // Calls until one has started after the unmap ended, however the
        // two threads are scheduled: that one finds the buffer gone.
        let mut round = 0;
        loop {
            let unmapped = unmapper.is_finished();
            let args = if round % 2 == 0 { read } else { write };
            match fx.mvc(args) {
                Ok(()) => outcomes[0] += 1,
                Err(EFAULT) => outcomes[1] += 1,
                Err(e) => return Err(format!("round {round}: {}", errno_name(e))),
            }
            round += 1;
            if unmapped {
                break;
            }
        }
        unmapper
            .join()
            .map_err(|_| "unmapper panicked".to_string())?
            .map_err(|e| e.to_string())
    })?;
    println!(
        "{} calls succeeded, {} found the buffer gone (EFAULT)",
        outcomes[0], outcomes[1]
    );
    if outcomes[1] == 0 {
        return Err("no call ran after the unmap".into());
    }
    // Round 0 is a READ: each WRITE that succeeded copied back the page's
    // own bytes, so the file is unchanged.
    fx.finish()
}

/// Runs `args` (with a pause after the attach) in a thread, unmaps the
/// buffer as soon as it is pinned, and returns the call's result and
/// whether the unmap happened while the pages were still pinned.
fn call_and_unmap_while_pinned(
    fx: &Fixture,
    args: MvcArgs,
    buffer: &Mapping,
) -> Result<(Result<(), i32>, bool), String> {
    std::thread::scope(|scope| {
        let caller = scope.spawn(|| fx.mvc(args.paused()));
        while Counters::user_pages_live()? == 0 && !caller.is_finished() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        buffer.unmap().map_err(|e| e.to_string())?;
        let during = Counters::user_pages_live()? > 0;
        let result = caller
            .join()
            .map_err(|_| "the caller panicked".to_string())?;
        Ok((result, during))
    })
}

fn buffer_unmapped_while_attached() -> Outcome {
    let mut fx = Fixture::new("unmap_attached")?;
    // READ into pages that are no longer mapped: they are pinned, so the
    // copy lands in them, and they are freed when unpinned.  WRITE from
    // such pages: the file receives what they held when they were pinned.
    for (name, cmd, pno) in [("READ", READ, 1), ("WRITE", WRITE, 2)] {
        let buffer = sentinel_buffer(2)?;
        let args = MvcArgs::new(fx.sid, pno as i64, 0, PAGE_SIZE as i32, cmd);
        let args = args.with_buffer(&buffer, 10, PAGE_SIZE);
        let (result, during) = call_and_unmap_while_pinned(&fx, args, &buffer)?;
        println!("{name}: {result:?}, unmapped while pinned: {during}");
        result.map_err(|e| format!("{name}: {}", errno_name(e)))?;
        if cmd == WRITE {
            fx.model[pno * PAGE_SIZE..(pno + 1) * PAGE_SIZE].fill(SENTINEL);
        }
    }
    fx.finish()
}

fn huge_counts_are_einval() -> Outcome {
    let fx = Fixture::new("huge")?;
    let buffer = sentinel_buffer(2)?;
    let base = |count: i32, cmd| {
        MvcArgs::new(fx.sid, 0, 0, count, cmd).with_buffer(&buffer, 0, 2 * PAGE_SIZE)
    };
    for cmd in [ZERO, READ, WRITE, PROTZERO] {
        for count in [PAGE_SIZE as i32 + 1, i32::MAX, -1, i32::MIN] {
            fx.refused(&format!("count {count}"), base(count, cmd), EINVAL)?;
        }
    }
    // Buffers longer than INT_MAX bytes cannot be attached.
    let addr = buffer.addr(0) as u64;
    for len in [1u64 << 31, u64::MAX] {
        let args = MvcArgs::new(fx.sid, 0, 0, 16, READ).with_raw_buffer(addr, len, addr);
        fx.refused(&format!("buffer of {len} bytes"), args, EINVAL)?;
    }
    // A buffer of INT_MAX bytes is mostly unmapped.
    let args = MvcArgs::new(fx.sid, 0, 0, 16, READ).with_raw_buffer(addr, i32::MAX as u64, addr);
    fx.refused("buffer of INT_MAX bytes", args, EFAULT)?;
    check_filled(&buffer, 0, 2 * PAGE_SIZE, SENTINEL, "huge counts")?;
    fx.finish()
}

fn bad_sids_are_ebadf() -> Outcome {
    let fx = Fixture::new("sids")?;
    let other = OpenOptions::new()
        .read(true)
        .open(&fx.path)
        .map_err(|e| e.to_string())?;
    let deleted = fx.dev.create_sid(&other).map_err(errno_name)?;
    fx.dev.delete_sid(deleted).map_err(errno_name)?;
    // The allocator reuses the lowest free slot: a new sid in the old
    // slot must not revive the old one.
    let reused = fx.dev.create_sid(&other).map_err(errno_name)?;
    let bad = [
        0,
        -1,
        i64::MIN,
        i64::MAX,
        1 << 20,
        fx.sid + (1 << 40),
        deleted,
    ];
    for sid in bad {
        for cmd in [ZERO, PROTZERO] {
            fx.refused(
                &format!("sid {sid:#x}"),
                MvcArgs::new(sid, 0, 0, 8, cmd),
                EBADF,
            )?;
        }
        expect_errno(
            &format!("delete of sid {sid:#x}"),
            fx.dev.delete_sid(sid),
            EBADF,
        )?;
    }
    fx.dev.delete_sid(reused).map_err(errno_name)?;
    expect_errno("second delete", fx.dev.delete_sid(reused), EBADF)?;
    // A sid another open file created cannot be deleted through this one.
    let dev2 = TestDev::open().map_err(errno_name)?;
    expect_errno(
        "delete through another open file",
        dev2.delete_sid(fx.sid),
        EBADF,
    )?;
    expect_errno("leak through another open file", dev2.leak(fx.sid), EBADF)?;
    drop(dev2);
    fx.finish()
}

/// A sid created for a descriptor open read-only (O_RDONLY) reads but
/// never writes: ZERO, WRITE and PROTZERO (with or without
/// VM_MVC_NODIRTY, count 0 and a bad buffer included) are EBADF, as
/// write(2) and fallocate(2) on such a descriptor, through this open file
/// of the device and through another one.
fn read_only_descriptor_only_reads() -> Outcome {
    let mut fx = Fixture::new("read_only_fd")?;
    let read_only = File::open(&fx.path).map_err(|e| e.to_string())?;
    let sid = fx.dev.create_sid(&read_only).map_err(errno_name)?;
    let source: Vec<u8> = (0..PAGE_SIZE).map(|i| (i * 11 + 7) as u8).collect();
    let buffer = sentinel_buffer(1)?;
    buffer.store(0, &source);
    let write = MvcArgs::new(sid, 1, 100, 300, WRITE).with_buffer(&buffer, 0, 300);
    let calls = [
        ("zero", MvcArgs::new(sid, 0, 0, 8, ZERO)),
        (
            "zero of a whole page",
            MvcArgs::new(sid, 3, 0, PAGE_SIZE as i32, ZERO),
        ),
        ("zero of 0 bytes", MvcArgs::new(sid, 0, 0, 0, ZERO)),
        (
            "zero without dirtying",
            MvcArgs::new(sid, 0, 0, 8, ZERO | NODIRTY),
        ),
        ("write", write),
        ("write from a source-only buffer", write.source_only()),
        (
            "write without dirtying",
            MvcArgs {
                cmd: WRITE | NODIRTY,
                ..write
            },
        ),
        (
            "write from a NULL buffer",
            MvcArgs::new(sid, 1, 0, 8, WRITE).with_raw_buffer(0, 8, 0),
        ),
        ("protzero", MvcArgs::new(sid, 2, 10, 20, PROTZERO)),
        (
            "protzero without dirtying",
            MvcArgs::new(sid, 2, 10, 20, PROTZERO | NODIRTY),
        ),
    ];
    let other = TestDev::open().map_err(errno_name)?;
    for (what, args) in calls {
        fx.refused(what, args, EBADF)?;
        expect_errno(
            &format!("{what} through another open file"),
            other.mvc(args),
            EBADF,
        )?;
        fx.check_file(what)?;
    }
    drop(other);
    // READ works, and the buffer a refused WRITE would have read is intact.
    let dest = sentinel_buffer(1)?;
    fx.done(
        "read",
        MvcArgs::new(sid, 1, 5, 2000, READ).with_buffer(&dest, 0, 2000),
    )?;
    if dest.load(0, 2000) != fx.model[Fixture::at(1, 5)..Fixture::at(1, 2005)] {
        return Err("read: the buffer does not hold the file's bytes".into());
    }
    if buffer.load(0, PAGE_SIZE) != source {
        return Err("a refused write changed its source buffer".into());
    }
    // The sid of the descriptor open for writing still writes.
    fx.done(
        "write through the writable sid",
        MvcArgs {
            sid: fx.sid,
            ..write
        },
    )?;
    let at = Fixture::at(1, 100);
    fx.model[at..at + 300].copy_from_slice(&source[..300]);
    fx.dev.delete_sid(sid).map_err(errno_name)?;
    drop(read_only);
    fx.finish()
}

fn bad_page_numbers() -> Outcome {
    let fx = Fixture::new("pno")?;
    for pno in [-1, i64::MIN] {
        fx.refused(
            &format!("pno {pno}"),
            MvcArgs::new(fx.sid, pno, 0, 8, ZERO),
            EINVAL,
        )?;
    }
    // Past the end of the file, or beyond any file: not cached, and
    // vm_mvc creates no page.
    for pno in [PAGES as i64, 1 << 30, i64::MAX] {
        for cmd in [ZERO, PROTZERO] {
            fx.refused(
                &format!("pno {pno}"),
                MvcArgs::new(fx.sid, pno, 0, 8, cmd),
                ENOENT,
            )?;
        }
    }
    let size = fx.file.metadata().map_err(|e| e.to_string())?.len();
    if size != (PAGES * PAGE_SIZE) as u64 {
        return Err(format!("the file grew to {size} bytes"));
    }
    fx.finish()
}

fn bad_offsets_are_einval() -> Outcome {
    let fx = Fixture::new("offsets")?;
    let buffer = sentinel_buffer(2)?;
    for cmd in [ZERO, READ, WRITE, PROTZERO] {
        for (pgoffs, count) in [
            (-1, 8),
            (i32::MIN, 8),
            (4090, 7),
            (PAGE_SIZE as i32, 1),
            (i32::MAX, 1),
            (1, PAGE_SIZE as i32),
        ] {
            let args =
                MvcArgs::new(fx.sid, 0, pgoffs, count, cmd).with_buffer(&buffer, 0, 2 * PAGE_SIZE);
            fx.refused(&format!("pgoffs {pgoffs} count {count}"), args, EINVAL)?;
        }
    }
    check_filled(&buffer, 0, 2 * PAGE_SIZE, SENTINEL, "bad offsets")?;
    fx.finish()
}

fn bad_commands_are_einval() -> Outcome {
    let fx = Fixture::new("commands")?;
    let buffer = sentinel_buffer(1)?;
    for cmd in [0, 5, -1, i32::MIN, i32::MAX] {
        let args = MvcArgs::new(fx.sid, 0, 0, 8, cmd).with_buffer(&buffer, 0, 8);
        fx.refused(&format!("command {cmd}"), args, EINVAL)?;
    }
    fx.finish()
}

fn copy_address_outside_the_buffer_is_efault() -> Outcome {
    let fx = Fixture::new("ptr")?;
    let buffer = sentinel_buffer(2)?;
    let start = buffer.addr(100) as u64;
    for cmd in [READ, WRITE] {
        for ptr in [start - 1, start + 1000 - 63, 0, u64::MAX] {
            let args = MvcArgs::new(fx.sid, 0, 0, 64, cmd).with_raw_buffer(start, 1000, ptr);
            fx.refused(&format!("ptr {ptr:#x}"), args, EFAULT)?;
        }
    }
    check_filled(&buffer, 0, 2 * PAGE_SIZE, SENTINEL, "ptr outside")?;
    fx.finish()
}

fn read_and_write_need_a_buffer() -> Outcome {
    let fx = Fixture::new("nobuf")?;
    for cmd in [READ, WRITE] {
        fx.refused("no buffer", MvcArgs::new(fx.sid, 0, 0, 8, cmd), EINVAL)?;
    }
    fx.finish()
}

fn bad_ioctl_arguments() -> Outcome {
    let fx = Fixture::new("ioctl")?;
    let fd = fx.dev.as_raw_fd();
    for request in [
        device::SID_CREATE,
        device::SID_DELETE,
        device::LEAK,
        device::MVC,
    ] {
        expect_errno("null argument", ioctl_raw(fd, request, 0), EFAULT)?;
        let addr = unmapped_range(PAGE_SIZE).map_err(|e| e.to_string())?;
        expect_errno("unmapped argument", ioctl_raw(fd, request, addr), EFAULT)?;
    }
    expect_errno("unknown ioctl", ioctl_raw(fd, device::MVC + 1, 0), ENOTTY)?;
    expect_errno("sid create of a bad fd", fx.dev.create_sid_fd(-1), EBADF)?;
    expect_errno(
        "sid create of a closed fd",
        fx.dev.create_sid_fd(999),
        EBADF,
    )?;
    let dir = File::open("/tmp").map_err(|e| e.to_string())?;
    expect_errno("sid create of a directory", fx.dev.create_sid(&dir), EINVAL)?;
    let null = File::open("/dev/null").map_err(|e| e.to_string())?;
    expect_errno("sid create of a device", fx.dev.create_sid(&null), EINVAL)?;
    let mut args = device::SidCreateArgs {
        fd: fx.file.as_raw_fd(),
        reserved: 1,
        sid: 0,
    };
    expect_errno(
        "sid create with reserved bits",
        ioctl_ptr(&fx.dev, device::SID_CREATE, &mut args),
        EINVAL,
    )?;
    let mut bad_flags = MvcArgs::new(fx.sid, 0, 0, 8, ZERO);
    bad_flags.flags = 8;
    expect_errno("unknown flags", fx.mvc(bad_flags), EINVAL)?;
    fx.check_file("bad ioctls")?;
    fx.finish()
}

fn release_deletes_the_sids() -> Outcome {
    let before = Counters::now()?;
    let path = "/tmp/vm_mvc-usertest-release";
    fs::write(path, [1u8; 100]).map_err(|e| e.to_string())?;
    let file = File::open(path).map_err(|e| e.to_string())?;
    let dev = TestDev::open().map_err(errno_name)?;
    for _ in 0..5 {
        dev.create_sid(&file).map_err(errno_name)?;
    }
    let created = Counters::now()?.sids_live - before.sids_live;
    if created != 5 {
        return Err(format!("{created} sids live after 5 creates"));
    }
    drop(dev);
    let _ = fs::remove_file(path);
    before.check_balanced().map(|_| ())
}

/// Run as root: drops to an unprivileged user, then every ioctl on the
/// open device and every new open must be refused with EPERM.
pub fn probe_unprivileged() -> Outcome {
    let path = "/tmp/vm_mvc-usertest-unprivileged";
    let file = File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let dev = TestDev::open().map_err(errno_name)?;
    crate::sys::become_user(65534).map_err(|e| format!("setuid: {e}"))?;
    expect_errno("sid create", dev.create_sid(&file), EPERM)?;
    expect_errno("sid delete", dev.delete_sid(1), EPERM)?;
    expect_errno("leak", dev.leak(1), EPERM)?;
    expect_errno("mvc", dev.mvc(MvcArgs::new(1, 0, 0, 1, ZERO)), EPERM)?;
    expect_errno("open", TestDev::open().map(drop), EPERM)?;
    Ok(())
}

fn non_root_gets_eperm() -> Outcome {
    let before = Counters::now()?;
    let path = "/tmp/vm_mvc-usertest-unprivileged";
    fs::write(path, [7u8; 64]).map_err(|e| e.to_string())?;
    // Let the node's mode admit anybody, so that the module's own check is
    // what refuses.
    let set_mode = |mode| fs::set_permissions(device::PATH, fs::Permissions::from_mode(mode));
    set_mode(0o666).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe).arg("probe-unprivileged").output();
    set_mode(0o600).map_err(|e| e.to_string())?;
    let out = out.map_err(|e| e.to_string())?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    print!("{}", String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        return Err(format!("unprivileged probe: {}", out.status));
    }
    if fs::read(path).map_err(|e| e.to_string())? != [7u8; 64] {
        return Err("the file changed".into());
    }
    let _ = fs::remove_file(path);
    before.check_balanced().map(|_| ())
}

/// A case: its name and its function.
pub type Case = (&'static str, fn() -> Outcome);

/// Every case of this file, by name.
pub const CASES: &[Case] = &[
    (
        "zero_clears_exactly_the_range",
        zero_clears_exactly_the_range,
    ),
    (
        "write_copies_from_a_user_buffer",
        write_copies_from_a_user_buffer,
    ),
    (
        "write_from_a_read_only_buffer",
        write_from_a_read_only_buffer,
    ),
    (
        "read_copies_into_a_user_buffer",
        read_copies_into_a_user_buffer,
    ),
    (
        "protzero_zeroes_and_write_protects",
        protzero_zeroes_and_write_protects,
    ),
    ("count_zero_changes_nothing", count_zero_changes_nothing),
    ("null_buffer_is_efault", null_buffer_is_efault),
    ("unmapped_buffer_is_efault", unmapped_buffer_is_efault),
    (
        "partly_unmapped_buffer_is_efault",
        partly_unmapped_buffer_is_efault,
    ),
    (
        "read_only_mapping_as_read_target",
        read_only_mapping_as_read_target,
    ),
    (
        "buffer_unmapped_by_another_thread",
        buffer_unmapped_by_another_thread,
    ),
    (
        "buffer_unmapped_while_attached",
        buffer_unmapped_while_attached,
    ),
    ("huge_counts_are_einval", huge_counts_are_einval),
    ("bad_sids_are_ebadf", bad_sids_are_ebadf),
    (
        "read_only_descriptor_only_reads",
        read_only_descriptor_only_reads,
    ),
    ("bad_page_numbers", bad_page_numbers),
    ("bad_offsets_are_einval", bad_offsets_are_einval),
    ("bad_commands_are_einval", bad_commands_are_einval),
    (
        "copy_address_outside_the_buffer_is_efault",
        copy_address_outside_the_buffer_is_efault,
    ),
    ("read_and_write_need_a_buffer", read_and_write_need_a_buffer),
    ("bad_ioctl_arguments", bad_ioctl_arguments),
    ("release_deletes_the_sids", release_deletes_the_sids),
    ("non_root_gets_eperm", non_root_gets_eperm),
];
