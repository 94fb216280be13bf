// SPDX-License-Identifier: GPL-2.0
//! Guest-side tester for the toyfs kernel module.
//!
//! ```text
//! toyfs-stress mmap-store FILE OFFSET BYTE
//!     stores BYTE at OFFSET through a shared mapping of FILE's first pages
//!     (OFFSET may lie past the end of the file inside its last page)
//! toyfs-stress run SEED OPS DIR [DEVICE]
//!     OPS seeded random operations on files in DIR, every read checked
//!     against an in-memory model; with DEVICE, DIR is also unmounted and
//!     mounted again (mount -t toyfs DEVICE DIR) now and then
//! toyfs-stress faults SEED OPS DIR MANIFEST
//!     OPS seeded file and directory operations in DIR with fault
//!     injection on for this process, then MANIFEST for the check after
//!     remount (src/faults.rs)
//! toyfs-stress fail-nth DIR MANIFEST
//!     every fault point of each of a set of file and directory calls
//!     failed in turn (src/fail_nth.rs), then MANIFEST
//! ```
//!
//! A failure prints the seed and the operation number, and exits with 1.

mod fail_nth;
mod faults;
mod mapping;

use mapping::Mapping;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::process::{Command, ExitCode};

/// Files the tester works on at once.
const FILES: usize = 3;
/// Largest file offset it writes to (a few indirect blocks with 1 KiB
/// blocks, small enough for a 4 MiB ramdisk).
const MAX_SIZE: u64 = 160 * 1024;

/// xorshift64*: small, seedable, good enough to pick operations.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..bound` (`bound` > 0).
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// The tester's state: the open files and what they must contain.
struct Tester {
    dir: String,
    device: Option<String>,
    files: Vec<File>,
    model: Vec<Vec<u8>>,
    rng: Rng,
}

type Outcome = Result<(), String>;

impl Tester {
    fn path(&self, index: usize) -> String {
        format!("{}/stress-{index}", self.dir)
    }

    fn open_all(&mut self) -> Outcome {
        self.files.clear();
        for index in 0..FILES {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(self.path(index))
                .map_err(|err| format!("open {}: {err}", self.path(index)))?;
            self.files.push(file);
        }
        Ok(())
    }

    fn compare(&self, index: usize, offset: u64, got: &[u8], what: &str) -> Outcome {
        let model = &self.model[index];
        let start = (offset as usize).min(model.len());
        let end = (offset as usize + got.len()).min(model.len());
        let want = &model[start..end];
        if got.len() != want.len() {
            return Err(format!(
                "{what} of file {index} at {offset}: {} bytes, expected {} (size {})",
                got.len(),
                want.len(),
                model.len()
            ));
        }
        if let Some(at) = got.iter().zip(want).position(|(a, b)| a != b) {
            return Err(format!(
                "{what} of file {index}: byte {} is {:#x}, expected {:#x} (size {})",
                offset as usize + at,
                got[at],
                want[at],
                model.len()
            ));
        }
        Ok(())
    }

    fn read(&self, index: usize, offset: u64, len: usize, what: &str) -> Outcome {
        let mut buf = vec![0u8; len];
        let mut done = 0;
        while done < len {
            let n = self.files[index]
                .read_at(&mut buf[done..], offset + done as u64)
                .map_err(|err| format!("{what}: read: {err}"))?;
            if n == 0 {
                break;
            }
            done += n;
        }
        buf.truncate(done);
        self.compare(index, offset, &buf, what)
    }

    fn check_file(&self, index: usize, what: &str) -> Outcome {
        let size = self.files[index]
            .metadata()
            .map_err(|err| err.to_string())?
            .len();
        if size != self.model[index].len() as u64 {
            return Err(format!(
                "{what}: file {index} has size {size}, expected {}",
                self.model[index].len()
            ));
        }
        self.read(index, 0, self.model[index].len() + 100, what)
    }

    fn remount(&mut self) -> Outcome {
        let Some(device) = self.device.clone() else {
            return Ok(());
        };
        self.files.clear();
        let run = |args: &[&str]| -> Outcome {
            let status = Command::new(args[0])
                .args(&args[1..])
                .status()
                .map_err(|err| err.to_string())?;
            if !status.success() {
                return Err(format!("{args:?} failed: {status}"));
            }
            Ok(())
        };
        run(&["umount", &self.dir])?;
        run(&["mount", "-t", "toyfs", &device, &self.dir])?;
        self.open_all()?;
        for index in 0..FILES {
            self.check_file(index, "after remount")?;
        }
        Ok(())
    }

