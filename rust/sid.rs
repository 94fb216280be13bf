// SPDX-License-Identifier: GPL-2.0

//! The sid registry: AIX segment ids naming files' page caches.
//!
//! As an AIX client filesystem calls `vms_create` when it sets a gnode up
//! and keeps the segment id in `gn_seg` until `vms_delete`, a Linux
//! filesystem creates one sid per inode when it sets the inode up, keeps it
//! in its inode info, and deletes it from `->evict_inode`, before
//! `truncate_inode_pages_final`.  A sid holds no reference on its inode, a
//! call by sid takes none, and delete is O(1) and never sleeps.
//!
//! A sid is `generation << INDEX_BITS | index`: `index` is a slot, and
//! `generation` grows with every create, so a sid whose slot was deleted
//! and reused names nothing and is rejected (`EBADF`) instead of reaching
//! another file, until the generation wraps: after 2^31 creates on 64-bit,
//! after 2^11 on 32-bit (`GENERATION_MASK`).
//!
//! The slots, the entries and their lookup are [`crate::registry`]'s (an
//! allocating xarray and a radix table that lookups read in three loads,
//! with no out-of-line call); this file is the sid semantics on top.
//!
//! Why a call racing eviction is safe, with no reference and no wait
//! (Documentation/vm_mvc.rst says the same for users):
//!
//! 1. A lookup runs under the RCU read lock: the table load of the slot,
//!    the generation check, and the page-cache lookup of the folio, which takes
//!    a folio reference (and the folio lock if it is free: see point 2).  Delete erases the slot and frees the entry after a
//!    grace period (`kvfree_call_rcu`).  Eviction deletes the sid before it
//!    truncates the page cache and frees the inode, and the VFS frees inode
//!    memory only after a grace period (RCU path walk relies on it).  So a
//!    lookup that still finds the entry runs in a read-side section that
//!    began before the inode was queued for freeing: the entry, the inode
//!    and its `address_space` stay valid memory until the section ends,
//!    whatever eviction does meanwhile.
//! 2. After the section the caller holds only a folio reference, and locks
//!    the folio.  Truncation removes a folio from its mapping under the
//!    folio lock and clears `folio->mapping`, and a removed folio is never
//!    added to another mapping while referenced.  So if, under the lock,
//!    `folio->mapping` still equals the mapping the sid named, the folio is
//!    in that file's page cache; and `truncate_inode_pages_final` locks
//!    every folio it removes, so eviction cannot finish, nor the inode be
//!    freed, until the call unlocks.  Otherwise the call fails with
//!    `ENOENT` having touched only the folio it holds a reference on.
//!    The fast path takes the lock inside the read-side section, only if
//!    it is free (`FGP_LOCK | FGP_NOWAIT`), where the page-cache lookup
//!    makes the same check; a held lock sends the call to the slow path
//!    above.
//!
//! Creating a folio (`vm_mvc_makep`) is different: a folio added after
//! `truncate_inode_pages_final` would outlive the inode, so that call needs
//! the caller to keep the inode from eviction.

use crate::{
    command::PageRange,
    folio::{Folio, LockedPage, ReferencedRange},
    mapping::{HeldInode, HeldMapping, Mapping},
    registry::{self, Entry, LiveEntry, ReadSection, INDEX_BITS},
    stats,
};
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{
    bindings,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Atomic, Relaxed},
    },
};

/// Mask of the slot bits of a sid (`registry::INDEX_BITS`).
const INDEX_MASK: isize = ((1usize << INDEX_BITS) - 1) as isize;
/// Mask of the generation: a sid stays positive in a `vmid_t`.
const GENERATION_MASK: usize = (1 << (usize::BITS - 1 - INDEX_BITS)) - 1;

/// The generation of the next create.
static GENERATION: Atomic<usize> = Atomic::new(0);

/// Prepares the registry; called once from module init, before any user.
pub(crate) fn init() {
    registry::init();
}

