// SPDX-License-Identifier: GPL-2.0
//! fsck.toyfs: options, the check, the report and the exit status.
//!
//! ```text
//! fsck.toyfs [-n] [-f] [-v] DEVICE
//! ```
//!
//! It only checks; it never writes.  `-n` (read-only) is accepted for
//! fsck(8) compatibility and is what every run does; repair options (`-p`,
//! `-a`, `-y`) are refused.  Exit status as e2fsck: 0 clean, 4 errors left
//! uncorrected, 8 operational error (DEVICE cannot be opened or read),
//! 16 usage error.

use std::fmt;
use std::fs::File;
use std::path::PathBuf;

use toyfs_format::check::{check_with, Report};
use toyfs_format::{FileDevice, FsState};

/// No inconsistency found.
pub const EXIT_CLEAN: i32 = 0;
/// Inconsistencies found and, as fsck.toyfs does not repair, left.
pub const EXIT_ERRORS_UNCORRECTED: i32 = 4;
/// DEVICE could not be opened or read.
pub const EXIT_OPERATIONAL_ERROR: i32 = 8;
/// Bad command line.
pub const EXIT_USAGE: i32 = 16;

/// Usage text for `-h` and after a usage error.
pub const USAGE: &str = "usage: fsck.toyfs [-n] [-f] [-v] DEVICE
  -n  read-only (the only mode: fsck.toyfs never writes)
  -f  force: also decompress every compressed block (every other check is
      always done, clean or not)
  -v  print totals for a clean filesystem too";

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsckOptions {
    /// `-v`.
    pub verbose: bool,
    /// `-f`: decompress every compressed block too.
    pub force: bool,
    /// The image file or block device.
    pub device: PathBuf,
}

/// A bad command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FsckUsageError {
    /// `-h`.
    HelpRequested,
    /// `-p`, `-a` or `-y`: repair, which is not implemented.
    RepairRequested(String),
    /// An option that does not exist.
    UnknownOption(String),
    /// No DEVICE.
    MissingDevice,
    /// More than one DEVICE.
    ExtraArgument(String),
}

impl fmt::Display for FsckUsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HelpRequested => write!(f, "{USAGE}"),
            Self::RepairRequested(option) => write!(
                f,
                "option {option} asks for repair, which fsck.toyfs does not do; it only checks (-n)"
            ),
            Self::UnknownOption(option) => write!(f, "unknown option \"{option}\""),
            Self::MissingDevice => write!(f, "no DEVICE given"),
            Self::ExtraArgument(argument) => write!(f, "unexpected argument \"{argument}\""),
        }
    }
}

/// Parses the arguments after the program name.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<FsckOptions, FsckUsageError> {
    let mut verbose = false;
    let mut force = false;
    let mut device = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-n" => {}
            "-f" => force = true,
            "-v" => verbose = true,
            "-h" | "--help" => return Err(FsckUsageError::HelpRequested),
            "-p" | "-a" | "-y" => return Err(FsckUsageError::RepairRequested(arg)),
            "--" => {
                for rest in args.by_ref() {
                    set_device(&mut device, rest)?;
                }
            }
            option if option.starts_with('-') && option.len() > 1 => {
                return Err(FsckUsageError::UnknownOption(arg))
            }
            _ => set_device(&mut device, arg)?,
        }
    }
    Ok(FsckOptions {
        verbose,
        force,
        device: device.ok_or(FsckUsageError::MissingDevice)?,
    })
}

fn set_device(device: &mut Option<PathBuf>, arg: String) -> Result<(), FsckUsageError> {
    if device.is_some() {
        return Err(FsckUsageError::ExtraArgument(arg));
    }
    *device = Some(PathBuf::from(arg));
    Ok(())
}

/// The lines fsck prints for a report, and its exit status.
pub fn render(device: &str, report: &Report, verbose: bool) -> (Vec<String>, i32) {
    let mut lines: Vec<String> = report
        .findings
        .iter()
        .map(|finding| format!("{device}: {finding}"))
        .collect();
    if let Some(summary) = &report.summary {
        if summary.state == FsState::Dirty {
            lines.push(format!("{device}: was not cleanly unmounted"));
        }
        let unit = if summary.fragments {
            "fragments"
        } else {
            "blocks"
        };
        if verbose || !report.is_clean() {
            let by_type: Vec<String> = summary
                .by_type()
                .iter()
                .map(|(count, words)| format!("{count} {words}"))
                .collect();
            lines.push(format!(
                "{device}: {}/{} inodes ({}), {}/{} {}",
                summary.inodes_in_use,
                summary.inode_count,
                by_type.join(", "),
                summary.blocks_in_use,
                summary.block_count,
                unit,
            ));
        }
        if verbose {
            let usage = &summary.usage;
            let packed = if usage.tail_blocks > 0 {
                format!(
                    "; {} packed tails in {} tail blocks",
                    usage.packed_tails, usage.tail_blocks
                )
            } else {
                String::new()
            };
            lines.push(format!(
                "{device}: {unit} in use: {} metadata, {} file data ({} compressed{packed}; {} bytes of files), {} directory, {} indirect",
                summary.metadata,
                usage.file_data,
                usage.compressed,
                usage.file_bytes,
                usage.directories,
                usage.indirect,
            ));
        }
    }
    if report.is_clean() {
        lines.push(format!("{device}: clean"));
        (lines, EXIT_CLEAN)
    } else {
        lines.push(format!(
            "{device}: {} errors found, left uncorrected",
            report.findings.len()
        ));
        (lines, EXIT_ERRORS_UNCORRECTED)
    }
}

