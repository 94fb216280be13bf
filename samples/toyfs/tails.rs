// SPDX-License-Identifier: GPL-2.0

//! Packed tails, with the PACKED_TAILS feature (Documentation/toyfs.rst,
//! "Packed tails"): a file's last block stored at a byte offset of a tail
//! block that holds other files' tails too (format/tail_block.rs), as
//! `mkfs.toyfs -p` packs them.
//!
//! The kernel reads a packed tail in place, through the block device's
//! buffer cache as any tail: a vm_mvc WRITE of the file's bytes from the
//! tail block's buffer into the folio (with PACKED_LZ4, of a compressed
//! tail: from the CPU's buffer it is decompressed into, as a compressed
//! block), then a ZERO of the rest of the block ([`read_tail_from`]).  It
//! never packs one, and never changes one in place: before the file can
//! change (it is opened for writing, or grows), [`unpack`] moves the
//! tail (decompressed, a compressed one) into a run of the fewest
//! fragments of the file's own, the way a tail grows into a new run,
//! after which every path of the file is the one it always was.  A
//! truncation takes no room ([`cut`]): one to before the tail's block
//! lets go of it, one into a plain tail leaves it where it is, shorter;
//! only a compressed tail cut into is moved first.  A file
//! freed with its tail packed lets go of it ([`release`]).  The tail
//! block's count of tails drops by one each time; the block is freed
//! with its last tail.

use crate::{
    balloc,
    format::{
        compressed::{CompressedError, HEADER_SIZE},
        tail_block::{parse_header, put_header, stored_tail, StoredTail, TailPlace},
    },
    inode::{BlockMap, OldPath, Run},
    meta::{corrupt, report_left_for_fsck},
    packed::{fill_decompressed, write_bytes},
    tail_owners,
    vfs::{
        clean_bdev_aliases, forget_bdev_aliases, lz4_decompress, with_folio, Buffer, Inode,
        LockedFolio, NofsScope, SuperBlock,
    },
    vm_mvc_client::Op,
};
use kernel::prelude::*;

/// The rule a packed tail breaks when its last pointer is a hole or names
/// no whole plain block.
pub(crate) const TAIL_NOT_IN_BLOCK: &str = "packed tail not in a whole plain block";

/// Fills block `k` of the locked `folio` of `inode` from its packed tail
/// at `place` of `buffer`, the tail block's buffer (read by the caller,
/// who may keep it for other tails of that block): the file's bytes in
/// that block (`size % B`, which `iget` checked fit the block from the
/// offset) by vm_mvc WRITE, then zeros to the end of the block.  A
/// compressed tail (PACKED_LZ4) is decompressed into the CPU's buffer
/// first, and its bytes go from there (`packed::fill_decompressed`).  A
/// tail block whose header breaks a rule (no magic number, a count of
/// 0), or a compressed tail that does (`tail_block::stored_tail`: its
/// header, its length, past the block) or does not decompress to the
/// file's bytes, is `EUCLEAN`, with a message, and the block is left as
/// it was.
pub(crate) fn read_tail_from(
    inode: &Inode,
    folio: &LockedFolio<'_>,
    k: usize,
    place: TailPlace,
    buffer: &Buffer,
) -> Result {
    let sb = inode.sb();
    let geometry = sb.info().geometry;
    let block_size = geometry.block_bytes();
    let at = k * block_size;
    let start = folio.pos() + at as u64;
    // CAST: at most a block.
    let valid = inode.size().saturating_sub(start).min(block_size as u64) as usize;
    // Where the tail is in the block, checked under the buffer's lock.
    let locate = |data: &[u8]| {
        parse_header(data, &geometry).map_err(|error| corrupt(sb, inode.ino(), error.rule()))?;
        // CAST: at most a block.
        stored_tail(data, &geometry, place, valid as u32)
            .map_err(|error| corrupt(sb, inode.ino(), error.rule()))
            .map(|stored| match stored {
                StoredTail::Plain(_) => (None, place.offset as usize),
                StoredTail::Compressed(header, _) => {
                    (Some(header), place.offset as usize + HEADER_SIZE)
                }
            })
    };
    let filled = if place.compressed {
        fill_decompressed(inode, folio, at, valid, buffer, |data| {
            match locate(data)? {
                (Some(header), from) => {
                    Ok((header, from..from + usize::from(header.compressed_len)))
                }
                (None, _) => Err(EINVAL),
            }
        })?
    } else {
        let data = buffer.lock();
        let (_, from) = locate(data.data())?;
        write_bytes(
            folio,
            at,
            data.data().get(from..from + valid).ok_or(EINVAL)?,
        )?;
        valid
    };
    if filled < block_size {
        folio.mvc(at + filled, block_size - filled, Op::Zero.nodirty())?;
    }
    Ok(())
}

