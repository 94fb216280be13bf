// SPDX-License-Identifier: GPL-2.0
//! Threads of `toyfs-stress run` on one shared file.  The file's first
//! `REGION` bytes are cut into stripes of `STRIPE` bytes, dealt out to the
//! threads in turn, so that neighbouring stripes of one block and one page
//! belong to different threads.  Each thread writes, reads, stores and
//! loads through its own live mapping, punches and zeroes only inside its
//! stripes, and checks them; thread 0 also owns everything past the
//! region, and truncates and extends the file there, so the page of the
//! end of the file holds other threads' stripes while they store into it.
//! The whole file is checked between rounds.

use crate::mapping::Mapping;
use crate::model::FileModel;
use crate::options::Options;
use crate::sys::{self, PAGE};
use crate::worker::{open, read_upto, Outcome};
use seeded_rng::Rng;
use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Bytes of one stripe: not a divisor of any block size, so stripes
/// share blocks.
const STRIPE: u64 = 1000;
/// Stripes of the region.
const STRIPES: u64 = 48;
/// The stripes end inside a page (48000 = 11 pages + 2944).
const REGION: u64 = STRIPE * STRIPES;
/// How far past the region thread 0 moves the end of the file.
const TAIL: u64 = 3 * PAGE + 123;
/// The length of each thread's mapping.
const MAP_LEN: usize = ((REGION + TAIL).div_ceil(PAGE) * PAGE + PAGE) as usize;

/// Changes of the shared file a failure message recalls, of all threads.
const HISTORY: usize = 200;

/// The last changes of the shared file by any thread, in the order they
/// were recorded (after each call returned).
static HISTORY_LOG: Mutex<VecDeque<String>> = Mutex::new(VecDeque::new());

/// One thread on the shared file.
pub struct SharedWorker<'a> {
    options: &'a Options,
    /// Thread number among the shared ones.
    pub id: usize,
    count: usize,
    path: String,
    file: Option<File>,
    map: Option<Mapping>,
    /// The region as this thread wrote it; its own stripes only count.
    region: Vec<u8>,
    /// Thread 0: the whole file, of which bytes from `REGION` count.
    tail: Option<FileModel>,
    rng: Rng,
    /// Operations done so far.
    pub done: u64,
}

impl<'a> SharedWorker<'a> {
    /// Shared thread `id` of `count`; thread 0 makes the file.
    pub fn new(options: &'a Options, id: usize, count: usize) -> Result<Self, String> {
        let path = format!("{}/stress-shared", options.dir);
        let file = open(&path)?;
        let mut tail = None;
        if id == 0 {
            file.set_len(0)
                .and_then(|()| file.set_len(REGION))
                .map_err(|err| format!("truncate {path}: {err}"))?;
            let mut model = FileModel::new(options.block_size, false, options.folio_max);
            model.truncate(REGION);
            tail = Some(model);
        }
        Ok(Self {
            options,
            id,
            count,
            path,
            file: Some(file),
            map: None,
            region: vec![0; REGION as usize],
            tail,
            // After the threads on their own files.
            rng: Rng::for_thread(options.seed, options.threads + id),
            done: 0,
        })
    }

    /// Unmaps and closes the file.
    pub fn close(&mut self) {
        self.map = None;
        self.file = None;
    }

    /// Opens the file again.
    pub fn open(&mut self) -> Outcome {
        self.file = Some(open(&self.path)?);
        if let Some(tail) = &mut self.tail {
            tail.reloaded();
            self.note("remount".into());
        }
        Ok(())
    }

    fn file(&self) -> &File {
        self.file.as_ref().expect("files are open between rounds")
    }

