// SPDX-License-Identifier: GPL-2.0

//! File blocks stored in part of a disk block, with the FRAGMENTS feature
//! (Documentation/toyfs.rst, "Block map" and "Compressed blocks"): a
//! file's last block in the fewest fragments (a *tail*), and blocks
//! compressed with LZ4 in the fewest fragments.
//!
//! The disk block holding them holds other files' fragments too, so they
//! are read through the block device's buffer cache (`sb_bread`), the one
//! place where file bytes sit in a kernel buffer, and reach the file's
//! folio by vm_mvc: a WRITE of the file's bytes (from the buffer, or from
//! the decompressed block), then a ZERO of the rest of the block.  Whole
//! plain blocks keep the bio path of read.rs.

use crate::{
    balloc,
    format::{
        address::Extent,
        compressed::{CompressedError, CompressedHeader, HEADER_SIZE},
    },
    inode::BlockMap,
    meta::corrupt,
    vfs::{
        lz4_compress, lz4_decompress, Buffer, Inode, LockedFolio, NofsScope, SuperBlock,
        COMPRESS_WORDS,
    },
    vm_mvc_client::{KernelBuffer, Op},
};
use core::{ops::Range, sync::atomic::Ordering};
use kernel::{alloc::kvec::PushError, cpu::CpuId, new_mutex, prelude::*, sync::Mutex};

/// What one CPU compresses a block with at writeback: the block read
/// from the folio, the LZ4 block made of it, and the coder's work area.
struct Compressor {
    input: KVec<u8>,
    output: KVec<u8>,
    work: KVec<u64>,
}

/// Buffers that compressed blocks are decompressed into, and compressed
/// in, one of each per possible CPU, allocated at mount: neither the read
/// path nor writeback allocates.
///
/// A buffer is taken by the CPU the reader (writer) runs on, under a
/// mutex rather than with preemption off, because the vm_mvc WRITE from
/// it may sleep (it waits for a folio's stable writes).  A reader moved
/// to another CPU meanwhile keeps the buffer it took; another reader on
/// its first CPU then waits for that buffer.  Readers and writeback take
/// different buffers, each under the lock of its own folio.
pub(crate) struct Scratch {
    buffers: KVec<Pin<KBox<Mutex<KVec<u8>>>>>,
    compressors: KVec<Pin<KBox<Mutex<Compressor>>>>,
}

impl Scratch {
    /// No buffer: for an image without the LZ4 feature.
    pub(crate) fn none() -> Self {
        Self {
            buffers: KVec::new(),
            compressors: KVec::new(),
        }
    }

