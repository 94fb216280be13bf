// SPDX-License-Identifier: GPL-2.0
//! The named damages: one broken rule of Documentation/toyfs.rst each,
//! applied to the source image of [`crate::image`], with what the kernel
//! must do about it and what fsck.toyfs must say.

use toyfs_format::address::Extent;
use toyfs_format::compressed::CompressedHeader;
use toyfs_format::constants::{ROOT_INO, SUPERBLOCK_SIZE};
use toyfs_format::features::FEATURE_PACKED_LZ4;
use toyfs_format::le::{get_u16, get_u32, put_u16, put_u32};
use toyfs_format::superblock::{FEATURES_OFFSET, FRAGMENT_SIZE_OFFSET};
use toyfs_format::tail_block::TailPlace;
use toyfs_format::Inode;

use crate::error::{Result, ToolError};
use crate::image::{many_name, Image, Source, FRAGMENT_BLOCK_SIZE, FRAGMENT_SIZE, INODE_COUNT};

/// What the kernel must do with a damaged image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The mount fails (`EINVAL`, `EUCLEAN` for the root inode) with a
    /// message, having written nothing to the device.
    Refused,
    /// The image mounts; some operation on the path (stat, read,
    /// readdir) fails with `EUCLEAN` or `EIO`.
    Fails(&'static str),
    /// The image mounts; the lookup of the path, a directory named below
    /// itself, fails with the VFS's `ELOOP` before toyfs sees anything.
    VfsLoop(&'static str),
    /// The image mounts and reads; writes that allocate fail with
    /// `EUCLEAN`.
    WriteFails,
    /// Unlinking both names of the inode: the second fails with `EUCLEAN`.
    SecondUnlinkFails(&'static str, &'static str),
    /// Renaming the first path to the second fails with `EUCLEAN` and
    /// changes nothing.
    RenameFails(&'static str, &'static str),
    /// Not detectable without a whole-filesystem scan (fsck's job): the
    /// kernel reads exactly the blocks the damaged maps name.
    Undetected,
}

/// One named damage.
pub struct Damage {
    /// Its name on the command line and in the test report.
    pub name: &'static str,
    /// The source image it damages.
    pub source: Source,
    /// What the kernel must do.
    pub expect: Expect,
    /// Words of fsck.toyfs's report for it.
    pub fsck_says: &'static str,
    apply: fn(&mut Image) -> Result<String>,
}

impl Damage {
    /// A regular expression for the kernel log line the damage must
    /// produce (ratelimited), if any.
    pub fn message(&self) -> Option<&'static str> {
        match self.expect {
            Expect::Refused => Some(
                "toyfs: (not a valid toyfs superblock|device of|the root inode is not a directory)",
            ),
            Expect::Fails(_)
            | Expect::WriteFails
            | Expect::SecondUnlinkFails(..)
            | Expect::RenameFails(..) => Some("toyfs: [a-z0-9]+: corrupted: inode"),
            Expect::VfsLoop(_) => Some("VFS: Lookup of .* would have caused loop"),
            Expect::Undetected => None,
        }
    }

    /// Applies the damage; returns a line saying what changed.
    pub fn apply(&self, image: &mut Image) -> Result<String> {
        (self.apply)(image)
    }
}

/// Finds the damage called `name`.
pub fn find(name: &str) -> Result<&'static Damage> {
    DAMAGES
        .iter()
        .find(|damage| damage.name == name)
        .ok_or_else(|| {
            ToolError(format!(
                "no damage named {name:?} (see `toyfs-damage list`)"
            ))
        })
}

// Superblock offsets (Documentation/toyfs.rst, "Superblock").
const SB_BLOCK_COUNT: usize = 12;
const SB_FREE_BLOCKS: usize = 20;
const SB_FIRST_DATA_BLOCK: usize = 48;
// Directory entry offsets.
const DE_INO: usize = 0;
const DE_REC_LEN: usize = 4;
const DE_NAME: usize = 8;

/// Rewrites the inode of `path` after `edit`, described as `what`.
fn edit_inode_of(
    image: &mut Image,
    path: &str,
    what: String,
    edit: impl FnOnce(&mut Inode),
) -> Result<String> {
    let ino = image.ino(path)?;
    image.edit_inode(ino, edit);
    Ok(format!("/{path} (inode {ino}) {what}"))
}

