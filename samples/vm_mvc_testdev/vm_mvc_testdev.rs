// SPDX-License-Identifier: GPL-2.0

//! vm_mvc_testdev: vm_mvc for user space, for tests only.
//!
//! A misc device, `/dev/vm_mvc_testdev`, through which a guest test program
//! creates sids for files and calls `vm_mvc` with *user* buffers: the
//! path on which vm_mvc pins user pages, which no filesystem of this
//! project exercises from user space.  Arguments reach vm_mvc as user space
//! wrote them, so vm_mvc's own checks meet every bad value.  The ioctls are
//! described in `uapi.rs` and Documentation/testing.rst.
//!
//! Only `CAP_SYS_ADMIN` may open the device or call it (`EPERM`), whatever
//! the mode of its node: a root test harness, never loaded by the product.
//! A sid holds no inode reference, so the device keeps a reference on the
//! file of each sid it created, and deletes the sid before dropping it:
//! the rule a filesystem follows by deleting its sids in `evict_inode`.
//! The sids an open file created are deleted when it is released, except
//! one handed to the LEAK ioctl, which stays live, its file reference
//! dropped, until vm_mvc is unloaded (the test of vm_mvc's warning about
//! leaked sids, which breaks that rule on purpose).
//!
//! A sid only writes what its descriptor could: SID_CREATE records the
//! sids of files not open for writing (no `FMODE_WRITE`, e.g. `O_RDONLY`),
//! and MVC refuses ZERO, WRITE and PROTZERO on them with `EBADF`, as
//! write(2), fallocate(2) and `FICLONE` do on such a descriptor; READ works.
//! The record is module-wide, so no other open file of the device can use
//! such a sid to write either.

use core::mem::ManuallyDrop;
use kernel::{
    bindings,
    fs::{
        file::flags,
        File,
        LocalFile, //
    },
    miscdevice::{
        MiscDevice,
        MiscDeviceOptions,
        MiscDeviceRegistration, //
    },
    new_mutex,
    prelude::*,
    sync::{aref::ARef, global_lock, Mutex},
    time::{
        delay::fsleep,
        Delta, //
    },
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

mod uapi;

/// include/vm_mvc.h as bindgen reads it (rust/vm_mvc_client.mk), for the
/// wrapper below.
#[allow(
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    dead_code,
    improper_ctypes,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    unreachable_pub
)]
mod vm_mvc_abi {
    use kernel::bindings::*;
    use kernel::ffi;
    include!("vm_mvc_abi_generated.rs");
}

/// The vm_mvc C ABI, wrapped once (rust/vm_mvc_client.rs).  The test
/// device uses user buffers and raw calls, not kernel buffers or folios.
#[allow(dead_code, unreachable_pub)]
#[path = "../../rust/vm_mvc_client.rs"]
mod vm_mvc_client;

use vm_mvc_client::{Access, Sid, UserBuffer};

/// Whether `file` was opened for writing: the access mode of its open
/// flags is `O_WRONLY` or `O_RDWR`, which is when the VFS gives it
/// `FMODE_WRITE`, the check of write(2) and fallocate(2) (`EBADF` without
/// it).  Mode 3 (ioctl only) gets neither `FMODE_READ` nor `FMODE_WRITE`.
fn open_for_writing(file: &File) -> bool {
    matches!(
        file.flags() & flags::O_ACCMODE,
        flags::O_WRONLY | flags::O_RDWR
    )
}

global_lock! {
    // SAFETY: Initialized in the module initializer, before the device
    // (the only user) is registered.
    unsafe(uninit) static READ_ONLY_SIDS: Mutex<KVec<isize>> = KVec::new();
}

/// Whether `cmd` changes the file: ZERO, WRITE or PROTZERO, with or without
/// `VM_MVC_NODIRTY`.  Other commands reach vm_mvc, which refuses them.
fn cmd_writes(cmd: i32) -> bool {
    // CAST: small constants of include/vm_mvc.h.
    let command = cmd & vm_mvc_abi::VM_MVC_CMD_MASK as i32;
    [
        vm_mvc_abi::VM_MVC_ZERO,
        vm_mvc_abi::VM_MVC_WRITE,
        vm_mvc_abi::VM_MVC_PROTZERO,
    ]
    .iter()
    // CAST: as above.
    .any(|&c| c as i32 == command)
}

module! {
    type: TestDevModule,
    name: "vm_mvc_testdev",
    authors: ["vm_mvc developers"],
    description: "Test device: vm_mvc with user buffers from user space (tests only)",
    license: "GPL",
}

