// SPDX-License-Identifier: GPL-2.0
/*
 * C side of toyfs.
 *
 * Rust reaches the kernel only through bindgen's view of it, and static
 * inline functions have no symbol to link against.  Each helper here
 * forwards to one such inline with the same signature and no logic of its
 * own, in the manner of rust/helpers/ (which out-of-tree modules cannot
 * extend).  toyfs exports nothing.
 */

#include "toyfs_helpers.h"

void toyfs_brelse(struct buffer_head *bh)
{
	brelse(bh);
}

void toyfs_mark_inode_dirty(struct inode *inode)
{
	mark_inode_dirty(inode);
}

loff_t toyfs_i_size_read(const struct inode *inode)
{
	return i_size_read(inode);
}

void toyfs_i_size_write(struct inode *inode, loff_t i_size)
{
	i_size_write(inode, i_size);
}

uid_t toyfs_i_uid_read(const struct inode *inode)
{
	return i_uid_read(inode);
}

gid_t toyfs_i_gid_read(const struct inode *inode)
{
	return i_gid_read(inode);
}

void toyfs_i_uid_write(struct inode *inode, uid_t uid)
{
	i_uid_write(inode, uid);
}

void toyfs_i_gid_write(struct inode *inode, gid_t gid)
{
	i_gid_write(inode, gid);
}

struct timespec64 toyfs_inode_get_atime(const struct inode *inode)
{
	return inode_get_atime(inode);
}

struct timespec64 toyfs_inode_get_mtime(const struct inode *inode)
{
	return inode_get_mtime(inode);
}

struct timespec64 toyfs_inode_get_ctime(const struct inode *inode)
{
	return inode_get_ctime(inode);
}

struct timespec64 toyfs_inode_set_atime_to_ts(struct inode *inode, struct timespec64 ts)
{
	return inode_set_atime_to_ts(inode, ts);
}

struct timespec64 toyfs_inode_set_mtime_to_ts(struct inode *inode, struct timespec64 ts)
{
	return inode_set_mtime_to_ts(inode, ts);
}

void toyfs_inode_lock(struct inode *inode)
{
	inode_lock(inode);
}

void toyfs_inode_unlock(struct inode *inode)
{
	inode_unlock(inode);
}

int toyfs_finish_open_simple(struct file *file, int error)
{
	return finish_open_simple(file, error);
}

struct inode *toyfs_file_inode(const struct file *f)
{
	return file_inode(f);
}

void toyfs_file_accessed(struct file *file)
{
	file_accessed(file);
}

ssize_t toyfs_generic_write_sync(struct kiocb *iocb, ssize_t count)
{
	return generic_write_sync(iocb, count);
}

bool toyfs_dir_emit(struct dir_context *ctx, const char *name, int namelen,
		    u64 ino, unsigned int type)
{
	return dir_emit(ctx, name, namelen, ino, type);
}

struct folio *toyfs_write_begin_get_folio(const struct kiocb *iocb,
					  struct address_space *mapping,
					  pgoff_t index, size_t len)
{
	return write_begin_get_folio(iocb, mapping, index, len);
}

struct inode *toyfs_folio_inode(struct folio *folio)
{
	return folio_inode(folio);
}

loff_t toyfs_folio_pos(const struct folio *folio)
{
	return folio_pos(folio);
}

bool toyfs_folio_test_uptodate(const struct folio *folio)
{
	return folio_test_uptodate(folio);
}

void toyfs_folio_mark_uptodate(struct folio *folio)
{
	folio_mark_uptodate(folio);
}

void toyfs_folio_start_writeback(struct folio *folio)
{
	folio_start_writeback(folio);
}

void toyfs_folio_lock(struct folio *folio)
{
	folio_lock(folio);
}

void toyfs_folio_put(struct folio *folio)
{
	folio_put(folio);
}

struct folio *toyfs_page_folio(struct page *page)
{
	return page_folio(page);
}

void toyfs_sb_start_pagefault(struct super_block *sb)
{
	sb_start_pagefault(sb);
}