fn set_direct(image: &mut Image, path: &str, index: usize, block: u32) -> Result<String> {
    let ino = image.ino(path)?;
    image.edit_inode(ino, |inode| inode.direct[index] = block);
    Ok(format!("/{path} (inode {ino}) direct[{index}] = {block}"))
}

/// Sets entry `index` of indirect block `indirect` of `path` to `block`.
fn set_entry(image: &mut Image, path: &str, indirect: u32, index: usize, block: u32) -> String {
    put_u32(image.block_mut(indirect), 4 * index, block);
    format!("/{path}: entry {index} of indirect block {indirect} = {block}")
}

fn single_indirect(image: &Image, path: &str) -> Result<u32> {
    Ok(image.inode(image.ino(path)?).single_indirect)
}

/// The first single-indirect block under the double-indirect block.
fn double_indirect_child(image: &mut Image, path: &str) -> Result<(u32, u32)> {
    let double = image.inode(image.ino(path)?).double_indirect;
    let child = get_u32(image.block_mut(double), 0);
    Ok((double, child))
}

fn edit_entry(
    image: &mut Image,
    dir: &str,
    name: &str,
    edit: impl FnOnce(&mut [u8]),
) -> Result<String> {
    let dir_ino = image.ino(dir)?;
    let offset = image.entry_offset(dir_ino, name)?;
    edit(&mut image.device.bytes_mut()[offset..]);
    Ok(format!("/{dir} (inode {dir_ino}): entry {name}"))
}

fn edit_sb(image: &mut Image, reseal: bool, at: usize, value: u32) -> String {
    image.edit_superblock(reseal, |bytes| put_u32(bytes, at, value));
    format!("superblock offset {at} = {value}, resealed: {reseal}")
}

/// The run holding block `file_block` of `path`.
fn extent(image: &Image, path: &str, file_block: u64) -> Result<Extent> {
    let ino = image.ino(path)?;
    image
        .extent_of(ino, file_block)?
        .ok_or_else(|| ToolError(format!("/{path} block {file_block} is a hole")))
}

/// Points `direct[index]` of `path` at `extent`.
fn set_direct_extent(
    image: &mut Image,
    path: &str,
    index: usize,
    extent: Extent,
) -> Result<String> {
    let raw = image.geometry.encode_pointer(extent);
    let what = set_direct(image, path, index, raw)?;
    Ok(format!("{what} ({extent:?})"))
}

/// Edits the compressed block holding `file_block` of `path`.
fn edit_compressed(
    image: &mut Image,
    path: &str,
    file_block: u64,
    edit: impl FnOnce(&mut [u8]) -> String,
) -> Result<String> {
    let extent = extent(image, path, file_block)?;
    if !extent.compressed {
        return Err(ToolError(format!(
            "/{path} block {file_block} is not compressed"
        )));
    }
    let what = edit(image.run_mut(&extent));
    Ok(format!("/{path} block {file_block} ({extent:?}): {what}"))
}

/// The tail block of the fragment source image (`PACKED_FILES`).
fn tail_block(image: &Image) -> Result<u32> {
    let run = extent(image, "plain/packed-a", 0)?;
    Ok(run.block(&image.geometry))
}

/// The compressed packed tail of `packed-z` in the fragment source image:
/// its tail block, its offset there and its header.
fn compressed_tail(image: &mut Image) -> Result<(u32, usize, CompressedHeader)> {
    let tail_offset = image.inode(image.ino("packed-z")?).tail_offset;
    let place = TailPlace::of(tail_offset);
    if !place.compressed {
        return Err(ToolError(format!(
            "/packed-z's tail offset {tail_offset:#x} names no compressed tail"
        )));
    }
    let block = tail_block(image)?;
    let at = place.offset as usize;
    let bytes = image.block_mut(block);
    let header = CompressedHeader {
        compressed_len: get_u16(bytes, at),
        length: get_u16(bytes, at + 2),
    };
    Ok((block, at, header))
}

