// SPDX-License-Identifier: GPL-2.0
//! What the kernel may return when it reads a file of a damaged image:
//! the rules of Documentation/toyfs.rst ("What the kernel verifies")
//! applied to the image in userspace.
//!
//! Every pointer on the path to a file block is judged as toyfs judges it
//! before following it: a nonzero pointer names a data block that the
//! bitmap marks in use and that is not an indirect block above it on the
//! path.  A page holding a block whose path breaks a rule must fail to
//! read; any other page must read as exactly the bytes of the blocks its
//! map names (zeros for holes).  Blocks of another file named by a
//! damaged pointer are therefore expected bytes: only a scan of the whole
//! filesystem (fsck) can tell that they are someone else's.

use toyfs_format::bitmap::Bitmap;
use toyfs_format::block_map::{slot_of, MapSlot};
use toyfs_format::block_walk::judge_pointer;
use toyfs_format::constants::{BITMAP_START, INODE_SIZE, SUPERBLOCK_SIZE};
use toyfs_format::le::get_u32;
use toyfs_format::{Geometry, Inode, Superblock};

use crate::error::{Result, ToolError};

/// Bytes of a page of the page cache.
pub const PAGE_SIZE: usize = 4096;

/// A file block as toyfs must see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockView {
    /// Reads as zeros.
    Hole,
    /// Reads as this block's bytes.
    Data(u32),
    /// Its path breaks a rule: the read must fail.
    Bad,
}

/// A page as toyfs must read it.
#[derive(Debug, PartialEq, Eq)]
pub enum PageView {
    /// These bytes (up to the end of the file).
    Bytes(Vec<u8>),
    /// An error.
    Fails,
}

/// A damaged image, as the kernel mounted it.
pub struct Reference {
    bytes: Vec<u8>,
    geometry: Geometry,
    bitmap: Bitmap,
}

impl Reference {
    /// Reads the layout of `bytes`; an error names why no mount could
    /// accept them.
    pub fn new(bytes: Vec<u8>) -> Result<Self> {
        let raw: &[u8; SUPERBLOCK_SIZE] = bytes
            .get(..SUPERBLOCK_SIZE)
            .and_then(|raw| raw.try_into().ok())
            .ok_or_else(|| ToolError("image shorter than a superblock".into()))?;
        let superblock =
            Superblock::decode(raw).map_err(|error| ToolError(format!("superblock: {error}")))?;
        let geometry = superblock.geometry;
        if (bytes.len() as u64) < geometry.byte_size() {
            return Err(ToolError("image smaller than the filesystem".into()));
        }
        let start = geometry.block_offset(BITMAP_START) as usize;
        let len = (geometry.bitmap_blocks() * geometry.block_size()) as usize;
        let bitmap = Bitmap::from_bytes(bytes[start..start + len].to_vec(), geometry.block_count());
        Ok(Self {
            bytes,
            geometry,
            bitmap,
        })
    }

    /// Inode `ino` as stored, if in range.
    pub fn inode(&self, ino: u32) -> Option<Inode> {
        let offset = self.geometry.inode_offset(ino)? as usize;
        let raw: &[u8; INODE_SIZE] = self.bytes[offset..offset + INODE_SIZE].try_into().ok()?;
        Some(Inode::decode(raw))
    }

    fn block(&self, block: u32) -> &[u8] {
        let start = self.geometry.block_offset(block) as usize;
        &self.bytes[start..start + self.geometry.block_size() as usize]
    }

    /// `Ok(pointer)` if toyfs may follow it (0 is a hole).
    fn judge(&self, pointer: u32, above: &[u32]) -> Option<u32> {
        if pointer == 0 {
            return Some(0);
        }
        let followable = judge_pointer(&self.geometry, pointer).is_ok()
            && !above.contains(&pointer)
            && self.bitmap.is_set(pointer);
        followable.then_some(pointer)
    }

    /// Follows entry `index` of indirect block `indirect`.
    fn entry(&self, indirect: u32, index: u32, above: &[u32]) -> Option<u32> {
        self.judge(get_u32(self.block(indirect), 4 * index as usize), above)
    }