/// The whole program; returns the exit status.
pub fn run<I: IntoIterator<Item = String>>(args: I) -> i32 {
    let options = match parse_args(args) {
        Ok(options) => options,
        Err(FsckUsageError::HelpRequested) => {
            println!("{USAGE}");
            return EXIT_CLEAN;
        }
        Err(error) => {
            eprintln!("fsck.toyfs: {error}\n{USAGE}");
            return EXIT_USAGE;
        }
    };
    let name = options.device.display().to_string();
    let report = File::open(&options.device)
        .map(FileDevice::new)
        .and_then(|device| check_with(&device, options.force));
    match report {
        Ok(report) => {
            let (lines, status) = render(&name, &report, options.verbose);
            for line in lines {
                println!("{line}");
            }
            status
        }
        Err(error) => {
            eprintln!("fsck.toyfs: {name}: {error}");
            EXIT_OPERATIONAL_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toyfs_format::check::{Finding, Summary, Usage};

    fn parse(list: &[&str]) -> Result<FsckOptions, FsckUsageError> {
        parse_args(list.iter().map(|arg| arg.to_string()))
    }

    #[test]
    fn parses_the_command_line() {
        assert_eq!(
            parse(&["-n", "img"]),
            Ok(FsckOptions {
                verbose: false,
                force: false,
                device: "img".into()
            })
        );
        assert_eq!(
            parse(&["-f", "-v", "--", "-img"]),
            Ok(FsckOptions {
                verbose: true,
                force: true,
                device: "-img".into()
            })
        );
        assert_eq!(parse(&[]), Err(FsckUsageError::MissingDevice));
        assert_eq!(
            parse(&["a", "b"]),
            Err(FsckUsageError::ExtraArgument("b".into()))
        );
        assert_eq!(
            parse(&["-y", "a"]),
            Err(FsckUsageError::RepairRequested("-y".into()))
        );
        assert_eq!(
            parse(&["-a", "a"]),
            Err(FsckUsageError::RepairRequested("-a".into()))
        );
        assert_eq!(
            parse(&["-q", "a"]),
            Err(FsckUsageError::UnknownOption("-q".into()))
        );
        assert_eq!(parse(&["-h"]), Err(FsckUsageError::HelpRequested));
    }

    fn summary(state: FsState) -> Summary {
        Summary {
            state,
            inode_count: 16,
            inodes_in_use: 8,
            regular_files: 2,
            directories: 1,
            symlinks: 1,
            char_devices: 1,
            block_devices: 1,
            fifos: 1,
            sockets: 1,
            fragments: false,
            block_count: 64,
            blocks_in_use: 9,
            metadata: 5,
            usage: Usage {
                file_data: 2,
                compressed: 0,
                directories: 1,
                indirect: 1,
                file_bytes: 1500,
                ..Usage::default()
            },
        }
    }

    #[test]
    fn renders_clean_and_damaged_reports() {
        let clean = Report {
            findings: vec![],
            summary: Some(summary(FsState::Clean)),
        };
        assert_eq!(
            render("img", &clean, false),
            (vec!["img: clean".to_string()], EXIT_CLEAN)
        );
        let (lines, status) = render("img", &clean, true);
        assert_eq!(
            lines[..2],
            [
                "img: 8/16 inodes (2 files, 1 directories, 1 symbolic links, 1 character devices, \
                 1 block devices, 1 FIFOs, 1 sockets), 9/64 blocks",
                "img: blocks in use: 5 metadata, 2 file data (0 compressed; 1500 bytes of files), 1 directory, 1 indirect",
            ]
        );
        assert_eq!(status, EXIT_CLEAN);

        let dirty = Report {
            findings: vec![Finding::BlockMarkedButUnused { block: 40 }],
            summary: Some(summary(FsState::Dirty)),
        };
        let (lines, status) = render("img", &dirty, false);
        assert_eq!(
            lines,
            [
                "img: block 40 is marked in use but no inode uses it",
                "img: was not cleanly unmounted",
                "img: 8/16 inodes (2 files, 1 directories, 1 symbolic links, 1 character devices, \
                 1 block devices, 1 FIFOs, 1 sockets), 9/64 blocks",
                "img: 1 errors found, left uncorrected",
            ]
        );
        assert_eq!(status, EXIT_ERRORS_UNCORRECTED);
    }
}
