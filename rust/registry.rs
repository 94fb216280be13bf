// SPDX-License-Identifier: GPL-2.0

//! The sid registry's raw machinery: the allocating xarray that hands out
//! slots and owns the entries, the radix table that lookups read, the
//! RCU read-side section, and the freeing of entries a grace period after
//! removal (`kvfree_call_rcu`).  [`crate::sid`] keeps the sid semantics
//! (encoding, generations, create, delete, lookups) on top of it, with no
//! `unsafe` of its own beyond the proofs its callers hand in.
//!
//! Slots are handed out by an allocating xarray, which also owns the
//! entries; calls look them up in a radix table of their own (a static top
//! level and two levels of nodes, each read with an acquire load), which
//! mirrors the xarray's published entries.  A lookup is then three loads
//! and no out-of-line call, where `xa_load` was a call.  Table nodes are
//! created as slots are first used and freed only at unload: the table
//! takes 8 bytes per slot ever used at once, beside the xarray's.
//!
//! The registry uses the raw xarray API because `kernel::xarray` has no
//! allocation of free indices.  The table uses `core`'s atomics, as
//! [`crate::folio`] does for the reference count: they compile to plain
//! loads and stores, where `kernel::sync::atomic`'s are helper calls on
//! kernels without `CONFIG_RUST_INLINE_HELPERS`.

use crate::mapping::Mapping;
use core::{
    ptr::{null_mut, NonNull},
    sync::atomic::{compiler_fence, AtomicPtr, Ordering},
};
use kernel::{alloc::flags::__GFP_ZERO, bindings, ffi::c_void, prelude::*, types::Opaque};

/// Bits of a sid that hold the xarray slot: 2^32 - 1 slots on 64-bit, as
/// many as a 32-bit `pgoff_t`-sized xarray index allows; 2^20 - 1 where a
/// `vmid_t` (C `long`) has 32 bits.
pub(crate) const INDEX_BITS: u32 = if usize::BITS == 64 { 32 } else { 20 };
/// The largest slot.
// CAST: `INDEX_BITS <= 32`.
const INDEX_MAX: u32 = ((1usize << INDEX_BITS) - 1) as u32;

/// Slot bits resolved by a leaf of the table: 512 entry pointers, 4 KiB.
pub(crate) const LEAF_BITS: u32 = 9;
/// Slot bits resolved by a middle node: 2048 leaf pointers, 16 KiB.
pub(crate) const MID_BITS: u32 = 11;
/// Slot bits resolved by the static top level: 4096 pointers (32 KiB) on
/// 64-bit, one on 32-bit.
const TOP_BITS: u32 = INDEX_BITS - MID_BITS - LEAF_BITS;
const LEAF_SLOTS: usize = 1 << LEAF_BITS;
const MID_SLOTS: usize = 1 << MID_BITS;
const TOP_SLOTS: usize = 1 << TOP_BITS;

/// One live sid: what a slot of the registry holds.
#[repr(C)]
pub(crate) struct Entry {
    /// Frees the entry a grace period after removal.
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

// SAFETY: An entry is plain data, shared read-only once published; its
// `mapping` is only compared, or dereferenced under the rules of
// [`LiveEntry::mapping`].
unsafe impl Send for Entry {}
// SAFETY: As for `Send`.
unsafe impl Sync for Entry {}

impl Entry {
    /// An entry for a sid of `generation` naming `mapping`, of inode `ino`.
    ///
    /// # Safety
    ///
    /// `mapping` is the own page cache (`i_data`) of an inode alive for the
    /// call, and the entry is removed ([`remove`]) before that inode's page
    /// cache is truncated for eviction (the rule of
    /// Documentation/vm_mvc.rst).
    pub(crate) unsafe fn new(
        generation: usize,
        mapping: NonNull<bindings::address_space>,
        ino: u64,
    ) -> Self {
        // The caller's guarantee makes [`LiveEntry::mapping`] sound.
        Self {
            rcu: Default::default(),
            generation,
            mapping,
            ino,
        }
    }
}

/// An entry found live in a read-side section, borrowed for it.
///
/// # Invariants
///
/// `entry` was published when the read-side section that `'a` borrows was
/// in progress, so it stays allocated for `'a`.
#[derive(Clone, Copy)]
pub(crate) struct LiveEntry<'a> {
    entry: &'a Entry,
}

impl<'a> LiveEntry<'a> {
    /// The page cache the sid names, raw: for comparisons, and for a
    /// caller that keeps the inode from eviction beyond the read-side
    /// section.
    #[inline(always)]
    pub(crate) fn mapping_ptr(&self) -> NonNull<bindings::address_space> {
        self.entry.mapping
    }

    /// The page cache the sid names, valid memory for the read-side
    /// section.
    ///
    /// The entry was live in the section (type invariant), so the inode was
    /// not yet queued for freeing when the section began (an entry is
    /// removed before its page cache is truncated: [`Entry::new`]), and the
    /// VFS frees inode memory only after a grace period; so the inode and
    /// its `address_space` stay valid memory until the section ends (point
    /// 1 of [`crate::sid`]).
    #[inline(always)]
    pub(crate) fn mapping(&self) -> Mapping<'a> {
        // SAFETY: Valid for `'a`, which the read-side section outlives
        // (above).
        unsafe { Mapping::from_raw(self.entry.mapping) }
    }
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
/// [`destroy`].  A non-null leaf slot is the entry the xarray holds at
/// that slot: both are set together, and cleared together, under the
/// xarray's lock.
struct Registry {
    xa: Opaque<bindings::xarray>,
    top: [AtomicPtr<Mid>; TOP_SLOTS],
}

