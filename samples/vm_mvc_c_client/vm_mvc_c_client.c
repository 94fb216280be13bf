// SPDX-License-Identifier: GPL-2.0
/*
 * vm_mvc_c_client - a C user of vm_mvc written as code ported from AIX
 * would be: through the AIX porting headers <sys/vmuser.h> and
 * <sys/xmem.h> (include/aix), with AIX's positive errnos and XMEM_SUCC /
 * XMEM_FAIL, and the native calls it still needs from <vm_mvc.h>
 * (negative errnos).  Its KUnit suite proves both serve a C filesystem:
 * they compile, link against the GPL exports, and the calls behave as
 * Documentation/vm_mvc.rst says.
 *
 * The file is a shmem file, the kind a C driver gets from
 * shmem_file_setup(); the user mapping comes from kunit_vm_mmap().
 */

#include <kunit/test.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <sys/vmuser.h>
#include <sys/xmem.h>

#define PAGES 4

struct client_ctx {
	struct file *file;
	vmid_t sid;
	u8 *buf;	/* PAGE_SIZE bytes */
};

static u8 pattern(size_t i)
{
	return i % 251 + 1;
}

/* Page 0 holds pattern(i) through the filesystem; pages 1-3 are holes. */
static int client_init(struct kunit *test)
{
	struct client_ctx *ctx;
	loff_t pos = 0;
	size_t i;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->buf = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->buf);
	ctx->file = shmem_file_setup("vm_mvc_c_client", PAGES * PAGE_SIZE,
				     EMPTY_VMA_FLAGS);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx->file));
	for (i = 0; i < PAGE_SIZE; i++)
		ctx->buf[i] = pattern(i);
	KUNIT_ASSERT_EQ(test, kernel_write(ctx->file, ctx->buf, PAGE_SIZE, &pos),
			(ssize_t)PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, vms_create(&ctx->sid, V_CLIENT, file_inode(ctx->file),
					 PAGES * PAGE_SIZE, 0, 0), 0);
	KUNIT_ASSERT_GT(test, ctx->sid, 0);
	test->priv = ctx;
	return 0;
}

static void client_exit(struct kunit *test)
{
	struct client_ctx *ctx = test->priv;

	KUNIT_EXPECT_EQ(test, vms_delete(ctx->sid), 0);
	KUNIT_EXPECT_EQ(test, vms_delete(ctx->sid), EINVAL);
	fput(ctx->file);
}

/* Reads page 0 through the filesystem into @out. */
static void read_page0(struct kunit *test, struct client_ctx *ctx, u8 *out)
{
	loff_t pos = 0;

	KUNIT_ASSERT_EQ(test, kernel_read(ctx->file, out, PAGE_SIZE, &pos),
			(ssize_t)PAGE_SIZE);
}

static void c_write_then_read_kernel_buffer(struct kunit *test)
{
	struct client_ctx *ctx = test->priv;
	struct xmem xm = XMEM_INIT;
	u8 *page = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	u8 data[37], back[37];
	size_t i;

	KUNIT_ASSERT_NOT_NULL(test, page);
	memset(data, 0xa5, sizeof(data));
	memset(back, 0, sizeof(back));
	KUNIT_ASSERT_EQ(test, xmattach(data, sizeof(data), &xm, SYS_ADSPACE), XMEM_SUCC);
	KUNIT_EXPECT_EQ(test, xm.aspace_id, (long)XMEM_GLOBAL);
	KUNIT_EXPECT_EQ(test, vm_mvc(ctx->sid, 0, 1000, sizeof(data),
				     VM_MVC_WRITE, &xm, data), 0);
	KUNIT_EXPECT_EQ(test, xmdetach(&xm), XMEM_SUCC);
	KUNIT_EXPECT_EQ(test, xm.aspace_id, (long)XMEM_INVAL);
	KUNIT_EXPECT_EQ(test, xmdetach(&xm), XMEM_FAIL);

	KUNIT_ASSERT_EQ(test, xmattach(back, sizeof(back), &xm, SYS_ADSPACE), XMEM_SUCC);
	KUNIT_EXPECT_EQ(test, xmattach(back, sizeof(back), &xm, SYS_ADSPACE), XMEM_FAIL);
	KUNIT_EXPECT_EQ(test, vm_mvc(ctx->sid, 0, 1000, sizeof(back),
				     VM_MVC_READ, &xm, back), 0);
	KUNIT_EXPECT_EQ(test, xmdetach(&xm), XMEM_SUCC);
	KUNIT_EXPECT_MEMEQ(test, back, data, sizeof(data));

	read_page0(test, ctx, page);
	for (i = 0; i < PAGE_SIZE; i++) {
		u8 want = (i >= 1000 && i < 1000 + sizeof(data)) ? 0xa5 : pattern(i);

		KUNIT_ASSERT_EQ(test, page[i], want);
	}
}

