// SPDX-License-Identifier: GPL-2.0
/*
 * C side of the vm_mvc module.
 *
 * Rust reaches the kernel only through bindgen's view of it, and static
 * inline functions have no symbol to link against.  Each helper here
 * forwards to one such inline with the same signature and no logic of its
 * own, in the manner of rust/helpers/ (which out-of-tree modules cannot
 * extend).  The EXPORT_SYMBOL_GPL lines for the C ABI implemented in Rust
 * are here too, because modpost reads exports from C objects only.
 */

#include <linux/module.h>
#include "vm_mvc_helpers.h"

struct folio *vm_mvc_filemap_grab_folio(struct address_space *mapping, pgoff_t index)
{
	return filemap_grab_folio(mapping, index);
}

struct folio *vm_mvc_folio_alloc(gfp_t gfp, unsigned int order)
{
	return folio_alloc(gfp, order);
}

void vm_mvc_folio_get(struct folio *folio)
{
	folio_get(folio);
}

void vm_mvc_folio_put(struct folio *folio)
{
	folio_put(folio);
}

void vm_mvc_folio_lock(struct folio *folio)
{
	folio_lock(folio);
}

bool vm_mvc_folio_test_dirty(const struct folio *folio)
{
	return folio_test_dirty(folio);
}

bool vm_mvc_folio_test_waiters(const struct folio *folio)
{
	return folio_test_waiters(folio);
}

void vm_mvc_folio_mark_uptodate(struct folio *folio)
{
	folio_mark_uptodate(folio);
}

bool vm_mvc_folio_maybe_dma_pinned(struct folio *folio)
{
	return folio_maybe_dma_pinned(folio);
}

size_t vm_mvc_folio_size(const struct folio *folio)
{
	return folio_size(folio);
}

unsigned int vm_mvc_folio_order(const struct folio *folio)
{
	return folio_order(folio);
}

int vm_mvc_folio_entire_mapcount(const struct folio *folio)
{
	return folio_entire_mapcount(folio);
}

struct page *vm_mvc_folio_page(struct folio *folio, unsigned long n)
{
	return folio_page(folio, n);
}

struct folio *vm_mvc_page_folio(struct page *page)
{
	return page_folio(page);
}

void *vm_mvc_kmap_local_page(struct page *page)
{
	return kmap_local_page(page);
}

void vm_mvc_kunmap_local(const void *addr)
{
	kunmap_local(addr);
}

void vm_mvc_folio_zero_range(struct folio *folio, size_t start, size_t length)
{
	folio_zero_range(folio, start, length);
}

void vm_mvc_memcpy_from_folio(char *to, struct folio *folio, size_t offset, size_t len)
{
	memcpy_from_folio(to, folio, offset, len);
}

void vm_mvc_memcpy_to_folio(struct folio *folio, size_t offset, const char *from, size_t len)
{
	memcpy_to_folio(folio, offset, from, len);
}

void vm_mvc_flush_dcache_folio(struct folio *folio)
{
	flush_dcache_folio(folio);
}

void vm_mvc_flush_dcache_page(struct page *page)
{
	flush_dcache_page(page);
}

void vm_mvc_mapping_set_large_folios(struct address_space *mapping)
{
	mapping_set_large_folios(mapping);
}

void vm_mvc_mapping_set_stable_writes(struct address_space *mapping)
{
	mapping_set_stable_writes(mapping);
}

void vm_mvc_mapping_set_inaccessible(struct address_space *mapping)
{
	mapping_set_inaccessible(mapping);
}

bool vm_mvc_mapping_inaccessible(const struct address_space *mapping)
{
	return mapping_inaccessible(mapping);
}

bool vm_mvc_mapping_writably_mapped(const struct address_space *mapping)
{
	return mapping_writably_mapped(mapping);
}

bool vm_mvc_dax_mapping(struct address_space *mapping)
{
	return dax_mapping(mapping);
}

bool vm_mvc_virt_addr_valid(const void *addr)
{
	return virt_addr_valid(addr);
}

void vm_mvc_put_page(struct page *page)
{
	put_page(page);
}

bool vm_mvc_fatal_signal_pending(struct task_struct *p)
{
	return fatal_signal_pending(p);
}

void __percpu *vm_mvc_alloc_percpu(size_t size, size_t align)
{
	return __alloc_percpu(size, align);
}

u64 *vm_mvc_get_cpu_ptr(u64 __percpu *counters)
{
	return get_cpu_ptr(counters);
}

void vm_mvc_put_cpu_ptr(u64 __percpu *counters)
{
	put_cpu_ptr(counters);
}

u64 *vm_mvc_per_cpu_ptr(u64 __percpu *counter, unsigned int cpu)
{
	return per_cpu_ptr(counter, cpu);
}

void vm_mvc_allow_signal(int sig)
{
	allow_signal(sig);
}

void vm_mvc_disallow_signal(int sig)
{
	disallow_signal(sig);
}

/* The C ABI of include/vm_mvc.h, implemented in rust/abi.rs. */
EXPORT_SYMBOL_GPL(vm_mvc);
EXPORT_SYMBOL_GPL(vm_mvc_folio);
EXPORT_SYMBOL_GPL(vm_mvc_folio_range);
EXPORT_SYMBOL_GPL(vm_mvc_iter);
EXPORT_SYMBOL_GPL(vm_mvc_folio_iter);
EXPORT_SYMBOL_GPL(vm_mvc_makep);
EXPORT_SYMBOL_GPL(vm_mvc_sid_create);
EXPORT_SYMBOL_GPL(vm_mvc_sid_delete);
EXPORT_SYMBOL_GPL(vm_mvc_xmattach);
EXPORT_SYMBOL_GPL(vm_mvc_xmdetach);