/// Frees every sid still live; called once from module exit.
///
/// A filesystem that never deleted a sid broke the lifetime rule, and its
/// inode may be gone: each such sid is named in a warning, with the inode
/// number recorded at create, and freed without touching the inode.
pub(crate) fn free_all() {
    let mut index: usize = 0;
    while let Some((generation, ino)) = registry::next_live(&mut index) {
        let sid = sid_of(generation, index);
        pr_warn!(
            "sid {sid} (inode {ino}) still live at unload; freed without touching the inode\n"
        );
        if delete(sid).is_err() {
            break;
        }
    }
    registry::destroy();
}

/// Creates a sid naming `inode`'s page cache.
///
/// Each call hands out a new sid.  `EINVAL` when `i_mapping` is not the
/// inode's own `i_data` (a stacking filesystem that points it at another
/// inode's cache, as coda does, would give a sid whose mapping outlives
/// nothing the delete rule covers), `EOPNOTSUPP` for a DAX, hugetlbfs,
/// inaccessible (guest_memfd) or secretmem file ([`HeldMapping::refused`]:
/// refused here, no call by sid ever reaches such a file's memory, which
/// [`crate::folio`] would address through the direct map), `ENOSPC` when
/// every slot is taken, `ENOMEM` without memory.
///
/// # Safety
///
/// The caller deletes the sid before the inode's page cache is truncated
/// for eviction (the rule of Documentation/vm_mvc.rst); that the inode is
/// alive and not evicted for the call is [`HeldInode`]'s.
pub(crate) unsafe fn create(inode: HeldInode<'_>) -> Result<isize> {
    // SAFETY: The caller's guarantee.
    unsafe { create_in(inode, 1) }
}

/// [`create`] with a slot of at least `min_index`.
///
/// # Safety
///
/// As for [`create`].
unsafe fn create_in(inode: HeldInode<'_>, min_index: u32) -> Result<isize> {
    // The lifetime argument (module documentation, point 1) holds for the
    // inode's own cache only: another inode's may be freed while the sid
    // lives.
    let held = inode.own_mapping()?;
    if held.refused() {
        return Err(EOPNOTSUPP);
    }
    let ino = inode.ino();
    let mapping = NonNull::new(held.mapping().as_ptr()).ok_or(EINVAL)?;
    let generation = GENERATION.fetch_add(1, Relaxed) & GENERATION_MASK;
    // SAFETY: `mapping` is the inode's own page cache (`own_mapping`), the
    // inode is alive for the call (`HeldInode`), and the caller deletes the
    // sid, which removes the entry, before the page cache is truncated for
    // eviction (the caller's guarantee).
    let entry = unsafe { Entry::new(generation, mapping, ino) };
    let index = registry::insert(min_index, KBox::new(entry, GFP_KERNEL)?)?;
    stats::sid_created();
    Ok(sid_of(generation, index))
}

/// The sid of slot `index` created with `generation`.
fn sid_of(generation: usize, index: usize) -> isize {
    // CAST: the generation is masked so that the sign bit stays clear, and
    // the slot has at most `INDEX_BITS` bits: the sid is positive.
    (((generation & GENERATION_MASK) << INDEX_BITS) | (index & INDEX_MASK as usize)) as isize
}

/// The generation a sid carries.
#[inline]
fn generation_of(sid: isize) -> usize {
    // CAST: called on positive sids only (see `slot`).
    (sid as usize) >> INDEX_BITS
}

/// The slot of `sid`, or `EBADF` for a value no create ever returns.
#[inline]
fn slot(sid: isize) -> Result<usize> {
    let index = sid & INDEX_MASK;
    if sid <= 0 || index == 0 {
        return Err(EBADF);
    }
    // CAST: `index` is positive and has at most `INDEX_BITS` bits.
    Ok(index as usize)
}

/// The live entry of `sid`, for as long as the RCU read lock is held.
///
/// `EBADF` if `sid` is not live: never handed out, deleted, or its slot
/// reused by a later create (the generation differs).
#[inline(always)]
fn live_entry<'a>(rcu: &'a ReadSection, sid: isize) -> Result<LiveEntry<'a>> {
    let index = slot(sid)?;
    registry::live(rcu, index, generation_of(sid)).ok_or(EBADF)
}

/// `Ok` if `sid` is live, `EBADF` if not.
pub(crate) fn check(sid: isize) -> Result {
    live_entry(&ReadSection::enter(), sid).map(|_| ())
}