/// Moves the packed tail of `inode`, if it has one, into a run of the
/// fewest fragments of its own, before the file changes: `open` for
/// writing (without `O_TRUNC`) and `setattr` of the size (up, or into a
/// compressed tail) call it, under the inode's lock and
/// its `invalidate_lock`.  Under the lock of the tail's folio (read
/// first, so that no read of the tail from its old place is under way or
/// starts): the tail block's header is checked (`EUCLEAN`, nothing
/// changed), the run is taken (`ENOSPC`, nothing changed), the tail's
/// bytes are copied into it through the buffer cache and written, so are
/// the bitmap blocks that call it used, and the map names the run (a
/// pointer in an indirect block by copies of the indirect blocks on its
/// path, written first: `BlockMap::unpacked_tail`).  Then, the folio
/// unlocked (`write_inode` writes the file's moved blocks' folios first
/// while it holds runs, and locks them), the inode is written, which
/// switches the file on the disk from the tail to the run at once; only
/// then does the tail leave its tail block ([`drop_tail`]) and the old
/// path go.  A crash at any point leaves the file's bytes where the
/// inode on the disk says, at worst with a run, a path or a tail block's
/// count that fsck reports as leaked.  If the inode cannot be written,
/// the tail block keeps the count and the old path stays (the inode on
/// the disk still names them) and the error is returned.
///
/// Once the inode is on the disk the call's effect is done: the tail
/// block's count that cannot drop (the block unreadable, its header
/// damaged) or an old path that cannot be freed is left for fsck (a
/// leak), reported with a message (ratelimited) and on the superblock
/// (`s_wb_err`, which `syncfs` returns), and the call succeeds: failing
/// it would tell the caller (`open`, `truncate`) that the file did not
/// change, when it did (review rev10).
pub(crate) fn unpack(inode: &Inode) -> Result {
    let sb = inode.sb();
    let geometry = sb.info().geometry;
    if !geometry.has_packed_tails() || BlockMap::lock(inode)?.packed_tail().is_none() {
        return Ok(());
    }
    let size = inode.size();
    let n = geometry.block_of(size);
    // The tail block and the old path, once the map names the run.
    let mut moved = None;
    with_folio(inode, size - geometry.offset_in_block(size), |_folio| {
        // The folio and the map (which writeback takes) are locked: no
        // allocation below enters filesystem reclaim.
        let _nofs = NofsScope::enter();
        let mut map = BlockMap::lock(inode)?;
        if map.packed_tail() != Some(n) {
            return Ok(());
        }
        let Run::Tail { block, place } = map.lookup_run(n, 1)? else {
            return Err(corrupt(sb, inode.ino(), TAIL_NOT_IN_BLOCK));
        };
        let old = Buffer::read(sb, block)?;
        // CAST: below a block.
        let len = geometry.offset_in_block(size) as usize;
        let mut bytes = KVec::from_elem(0u8, len, GFP_KERNEL)?;
        {
            let data = old.lock();
            parse_header(data.data(), &geometry)
                .map_err(|error| corrupt(sb, inode.ino(), error.rule()))?;
            // CAST: below a block.
            match stored_tail(data.data(), &geometry, place, len as u32)
                .map_err(|error| corrupt(sb, inode.ino(), error.rule()))?
            {
                StoredTail::Plain(tail) => bytes.copy_from_slice(tail),
                // Decompressed: the run holds the file's bytes plain,
                // and writeback compresses them again if they shrink.
                StoredTail::Compressed(_, lz4) => {
                    if lz4_decompress(lz4, &mut bytes) != Some(len) {
                        return Err(corrupt(sb, inode.ino(), CompressedError::Corrupt.rule()));
                    }
                }
            }
        }
        // CAST: below a block.
        let want = geometry.fragments_for(len as u32);
        let mut reservation = balloc::reserve(sb, want)?;
        let new = if want == geometry.fragments_per_block() {
            let (whole, _) = reservation.take_run(block, 1)?;
            geometry.whole_block(whole)
        } else {
            reservation.take_fragments(block, want)?
        };
        let changed = reservation.changed();
        drop(reservation);
        let new_block = new.block(&geometry);
        let whole = new.is_whole_block(&geometry);
        let written = (|| {
            // A whole block is the tail's bytes and zeros; fragments
            // share their block's buffer with other files' tails.
            let buffer = if whole {
                Buffer::new_block_from(sb, new_block, &bytes)?
            } else {
                let buffer = Buffer::read(sb, new_block)?;
                {
                    let mut data = buffer.lock();
                    let start = new.offset_in_block(&geometry);
                    let run = data
                        .data_mut()
                        .get_mut(start..start + new.byte_len(&geometry))
                        .ok_or(EINVAL)?;
                    run.fill(0);
                    run[..len].copy_from_slice(&bytes);
                }
                buffer
            };
            buffer.mark_dirty();
            buffer.sync()
        })()
        // The bitmap blocks that call the run used reach the disk before
        // the inode that names it (below): toyfs refuses a pointer to a
        // block the bitmap calls free, so a crash between the inode's
        // write and theirs (the device's writeback comes up to 30 s
        // later) left the file unreadable (review rev10, F1).
        .and_then(|()| crate::inode::write_bitmap_blocks(sb, changed).0);
        if let Err(err) = written {
            // Nothing names the run yet.
            let _ = balloc::free_extent(sb, inode.ino(), &new);
            return Err(err);
        }
        if whole {
            // Written by bio from the folio from now on (as
            // `BlockMap::set_run` leaves a new whole block).
            forget_bdev_aliases(sb, new_block, 1);
        }
        let old_path = match map.unpacked_tail(n, new, changed) {
            Ok(old_path) => old_path,
            Err(err) => {
                // The map does not name the run (an indirect block could
                // not be read, copied or written): the tail stays packed.
                let _ = balloc::free_extent(sb, inode.ino(), &new);
                return Err(err);
            }
        };
        moved = Some((block, old_path));
        Ok(())
    })?;
    let Some((block, old_path)) = moved else {
        return Ok(());
    };
    // With the folio unlocked: while the file holds runs moved out of
    // its map (`InodeInfo::deferred`), `write_inode` writes and waits for
    // the file's moved blocks' folios before the map, which locks them
    // (review 2026-12-07: called under the tail's folio lock, it could
    // wait for that lock itself).  The caller's inode lock and
    // `invalidate_lock` keep every change of the file out meanwhile;
    // reads find the run in the map, its bytes written above.
    crate::inode::write_inode_waited(inode, crate::inode::Moves::Stopped)?;
    let_go_of_old_place(inode, block, &old_path, "packed tail moved");
    Ok(())
}

