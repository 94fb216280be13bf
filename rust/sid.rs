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
//! Slots are handed out by an allocating xarray, which also owns the
//! entries; calls look them up in a radix table of their own (a static top
//! level and two levels of nodes, each read with an acquire load), which
//! mirrors the xarray's published entries.  A lookup is then three loads
//! and no out-of-line call, where `xa_load` was a call.  Table nodes are
//! created as slots are first used and freed only at unload: the table
//! takes 8 bytes per slot ever used at once, beside the xarray's.
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
//!
//! The registry uses the raw xarray API because `kernel::xarray` has no
//! allocation of free indices.  The table uses `core`'s atomics, as
//! [`crate::folio`] does for the reference count: they compile to plain
//! loads and stores, where `kernel::sync::atomic`'s are helper calls on
//! kernels without `CONFIG_RUST_INLINE_HELPERS`.

use crate::{
    command::PageRange,
    folio::{Folio, LockedPage, ReferencedRange},
    mapping::{HeldInode, HeldMapping, Mapping},
    stats,
};
use core::{
    marker::PhantomData,
    ptr::{null_mut, NonNull},
    sync::atomic::{compiler_fence, AtomicPtr, Ordering},
};
use kernel::{
    alloc::flags::__GFP_ZERO,
    bindings,
    ffi::c_void,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Atomic, Relaxed},
    },
    types::Opaque, //
};

/// Bits of a sid that hold the xarray slot: 2^32 - 1 slots on 64-bit, as
/// many as a 32-bit `pgoff_t`-sized xarray index allows; 2^20 - 1 where a
/// `vmid_t` (C `long`) has 32 bits.
const INDEX_BITS: u32 = if usize::BITS == 64 { 32 } else { 20 };
/// Mask of the slot bits of a sid.
const INDEX_MASK: isize = ((1usize << INDEX_BITS) - 1) as isize;
/// The largest slot.
// CAST: `INDEX_BITS <= 32`.
const INDEX_MAX: u32 = INDEX_MASK as u32;
/// Mask of the generation: a sid stays positive in a `vmid_t`.
const GENERATION_MASK: usize = (1 << (usize::BITS - 1 - INDEX_BITS)) - 1;

/// Slot bits resolved by a leaf of the table: 512 entry pointers, 4 KiB.
const LEAF_BITS: u32 = 9;
/// Slot bits resolved by a middle node: 2048 leaf pointers, 16 KiB.
const MID_BITS: u32 = 11;
/// Slot bits resolved by the static top level: 4096 pointers (32 KiB) on
/// 64-bit, one on 32-bit.
const TOP_BITS: u32 = INDEX_BITS - MID_BITS - LEAF_BITS;
const LEAF_SLOTS: usize = 1 << LEAF_BITS;
const MID_SLOTS: usize = 1 << MID_BITS;
const TOP_SLOTS: usize = 1 << TOP_BITS;

/// One live sid.
#[repr(C)]
struct Entry {
    /// Frees the entry a grace period after delete.
    rcu: bindings::kvfree_rcu_head,
    /// The generation of the sid handed out: the sid is `generation <<
    /// INDEX_BITS | slot`.  Set before the entry is published and never
    /// changed, so lookups read it without an atomic operation.
    generation: usize,
    /// The page cache the sid names.
    mapping: NonNull<bindings::address_space>,
    /// The inode number, for the unload warning, which must not touch the
    /// inode.
    ino: u64,
}

/// A leaf of the table: the entry of each slot, null when the slot is free
/// or reserved.
struct Leaf([AtomicPtr<Entry>; LEAF_SLOTS]);

/// A middle node of the table.
struct Mid([AtomicPtr<Leaf>; MID_SLOTS]);

