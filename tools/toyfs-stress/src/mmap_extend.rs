// SPDX-License-Identifier: GPL-2.0
//! `toyfs-stress mmap-extend FILE KIB [--truncate]`: a file grown a byte
//! at a time by `fallocate(0)` (`posix_fallocate`), each new byte stored
//! through a shared mapping at once, while another thread writes the file
//! back over and over (xfstests generic/438, `src/t_mmap_fallocate.c`):
//! no writeback may zero a byte stored inside the file, though the page
//! at the end is being written while the file grows over it.  Every
//! byte is checked right after its store, all of them at the end, and
//! again from the disk after writeback and dropped caches.  With
//! `--truncate` the file grows by `ftruncate` instead (a filesystem
//! without `fallocate`, ext2).

use crate::mapping::Mapping;
use crate::sys;
use crate::worker::{beside_writeback, drop_caches, open, read_upto};

const BYTE: u8 = 0x78;

/// Runs the sequence on `path` (created or emptied), `kib` KiB; returns
/// a summary.
pub fn run(path: &str, kib: usize, truncate: bool) -> Result<String, String> {
    let file = open(path)?;
    file.set_len(0)
        .map_err(|err| format!("truncate {path}: {err}"))?;
    let size = kib * 1024;
    let map = Mapping::new(&file, size).map_err(|err| format!("mmap {path}: {err}"))?;
    let writer = open(path)?;
    beside_writeback(
        || sys::start_writeback(&writer).map_err(|err| format!("sync_file_range: {err}")),
        || {
            for at in 0..size {
                let grown = match truncate {
                    true => file.set_len(at as u64 + 1),
                    false => sys::fallocate(&file, 0, at as u64, 1),
                };
                grown.map_err(|err| format!("growing {path} to {}: {err}", at + 1))?;
                map.store(at, &[BYTE]);
                let got = map.load(at, 1)[0];
                if got != BYTE {
                    return Err(format!("byte {at} reads {got:#x} right after its store"));
                }
            }
            Ok(())
        },
    )?;
    let check = |what: &str, got: &[u8]| match got.iter().position(|&b| b != BYTE) {
        _ if got.len() != size => Err(format!("{what}: {} bytes, expected {size}", got.len())),
        Some(at) => Err(format!(
            "{what}: byte {at} is {:#x}, expected {BYTE:#x}",
            got[at]
        )),
        None => Ok(()),
    };
    check("through the mapping", &map.load(0, size))?;
    map.sync().map_err(|err| format!("msync {path}: {err}"))?;
    drop(map);
    drop_caches()?;
    let got = read_upto(&file, 0, size + 1).map_err(|err| format!("read {path}: {err}"))?;
    check("from the disk", &got)?;
    Ok(format!(
        "{size} bytes each grown by {} and stored through the mapping beside writeback, none lost",
        if truncate { "ftruncate" } else { "fallocate" }
    ))
}