#[pin_data(PinnedDrop)]
struct TestDevModule {
    #[pin]
    _misc: MiscDeviceRegistration<TestDev>,
}

impl kernel::InPlaceModule for TestDevModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        // SAFETY: Called once, at load, before the device is registered.
        unsafe { READ_ONLY_SIDS.init() };
        let options = MiscDeviceOptions {
            name: c"vm_mvc_testdev",
        };
        try_pin_init!(Self {
            _misc <- MiscDeviceRegistration::register(options),
        })
    }
}

#[pinned_drop]
impl PinnedDrop for TestDevModule {
    fn drop(self: Pin<&mut Self>) {
        // No file of the device is open at unload: only leaked sids are
        // left; the memory goes.
        drop(core::mem::take(&mut *READ_ONLY_SIDS.lock()));
    }
}

/// Whether the calling task has `CAP_SYS_ADMIN`; `EPERM` if not.
fn check_admin() -> Result {
    // CAST: a small capability number.
    let cap = bindings::CAP_SYS_ADMIN as i32;
    // SAFETY: `capable` only reads the current task's credentials.
    if unsafe { bindings::capable(cap) } {
        Ok(())
    } else {
        Err(EPERM)
    }
}

/// A sid this device created, and a reference on the file it names that
/// keeps the inode from eviction while the sid lives.  A sid of a file not
/// open for writing is in `READ_ONLY_SIDS` from its create to its delete.
struct OwnedSid {
    sid: Sid,
    _file: ARef<File>,
    read_only: bool,
}

impl OwnedSid {
    /// Drops the file reference and leaves the sid live.
    fn leak(self) {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped, so the file reference is moved
        // out (and dropped) exactly once; only the `Copy` sid is left.
        drop(unsafe { core::ptr::read(&this._file) });
    }
}

impl Drop for OwnedSid {
    fn drop(&mut self) {
        // SAFETY: Created by this device and deleted once, here, before
        // the file reference goes (fields drop after `drop`).
        let _ = unsafe { self.sid.delete() };
        if self.read_only {
            // After the delete: until then an MVC must find the record.
            let mut read_only = READ_ONLY_SIDS.lock();
            if let Some(index) = read_only.iter().position(|&s| s == self.sid.raw()) {
                // The index was just found: the remove cannot fail.
                let _ = read_only.remove(index);
            }
        }
    }
}

/// One open file of the device: the sids it created.
#[pin_data]
struct TestDev {
    #[pin]
    sids: Mutex<KVec<OwnedSid>>,
}

#[vtable]
impl MiscDevice for TestDev {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        check_admin()?;
        KBox::try_pin_init(
            try_pin_init!(TestDev {
                sids <- new_mutex!(KVec::new()),
            }),
            GFP_KERNEL,
        )
    }

    fn ioctl(me: Pin<&TestDev>, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        check_admin()?;
        let user = UserPtr::from_addr(arg);
        match cmd {
            uapi::SID_CREATE => me.create_sid(user)?,
            uapi::SID_DELETE => drop(me.take_sid(user)?),
            uapi::LEAK => {
                let owned = me.take_sid(user)?;
                pr_info!("leaving sid {} live on purpose\n", owned.sid.raw());
                owned.leak();
            }
            uapi::MVC => mvc(user)?,
            _ => return Err(ENOTTY),
        }
        Ok(0)
    }
}

