/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the Rust side of toyfs sees of C, through bindgen (Kbuild): one-line
 * forwarders to static inline kernel functions (toyfs_helpers.c) and the
 * headers of the exported functions and types that the kernel's own Rust
 * bindings lack (buffer heads, fs_context, file attributes, lib/lz4).
 */
#ifndef _TOYFS_HELPERS_H
#define _TOYFS_HELPERS_H

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/buffer_head.h>
#include <linux/crc32.h>
#include <linux/exportfs.h>
#include <linux/falloc.h>
#include <linux/fiemap.h>
#include <linux/fileattr.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/iomap.h>
#include <linux/lz4.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/ratelimit.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/statfs.h>
#include <linux/uio.h>

void toyfs_brelse(struct buffer_head *bh);
void toyfs_mark_inode_dirty(struct inode *inode);
loff_t toyfs_i_size_read(const struct inode *inode);
void toyfs_i_size_write(struct inode *inode, loff_t i_size);
uid_t toyfs_i_uid_read(const struct inode *inode);
gid_t toyfs_i_gid_read(const struct inode *inode);
void toyfs_i_uid_write(struct inode *inode, uid_t uid);
void toyfs_i_gid_write(struct inode *inode, gid_t gid);
struct timespec64 toyfs_inode_get_atime(const struct inode *inode);
struct timespec64 toyfs_inode_get_mtime(const struct inode *inode);
struct timespec64 toyfs_inode_get_ctime(const struct inode *inode);
struct timespec64 toyfs_inode_set_atime_to_ts(struct inode *inode, struct timespec64 ts);
struct timespec64 toyfs_inode_set_mtime_to_ts(struct inode *inode, struct timespec64 ts);
void toyfs_inode_lock(struct inode *inode);
void toyfs_inode_unlock(struct inode *inode);
void toyfs_inode_lock_shared(struct inode *inode);
void toyfs_inode_unlock_shared(struct inode *inode);
int toyfs_finish_open_simple(struct file *file, int error);
struct inode *toyfs_file_inode(const struct file *f);
void toyfs_file_accessed(struct file *file);
ssize_t toyfs_generic_write_sync(struct kiocb *iocb, ssize_t count);
bool toyfs_dir_emit(struct dir_context *ctx, const char *name, int namelen,
		    u64 ino, unsigned int type);
struct folio *toyfs_write_begin_get_folio(const struct kiocb *iocb,
					  struct address_space *mapping,
					  pgoff_t index, size_t len);
struct inode *toyfs_folio_inode(struct folio *folio);
loff_t toyfs_folio_pos(const struct folio *folio);
bool toyfs_folio_test_uptodate(const struct folio *folio);
void toyfs_folio_mark_uptodate(struct folio *folio);
void toyfs_folio_start_writeback(struct folio *folio);
void toyfs_folio_lock(struct folio *folio);
void toyfs_folio_put(struct folio *folio);
struct folio *toyfs_page_folio(struct page *page);
void toyfs_sb_start_pagefault(struct super_block *sb);
void toyfs_sb_end_pagefault(struct super_block *sb);
void toyfs_sb_start_intwrite(struct super_block *sb);
void toyfs_sb_end_intwrite(struct super_block *sb);
bool toyfs_sb_start_intwrite_trylock(struct super_block *sb);
void toyfs_sb_start_write(struct super_block *sb);
void toyfs_sb_end_write(struct super_block *sb);
enum inode_state_flags_enum toyfs_inode_state_read_once(struct inode *inode);
loff_t toyfs_bdev_nr_bytes(struct block_device *bdev);
u64 toyfs_huge_encode_dev(dev_t dev);
u32 toyfs_new_encode_dev(dev_t dev);
dev_t toyfs_new_decode_dev(u32 dev);
bool toyfs_sb_rdonly(const struct super_block *sb);
void toyfs_mapping_set_error(struct address_space *mapping, int error);
void toyfs_ratelimit_default_init(struct ratelimit_state *rs);
unsigned int toyfs_memalloc_nofs_save(void);
void toyfs_memalloc_nofs_restore(unsigned int flags);
struct buffer_head *toyfs_sb_getblk(struct super_block *sb, sector_t block);
void toyfs_lock_buffer(struct buffer_head *bh);
void toyfs_set_buffer_uptodate(struct buffer_head *bh);
void toyfs_clear_buffer_uptodate(struct buffer_head *bh);
bool toyfs_buffer_uptodate(const struct buffer_head *bh);
bool toyfs_buffer_write_io_error(const struct buffer_head *bh);
void toyfs_clear_buffer_write_io_error(struct buffer_head *bh);
bool toyfs_buffer_dirty(const struct buffer_head *bh);
bool toyfs_buffer_locked(const struct buffer_head *bh);
bool toyfs_buffer_mapped(const struct buffer_head *bh);
void toyfs_get_bh(struct buffer_head *bh);
bool toyfs_buffer_checked(const struct buffer_head *bh);
void toyfs_set_buffer_checked(struct buffer_head *bh);
void toyfs_clear_buffer_checked(struct buffer_head *bh);
bool toyfs_test_and_set_buffer_kept(struct buffer_head *bh);
void toyfs_clear_buffer_kept(struct buffer_head *bh);
bool toyfs_buffer_kept(const struct buffer_head *bh);
void toyfs_wait_on_buffer(struct buffer_head *bh);
struct buffer_head *toyfs_sb_find_get_block(struct super_block *sb,
					    sector_t block);