/* AIX's errnos are positive: "rc == EINVAL" works as on AIX. */
static void c_bad_arguments_change_nothing(struct kunit *test)
{
	struct client_ctx *ctx = test->priv;
	u8 *page = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	size_t i;

	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ(test, vm_mvc(ctx->sid, 0, PAGE_SIZE - 1, 2, VM_MVC_ZERO,
				     NULL, NULL), EINVAL);
	KUNIT_EXPECT_EQ(test, vm_mvc(ctx->sid, 0, -1, 2, VM_MVC_ZERO, NULL, NULL),
			EINVAL);
	KUNIT_EXPECT_EQ(test, vm_mvc(ctx->sid, 0, 0, 2, 0, NULL, NULL), EINVAL);
	KUNIT_EXPECT_EQ(test, vm_mvc(ctx->sid, 0, 0, 2, VM_MVC_READ, NULL, NULL),
			EINVAL);
	KUNIT_EXPECT_EQ(test, vm_mvc(ctx->sid + 1, 0, 0, 2, VM_MVC_ZERO, NULL, NULL),
			EBADF);
	KUNIT_EXPECT_EQ(test, vms_create(&ctx->sid, 0, file_inode(ctx->file), 0, 0, 0),
			EINVAL);
	read_page0(test, ctx, page);
	for (i = 0; i < PAGE_SIZE; i++)
		KUNIT_ASSERT_EQ(test, page[i], pattern(i));
}

static void c_zero_and_absent_page(struct kunit *test)
{
	struct client_ctx *ctx = test->priv;
	struct address_space *mapping = ctx->file->f_mapping;
	u8 *page = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	size_t i;

	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ(test, vm_mvc(ctx->sid, 0, PAGE_SIZE - 100, 100,
				     VM_MVC_ZERO, NULL, NULL), 0);
	read_page0(test, ctx, page);
	for (i = 0; i < PAGE_SIZE; i++)
		KUNIT_ASSERT_EQ(test, page[i], i >= PAGE_SIZE - 100 ? 0 : pattern(i));

	/* A hole of the shmem file: not in the page cache, and not created. */
	KUNIT_EXPECT_EQ(test, vm_mvc(ctx->sid, 2, 0, 1, VM_MVC_ZERO, NULL, NULL),
			ENOENT);
	/* Only shmem may create shmem folios (a native call: -errno). */
	KUNIT_EXPECT_EQ(test, PTR_ERR(vm_mvc_makep(ctx->sid, 2)), -EOPNOTSUPP);
	KUNIT_EXPECT_EQ(test, PTR_ERR(filemap_get_folio(mapping, 2)), -ENOENT);
}

/* The locked-folio entries are native only: negative errnos. */
static void c_locked_folio_entry_points(struct kunit *test)
{
	struct client_ctx *ctx = test->priv;
	struct folio *folio;
	u8 *page = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, page);
	folio = filemap_lock_folio(ctx->file->f_mapping, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(folio));
	KUNIT_EXPECT_EQ(test, vm_mvc_folio(folio, 0, 0, 10, VM_MVC_ZERO, NULL, NULL), 0);
	KUNIT_EXPECT_EQ(test, vm_mvc_folio(folio, 1, 0, 10, VM_MVC_ZERO, NULL, NULL),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, vm_mvc_folio_range(folio, 20, 10, VM_MVC_ZERO,
						 NULL, NULL), 0);
	KUNIT_EXPECT_EQ(test, vm_mvc_folio_range(folio, folio_size(folio), 1,
						 VM_MVC_ZERO, NULL, NULL), -EINVAL);
	folio_unlock(folio);
	folio_put(folio);
	read_page0(test, ctx, page);
	KUNIT_EXPECT_EQ(test, page[0], 0);
	KUNIT_EXPECT_EQ(test, page[9], 0);
	KUNIT_EXPECT_EQ(test, page[10], pattern(10));
	KUNIT_EXPECT_EQ(test, page[25], 0);
	KUNIT_EXPECT_EQ(test, page[30], pattern(30));
}

