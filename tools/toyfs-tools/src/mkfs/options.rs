// SPDX-License-Identifier: GPL-2.0
//! The mkfs.toyfs command line.

use std::path::PathBuf;

use super::MkfsError;
use crate::size::{parse_count, parse_size, SizeArg};

/// Usage text for `-h` and after a usage error.
pub const USAGE: &str =
    "usage: mkfs.toyfs [-b BLOCK_SIZE] [-f FRAG] [-c lz4] [-p] [-N INODES] [-d DIR] [-q] DEVICE [SIZE]
  -b BLOCK_SIZE  512, 1024, 2048 or 4096 bytes; default, as mke2fs: 1024 for
                 a filesystem of less than 512 MiB, else 4096
  -f FRAG        allocate in fragments of FRAG bytes, BLOCK_SIZE/8 to BLOCK_SIZE
                 (the FRAGMENTS feature: a file's last block takes only the
                 fragments it needs)
  -c lz4         compress new files' blocks with LZ4 by default (chattr -c turns
                 it off per file); needs fragments of at most BLOCK_SIZE/2
                 (default with -c: BLOCK_SIZE/8)
  -p             pack the last blocks of the files -d copies into shared tail
                 blocks, each at a byte offset (the PACKED_TAILS feature);
                 needs fragments smaller than BLOCK_SIZE (default with -p:
                 BLOCK_SIZE/8); with -c lz4 too, a tail that compresses is
                 packed compressed (the PACKED_LZ4 feature)
  -N INODES      number of inodes (default: one per 4 KiB, at least 16, and
                 enough for DIR)
  -d DIR         copy the files and directories under DIR into the new filesystem
  -q             print nothing on success
  SIZE           blocks (KiB without -b), or bytes with a K, M or G suffix;
                 default: all of DEVICE";

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MkfsOptions {
    /// `-b`, if given; else [`super::plan`] picks it from the size.
    pub block_size: Option<u32>,
    /// `-f`, if given.
    pub fragment_size: Option<u32>,
    /// `-c lz4`.
    pub compression: bool,
    /// `-p`.
    pub pack_tails: bool,
    /// `-d`, if given.
    pub source: Option<PathBuf>,
    /// `-N`, if given.
    pub inode_count: Option<u32>,
    /// `-q`.
    pub quiet: bool,
    /// The image file or block device.
    pub device: PathBuf,
    /// SIZE, if given.
    pub size: Option<SizeArg>,
}

fn parse_u32(what: &'static str, text: &str) -> Result<u32, MkfsError> {
    let value = parse_count(text).map_err(|error| MkfsError::Number { what, error })?;
    u32::try_from(value).map_err(|_| MkfsError::TooLarge { what, value })
}

/// Parses the arguments after the program name.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<MkfsOptions, MkfsError> {
    let mut args = args.into_iter();
    let mut block_size = None;
    let mut fragment_size = None;
    let mut compression = false;
    let mut pack_tails = false;
    let mut source = None;
    let mut inode_count = None;
    let mut quiet = false;
    let mut positional = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-b" => {
                let value = args.next().ok_or(MkfsError::MissingValue("-b"))?;
                block_size = Some(parse_u32("block size", &value)?);
            }
            "-N" => {
                let value = args.next().ok_or(MkfsError::MissingValue("-N"))?;
                inode_count = Some(parse_u32("inode count", &value)?);
            }
            "-f" => {
                let value = args.next().ok_or(MkfsError::MissingValue("-f"))?;
                fragment_size = Some(parse_u32("fragment size", &value)?);
            }
            "-c" => {
                let value = args.next().ok_or(MkfsError::MissingValue("-c"))?;
                if value != "lz4" {
                    return Err(MkfsError::UnknownCompression(value));
                }
                compression = true;
            }
            "-d" => {
                let value = args.next().ok_or(MkfsError::MissingValue("-d"))?;
                source = Some(PathBuf::from(value));
            }
            "-p" => pack_tails = true,
            "-q" => quiet = true,
            "-h" | "--help" => return Err(MkfsError::HelpRequested),
            "--" => positional.extend(args.by_ref()),
            option if option.starts_with('-') && option.len() > 1 => {
                return Err(MkfsError::UnknownOption(arg))
            }
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    let device = PathBuf::from(positional.next().ok_or(MkfsError::MissingDevice)?);
    let size = positional
        .next()
        .map(|text| {
            parse_size(&text).map_err(|error| MkfsError::Number {
                what: "size",
                error,
            })
        })
        .transpose()?;
    if let Some(extra) = positional.next() {
        return Err(MkfsError::ExtraArgument(extra));
    }
    Ok(MkfsOptions {
        block_size,
        fragment_size,
        compression,
        pack_tails,
        source,
        inode_count,
        quiet,
        device,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|arg| arg.to_string()).collect()
    }

    fn options(list: &[&str]) -> MkfsOptions {
        parse_args(args(list)).unwrap()
    }

    #[test]
    fn parses_options_and_positionals() {
        assert_eq!(
            options(&["img"]),
            MkfsOptions {
                block_size: None,
                fragment_size: None,
                compression: false,
                pack_tails: false,
                source: None,
                inode_count: None,
                quiet: false,
                device: "img".into(),
                size: None
            }
        );
        assert_eq!(
            options(&["-b", "4096", "-N", "77", "-q", "img", "8M"]),
            MkfsOptions {
                block_size: Some(4096),
                fragment_size: None,
                compression: false,
                pack_tails: false,
                source: None,
                inode_count: Some(77),
                quiet: true,
                device: "img".into(),
                size: Some(SizeArg::Bytes(8 << 20))
            }
        );
        assert_eq!(options(&["--", "-img", "10"]).device, PathBuf::from("-img"));
        assert_eq!(options(&["img", "10"]).size, Some(SizeArg::Blocks(10)));
        let features = options(&["-b", "4096", "-f", "512", "-c", "lz4", "-d", "tree", "img"]);
        assert_eq!(
            (
                features.fragment_size,
                features.compression,
                features.pack_tails,
                features.source
            ),
            (Some(512), true, false, Some(PathBuf::from("tree")))
        );
        assert!(options(&["-p", "-d", "tree", "img"]).pack_tails);
    }

    #[test]
    fn refuses_bad_command_lines() {
        let error = |list: &[&str]| parse_args(args(list)).unwrap_err().to_string();
        assert_eq!(error(&[]), "no DEVICE given");
        assert_eq!(error(&["-b"]), "option -b needs a value");
        assert_eq!(error(&["-N"]), "option -N needs a value");
        assert_eq!(error(&["-f"]), "option -f needs a value");
        assert_eq!(error(&["-d"]), "option -d needs a value");
        assert_eq!(
            error(&["-c", "zstd", "img"]),
            "compression \"zstd\" is not known; only lz4"
        );
        assert_eq!(
            error(&["-b", "1k", "img"]),
            "block size: \"1k\" is not a number"
        );
        assert_eq!(
            error(&["-b", "99999999999", "img"]),
            "block size 99999999999 is larger than 4294967295"
        );
        assert_eq!(error(&["img", "10x"]), "size: \"10x\" is not a number");
        assert_eq!(error(&["-v", "img"]), "unknown option \"-v\"");
        assert_eq!(error(&["a", "1", "b"]), "unexpected argument \"b\"");
        assert!(matches!(
            parse_args(args(&["-h"])),
            Err(MkfsError::HelpRequested)
        ));
    }
}