size_t toyfs_folio_size(const struct folio *folio);
bool toyfs_folio_test_dirty(const struct folio *folio);
void toyfs_folio_cancel_dirty(struct folio *folio);
void toyfs_folio_attach_private(struct folio *folio, void *data);
void *toyfs_folio_detach_private(struct folio *folio);
void *toyfs_folio_get_private(struct folio *folio);
struct bio *toyfs_bio_alloc(struct block_device *bdev, unsigned short nr_vecs,
			    blk_opf_t opf, gfp_t gfp_mask);
void toyfs_bio_first_folio(struct folio_iter *fi, struct bio *bio, int i);
void toyfs_bio_next_folio(struct folio_iter *fi, struct bio *bio);
struct folio *toyfs_readahead_folio(struct readahead_control *ractl);
void toyfs_mapping_set_folio_order_range(struct address_space *mapping,
					 unsigned int min, unsigned int max);
void toyfs_filemap_invalidate_lock(struct address_space *mapping);
void toyfs_filemap_invalidate_unlock(struct address_space *mapping);
void toyfs_filemap_invalidate_lock_shared(struct address_space *mapping);
void toyfs_filemap_invalidate_unlock_shared(struct address_space *mapping);
struct folio *toyfs_filemap_lock_folio(struct address_space *mapping,
				       pgoff_t index);
struct folio *toyfs_read_mapping_folio(struct address_space *mapping,
				       pgoff_t index, struct file *file);
size_t toyfs_iov_iter_count(const struct iov_iter *i);
void toyfs_cond_resched(void);
bool toyfs_fatal_signal_pending(void);
void *toyfs_alloc_inode_sb(struct super_block *sb, struct kmem_cache *cache,
			   gfp_t gfp);

#ifdef __BINDGEN__
/*
 * Flags whose macros bindgen cannot evaluate (they cast), as constants it
 * can, the way rust/bindings/bindings_helper.h gives the kernel's own
 * (RUST_CONST_HELPER_*).  Seen by bindgen only.
 */
const fmode_t TOYFS_FMODE_CAN_ODIRECT = FMODE_CAN_ODIRECT;
const fmode_t TOYFS_FMODE_WRITE = FMODE_WRITE;
const int TOYFS_IOCB_NOWAIT = IOCB_NOWAIT;
const int TOYFS_IOCB_DSYNC = IOCB_DSYNC;
const int TOYFS_IOCB_SYNC = IOCB_SYNC;
const gfp_t TOYFS_GFP_NOFS = GFP_NOFS;
const slab_flags_t TOYFS_SLAB_INODE_CACHE = SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT;
#endif

#endif /* _TOYFS_HELPERS_H */
