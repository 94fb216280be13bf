// SPDX-License-Identifier: GPL-2.0
//! toyfs-damage: makes, damages and checks toyfs images.
//!
//! ```text
//! toyfs-damage make IMAGE                 the source image (4 MiB)
//! toyfs-damage list                       the named damages
//! toyfs-damage info NAME                  expect=refused|mounts, fsck=WORDS,
//!                                         message=REGEX (kernel log)
//! toyfs-damage apply NAME IMAGE           applies a named damage in place
//! toyfs-damage crosslink IMAGE            /small's first pointer names
//!                                         /big's single-indirect block
//! toyfs-damage flip SOURCE OUT SEED N     image N of SEED from SOURCE
//! toyfs-damage exercise MOUNT IMAGE [NAME]
//! ```
//!
//! `exercise` walks, reads and writes the filesystem mounted at MOUNT,
//! made from IMAGE, and exits 1 naming each violation (see
//! `toyfs_damage::exercise`).  Exit 2 is a usage or operational error.

use std::path::Path;
use std::process::ExitCode;

use toyfs_damage::error::{Result, ToolError};
use toyfs_damage::exercise::exercise;
use toyfs_damage::flip::flip;
use toyfs_damage::image::{Image, Source};
use toyfs_damage::named::{crosslink_small_to_bigs_indirect, find, Expect, DAMAGES};
use toyfs_damage::reference::Reference;
use toyfs_format::MemoryDevice;

const USAGE: &str = "usage: toyfs-damage make IMAGE [plain|fragments] | list [plain|fragments] |
       info NAME | apply NAME IMAGE | crosslink IMAGE | flip SOURCE OUT SEED N |
       exercise MOUNT IMAGE [NAME]";

fn number(arg: &str) -> Result<u64> {
    arg.parse()
        .map_err(|_| ToolError(format!("not a number: {arg:?}")))
}

fn read_image(path: &str) -> Result<MemoryDevice> {
    Ok(MemoryDevice::from_bytes(std::fs::read(path)?))
}

fn run(args: &[&str]) -> Result<bool> {
    match args {
        ["make", image] => std::fs::write(image, Source::Plain.make()?.bytes())?,
        ["make", image, source] => {
            std::fs::write(image, Source::from_name(source)?.make()?.bytes())?
        }
        ["list"] | ["list", _] => {
            let source = match args {
                ["list", name] => Source::from_name(name)?,
                _ => Source::Plain,
            };
            for damage in DAMAGES.iter().filter(|damage| damage.source == source) {
                println!("{}", damage.name);
            }
        }
        ["info", name] => {
            let damage = find(name)?;
            let mounts = damage.expect != Expect::Refused;
            println!("expect={}", if mounts { "mounts" } else { "refused" });
            println!("source={}", damage.source.name());
            println!("fsck={}", damage.fsck_says);
            println!("message={}", damage.message().unwrap_or_default());
        }
        ["apply", name, path] => {
            let mut image = Image::new(read_image(path)?)?;
            let what = find(name)?.apply(&mut image)?;
            std::fs::write(path, image.device.bytes())?;
            println!("{name}: {what}");
        }
        ["crosslink", path] => {
            let mut image = Image::new(read_image(path)?)?;
            let what = crosslink_small_to_bigs_indirect(&mut image)?;
            std::fs::write(path, image.device.bytes())?;
            println!("crosslink: {what}");
        }
        ["flip", source, out, seed, index] => {
            let (image, log) = flip(&read_image(source)?, number(seed)?, number(index)?)?;
            std::fs::write(out, image.bytes())?;
            for line in log {
                println!("seed {seed} image {index}: {line}");
            }
        }
        ["exercise", mount, image, rest @ ..] => {
            let damage = match rest {
                [] => None,
                [name] => Some(find(name)?),
                _ => return Err(ToolError(USAGE.into())),
            };
            let outcome = match Reference::new(std::fs::read(image)?) {
                Ok(reference) => exercise(Path::new(mount), &reference, damage),
                Err(error) => {
                    println!(
                        "violation: the kernel mounted an image no reader may accept: {error}"
                    );
                    return Ok(false);
                }
            };
            for line in &outcome.errors {
                println!("error as documented: {line}");
            }
            for line in &outcome.violations {
                println!("violation: {line}");
            }
            println!(
                "{} files, {} pages as their maps name, {} documented errors, {} violations",
                outcome.files,
                outcome.pages,
                outcome.errors.len(),
                outcome.violations.len()
            );
            return Ok(outcome.violations.is_empty());
        }
        _ => return Err(ToolError(USAGE.into())),
    }
    Ok(true)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("toyfs-damage: {error}");
            ExitCode::from(2)
        }
    }
}