/// A folio found through a sid: referenced, not locked, and the page cache
/// the sid named, for the check after locking.
///
/// # Invariants
///
/// `folio` was found for page-cache index `index`, and is referenced ever
/// since: it holds that page (a referenced folio is not split).
pub(crate) struct Found {
    folio: ARef<Folio>,
    index: usize,
    /// Compared with `folio->mapping`, never dereferenced.
    mapping: *mut bindings::address_space,
}

/// Looks up the folio holding page `index` of the file `sid` names, with
/// no reference on the inode; the argument for a call racing eviction is
/// in the module documentation above.
///
/// `EBADF` if `sid` is not live; `ENOENT` if the page is not in the page
/// cache.
pub(crate) fn find_folio(sid: isize, index: usize) -> Result<Found> {
    let rcu = ReadSection::enter();
    // The entry was live under this RCU read-side section, so the inode's
    // memory stays valid until the section ends (point 1 of the module
    // documentation); the mapping does not outlive it.
    let mapping = live_entry(&rcu, sid)?.mapping();
    // INVARIANT: the lookup was for `index`.
    Ok(Found {
        folio: mapping.find_folio(index)?,
        index,
        mapping: mapping.as_ptr(),
    })
}

impl Found {
    /// The folio, referenced: its bytes may be read without the lock, as
    /// `filemap_read` does, though truncation may take it away meanwhile.
    pub(crate) fn folio(&self) -> &Folio {
        &self.folio
    }

    /// Bytes `range` of the page the folio was found for, to copy from
    /// without the folio lock.
    pub(crate) fn range(&self, range: PageRange) -> ReferencedRange<'_> {
        // SAFETY: The folio holds page `index` and is referenced (type
        // invariant) for as long as `self` is borrowed.
        unsafe { self.folio.page_range(self.index, range) }
    }

    /// Locks the folio, found for page `index`; `ENOENT` if truncation (or
    /// invalidation) took it out of the sid's page cache while the lock was
    /// awaited (point 2).
    #[inline(never)]
    fn lock(self, index: usize) -> Result<LockedPage> {
        let folio = Folio::lock(self.folio);
        if folio.mapping() != self.mapping {
            return Err(ENOENT);
        }
        // SAFETY: The folio was found for page `index` and referenced ever
        // since, so it was not split; it is still in the sid's page cache,
        // where it holds that page.
        Ok(unsafe { LockedPage::new(folio, index) })
    }
}

/// Looks up and locks the folio holding page `index` of the file `sid`
/// names, with no reference on the inode (the module documentation above
/// says why that is safe).
///
/// The fast path locks the folio inside the RCU read-side section if its
/// lock is free; otherwise the folio is referenced there and locked after,
/// sleeping.  `EBADF` if `sid` is not live; `ENOENT` if the page is not in
/// the page cache or was truncated while its lock was awaited.
#[inline(always)]
pub(crate) fn lock_folio(sid: isize, index: usize) -> Result<LockedPage> {
    let found = {
        let rcu = ReadSection::enter();
        // As in `find_folio`.
        let mapping = live_entry(&rcu, sid)?.mapping();
        match mapping.trylock_folio(index) {
            // INVARIANT: the lookup was for `index`.
            Err(err) if err == EAGAIN => Found {
                folio: mapping.find_folio(index)?,
                index,
                mapping: mapping.as_ptr(),
            },
            locked => return locked,
        }
    };
    found.lock(index)
}

/// A sid whose inode, if the sid is live, its holder keeps alive and away
/// from eviction for `'a`: what the caller of `vm_mvc_makep` promises for
/// the call (include/vm_mvc.h).
///
/// # Invariants
///
/// If `sid` is live, its inode is alive and not evicted for `'a` (it is
/// referenced, or eviction is excluded).
#[derive(Clone, Copy)]
pub(crate) struct HeldSid<'a> {
    sid: isize,
    _held: PhantomData<&'a bindings::inode>,
}

impl<'a> HeldSid<'a> {
    /// A sid whose inode the caller keeps from eviction.
    ///
    /// # Safety
    ///
    /// If `sid` is live, the caller keeps its inode alive and away from
    /// eviction for `'a` (a reference, or a lock that excludes eviction).
    pub(crate) unsafe fn new(sid: isize) -> Self {
        // INVARIANT: the caller's guarantee.
        Self {
            sid,
            _held: PhantomData,
        }
    }

