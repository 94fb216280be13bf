// SPDX-License-Identifier: GPL-2.0
//! The options of `toyfs-stress run`: which filesystem features the model
//! uses (so that it can be proven on tmpfs and ext2 before toyfs has
//! them), the threads, and the file geometry.

/// `run [OPTIONS] SEED OPS DIR [DEVICE]`.
pub const USAGE: &str = "run [--threads N] [--shared N] [--block-size B] [--max-size BYTES] \
[--fallocate punch,zero,keep|keep-inside] [--seek GRANULE] [--eof-pollution] [--chattr-compress] [--compressible] [--folio-max BYTES] \
[--copy] [--links] [--fiemap] [--direct ALIGN] [--hardlinks] [--tmpfile] [--exchange] [--times] [--st-blocks] \
[--far LIMIT] [--fstype TYPE] [--fsck PROGRAM] \
SEED OPS DIR [DEVICE]";

/// What `toyfs-stress run` does.
#[derive(Clone, Debug)]
pub struct Options {
    /// Seed of every random choice.
    pub seed: u64,
    /// Operations in all (shared among the threads).
    pub ops: u64,
    /// Directory of the files.
    pub dir: String,
    /// The device of `dir`'s filesystem: unmounted and mounted again
    /// between rounds.
    pub device: Option<String>,
    /// Threads on files of their own (at least 1).
    pub threads: usize,
    /// Threads on one shared file, each on its own stripes (0: none).
    pub shared: usize,
    /// The filesystem's block size: where the indirect and double-indirect
    /// blocks start, and so where writes cluster.
    pub block_size: u64,
    /// Largest file offset written.
    pub max_size: u64,
    /// `fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)`.
    pub punch: bool,
    /// `fallocate(FALLOC_FL_ZERO_RANGE)`.
    pub zero: bool,
    /// `fallocate(0)` and `fallocate(FALLOC_FL_KEEP_SIZE)`.
    pub allocate: bool,
    /// Whether `fallocate(FALLOC_FL_KEEP_SIZE)` allocates past the end of
    /// the file (mode `keep`); without (mode `keep-inside`, toyfs, which
    /// keeps no block past the end) it must fail with `EOPNOTSUPP` there
    /// and change nothing.
    pub keep_past_end: bool,
    /// `SEEK_DATA`/`SEEK_HOLE` checked: `None` not used, `Some(0)` only
    /// for soundness, `Some(g)` also precise to granules of `g` bytes.
    pub seek: Option<u64>,
    /// Stores through mappings past the end of the file, which must read as
    /// zero once the file grows over them.
    pub eof_pollution: bool,
    /// `chattr +c`/`-c` (`FS_IOC_SETFLAGS` toggling `FS_COMPR_FL`) on the
    /// files of the threads: the flag sticks, across remounts too, and
    /// the bytes never change.
    pub chattr_compress: bool,
    /// Writes and stores of runs of one byte (`Rng::data`), which a
    /// compressing filesystem shrinks, instead of random bytes.
    pub compressible: bool,
    /// `copy_file_range`, `sendfile` and `splice` through a pipe between
    /// the files of a thread (and `copy_file_range` inside one).
    pub copy: bool,
    /// Names changed under the open, mapped files of the threads (hard
    /// links, renames, unlinks, `fsync` of the directory) and scratch
    /// files renamed over one another in a directory of each thread.
    pub links: bool,
    /// FIEMAP of the threads' files checked against the model.
    pub fiemap: bool,
    /// `O_DIRECT` reads and writes (as fsx's `-Z`, mixed with the
    /// buffered and mapped ones), some of whole blocks from page-aligned
    /// buffers, some at any offset, length and buffer address: `None`
    /// not used, `Some(0)` at any alignment (toyfs, tmpfs), `Some(a)`
    /// the others rounded to multiples of `a` bytes (ext2, whose iomap
    /// direct I/O wants the device's logical block: it checks each
    /// extent, so a write refused with `EINVAL` may have written the
    /// extents before the unaligned piece).
    pub direct: Option<u64>,
    /// The largest folio the page cache may give the files: a write fault
    /// may allocate blocks for all of it (ext4's large folios).
    pub folio_max: u64,
    /// Hard links of the threads' files kept across operations and
    /// remounts, in directories of the run and of the thread: the model
    /// counts them (`st_nlink`), each name reads as the file
    /// (src/worker/vfs.rs).
    pub hardlinks: bool,
    /// `O_TMPFILE` files written, mapped and truncated, then named with
    /// `linkat` (`AT_EMPTY_PATH` or `/proc/self/fd`) and renamed over a
    /// file of the thread, or closed without a name (freed).
    pub tmpfile: bool,
    /// `renameat2(RENAME_EXCHANGE)` of the thread's two files (the
    /// second in a directory of the thread: across parents), and of
    /// files and directories of a tree of the thread; `RENAME_NOREPLACE`.
    pub exchange: bool,
    /// Modification and change times checked where POSIX fixes them
    /// (changed by a write and a truncation that changes the size, kept
    /// by reads, `fsync` and `link`, kept across remounts).
    pub times: bool,
    /// `st_blocks` bounded by the blocks the model allows and the
    /// indirect blocks of a block map of 32-bit pointers (toyfs, ext2).
    pub st_blocks: bool,
    /// A file of each thread with offsets past the double-indirect
    /// blocks' reach (the triple-indirect level) up to this limit, the
    /// filesystem's largest file (`s_maxbytes`: past it `EFBIG`), in a
    /// sparse model (src/far.rs).
    pub far: Option<u64>,
    /// Filesystem type for the mount between rounds.
    pub fstype: String,
    /// Program run with the device between unmount and mount (a check
    /// that exits non-zero on damage), e.g. `fsck.toyfs -n`.
    pub fsck: Option<String>,
}

