/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AIX <sys/xmem.h> for code ported from AIX: cross-memory descriptors with
 * AIX's return values, as thin inlines over the native vm_mvc API
 * (include/vm_mvc.h), the way ZFS's Solaris Porting Layer presents Solaris
 * interfaces on Linux.  Build with -I for this directory (include/aix) and
 * for include/.  Documentation/vm_mvc.rst, "Porting from AIX", lists what
 * differs from AIX.
 */
#ifndef _AIX_SYS_XMEM_H
#define _AIX_SYS_XMEM_H

#include <vm_mvc.h>

/* AIX's return values of xmattach() and xmdetach(). */
#define XMEM_SUCC	0
#define XMEM_FAIL	(-1)

/*
 * xmattach - attach @count bytes at @addr to @dp (dp->aspace_id must be
 * XMEM_INVAL) for vm_mvc(); XMEM_SUCC or XMEM_FAIL, as on AIX.
 *
 * @segflag is USER_ADSPACE (the buffer is pinned until xmdetach(), as
 * AIX's xmattach() plus xmempin() would) or SYS_ADSPACE (a kernel buffer:
 * no pin, no allocation).  AIX's xmattach() has no direction, so a buffer
 * is attached for VM_MVC_READ and VM_MVC_WRITE alike, and a user buffer
 * is pinned writable: a PROT_READ mapping then fails (XMEM_FAIL), and a
 * private mapping is copied.  A port that knows the direction (uio_rw)
 * may or VM_MVC_XMEM_SOURCE (a write(2) buffer) or VM_MVC_XMEM_DEST (a
 * read(2) buffer) into @segflag, a Linux extension.  The native
 * vm_mvc_xmattach() says why it failed (a negative errno).
 */
static inline int xmattach(char *addr, int count, struct xmem *dp, int segflag)
{
	if (!(segflag & (VM_MVC_XMEM_SOURCE | VM_MVC_XMEM_DEST)))
		segflag |= VM_MVC_XMEM_SOURCE | VM_MVC_XMEM_DEST;
	if (count <= 0)
		return XMEM_FAIL;
	return vm_mvc_xmattach(addr, count, dp, segflag) ? XMEM_FAIL : XMEM_SUCC;
}

/* xmdetach - detach @dp (unpinning a user buffer); XMEM_SUCC or XMEM_FAIL. */
static inline int xmdetach(struct xmem *dp)
{
	return vm_mvc_xmdetach(dp) ? XMEM_FAIL : XMEM_SUCC;
}

#endif /* _AIX_SYS_XMEM_H */