    /// The page cache the sid names.
    ///
    /// `EBADF` if the sid is not live.
    pub(crate) fn mapping(&self) -> Result<HeldMapping<'a>> {
        let rcu = ReadSection::enter();
        let entry = live_entry(&rcu, self.sid)?;
        // SAFETY: The sid is live, so its inode was not yet evicted when the
        // entry was read, and is kept alive and away from eviction for `'a`
        // (type invariant).
        Ok(unsafe { HeldMapping::from_raw(Mapping::from_raw(entry.mapping_ptr())) })
    }
}

/// Deletes `sid`: it names nothing afterwards.  O(1); never sleeps, so it
/// may be called under a spinlock, in process context (the xarray's lock
/// is taken without disabling interrupts or bottom halves, as by
/// [`create`]).
///
/// `EBADF` if `sid` is not live.
pub(crate) fn delete(sid: isize) -> Result {
    let index = slot(sid)?;
    if !registry::remove(index, generation_of(sid)) {
        return Err(EBADF);
    }
    stats::sid_deleted();
    Ok(())
}

#[kunit_tests(vm_mvc_sid)]
mod tests {
    use super::*;
    use crate::{
        registry::{path_exists, LEAF_BITS, MID_BITS, RCU_IS_BARRIER},
        test_fixture::{pattern, RamFs},
    };

    /// The inode's reference count.
    fn refs(inode: NonNull<bindings::inode>) -> i32 {
        // SAFETY: The test's open file keeps the inode alive; the counter is
        // an `atomic_t`, read once.
        unsafe { core::ptr::read_volatile(&(*inode.as_ptr()).i_count.counter) }
    }

    #[test]
    fn each_create_names_the_page_cache_with_a_new_positive_sid() -> Result {
        let fs = RamFs::new()?;
        let file = fs.create(c"f")?;
        file.fill_pages(1, pattern)?;
        let (a, b) = (file.create_sid()?, file.create_sid()?);
        assert!(a.0 > 0 && b.0 > 0 && a.0 != b.0);
        for sid in [a.0, b.0] {
            let folio = lock_folio(sid, 0)?;
            assert_eq!(folio.mapping(), file.mapping());
            // SAFETY: The test's open file keeps the inode alive.
            // SAFETY: The test's open file keeps the inode alive.
            let held = unsafe { HeldSid::new(sid) };
            assert_eq!(held.mapping()?.mapping().as_ptr(), file.mapping());
        }
        Ok(())
    }

    #[test]
    fn sids_take_no_inode_reference() -> Result {
        let fs = RamFs::new()?;
        let file = fs.create(c"f")?;
        file.fill_pages(1, pattern)?;
        let before = refs(file.inode());
        let live = crate::stats::get().sids_live();
        let sid = file.create_sid()?;
        assert_eq!(crate::stats::get().sids_live(), live + 1);
        drop(lock_folio(sid.0, 0)?);
        assert_eq!(refs(file.inode()), before);
        delete(sid.0)?;
        assert_eq!(refs(file.inode()), before);
        assert_eq!(crate::stats::get().sids_live(), live);
        Ok(())
    }

    #[test]
    fn deleted_sid_is_rejected_and_cannot_be_deleted_twice() -> Result {
        let fs = RamFs::new()?;
        let file = fs.create(c"f")?;
        file.fill_pages(1, pattern)?;
        let sid = file.create_sid()?;
        delete(sid.0)?;
        assert_eq!(check(sid.0), Err(EBADF));
        assert_eq!(lock_folio(sid.0, 0).err(), Some(EBADF));
        // SAFETY: The test's open file keeps the inode alive.
        let held = unsafe { HeldSid::new(sid.0) };
        assert_eq!(held.mapping().err(), Some(EBADF));
        assert_eq!(delete(sid.0), Err(EBADF));
        Ok(())
    }