void toyfs_sb_end_pagefault(struct super_block *sb)
{
	sb_end_pagefault(sb);
}

void toyfs_sb_start_intwrite(struct super_block *sb)
{
	sb_start_intwrite(sb);
}

void toyfs_sb_end_intwrite(struct super_block *sb)
{
	sb_end_intwrite(sb);
}

bool toyfs_sb_start_intwrite_trylock(struct super_block *sb)
{
	return sb_start_intwrite_trylock(sb);
}

void toyfs_sb_start_write(struct super_block *sb)
{
	sb_start_write(sb);
}

void toyfs_sb_end_write(struct super_block *sb)
{
	sb_end_write(sb);
}

enum inode_state_flags_enum toyfs_inode_state_read_once(struct inode *inode)
{
	return inode_state_read_once(inode);
}

loff_t toyfs_bdev_nr_bytes(struct block_device *bdev)
{
	return bdev_nr_bytes(bdev);
}

u64 toyfs_huge_encode_dev(dev_t dev)
{
	return huge_encode_dev(dev);
}

u32 toyfs_new_encode_dev(dev_t dev)
{
	return new_encode_dev(dev);
}

dev_t toyfs_new_decode_dev(u32 dev)
{
	return new_decode_dev(dev);
}

bool toyfs_sb_rdonly(const struct super_block *sb)
{
	return sb_rdonly(sb);
}

void toyfs_mapping_set_error(struct address_space *mapping, int error)
{
	mapping_set_error(mapping, error);
}

void toyfs_ratelimit_default_init(struct ratelimit_state *rs)
{
	ratelimit_default_init(rs);
}

struct buffer_head *toyfs_sb_getblk(struct super_block *sb, sector_t block)
{
	return sb_getblk(sb, block);
}

void toyfs_lock_buffer(struct buffer_head *bh)
{
	lock_buffer(bh);
}

void toyfs_set_buffer_uptodate(struct buffer_head *bh)
{
	set_buffer_uptodate(bh);
}

void toyfs_clear_buffer_uptodate(struct buffer_head *bh)
{
	clear_buffer_uptodate(bh);
}

bool toyfs_buffer_uptodate(const struct buffer_head *bh)
{
	return buffer_uptodate(bh);
}

bool toyfs_buffer_write_io_error(const struct buffer_head *bh)
{
	return buffer_write_io_error(bh);
}

void toyfs_clear_buffer_write_io_error(struct buffer_head *bh)
{
	clear_buffer_write_io_error(bh);
}

bool toyfs_buffer_dirty(const struct buffer_head *bh)
{
	return buffer_dirty(bh);
}

bool toyfs_buffer_locked(const struct buffer_head *bh)
{
	return buffer_locked(bh);
}

bool toyfs_buffer_mapped(const struct buffer_head *bh)
{
	return buffer_mapped(bh);
}

void toyfs_get_bh(struct buffer_head *bh)
{
	get_bh(bh);
}

/*
 * The "checked" state of a directory block's buffer (samples/toyfs/dir.rs):
 * the first of the state bits fs/buffer.c leaves to the filesystem (toyfs
 * has no jbd), as ext4 keeps BH_Verified; the bitops of BUFFER_FNS.
 */
bool toyfs_buffer_checked(const struct buffer_head *bh)
{
	return test_bit(BH_PrivateStart, &bh->b_state);
}

void toyfs_set_buffer_checked(struct buffer_head *bh)
{
	set_bit(BH_PrivateStart, &bh->b_state);
}

void toyfs_clear_buffer_checked(struct buffer_head *bh)
{
	clear_bit(BH_PrivateStart, &bh->b_state);
}

/*
 * The "kept" state of an indirect block's buffer: on an inode's list of
 * indirect blocks to write before its map (samples/toyfs/inode.rs,
 * dirty_indirect), so that the list holds each buffer at most once; the
 * second of the state bits fs/buffer.c leaves to the filesystem.
 */
