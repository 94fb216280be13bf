// SPDX-License-Identifier: GPL-2.0
//! `toyfs-stress io-errors DIR DEVICE MANIFEST`: disk write errors,
//! injected with fail_make_request (Documentation/fault-injection/
//! fault-injection.rst: `/sys/block/DEV/make-it-fail` and the debugfs
//! knobs), must be reported by the fsync of the file that had them and by
//! nothing else, and lose nothing else.
//!
//! Files written and fsynced before (`keep-*`), files left dirty across
//! the errors and synced after them (`other-*`), and files written after
//! them (`new-*`) must all hold their bytes after unmount and mount: the
//! MANIFEST (src/faults.rs's format) lists them for the caller's check.
//! While the device fails, only one call runs: the fsync (or fdatasync)
//! of one victim, which must fail with `EIO`.  One victim overwrites
//! blocks it has (data I/O only), one is new (allocation as well), one is
//! dirtied through a mapping and synced with `msync(MS_SYNC)`.  Then a
//! read of an evicted file while the device fails must fail with `EIO`
//! (not return zeros), and return the file's bytes once it works again.
//! Periodic writeback is held off meanwhile, so that no other dirty file
//! is written while the device fails.

use crate::faults::{write_manifest, EIO};
use crate::mapping::Mapping;
use crate::worker::read_upto;
use seeded_rng::Rng;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;

const FAIL_MAKE_REQUEST: &str = "/sys/kernel/debug/fail_make_request";
/// Sizes of the files: a few blocks, past the single-indirect start and
/// past the double-indirect start (1 KiB blocks).
const SIZES: [usize; 3] = [5000, 70_000, 300_000];

type Outcome = Result<(), String>;

fn write_knob(path: &str, value: &str) -> Outcome {
    fs::write(path, value).map_err(|err| format!("{path}: {err}"))
}

/// The sysctls and knobs this test changes, put back on drop.
struct Settings {
    saved: Vec<(String, String)>,
}

impl Settings {
    fn set(&mut self, path: &str, value: &str) -> Outcome {
        let old = fs::read_to_string(path).map_err(|err| format!("{path}: {err}"))?;
        self.saved.push((path.into(), old.trim().into()));
        write_knob(path, value)
    }
}

impl Drop for Settings {
    fn drop(&mut self) {
        for (path, value) in self.saved.iter().rev() {
            let _ = fs::write(path, value);
        }
    }
}

/// The device's `make-it-fail`.
struct Device {
    switch: String,
}

impl Device {
    /// `f` with every request to the device failing.
    fn failing<T>(&self, f: impl FnOnce() -> T) -> Result<T, String> {
        write_knob(&self.switch, "1")?;
        let result = f();
        write_knob(&self.switch, "0")?;
        Ok(result)
    }
}

fn create(path: &str) -> Result<File, String> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|err| format!("create {path}: {err}"))
}

fn put(file: &File, path: &str, offset: u64, data: &[u8]) -> Outcome {
    file.write_all_at(data, offset)
        .map_err(|err| format!("write {path}: {err}"))
}

fn must_sync(file: &File, path: &str, what: &str) -> Outcome {
    file.sync_all()
        .map_err(|err| format!("fsync of {path} ({what}): {err}, expected success"))
}

/// Wants `result` (a sync of `path` while the device failed) to be EIO.
fn must_be_eio(result: io::Result<()>, path: &str, call: &str) -> Outcome {
    match result {
        Err(err) if err.raw_os_error() == Some(EIO) => Ok(()),
        Err(err) => Err(format!(
            "{call} of {path} with the device failing: {err}, expected EIO"
        )),
        Ok(()) => Err(format!(
            "{call} of {path} with the device failing succeeded: the error was lost"
        )),
    }
}

/// Writes files `PREFIX-N` of `SIZES` in `dir` (fsynced if `sync`), adds
/// them to `expected`, and returns them open.
fn write_set(
    dir: &str,
    prefix: &str,
    sync: bool,
    rng: &mut Rng,
    expected: &mut Vec<(String, Vec<u8>)>,
) -> Result<Vec<(File, String)>, String> {
    let mut open = Vec::new();
    for (index, &size) in SIZES.iter().enumerate() {
        let path = format!("{dir}/{prefix}-{index}");
        let data = rng.bytes(size);
        let file = create(&path)?;
        put(&file, &path, 0, &data)?;
        if sync {
            must_sync(&file, &path, "before the errors")?;
        }
        expected.push((path.clone(), data));
        open.push((file, path));
    }
    Ok(open)
}

/// Drops the clean caches (the fsynced files'), so that the next read of
/// them goes to the disk.
fn drop_clean_caches() -> Outcome {
    write_knob("/proc/sys/vm/drop_caches", "3")
}

