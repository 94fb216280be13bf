// SPDX-License-Identifier: GPL-2.0
//! Case 1 of issue 6, vm_mvc's half: the user-buffer path under allocation
//! failures.  scripts/guest/fault-injection.sh sets the failslab and
//! fail_page_alloc knobs with `task-filter`; this program marks only
//! itself (`make-it-fail`), only around the calls under test, and checks
//! that each call either worked or failed with ENOMEM and changed nothing.
//! Also: `leak`, which leaves a sid live for the unload test (case 5).

use crate::counters::Counters;
use crate::device::{MvcArgs, TestDev, READ, WRITE, ZERO};
use crate::rng::Rng;
use crate::sys::{errno::*, Mapping, Prot, PAGE_SIZE};
use crate::{errno_name, Outcome};
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt};

/// vm_mvc calls per sid.
const CALLS_PER_ROUND: usize = 8;

/// This task's `make-it-fail`, opened before injection starts: opening a
/// file allocates, writing this one does not.
struct Injection(File);

impl Injection {
    fn open() -> Result<Self, String> {
        let path = "/proc/thread-self/make-it-fail";
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| format!("{path}: {e}"))?;
        Ok(Self(file))
    }

    fn set(&self, on: bool) -> Result<(), String> {
        let value = if on { b"1" } else { b"0" };
        // Writing it allocates nothing, but be stubborn about switching off.
        let mut last = None;
        for _ in 0..100 {
            match self.0.write_at(value, 0) {
                Ok(_) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(format!("make-it-fail: {last:?}"))
    }
}

impl Drop for Injection {
    fn drop(&mut self) {
        let _ = self.set(false);
    }
}

/// Counts of outcomes.
#[derive(Default)]
struct Tally {
    create_enomem: usize,
    calls_ok: usize,
    calls_enomem: usize,
}

/// One round with injection on: sid create, a few calls, sid delete.  Returns the
/// first unexpected result; `model` follows the successful calls.
fn round(
    dev: &TestDev,
    file: &File,
    buffer: &Mapping,
    model: &mut [u8],
    rng: &mut Rng,
    tally: &mut Tally,
) -> Outcome {
    let sid = match dev.create_sid(file) {
        Ok(sid) => sid,
        Err(ENOMEM) => {
            tally.create_enomem += 1;
            return Ok(());
        }
        Err(e) => return Err(format!("sid create: {}", errno_name(e))),
    };
    let pages = model.len() / PAGE_SIZE;
    for _ in 0..CALLS_PER_ROUND {
        let cmd = [READ, WRITE, ZERO][rng.index(3)];
        let pno = rng.index(pages);
        let pgoffs = rng.index(PAGE_SIZE);
        let count = 1 + rng.index(PAGE_SIZE - pgoffs);
        let data: Vec<u8> = (0..count).map(|_| rng.next_u64() as u8).collect();
        // Stores to prefaulted anonymous memory: no system call.
        buffer.store(0, &data);
        let args = MvcArgs::new(sid, pno as i64, pgoffs as i32, count as i32, cmd)
            .with_buffer(buffer, 0, count);
        let at = pno * PAGE_SIZE + pgoffs;
        match dev.mvc(args) {
            Ok(()) => {
                tally.calls_ok += 1;
                match cmd {
                    WRITE => model[at..at + count].copy_from_slice(&data),
                    ZERO => model[at..at + count].fill(0),
                    _ if buffer.load(0, count) != model[at..at + count] => {
                        return Err(format!("{args:?}: READ copied the wrong bytes"))
                    }
                    _ => {}
                }
            }
            Err(ENOMEM) => {
                tally.calls_enomem += 1;
                if buffer.load(0, count) != data {
                    return Err(format!("{args:?}: a failed call changed the buffer"));
                }
            }
            Err(e) => return Err(format!("{args:?}: {}", errno_name(e))),
        }
    }
    dev.delete_sid(sid)
        .map_err(|e| format!("sid delete: {}", errno_name(e)))
}

/// Runs `rounds` rounds on `path` (a file of whole pages, all cached).
pub fn run(path: &str, rounds: usize, seed: u64) -> Outcome {
    let before = Counters::now()?;
    let mut model = fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    if model.is_empty() || model.len() % PAGE_SIZE != 0 {
        return Err(format!("{path}: expected whole pages"));
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| format!("{path}: {e}"))?;
    let dev = TestDev::open().map_err(|e| format!("open the device: {}", errno_name(e)))?;
    let buffer = Mapping::anonymous(PAGE_SIZE, Prot::ReadWrite).map_err(|e| e.to_string())?;
    let mut rng = Rng::new(seed);
    let mut tally = Tally::default();
    let injection = Injection::open()?;
    for number in 0..rounds {
        injection.set(true)?;
        let result = round(&dev, &file, &buffer, &mut model, &mut rng, &mut tally);
        injection.set(false)?;
        result.map_err(|e| format!("round {number}: {e}"))?;
        // Without injection: the file holds exactly what succeeded.
        let bytes = fs::read(path).map_err(|e| format!("{path}: {e}"))?;
        if let Some(at) = bytes.iter().zip(&model).position(|(a, b)| a != b) {
            return Err(format!(
                "round {number}: byte {at} is {:#x}, expected {:#x}",
                bytes[at], model[at]
            ));
        }
    }
    drop(dev);
    println!(
        "{rounds} rounds: {} sid creates failed with ENOMEM; {} calls worked, {} failed with ENOMEM",
        tally.create_enomem, tally.calls_ok, tally.calls_enomem
    );
    if tally.calls_ok == 0 || tally.create_enomem + tally.calls_enomem == 0 {
        return Err("expected both successes and injected failures".into());
    }
    before.check_balanced().map(|_| ())
}

/// Creates a sid for `path`, leaves it live, and prints it and the inode.
pub fn leak(path: &str) -> Outcome {
    let file = File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let ino = file.metadata().map_err(|e| e.to_string())?.ino();
    let dev = TestDev::open().map_err(|e| format!("open the device: {}", errno_name(e)))?;
    let sid = dev
        .create_sid(&file)
        .map_err(|e| format!("sid create: {}", errno_name(e)))?;
    dev.leak(sid)
        .map_err(|e| format!("leak: {}", errno_name(e)))?;
    println!("sid {sid} inode {ino}");
    Ok(())
}