/// Every named damage, in the order the guest test runs them (the
/// refused mounts first: their messages share one ratelimit).
pub static DAMAGES: &[Damage] = &[
    Damage {
        name: "bad_magic",
        source: Source::Plain,
        expect: Expect::Refused,
        fsck_says: "bad magic",
        apply: |image| {
            image.edit_superblock(false, |bytes| bytes[..4].copy_from_slice(b"XOYF"));
            Ok("superblock magic = \"XOYF\"".into())
        },
    },
    Damage {
        name: "bad_checksum",
        source: Source::Plain,
        expect: Expect::Refused,
        fsck_says: "superblock checksum",
        apply: |image| {
            let free = get_u32(&image.device.bytes()[..SUPERBLOCK_SIZE], SB_FREE_BLOCKS);
            Ok(edit_sb(image, false, SB_FREE_BLOCKS, free ^ 1))
        },
    },
    Damage {
        name: "layout_field_differs",
        source: Source::Plain,
        expect: Expect::Refused,
        fsck_says: "but the sizes imply",
        apply: |image| {
            let first = image.geometry.first_data_block();
            Ok(edit_sb(image, true, SB_FIRST_DATA_BLOCK, first + 1))
        },
    },
    Damage {
        name: "device_smaller_than_filesystem",
        source: Source::Plain,
        expect: Expect::Refused,
        fsck_says: "the device holds",
        // Twice the blocks: the bitmap still fits one block, so the
        // layout fields stay right and only the device is too small.
        apply: |image| {
            let count = image.geometry.block_count();
            Ok(edit_sb(image, true, SB_BLOCK_COUNT, 2 * count))
        },
    },
    Damage {
        name: "free_count_too_large",
        source: Source::Plain,
        expect: Expect::Refused,
        fsck_says: "that can be free",
        apply: |image| {
            let data = image.geometry.data_block_count();
            Ok(edit_sb(image, true, SB_FREE_BLOCKS, data))
        },
    },
    Damage {
        name: "unknown_feature",
        source: Source::Plain,
        expect: Expect::Refused,
        fsck_says: "this tool does not know",
        // The highest bit: the format gives out the low ones in turn.
        apply: |image| Ok(edit_sb(image, true, FEATURES_OFFSET, 0x8000_0000)),
    },
    Damage {
        name: "root_not_a_directory",
        source: Source::Plain,
        expect: Expect::Refused,
        fsck_says: "not a directory",
        apply: |image| {
            image.edit_inode(ROOT_INO, |inode| inode.mode = 0o100_755);
            Ok(format!("root inode {ROOT_INO}: mode = {:#o}", 0o100_755))
        },
    },
    Damage {
        name: "fragment_size_invalid",
        source: Source::Fragments,
        expect: Expect::Refused,
        fsck_says: "fragment size 3000 is not a power of two",
        apply: |image| Ok(edit_sb(image, true, FRAGMENT_SIZE_OFFSET, 3000)),
    },
    Damage {
        name: "pointer_out_of_range",
        source: Source::Plain,
        expect: Expect::Fails("pages"),
        fsck_says: "past the end of the filesystem",
        apply: |image| {
            let past = image.geometry.block_count() + 5;
            set_direct(image, "pages", 1, past)
        },
    },
    Damage {
        name: "pointer_into_bitmap",
        source: Source::Plain,
        expect: Expect::Fails("small"),
        fsck_says: "points into the superblock, bitmap or inode table",
        apply: |image| set_direct(image, "small", 0, 1),
    },
    Damage {
        name: "pointer_into_inode_table",
        source: Source::Plain,
        expect: Expect::Fails("pages"),
        fsck_says: "points into the superblock, bitmap or inode table",
        apply: |image| {
            let table = image.geometry.inode_table_start();
            set_direct(image, "pages", 2, table)
        },
    },
    Damage {
        name: "indirect_entry_out_of_range",
        source: Source::Plain,
        expect: Expect::Fails("big"),
        fsck_says: "past the end of the filesystem",
        apply: |image| {
            let single = single_indirect(image, "big")?;
            Ok(set_entry(image, "big", single, 0, 0xffff_fff0))
        },
    },
    Damage {
        name: "indirect_entry_into_metadata",
        source: Source::Plain,
        expect: Expect::Fails("big"),
        fsck_says: "points into the superblock, bitmap or inode table",
        apply: |image| {
            let (double, _) = double_indirect_child(image, "big")?;
            let table = image.geometry.inode_table_start();
            Ok(set_entry(image, "big", double, 0, table))
        },
    },
    Damage {
        name: "pointer_to_free_block",
        source: Source::Plain,
        expect: Expect::Fails("small"),
        fsck_says: "but marked free",
        apply: |image| {
            let free = image
                .first_free_block()
                .ok_or_else(|| ToolError("the image has no free block".into()))?;
            set_direct(image, "small", 0, free)
        },
    },
    Damage {
        name: "used_block_marked_free",
        source: Source::Plain,
        expect: Expect::Fails("pages"),
        fsck_says: "but marked free",
        apply: |image| {
            let block = image.block_of(image.ino("pages")?, 0)?;
            image.set_bitmap_bit(block, false);
            Ok(format!(
                "bitmap bit of block {block} (/pages block 0) cleared"
            ))
        },
    },
    Damage {
        name: "pointer_to_another_files_block",
        source: Source::Plain,
        expect: Expect::Undetected,
        fsck_says: "is already used by inode",
        apply: |image| {
            let block = image.block_of(image.ino("pages")?, 0)?;
            set_direct(image, "small", 0, block)
        },
    },
    Damage {
        name: "metadata_bit_clear",
        source: Source::Plain,
        expect: Expect::WriteFails,
        fsck_says: "is marked free in the bitmap",
        apply: |image| {
            let table = image.geometry.inode_table_start();
            image.set_bitmap_bit(table, false);
            Ok(format!("bitmap bit of inode-table block {table} cleared"))
        },
    },
    Damage {
        name: "indirect_names_itself",
        source: Source::Plain,
        expect: Expect::Fails("big"),
        fsck_says: "(loop)",
        // Entry 5 is file block 17, a hole inside the file.
        apply: |image| {
            let single = single_indirect(image, "big")?;
            Ok(set_entry(image, "big", single, 5, single))
        },
    },
    Damage {
        name: "indirect_names_its_parent",
        source: Source::Plain,
        expect: Expect::Fails("big"),
        fsck_says: "(loop)",
        // Entry 5 of the first block under the double-indirect block is
        // file block 273, a hole inside the file.
        apply: |image| {
            let (double, child) = double_indirect_child(image, "big")?;
            Ok(set_entry(image, "big", child, 5, double))
        },
    },
    Damage {
        name: "size_beyond_block_map",
        source: Source::Plain,
        expect: Expect::Fails("small"),
        fsck_says: "larger than the block map can address",
        apply: |image| {
            let size = image.geometry.max_file_size() + 1;
            edit_inode_of(image, "small", format!("size = {size}"), |inode| {
                inode.size = size
            })
        },
    },
    Damage {
        name: "triple_indirect_without_feature",
        source: Source::Plain,
        expect: Expect::Fails("small"),
        fsck_says: "the image lacks the LARGE_FILES feature",
        apply: |image| {
            // The file's own first block, named again as a triple-indirect
            // block, in an image without LARGE_FILES.
            let ino = image.ino("small")?;
            let block = image.inode(ino).direct[0];
            edit_inode_of(
                image,
                "small",
                format!("triple_indirect = {block}"),
                |inode| inode.triple_indirect = block,
            )
        },
    },
    Damage {
        name: "block_past_eof",
        source: Source::Plain,
        expect: Expect::Undetected,
        fsck_says: "at or past the end of the file",
        apply: |image| {
            // Blocks 4096.. of /pages (10,000 bytes) stay, past the end,
            // on an image without PREALLOC.
            edit_inode_of(image, "pages", "size = 4096".into(), |inode| {
                inode.size = 4096
            })
        },
    },
    Damage {
        name: "preallocated_block_not_zero",
        source: Source::Plain,
        expect: Expect::Undetected,
        fsck_says: "past the end of the file, is not zero",
        apply: |image| {
            // With PREALLOC the blocks past the end are allowed, but
            // they hold /pages's old bytes, not zeros.
            let features = get_u32(image.device.bytes(), FEATURES_OFFSET);
            edit_sb(image, true, FEATURES_OFFSET, features | 0x10);
            edit_inode_of(
                image,
                "pages",
                "size = 4096, PREALLOC set".into(),
                |inode| inode.size = 4096,
            )
        },
    },
    Damage {
        name: "directory_size_not_block_multiple",
        source: Source::Plain,
        expect: Expect::Fails("dir"),
        fsck_says: "is not a positive multiple of the block (fragment) size",
        apply: |image| {
            edit_inode_of(image, "dir", "size = 1000".into(), |inode| {
                inode.size = 1000
            })
        },
    },
    Damage {
        name: "directory_size_past_its_blocks",
        source: Source::Plain,
        expect: Expect::Fails("dir/sub"),
        fsck_says: "has a hole at block",
        apply: |image| {
            let size = 3 * u64::from(image.geometry.block_size());
            edit_inode_of(image, "dir/sub", format!("size = {size}"), |inode| {
                inode.size = size
            })
        },
    },
    Damage {
        name: "entry_names_free_inode",
        source: Source::Plain,
        expect: Expect::Fails("dir/nested"),
        fsck_says: "names free inode",
        apply: |image| {
            edit_entry(image, "dir", "nested", |entry| {
                put_u32(entry, DE_INO, INODE_COUNT)
            })
        },
    },
    Damage {
        name: "entry_inode_out_of_range",
        source: Source::Plain,
        expect: Expect::Fails("small"),
        fsck_says: "out of range",
        apply: |image| {
            edit_entry(image, "", "small", |entry| {
                put_u32(entry, DE_INO, INODE_COUNT + 10)
            })
        },
    },
    Damage {
        name: "entry_rec_len_unaligned",
        source: Source::Plain,
        expect: Expect::Fails("many"),
        fsck_says: "is not a multiple of 4",
        apply: |image| {
            edit_entry(image, "many", &many_name(3), |entry| {
                let rec_len = u16::from_le_bytes([entry[DE_REC_LEN], entry[DE_REC_LEN + 1]]);
                put_u16(entry, DE_REC_LEN, rec_len + 2);
            })
        },
    },
    Damage {
        name: "entry_rec_len_past_block",
        source: Source::Plain,
        expect: Expect::Fails("many"),
        fsck_says: "runs past the end of the block",
        apply: |image| {
            edit_entry(image, "many", &many_name(0), |entry| {
                put_u16(entry, DE_REC_LEN, 2048)
            })
        },
    },
    Damage {
        name: "entry_name_with_slash",
        source: Source::Plain,
        expect: Expect::Fails("many"),
        fsck_says: "contains the byte 0x2f",
        apply: |image| edit_entry(image, "many", &many_name(5), |entry| entry[DE_NAME] = b'/'),
    },
    Damage {
        name: "directory_names_its_ancestor",
        source: Source::Plain,
        expect: Expect::VfsLoop("dir/sub/deep"),
        fsck_says: "is named in directory",
        apply: |image| {
            let dir = image.ino("dir")?;
            edit_entry(image, "dir/sub", "deep", |entry| {
                put_u32(entry, DE_INO, dir);
                entry[7] = 2;
            })
        },
    },
    Damage {
        name: "directory_without_dotdot",
        source: Source::Plain,
        expect: Expect::RenameFails("dir/sub", "many/sub"),
        fsck_says: "no \"..\" entry",
        apply: |image| edit_entry(image, "dir/sub", "..", |entry| entry[DE_NAME + 1] = b'x'),
    },
    Damage {
        name: "bad_inode_mode",
        source: Source::Plain,
        expect: Expect::Fails("small"),
        fsck_says: "is not a file type toyfs stores",
        apply: |image| {
            edit_inode_of(
                image,
                "small",
                format!("mode = {:#o}", 0o160_777),
                |inode| inode.mode = 0o160_777,
            )
        },
    },
    Damage {
        name: "symlink_without_feature",
        source: Source::Plain,
        expect: Expect::Fails("small"),
        fsck_says: "lacks the SPECIAL_FILES feature",
        apply: |image| {
            edit_inode_of(
                image,
                "small",
                format!("mode = {:#o}", 0o120_777),
                |inode| inode.mode = 0o120_777,
            )
        },
    },
    Damage {
        name: "device_with_blocks",
        source: Source::Plain,
        expect: Expect::Fails("small"),
        fsck_says: "a FIFO, socket or device has a size, blocks or block pointers",
        apply: |image| {
            image.edit_superblock(true, |bytes| {
                let offset = toyfs_format::superblock::FEATURES_OFFSET;
                let mut word = [0u8; 4];
                word.copy_from_slice(&bytes[offset..offset + 4]);
                let features =
                    u32::from_le_bytes(word) | toyfs_format::features::FEATURE_SPECIAL_FILES;
                bytes[offset..offset + 4].copy_from_slice(&features.to_le_bytes());
            });
            edit_inode_of(
                image,
                "small",
                format!("mode = {:#o}, SPECIAL_FILES set", 0o020_644),
                |inode| inode.mode = 0o020_644,
            )
        },
    },
    Damage {
        name: "zero_link_count",
        source: Source::Plain,
        expect: Expect::Fails("small"),
        fsck_says: "nlink is 0",
        apply: |image| edit_inode_of(image, "small", "nlink = 0".into(), |inode| inode.nlink = 0),
    },
    Damage {
        name: "link_count_too_low",
        source: Source::Plain,
        expect: Expect::SecondUnlinkFails("hardlink", "dir/nested"),
        fsck_says: "nlink is 1, counted 2",
        apply: |image| {
            edit_inode_of(image, "dir/nested", "nlink = 1".into(), |inode| {
                inode.nlink = 1
            })
        },
    },
    Damage {
        name: "blocks_count_too_large",
        source: Source::Plain,
        expect: Expect::Fails("pages"),
        fsck_says: "says 4294967295 blocks",
        apply: |image| {
            edit_inode_of(image, "pages", format!("blocks = {}", u32::MAX), |inode| {
                inode.blocks = u32::MAX
            })
        },
    },
    Damage {
        name: "fragment_run_crosses_block",
        source: Source::Fragments,
        expect: Expect::Fails("small"),
        fsck_says: "crosses a block boundary",
        apply: |image| {
            let run = extent(image, "small", 0)?;
            let last = (run.block(&image.geometry) + 1) * image.geometry.fragments_per_block() - 1;
            let crossing = Extent {
                fragment: last,
                count: 2,
                ..run
            };
            set_direct_extent(image, "small", 0, crossing)
        },
    },
    Damage {
        name: "fragment_owned_twice",
        source: Source::Fragments,
        expect: Expect::Undetected,
        fsck_says: "is already owned by inode",
        apply: |image| {
            let other = extent(image, &format!("many/{}", many_name(0)), 0)?;
            set_direct_extent(image, "small", 0, other)
        },
    },
    Damage {
        name: "fragment_lost",
        source: Source::Fragments,
        expect: Expect::Undetected,
        fsck_says: "no inode owns it (lost)",
        apply: |image| {
            let free = image
                .first_free_block()
                .ok_or_else(|| ToolError("the image has no free fragment".into()))?;
            image.set_bitmap_bit(free, true);
            Ok(format!("bitmap bit of free fragment {free} set"))
        },
    },
    Damage {
        name: "tail_fragment_marked_free",
        source: Source::Fragments,
        expect: Expect::Fails("plain/tail"),
        fsck_says: "but marked free",
        apply: |image| {
            let run = extent(image, "plain/tail", 0)?;
            let fragment = run.fragment + 2;
            image.set_bitmap_bit(fragment, false);
            Ok(format!(
                "bitmap bit of fragment {fragment} (/plain/tail, third of {run:?}) cleared"
            ))
        },
    },
    Damage {
        name: "tail_in_too_few_fragments",
        source: Source::Fragments,
        expect: Expect::Undetected,
        fsck_says: "is stored in 5 fragments, its bytes need 6",
        apply: |image| {
            let run = extent(image, "plain/tail", 0)?;
            let shorter = Extent { count: 5, ..run };
            set_direct_extent(image, "plain/tail", 0, shorter)
        },
    },
    Damage {
        name: "partial_block_before_the_last",
        source: Source::Fragments,
        expect: Expect::Undetected,
        fsck_says: "but only the last block may be partial",
        apply: |image| {
            let run = extent(image, "plain/blocks", 0)?;
            let half = Extent { count: 4, ..run };
            set_direct_extent(image, "plain/blocks", 0, half)
        },
    },
    Damage {
        name: "compressed_length_past_run",
        source: Source::Fragments,
        expect: Expect::Fails("pages"),
        fsck_says: "does not fit its",
        apply: |image| {
            edit_compressed(image, "pages", 0, |run| {
                let past = run.len() as u16 - 3;
                put_u16(run, 0, past);
                format!("compressed_len = {past}")
            })
        },
    },
    Damage {
        name: "compressed_length_zero",
        source: Source::Fragments,
        expect: Expect::Fails("pages"),
        fsck_says: "compressed block of length 0",
        apply: |image| {
            edit_compressed(image, "pages", 1, |run| {
                put_u16(run, 0, 0);
                "compressed_len = 0".into()
            })
        },
    },
    Damage {
        name: "compressed_data_truncated",
        source: Source::Fragments,
        expect: Expect::Fails("pages"),
        fsck_says: "compressed data does not decompress to its length",
        apply: |image| {
            edit_compressed(image, "pages", 0, |run| {
                let shorter = get_u16(run, 0) - 1;
                put_u16(run, 0, shorter);
                format!("compressed_len = {shorter}, one byte short")
            })
        },
    },
    Damage {
        name: "compressed_length_differs",
        source: Source::Fragments,
        expect: Expect::Fails("big"),
        fsck_says: "compressed block of 4000 bytes, the file has 4096 there",
        apply: |image| {
            edit_compressed(image, "big", 13, |run| {
                put_u16(run, 2, 4000);
                "length = 4000".into()
            })
        },
    },
    Damage {
        name: "compressed_directory_block",
        source: Source::Fragments,
        expect: Expect::Fails("dir"),
        fsck_says: "names a compressed directory block",
        apply: |image| {
            let run = extent(image, "dir", 0)?;
            let compressed = Extent {
                compressed: true,
                ..run
            };
            set_direct_extent(image, "dir", 0, compressed)
        },
    },
    Damage {
        name: "indirect_not_whole_block",
        source: Source::Fragments,
        expect: Expect::Fails("big"),
        fsck_says: "names an indirect block that is not a whole plain block",
        apply: |image| {
            let ino = image.ino("big")?;
            let geometry = image.geometry;
            let mut what = String::new();
            image.edit_inode(ino, |inode| {
                let mut run = geometry
                    .decode_pointer(inode.single_indirect)
                    .expect("/big has a single-indirect block");
                run.count = 4;
                inode.single_indirect = geometry.encode_pointer(run);
                what = format!("/big (inode {ino}) single_indirect = {run:?}");
            });
            Ok(what)
        },
    },
    Damage {
        // An inode with a packed tail whose path cannot be followed: the
        // kernel cannot tell which inodes name which tail block
        // (tail_owners.rs), and keeps every tail block whose last tail
        // leaves it (corrupt-tests.sh, tail_owners_unknown_read_once).
        name: "packed_tail_behind_damaged_indirect",
        source: Source::Fragments,
        expect: Expect::Fails("big"),
        fsck_says: "names an indirect block that is not a whole plain block",
        apply: |image| {
            let ino = image.ino("big")?;
            let geometry = image.geometry;
            let mut what = String::new();
            // Its last block is under the double-indirect pointer.
            image.edit_inode(ino, |inode| {
                let mut run = geometry
                    .decode_pointer(inode.double_indirect)
                    .expect("/big has a double-indirect block");
                run.count = 4;
                inode.double_indirect = geometry.encode_pointer(run);
                inode.tail_offset = 8;
                what = format!("/big (inode {ino}) double_indirect = {run:?}, tail_offset = 8");
            });
            Ok(what)
        },
    },
    Damage {
        name: "packed_tail_past_its_block",
        source: Source::Fragments,
        expect: Expect::Fails("plain/packed-b"),
        fsck_says: "tail offset 4000",
        apply: |image| {
            edit_inode_of(
                image,
                "plain/packed-b",
                "tail_offset = 4000".into(),
                |inode| inode.tail_offset = 4000,
            )
        },
    },
    Damage {
        name: "tail_block_without_magic",
        source: Source::Fragments,
        expect: Expect::Fails("plain/packed-a"),
        fsck_says: "tail block without its magic number",
        apply: |image| {
            let block = tail_block(image)?;
            image.block_mut(block)[..4].fill(0);
            Ok(format!("tail block {block}: magic = 0"))
        },
    },
    Damage {
        name: "tail_block_count_too_high",
        source: Source::Fragments,
        expect: Expect::Undetected,
        fsck_says: "says 5 tails, 4 inodes have their tail in it",
        apply: |image| {
            let block = tail_block(image)?;
            put_u32(image.block_mut(block), 4, 5);
            Ok(format!("tail block {block}: tails = 5"))
        },
    },
    Damage {
        name: "tail_block_count_too_low",
        source: Source::Fragments,
        expect: Expect::Undetected,
        fsck_says: "says 3 tails, 4 inodes have their tail in it",
        apply: |image| {
            let block = tail_block(image)?;
            put_u32(image.block_mut(block), 4, 3);
            Ok(format!("tail block {block}: tails = 3"))
        },
    },
    Damage {
        name: "packed_tails_overlap",
        source: Source::Fragments,
        expect: Expect::Undetected,
        fsck_says: "overlap",
        apply: |image| {
            let b = image.inode(image.ino("plain/packed-b")?).tail_offset;
            edit_inode_of(
                image,
                "plain/packed-a",
                format!("tail_offset = {} (inside /plain/packed-b's)", b + 100),
                |inode| inode.tail_offset = b + 100,
            )
        },
    },
    Damage {
        name: "tail_block_named_twice",
        source: Source::Fragments,
        expect: Expect::Undetected,
        fsck_says: "is also named by inode",
        apply: |image| {
            let block = tail_block(image)?;
            let run = Extent {
                fragment: block * (FRAGMENT_BLOCK_SIZE / FRAGMENT_SIZE),
                count: 6,
                compressed: false,
            };
            set_direct_extent(image, "plain/tail", 0, run)
        },
    },
    Damage {
        name: "compressed_tail_corrupt",
        source: Source::Fragments,
        expect: Expect::Fails("packed-z"),
        fsck_says: "packed tail: compressed data does not decompress to its length",
        apply: |image| {
            let (block, at, header) = compressed_tail(image)?;
            let data = at + 4;
            let len = usize::from(header.compressed_len);
            image.block_mut(block)[data..data + len].fill(0xff);
            Ok(format!(
                "tail block {block}: /packed-z's {len} bytes of LZ4 data at {data} = 0xff"
            ))
        },
    },
    Damage {
        name: "compressed_tail_length_differs",
        source: Source::Fragments,
        expect: Expect::Fails("packed-z"),
        fsck_says: "compressed packed tail of another length than the file's",
        apply: |image| {
            let (block, at, header) = compressed_tail(image)?;
            let length = header.length - 1;
            put_u16(image.block_mut(block), at + 2, length);
            Ok(format!(
                "tail block {block}: /packed-z's compressed tail at {at}: length = {length}"
            ))
        },
    },
    Damage {
        name: "compressed_tail_without_feature",
        source: Source::Fragments,
        expect: Expect::Fails("packed-z"),
        fsck_says: "tail offset",
        apply: |image| {
            let features = get_u32(image.device.bytes(), FEATURES_OFFSET) & !FEATURE_PACKED_LZ4;
            Ok(edit_sb(image, true, FEATURES_OFFSET, features))
        },
    },
    Damage {
        name: "compressed_flag_on_directory",
        source: Source::Fragments,
        expect: Expect::Fails("dir"),
        fsck_says: "only compressed (0x4) on a regular file",
        apply: |image| edit_inode_of(image, "dir", "flags = 0x4".into(), |inode| inode.flags = 4),
    },
];