/// The registry of live sids.
///
/// # Invariants
///
/// After [`init`], `xa` is an initialised allocating xarray whose entries
/// are `KBox<Entry>` pointers (kmalloc memory), each owned by the registry
/// until it is erased and handed to `kvfree_call_rcu`.
///
/// `top` and the nodes under it form the table: a non-null node pointer is
/// a `KVBox` node, installed zeroed with a release store and freed only by
/// [`free_all`].  A non-null leaf slot is the entry the xarray holds at
/// that slot: both are set together, and cleared together, under the
/// xarray's lock.
struct Registry {
    xa: Opaque<bindings::xarray>,
    generation: Atomic<usize>,
    top: [AtomicPtr<Mid>; TOP_SLOTS],
}

// SAFETY: The xarray has its own lock and RCU-safe lookups; `generation` is
// atomic, and so is every pointer of the table.
unsafe impl Sync for Registry {}

static REGISTRY: Registry = Registry {
    xa: Opaque::uninit(),
    generation: Atomic::new(0),
    top: [const { AtomicPtr::new(null_mut()) }; TOP_SLOTS],
};

/// The table's positions of slot `index` (below `2^INDEX_BITS`): in the
/// top level, in the middle node, in the leaf.  Masked, so that the array
/// accesses below need no bounds check.
#[inline(always)]
fn positions(index: usize) -> (usize, usize, usize) {
    (
        (index >> (MID_BITS + LEAF_BITS)) & (TOP_SLOTS - 1),
        (index >> LEAF_BITS) & (MID_SLOTS - 1),
        index & (LEAF_SLOTS - 1),
    )
}

/// The leaf slot of `index`, if its nodes exist.
#[inline(always)]
fn table_slot(index: usize) -> Option<&'static AtomicPtr<Entry>> {
    let (top, mid, leaf) = positions(index);
    let mid_node = REGISTRY.top[top].load(Ordering::Acquire);
    if mid_node.is_null() {
        return None;
    }
    // SAFETY: Non-null node pointers are live nodes until `free_all`, which
    // runs when no call can be made (type invariant); the acquire load
    // pairs with the release store that installed the node zeroed.
    let leaf_node = unsafe { &*mid_node }.0[mid].load(Ordering::Acquire);
    if leaf_node.is_null() {
        return None;
    }
    // SAFETY: As for the middle node.
    Some(&unsafe { &*leaf_node }.0[leaf])
}

/// Allocates a zeroed table node.
fn new_node<T>() -> Result<*mut T> {
    let node = KVBox::<T>::new_uninit(GFP_KERNEL | __GFP_ZERO)?;
    // SAFETY: Nodes are arrays of `AtomicPtr`, for which all-zero bytes
    // are null pointers.
    Ok(KVBox::into_raw(unsafe { node.assume_init() }))
}

/// Installs `*link` as a new zeroed node unless another create did first;
/// returns the node.
fn node_in<T>(link: &AtomicPtr<T>) -> Result<*mut T> {
    let found = link.load(Ordering::Acquire);
    if !found.is_null() {
        return Ok(found);
    }
    let node = new_node::<T>()?;
    match link.compare_exchange(null_mut(), node, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => Ok(node),
        Err(other) => {
            // SAFETY: `node` was never published; it is still ours.
            drop(unsafe { KVBox::from_raw(node) });
            Ok(other)
        }
    }
}

/// Creates the table nodes on the path to slot `index`; may sleep.
fn make_path(index: usize) -> Result {
    let (top, mid, _) = positions(index);
    let mid_node = node_in(&REGISTRY.top[top])?;
    // SAFETY: Installed nodes live until `free_all` (type invariant).
    node_in(&unsafe { &*mid_node }.0[mid])?;
    Ok(())
}

/// Frees the table's nodes; only at unload, with every sid deleted.
fn free_table() {
    for link in REGISTRY.top.iter() {
        let mid_node = link.swap(null_mut(), Ordering::Acquire);
        if mid_node.is_null() {
            continue;
        }
        // SAFETY: Installed nodes are `KVBox`es owned by the table (type
        // invariant); at unload no call can reach it.
        let mid_node = unsafe { KVBox::from_raw(mid_node) };
        for leaf in mid_node.0.iter() {
            let leaf_node = leaf.load(Ordering::Relaxed);
            if !leaf_node.is_null() {
                // SAFETY: As for the middle node.
                drop(unsafe { KVBox::from_raw(leaf_node) });
            }
        }
    }
}