fn number(text: Option<&String>, what: &str) -> Result<u64, String> {
    text.and_then(|text| text.parse().ok())
        .ok_or(format!("{what}: expected a number"))
}

impl Options {
    /// Parses the arguments after `run`.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            seed: 0,
            ops: 0,
            dir: String::new(),
            device: None,
            threads: 1,
            shared: 0,
            block_size: 1024,
            max_size: 0,
            punch: false,
            zero: false,
            allocate: false,
            keep_past_end: true,
            seek: None,
            eof_pollution: false,
            chattr_compress: false,
            compressible: false,
            copy: false,
            links: false,
            fiemap: false,
            direct: None,
            folio_max: 4096,
            hardlinks: false,
            tmpfile: false,
            exchange: false,
            times: false,
            st_blocks: false,
            far: None,
            fstype: "toyfs".into(),
            fsck: None,
        };
        let mut rest = Vec::new();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--threads" => options.threads = number(args.next(), arg)?.max(1) as usize,
                "--shared" => options.shared = number(args.next(), arg)? as usize,
                "--block-size" => options.block_size = number(args.next(), arg)?,
                "--max-size" => options.max_size = number(args.next(), arg)?,
                "--seek" => options.seek = Some(number(args.next(), arg)?),
                "--eof-pollution" => options.eof_pollution = true,
                "--chattr-compress" => options.chattr_compress = true,
                "--compressible" => options.compressible = true,
                "--copy" => options.copy = true,
                "--links" => options.links = true,
                "--fiemap" => options.fiemap = true,
                "--direct" => options.direct = Some(number(args.next(), arg)?),
                "--folio-max" => options.folio_max = number(args.next(), arg)?,
                "--hardlinks" => options.hardlinks = true,
                "--tmpfile" => options.tmpfile = true,
                "--exchange" => options.exchange = true,
                "--times" => options.times = true,
                "--st-blocks" => options.st_blocks = true,
                "--far" => options.far = Some(number(args.next(), arg)?),
                "--fstype" => options.fstype = args.next().ok_or("--fstype: missing")?.clone(),
                "--fsck" => options.fsck = Some(args.next().ok_or("--fsck: missing")?.clone()),
                "--fallocate" => {
                    for mode in args.next().ok_or("--fallocate: missing")?.split(',') {
                        match mode {
                            "punch" => options.punch = true,
                            "zero" => options.zero = true,
                            "keep" => options.allocate = true,
                            "keep-inside" => {
                                options.allocate = true;
                                options.keep_past_end = false;
                            }
                            _ => return Err(format!("--fallocate: unknown mode {mode}")),
                        }
                    }
                }
                other if other.starts_with("--") => return Err(format!("unknown option {other}")),
                _ => rest.push(arg.clone()),
            }
        }
        if !(3..=4).contains(&rest.len()) {
            return Err(format!("usage: toyfs-stress {USAGE}"));
        }
        options.seed = number(rest.first(), "SEED")?;
        options.ops = number(rest.get(1), "OPS")?;
        options.dir = rest[2].clone();
        options.device = rest.get(3).cloned();
        if !options.block_size.is_power_of_two() || !(512..=65536).contains(&options.block_size) {
            return Err(format!(
                "--block-size {}: not a block size",
                options.block_size
            ));
        }
        if !options.folio_max.is_power_of_two() {
            return Err(format!(
                "--folio-max {}: not a power of two",
                options.folio_max
            ));
        }
        if options
            .direct
            .is_some_and(|align| align != 0 && !align.is_power_of_two())
        {
            return Err("--direct: not a power of two".into());
        }
        if options
            .far
            .is_some_and(|limit| limit <= options.triple_indirect_start() + 64 * 1024)
        {
            return Err("--far: the limit must lie past the triple-indirect start".into());
        }
        if options.max_size == 0 {
            // Past the start of the double-indirect blocks (268 KiB with
            // 1 KiB blocks).
            options.max_size = options.double_indirect_start() + 64 * 1024;
        }
        Ok(options)
    }

    /// Where the single-indirect blocks start (12 direct pointers).
    pub fn indirect_start(&self) -> u64 {
        12 * self.block_size
    }

    /// Where the double-indirect blocks start.
    pub fn double_indirect_start(&self) -> u64 {
        (12 + self.block_size / 4) * self.block_size
    }

    /// Where the triple-indirect blocks start.
    pub fn triple_indirect_start(&self) -> u64 {
        let per = self.block_size / 4;
        (12 + per + per * per) * self.block_size
    }

    /// Whether any of the operations of src/worker/vfs.rs is on.
    pub fn vfs_ops(&self) -> bool {
        self.hardlinks || self.tmpfile || self.exchange || self.times || self.far.is_some()
    }

    /// Whether any `fallocate` mode is on.
    pub fn fallocates(&self) -> bool {
        self.punch || self.zero || self.allocate
    }

    /// The command line that does this run again.
    pub fn replay(&self) -> String {
        let mut line = format!(
            "toyfs-stress run --threads {} --shared {} --block-size {} --max-size {}",
            self.threads, self.shared, self.block_size, self.max_size
        );
        let modes: Vec<&str> = [
            (self.punch, "punch"),
            (self.zero, "zero"),
            (self.allocate && self.keep_past_end, "keep"),
            (self.allocate && !self.keep_past_end, "keep-inside"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| *name)
        .collect();
        if !modes.is_empty() {
            line += &format!(" --fallocate {}", modes.join(","));
        }
        if let Some(granule) = self.seek {
            line += &format!(" --seek {granule}");
        }
        if self.eof_pollution {
            line += " --eof-pollution";
        }
        if self.chattr_compress {
            line += " --chattr-compress";
        }
        if self.compressible {
            line += " --compressible";
        }
        for (on, name) in [
            (self.copy, "--copy"),
            (self.links, "--links"),
            (self.fiemap, "--fiemap"),
            (self.hardlinks, "--hardlinks"),
            (self.tmpfile, "--tmpfile"),
            (self.exchange, "--exchange"),
            (self.times, "--times"),
            (self.st_blocks, "--st-blocks"),
        ] {
            if on {
                line += &format!(" {name}");
            }
        }
        if let Some(align) = self.direct {
            line += &format!(" --direct {align}");
        }
        if let Some(limit) = self.far {
            line += &format!(" --far {limit}");
        }
        if self.folio_max != 4096 {
            line += &format!(" --folio-max {}", self.folio_max);
        }
        line += &format!(" --fstype {}", self.fstype);
        if let Some(fsck) = &self.fsck {
            line += &format!(" --fsck '{fsck}'");
        }
        line += &format!(" {} {} {}", self.seed, self.ops, self.dir);
        if let Some(device) = &self.device {
            line += &format!(" {device}");
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Options, String> {
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        Options::parse(&args)
    }

    #[test]
    fn geometry_follows_the_block_size() {
        let options = parse("7 100 /mnt").unwrap();
        assert_eq!(options.double_indirect_start(), 268 * 1024);
        assert_eq!(options.max_size, 332 * 1024);
        let options = parse("--block-size 4096 7 100 /mnt /dev/ram0").unwrap();
        assert_eq!(options.indirect_start(), 48 * 1024);
        assert_eq!(options.double_indirect_start(), 4144 * 1024);
        assert_eq!(options.device.as_deref(), Some("/dev/ram0"));
    }

    #[test]
    fn replay_parses_to_the_same_run() {
        let options = parse(
            "--threads 3 --shared 2 --fallocate punch,keep --seek 4096 --eof-pollution --chattr-compress \
             --compressible --folio-max 65536 --copy --links --fiemap --direct 512 \
             --fstype ext2 9 1000 /mnt /dev/ram2",
        )
        .unwrap();
        let line = options.replay();
        let again = parse(line.strip_prefix("toyfs-stress run ").unwrap()).unwrap();
        assert_eq!(again.replay(), line);
        assert!(again.punch && !again.zero && again.allocate);
        assert_eq!(again.seek, Some(4096));
        assert!(again.eof_pollution && again.chattr_compress && again.compressible);
        assert!(again.keep_past_end);
        assert!(again.copy && again.links && again.fiemap);
        assert_eq!(again.direct, Some(512));
        assert_eq!(parse("--direct 0 1 2 /d").unwrap().direct, Some(0));
        let vfs =
            parse("--hardlinks --tmpfile --exchange --times --st-blocks --far 17247252480 1 2 /d")
                .unwrap();
        let line = vfs.replay();
        let again = parse(line.strip_prefix("toyfs-stress run ").unwrap()).unwrap();
        assert!(again.hardlinks && again.tmpfile && again.exchange && again.times);
        assert!(again.st_blocks && again.vfs_ops());
        assert_eq!(again.far, Some(17_247_252_480));
        assert!(!parse("1 2 /d").unwrap().vfs_ops());
        // The limit must lie past the start of the triple-indirect
        // blocks (64 MiB and 268 KiB with 1 KiB blocks).
        assert!(parse("--far 67383296 1 2 /d").is_err());
        assert_eq!(vfs.triple_indirect_start(), 67_383_296);
        assert!(parse("--direct 3 1 2 /d").is_err());
        let inside = parse("--fallocate zero,keep-inside 1 2 /d").unwrap();
        assert!(inside.allocate && !inside.keep_past_end);
        assert!(inside.replay().contains("--fallocate zero,keep-inside "));
        assert!(parse("--fallocate nope 1 2 /d").is_err());
        assert!(parse("1 2").is_err());
        assert!(parse("--block-size 1000 1 2 /d").is_err());
    }
}