/// Whether `inode` has a packed tail: without PACKED_TAILS never, and a
/// file found without one never gets one (the kernel never packs), so
/// that a `false` holds from then on without the inode's locks.  A map
/// that cannot be locked counts as having one: the caller's locked path
/// then finds out.
pub(crate) fn has_packed_tail(inode: &Inode) -> bool {
    inode.sb().info().geometry.has_packed_tails()
        && BlockMap::lock(inode).map_or(true, |map| map.packed_tail().is_some())
}

/// What a truncation of a file down to a smaller size does with the
/// file's packed tail ([`cut`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// No packed tail: the truncation as for any file.
    NoTail,
    /// The new size ends inside the tail, stored plain: the tail stays
    /// where it is, its first `size % B` bytes the file's last block (the
    /// rest of its bytes, past the end of the file, are read by nobody).
    InPlace,
    /// The new size ends inside the tail, stored compressed: it must
    /// leave its tail block first ([`unpack`], which takes room).
    Unpack,
    /// The new size ends before the tail's block: the tail goes whole
    /// (file block `n`, in tail block `block`), with nothing moved.
    Off {
        /// The tail's file block.
        n: u64,
        /// Its tail block.
        block: u32,
    },
}

/// What a truncation of `inode` down to `size` (below its size) does
/// with its packed tail, under the inode's lock and its
/// `invalidate_lock`: [`Cut`].  Freeing never takes room (review rev10:
/// every truncation moved the tail to fragments of its own first, and
/// on a full image `open(O_TRUNC)` and `truncate(2)` to 0 failed with
/// `ENOSPC`); only a compressed tail that keeps some of its bytes is
/// moved first.
pub(crate) fn cut(inode: &Inode, size: u64) -> Result<Cut> {
    let sb = inode.sb();
    let geometry = sb.info().geometry;
    if !geometry.has_packed_tails() {
        return Ok(Cut::NoTail);
    }
    let map = BlockMap::lock(inode)?;
    let Some(n) = map.packed_tail() else {
        return Ok(Cut::NoTail);
    };
    let Run::Tail { block, place } = map.lookup_run(n, 1)? else {
        return Err(corrupt(sb, inode.ino(), TAIL_NOT_IN_BLOCK));
    };
    Ok(if size <= n << geometry.block_shift() {
        Cut::Off { n, block }
    } else if place.compressed {
        Cut::Unpack
    } else {
        Cut::InPlace
    })
}