/// Prepares the registry; called once from module init, before any user.
pub(crate) fn init() {
    // SAFETY: Module init runs once, before anything else can reach the
    // registry; the xarray memory is static.
    //
    // INVARIANT: the xarray is initialised, empty, and allocating from 1.
    unsafe { bindings::xa_init_flags(REGISTRY.xa.get(), bindings::XA_FLAGS_ALLOC1) };
}

/// Frees every sid still live; called once from module exit.
///
/// A filesystem that never deleted a sid broke the lifetime rule, and its
/// inode may be gone: each such sid is named in a warning, with the inode
/// number recorded at create, and freed without touching the inode.
pub(crate) fn free_all() {
    let mut index: usize = 0;
    loop {
        // SAFETY: The registry is initialised; `xa_find` takes the RCU read
        // lock itself.
        let found = unsafe {
            bindings::xa_find(
                REGISTRY.xa.get(),
                &mut index,
                INDEX_MAX as usize,
                bindings::XA_PRESENT,
            )
        };
        if found.is_null() {
            break;
        }
        // SAFETY: Entries are `Entry` boxes owned by the registry (type
        // invariant); nothing else can delete during module exit.
        let entry = unsafe { &*found.cast::<Entry>() };
        let (sid, ino) = (sid_of(entry.generation, index), entry.ino);
        pr_warn!(
            "sid {sid} (inode {ino}) still live at unload; freed without touching the inode\n"
        );
        if delete(sid).is_err() {
            break;
        }
    }
    free_table();
    // SAFETY: The registry is empty and no longer reachable.
    unsafe { bindings::xa_destroy(REGISTRY.xa.get()) };
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
    let generation = REGISTRY.generation.fetch_add(1, Relaxed) & GENERATION_MASK;
    let entry = NonNull::from(KBox::leak(KBox::new(
        Entry {
            rcu: Default::default(),
            generation,
            mapping,
            ino,
        },
        GFP_KERNEL,
    )?));
    let created = match alloc(min_index, entry) {
        Ok(Allocated::Published(index)) => Ok(index),
        Ok(Allocated::Reserved(index)) => make_path(index)
            .and_then(|()| publish(index, entry))
            .map(|()| index)
            .inspect_err(|_| unreserve(index)),
        Err(err) => Err(err),
    };
    match created {
        Ok(index) => {
            stats::sid_created();
            Ok(sid_of(generation, index))
        }
        Err(err) => {
            // SAFETY: The entry was not published (`alloc` and `publish`
            // leave it with the caller on error): it is still ours.
            drop(unsafe { KBox::from_raw(entry.as_ptr()) });
            Err(err)
        }
    }
}

/// Where [`alloc`] left the entry.
enum Allocated {
    /// Published at this slot, in the xarray and the table: the registry
    /// owns the entry and the sid is live.
    Published(usize),
    /// Not published: this slot is reserved (lookups and deletes find
    /// nothing there) and its table path is still to be made; the entry
    /// is still the caller's, for [`publish`] after [`make_path`].
    Reserved(usize),
}

