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

use toyfs_format::address::Extent;
use toyfs_format::bitmap::Bitmap;
use toyfs_format::block_map::{slot_of, MapSlot};
use toyfs_format::compressed::CompressedHeader;
use toyfs_format::constants::{BITMAP_START, INODE_SIZE, SUPERBLOCK_SIZE};
use toyfs_format::inode::FileType;
use toyfs_format::le::get_u32;
use toyfs_format::tail_block::{parse_header, stored_tail, StoredTail, TailPlace};
use toyfs_format::{lz4, Geometry, Inode, Superblock};

use crate::error::{Result, ToolError};

/// Bytes of a page of the page cache.
pub const PAGE_SIZE: usize = 4096;

/// A file block as toyfs must see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockView {
    /// Reads as zeros.
    Hole,
    /// Reads as this block's bytes.
    Data(Extent),
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
        let bitmap = Bitmap::from_bytes(
            bytes[start..start + len].to_vec(),
            geometry.fragment_count(),
        );
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

    /// The run `pointer` names if toyfs may follow it; `Some(None)` for
    /// a hole.  `indirect`: it names an indirect block, which must be a
    /// whole plain block; `directory`: a directory's block, never
    /// compressed.
    fn judge(
        &self,
        pointer: u32,
        above: &[u32],
        indirect: bool,
        directory: bool,
    ) -> Option<Option<Extent>> {
        let Some(extent) = self.geometry.decode_pointer(pointer) else {
            return Some(None);
        };
        let followable = self.geometry.judge_extent(&extent).is_ok()
            && (!indirect || extent.is_whole_block(&self.geometry))
            && !(directory && extent.compressed)
            && !above.contains(&extent.block(&self.geometry))
            && extent
                .fragments()
                .all(|fragment| self.bitmap.is_set(fragment));
        followable.then_some(Some(extent))
    }

    /// The indirect block `pointer` names, judged; 0 for a hole.
    fn indirect(&self, pointer: u32, above: &[u32]) -> Option<u32> {
        Some(
            self.judge(pointer, above, true, false)?
                .map_or(0, |extent| extent.block(&self.geometry)),
        )
    }

    /// Entry `index` of indirect block `indirect`.
    fn entry(&self, indirect: u32, index: u32) -> u32 {
        get_u32(self.block(indirect), 4 * index as usize)
    }

    /// What toyfs finds for block `file_block` of `inode`.
    pub fn block_view(&self, inode: &Inode, file_block: u64) -> BlockView {
        let Some(slot) = slot_of(file_block, self.geometry.pointers_per_block()) else {
            return BlockView::Hole;
        };
        let directory = inode.file_type() == Some(FileType::Directory);
        let data = |pointer, above: &[u32]| self.judge(pointer, above, false, directory);
        let found = match slot {
            MapSlot::Direct(index) => data(inode.direct[index], &[]),
            MapSlot::Single(index) => match self.indirect(inode.single_indirect, &[]) {
                Some(0) => Some(None),
                Some(single) => data(self.entry(single, index), &[single]),
                None => None,
            },
            MapSlot::Double { outer, inner } => match self.indirect(inode.double_indirect, &[]) {
                Some(0) => Some(None),
                Some(double) => match self.indirect(self.entry(double, outer), &[double]) {
                    Some(0) => Some(None),
                    Some(single) => data(self.entry(single, inner), &[double, single]),
                    None => None,
                },
                None => None,
            },
            MapSlot::Triple {
                outer,
                middle,
                inner,
            } => match self.indirect(inode.triple_indirect, &[]) {
                Some(0) => Some(None),
                Some(triple) => match self.indirect(self.entry(triple, outer), &[triple]) {
                    Some(0) => Some(None),
                    Some(double) => {
                        match self.indirect(self.entry(double, middle), &[triple, double]) {
                            Some(0) => Some(None),
                            Some(single) => {
                                data(self.entry(single, inner), &[triple, double, single])
                            }
                            None => None,
                        }
                    }
                    None => None,
                },
                None => None,
            },
        };
        match found {
            None => BlockView::Bad,
            Some(None) => BlockView::Hole,
            Some(Some(extent)) => BlockView::Data(extent),
        }
    }

    /// The `B` bytes toyfs reads for a run: a plain run and zeros after
    /// it, or a compressed block decompressed and zeros after it; `None`
    /// when the compressed block is damaged.
    fn block_bytes(&self, extent: &Extent) -> Option<Vec<u8>> {
        let start = extent.byte_offset(&self.geometry) as usize;
        let run = &self.bytes[start..start + extent.byte_len(&self.geometry)];
        let mut bytes = if extent.compressed {
            let (header, data) = CompressedHeader::parse(run, &self.geometry).ok()?;
            lz4::decompress(data, usize::from(header.length)).ok()?
        } else {
            run.to_vec()
        };
        bytes.resize(self.geometry.block_bytes(), 0);
        Some(bytes)
    }

    /// The `B` bytes toyfs reads for the block of `inode` holding byte
    /// `pos`, stored in `extent`: [`Self::block_bytes`], or for the last
    /// block of a file with a packed tail (PACKED_TAILS) the file's bytes
    /// at its tail offset of the tail block (decompressed, a compressed
    /// one) and zeros after them; `None`
    /// when the pointer names no whole plain block or the tail block's
    /// header is damaged, which toyfs refuses.
    fn file_block_bytes(&self, inode: &Inode, pos: u64, extent: &Extent) -> Option<Vec<u8>> {
        let geometry = &self.geometry;
        let packed = inode.tail_offset != 0
            && geometry.has_packed_tails()
            && geometry.block_of(pos) == geometry.block_of(inode.size);
        if !packed {
            return self.block_bytes(extent);
        }
        if !extent.is_whole_block(geometry) || extent.compressed {
            return None;
        }
        let block = self.block(extent.block(geometry));
        parse_header(block, geometry).ok()?;
        // CAST: below a block.
        let len = geometry.offset_in_block(inode.size) as u32;
        let place = TailPlace::of(inode.tail_offset);
        let mut bytes = match stored_tail(block, geometry, place, len).ok()? {
            StoredTail::Plain(bytes) => bytes.to_vec(),
            StoredTail::Compressed(header, data) => {
                lz4::decompress(data, usize::from(header.length)).ok()?
            }
        };
        bytes.resize(geometry.block_bytes(), 0);
        Some(bytes)
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
                BlockView::Data(extent) => match self.file_block_bytes(inode, pos, &extent) {
                    Some(block) => bytes.extend_from_slice(&block),
                    None => return PageView::Fails,
                },
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

    #[test]
    fn fragment_files_read_as_their_pattern_whether_compressed_or_plain() {
        use crate::image::{make_fragment_source, FRAGMENT_FILES};
        let image = Image::new(make_fragment_source().unwrap()).unwrap();
        let reference = reference_of(&image);
        let mut compressed = 0;
        for &(path, ranges, _) in FRAGMENT_FILES {
            let ino = image.ino(path).unwrap();
            let inode = reference.inode(ino).unwrap();
            for &(start, end) in ranges {
                for page in start / PAGE_SIZE as u64..end.div_ceil(PAGE_SIZE as u64) {
                    let PageView::Bytes(bytes) = reference.page_view(&inode, page) else {
                        panic!("/{path} page {page} must read");
                    };
                    let from = start.max(page * PAGE_SIZE as u64);
                    let to = end.min((page + 1) * PAGE_SIZE as u64);
                    let at = (from - page * PAGE_SIZE as u64) as usize;
                    assert_eq!(
                        bytes[at..at + (to - from) as usize],
                        pattern(ino, from, (to - from) as usize),
                        "/{path} page {page}"
                    );
                }
                for file_block in start / 4096..end.div_ceil(4096) {
                    if let BlockView::Data(extent) = reference.block_view(&inode, file_block) {
                        compressed += usize::from(extent.compressed);
                    }
                }
            }
        }
        assert!(compressed >= 10, "only {compressed} compressed blocks");
    }

    #[test]
    fn damaged_compressed_blocks_and_runs_fail() {
        for (name, path, page) in [
            ("compressed_length_past_run", "pages", 0),
            ("compressed_length_zero", "pages", 1),
            ("compressed_data_truncated", "pages", 0),
            ("compressed_length_differs", "big", 13),
            ("fragment_run_crosses_block", "small", 0),
            ("tail_fragment_marked_free", "plain/tail", 0),
            ("indirect_not_whole_block", "big", 12),
        ] {
            let damage = find(name).unwrap();
            let mut image = Image::new(damage.source.make().unwrap()).unwrap();
            damage.apply(&mut image).unwrap();
            let reference = reference_of(&image);
            let inode = reference.inode(image.ino(path).unwrap()).unwrap();
            assert_eq!(reference.page_view(&inode, page), PageView::Fails, "{name}");
        }
    }
}
