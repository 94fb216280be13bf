// SPDX-License-Identifier: GPL-2.0

//! Checks of rust/vm_mvc_client.rs, the wrapper other Rust modules include,
//! against the real exports.

use kernel::prelude::*;

#[kunit_tests(vm_mvc_client)]
mod tests {
    use crate::{
        folio::FolioGuard,
        test_fixture::{file_with_pages, pattern, RamFs, UserMemory},
        vm_mvc_client::{
            locked_folio_read_iter, locked_folio_write_iter, mvc_locked_folio,
            mvc_locked_folio_range, mvc_raw, Access, Dirtying, KernelBuffer, Op, Sid, UserBuffer,
        },
    };
    use core::ptr::NonNull;
    use kernel::{page::PAGE_SIZE, prelude::*};

    #[test]
    fn every_op_through_the_wrapper() -> Result {
        let fs = RamFs::new()?;
        let file = fs.create(c"client")?;
        file.fill_pages(1, pattern)?;
        // SAFETY: The open file keeps the inode alive; the sid is deleted
        // below, before the file is closed.
        let sid = unsafe { Sid::create(file.inode().as_ptr()) }?;
        let mut buf = KVec::from_elem(0u8, 32, GFP_KERNEL)?;
        let kernel = KernelBuffer::attach(&mut buf)?;
        sid.mvc(
            0,
            100,
            16,
            Op::Read {
                to: &kernel,
                at: 16,
            },
        )?;
        sid.mvc(
            0,
            0,
            16,
            Op::Write {
                from: &kernel,
                at: 16,
            },
        )?;
        file.clean(0)?;
        sid.mvc(0, 16, 4, Op::Zero.nodirty())?;
        assert!(!file.folio(0).ok_or(ENOENT)?.is_dirty());
        sid.mvc(0, 20, 4, Op::ProtZero)?;
        assert_eq!(sid.mvc(0, PAGE_SIZE, 1, Op::Zero), Err(EINVAL));
        assert_eq!(
            sid.mvc(0, 0, 33, Op::Read { to: &kernel, at: 0 }),
            Err(EFAULT)
        );
        assert_eq!(sid.mvc(7, 0, 1, Op::Zero), Err(ENOENT));
        // SAFETY: The open file keeps the inode alive.
        let made = NonNull::new(unsafe { sid.make_page(7) }?).ok_or(ENOMEM)?;
        // SAFETY: `make_page` returned the folio locked and referenced.
        let made = unsafe { FolioGuard::from_raw_locked(made) };
        assert!(made.contains(7) && !made.is_uptodate());
        drop(made);
        // Not uptodate: by sid every command refuses it.
        assert_eq!(sid.mvc(7, 0, 1, Op::Zero), Err(ENODATA));
        // SAFETY: Created above, deleted once.
        unsafe { sid.delete() }?;
        assert_eq!(sid.mvc(0, 0, 1, Op::Zero), Err(EBADF));
        // SAFETY: As above; a second delete is refused.
        assert_eq!(unsafe { sid.delete() }, Err(EBADF));
        drop(kernel);
        assert!(buf[16..]
            .iter()
            .enumerate()
            .all(|(i, &b)| b == pattern(100 + i)));
        let mut page = KVec::from_elem(0u8, 32, GFP_KERNEL)?;
        file.read(0, &mut page)?;
        assert!(page[..16]
            .iter()
            .enumerate()
            .all(|(i, &b)| b == pattern(100 + i)));
        assert!(page[16..24].iter().all(|&b| b == 0));
        assert!(page[24..]
            .iter()
            .enumerate()
            .all(|(i, &b)| b == pattern(24 + i)));
        Ok(())
    }

    #[test]
    fn user_buffers_and_locked_folios_through_the_wrapper() -> Result {
        let (_fs, file, _sid) = file_with_pages(1, pattern)?;
        let user = UserMemory::anonymous(1)?;
        user.store(0, &[9; 8])?;
        let read_only = UserBuffer::attach(user.addr(0), 8, Access::Source)?;
        let op = Op::Read {
            to: &read_only,
            at: 0,
        };
        file.clean(0)?;
        let folio = file.lock(0)?;
        // SAFETY: `folio` is locked and referenced by this test.
        let refused = unsafe { mvc_locked_folio(folio.as_ptr(), 0, 0, 8, op) };
        assert_eq!(refused, Err(EACCES));
        let op = Op::Write {
            from: &read_only,
            at: 0,
        };
        // SAFETY: As above.
        unsafe { mvc_locked_folio(folio.as_ptr(), 0, 8, 8, op.nodirty()) }?;
        assert!(!folio.is_dirty());
        // SAFETY: As above.
        unsafe { mvc_locked_folio(folio.as_ptr(), 0, 8, 8, op) }?;
        assert!(folio.is_dirty());
        // The folio-wide entry: bounded by the folio, not the base page.
        let size = folio.size();
        // SAFETY: As above.
        unsafe { mvc_locked_folio_range(folio.as_ptr(), 4, 2, Op::Zero) }?;
        // SAFETY: As above.
        let past = unsafe { mvc_locked_folio_range(folio.as_ptr(), size, 1, Op::Zero) };
        assert_eq!(past, Err(EINVAL));
        drop(folio);
        let mut page = [0u8; 16];
        file.read(0, &mut page)?;
        assert!(page[..4].iter().enumerate().all(|(i, &b)| b == pattern(i)));
        assert_eq!(&page[4..6], &[0; 2]);
        assert_eq!((page[6], page[7]), (pattern(6), pattern(7)));
        assert_eq!(&page[8..], &[9; 8]);
        Ok(())
    }