    #[test]
    fn reused_slot_does_not_revive_an_old_sid() -> Result {
        let fs = RamFs::new()?;
        let (old_file, new_file) = (fs.create(c"old")?, fs.create(c"new")?);
        new_file.fill_pages(1, pattern)?;
        let old = old_file.create_sid()?;
        delete(old.0)?;
        // The allocator hands out the lowest free slot: the old one, now
        // naming another file.
        let new = new_file.create_sid()?;
        assert_eq!(old.0 & INDEX_MASK, new.0 & INDEX_MASK);
        assert_ne!(old.0, new.0);
        assert_eq!(lock_folio(old.0, 0).err(), Some(EBADF));
        assert_eq!(delete(old.0), Err(EBADF));
        assert_eq!(lock_folio(new.0, 0)?.mapping(), new_file.mapping());
        Ok(())
    }

    #[test]
    fn malformed_sids_are_ebadf() {
        for sid in [0, -1, isize::MIN, INDEX_MASK + 1, 1 << INDEX_BITS] {
            assert_eq!(check(sid), Err(EBADF));
            assert_eq!(delete(sid), Err(EBADF));
        }
    }

    #[test]
    fn sids_never_handed_out_are_ebadf_wherever_their_slot_lies() -> Result {
        let fs = RamFs::new()?;
        let file = fs.create(c"f")?;
        file.fill_pages(1, pattern)?;
        let live = file.create_sid()?;
        let index = live.0 & INDEX_MASK;
        // The live sid's neighbours in its leaf, in the next leaf and in
        // the next middle node (table paths that exist or not), the last
        // slot, and the live slot with other generations.
        let others = [
            live.0 + 1,
            live.0 + (1 << LEAF_BITS),
            live.0 + (1 << (LEAF_BITS + MID_BITS)),
            INDEX_MASK,
            sid_of(generation_of(live.0) + 1, index as usize),
            sid_of(generation_of(live.0).wrapping_sub(1), index as usize),
        ];
        for sid in others {
            assert_eq!(check(sid), Err(EBADF));
            assert_eq!(lock_folio(sid, 0).err(), Some(EBADF));
            assert_eq!(delete(sid), Err(EBADF));
        }
        assert_eq!(lock_folio(live.0, 0)?.mapping(), file.mapping());
        Ok(())
    }

    #[test]
    fn delete_never_sleeps() -> Result {
        let fs = RamFs::new()?;
        let file = fs.create(c"f")?;
        let sid = file.create_sid()?;
        // Under the RCU read lock a grace-period wait (synchronize_rcu)
        // would deadlock, and any sleep is a "sleeping function called
        // from invalid context" splat with CONFIG_DEBUG_ATOMIC_SLEEP.
        let rcu = kernel::sync::rcu::read_lock();
        let deleted = delete(sid.0);
        drop(rcu);
        deleted?;
        assert_eq!(check(sid.0), Err(EBADF));
        Ok(())
    }

    #[test]
    fn slots_above_2_to_the_31_work_on_64_bit() -> Result {
        if usize::BITS < 64 {
            return Ok(());
        }
        let fs = RamFs::new()?;
        let file = fs.create(c"f")?;
        file.fill_pages(1, pattern)?;
        let high = 1u32 << 31;
        // SAFETY: The test's open file keeps the inode alive; the sid is
        // deleted below, before the file is closed.
        let sid = unsafe { create_in(file.held_inode(), high) }?;
        assert!(sid > 0);
        assert!(sid & INDEX_MASK >= high as isize);
        assert_eq!(lock_folio(sid, 0)?.mapping(), file.mapping());
        delete(sid)?;
        assert_eq!(check(sid), Err(EBADF));
        Ok(())
    }

