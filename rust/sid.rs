// SPDX-License-Identifier: GPL-2.0

//! The sid registry: AIX segment ids for files' page caches.
//!
//! `attach` takes an inode reference and hands out a sid; `detach` drops it.
//! A sid is `generation << INDEX_BITS | index`: `index` is the slot in an
//! xarray, and `generation` grows with every attach, so a sid whose slot was
//! detached and reused names nothing and is rejected (`EBADF`) instead of
//! reaching somebody else's file.
//!
//! Lookups are lock-free: `xa_load` under the RCU read lock, then `ihold` on
//! the inode.  That is safe because `detach` erases the slot, waits for an
//! RCU grace period and only then drops the registry's inode reference, so a
//! reader that found the entry still sees the inode referenced.

use crate::{inode::InodeRef, stats};
use core::ptr::NonNull;
use kernel::{
    bindings,
    ffi::c_void,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        rcu,
    },
    types::Opaque, //
};

/// Bits of a sid that hold the xarray slot.
const INDEX_BITS: u32 = 20;
/// Mask of the slot bits of a sid.
const INDEX_MASK: isize = (1 << INDEX_BITS) - 1;
/// Mask of the generation: a sid stays positive in a `vmid_t` (C `long`).
const GENERATION_MASK: usize = (1 << (usize::BITS - 1 - INDEX_BITS)) - 1;

/// One attached file.
struct Entry {
    /// The sid handed out; 0 until `attach` has chosen the slot.
    sid: Atomic<isize>,
    /// The registry's reference on the file.
    inode: InodeRef,
}

/// The registry of attached files.
///
/// # Invariants
///
/// After [`Registry::init`], `xa` is an initialised allocating xarray whose
/// entries are `KBox<Entry>` pointers, each owned by the registry.
struct Registry {
    xa: Opaque<bindings::xarray>,
    generation: Atomic<usize>,
}

// SAFETY: The xarray has its own lock and RCU-safe lookups; `generation` is
// atomic.
unsafe impl Sync for Registry {}

static REGISTRY: Registry = Registry {
    xa: Opaque::uninit(),
    generation: Atomic::new(0),
};

/// Prepares the registry; called once from module init, before any user.
pub(crate) fn init() {
    // SAFETY: Module init runs once, before anything else can reach the
    // registry; the xarray memory is static.
    //
    // INVARIANT: the xarray is initialised, empty, and allocating from 1.
    unsafe { bindings::xa_init_flags(REGISTRY.xa.get(), bindings::XA_FLAGS_ALLOC1) };
}

/// Detaches every sid still attached; called once from module exit.
///
/// Callers that never detached leaked an inode reference that would make
/// the file system's unmount complain; each is named in a warning.
pub(crate) fn detach_all() {
    let mut index: usize = 0;
    loop {
        // SAFETY: The registry is initialised; `xa_find` takes the RCU read
        // lock itself.
        let found = unsafe {
            bindings::xa_find(
                REGISTRY.xa.get(),
                &mut index,
                INDEX_MASK as usize,
                bindings::XA_PRESENT,
            )
        };
        if found.is_null() {
            break;
        }
        // SAFETY: Entries are `Entry` boxes owned by the registry (type
        // invariant); nothing else can detach during module exit.
        let sid = unsafe { &*found.cast::<Entry>() }.sid.load(Relaxed);
        // SAFETY: As above: the entry is alive until it is detached.
        let ino = unsafe { &*found.cast::<Entry>() }.inode.ino();
        pr_warn!("sid {sid} (inode {ino}) still attached at unload; detaching it\n");
        if detach(sid).is_err() {
            break;
        }
    }
    // SAFETY: The registry is empty and no longer reachable.
    unsafe { bindings::xa_destroy(REGISTRY.xa.get()) };
}

/// Attaches `inode`'s page cache and returns its new sid.
///
/// Each call hands out a new sid with its own inode reference.  `ENOSPC`
/// when 2^20 - 1 sids are attached, `ENOMEM` without memory.
///
/// # Safety
///
/// `inode` points to an inode on which the caller holds a reference for
/// the duration of the call.
pub(crate) unsafe fn attach(inode: NonNull<bindings::inode>) -> Result<isize> {
    let generation = REGISTRY.generation.fetch_add(1, Relaxed) & GENERATION_MASK;
    let entry = KBox::new(
        Entry {
            sid: Atomic::new(0),
            // SAFETY: The caller holds a reference for the duration.
            inode: unsafe { InodeRef::hold(inode) },
        },
        GFP_KERNEL,
    )?;
    let raw = KBox::into_raw(entry);
    let mut index: u32 = 0;
    let limit = bindings::xa_limit {
        min: 1,
        // CAST: `INDEX_MASK` fits in 20 bits.
        max: INDEX_MASK as u32,
    };
    // SAFETY: The registry is initialised; the lock is taken around
    // `__xa_alloc`, which may drop and retake it to allocate.
    let ret = unsafe {
        bindings::xa_lock(REGISTRY.xa.get());
        let ret = bindings::__xa_alloc(
            REGISTRY.xa.get(),
            &mut index,
            raw.cast::<c_void>(),
            limit,
            bindings::GFP_KERNEL,
        );
        bindings::xa_unlock(REGISTRY.xa.get());
        ret
    };
    if ret < 0 {
        // SAFETY: `raw` was not stored; it is still ours.
        drop(unsafe { KBox::from_raw(raw) });
        return Err(if ret == EBUSY.to_errno() {
            ENOSPC
        } else {
            Error::from_errno(ret)
        });
    }
    // CAST: the generation leaves the sign bit clear, so the sid is
    // positive; `index` has at most 20 bits.
    let sid = ((generation << INDEX_BITS) as isize) | index as isize;
    // SAFETY: `raw` is the registry's entry, alive until detached, which
    // needs the sid this function has not yet returned.
    unsafe { &*raw }.sid.store(sid, Relaxed);
    stats::sid_attached();
    Ok(sid)
}

