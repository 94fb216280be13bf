// SPDX-License-Identifier: GPL-2.0
//! `toyfs-stress run`: the threads of src/worker.rs and src/shared.rs in
//! rounds.  Between rounds every file is closed, the filesystem unmounted,
//! checked (`--fsck`) and mounted again (or, without a device, the caches
//! dropped), and every file checked whole.

use crate::options::Options;
use crate::shared::{self, SharedWorker};
use crate::worker::{drop_caches, Outcome, Worker};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

/// Operations of all threads between two remounts.
const ROUND_OPS: u64 = 4000;

fn command(line: &str) -> Outcome {
    let words: Vec<&str> = line.split_whitespace().collect();
    let status = Command::new(words[0])
        .args(&words[1..])
        .status()
        .map_err(|err| format!("{line}: {err}"))?;
    if !status.success() {
        return Err(format!("{line}: {status}"));
    }
    Ok(())
}

struct Run<'a> {
    options: &'a Options,
    workers: Vec<Worker<'a>>,
    shared: Vec<SharedWorker<'a>>,
}

impl Run<'_> {
    /// Unmounts, checks and mounts again; or drops the caches.
    fn cycle(&mut self) -> Outcome {
        let options = self.options;
        let Some(device) = &options.device else {
            self.workers
                .iter_mut()
                .for_each(|w| w.note_all("drop_caches"));
            return drop_caches();
        };
        self.workers.iter_mut().for_each(|w| w.note_all("remount"));
        self.workers.iter_mut().for_each(Worker::close);
        self.shared.iter_mut().for_each(SharedWorker::close);
        command(&format!("umount {}", options.dir))?;
        if let Some(fsck) = &options.fsck {
            command(&format!("{fsck} {device}"))?;
        }
        command(&format!(
            "mount -t {} {device} {}",
            options.fstype, options.dir
        ))?;
        self.workers.iter_mut().try_for_each(Worker::open)?;
        self.shared.iter_mut().try_for_each(SharedWorker::open)
    }

    fn check_all(&self, what: &str) -> Outcome {
        for worker in &self.workers {
            worker
                .check_all(what)
                .map_err(|err| format!("thread {}: {err}", worker.id))?;
        }
        shared::check(&self.shared, what)
    }

    /// One round: every thread runs its share of `ops`.
    fn round(&mut self, ops: u64) -> Outcome {
        let threads = (self.workers.len() + self.shared.len()) as u64;
        let each = ops.div_ceil(threads);
        let stop = AtomicBool::new(false);
        let stop = &stop;
        let failed = |err: String, thread: String, op: u64| {
            stop.store(true, Ordering::Relaxed);
            format!("{thread} op {op}: {err}")
        };
        let errors: Vec<String> = std::thread::scope(|scope| {
            let mut handles = Vec::new();
            for worker in &mut self.workers {
                handles.push(scope.spawn(move || {
                    worker
                        .run(each, stop)
                        .map_err(|err| failed(err, format!("thread {}", worker.id), worker.done))
                }));
            }
            for worker in &mut self.shared {
                handles.push(scope.spawn(move || {
                    worker.run(each, stop).map_err(|err| {
                        failed(err, format!("shared thread {}", worker.id), worker.done)
                    })
                }));
            }
            handles
                .into_iter()
                .filter_map(|handle| match handle.join() {
                    Ok(result) => result.err(),
                    Err(_) => Some("a thread panicked".into()),
                })
                .collect()
        });
        if !errors.is_empty() {
            return Err(errors.join("; "));
        }
        Ok(())
    }
}

/// Runs `options`; the summary line, or what failed with the seed and the
/// command line that replays it.
pub fn run(options: &Options) -> Result<String, String> {
    println!("toyfs-stress: replay: {}", options.replay());
    let result = (|| {
        let mut run = Run {
            options,
            workers: (0..options.threads)
                .map(|id| Worker::new(options, id))
                .collect::<Result<_, _>>()?,
            shared: Vec::new(),
        };
        if options.shared > 0 {
            for id in 0..options.shared {
                run.shared
                    .push(SharedWorker::new(options, id, options.shared)?);
            }
        }
        let mut left = options.ops;
        let mut round = 0;
        while left > 0 {
            let ops = left.min(ROUND_OPS);
            run.round(ops)
                .map_err(|err| format!("round {round}: {err}"))?;
            run.cycle()
                .map_err(|err| format!("after round {round}: {err}"))?;
            run.check_all(&format!("after round {round}"))?;
            left -= ops;
            round += 1;
        }
        let more = match options.vfs_ops() {
            true => format!(" ({})", Worker::vfs_summary(&run.workers)),
            false => String::new(),
        };
        Ok::<_, String>((round, more))
    })();
    match result {
        Ok((rounds, more)) => Ok(format!(
            "seed {}: {} operations by {} threads on files of their own{more} and {} on a shared file, \
             {rounds} rounds, every read as expected",
            options.seed, options.ops, options.threads, options.shared
        )),
        Err(err) => Err(format!(
            "seed {}: {err}\ntoyfs-stress: replay: {}",
            options.seed,
            options.replay()
        )),
    }
}