/// Takes a free slot of at least `min_index` for `entry`, in one locked
/// section: if the slot's table path exists (every slot but the first of
/// each 512 used), the entry is published there, in the xarray and the
/// table together, so that a delete finds it in both or in neither.
/// Otherwise the slot is only reserved, because making the path may
/// sleep.  `ENOSPC` when every slot is taken, `ENOMEM` without memory;
/// on error the entry stays the caller's and no slot is taken.
fn alloc(min_index: u32, entry: NonNull<Entry>) -> Result<Allocated> {
    let mut index: u32 = 0;
    let limit = bindings::xa_limit {
        min: min_index,
        max: INDEX_MAX,
    };
    let xa = REGISTRY.xa.get();
    // `__xa_alloc` may drop and retake the lock to allocate, but stores
    // the entry only once it holds it for good: nobody sees the entry in
    // the xarray before the table check below.  Storing null over it (in
    // an allocating xarray `XA_ZERO_ENTRY`, which `xa_load` reads as null)
    // replaces an existing entry and allocates nothing, so it does not
    // fail (checked nevertheless: the slot is then given back).
    // SAFETY: The registry is initialised and its lock held around the
    // calls (above); once published, the entry belongs to the registry
    // (type invariant).
    unsafe {
        bindings::xa_lock(xa);
        let ret = bindings::__xa_alloc(
            xa,
            &mut index,
            entry.as_ptr().cast::<c_void>(),
            limit,
            bindings::GFP_KERNEL,
        );
        // CAST: `index` has at most `INDEX_BITS` bits.
        let slot = index as usize;
        let allocated = if ret < 0 {
            Err(if ret == EBUSY.to_errno() {
                ENOSPC
            } else {
                Error::from_errno(ret)
            })
        } else if let Some(table) = table_slot(slot) {
            // The release store pairs with the lookups' acquire load: they
            // see the entry's fields as written.
            table.store(entry.as_ptr(), Ordering::Release);
            Ok(Allocated::Published(slot))
        } else {
            let old = bindings::__xa_store(xa, slot, null_mut(), bindings::GFP_NOWAIT);
            let err = bindings::xa_err(old);
            if err == 0 {
                Ok(Allocated::Reserved(slot))
            } else {
                bindings::__xa_erase(xa, slot);
                Err(Error::from_errno(err))
            }
        };
        bindings::xa_unlock(xa);
        allocated
    }
}

/// Gives back a slot [`alloc`] reserved and nothing was published in.
fn unreserve(index: usize) {
    // SAFETY: The registry is initialised; erasing the reservation frees
    // the slot, under the lock.
    unsafe {
        bindings::xa_lock(REGISTRY.xa.get());
        bindings::__xa_erase(REGISTRY.xa.get(), index);
        bindings::xa_unlock(REGISTRY.xa.get());
    }
}