bool toyfs_test_and_set_buffer_kept(struct buffer_head *bh)
{
	return test_and_set_bit(BH_PrivateStart + 1, &bh->b_state);
}

void toyfs_clear_buffer_kept(struct buffer_head *bh)
{
	clear_bit(BH_PrivateStart + 1, &bh->b_state);
}

bool toyfs_buffer_kept(const struct buffer_head *bh)
{
	return test_bit(BH_PrivateStart + 1, &bh->b_state);
}

void toyfs_wait_on_buffer(struct buffer_head *bh)
{
	wait_on_buffer(bh);
}

struct buffer_head *toyfs_sb_find_get_block(struct super_block *sb,
					    sector_t block)
{
	return sb_find_get_block_nonatomic(sb, block);
}

size_t toyfs_folio_size(const struct folio *folio)
{
	return folio_size(folio);
}

bool toyfs_folio_test_dirty(const struct folio *folio)
{
	return folio_test_dirty(folio);
}

void toyfs_folio_cancel_dirty(struct folio *folio)
{
	folio_cancel_dirty(folio);
}

void toyfs_folio_attach_private(struct folio *folio, void *data)
{
	folio_attach_private(folio, data);
}

void *toyfs_folio_detach_private(struct folio *folio)
{
	return folio_detach_private(folio);
}

void *toyfs_folio_get_private(struct folio *folio)
{
	return folio_get_private(folio);
}

struct bio *toyfs_bio_alloc(struct block_device *bdev, unsigned short nr_vecs,
			    blk_opf_t opf, gfp_t gfp_mask)
{
	return bio_alloc(bdev, nr_vecs, opf, gfp_mask);
}

void toyfs_bio_first_folio(struct folio_iter *fi, struct bio *bio, int i)
{
	bio_first_folio(fi, bio, i);
}

void toyfs_bio_next_folio(struct folio_iter *fi, struct bio *bio)
{
	bio_next_folio(fi, bio);
}

struct folio *toyfs_readahead_folio(struct readahead_control *ractl)
{
	return readahead_folio(ractl);
}

void toyfs_mapping_set_folio_order_range(struct address_space *mapping,
					 unsigned int min, unsigned int max)
{
	mapping_set_folio_order_range(mapping, min, max);
}

void toyfs_filemap_invalidate_lock(struct address_space *mapping)
{
	filemap_invalidate_lock(mapping);
}

void toyfs_filemap_invalidate_unlock(struct address_space *mapping)
{
	filemap_invalidate_unlock(mapping);
}

void toyfs_filemap_invalidate_lock_shared(struct address_space *mapping)
{
	filemap_invalidate_lock_shared(mapping);
}

void toyfs_filemap_invalidate_unlock_shared(struct address_space *mapping)
{
	filemap_invalidate_unlock_shared(mapping);
}

struct folio *toyfs_read_mapping_folio(struct address_space *mapping,
				       pgoff_t index, struct file *file)
{
	return read_mapping_folio(mapping, index, file);
}

unsigned int toyfs_memalloc_nofs_save(void)
{
	return memalloc_nofs_save();
}

void toyfs_memalloc_nofs_restore(unsigned int flags)
{
	memalloc_nofs_restore(flags);
}

struct folio *toyfs_filemap_lock_folio(struct address_space *mapping,
				       pgoff_t index)
{
	return filemap_lock_folio(mapping, index);
}

void toyfs_inode_lock_shared(struct inode *inode)
{
	inode_lock_shared(inode);
}

void toyfs_inode_unlock_shared(struct inode *inode)
{
	inode_unlock_shared(inode);
}

size_t toyfs_iov_iter_count(const struct iov_iter *i)
{
	return iov_iter_count(i);
}

void toyfs_cond_resched(void)
{
	cond_resched();
}

bool toyfs_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}

void *toyfs_alloc_inode_sb(struct super_block *sb, struct kmem_cache *cache,
			   gfp_t gfp)
{
	return alloc_inode_sb(sb, cache, gfp);
}