    /// A buffer of `bytes` bytes (a block) for each possible CPU, and a
    /// compressor for blocks of that size.
    pub(crate) fn new(bytes: usize) -> Result<Self> {
        let cpus = kernel::cpu::nr_cpu_ids() as usize;
        let mut buffers = KVec::with_capacity(cpus, GFP_KERNEL)?;
        let mut compressors = KVec::with_capacity(cpus, GFP_KERNEL)?;
        for _ in 0..cpus {
            let buffer = KVec::from_elem(0u8, bytes, GFP_KERNEL)?;
            buffers.push(KBox::pin_init(new_mutex!(buffer), GFP_KERNEL)?, GFP_KERNEL)?;
            let compressor = Compressor {
                input: KVec::from_elem(0u8, bytes, GFP_KERNEL)?,
                output: KVec::from_elem(0u8, bytes, GFP_KERNEL)?,
                work: KVec::from_elem(0u64, COMPRESS_WORDS, GFP_KERNEL)?,
            };
            compressors.push(
                KBox::pin_init(new_mutex!(compressor), GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
        }
        Ok(Self {
            buffers,
            compressors,
        })
    }

    /// Calls `f` with the buffer of the current CPU, locked.  `EINVAL`
    /// without buffers (no compressed block passes `judge_extent` then).
    fn with<R>(&self, f: impl FnOnce(&mut [u8]) -> Result<R>) -> Result<R> {
        f(&mut of_this_cpu(&self.buffers)?.lock())
    }

    /// Calls `f` with the compressor of the current CPU, locked.
    /// `EINVAL` without compressors (an image without LZ4).
    fn compress_with<R>(&self, f: impl FnOnce(&mut Compressor) -> Result<R>) -> Result<R> {
        f(&mut of_this_cpu(&self.compressors)?.lock())
    }
}

/// The entry of `per_cpu` for the CPU this runs on (the first past the
/// CPUs it has); `EINVAL` if it is empty.
fn of_this_cpu<T>(per_cpu: &[Pin<KBox<Mutex<T>>>]) -> Result<&Mutex<T>> {
    let cpu = CpuId::current().as_u32() as usize;
    per_cpu
        .get(cpu)
        .or(per_cpu.first())
        .map(|entry| &**entry)
        .ok_or(EINVAL)
}

/// Where block `k` of `folio` of `inode` starts in the folio, and how
/// many of its bytes lie inside the file.
fn file_bytes(inode: &Inode, folio: &LockedFolio<'_>, k: usize) -> (usize, usize) {
    let block_size = inode.sb().info().geometry.block_bytes();
    let offset = k * block_size;
    let start = folio.pos() + offset as u64;
    // CAST: at most a block.
    let valid = inode.size().saturating_sub(start).min(block_size as u64) as usize;
    (offset, valid)
}

/// Fills block `k` of the locked `folio` of `inode` (a regular file) from
/// `extent`, a tail or a compressed block: its bytes up to the end of the
/// file by vm_mvc WRITE, then zeros to the end of the block by vm_mvc
/// ZERO.  A compressed block that breaks a rule of the format, or does not
/// decompress to its length, is `EUCLEAN`, with a message, and its block
/// is left as it was.
pub(crate) fn read_packed(
    inode: &Inode,
    folio: &LockedFolio<'_>,
    k: usize,
    extent: &Extent,
) -> Result {
    let sb = inode.sb();
    let buffer = Buffer::read(sb, extent.block(&sb.info().geometry))?;
    read_packed_from(inode, folio, k, extent, &buffer)
}

/// [`read_packed`] from `buffer`, the block device's buffer of the disk
/// block holding `extent`, which the caller read (`Buffer::read`) and may
/// keep for the next packed blocks of that disk block.
pub(crate) fn read_packed_from(
    inode: &Inode,
    folio: &LockedFolio<'_>,
    k: usize,
    extent: &Extent,
    buffer: &Buffer,
) -> Result {
    let sb = inode.sb();
    let geometry = sb.info().geometry;
    let block_size = geometry.block_bytes();
    let (offset, valid) = file_bytes(inode, folio, k);
    let run = extent.offset_in_block(&geometry)
        ..extent.offset_in_block(&geometry) + extent.byte_len(&geometry);
    let filled = if extent.compressed {
        fill_decompressed(inode, folio, offset, valid, buffer, |data| {
            let stored = data.get(run.clone()).ok_or(EINVAL)?;
            let (header, lz4) = CompressedHeader::parse(stored, &geometry)
                .map_err(|error| corrupt(sb, inode.ino(), error.rule()))?;
            let start = run.start + HEADER_SIZE;
            Ok((header, start..start + lz4.len()))
        })?
    } else {
        let data = buffer.lock();
        let stored = data.data().get(run).ok_or(EINVAL)?;
        let len = stored.len().min(valid);
        write_bytes(folio, offset, stored.get(..len).ok_or(EINVAL)?)?;
        len
    };
    if filled < block_size {
        folio.mvc(offset + filled, block_size - filled, Op::Zero.nodirty())?;
    }
    Ok(())
}

/// Decompresses a compressed block in `buffer`, a block device's buffer,
/// into the current CPU's buffer and copies the first `valid` bytes (at
/// most) of it to `offset` of the locked `folio` of `inode` by vm_mvc
/// WRITE; returns the bytes copied.  `locate`, called with the buffer's
/// bytes under its lock, finds the block there: its header, checked, and
/// where its LZ4 data lies.  Data that does not decompress to exactly the
/// header's `length` is `EUCLEAN`, with a message, and the folio is left
/// as it was.  The vm_mvc WRITE, which may sleep, runs without the
/// buffer's lock.
pub(crate) fn fill_decompressed(
    inode: &Inode,
    folio: &LockedFolio<'_>,
    offset: usize,
    valid: usize,
    buffer: &Buffer,
    locate: impl FnOnce(&[u8]) -> Result<(CompressedHeader, Range<usize>)>,
) -> Result<usize> {
    let sb = inode.sb();
    sb.info().scratch.with(|out| {
        let length = {
            let data = buffer.lock();
            let (header, at) = locate(data.data())?;
            let lz4 = data.data().get(at).ok_or(EINVAL)?;
            let length = usize::from(header.length);
            // `parse` checked `length <= B`, the buffer's size; a
            // decoder given exactly `length` bytes fails on data that
            // would make more.
            let out = out.get_mut(..length).ok_or(EINVAL)?;
            if lz4_decompress(lz4, out) != Some(length) {
                return Err(corrupt(sb, inode.ino(), CompressedError::Corrupt.rule()));
            }
            length
        };
        let len = length.min(valid);
        write_bytes(folio, offset, out.get(..len).ok_or(EINVAL)?)?;
        Ok(len)
    })
}

/// Writes block `k` of the locked `folio` of `inode` (a regular file)
/// back to `extent`, a tail: its bytes up to the end of the file go from
/// the folio into the block device's buffer of the run's block by vm_mvc
/// READ, the rest of the run becomes zeros (the format keeps the bytes
/// past the end of the file zero), and the buffer is marked dirty for
/// the file ([`dirty_packed`]): the block device's writeback, or the
/// file's `fsync`, writes it with the other fragments of that block.  A
/// compressed run, or one too
/// short for the file's bytes, cannot hold them plain (`EUCLEAN`): every
/// path that dirties a compressed block gives it a plain run first
/// (`write::unpack`).
pub(crate) fn write_packed(
    inode: &Inode,
    folio: &LockedFolio<'_>,
    k: usize,
    extent: &Extent,
) -> Result {
    let sb = inode.sb();
    let geometry = sb.info().geometry;
    let (offset, valid) = file_bytes(inode, folio, k);
    let len = extent.byte_len(&geometry);
    if extent.compressed || valid > len {
        return Err(corrupt(
            sb,
            inode.ino(),
            "dirty block in a run too short for its bytes",
        ));
    }
    let run = extent.offset_in_block(&geometry)..extent.offset_in_block(&geometry) + len;
    let buffer = Buffer::read(sb, extent.block(&geometry))?;
    {
        // The buffer lock orders this copy with the device's writeback of
        // the buffer (which holds it during the I/O) and with the other
        // files' tails in the same block.
        let mut data = buffer.lock();
        let stored = data.data_mut().get_mut(run).ok_or(EINVAL)?;
        let (bytes, rest) = stored.split_at_mut(valid);
        if !bytes.is_empty() {
            let dest = KernelBuffer::attach(bytes)?;
            folio.mvc(offset, valid, Op::Read { to: &dest, at: 0 }.nodirty())?;
        }
        rest.fill(0);
    }
    dirty_packed(inode, buffer);
    Ok(())
}

/// Marks dirty `buffer`, the block device's buffer of a block into which
/// `inode`'s bytes (its tail, or a compressed block) were just copied,
/// on the inode's own list (`Buffer::mark_dirty_for`: a failed write of
/// it is recorded on the file's mapping, where its `fsync` finds it, as
/// a failed write of its folio would be), and keeps it referenced until
/// the file's `fsync` finds it written (`InodeInfo::packed`): the file's
/// folio is clean from now on and may be freed, and so, without the
/// reference, could the buffer once a failed write left it clean, its
/// bytes and its error then lost, and the disk's older bytes read back.
/// The block holds other files' fragments, and the list is one inode's:
/// a buffer already on another file's list stays there; the `fsync` of
/// the other files writes it again (`Buffer::start_cached`, `EIO` if that
/// fails too), their reference keeping it, bytes and all, in the cache.
///
/// A file with LZ4 has its compressed blocks in several disk blocks:
/// every one of their buffers is kept, not the last alone (review rev9
/// low: the one kept before was let go, and its failed write lost once
/// the cache dropped it).  Those found written already are let go when
/// the list is full, before it grows, so that it holds about the
/// buffers not yet written, whatever the file's size.  Without the
/// memory to keep it, the buffer is written now instead, waiting; if
/// that fails it stays dirty, its bytes in the cache, and the error is
/// recorded on the superblock, where `syncfs` finds it.
fn dirty_packed(inode: &Inode, buffer: Buffer) {
    buffer.mark_dirty_for(inode);
    // `evict_inode` takes `packed`, in reclaim too: the list grows
    // without entering filesystem reclaim.
    let _nofs = NofsScope::enter();
    let mut kept = inode.info().packed.lock();
    if kept.last().is_some_and(|last| last.is_same(&buffer)) {
        return;
    }
    if kept.len() == kept.capacity() {
        kept.retain(|old| !old.is_written());
    }
    if let Err(PushError(buffer)) = push_or_grow(&mut kept, buffer) {
        drop(kept);
        if buffer.write_now().is_err() {
            inode.sb().record_write_error();
        }
    }
}

/// Pushes `buffer` onto `kept`, growing it if need be.
fn push_or_grow(kept: &mut KVec<Buffer>, buffer: Buffer) -> Result<(), PushError<Buffer>> {
    if kept.len() == kept.capacity() && kept.reserve(kept.len().max(4), GFP_KERNEL).is_err() {
        return Err(PushError(buffer));
    }
    kept.push_within_capacity(buffer)
}

/// Writes dirty block `k` (file block `n`) of the locked `folio` of
/// `inode` back compressed, if that saves a fragment, in place of
/// `extent`, the run the map names for it (a whole block, a tail, or a
/// compressed block): its bytes up to the end of the file are READ from
/// the folio by vm_mvc into the CPU's compressor and compressed by
/// `LZ4_compress_default` into at most the fragments that are fewer than
/// the plain block needs and that `extent` holds.  If they fit, the
/// header and the data go into the block device's buffer of their block
/// (zeros to the end of their run): fragments of a block partly in use
/// for a whole block, which is then freed whole, else the first
/// fragments of `extent`, whose rest is freed.  The map names them
/// compressed.  Writeback frees more than it takes and never fails for
/// want of room.  Returns false, having changed nothing, when the block
/// does not shrink by a fragment, or holds the end of a file that is
/// growing (`write::Growth`); it is then written plain.
pub(crate) fn write_compressed(
    inode: &Inode,
    folio: &LockedFolio<'_>,
    k: usize,
    n: u64,
    extent: &Extent,
) -> Result<bool> {
    let sb = inode.sb();
    let geometry = sb.info().geometry;
    let (offset, valid) = file_bytes(inode, folio, k);
    // CAST: at most a block.
    let plain = geometry.fragments_for(valid as u32);
    let room = extent.count.min(plain.saturating_sub(1));
    if valid == 0 || room == 0 {
        return Ok(false);
    }
    // CAST: at most a block.
    let capacity = (room * geometry.fragment_size()) as usize - HEADER_SIZE;
    let length = u16::try_from(valid).map_err(|_| EINVAL)?;
    sb.info().scratch.compress_with(|compressor| {
        let Compressor {
            input,
            output,
            work,
        } = compressor;
        let input = input.get_mut(..valid).ok_or(EINVAL)?;
        {
            let dest = KernelBuffer::attach(input)?;
            folio.mvc(offset, valid, Op::Read { to: &dest, at: 0 }.nodirty())?;
        }
        let output = output.get_mut(..capacity).ok_or(EINVAL)?;
        let Some(len) = lz4_compress(input, output, work) else {
            return Ok(false);
        };
        let header = CompressedHeader {
            compressed_len: u16::try_from(len).map_err(|_| EINVAL)?,
            length,
        };
        let count = geometry.fragments_for(header.stored_len());
        let mut map = BlockMap::lock(inode)?;
        if map.lookup_extent(n)? != Some(*extent) {
            // Not the run the caller found: the map changed under a
            // folio lock it should have held.
            return Err(EAGAIN);
        }
        // The block holding the end of the file while the file grows (or
        // once it grew since `valid` was read): compressed by the old
        // size it would record fewer bytes than the file has there once
        // the size grew; its run holds the bytes of either size, and it
        // is stored plain (`write::Growth`).
        if valid < geometry.block_bytes()
            && (inode.info().growing.load(Ordering::Relaxed) != 0
                || file_bytes(inode, folio, k).1 != valid)
        {
            return Ok(false);
        }
        let block = extent.block(&geometry);
        let whole = extent.is_whole_block(&geometry);
        // A whole block's compressed data goes to a block already partly
        // in use if one has room (as UFS fills its fragmented blocks), so
        // that the whole block is freed whole for the next whole-block
        // write; else, and for a tail, into the first fragments of its
        // run.
        let moved = if whole {
            balloc::take_shared_fragments(sb, block, count)?
        } else {
            None
        };
        let new = Extent {
            compressed: true,
            ..moved.unwrap_or(Extent {
                fragment: extent.fragment,
                count,
                compressed: true,
            })
        };
        // Everything that can fail before the bytes go into the buffer:
        // in place they overwrite the plain run the map still names, so
        // from then on the map must come to name `new` (review rev7: an
        // indirect block read only after them failed, and the plain run
        // read back as LZ4 data).  The slot keeps that indirect block
        // referenced, in the cache, until the pointer is written.
        let stored = BlockMap::check_replacement(extent, &new)
            .and_then(|()| map.pointer_slot(n))
            .and_then(|slot| {
                store_compressed(inode, &new, whole && moved.is_none(), &header, output)?;
                map.replace_run(n, slot, extent, new)
            });
        if let (Err(_), Some(taken)) = (&stored, moved) {
            // Not named by the map: given back.
            if map.lookup_extent(n)? != Some(new) {
                balloc::free_extent(sb, inode.ino(), &taken)?;
            }
        }
        stored?;
        // The map names a run whose bytes are in a dirty buffer: an
        // `fsync` that wrote the file's packed blocks and bitmap before
        // this writes them again before the map (`inode::sync_file`).
        let shift = geometry.block_shift();
        inode.info().note_moved(n << shift..(n + 1) << shift);
        Ok(true)
    })
}

/// Writes the compressed block `header` with the LZ4 data at the start
/// of `data` into run `new` in the block device's buffer of its block,
/// zeros to the end of the run, and marks the buffer dirty for `inode`
/// ([`dirty_packed`]).  `alone`: the block is the file's alone, and its
/// buffer need not be read.
fn store_compressed(
    inode: &Inode,
    new: &Extent,
    alone: bool,
    header: &CompressedHeader,
    data: &[u8],
) -> Result {
    let sb = inode.sb();
    let geometry = sb.info().geometry;
    let block = new.block(&geometry);
    let len = usize::from(header.compressed_len);
    let start = new.offset_in_block(&geometry);
    let run = start..start + new.byte_len(&geometry);
    let stored = data.get(..len).ok_or(EINVAL)?;
    if run.end > geometry.block_bytes() || run.len() < HEADER_SIZE + len {
        return Err(EINVAL);
    }
    // The run: the header, the LZ4 data, zeros to its end (in bounds,
    // checked above).
    let write = |bytes: &mut [u8]| {
        if let Some(run) = bytes.get_mut(run.clone()) {
            header.write(run);
            let (head, rest) = run.split_at_mut(HEADER_SIZE + len);
            if let Some(head) = head.get_mut(HEADER_SIZE..) {
                head.copy_from_slice(stored);
            }
            rest.fill(0);
        }
    };
    let buffer = if alone {
        // Made anew under one hold of its lock (`Buffer::new_block`): no
        // write of the device finds it all zeros.
        Buffer::new_block(sb, block, write)?
    } else {
        let buffer = Buffer::read(sb, block)?;
        write(buffer.lock().data_mut());
        buffer
    };
    dirty_packed(inode, buffer);
    Ok(())
}

/// Zeroes the run `extent` (a new tail of `fallocate`) in the block
/// device's buffer of its block and writes the buffer, waiting: the zeros
/// are on the disk before the map names the run (`inode::Fresh::Zeroed`).
/// The block's other fragments go with it as the cache holds them; a
/// failed write leaves the buffer dirty, kept for them (`Buffer::sync`).
pub(crate) fn zero_fragments_on_disk(sb: &SuperBlock, extent: &Extent) -> Result {
    let geometry = sb.info().geometry;
    let run = extent.offset_in_block(&geometry)
        ..extent.offset_in_block(&geometry) + extent.byte_len(&geometry);
    let buffer = Buffer::read(sb, extent.block(&geometry))?;
    buffer.lock().data_mut().get_mut(run).ok_or(EINVAL)?.fill(0);
    buffer.mark_dirty();
    buffer.sync()
}

/// Copies `bytes` to `offset` of the locked `folio` with vm_mvc WRITE.
pub(crate) fn write_bytes(folio: &LockedFolio<'_>, offset: usize, bytes: &[u8]) -> Result {
    if bytes.is_empty() {
        return Ok(());
    }
    let source = KernelBuffer::source(bytes)?;
    folio.mvc(
        offset,
        bytes.len(),
        Op::Write {
            from: &source,
            at: 0,
        }
        .nodirty(),
    )
}
