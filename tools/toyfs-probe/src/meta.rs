// SPDX-License-Identifier: GPL-2.0
//! Namespace and metadata rules, as ext2 and tmpfs keep them.
//!
//! `toyfs-probe meta DIR`: which times each namespace call changes
//! (xfstests generic/236, 309, 313), that refused calls change nothing,
//! link counts of renamed-over files and directories (generic/035), the
//! free counts given back by unlinked-but-open and renamed-over files at
//! their last close, `chown` clearing the set-id bits, device numbers and
//! `d_type`.  `times-set`/`times-check DIR`: times before 1970 and past
//! 2038 with nanoseconds, and 32-bit owners, on each kind of inode, kept
//! across a remount (generic/258, 402).  `inode-reuse-setup`/`inode-reuse
//! DIR`: inodes freed while others are allocated are given once.

use crate::sys;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// mtime and ctime (ns) and link count of `path` (`lstat`; `stat` for a
/// `/proc/self/fd` link, which names an open file whatever its name now).
fn times(path: &Path) -> Result<(i128, i128, u64), String> {
    let m = if path.starts_with("/proc") {
        fs::metadata(path)
    } else {
        fs::symlink_metadata(path)
    }
    .map_err(|e| format!("lstat {}: {e}", path.display()))?;
    Ok((
        i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
        m.nlink(),
    ))
}

/// The path of an open file through `/proc/self/fd`.
fn fd_path(file: &File) -> PathBuf {
    PathBuf::from(format!(
        "/proc/self/fd/{}",
        std::os::fd::AsRawFd::as_raw_fd(file)
    ))
}

/// The failures found so far, each printed as found.
struct Probe {
    failures: Vec<String>,
    /// A file of the filesystem under test whose change time shows the
    /// filesystem's clock ([`Probe::wait_for_the_clock`]).
    clock: PathBuf,
}

/// Which times a call must change.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Want {
    /// mtime and ctime change.
    Both,
    /// ctime changes, mtime stays.
    Ctime,
    /// Neither changes.
    None,
}

impl Probe {
    /// Records and prints a failure.
    fn fail(&mut self, what: String) {
        println!("FAIL {what}");
        self.failures.push(what);
    }

    /// Runs `op` on the paths `watch` whose times are first set to the
    /// past, and checks which times moved.
    fn timed(
        &mut self,
        what: &str,
        watch: &[(&Path, Want)],
        op: impl FnOnce() -> Result<(), String>,
    ) {
        for (path, _) in watch {
            if let Err(e) = sys::set_times(path, 1_000_000_000) {
                self.fail(format!("{what}: utimensat {}: {e}", path.display()));
                return;
            }
        }
        let before: Vec<_> = watch.iter().map(|(p, _)| times(p)).collect();
        let latest = before.iter().flatten().map(|&(_, ctime, _)| ctime).max();
        if let Err(e) = latest.map_or(Ok(()), |latest| self.wait_for_the_clock(latest)) {
            self.fail(format!("{what}: {e}"));
            return;
        }
        if let Err(e) = op() {
            self.fail(format!("{what}: {e}"));
            return;
        }
        for ((path, want), before) in watch.iter().zip(before) {
            let (Ok(before), Ok(after)) = (before, times(path)) else {
                self.fail(format!("{what}: lstat {}", path.display()));
                continue;
            };
            let got = match (after.0 != before.0, after.1 != before.1) {
                (true, true) => Want::Both,
                (false, true) => Want::Ctime,
                (false, false) => Want::None,
                (true, false) => {
                    self.fail(format!(
                        "{what}: {} mtime moved without ctime",
                        path.display()
                    ));
                    continue;
                }
            };
            if got != *want {
                self.fail(format!(
                    "{what}: {}: times {got:?}, expected {want:?}",
                    path.display()
                ));
            }
        }
    }