    /// Runs `ops` operations, or fewer if `stop` is set.
    pub fn run(&mut self, ops: u64, stop: &AtomicBool) -> Outcome {
        for _ in 0..ops {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let result = if self.tail.is_some() && self.rng.one_in(4) {
                self.tail_step()
            } else {
                self.stripe_step()
            };
            result.map_err(|err| {
                let log = HISTORY_LOG
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner());
                format!(
                    "{err}\n  last changes of {} (thread: change): {}",
                    self.path,
                    crate::worker::history_lines(log.iter().map(String::as_str))
                )
            })?;
            self.done += 1;
        }
        Ok(())
    }

    /// Records a change of the file for the message of a failure.
    fn note(&self, change: String) {
        let mut log = HISTORY_LOG
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if log.len() == HISTORY {
            log.pop_front();
        }
        log.push_back(format!("{}: {change}", self.id));
    }

    /// A range inside one of this thread's stripes.
    fn pick_range(&mut self) -> (u64, u64) {
        let own = (STRIPES - self.id as u64).div_ceil(self.count as u64);
        let stripe = self.id as u64 + self.count as u64 * self.rng.below(own);
        let (start, end) = (stripe * STRIPE, (stripe + 1) * STRIPE);
        if self.rng.one_in(3) {
            return (start, STRIPE);
        }
        let offset = start + self.rng.below(STRIPE);
        (offset, 1 + self.rng.below(end - offset))
    }

    fn compare_region(&self, offset: u64, got: &[u8], what: &str) -> Outcome {
        let want = &self.region[offset as usize..offset as usize + got.len()];
        match got.iter().zip(want).position(|(a, b)| a != b) {
            Some(at) => Err(format!(
                "{what} of {}: byte {} is {:#x}, expected {:#x}",
                self.path,
                offset as usize + at,
                got[at],
                want[at]
            )),
            None => Ok(()),
        }
    }

    fn stripe_step(&mut self) -> Outcome {
        let (offset, len) = self.pick_range();
        let range = offset as usize..(offset + len) as usize;
        let options = self.options;
        match self.rng.below(100) {
            0..=29 => {
                let data = self.rng.data(len as usize, self.options.compressible);
                self.file()
                    .write_all_at(&data, offset)
                    .map_err(|err| format!("write {len} at {offset} of {}: {err}", self.path))?;
                self.region[range].copy_from_slice(&data);
                self.note(format!("write {len} at {offset}"));
            }
            30..=44 => {
                let got = read_upto(self.file(), offset, len as usize)
                    .map_err(|err| format!("read {len} at {offset}: {err}"))?;
                if got.len() != len as usize {
                    return Err(format!("read {len} at {offset}: {} bytes", got.len()));
                }
                self.compare_region(offset, &got, "read")?;
            }
            45..=64 => {
                let data = self.rng.data(len as usize, self.options.compressible);
                self.mapping()?.store(offset as usize, &data);
                self.region[range].copy_from_slice(&data);
                self.note(format!("mapped store {len} at {offset}"));
            }
            65..=79 => {
                let got = self.mapping()?.load(offset as usize, len as usize);
                self.compare_region(offset, &got, "mapped load")?;
            }
            80..=87 if options.fallocates() => {
                let mut modes = Vec::new();
                if options.punch {
                    modes.push(sys::FALLOC_FL_PUNCH_HOLE | sys::FALLOC_FL_KEEP_SIZE);
                }
                if options.zero {
                    modes.push(sys::FALLOC_FL_ZERO_RANGE);
                    modes.push(sys::FALLOC_FL_ZERO_RANGE | sys::FALLOC_FL_KEEP_SIZE);
                }
                if options.allocate {
                    modes.push(0);
                }
                let mode = modes[self.rng.below(modes.len() as u64) as usize];
                // Inside the region, below the end: the size never changes.
                sys::fallocate(self.file(), mode, offset, len).map_err(|err| {
                    format!(
                        "fallocate({mode:#x}, {offset}, {len}) of {}: {err}",
                        self.path
                    )
                })?;
                if mode != 0 {
                    self.region[range].fill(0);
                }
                self.note(format!("fallocate({mode:#x}) {len} at {offset}"));
            }
            88..=92 => {
                let (how, result) = match self.rng.below(3) {
                    0 => ("fsync", self.file().sync_all()),
                    1 => ("fdatasync", self.file().sync_data()),
                    _ => ("msync", self.map.as_ref().map_or(Ok(()), Mapping::sync)),
                };
                result.map_err(|err| format!("{how} of {}: {err}", self.path))?;
                self.note(how.into());
            }
            93 | 94 => {
                self.map = None;
                self.note("munmap".into());
            }
            _ => {
                let got = read_upto(self.file(), offset, len as usize)
                    .map_err(|err| format!("read {len} at {offset}: {err}"))?;
                self.compare_region(offset, &got, "read")?;
            }
        }
        Ok(())
    }

    /// Thread 0, past the region: the end of the file moves.
    fn tail_step(&mut self) -> Outcome {
        let options = self.options;
        let size = self.tail.as_ref().expect("thread 0").size();
        let page_end = size.div_ceil(PAGE) * PAGE;
        match self.rng.below(10) {
            0..=2 => {
                let new = REGION + self.rng.below(TAIL + 1);
                self.file()
                    .set_len(new)
                    .map_err(|err| format!("truncate {} to {new}: {err}", self.path))?;
                self.tail_model().truncate(new);
                self.note(format!("truncate to {new}"));
            }
            3..=4 => {
                let offset = REGION + self.rng.below(TAIL);
                let len = 1 + self.rng.below(REGION + TAIL - offset);
                let data = self.rng.data(len as usize, self.options.compressible);
                self.file()
                    .write_all_at(&data, offset)
                    .map_err(|err| format!("write {len} at {offset} of {}: {err}", self.path))?;
                self.tail_model().write(offset, &data);
                self.note(format!("write {len} at {offset}"));
            }
            5 if options.eof_pollution && size < page_end => {
                let offset = size + self.rng.below(page_end - size);
                let len = 1 + self.rng.below(page_end - offset);
                let data = self.rng.data(len as usize, self.options.compressible);
                self.mapping()?.store(offset as usize, &data);
                self.tail_model().pollute(offset, len);
                self.note(format!("mapped store {len} at {offset} past the end"));
            }
            6..=7 => {
                let map = self.mapping()?;
                let got = map.load(REGION as usize, (size - REGION) as usize);
                let past = map.load(size as usize, (page_end - size) as usize);
                let tail = self.tail.as_ref().expect("thread 0");
                tail.compare(REGION, &got)
                    .and_then(|()| tail.check_eof_page(&past))
                    .map_err(|err| format!("mapped load of {}: {err}", self.path))?;
            }
            _ => {
                let got = read_upto(self.file(), REGION, (TAIL + 100) as usize)
                    .map_err(|err| format!("read at {REGION}: {err}"))?;
                self.tail
                    .as_ref()
                    .expect("thread 0")
                    .compare(REGION, &got)
                    .map_err(|err| format!("read of {}: {err}", self.path))?;
            }
        }
        Ok(())
    }

    fn tail_model(&mut self) -> &mut FileModel {
        self.tail.as_mut().expect("thread 0")
    }

    fn mapping(&mut self) -> Result<&Mapping, String> {
        if self.map.is_none() {
            let map = Mapping::new(self.file(), MAP_LEN)
                .map_err(|err| format!("mmap {MAP_LEN} of {}: {err}", self.path))?;
            self.map = Some(map);
        }
        Ok(self.map.as_ref().expect("just mapped"))
    }
}