/// Not a named damage (`toyfs-damage crosslink IMAGE`, for one scenario
/// of scripts/guest/corrupt-tests.sh rather than the exercise of every
/// named damage): `/small`'s first pointer names `/big`'s single-indirect
/// block, so that removing `/small` frees a block `/big`'s map still
/// names.
pub fn crosslink_small_to_bigs_indirect(image: &mut Image) -> Result<String> {
    let single = single_indirect(image, "big")?;
    set_direct(image, "small", 0, single)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crosslink_names_bigs_indirect_block_in_small() {
        let mut image = Image::new(Source::Plain.make().unwrap()).unwrap();
        let single = single_indirect(&image, "big").unwrap();
        assert_ne!(single, 0);
        crosslink_small_to_bigs_indirect(&mut image).unwrap();
        let small = image.inode(image.ino("small").unwrap());
        assert_eq!(small.direct[0], single);
        assert_eq!(single_indirect(&image, "big").unwrap(), single);
    }

    #[test]
    fn names_are_unique_and_refusals_come_first() {
        for (index, damage) in DAMAGES.iter().enumerate() {
            assert!(DAMAGES[..index]
                .iter()
                .all(|other| other.name != damage.name));
            if damage.expect == Expect::Refused {
                assert!(DAMAGES[..index]
                    .iter()
                    .all(|other| other.expect == Expect::Refused));
            }
        }
        assert!(find("no_such_damage").is_err());
    }
}