    /// File block `file_block` of `inode`.
    pub fn block_view(&self, inode: &Inode, file_block: u64) -> BlockView {
        let Some(slot) = slot_of(file_block, self.geometry.pointers_per_block()) else {
            return BlockView::Hole;
        };
        let found = match slot {
            MapSlot::Direct(index) => self.judge(inode.direct[index], &[]),
            MapSlot::Single(index) => match self.judge(inode.single_indirect, &[]) {
                Some(0) => Some(0),
                Some(single) => self.entry(single, index, &[single]),
                None => None,
            },
            MapSlot::Double { outer, inner } => match self.judge(inode.double_indirect, &[]) {
                Some(0) => Some(0),
                Some(double) => match self.entry(double, outer, &[double]) {
                    Some(0) => Some(0),
                    Some(single) => self.entry(single, inner, &[double, single]),
                    None => None,
                },
                None => None,
            },
        };
        match found {
            None => BlockView::Bad,
            Some(0) => BlockView::Hole,
            Some(block) => BlockView::Data(block),
        }
    }

    /// Page `page` of a file of `inode`, up to its size.
    pub fn page_view(&self, inode: &Inode, page: u64) -> PageView {
        let block_size = self.geometry.block_size() as usize;
        let start = page * PAGE_SIZE as u64;
        let end = inode.size.min(start + PAGE_SIZE as u64);
        let mut bytes = Vec::with_capacity(PAGE_SIZE);
        let mut pos = start;
        while pos < end {
            match self.block_view(inode, pos / block_size as u64) {
                BlockView::Bad => return PageView::Fails,
                BlockView::Hole => bytes.resize(bytes.len() + block_size, 0),
                BlockView::Data(block) => bytes.extend_from_slice(self.block(block)),
            }
            pos += block_size as u64;
        }
        bytes.truncate((end.saturating_sub(start)) as usize);
        PageView::Bytes(bytes)
    }

    /// Whether page `page` of `inode` holds anything but holes.
    pub fn page_has_blocks(&self, inode: &Inode, page: u64) -> bool {
        let per_page = (PAGE_SIZE / self.geometry.block_size() as usize) as u64;
        (page * per_page..(page + 1) * per_page)
            .any(|n| self.block_view(inode, n) != BlockView::Hole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{make_source, Image};
    use crate::named::find;
    use crate::pattern::pattern;

    fn reference_of(image: &Image) -> Reference {
        Reference::new(image.device.bytes().to_vec()).unwrap()
    }

    #[test]
    fn clean_files_read_as_their_pattern() {
        let image = Image::new(make_source().unwrap()).unwrap();
        let reference = reference_of(&image);
        let ino = image.ino("big").unwrap();
        let inode = reference.inode(ino).unwrap();
        assert_eq!(
            reference.page_view(&inode, 0),
            PageView::Bytes(pattern(ino, 0, PAGE_SIZE))
        );
        // File bytes 300 KiB.. are under the double-indirect block.
        let PageView::Bytes(page) = reference.page_view(&inode, 75) else {
            panic!("page 75 of /big must read");
        };
        assert_eq!(page, pattern(ino, 300 * 1024, 2048));
        assert!(!reference.page_has_blocks(&inode, 20));
    }

    #[test]
    fn damaged_paths_fail_and_crosslinks_read_the_other_file() {
        for (name, path, page, expected_fails) in [
            ("indirect_names_itself", "big", 4, true),
            ("indirect_names_its_parent", "big", 68, true),
            ("pointer_to_free_block", "small", 0, true),
            ("used_block_marked_free", "pages", 0, true),
            ("pointer_to_another_files_block", "small", 0, false),
        ] {
            let mut image = Image::new(make_source().unwrap()).unwrap();
            find(name).unwrap().apply(&mut image).unwrap();
            let reference = reference_of(&image);
            let inode = reference.inode(image.ino(path).unwrap()).unwrap();
            let view = reference.page_view(&inode, page);
            assert_eq!(view == PageView::Fails, expected_fails, "{name}");
            if !expected_fails {
                let pages = image.ino("pages").unwrap();
                assert_eq!(view, PageView::Bytes(pattern(pages, 0, 100)), "{name}");
            }
        }
    }
}