/// Checks the whole shared file against what its threads wrote.
pub fn check(workers: &[SharedWorker], what: &str) -> Outcome {
    let Some(first) = workers.first() else {
        return Ok(());
    };
    let tail = first.tail.as_ref().expect("thread 0 comes first");
    let mut want = tail.bytes().to_vec();
    for worker in workers {
        let mut stripe = worker.id as u64;
        while stripe < STRIPES {
            let range = (stripe * STRIPE) as usize..((stripe + 1) * STRIPE) as usize;
            want[range.clone()].copy_from_slice(&worker.region[range]);
            stripe += worker.count as u64;
        }
    }
    let got = read_upto(first.file(), 0, want.len() + 100)
        .map_err(|err| format!("{what}: read {}: {err}", first.path))?;
    if got.len() != want.len() {
        return Err(format!(
            "{what}: {} has {} bytes, expected {}",
            first.path,
            got.len(),
            want.len()
        ));
    }
    match got.iter().zip(&want).position(|(a, b)| a != b) {
        Some(at) => Err(format!(
            "{what}: byte {at} of {} (stripe of thread {}) is {:#x}, expected {:#x}",
            first.path,
            (at as u64 / STRIPE) % first.count as u64,
            got[at],
            want[at]
        )),
        None => Ok(()),
    }
}