impl TestDev {
    /// SID_CREATE: creates a sid for the regular file behind the caller's
    /// descriptor and writes it back.
    fn create_sid(&self, user: UserPtr) -> Result {
        let size = core::mem::size_of::<uapi::SidCreateArgs>();
        let (mut reader, mut writer) = UserSlice::new(user, size).reader_writer();
        let mut args = uapi::SidCreateArgs::read(&mut reader)?;
        if args.reserved != 0 {
            return Err(EINVAL);
        }
        let fd = u32::try_from(args.fd).map_err(|_| EBADF)?;
        // SAFETY: An ioctl makes no `fdget_pos` call.
        let file = unsafe { LocalFile::assume_no_fdget_pos(LocalFile::fget(fd)?) };
        // SAFETY: The file is referenced, and an open file's inode pointer
        // is set for its lifetime.
        let inode = unsafe { (*file.as_ptr()).f_inode };
        // SAFETY: As above: the inode lives as long as the file.
        let mode = u32::from(unsafe { (*inode).i_mode });
        if mode & bindings::S_IFMT != bindings::S_IFREG {
            return Err(EINVAL);
        }
        let read_only = !open_for_writing(&file);
        // Room first, so that a failed allocation leaves no sid behind.
        let mut sids = self.sids.lock();
        sids.reserve(1, GFP_KERNEL)?;
        // Held over the create, so that no MVC can find the new sid
        // unrecorded.
        let mut read_only_sids = READ_ONLY_SIDS.lock();
        if read_only {
            read_only_sids.reserve(1, GFP_KERNEL)?;
        }
        // SAFETY: The file reference moved into `OwnedSid` keeps the inode
        // alive, and `OwnedSid` deletes the sid before dropping it.
        let sid = unsafe { Sid::create(inode) }?;
        let owned = OwnedSid {
            sid,
            _file: file,
            read_only,
        };
        if read_only && read_only_sids.push_within_capacity(sid.raw()).is_err() {
            // Unlocked first: dropping `owned` deletes the sid.
            drop(read_only_sids);
            return Err(ENOMEM);
        }
        drop(read_only_sids);
        // CAST: `isize` has at most 64 bits.
        args.sid = sid.raw() as i64;
        writer.write(&args.fd)?;
        writer.write(&args.reserved)?;
        writer.write(&args.sid)?;
        sids.push_within_capacity(owned).map_err(|_| ENOMEM)?;
        Ok(())
    }

    /// SID_DELETE and LEAK: removes a sid this open file created from its
    /// list and returns it; `EBADF` for any other sid.
    fn take_sid(&self, user: UserPtr) -> Result<OwnedSid> {
        let raw: i64 = UserSlice::new(user, core::mem::size_of::<i64>())
            .reader()
            .read()?;
        let mut sids = self.sids.lock();
        let index = sids
            .iter()
            // CAST: `isize` has at most 64 bits.
            .position(|owned| owned.sid.raw() as i64 == raw)
            .ok_or(EBADF)?;
        sids.remove(index).map_err(|_| EBADF)
    }
}

/// MVC: attaches (pins) the user buffer for the call, calls vm_mvc with
/// the raw arguments, detaches (unpins).
fn mvc(user: UserPtr) -> Result {
    let mut reader = UserSlice::new(user, core::mem::size_of::<uapi::MvcArgs>()).reader();
    let args = uapi::MvcArgs::read(&mut reader)?;
    let known = uapi::MVC_BUF_SOURCE_ONLY | uapi::MVC_BUF_DEST_ONLY | uapi::MVC_PAUSE_AFTER_ATTACH;
    if args.flags & !known != 0 {
        return Err(EINVAL);
    }
    let access = match (
        args.flags & uapi::MVC_BUF_SOURCE_ONLY != 0,
        args.flags & uapi::MVC_BUF_DEST_ONLY != 0,
    ) {
        (false, false) => Access::Both,
        (true, false) => Access::Source,
        (false, true) => Access::Dest,
        (true, true) => return Err(EINVAL),
    };
    let buf = usize::try_from(args.buf).map_err(|_| EFAULT)?;
    let buf_len = usize::try_from(args.buf_len).map_err(|_| EINVAL)?;
    let ptr = usize::try_from(args.ptr).map_err(|_| EFAULT)?;
    // A 32-bit kernel's `long` cannot hold every 64-bit value: such a sid
    // names nothing and such a page number is no page.
    let sid = isize::try_from(args.sid).map_err(|_| EBADF)?;
    // First, as write(2) checks the descriptor before the buffer.  A sid
    // is never reissued with the same value (its generation), so one
    // deleted after this check fails in vm_mvc.
    if cmd_writes(args.cmd) && READ_ONLY_SIDS.lock().contains(&sid) {
        return Err(EBADF);
    }
    let pno = isize::try_from(args.pno).map_err(|_| EINVAL)?;
    let buffer = match buf_len {
        0 => None,
        _ => Some(UserBuffer::attach(buf, buf_len, access)?),
    };
    if args.flags & uapi::MVC_PAUSE_AFTER_ATTACH != 0 {
        fsleep(Delta::from_millis(uapi::PAUSE_MS));
    }
    let buffer = buffer.as_ref().map(|b| b as &dyn vm_mvc_client::Buffer);
    vm_mvc_client::mvc_raw(sid, pno, args.pgoffs, args.count, args.cmd, buffer, ptr)
}