    fn step(&mut self) -> Outcome {
        let index = self.rng.below(FILES as u64) as usize;
        let size = self.model[index].len() as u64;
        match self.rng.below(100) {
            0..=29 => {
                let offset = self.rng.below((size + 12_000).min(MAX_SIZE));
                let len = 1 + self.rng.below(9000.min(MAX_SIZE - offset)) as usize;
                let data = self.rng.bytes(len);
                self.files[index]
                    .write_all_at(&data, offset)
                    .map_err(|err| format!("write {len} at {offset}: {err}"))?;
                let model = &mut self.model[index];
                let end = offset as usize + len;
                if model.len() < end {
                    model.resize(end, 0);
                }
                model[offset as usize..end].copy_from_slice(&data);
            }
            30..=49 => {
                let offset = self.rng.below(size + 5000);
                let len = 1 + self.rng.below(10_000) as usize;
                self.read(index, offset, len, "read")?;
            }
            50..=59 => {
                // Mostly unaligned sizes, often inside the last page.
                let new = if self.rng.below(2) == 0 {
                    self.rng.below(MAX_SIZE)
                } else {
                    (size + self.rng.below(6000))
                        .saturating_sub(3000)
                        .min(MAX_SIZE)
                };
                self.files[index]
                    .set_len(new)
                    .map_err(|err| format!("truncate to {new}: {err}"))?;
                self.model[index].resize(new as usize, 0);
            }
            60..=74 if size > 0 => {
                let offset = self.rng.below(size);
                let len = 1 + self.rng.below(300.min(size - offset)) as usize;
                let data = self.rng.bytes(len);
                let map = Mapping::new(&self.files[index], size as usize)
                    .map_err(|err| format!("mmap {size}: {err}"))?;
                map.store(offset as usize, &data);
                if self.rng.below(4) == 0 {
                    map.sync().map_err(|err| format!("msync: {err}"))?;
                }
                self.model[index][offset as usize..offset as usize + len].copy_from_slice(&data);
            }
            75..=84 if size > 0 => {
                let offset = self.rng.below(size);
                let len = 1 + self.rng.below(4000.min(size - offset)) as usize;
                let map = Mapping::new(&self.files[index], size as usize)
                    .map_err(|err| format!("mmap {size}: {err}"))?;
                let got = map.load(offset as usize, len);
                self.compare(index, offset, &got, "mmap read")?;
            }
            85..=92 => self.files[index]
                .sync_all()
                .map_err(|err| format!("fsync: {err}"))?,
            // drop_caches logs a line each time: rarely.
            93 if self.rng.below(10) == 0 => {
                std::fs::write("/proc/sys/vm/drop_caches", "3")
                    .map_err(|err| format!("drop_caches: {err}"))?;
                self.check_file(index, "after drop_caches")?;
            }
            97 if self.rng.below(40) == 0 => self.remount()?,
            _ => self.check_file(index, "check")?,
        }
        Ok(())
    }
}

fn run(seed: u64, ops: u64, dir: String, device: Option<String>) -> Result<(), String> {
    let mut tester = Tester {
        dir,
        device,
        files: Vec::new(),
        model: vec![Vec::new(); FILES],
        rng: Rng::new(seed),
    };
    tester.open_all()?;
    for index in 0..FILES {
        tester.files[index]
            .set_len(0)
            .map_err(|err| err.to_string())?;
    }
    for op in 0..ops {
        tester
            .step()
            .map_err(|err| format!("seed {seed} op {op}: {err}"))?;
    }
    tester
        .remount()
        .map_err(|err| format!("seed {seed} final remount: {err}"))?;
    for index in 0..FILES {
        tester
            .check_file(index, "final")
            .map_err(|err| format!("seed {seed}: {err}"))?;
    }
    Ok(())
}

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
        Some("run") if (5..=6).contains(&args.len()) => (|| {
            let seed = number(args.get(2), "SEED")?;
            let ops = number(args.get(3), "OPS")?;
            let result = run(seed, ops, args[4].clone(), args.get(5).cloned());
            if result.is_ok() {
                println!("toyfs-stress: seed {seed}: {ops} operations, every read as expected");
            }
            result
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
        Some("fail-nth") if args.len() == 4 => (|| {
            println!("{}", fail_nth::run(&args[2], &args[3])?);
            Ok(())
        })(),
        _ => Err(
            "usage: toyfs-stress mmap-store FILE OFFSET BYTE | run SEED OPS DIR [DEVICE] \
                  | faults SEED OPS DIR MANIFEST | fail-nth DIR MANIFEST"
                .into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("toyfs-stress: {err}");
            ExitCode::FAILURE
        }
    }
}
