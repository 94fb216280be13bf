/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the Rust side of vm_mvc sees of C, through bindgen (rust/Kbuild):
 * the public ABI (to check the Rust definitions against it), one-line
 * forwarders to static inline kernel functions (vm_mvc_helpers.c), and
 * the headers of the few exported functions and constants that the
 * kernel's own Rust bindings lack.
 */
#ifndef _VM_MVC_HELPERS_H
#define _VM_MVC_HELPERS_H

#include <linux/cacheflush.h>
#include <linux/dax.h>
#include <linux/fcntl.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mount.h>
#include <linux/pagemap.h>
#include <linux/percpu.h>
#include <linux/rmap.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/uio.h>
#include <vm_mvc.h>

/*
 * Constants bindgen cannot read (casts, or macros of the architecture):
 * - __filemap_get_folio() flags: a lookup that locks the folio only if it
 *   is free, so it never sleeps;
 * - whether flush_dcache_folio() and flush_dcache_page() do anything on
 *   this architecture (they are empty inlines where it is 0);
 * - the file_operations flag of hugetlbfs files (is_file_hugepages()),
 *   the flag of kern_mount()'s mounts and secretmem's filesystem magic.
 */
enum {
	VM_MVC_FGP_TRYLOCK = (__force unsigned int)(FGP_LOCK | FGP_NOWAIT),
	VM_MVC_ARCH_FLUSHES_DCACHE = ARCH_IMPLEMENTS_FLUSH_DCACHE_PAGE,
	VM_MVC_FOP_HUGE_PAGES = (__force unsigned int)FOP_HUGE_PAGES,
	VM_MVC_SB_KERNMOUNT = SB_KERNMOUNT,
	VM_MVC_SECRETMEM_MAGIC = SECRETMEM_MAGIC,
};

struct folio *vm_mvc_filemap_grab_folio(struct address_space *mapping, pgoff_t index);
struct folio *vm_mvc_folio_alloc(gfp_t gfp, unsigned int order);
void vm_mvc_folio_get(struct folio *folio);
void vm_mvc_folio_put(struct folio *folio);
void vm_mvc_folio_lock(struct folio *folio);
bool vm_mvc_folio_test_dirty(const struct folio *folio);
bool vm_mvc_folio_test_waiters(const struct folio *folio);
void vm_mvc_folio_mark_uptodate(struct folio *folio);
bool vm_mvc_folio_maybe_dma_pinned(struct folio *folio);
size_t vm_mvc_folio_size(const struct folio *folio);
unsigned int vm_mvc_folio_order(const struct folio *folio);
int vm_mvc_folio_entire_mapcount(const struct folio *folio);
struct page *vm_mvc_folio_page(struct folio *folio, unsigned long n);
struct folio *vm_mvc_page_folio(struct page *page);
void *vm_mvc_kmap_local_page(struct page *page);
void vm_mvc_kunmap_local(const void *addr);
void vm_mvc_folio_zero_range(struct folio *folio, size_t start, size_t length);
void vm_mvc_memcpy_from_folio(char *to, struct folio *folio, size_t offset, size_t len);
void vm_mvc_memcpy_to_folio(struct folio *folio, size_t offset, const char *from, size_t len);
void vm_mvc_flush_dcache_folio(struct folio *folio);
void vm_mvc_flush_dcache_page(struct page *page);
void vm_mvc_mapping_set_large_folios(struct address_space *mapping);
void vm_mvc_mapping_set_stable_writes(struct address_space *mapping);
void vm_mvc_mapping_set_inaccessible(struct address_space *mapping);
bool vm_mvc_mapping_inaccessible(const struct address_space *mapping);
bool vm_mvc_mapping_writably_mapped(const struct address_space *mapping);
bool vm_mvc_dax_mapping(struct address_space *mapping);
bool vm_mvc_virt_addr_valid(const void *addr);
void vm_mvc_put_page(struct page *page);
bool vm_mvc_fatal_signal_pending(struct task_struct *p);
void __percpu *vm_mvc_alloc_percpu(size_t size, size_t align);
u64 *vm_mvc_get_cpu_ptr(u64 __percpu *counters);
void vm_mvc_put_cpu_ptr(u64 __percpu *counters);
u64 *vm_mvc_per_cpu_ptr(u64 __percpu *counter, unsigned int cpu);
void vm_mvc_allow_signal(int sig);
void vm_mvc_disallow_signal(int sig);

#endif /* _VM_MVC_HELPERS_H */