/// Publishes `entry` in the reserved slot `index`, whose table path
/// exists: the xarray and the table get it together, under the xarray's
/// lock, so that a delete finds it in both or in neither.  On error the
/// slot stays reserved and the entry the caller's.
fn publish(index: usize, entry: NonNull<Entry>) -> Result {
    let slot = table_slot(index).ok_or(ENOMEM)?;
    let raw = entry.as_ptr();
    // SAFETY: The registry is initialised.  Storing over a reservation
    // replaces an existing entry and allocates nothing, so it does not fail
    // (`xa_err` is checked nevertheless); once stored, the entry belongs to
    // the registry (type invariant).
    let err = unsafe {
        bindings::xa_lock(REGISTRY.xa.get());
        let old = bindings::__xa_store(
            REGISTRY.xa.get(),
            index,
            raw.cast::<c_void>(),
            bindings::GFP_NOWAIT,
        );
        let err = bindings::xa_err(old);
        if err == 0 {
            // As in `alloc`.
            slot.store(raw, Ordering::Release);
        }
        bindings::xa_unlock(REGISTRY.xa.get());
        err
    };
    if err != 0 {
        return Err(Error::from_errno(err));
    }
    Ok(())
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

/// Whether `rcu_read_lock` and `rcu_read_unlock` are only `barrier()`:
/// no preemptible RCU, no preemption count (`preempt_disable` is the
/// barrier), no lockdep, no strict grace periods.  User-Mode Linux's test
/// kernel is such a kernel.
///
/// These are the conditions of Linux 7.3's `include/linux/rcupdate.h`,
/// copied; the KUnit case
/// `read_section_is_a_barrier_exactly_where_the_kernels_rcu_read_lock_is_empty`
/// checks them against the kernel's compiled `rcu_read_lock` and
/// `rcu_read_unlock`, so that a configuration or kernel for which the copy
/// is wrong fails the tests instead of running without a read-side
/// section.
const RCU_IS_BARRIER: bool = cfg!(not(any(
    CONFIG_PREEMPT_RCU,
    CONFIG_PREEMPT_COUNT,
    CONFIG_DEBUG_LOCK_ALLOC,
    CONFIG_RCU_STRICT_GRACE_PERIOD
)));

/// An RCU read-side critical section, left when the value drops.
///
/// Where [`RCU_IS_BARRIER`], the section is that barrier, written out: the
/// kernel's guard calls the out-of-line `rust_helper_rcu_read_lock` and
/// `_unlock` there, two calls on every call by sid.  Elsewhere it is the
/// kernel's guard (which also keeps the section on its thread).
struct ReadSection {
    _guard: Option<kernel::sync::rcu::Guard>,
}

impl ReadSection {
    /// Enters a read-side critical section.
    #[inline(always)]
    fn enter() -> Self {
        if RCU_IS_BARRIER {
            compiler_fence(Ordering::SeqCst);
            return Self { _guard: None };
        }
        Self {
            _guard: Some(kernel::sync::rcu::read_lock()),
        }
    }
}

impl Drop for ReadSection {
    #[inline(always)]
    fn drop(&mut self) {
        if RCU_IS_BARRIER {
            compiler_fence(Ordering::SeqCst);
        }
    }
}

/// The live entry of `sid`, for as long as the RCU read lock is held.
///
/// `EBADF` if `sid` is not live: never handed out, deleted, or its slot
/// reused by a later create (the generation differs).
#[inline(always)]
fn live_entry<'a>(_rcu: &'a ReadSection, sid: isize) -> Result<&'a Entry> {
    let index = slot(sid)?;
    // The acquire load pairs with `publish`'s release store.
    let found = table_slot(index).ok_or(EBADF)?.load(Ordering::Acquire);
    if found.is_null() {
        return Err(EBADF);
    }
    // SAFETY: A published entry is freed only a grace period after delete
    // cleared its slot, and the RCU read lock is held for the borrow.
    let entry = unsafe { &*found };
    if entry.generation != generation_of(sid) {
        return Err(EBADF);
    }
    Ok(entry)
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
    let entry = live_entry(&rcu, sid)?;
    // SAFETY: The entry was live under this RCU read-side section, so the
    // inode's memory stays valid until the section ends (point 1 of the
    // module documentation); the mapping does not outlive it.
    let mapping = unsafe { Mapping::from_raw(entry.mapping) };
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
        let entry = live_entry(&rcu, sid)?;
        // SAFETY: As in `find_folio`.
        let mapping = unsafe { Mapping::from_raw(entry.mapping) };
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
        Ok(unsafe { HeldMapping::from_raw(Mapping::from_raw(entry.mapping)) })
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
    let table = table_slot(index);
    // SAFETY: The registry is initialised; the entry is checked and erased
    // under the xarray lock so two deletes cannot both erase it, and taken
    // out of the table there too (a published entry has its table path).
    let removed = unsafe {
        bindings::xa_lock(REGISTRY.xa.get());
        let found = bindings::xa_load(REGISTRY.xa.get(), index).cast::<Entry>();
        let matches = !found.is_null() && (*found).generation == generation_of(sid);
        if matches {
            if let Some(table) = table {
                table.store(null_mut(), Ordering::Relaxed);
            }
            bindings::__xa_erase(REGISTRY.xa.get(), index);
        }
        bindings::xa_unlock(REGISTRY.xa.get());
        if matches {
            found
        } else {
            core::ptr::null_mut()
        }
    };
    if removed.is_null() {
        return Err(EBADF);
    }
    // SAFETY: The entry left the xarray and the table, so it is ours; lookups that found
    // it before may still read it under RCU, so it is freed after a grace
    // period, by slab code (no callback into this module).  It is kmalloc
    // memory and its `rcu` field is the first.
    unsafe { bindings::kvfree_call_rcu(&raw mut (*removed).rcu, removed.cast()) };
    stats::sid_deleted();
    Ok(())
}

#[kunit_tests(vm_mvc_sid)]
mod tests {
    use super::*;
    use crate::test_fixture::{pattern, RamFs};

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
        let leaf_was_new = table_slot(first_slot as usize).is_none();
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