/// The slot of `sid`, or `EBADF` for a value no attach ever returns.
fn slot(sid: isize) -> Result<usize> {
    let index = sid & INDEX_MASK;
    if sid <= 0 || index == 0 {
        return Err(EBADF);
    }
    // CAST: `index` is positive and below 2^20.
    Ok(index as usize)
}

/// Takes a reference on the file attached as `sid`.
///
/// `EBADF` if `sid` is not attached: never handed out, detached, or its
/// slot reused by a later attach (the generation differs).
pub(crate) fn lookup(sid: isize) -> Result<InodeRef> {
    let index = slot(sid)?;
    let _rcu = rcu::read_lock();
    // SAFETY: The registry is initialised; lookups under RCU are what
    // `xa_load` is for.
    let found = unsafe { bindings::xa_load(REGISTRY.xa.get(), index) }.cast::<Entry>();
    if found.is_null() {
        return Err(EBADF);
    }
    // SAFETY: Entries are freed, and their inode reference dropped, only
    // after an RCU grace period that follows their removal, and the RCU
    // read lock is held: the entry and the reference it owns are alive.
    let entry = unsafe { &*found };
    if entry.sid.load(Relaxed) != sid {
        return Err(EBADF);
    }
    Ok(entry.inode.clone())
}

/// Detaches `sid`: it names nothing afterwards, and the registry's inode
/// reference is dropped once no lookup can still be using the entry.
///
/// `EBADF` if `sid` is not attached.
pub(crate) fn detach(sid: isize) -> Result {
    let index = slot(sid)?;
    // SAFETY: The registry is initialised; the entry is checked and erased
    // under the xarray lock so two detaches cannot both erase it.
    let removed = unsafe {
        bindings::xa_lock(REGISTRY.xa.get());
        let found = bindings::xa_load(REGISTRY.xa.get(), index).cast::<Entry>();
        let matches = !found.is_null() && (*found).sid.load(Relaxed) == sid;
        if matches {
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
    // Lock-free readers may still hold the entry; wait them out.
    // SAFETY: Process context; no lock is held.
    unsafe { bindings::synchronize_rcu() };
    // SAFETY: The entry left the xarray and every reader is done with it,
    // so the box is ours; dropping it drops the inode reference.
    drop(unsafe { KBox::from_raw(removed) });
    stats::sid_detached();
    Ok(())
}

#[kunit_tests(vm_mvc_sid)]
mod tests {
    use super::*;
    use crate::test_fixture::RamFs;

    /// The inode's reference count.
    fn refs(inode: NonNull<bindings::inode>) -> i32 {
        // SAFETY: The test's open file keeps the inode alive; the counter is
        // an `atomic_t`, read once.
        unsafe { core::ptr::read_volatile(&(*inode.as_ptr()).i_count.counter) }
    }

    #[test]
    fn each_attach_names_the_inode_with_a_new_positive_sid() -> Result {
        let fs = RamFs::new()?;
        let file = fs.create(c"f")?;
        let (a, b) = (file.attach()?, file.attach()?);
        assert!(a.0 > 0 && b.0 > 0 && a.0 != b.0);
        assert_eq!(lookup(a.0)?.as_ptr(), file.inode().as_ptr());
        assert_eq!(lookup(b.0)?.as_ptr(), file.inode().as_ptr());
        Ok(())
    }

    #[test]
    fn attach_holds_one_inode_reference_until_detach() -> Result {
        let fs = RamFs::new()?;
        let file = fs.create(c"f")?;
        let before = refs(file.inode());
        let live = crate::stats::get().sids_live();
        let sid = file.attach()?;
        assert_eq!(refs(file.inode()), before + 1);
        assert_eq!(crate::stats::get().sids_live(), live + 1);
        drop(lookup(sid.0)?);
        assert_eq!(refs(file.inode()), before + 1);
        detach(sid.0)?;
        assert_eq!(refs(file.inode()), before);
        assert_eq!(crate::stats::get().sids_live(), live);
        Ok(())
    }

    #[test]
    fn detached_sid_is_rejected_and_cannot_be_detached_twice() -> Result {
        let fs = RamFs::new()?;
        let file = fs.create(c"f")?;
        let sid = file.attach()?;
        detach(sid.0)?;
        assert_eq!(lookup(sid.0).err(), Some(EBADF));
        assert_eq!(detach(sid.0), Err(EBADF));
        Ok(())
    }

    #[test]
    fn reused_slot_does_not_revive_an_old_sid() -> Result {
        let fs = RamFs::new()?;
        let file = fs.create(c"f")?;
        let old = file.attach()?;
        detach(old.0)?;
        // The allocator hands out the lowest free slot: the old one.
        let new = file.attach()?;
        assert_eq!(old.0 & INDEX_MASK, new.0 & INDEX_MASK);
        assert_ne!(old.0, new.0);
        assert_eq!(lookup(old.0).err(), Some(EBADF));
        assert_eq!(detach(old.0), Err(EBADF));
        assert!(lookup(new.0).is_ok());
        Ok(())
    }

    #[test]
    fn malformed_sids_are_ebadf() {
        for sid in [0, -1, isize::MIN, 1 << INDEX_BITS, INDEX_MASK + 1] {
            assert_eq!(lookup(sid).err(), Some(EBADF));
            assert_eq!(detach(sid), Err(EBADF));
        }
    }
}