/* Whether the user page at @addr is mapped writable now, without faulting. */
static bool writable_now(unsigned long addr)
{
	struct page *page;

	if (get_user_pages_fast_only(addr, 1, FOLL_WRITE, &page) != 1)
		return false;
	put_page(page);
	return true;
}

static void c_protzero_write_protects_user_mapping(struct kunit *test)
{
	struct client_ctx *ctx = test->priv;
	unsigned long addr;
	u8 seen[16];

	if (!IS_ENABLED(CONFIG_HAVE_GUP_FAST))
		kunit_skip(test, "no GUP-fast to see a PTE without faulting (User-Mode Linux)");
	addr = kunit_vm_mmap(test, ctx->file, 0, PAGE_SIZE,
			     PROT_READ | PROT_WRITE, MAP_SHARED, 0);
	KUNIT_ASSERT_NE_MSG(test, addr, 0, "kunit_vm_mmap failed");
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)addr + 8, "user", 4), 0);
	KUNIT_EXPECT_TRUE(test, writable_now(addr));

	KUNIT_EXPECT_EQ(test, vm_mvc(ctx->sid, 0, 0, 8, VM_MVC_PROTZERO, NULL, NULL), 0);
	KUNIT_EXPECT_FALSE(test, writable_now(addr));
	KUNIT_ASSERT_EQ(test, copy_from_user(seen, (void __user *)addr, 16), 0);
	KUNIT_EXPECT_EQ(test, seen[0], 0);
	KUNIT_EXPECT_EQ(test, seen[7], 0);
	KUNIT_EXPECT_MEMEQ(test, &seen[8], "user", 4);

	/* The next store faults the write permission back in. */
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)addr, "x", 1), 0);
	KUNIT_EXPECT_TRUE(test, writable_now(addr));
}

static void c_user_buffer_pinned_with_xmattach(struct kunit *test)
{
	struct client_ctx *ctx = test->priv;
	struct xmem xm = XMEM_INIT;
	unsigned long addr;
	u8 seen[200];
	size_t i;

	addr = kunit_vm_mmap(test, NULL, 0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, 0);
	KUNIT_ASSERT_NE_MSG(test, addr, 0, "kunit_vm_mmap failed");
	addr += PAGE_SIZE - 100;	/* straddles the two pages */
	KUNIT_ASSERT_EQ(test, xmattach((void *)addr, 200, &xm, USER_ADSPACE), XMEM_SUCC);
	KUNIT_EXPECT_EQ(test, xm.aspace_id, (long)XMEM_PROC);
	KUNIT_EXPECT_EQ(test, vm_mvc(ctx->sid, 0, 50, 200, VM_MVC_READ, &xm,
				     (void *)addr), 0);
	KUNIT_EXPECT_EQ(test, vm_mvc(ctx->sid, 0, 50, 200, VM_MVC_READ, &xm,
				     (void *)(addr + 1)), EFAULT);
	KUNIT_EXPECT_EQ(test, xmdetach(&xm), XMEM_SUCC);
	KUNIT_ASSERT_EQ(test, copy_from_user(seen, (void __user *)addr, 200), 0);
	for (i = 0; i < 200; i++)
		KUNIT_ASSERT_EQ(test, seen[i], pattern(50 + i));
}

static struct kunit_case client_cases[] = {
	KUNIT_CASE(c_write_then_read_kernel_buffer),
	KUNIT_CASE(c_bad_arguments_change_nothing),
	KUNIT_CASE(c_zero_and_absent_page),
	KUNIT_CASE(c_locked_folio_entry_points),
	KUNIT_CASE(c_protzero_write_protects_user_mapping),
	KUNIT_CASE(c_user_buffer_pinned_with_xmattach),
	{}
};

static struct kunit_suite client_suite = {
	.name = "vm_mvc_c_client",
	.init = client_init,
	.exit = client_exit,
	.test_cases = client_cases,
};

kunit_test_suite(client_suite);

MODULE_DESCRIPTION("C client and KUnit suite of vm_mvc's C ABI");
MODULE_LICENSE("GPL");
