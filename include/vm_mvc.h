/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vm_mvc - read, write or zero a partial page of a file's page cache.
 *
 * The Linux counterpart of the AIX kernel service of the same name, for
 * filesystems written in C; see Documentation/vm_mvc.rst for the rules,
 * every error number and the locking.  Rust modules use
 * rust/vm_mvc_client.rs, a safe wrapper over the same functions.
 *
 * This is the native Linux API: every function returns 0 (or a sid, or a
 * folio) on success and a NEGATIVE errno on failure, as kernel functions
 * do.  AIX returns positive errnos: code ported from AIX that tests
 * "rc == ENOENT" must not call these functions directly.
 */
#ifndef _VM_MVC_H
#define _VM_MVC_H

#include <linux/types.h>

struct folio;
struct inode;
struct iov_iter;

/* A memory object: one file's page cache, named by vm_mvc_sid_create(). */
typedef long vmid_t;
/* A page of a memory object, in PAGE_SIZE units (the page-cache index). */
typedef long vpn_t;

/* Commands, with the values of AIX <sys/vmuser.h>. */
#define VM_MVC_ZERO	1	/* zero m1 bytes */
#define VM_MVC_READ	2	/* copy m1 -> m2 */
#define VM_MVC_WRITE	3	/* copy m2 -> m1 */
#define VM_MVC_PROTZERO	4	/* zero m1 bytes and write-protect the page */
#define VM_MVC_CMD_MASK	0xff	/* the command bits of cmd */

/*
 * Flags or-ed into cmd.  By default ZERO, WRITE and PROTZERO mark an
 * uptodate folio dirty, as a store marks an AIX page modified.
 * VM_MVC_NODIRTY leaves the folio's dirty state to the caller: zeroing
 * the EOF tail during writeback, or dirtying only the caller's own blocks
 * (buffer heads, iomap).  PROTZERO still keeps the dirty bits it takes
 * from the page-table entries.
 */
#define VM_MVC_NODIRTY	0x100

/* struct xmem.aspace_id, as in AIX <sys/xmem.h>. */
#define XMEM_PROC	0	/* a pinned user buffer */
#define XMEM_GLOBAL	(-1)	/* a kernel buffer (kmalloc or vmalloc) */
#define XMEM_INVAL	(-2)	/* not attached */

/*
 * vm_mvc_xmattach() flags.  The first two are AIX's segflag values; then
 * the direction, at least one of which is required: a SOURCE is read by
 * VM_MVC_WRITE (a user source is pinned without FOLL_WRITE, so a PROT_READ
 * mapping works and copy-on-write is not broken), a DEST is written by
 * VM_MVC_READ (pinned with FOLL_WRITE).  A call in a direction the buffer
 * was not attached for is -EACCES.
 */
#define USER_ADSPACE		0	/* a user buffer of current->mm, pinned */
#define SYS_ADSPACE		1	/* a kernel buffer: no pin, no allocation */
#define VM_MVC_XMEM_SOURCE	2	/* m2 is read (VM_MVC_WRITE) */
#define VM_MVC_XMEM_LONGTERM	4	/* user: FOLL_LONGTERM, charged to RLIMIT_MEMLOCK */
#define VM_MVC_XMEM_DEST	8	/* m2 is written (VM_MVC_READ) */

/**
 * struct xmem - cross-memory descriptor of a buffer (m2).
 * @aspace_id: XMEM_INVAL before vm_mvc_xmattach() and after
 *	vm_mvc_xmdetach(); XMEM_PROC or XMEM_GLOBAL while attached.
 * @uaddr: first byte of the attached buffer.
 * @len: length of the attached buffer in bytes.
 * @flags: the vm_mvc_xmattach() flags.
 * @priv: vm_mvc's record of the pinned pages (NULL for a kernel buffer);
 *	not for the caller.
 *
 * Initialise with XMEM_INIT.  A descriptor belongs to the caller, which
 * must not change or copy it while attached nor use it from two threads
 * at once while attaching or detaching.
 */
struct xmem {
	long aspace_id;
	unsigned long uaddr;
	unsigned long len;
	int flags;
	void *priv;
};

#define XMEM_INIT { .aspace_id = XMEM_INVAL }

/*
 * The AIX entry point: (sid, pno) is looked up, locked and released; the
 * folio must be uptodate (-ENODATA).  Safe even against a concurrent
 * eviction of the inode (see Documentation/vm_mvc.rst).
 */
int vm_mvc(vmid_t sid, vpn_t pno, int pgoffs, int count, int cmd,
	   struct xmem *xmemdp, void *ptr);

/* The same on a folio the caller holds locked; pno must be inside it. */
int vm_mvc_folio(struct folio *folio, vpn_t pno, int pgoffs, int count,
		 int cmd, struct xmem *xmemdp, void *ptr);

/* The same on any byte range of a locked folio, large folios included. */
int vm_mvc_folio_range(struct folio *folio, size_t offset, size_t count,
		       int cmd, struct xmem *xmemdp, void *ptr);

/*
 * The Linux-native m2: VM_MVC_READ (into an ITER_DEST iterator) or
 * VM_MVC_WRITE (from an ITER_SOURCE one), or-ed with VM_MVC_NODIRTY, of
 * @count bytes of a page, with no xmem.  Returns the bytes copied (fewer
 * than @count only if a user buffer faulted part-way; the iterator
 * advances by as many) or a negative errno.  By sid, READ takes no folio
 * lock and WRITE faults the source in before it locks, so a user buffer
 * may be a mapping of the very page.  On a locked folio nothing faults:
 * fault the buffer in before locking (fault_in_iov_iter_readable() or
 * _writeable()); a buffer that is not resident gives a short copy.
 */
ssize_t vm_mvc_iter(vmid_t sid, vpn_t pno, int pgoffs, int count, int cmd,
		    struct iov_iter *iter);
ssize_t vm_mvc_folio_iter(struct folio *folio, size_t offset, size_t count,
			  int cmd, struct iov_iter *iter);

/*
 * Like AIX vm_makep, with a Linux contract: finds or creates the folio of
 * (sid, pno), returned locked and with a reference (folio_unlock() and
 * folio_put() it); a new folio is !uptodate and the caller fills it with
 * vm_mvc_folio().  The caller keeps the inode from eviction for the call.
 * ERR_PTR(-errno) on failure: -EOPNOTSUPP for a shmem file (shmem creates
 * its own folios) and for the files vm_mvc_sid_create() refuses.
 */
struct folio *vm_mvc_makep(vmid_t sid, vpn_t pno);

/*
 * AIX vms_create/vms_delete: a sid names @inode's page cache, without
 * holding a reference on it.  Create when the inode is set up, keep the
 * sid in the inode's private info, and delete it in ->evict_inode before
 * truncate_inode_pages_final().  Delete is O(1) and never sleeps (process
 * context; spinlocks may be held).  Create returns -EINVAL for a null
 * inode or one whose i_mapping is not its own i_data, and -EOPNOTSUPP for
 * a file whose memory is not ordinary page-cache folios in the kernel's
 * direct map: DAX, hugetlbfs, inaccessible (guest_memfd) or secretmem.
 */
vmid_t vm_mvc_sid_create(struct inode *inode);
int vm_mvc_sid_delete(vmid_t sid);

/*
 * Attaches (and for user buffers pins) @len bytes at @addr to @dp.  A
 * kernel buffer's attach and detach allocate nothing and never sleep.
 */
int vm_mvc_xmattach(void *addr, size_t len, struct xmem *dp, int flags);
int vm_mvc_xmdetach(struct xmem *dp);

#endif /* _VM_MVC_H */