/// After a truncation cut the packed tail in tail block `block` off
/// `inode` (`Cut::Off`; the map names a hole there since, a pointer in
/// an indirect block by copies of its path, `BlockMap::cut_tail`, and
/// the file its new size): the file's own metadata buffers (those copies
/// as the truncation left them) and the inode are written, waiting, and
/// only then does the tail leave its tail block ([`drop_tail`]), which
/// may free it for another file, and the old path (`old_path`) go: the
/// inode's one write switches the disk from the tail to the hole, a
/// crash before leaves the file as it was, its tail in the block, and
/// none after leaves a pointer on the disk to the block.  If a write
/// fails, the tail block keeps the count and the old path stays (the
/// disk may still name them; fsck reports them) and the error is
/// returned; once the inode is on the disk the truncation is done, and
/// what cannot be let go of is left for fsck, reported as [`unpack`]
/// does.
pub(crate) fn cut_off(inode: &Inode, block: u32, old_path: &OldPath) -> Result {
    inode.sync_own_buffers()?;
    crate::inode::write_inode_waited(inode, crate::inode::Moves::Stopped)?;
    let_go_of_old_place(inode, block, old_path, "packed tail cut off");
    Ok(())
}

/// Once the inode on the disk no longer names the packed tail of `inode`
/// in tail block `block` (`what`: moved, cut off), the tail leaves that
/// block ([`drop_tail`]) and the indirect blocks of `old_path` are
/// freed.  What cannot be let go of (the tail block unreadable, its
/// header damaged) is left for fsck (a leak), reported with a message
/// and on the superblock (`s_wb_err`, which `syncfs` returns) as the
/// error it is, `EIO` or `EUCLEAN`: the call that moved or cut the tail
/// did what it was asked.  A tail block kept because another inode
/// names it ([`TailBlock::Kept`]) leaves nothing for fsck: its message
/// says so, and the superblock records nothing.
fn let_go_of_old_place(inode: &Inode, block: u32, old_path: &OldPath, what: &str) {
    let sb = inode.sb();
    // Both, whatever the first gives.
    let dropped = drop_tail(sb, inode.ino(), block).map(|_| ());
    let freed = BlockMap::lock(inode).and_then(|mut map| map.free_old_path(old_path));
    let left = dropped.and(freed);
    if let Err(err) = left {
        let left = "its tail block's count or old indirect blocks";
        report_left_for_fsck(sb, inode.ino(), what, left, err);
        sb.record_error(err);
    }
}

/// Lets go of the packed tail of `inode`, if it has one, as the file is
/// freed (`delete_inode`, before its blocks): the map names a hole
/// there, the inode so changed is stored into its slot (not waited for:
/// `inode::store_unwaited`, which `tail_owners` reads), and the tail
/// leaves its tail block ([`drop_tail`]).  A tail block kept because
/// another inode names it is no error here: the tail left it, and its
/// message is given.
pub(crate) fn release(inode: &Inode) -> Result {
    let sb = inode.sb();
    let mut map = BlockMap::lock(inode)?;
    let Some(n) = map.packed_tail() else {
        return Ok(());
    };
    let Run::Tail { block, .. } = map.lookup_run(n, 1)? else {
        return Err(corrupt(sb, inode.ino(), TAIL_NOT_IN_BLOCK));
    };
    map.released_tail(n)?;
    drop(map);
    crate::inode::store_unwaited(inode)?;
    drop_tail(sb, inode.ino(), block).map(|_| ())
}