/// Runs the test; returns a summary for the log.
pub fn run(dir: &str, device: &str, manifest: &str) -> Result<String, String> {
    let name = device.rsplit('/').next().unwrap_or(device);
    let device = Device {
        switch: format!("/sys/block/{name}/make-it-fail"),
    };
    let mut settings = Settings { saved: Vec::new() };
    // Quiet (a stack trace per failure would fail the run), every request.
    settings.set(&format!("{FAIL_MAKE_REQUEST}/verbose"), "0")?;
    settings.set(&format!("{FAIL_MAKE_REQUEST}/interval"), "1")?;
    settings.set(&format!("{FAIL_MAKE_REQUEST}/times"), "-1")?;
    settings.set(&format!("{FAIL_MAKE_REQUEST}/space"), "0")?;
    settings.set(&format!("{FAIL_MAKE_REQUEST}/probability"), "100")?;
    settings.set(&device.switch, "0")?;
    // No periodic writeback of the other dirty files while the device
    // fails.
    settings.set("/proc/sys/vm/dirty_writeback_centisecs", "0")?;
    settings.set("/proc/sys/vm/dirty_expire_centisecs", "360000")?;

    let mut rng = Rng::new(0x10e5);
    let mut expected: Vec<(String, Vec<u8>)> = Vec::new();
    write_set(dir, "keep", true, &mut rng, &mut expected)?;
    let others = write_set(dir, "other", false, &mut rng, &mut expected)?;

    // The victims: one rewrites blocks it has, one allocates.
    let rewrite_path = format!("{dir}/victim-rewrite");
    let rewrite = create(&rewrite_path)?;
    put(&rewrite, &rewrite_path, 0, &vec![0x5a; 80_000])?;
    must_sync(&rewrite, &rewrite_path, "before the errors")?;
    put(&rewrite, &rewrite_path, 3000, &vec![0xa5; 40_000])?;
    let fresh_path = format!("{dir}/victim-new");
    let fresh = create(&fresh_path)?;
    put(&fresh, &fresh_path, 0, &vec![0x3c; 80_000])?;

    must_be_eio(
        device.failing(|| rewrite.sync_all())?,
        &rewrite_path,
        "fsync",
    )?;
    must_be_eio(
        device.failing(|| fresh.sync_data())?,
        &fresh_path,
        "fdatasync",
    )?;
    let mapped_path = format!("{dir}/victim-mapped");
    let mapped = create(&mapped_path)?;
    put(&mapped, &mapped_path, 0, &vec![0x77; 20_000])?;
    must_sync(&mapped, &mapped_path, "before the errors")?;
    let map = Mapping::new(&mapped, 20_000).map_err(|err| format!("mmap {mapped_path}: {err}"))?;
    map.store(5000, &[0x88; 7000]);
    must_be_eio(device.failing(|| map.sync())?, &mapped_path, "msync")?;

    // A read that fails must say so, not return zeros or stale bytes; the
    // same read afterwards returns the data.
    let read_path = &expected[1].0;
    let reader = File::open(read_path).map_err(|err| format!("open {read_path}: {err}"))?;
    drop_clean_caches()?;
    match device.failing(|| read_upto(&reader, 0, SIZES[1]))? {
        Err(err) if err.raw_os_error() == Some(EIO) => (),
        Err(err) => {
            return Err(format!(
                "read of {read_path} with the device failing: {err}, expected EIO"
            ))
        }
        Ok(got) => {
            return Err(format!(
                "read of {read_path} with the device failing returned {} bytes, expected EIO",
                got.len()
            ))
        }
    }
    match read_upto(&reader, 0, SIZES[1]) {
        Ok(got) if got == expected[1].1 => (),
        Ok(_) => return Err(format!("{read_path} reads other bytes after a failed read")),
        Err(err) => return Err(format!("read of {read_path} after a failed read: {err}")),
    }

    // The error was reported; the files that had none report none.
    for (file, path) in &others {
        must_sync(file, path, "dirty while another file's writes failed")?;
    }
    for (path, _) in expected.iter().filter(|(path, _)| path.contains("/keep-")) {
        let file = File::open(path).map_err(|err| format!("open {path}: {err}"))?;
        must_sync(&file, path, "synced before the errors")?;
    }
    drop(write_set(dir, "new", true, &mut rng, &mut expected)?);
    drop(others);

    let files: Vec<(&str, &[u8])> = expected
        .iter()
        .map(|(path, data)| (path.as_str(), data.as_slice()))
        .collect();
    write_manifest(manifest, &files, &[], &[])?;
    drop(settings);
    Ok(format!(
        "fsync, fdatasync and msync of the three victims and a read failed with EIO; \
         {} other files synced without error",
        expected.len()
    ))
}