    /// Returns once the filesystem's clock is past `latest` (ns): the
    /// change time it gives `self.clock` (`utimensat`) is later, so a
    /// change made from now on has a change time later than any up to
    /// `latest`.  A fixed sleep (15 ms) did not make sure of that: the
    /// clock of a filesystem without multigrain timestamps (toyfs, ext2)
    /// is the coarse one (`ktime_get_coarse_real_ts64`), which only the
    /// timekeeping CPU's tick moves (the test kernel: periodic ticks, two
    /// CPUs).  Under TCG each CPU is a host thread, and on a loaded host
    /// that CPU's thread can wait longer than the sleep, which the other
    /// CPU's tick ends by the fine clock: the call then kept the change
    /// time `utimensat` gave (times None, or mtime moved without ctime).
    /// Gives up after 10 s.
    fn wait_for_the_clock(&self, latest: i128) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            sys::set_times(&self.clock, 1_000_000_000)
                .map_err(|e| format!("utimensat {}: {e}", self.clock.display()))?;
            if times(&self.clock)?.1 > latest {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("the filesystem's clock stood still for 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Checks the link count of `path`.
    fn nlink(&mut self, what: &str, path: &Path, want: u64) {
        match times(path) {
            Ok((_, _, n)) if n == want => {}
            Ok((_, _, n)) => self.fail(format!(
                "{what}: {} nlink {n}, expected {want}",
                path.display()
            )),
            Err(e) => self.fail(format!("{what}: {e}")),
        }
    }

    /// Checks that a call failed with `want`.
    fn errno<T>(&mut self, what: &str, result: std::io::Result<T>, want: i32) {
        match result {
            Ok(_) => self.fail(format!("{what}: succeeded, expected errno {want}")),
            Err(e) if e.raw_os_error() == Some(want) => {}
            Err(e) => self.fail(format!("{what}: {e}, expected errno {want}")),
        }
    }

    /// Checks the free fragments and inodes of the filesystem of `dir`.
    fn counts(&mut self, what: &str, dir: &Path, want: (u64, u64)) {
        match sys::free_counts(dir) {
            Ok(got) if got == want => {}
            Ok(got) => self.fail(format!(
                "{what}: statfs (bfree, ffree) {got:?}, expected {want:?}"
            )),
            Err(e) => self.fail(format!("{what}: statfs: {e}")),
        }
    }
}

/// A call that must be refused.
type Refusal<'a> = &'a dyn Fn() -> std::io::Result<()>;

/// An I/O result with `what` failed named.
fn io<T>(what: &str, r: std::io::Result<T>) -> Result<T, String> {
    r.map_err(|e| format!("{what}: {e}"))
}

const EEXIST: i32 = 17;
const ENOENT: i32 = 2;
const ENOTEMPTY: i32 = 39;
const EISDIR: i32 = 21;
const ENOTDIR: i32 = 20;

/// `meta DIR`: every check in DIR/meta, each failure printed; fails if
/// any did.
pub fn meta(root: &Path) -> Result<(), String> {
    let base = root.join("meta");
    let _ = fs::remove_dir_all(&base);
    io("mkdir", fs::create_dir(&base))?;
    let clock = base.join("clock");
    io("create clock", fs::write(&clock, b""))?;
    let mut p = Probe {
        failures: Vec::new(),
        clock,
    };
    let a = base.join("a");
    let b = base.join("b");
    io("mkdir a", fs::create_dir(&a))?;
    io("mkdir b", fs::create_dir(&b))?;
    let f = a.join("f");
    p.timed("create", &[(&a, Want::Both), (&b, Want::None)], || {
        io("create", fs::write(&f, b"file"))
    });
    let sub = a.join("sub");
    p.timed("mkdir", &[(&a, Want::Both), (&f, Want::None)], || {
        io("mkdir", fs::create_dir(&sub))
    });
    p.nlink("mkdir", &a, 3);
    let l = b.join("l");
    p.timed(
        "link",
        &[(&f, Want::Ctime), (&b, Want::Both), (&a, Want::None)],
        || io("link", fs::hard_link(&f, &l)),
    );
    p.nlink("link", &f, 2);
    p.timed(
        "unlink",
        &[(&f, Want::Ctime), (&b, Want::Both), (&a, Want::None)],
        || io("unlink", fs::remove_file(&l)),
    );
    p.nlink("unlink", &f, 1);
    let s = a.join("s");
    p.timed("symlink", &[(&a, Want::Both)], || {
        io("symlink", std::os::unix::fs::symlink("f", &s))
    });
    let fifo = a.join("fifo");
    p.timed("mknod fifo", &[(&a, Want::Both)], || {
        io("mknod", sys::make_node(&fifo, 0o10644, 0))
    });
    let chr = a.join("chr");
    // makedev(4095, 1048575)
    let dev = (0xfffu64 << 8) | 0xff | (0xfff00u64 << 12);
    p.timed("mknod chr", &[(&a, Want::Both)], || {
        io("mknod", sys::make_node(&chr, 0o20644, dev))
    });
    match fs::symlink_metadata(&chr) {
        Ok(m) if m.rdev() == dev => {}
        Ok(m) => p.fail(format!(
            "mknod chr: rdev {:#x}, expected {dev:#x}",
            m.rdev()
        )),
        Err(e) => p.fail(format!("mknod chr: {e}")),
    }
    io("file in sub", fs::write(sub.join("x"), b"x"))?;
    let bsub = b.join("bsub");
    io("mkdir bsub", fs::create_dir(&bsub))?;
    // Failures change nothing.
    let counts = sys::free_counts(&base).map_err(|e| e.to_string())?;
    let refusals: [(&str, &[&Path], &[i32], Refusal); 7] = [
        ("mkdir EEXIST", &[&a, &f], &[EEXIST], &|| fs::create_dir(&f)),
        ("link EEXIST", &[&a, &f], &[EEXIST], &|| {
            fs::hard_link(&f, &s)
        }),
        ("symlink EEXIST", &[&a], &[EEXIST], &|| {
            std::os::unix::fs::symlink("x", &f)
        }),
        ("rmdir ENOTEMPTY", &[&base, &a], &[ENOTEMPTY], &|| {
            fs::remove_dir(&a)
        }),
        (
            "rename dir over non-empty dir",
            &[&a, &b, &bsub, &sub],
            &[ENOTEMPTY, EEXIST],
            &|| fs::rename(&bsub, &sub),
        ),
        ("rename file onto dir", &[&a, &f], &[EISDIR], &|| {
            fs::rename(&f, &sub)
        }),
        ("rename dir onto file", &[&a, &b], &[ENOTDIR], &|| {
            fs::rename(&bsub, &f)
        }),
    ];
    for (what, paths, errnos, call) in refusals {
        let watch: Vec<_> = paths.iter().map(|&path| (path, Want::None)).collect();
        p.timed(what, &watch, || match call() {
            Err(e)
                if e.raw_os_error()
                    .is_some_and(|errno| errnos.contains(&errno)) =>
            {
                Ok(())
            }
            other => Err(format!("{other:?}, expected errno {errnos:?}")),
        });
    }
    p.counts("after the refused calls", &base, counts);
    p.nlink("refused", &a, 3);
    p.nlink("refused", &b, 3);
    // rename of a file across directories over an open file.
    let g = b.join("g");
    io("g", fs::write(&g, vec![7u8; 10000]))?;
    let g_open = io("open g", File::open(&g))?;
    let f_open = io("open f", File::open(&f))?;
    let f_fd = fd_path(&f_open);
    let g_fd = fd_path(&g_open);
    p.timed(
        "rename file over file across dirs",
        &[
            (&a, Want::Both),
            (&b, Want::Both),
            (&f_fd, Want::Ctime),
            (&g_fd, Want::Ctime),
        ],
        || io("rename", fs::rename(&f, &g)),
    );
    match g_open.metadata() {
        Ok(m) if m.nlink() == 0 => {}
        Ok(m) => p.fail(format!("renamed-over file: fstat nlink {}", m.nlink())),
        Err(e) => p.fail(format!("fstat: {e}")),
    }
    drop(g_open);
    // rename of a directory across directories over an empty one.
    let empty = b.join("empty");
    io("mkdir empty", fs::create_dir(&empty))?;
    let empty_open = io("open empty", File::open(&empty))?;
    let sub_open = io("open sub", File::open(&sub))?;
    let sub_fd = fd_path(&sub_open);
    p.timed(
        "rename dir over empty dir across dirs",
        &[(&a, Want::Both), (&b, Want::Both), (&sub_fd, Want::Ctime)],
        || io("rename", fs::rename(&sub, &empty)),
    );
    match empty_open.metadata() {
        Ok(m) if m.nlink() == 0 => {}
        Ok(m) => p.fail(format!("renamed-over dir: fstat nlink {}", m.nlink())),
        Err(e) => p.fail(format!("fstat: {e}")),
    }
    p.nlink("dir moved", &a, 2);
    p.nlink("dir moved", &b, 4);
    match (fs::metadata(empty.join("..")), fs::metadata(&b)) {
        (Ok(x), Ok(y)) if x.ino() == y.ino() => {}
        _ => p.fail("moved dir's .. is not its new parent".into()),
    }
    // Creating in a removed directory.
    let dead = base.join("dead");
    io("mkdir dead", fs::create_dir(&dead))?;
    let dead_open = io("open dead", File::open(&dead))?;
    p.timed("rmdir", &[(&base, Want::Both)], || {
        io("rmdir", fs::remove_dir(&dead))
    });
    match dead_open.metadata() {
        Ok(m) if m.nlink() == 0 => {}
        Ok(m) => p.fail(format!("removed dir: fstat nlink {}", m.nlink())),
        Err(e) => p.fail(format!("fstat: {e}")),
    }
    p.errno(
        "create in a removed dir",
        fs::write(fd_path(&dead_open).join("x"), b"x"),
        ENOENT,
    );
    drop(dead_open);
    // Unlinked-but-open files give everything back at the last close.
    sys::sync_all_filesystems();
    let before = sys::free_counts(&base).map_err(|e| e.to_string())?;
    let u = base.join("unlinked");
    let mut file = io(
        "create unlinked",
        OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .read(true)
            .mode(0o644)
            .open(&u),
    )?;
    io("write", file.write_all(&vec![1u8; 300_000 + 333]))?;
    io("unlink", fs::remove_file(&u))?;
    io("write", file.write_all(&vec![2u8; 5000]))?;
    io("fsync", file.sync_all())?;
    let during = sys::free_counts(&base).map_err(|e| e.to_string())?;
    if during.0 >= before.0 || during.1 != before.1 - 1 {
        p.fail(format!(
            "unlinked open: counts {during:?}, before {before:?}"
        ));
    }
    drop(file);
    sys::sync_all_filesystems();
    p.counts("unlinked file closed", &base, before);
    // rename over a file with blocks, open; closed.
    let x = base.join("x");
    let y = base.join("y");
    io("x", fs::write(&x, b"x"))?;
    sys::sync_all_filesystems();
    let before = sys::free_counts(&base).map_err(|e| e.to_string())?;
    io("y", fs::write(&y, vec![3u8; 100_000 + 77]))?;
    let y_open = io("open y", File::open(&y))?;
    io("rename x y", fs::rename(&x, &y))?;
    drop(y_open);
    sys::sync_all_filesystems();
    p.counts("renamed-over file closed", &base, before);
    io("rm y", fs::remove_file(&y))?;
    // chown clears set-id bits.
    let suid = base.join("suid");
    io("suid", fs::write(&suid, b"s"))?;
    io(
        "chmod",
        fs::set_permissions(&suid, fs::Permissions::from_mode(0o6755)),
    )?;
    io("chown", std::os::unix::fs::chown(&suid, Some(1), Some(1)))?;
    match fs::metadata(&suid) {
        Ok(m) if m.mode() & 0o7777 == 0o755 => {}
        Ok(m) => p.fail(format!("chown left mode {:o}", m.mode())),
        Err(e) => p.fail(e.to_string()),
    }
    // truncate to the same size.
    let t = base.join("t");
    io("t", fs::write(&t, b"0123456789"))?;
    p.timed("truncate same size", &[(&t, Want::Both)], || {
        io(
            "truncate",
            OpenOptions::new()
                .write(true)
                .open(&t)
                .and_then(|f| f.set_len(10)),
        )
    });
    p.timed("truncate down", &[(&t, Want::Both)], || {
        io(
            "truncate",
            OpenOptions::new()
                .write(true)
                .open(&t)
                .and_then(|f| f.set_len(3)),
        )
    });
    // d_type of every kind.
    for entry in io("readdir", fs::read_dir(&a))? {
        let entry = io("entry", entry)?;
        let kind = io("d_type", entry.file_type())?;
        let real = io("lstat", fs::symlink_metadata(entry.path()))?.file_type();
        if kind != real {
            p.fail(format!(
                "d_type of {:?}: {kind:?}, lstat {real:?}",
                entry.file_name()
            ));
        }
    }
    drop((f_open, sub_open));
    if p.failures.is_empty() {
        Ok(())
    } else {
        Err(format!("{} failures", p.failures.len()))
    }
}

const ATIME: (i64, i64) = (-1_000_000_000, 123);
const MTIME: (i64, i64) = (16_725_225_600, 999_999_999);

/// `times-set DIR`: files of each kind with far times and owners.
pub fn times_set(root: &Path) -> Result<(), String> {
    let base = root.join("times");
    let _ = fs::remove_dir_all(&base);
    io("mkdir", fs::create_dir(&base))?;
    io("file", fs::write(base.join("file"), b"x"))?;
    io(
        "symlink",
        std::os::unix::fs::symlink("file", base.join("link")),
    )?;
    io("fifo", sys::make_node(&base.join("fifo"), 0o10600, 0))?;
    io("dir", fs::create_dir(base.join("dir")))?;
    for (k, name) in ["file", "link", "fifo", "dir"].iter().enumerate() {
        let path = base.join(name);
        io(
            "lchown",
            std::os::unix::fs::lchown(&path, Some(100_000 + k as u32), Some(200_000 + k as u32)),
        )?;
        io("utimensat", sys::set_times_ns(&path, ATIME, MTIME))?;
    }
    times_check(root)
}

/// `times-check DIR`: what `times-set` set, after a remount.
pub fn times_check(root: &Path) -> Result<(), String> {
    let base = root.join("times");
    for (k, name) in ["file", "link", "fifo", "dir"].iter().enumerate() {
        let m = io("lstat", fs::symlink_metadata(base.join(name)))?;
        let got = (
            m.uid(),
            m.gid(),
            m.atime(),
            m.atime_nsec(),
            m.mtime(),
            m.mtime_nsec(),
        );
        let want = (
            100_000 + k as u32,
            200_000 + k as u32,
            ATIME.0,
            ATIME.1,
            MTIME.0,
            MTIME.1,
        );
        if got != want {
            return Err(format!(
                "{name}: (uid, gid, atime, ns, mtime, ns) {got:?}, expected {want:?}"
            ));
        }
    }
    Ok(())
}

/// Files of `inode-reuse-setup`: in each block of 8 inodes (1 KiB
/// blocks), 7 in use and 1 free.
const REUSE_FILES: u32 = 1016;

/// `inode-reuse-setup DIR`: DIR/old holds files whose inodes fill the
/// inode table but for one in each of its blocks.
pub fn inode_reuse_setup(root: &Path) -> Result<(), String> {
    let _ = fs::remove_dir_all(root.join("new"));
    let old = root.join("old");
    let _ = fs::remove_dir_all(&old);
    io("mkdir old", fs::create_dir(&old))?;
    let mut inos = Vec::new();
    for k in 0..REUSE_FILES {
        let path = old.join(k.to_string());
        io("create", fs::write(&path, k.to_string()))?;
        inos.push((io("stat", fs::metadata(&path))?.ino(), path));
    }
    for (ino, path) in inos {
        if ino % 8 == 0 {
            io("unlink", fs::remove_file(&path))?;
        }
    }
    Ok(())
}

/// How far the unlinking thread of `inode-reuse` has gone: the old files
/// it has unlinked, and whether it has stopped.  The creating thread
/// sleeps on it rather than spin (with `yield_now`) on a CPU the unlinks
/// may need.
struct Unlinked {
    state: std::sync::Mutex<(usize, bool)>,
    changed: std::sync::Condvar,
}

impl Unlinked {
    fn new() -> Self {
        Self {
            state: std::sync::Mutex::new((0, false)),
            changed: std::sync::Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, bool)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The files unlinked so far, and whether the unlinker has stopped.
    fn now(&self) -> (usize, bool) {
        *self.lock()
    }

    /// Changes the state and wakes the creator.
    fn update(&self, change: impl FnOnce(&mut (usize, bool))) {
        change(&mut self.lock());
        self.changed.notify_all();
    }

    /// Sleeps until more than `seen` files are unlinked or the unlinker
    /// has stopped.
    fn wait_past(&self, seen: usize) {
        let mut state = self.lock();
        while state.0 <= seen && !state.1 {
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// `inode-reuse DIR`, on a fresh mount after `inode-reuse-setup`: one
/// thread unlinks the old files in inode order while another creates new
/// ones, each holding its own name; then every name must read back its
/// own bytes, and no two names may share an inode.  The creator starts
/// once 16 files are unlinked, and creates while the unlinks go on: the
/// allocations read the inode table's blocks as the frees change them.
/// Once every inode is in use (`ENOSPC`) it sleeps until the next unlink
/// (or the last) has returned, then tries again: the files it made
/// before the `ENOSPC` and those it makes after are checked alike.
pub fn inode_reuse(root: &Path) -> Result<(), String> {
    let old = root.join("old");
    let new = root.join("new");
    io("mkdir new", fs::create_dir(&new))?;
    let mut victims = Vec::new();
    for entry in io("readdir", fs::read_dir(&old))? {
        let entry = io("entry", entry)?;
        victims.push((io("stat", entry.metadata())?.ino(), entry.path()));
    }
    victims.sort();
    let unlinked = Unlinked::new();
    let (created, waits) = std::thread::scope(|scope| {
        let creator = scope.spawn(|| -> Result<(u32, u32), String> {
            unlinked.wait_past(15);
            let (mut k, mut waits) = (0, 0);
            loop {
                // Read before the attempt: an unlink returning between
                // this and the ENOSPC ends the wait at once.
                let (seen, stopped) = unlinked.now();
                if stopped {
                    break;
                }
                let name = format!("n{k}");
                match fs::write(new.join(&name), &name) {
                    Ok(()) => k += 1,
                    Err(e) if e.raw_os_error() == Some(28) => {
                        waits += 1;
                        unlinked.wait_past(seen);
                    }
                    Err(e) => return Err(format!("create {name}: {e}")),
                }
            }
            Ok((k, waits))
        });
        let mut result = Ok(());
        for (_, path) in &victims {
            if let Err(e) = fs::remove_file(path) {
                result = Err(format!("unlink {}: {e}", path.display()));
                break;
            }
            unlinked.update(|state| state.0 += 1);
        }
        unlinked.update(|state| state.1 = true);
        let created = creator
            .join()
            .unwrap_or_else(|_| Err("the creator panicked".into()));
        result.and(created)
    })?;
    let mut owners = std::collections::HashMap::new();
    for k in 0..created {
        let name = format!("n{k}");
        let path = new.join(&name);
        let bytes = io("read", fs::read(&path))?;
        let ino = io("stat", fs::metadata(&path))?.ino();
        if let Some(other) = owners.insert(ino, name.clone()) {
            return Err(format!(
                "{name} and {other} share inode {ino} ({created} files made)"
            ));
        }
        if bytes != name.as_bytes() {
            return Err(format!(
                "{name} (inode {ino}) holds {:?} ({created} files made)",
                String::from_utf8_lossy(&bytes)
            ));
        }
    }
    println!(
        "{} old files unlinked, {created} made beside them ({waits} waits on ENOSPC)",
        victims.len()
    );
    Ok(())
}