/// The rule a tail block breaks when its count of tails is down to the
/// last while another inode still names it with a packed tail.
const COUNT_TOO_LOW: &str = "tail block's count of tails below the inodes naming it";

/// What became of a tail block when one of its tails left it
/// ([`drop_tail`]).
pub(crate) enum TailBlock {
    /// Its count dropped by one, or it was freed with its last tail, or
    /// it was freed already (the tail was one beyond its count).
    LetGo,
    /// Its count said the tail was the last, but another inode still
    /// names the block with its packed tail (the count was too low,
    /// reported as [`COUNT_TOO_LOW`]): the block stays allocated, its
    /// count 1, for the last inode naming it to free.
    Kept,
}

/// One tail of inode `ino` has left tail block `block`: its count of
/// tails drops by one, under the buffer's lock, and the block is freed
/// when that was the last, its cached copy dropped first (a dirty one
/// must not be written over what the block holds next).  A header that
/// breaks a rule is `EUCLEAN` and leaves the block as it is (fsck reports
/// its count).
///
/// The header carries no more than the count (the bytes no tail holds
/// are unspecified), so a count lowered by damage cannot be seen in the
/// block: before the last tail frees it, toyfs looks for another inode
/// whose packed tail it still holds (`tail_owners`, which reads the
/// inode table once a mount; `ino` is forgotten there first).  One found
/// is damage (`EUCLEAN`'s message, naming the block and the inode), and
/// the block is kept as it is, its count 1 ([`TailBlock::Kept`]): the
/// last of the inodes that name it frees it (review: a block freed while
/// other inodes named their tails in it could be given to another file,
/// cross-linked).  Owners that cannot be read are an error, and the
/// block is kept for fsck.
///
/// The pairs are held ([`tail_owners::hold`]) from before `ino` is
/// forgotten until the block is freed or kept, so the tails of one block
/// leave it one after the other: two last tails of a block counted 1
/// (damage) that left it at once each forgot their own pair, then both
/// found no other owner and both freed the block (the second free
/// `EUCLEAN`, "block freed twice", or another file's block if it had been
/// given to one in between).  A tail whose inode was stored without it
/// before the pairs were read, and which leaves its block only after the
/// block's last counted tail freed it (the count too low, and the pairs
/// missing it), finds the block among those freed
/// ([`tail_owners::Held::freed`]) and leaves it alone: the block is free
/// (or another file's), named by no inode; the damage gets its message.
fn drop_tail(sb: &SuperBlock, ino: u32, block: u32) -> Result<TailBlock> {
    let geometry = sb.info().geometry;
    let mut owners = tail_owners::hold(sb);
    // Before the count drops: a tail that finds the count at its last
    // finds every other tail that left the block forgotten.
    owners.forget(ino, block);
    if owners.freed(block) {
        if sb.info().errors.allow(sb.id_cstr()) {
            pr_err!(
                "{}: corrupted: inode {}: {}: tail block {} freed already, by its last counted tail\n",
                sb.id(),
                ino,
                COUNT_TOO_LOW,
                block
            );
        }
        return Ok(TailBlock::LetGo);
    }
    let buffer = Buffer::read(sb, block)?;
    let last = {
        let mut data = buffer.lock();
        let tails =
            parse_header(data.data(), &geometry).map_err(|error| corrupt(sb, ino, error.rule()))?;
        if tails > 1 {
            put_header(data.data_mut(), tails - 1);
        }
        tails == 1
    };
    if !last {
        buffer.mark_dirty();
        return Ok(TailBlock::LetGo);
    }
    if let Some(other) = owners.other_owner(ino, block)? {
        if sb.info().errors.allow(sb.id_cstr()) {
            pr_err!(
                "{}: corrupted: inode {}: {}: tail block {} kept, inode {} names it\n",
                sb.id(),
                ino,
                COUNT_TOO_LOW,
                block,
                other
            );
        }
        return Ok(TailBlock::Kept);
    }
    owners.record_freed(block)?;
    drop(buffer);
    clean_bdev_aliases(sb, block, 1);
    // Freed with the pairs still held (`owners` drops last).
    balloc::free_extent(sb, ino, &geometry.whole_block(block)).map(|_| TailBlock::LetGo)
}