// SAFETY: The xarray has its own lock and RCU-safe lookups; every pointer
// of the table is atomic.
unsafe impl Sync for Registry {}

static REGISTRY: Registry = Registry {
    xa: Opaque::uninit(),
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
    // SAFETY: Non-null node pointers are live nodes until `destroy`, which
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
    // SAFETY: Installed nodes live until `destroy` (type invariant).
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

/// Whether the table path of slot `index` exists (the test of the
/// reserve-then-publish path of [`insert`]).
#[cfg(CONFIG_KUNIT)]
pub(crate) fn path_exists(index: usize) -> bool {
    table_slot(index).is_some()
}

/// Prepares the registry; called once from module init, before any user.
pub(crate) fn init() {
    // SAFETY: Module init runs once, before anything else can reach the
    // registry; the xarray memory is static.
    //
    // INVARIANT: the xarray is initialised, empty, and allocating from 1.
    unsafe { bindings::xa_init_flags(REGISTRY.xa.get(), bindings::XA_FLAGS_ALLOC1) };
}

/// The first occupied slot at or after `*index`, with its entry's
/// generation and inode number; `*index` is set to the slot.  Read under
/// the xarray's lock, so that no removal frees the entry meanwhile.
pub(crate) fn next_live(index: &mut usize) -> Option<(usize, u64)> {
    // SAFETY: The registry is initialised; `xa_find` takes the RCU read
    // lock itself, and nests inside the xarray's lock; an entry found under
    // the lock stays allocated until it is erased, under the lock.
    unsafe {
        bindings::xa_lock(REGISTRY.xa.get());
        let found = bindings::xa_find(
            REGISTRY.xa.get(),
            index,
            INDEX_MAX as usize,
            bindings::XA_PRESENT,
        )
        .cast::<Entry>();
        let live = if found.is_null() {
            None
        } else {
            Some(((*found).generation, (*found).ino))
        };
        bindings::xa_unlock(REGISTRY.xa.get());
        live
    }
}

/// Frees the table and the xarray; called once from module exit, after
/// every entry was removed.
pub(crate) fn destroy() {
    free_table();
    // SAFETY: The registry is empty and no longer reachable.
    unsafe { bindings::xa_destroy(REGISTRY.xa.get()) };
}

/// Publishes `entry` at a free slot of at least `min_index` and returns
/// the slot; `ENOSPC` when every slot is taken, `ENOMEM` without memory,
/// and then the entry is freed.
pub(crate) fn insert(min_index: u32, entry: KBox<Entry>) -> Result<usize> {
    let entry = NonNull::from(KBox::leak(entry));
    let inserted = match alloc(min_index, entry) {
        Ok(Allocated::Published(index)) => Ok(index),
        Ok(Allocated::Reserved(index)) => make_path(index)
            .and_then(|()| publish(index, entry))
            .map(|()| index)
            .inspect_err(|_| unreserve(index)),
        Err(err) => Err(err),
    };
    if inserted.is_err() {
        // SAFETY: The entry was not published (`alloc` and `publish`
        // leave it with the caller on error): it is still ours.
        drop(unsafe { KBox::from_raw(entry.as_ptr()) });
    }
    inserted
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

/// Removes the entry of slot `index` if it has `generation`: lookups no
/// longer find it, and it is freed a grace period later.  `false` if the
/// slot holds no such entry.  Never sleeps (the xarray's lock is taken
/// without disabling interrupts or bottom halves).
pub(crate) fn remove(index: usize, generation: usize) -> bool {
    let table = table_slot(index);
    // SAFETY: The registry is initialised; the entry is checked and erased
    // under the xarray lock so two removals cannot both erase it, and taken
    // out of the table there too (a published entry has its table path).
    let removed = unsafe {
        bindings::xa_lock(REGISTRY.xa.get());
        let found = bindings::xa_load(REGISTRY.xa.get(), index).cast::<Entry>();
        let matches = !found.is_null() && (*found).generation == generation;
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
        return false;
    }
    // SAFETY: The entry left the xarray and the table, so it is ours; lookups that found
    // it before may still read it under RCU, so it is freed after a grace
    // period, by slab code (no callback into this module).  It is kmalloc
    // memory and its `rcu` field is the first.
    unsafe { bindings::kvfree_call_rcu(&raw mut (*removed).rcu, removed.cast()) };
    true
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
pub(crate) const RCU_IS_BARRIER: bool = cfg!(not(any(
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
pub(crate) struct ReadSection {
    _guard: Option<kernel::sync::rcu::Guard>,
}

impl ReadSection {
    /// Enters a read-side critical section.
    #[inline(always)]
    pub(crate) fn enter() -> Self {
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

/// The entry of slot `index` if it is live with `generation`, for as long
/// as the read-side section lasts.
#[inline(always)]
pub(crate) fn live<'a>(
    _rcu: &'a ReadSection,
    index: usize,
    generation: usize,
) -> Option<LiveEntry<'a>> {
    // The acquire load pairs with `publish`'s release store.
    let found = table_slot(index)?.load(Ordering::Acquire);
    if found.is_null() {
        return None;
    }
    // SAFETY: A published entry is freed only a grace period after
    // `remove` cleared its slot, and the RCU read lock is held for the
    // borrow.
    let entry = unsafe { &*found };
    if entry.generation != generation {
        return None;
    }
    // INVARIANT: the entry was published in the section.
    Some(LiveEntry { entry })
}
