/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vm_mvc - read, write or zero a partial page of a file's page cache.
 *
 * The Linux counterpart of the AIX kernel service of the same name, for
 * filesystems written in C; see Documentation/vm_mvc.rst.
 */
#ifndef _VM_MVC_H
#define _VM_MVC_H

/* Commands, with the values of AIX <sys/vmuser.h>. */
#define VM_MVC_ZERO	1	/* zero m1 bytes */
#define VM_MVC_READ	2	/* copy m1 -> m2 */
#define VM_MVC_WRITE	3	/* copy m2 -> m1 */
#define VM_MVC_PROTZERO	4	/* zero m1 bytes and write-protect the page */

#endif /* _VM_MVC_H */
