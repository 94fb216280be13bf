/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AIX <sys/vmuser.h> for code ported from AIX: vm_mvc(), vms_create() and
 * vms_delete() with AIX's prototypes and POSITIVE errno returns, as thin
 * inlines over the native vm_mvc API (include/vm_mvc.h, which returns
 * negative errnos).  Build with -I for this directory (include/aix) and
 * for include/.  In a file that includes this header, vm_mvc() is the AIX
 * service; Documentation/vm_mvc.rst, "Porting from AIX", lists what
 * differs from AIX.
 */
#ifndef _AIX_SYS_VMUSER_H
#define _AIX_SYS_VMUSER_H

#include <linux/errno.h>
#include <vm_mvc.h>

/*
 * The gnode of a Linux filesystem is its inode: a client segment names
 * inode->i_mapping.  vms_create() type: only V_CLIENT;
 * V_INTRSEG is accepted and has no effect (page waits are not
 * interruptible here either way).
 */
#define V_CLIENT	0x01000000	/* the names are AIX's, the values this header's */
#define V_INTRSEG	0x02000000

/* AIX returns errnos positive: the AIX form of a native -errno. */
static inline int aix_errno(int native)
{
	return -native;
}

/*
 * vms_create - create the client segment of @gn and store its id in *@vmid.
 * Call it when the inode is set up and keep the id for the inode's life;
 * @size, @uplim and @downlim are ignored (the page cache has no size
 * limit of its own).  Returns 0, EINVAL (a type other than V_CLIENT, a
 * null inode or vmid, an inode whose i_mapping is not its own), ENOMEM
 * or ENOSPC: positive, as on AIX; and EOPNOTSUPP for a DAX, hugetlbfs,
 * inaccessible (guest_memfd) or secretmem file, which vm_mvc cannot serve.
 */
static inline int vms_create(vmid_t *vmid, int type, struct inode *gn,
			     int size, int uplim, int downlim)
{
	vmid_t sid;

	if (!vmid || (type & ~V_INTRSEG) != V_CLIENT)
		return aix_errno(-EINVAL);
	sid = vm_mvc_sid_create(gn);
	if (sid < 0)
		return aix_errno((int)sid);
	*vmid = sid;
	return 0;
}

/*
 * vms_delete - delete a segment: from ->evict_inode, before
 * truncate_inode_pages_final().  Returns 0, or EINVAL if @vmid is not a
 * live segment, as on AIX.
 */
static inline int vms_delete(vmid_t vmid)
{
	return vm_mvc_sid_delete(vmid) ? aix_errno(-EINVAL) : 0;
}

/*
 * vm_mvc - AIX vm_mvc(): 0, or a positive errno: ENOENT (page not in the
 * page cache, or truncated meanwhile), EINVAL (bad command, range crossing
 * the page, no buffer for READ/WRITE, negative argument), and the Linux
 * additions of Documentation/vm_mvc.rst: ENODATA (the folio is not
 * uptodate), EBADF (not a live segment), EFAULT and EACCES (the buffer).
 */
static inline int aix_vm_mvc(vmid_t sid, vpn_t pno, int pgoffs, int count,
			     int cmd, struct xmem *xmemdp, void *ptr)
{
	return aix_errno(vm_mvc(sid, pno, pgoffs, count, cmd, xmemdp, ptr));
}

#define vm_mvc aix_vm_mvc

/*
 * AIX vm_makep() is not provided: it makes a page "addressable" with
 * undefined contents for a later vm_mvc(), which on Linux would leave a
 * !uptodate folio that vm_mvc() refuses (ENODATA) and read_folio would
 * overwrite.  Use vm_mvc_makep(), which returns the folio locked: fill it
 * with vm_mvc_folio(), folio_mark_uptodate(), then unlock and put it.
 */

#endif /* _AIX_SYS_VMUSER_H */
