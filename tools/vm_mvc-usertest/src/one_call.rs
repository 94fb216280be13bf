// SPDX-License-Identifier: GPL-2.0
//! One vm_mvc call on a file, named on the command line, for the shell
//! tests that look at what reaches a block device afterwards
//! (scripts/guest/userdev-tests.sh, suite vm_mvc_writeback).

use crate::device::{MvcArgs, TestDev, NODIRTY, PROTZERO, READ, WRITE, ZERO};
use crate::sys::{Mapping, Prot};
use crate::{errno_name, Outcome};
use std::fs::OpenOptions;

/// The raw command of `name`: `zero`, `protzero`, `read` or `write`,
/// optionally followed by `,nodirty`.
fn command(name: &str) -> Result<i32, String> {
    let (name, flags) = match name.strip_suffix(",nodirty") {
        Some(name) => (name, NODIRTY),
        None => (name, 0),
    };
    let cmd = match name {
        "zero" => ZERO,
        "protzero" => PROTZERO,
        "read" => READ,
        "write" => WRITE,
        _ => return Err(format!("unknown command {name}")),
    };
    Ok(cmd | flags)
}

/// Calls vm_mvc by the sid of `path` with command `cmd` on `count` bytes
/// at `pgoffs` of page `pno`; WRITE copies `count` bytes of `fill`, READ
/// prints the bytes in hexadecimal.
pub fn run(path: &str, pno: i64, pgoffs: i32, count: i32, cmd: &str, fill: u8) -> Outcome {
    let cmd = command(cmd)?;
    // Open for writing but to READ: the device refuses the other commands
    // on a sid of a read-only descriptor (EBADF).
    let file = OpenOptions::new()
        .read(true)
        .write(cmd & 0xff != READ)
        .open(path)
        .map_err(|e| format!("{path}: {e}"))?;
    let dev = TestDev::open().map_err(|e| format!("open the device: {}", errno_name(e)))?;
    let sid = dev
        .create_sid(&file)
        .map_err(|e| format!("sid create: {}", errno_name(e)))?;
    let len = usize::try_from(count.max(1)).map_err(|e| e.to_string())?;
    let buffer = Mapping::anonymous(len, Prot::ReadWrite).map_err(|e| e.to_string())?;
    buffer.store(0, &vec![fill; len]);
    let args = MvcArgs::new(sid, pno, pgoffs, count, cmd).with_buffer(&buffer, 0, len);
    let result = dev.mvc(args);
    dev.delete_sid(sid)
        .map_err(|e| format!("sid delete: {}", errno_name(e)))?;
    result.map_err(|e| format!("vm_mvc: {}", errno_name(e)))?;
    if cmd & 0xff == READ {
        let text: String = buffer
            .load(0, len)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        println!("{text}");
    }
    Ok(())
}
