/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the Rust side of toyfs sees of C, through bindgen (Kbuild): one-line
 * forwarders to static inline kernel functions (toyfs_helpers.c) and the
 * headers of the exported functions and types that the kernel's own Rust
 * bindings lack (buffer heads, fs_context).
 */
#ifndef _TOYFS_HELPERS_H
#define _TOYFS_HELPERS_H

#include <linux/blkdev.h>
#include <linux/buffer_head.h>
#include <linux/crc32.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/ratelimit.h>
#include <linux/statfs.h>

struct buffer_head *toyfs_sb_bread(struct super_block *sb, sector_t block);
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
enum inode_state_flags_enum toyfs_inode_state_read_once(struct inode *inode);
loff_t toyfs_bdev_nr_bytes(struct block_device *bdev);
bool toyfs_sb_rdonly(const struct super_block *sb);
void toyfs_mapping_set_error(struct address_space *mapping, int error);
void toyfs_ratelimit_default_init(struct ratelimit_state *rs);

#endif /* _TOYFS_HELPERS_H */
