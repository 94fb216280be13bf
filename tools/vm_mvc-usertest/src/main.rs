// SPDX-License-Identifier: GPL-2.0
//! Guest tests of vm_mvc's user-buffer path, through the test device of
//! samples/vm_mvc_testdev (issue 6, cases 1, 3, 4 and 5).
//!
//! ```text
//! vm_mvc-usertest list
//!     the names of the bad-input cases (case 3), one a line
//! vm_mvc-usertest case NAME
//!     runs one of them
//! vm_mvc-usertest concurrency DIR SECONDS SEED [-- COMMAND...]
//!     threads doing read/write/truncate/mmap on files in DIR while others
//!     call vm_mvc on them, for SECONDS and while COMMAND runs (case 4)
//! vm_mvc-usertest faults FILE ROUNDS SEED
//!     attach, READ/WRITE/ZERO with user buffers and detach, ROUNDS times,
//!     with fault injection enabled for this task (case 1)
//! vm_mvc-usertest leak FILE
//!     creates a sid for FILE, leaves it live and prints it (case 5)
//! vm_mvc-usertest mvc FILE PNO PGOFFS COUNT CMD[,nodirty] [FILL]
//!     one vm_mvc call by the sid of FILE (zero, protzero, read, write);
//!     WRITE copies COUNT bytes of FILL, READ prints the bytes in hex
//! ```
//!
//! A failure prints what went wrong and exits with 1.

mod cases;
mod concurrency;
mod counters;
mod device;
mod faults;
mod one_call;
mod rng;
mod sys;

use std::process::ExitCode;

/// The result of a test: what went wrong, if anything.
pub type Outcome = Result<(), String>;

/// The name of an error number, for messages.
pub fn errno_name(errno: i32) -> String {
    use sys::errno::*;
    let name = match errno {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        EIO => "EIO",
        EBADF => "EBADF",
        ENOMEM => "ENOMEM",
        EACCES => "EACCES",
        EFAULT => "EFAULT",
        EINVAL => "EINVAL",
        ENOTTY => "ENOTTY",
        ENOSPC => "ENOSPC",
        ENODATA => "ENODATA",
        _ => return format!("errno {errno}"),
    };
    name.to_string()
}

/// Fails unless `result` is the error `want`.
pub fn expect_errno<T>(what: &str, result: Result<T, i32>, want: i32) -> Outcome {
    match result {
        Err(got) if got == want => Ok(()),
        Err(got) => Err(format!(
            "{what}: {}, expected {}",
            errno_name(got),
            errno_name(want)
        )),
        Ok(_) => Err(format!("{what}: succeeded, expected {}", errno_name(want))),
    }
}

fn number<T: std::str::FromStr>(text: Option<&String>, what: &str) -> Result<T, String> {
    text.and_then(|text| text.parse().ok())
        .ok_or(format!("{what}: expected a number"))
}

fn run(args: &[String]) -> Outcome {
    match args.get(1).map(String::as_str) {
        Some("list") => {
            for (name, _) in cases::CASES {
                println!("{name}");
            }
            Ok(())
        }
        Some("case") if args.len() == 3 => {
            let (_, case) = cases::CASES
                .iter()
                .find(|(name, _)| *name == args[2])
                .ok_or(format!("no case {}", args[2]))?;
            case()
        }
        Some("probe-unprivileged") => cases::probe_unprivileged(),
        Some("concurrency") if args.len() >= 5 => {
            let command = match args.get(5).map(String::as_str) {
                Some("--") if args.len() > 6 => &args[6..],
                None => &[],
                _ => return Err("concurrency: expected -- COMMAND...".into()),
            };
            concurrency::run(
                &args[2],
                number(args.get(3), "SECONDS")?,
                number(args.get(4), "SEED")?,
                command,
            )
        }
        Some("faults") if args.len() == 5 => faults::run(
            &args[2],
            number(args.get(3), "ROUNDS")?,
            number(args.get(4), "SEED")?,
        ),
        Some("leak") if args.len() == 3 => faults::leak(&args[2]),
        Some("mvc") if (7..=8).contains(&args.len()) => one_call::run(
            &args[2],
            number(args.get(3), "PNO")?,
            number(args.get(4), "PGOFFS")?,
            number(args.get(5), "COUNT")?,
            &args[6],
            args.get(7).map_or(Ok(0), |fill| {
                u8::from_str_radix(fill.trim_start_matches("0x"), 16)
                    .map_err(|_| "FILL: expected a hex byte".to_string())
            })?,
        ),
        _ => Err("usage: see the comment at the top of tools/vm_mvc-usertest/src/main.rs".into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("vm_mvc-usertest: {err}");
            ExitCode::FAILURE
        }
    }
}