    #[test]
    fn raw_calls_get_vm_mvcs_own_checks() -> Result {
        let (_fs, _file, sid) = file_with_pages(1, pattern)?;
        let user = UserMemory::anonymous(1)?;
        let buffer = UserBuffer::attach(user.addr(0), 64, Access::Both)?;
        // Values the typed wrapper cannot express reach vm_mvc as given.
        let (zero, read) = (1, 2);
        assert_eq!(mvc_raw(sid.0, -1, 0, 1, zero, None, 0), Err(EINVAL));
        assert_eq!(mvc_raw(sid.0, 0, -1, 1, zero, None, 0), Err(EINVAL));
        assert_eq!(mvc_raw(sid.0, 0, 0, -1, zero, None, 0), Err(EINVAL));
        assert_eq!(mvc_raw(sid.0, 0, 0, 1, 9, None, 0), Err(EINVAL));
        assert_eq!(mvc_raw(-5, 0, 0, 1, zero, None, 0), Err(EBADF));
        assert_eq!(mvc_raw(sid.0, 0, 0, 1, read, None, 0), Err(EINVAL));
        let past_the_end = user.addr(60);
        let ret = mvc_raw(sid.0, 0, 0, 8, read, Some(&buffer), past_the_end);
        assert_eq!(ret, Err(EFAULT));
        mvc_raw(sid.0, 0, 3, 8, read, Some(&buffer), user.addr(10))?;
        drop(buffer);
        let mut seen = [0u8; 8];
        user.load(10, &mut seen)?;
        assert!(seen.iter().enumerate().all(|(i, &b)| b == pattern(3 + i)));
        Ok(())
    }

    #[test]
    fn iterators_through_the_wrapper() -> Result {
        use crate::test_fixture::{IterDir, TestIter};
        use kernel::iov::{IovIterDest, IovIterSource};
        let (_fs, file, sid) = file_with_pages(1, pattern)?;
        let sid = Sid::from_raw(sid.0);
        let mut out = KVec::from_elem(0u8, 20, GFP_KERNEL)?;
        let mut it = TestIter::kvec(&mut [&mut out], IterDir::Dest)?;
        // SAFETY: Built as an `ITER_DEST` iterator over the test's buffer.
        let dest = unsafe { IovIterDest::from_raw(it.as_raw()) };
        assert_eq!(sid.read_iter(0, 5, 20, dest), Ok(20));
        assert_eq!(sid.read_iter(0, 5, 1, dest), Err(EFAULT));
        let mut data = KVec::from_elem(0x3cu8, 20, GFP_KERNEL)?;
        let mut it = TestIter::kvec(&mut [&mut data], IterDir::Source)?;
        // SAFETY: Built as an `ITER_SOURCE` iterator over the test's data.
        let source = unsafe { IovIterSource::from_raw(it.as_raw()) };
        file.clean(0)?;
        assert_eq!(sid.write_iter(0, 100, 10, source, Dirtying::Leave), Ok(10));
        assert!(!file.folio(0).ok_or(ENOENT)?.is_dirty());
        let folio = file.lock(0)?;
        // SAFETY: `folio` is locked and referenced by this test.
        let wrote =
            unsafe { locked_folio_write_iter(folio.as_ptr(), 110, 10, source, Dirtying::Dirty) };
        assert_eq!(wrote, Ok(10));
        assert!(folio.is_dirty());
        let mut back = KVec::from_elem(0u8, 20, GFP_KERNEL)?;
        let mut it = TestIter::kvec(&mut [&mut back], IterDir::Dest)?;
        // SAFETY: As above, for reading.
        let dest = unsafe { IovIterDest::from_raw(it.as_raw()) };
        // SAFETY: `folio` is locked and referenced by this test.
        let read = unsafe { locked_folio_read_iter(folio.as_ptr(), 100, 20, dest) };
        assert_eq!(read, Ok(20));
        drop(folio);
        drop(it);
        assert!(back.iter().all(|&b| b == 0x3c));
        assert!(out.iter().enumerate().all(|(i, &b)| b == pattern(5 + i)));
        Ok(())
    }
}