    #[test]
    fn sids_of_a_new_leaf_and_of_its_existing_path_both_name_their_file() -> Result {
        if usize::BITS < 64 {
            return Ok(());
        }
        let fs = RamFs::new()?;
        let file = fs.create(c"f")?;
        file.fill_pages(1, pattern)?;
        // A slot no other case or user reaches: its table path is made by
        // the first create (reserved, then published), and the second
        // create finds it and publishes in the same locked section.
        let first_slot = 3u32 << 30;
        let leaf_was_new = !path_exists(first_slot as usize);
        // SAFETY: The test's open file keeps the inode alive; the sids are
        // deleted below, before the file is closed.
        let first = unsafe { create_in(file.held_inode(), first_slot) }?;
        // SAFETY: As above.
        let second = unsafe { create_in(file.held_inode(), first_slot) }?;
        let slots = (first & INDEX_MASK, second & INDEX_MASK);
        let neighbour = second + 1;
        let results = (
            lock_folio(first, 0).map(|folio| folio.mapping()),
            lock_folio(second, 0).map(|folio| folio.mapping()),
            check(neighbour),
            delete(first),
            delete(second),
        );
        assert!(leaf_was_new);
        assert_eq!(slots, (first_slot as isize, first_slot as isize + 1));
        assert_eq!(results.0, Ok(file.mapping()));
        assert_eq!(results.1, Ok(file.mapping()));
        assert_eq!(results.2, Err(EBADF));
        assert_eq!((results.3, results.4), (Ok(()), Ok(())));
        assert_eq!((check(first), check(second)), (Err(EBADF), Err(EBADF)));
        // Both slots were given back: the next create takes the first.
        // SAFETY: As above.
        let again = unsafe { create_in(file.held_inode(), first_slot) }?;
        let again_slot = again & INDEX_MASK;
        delete(again)?;
        assert_eq!(again_slot, first_slot as isize);
        Ok(())
    }

    /// Whether the kernel's compiled `f` does nothing but return: on
    /// x86-64 (User-Mode Linux included), its first instruction after an
    /// optional `endbr64` (or the 4-byte NOP that seals it) and an optional
    /// 5-byte NOP (a patched-out `__fentry__` call) is `ret`.
    #[cfg(CONFIG_X86_64)]
    fn compiled_empty(f: unsafe extern "C" fn()) -> bool {
        const PADS: [&[u8]; 3] = [
            &[0xf3, 0x0f, 0x1e, 0xfa],
            &[0x0f, 0x1f, 0x40, 0xd6],
            &[0x0f, 0x1f, 0x44, 0x00, 0x00],
        ];
        let code = f as *const u8;
        // At most 14 bytes from the start of `f` are read, and a byte past
        // the first only while those before it match a landing pad or NOP,
        // which cannot end a function: each byte is code of `f` or of the
        // kernel text right after it.
        let byte = |at: usize| {
            // SAFETY: `f` is in the kernel's text, mapped and readable for
            // the kernel's lifetime, and `at` stays within it (above).
            unsafe { core::ptr::read_volatile(code.add(at)) }
        };
        let mut at = 0;
        for pad in PADS {
            if pad.iter().enumerate().all(|(i, b)| byte(at + i) == *b) {
                at += pad.len();
            }
        }
        byte(at) == 0xc3
    }

    /// `ReadSection` leaves out the kernel's guard where [`RCU_IS_BARRIER`]
    /// says `rcu_read_lock` and `rcu_read_unlock` are only a compiler
    /// barrier.  That copy of `rcupdate.h`'s conditions is checked here
    /// against what the kernel compiled: both helpers are an empty function
    /// exactly when the copy says so.  A kernel whose read-side section does
    /// something the copy does not know of fails this case (the lookups by
    /// sid would otherwise run unprotected); one whose section is empty
    /// where the copy keeps the guard fails it too, so that the copy stays
    /// exact.
    #[cfg(CONFIG_X86_64)]
    #[test]
    fn read_section_is_a_barrier_exactly_where_the_kernels_rcu_read_lock_is_empty() {
        let empty =
            compiled_empty(bindings::rcu_read_lock) && compiled_empty(bindings::rcu_read_unlock);
        assert_eq!(RCU_IS_BARRIER, empty);
    }

    #[test]
    fn many_sids_come_and_go() -> Result {
        let fs = RamFs::new()?;
        let file = fs.create(c"f")?;
        let live = crate::stats::get().sids_live();
        let mut sids = KVec::with_capacity(10_000, GFP_KERNEL)?;
        for _ in 0..10_000 {
            sids.push(file.create_sid()?, GFP_KERNEL)?;
        }
        assert_eq!(crate::stats::get().sids_live(), live + 10_000);
        for sid in sids.iter() {
            delete(sid.0)?;
        }
        assert!(sids.iter().all(|sid| check(sid.0) == Err(EBADF)));
        assert_eq!(crate::stats::get().sids_live(), live);
        Ok(())
    }
}
