// SPDX-License-Identifier: GPL-2.0
/*
 * vm_mvc_bench - what vm_mvc costs against the code a C filesystem writes
 * today with the kernel's inline folio helpers, and against memcpy.
 *
 * Not a test: `make bench` loads it in a guest of its own and writes a
 * table name to /sys/kernel/debug/vm_mvc_bench/run; the write runs that
 * table in the writer's context (so user buffers are the writer's) and
 * prints one line per measurement:
 *
 *   vm_mvc_bench: table=percall cmd=READ size=64 entry=sid ns=... baseline_ns=... ratio=...
 *
 * Each figure is the median over @rounds rounds of @iters calls, timed
 * with ktime_get_ns(); vm_mvc and its baseline run in alternate rounds.
 * The files live on a private ramfs mount, their folios inserted here
 * (any order) and uptodate, so every call finds a hot page-cache folio.
 * See Documentation/performance.rst.
 */
#define pr_fmt(fmt) "vm_mvc_bench: " fmt

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/pagemap.h>
#include <linux/rcupdate.h>
#include <linux/rmap.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <vm_mvc.h>

static unsigned int iters = 10000;
module_param(iters, uint, 0644);
MODULE_PARM_DESC(iters, "calls per timed round");
static unsigned int rounds = 15;
module_param(rounds, uint, 0644);
MODULE_PARM_DESC(rounds, "timed rounds per figure (the median is reported)");
static unsigned int bw_mib = 256;
module_param(bw_mib, uint, 0644);
MODULE_PARM_DESC(bw_mib, "MiB of cached pages swept by the bandwidth table");
static bool bw_large = true;
module_param(bw_large, bool, 0644);
MODULE_PARM_DESC(bw_large, "bandwidth table: also the rows of order-9 folios");

#define MAX_ROUNDS	31
#define HOT_PAGES	8		/* calls cycle through pages 0..7 */
/* The bench buffers are read and written. */
#define BOTH_WAYS	(VM_MVC_XMEM_SOURCE | VM_MVC_XMEM_DEST)
#define RING_SIZE	SZ_2M		/* bandwidth destination, reused */

enum variant {
	V_SID,		/* vm_mvc(sid, pno, ...) with a kernel xmem */
	V_BASE,		/* filemap_get_folio + folio_lock + helper + unlock + put */
	V_FOLIO,	/* vm_mvc_folio() on a folio held locked throughout */
	V_FOLIO_BASE,	/* the helper alone on the same held folio */
	V_USER_ONCE,	/* vm_mvc(sid, ...) with a user xmem attached once */
	V_USER_EACH,	/* vm_mvc_xmattach + vm_mvc + vm_mvc_xmdetach on a user buffer */
	V_USER_BASE,	/* lookup + lock + copy_{to,from}_user + unlock + put */
	V_BASE_TRYLOCK,	/* V_BASE, locking in the lookup as vm_mvc does */
	/* The steps of a call, for the profile table (each against V_NOP). */
	V_NOP,		/* the loop alone */
	P_BADCMD,	/* vm_mvc() with an unknown command: entry and exit */
	P_COUNT0_FOLIO,	/* vm_mvc_folio() of 0 bytes: argument checks */
	P_COUNT0_SID,	/* vm_mvc() of 0 bytes: the same plus the sid lookup */
	P_BASE_LOCK,	/* filemap_get_folio + folio_lock + unlock + put */
	P_IHOLD_IPUT,	/* ihold + iput, as the sid lookup did before vm_mvc 2 */
	P_RCU,		/* rcu_read_lock + rcu_read_unlock */
	P_CALL,		/* one out-of-line call of an empty function */
	P_ATOMIC,	/* one atomic add to a shared counter */
	P_PERCPU,	/* one this_cpu_add to a per-CPU counter (irqs saved off x86) */
	P_WAIT_STABLE,	/* folio_wait_stable() of a locked folio */
	P_MARK_DIRTY,	/* folio_mark_dirty() of a locked, dirty folio (WRITE's) */
	P_UPTODATE,	/* folio_test_uptodate(), load and smp_rmb() (READ's) */
};

struct bench_file {
	struct file *file;
	struct address_space *mapping;
	vmid_t sid;
};

struct bench {
	struct vfsmount *mnt;
	u8 *kbuf;			/* PAGE_SIZE kernel buffer */
	struct xmem kxm;		/* kbuf, attached */
	unsigned long ubuf;		/* PAGE_SIZE user buffer */
	struct xmem uxm;		/* ubuf, attached for V_USER_ONCE */
	struct bench_file *f;		/* the file under test */
	vmid_t sid;			/* the sid the vm_mvc variants use */
	struct folio *held;		/* locked folio of V_FOLIO */
	unsigned int hot_pages;		/* V_SID and V_BASE cycle through these */
	unsigned int depth;		/* stack frames put below measure_pair */
	unsigned long frame;		/* run_variant's frame address */
};

static const int cmds[] = { VM_MVC_READ, VM_MVC_WRITE, VM_MVC_ZERO, VM_MVC_PROTZERO };
static const int sizes[] = { 64, 512, 1024, 4096 };
static const int sizes_short[] = { 64, 4096 };

static const char *cmd_name(int cmd)
{
	switch (cmd & VM_MVC_CMD_MASK) {
	case VM_MVC_ZERO:
		return "ZERO";
	case VM_MVC_READ:
		return "READ";
	case VM_MVC_WRITE:
		return "WRITE";
	case VM_MVC_PROTZERO:
		return "PROTZERO";
	}
	return "?";
}

/* Mounts a private ramfs instance. */
static struct vfsmount *ramfs_mount(void)
{
	struct file_system_type *type = get_fs_type("ramfs");
	struct vfsmount *mnt;

	if (!type)
		return ERR_PTR(-ENODEV);
	mnt = kern_mount(type);
	/* put_filesystem(): the mount holds its own reference. */
	module_put(type->owner);
	return mnt;
}

/* Puts a new zeroed, uptodate folio of @order at @index of @mapping. */
static int add_folio(struct address_space *mapping, pgoff_t index,
		     unsigned int order, void **addr)
{
	struct folio *folio = folio_alloc(GFP_KERNEL, order);
	int ret;

	if (!folio)
		return -ENOMEM;
	ret = filemap_add_folio(mapping, folio, index, GFP_KERNEL);
	if (ret) {
		folio_put(folio);
		return ret;
	}
	folio_zero_range(folio, 0, folio_size(folio));
	if (addr)
		*addr = folio_address(folio);
	folio_mark_uptodate(folio);
	folio_mark_dirty(folio);
	folio_unlock(folio);
	folio_put(folio);
	return 0;
}

/*
 * Creates @name on the bench mount with @nr folios of @order (their kernel
 * addresses in @addrs if not NULL) and creates its sid.  The folios live until
 * the mount goes.
 */
static int bench_file_open(struct bench *b, struct bench_file *f,
			   const char *name, unsigned int order,
			   unsigned long nr, void **addrs)
{
	struct path root = { .mnt = b->mnt, .dentry = b->mnt->mnt_root };
	unsigned long i;
	int ret;

	f->sid = 0;
	f->file = file_open_root(&root, name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (IS_ERR(f->file)) {
		ret = PTR_ERR(f->file);
		/* The callers close what is not NULL. */
		f->file = NULL;
		return ret;
	}
	f->mapping = f->file->f_mapping;
	if (order)
		mapping_set_large_folios(f->mapping);
	/*
	 * Without large folios (no THP: User-Mode Linux) the page cache cannot
	 * hold one; adding it anyway BUGs later in xas_set_order().
	 */
	ret = order > mapping_max_folio_order(f->mapping) ? -EOPNOTSUPP : 0;
	if (!ret)
		ret = vfs_truncate(&f->file->f_path,
				   ((loff_t)nr << order) * PAGE_SIZE);
	for (i = 0; !ret && i < nr; i++) {
		ret = add_folio(f->mapping, i << order, order,
				addrs ? &addrs[i] : NULL);
		if ((i & 1023) == 1023)
			cond_resched();
	}
	if (!ret) {
		f->sid = vm_mvc_sid_create(file_inode(f->file));
		if (f->sid <= 0)
			ret = f->sid ? (int)f->sid : -EINVAL;
	}
	if (ret) {
		f->sid = 0;
		fput(f->file);
		f->file = NULL;
	}
	return ret;
}

static void bench_file_close(struct bench_file *f)
{
	if (f->sid > 0 && vm_mvc_sid_delete(f->sid))
		pr_err("deleting sid %ld failed\n", f->sid);
	fput(f->file);
}

/*
 * The job a C filesystem does by hand on a locked folio; with
 * VM_MVC_NODIRTY in @cmd, without folio_mark_dirty(), as vm_mvc then.
 */
static __always_inline int base_do(struct folio *folio, size_t off, int size,
				   int cmd, u8 *buf)
{
	switch (cmd & VM_MVC_CMD_MASK) {
	case VM_MVC_READ:
		if (!folio_test_uptodate(folio))
			return -ENODATA;
		memcpy_from_folio(buf, folio, off, size);
		return 0;
	case VM_MVC_WRITE:
		memcpy_to_folio(folio, off, buf, size);
		break;
	case VM_MVC_ZERO:
		folio_zero_range(folio, off, size);
		break;
	case VM_MVC_PROTZERO:
		folio_mkclean(folio);
		folio_zero_range(folio, off, size);
		break;
	default:
		return -EINVAL;
	}
	if (!(cmd & VM_MVC_NODIRTY))
		folio_mark_dirty(folio);
	return 0;
}

/* Finds and locks the folio of page @index, or returns an error pointer. */
static __always_inline struct folio *base_lock(struct address_space *mapping,
					       pgoff_t index)
{
	struct folio *folio = filemap_get_folio(mapping, index);

	if (IS_ERR(folio))
		return folio;
	folio_lock(folio);
	if (folio->mapping != mapping) {
		folio_unlock(folio);
		folio_put(folio);
		return ERR_PTR(-ENOENT);
	}
	return folio;
}

/*
 * base_lock() as vm_mvc's lookup by sid does it: the lock taken inside the
 * page-cache lookup if it is free (FGP_LOCK | FGP_NOWAIT), else waited for.
 */
static __always_inline struct folio *base_trylock(struct address_space *mapping,
						  pgoff_t index)
{
	struct folio *folio = __filemap_get_folio(mapping, index,
						  FGP_LOCK | FGP_NOWAIT, 0);

	return PTR_ERR_OR_ZERO(folio) == -EAGAIN ? base_lock(mapping, index) : folio;
}

static __always_inline int base_op(struct address_space *mapping,
				   pgoff_t index, int size, int cmd, u8 *buf,
				   bool trylock)
{
	struct folio *folio = trylock ? base_trylock(mapping, index) :
					base_lock(mapping, index);
	int ret;

	if (IS_ERR(folio))
		return PTR_ERR(folio);
	ret = base_do(folio, (index - folio->index) * PAGE_SIZE, size, cmd, buf);
	folio_unlock(folio);
	folio_put(folio);
	return ret;
}

/* The same with a user buffer: what a read or write path does today. */
static __always_inline int base_user(struct address_space *mapping,
				     pgoff_t index, int size, int cmd,
				     unsigned long uaddr)
{
	struct folio *folio = base_lock(mapping, index);
	unsigned long left;
	void *kaddr;

	if (IS_ERR(folio))
		return PTR_ERR(folio);
	kaddr = kmap_local_folio(folio, (index - folio->index) * PAGE_SIZE);
	if (cmd == VM_MVC_READ) {
		left = copy_to_user((void __user *)uaddr, kaddr, size);
	} else {
		left = copy_from_user(kaddr, (void __user *)uaddr, size);
		flush_dcache_folio(folio);
		folio_mark_dirty(folio);
	}
	kunmap_local(kaddr);
	folio_unlock(folio);
	folio_put(folio);
	return left ? -EFAULT : 0;
}

static int user_each(struct bench *b, pgoff_t index, int size, int cmd)
{
	struct xmem xm = XMEM_INIT;
	int ret, ret2;

	ret = vm_mvc_xmattach((void *)b->ubuf, size, &xm, USER_ADSPACE | BOTH_WAYS);
	if (ret)
		return ret;
	ret = vm_mvc(b->sid, index, 0, size, cmd, &xm, (void *)b->ubuf);
	ret2 = vm_mvc_xmdetach(&xm);
	return ret ? ret : ret2;
}

static atomic64_t bench_counter;

static noinline void empty_call(void *p)
{
	barrier();
}

/* A per-CPU counter for the this_cpu_add step. */
static DEFINE_PER_CPU(u64, bench_percpu);

/* The profile steps; a call returning other than expected is -EIO. */
static int run_profile(struct bench *b, enum variant v, unsigned int n)
{
	struct inode *inode = file_inode(b->f->file);
	unsigned int i;
	int ret = 0;

	switch (v) {
	case P_BADCMD:
		for (i = 0; i < n && !ret; i++)
			if (vm_mvc(b->sid, 0, 0, 64, 0, &b->kxm, b->kbuf) != -EINVAL)
				ret = -EIO;
		break;
	case P_COUNT0_FOLIO:
		for (i = 0; i < n && !ret; i++)
			ret = vm_mvc_folio(b->held, b->held->index, 0, 0,
					   VM_MVC_READ, &b->kxm, b->kbuf);
		break;
	case P_COUNT0_SID:
		for (i = 0; i < n && !ret; i++)
			ret = vm_mvc(b->sid, i % HOT_PAGES, 0, 0, VM_MVC_READ,
				     &b->kxm, b->kbuf);
		break;
	case P_BASE_LOCK:
		for (i = 0; i < n && !ret; i++) {
			struct folio *folio = base_lock(b->f->mapping, i % HOT_PAGES);

			if (IS_ERR(folio)) {
				ret = PTR_ERR(folio);
				break;
			}
			folio_unlock(folio);
			folio_put(folio);
		}
		break;
	case P_IHOLD_IPUT:
		for (i = 0; i < n; i++) {
			ihold(inode);
			iput(inode);
		}
		break;
	case P_RCU:
		for (i = 0; i < n; i++) {
			rcu_read_lock();
			rcu_read_unlock();
		}
		break;
	case P_CALL:
		for (i = 0; i < n; i++)
			empty_call(b);
		break;
	case P_ATOMIC:
		for (i = 0; i < n; i++)
			atomic64_add(64, &bench_counter);
		break;
	case P_PERCPU:
		for (i = 0; i < n; i++)
			this_cpu_add(bench_percpu, 64);
		break;
	case P_WAIT_STABLE:
		for (i = 0; i < n; i++)
			folio_wait_stable(b->held);
		break;
	case P_MARK_DIRTY:
		for (i = 0; i < n; i++)
			folio_mark_dirty(b->held);
		break;
	case P_UPTODATE:
		for (i = 0; i < n && !ret; i++)
			if (!folio_test_uptodate(b->held))
				ret = -EIO;
		break;
	default:
		for (i = 0; i < n; i++)
			barrier();
		break;
	}
	return ret;
}

/* Makes @n calls of @v; stops at the first error. */
static int run_variant(struct bench *b, enum variant v, int cmd, int size,
		       unsigned int n)
{
	struct address_space *mapping = b->f->mapping;
	unsigned int i;
	int ret = 0;

	b->frame = (unsigned long)__builtin_frame_address(0);
	switch (v) {
	case V_SID:
		for (i = 0; i < n && !ret; i++)
			ret = vm_mvc(b->sid, i % b->hot_pages, 0, size, cmd,
				     &b->kxm, b->kbuf);
		break;
	case V_BASE:
		for (i = 0; i < n && !ret; i++)
			ret = base_op(mapping, i % b->hot_pages, size, cmd, b->kbuf,
				      false);
		break;
	case V_BASE_TRYLOCK:
		for (i = 0; i < n && !ret; i++)
			ret = base_op(mapping, i % b->hot_pages, size, cmd, b->kbuf,
				      true);
		break;
	case V_FOLIO:
		for (i = 0; i < n && !ret; i++)
			ret = vm_mvc_folio(b->held, b->held->index, 0, size, cmd,
					   &b->kxm, b->kbuf);
		break;
	case V_FOLIO_BASE:
		for (i = 0; i < n && !ret; i++)
			ret = base_do(b->held, 0, size, cmd, b->kbuf);
		break;
	case V_USER_ONCE:
		for (i = 0; i < n && !ret; i++)
			ret = vm_mvc(b->sid, i % HOT_PAGES, 0, size, cmd,
				     &b->uxm, (void *)b->ubuf);
		break;
	case V_USER_EACH:
		for (i = 0; i < n && !ret; i++)
			ret = user_each(b, i % HOT_PAGES, size, cmd);
		break;
	case V_USER_BASE:
		for (i = 0; i < n && !ret; i++)
			ret = base_user(mapping, i % HOT_PAGES, size, cmd, b->ubuf);
		break;
	default:
		ret = run_profile(b, v, n);
		break;
	}
	return ret;
}

/* run_variant() @depth frames of about 100 bytes further down the stack. */
static noinline int run_at_depth(struct bench *b, enum variant v, int cmd,
				 int size, unsigned int n, unsigned int depth)
{
	u8 pad[64];
	int ret;

	if (!depth)
		return run_variant(b, v, cmd, size, n);
	memset(pad, depth, sizeof(pad));
	barrier_data(pad);
	ret = run_at_depth(b, v, cmd, size, n, depth - 1);
	barrier_data(pad);
	return ret;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static u64 median(u64 *v, unsigned int n)
{
	sort(v, n, sizeof(*v), cmp_u64, NULL);
	return v[n / 2];
}

/* Picoseconds per call of a variant over the rounds. */
struct timing {
	u64 median;
	u64 min;
};

/*
 * Times @v and @base in alternate rounds after a warm-up, so that a slow
 * phase of the host hits both alike.
 */
static int measure_pair(struct bench *b, enum variant v, enum variant base,
			int cmd, int size, struct timing *tv, struct timing *tbase)
{
	unsigned int nr = clamp(rounds, 1U, (unsigned int)MAX_ROUNDS);
	unsigned int n = max(iters, 1U);
	u64 t[MAX_ROUNDS], tb[MAX_ROUNDS], t0;
	unsigned int r;
	int ret;

	ret = run_variant(b, v, cmd, size, n / 10 + 1);
	if (!ret)
		ret = run_variant(b, base, cmd, size, n / 10 + 1);
	for (r = 0; !ret && r < nr; r++) {
		t0 = ktime_get_ns();
		ret = run_at_depth(b, v, cmd, size, n, b->depth);
		t[r] = div_u64((ktime_get_ns() - t0) * 1000, n);
		if (ret)
			break;
		t0 = ktime_get_ns();
		ret = run_at_depth(b, base, cmd, size, n, b->depth);
		tb[r] = div_u64((ktime_get_ns() - t0) * 1000, n);
		cond_resched();
	}
	if (ret) {
		pr_err("cmd=%s size=%d variant %d failed: %d\n",
		       cmd_name(cmd), size, v, ret);
		return ret;
	}
	tv->median = median(t, nr);
	tv->min = t[0];
	tbase->median = median(tb, nr);
	tbase->min = tb[0];
	return 0;
}

/* Formats @ps picoseconds as nanoseconds with one decimal. */
static const char *fmt_ns(char *buf, size_t len, u64 ps)
{
	u32 rem;
	u64 ns = div_u64_rem(ps, 1000, &rem);

	snprintf(buf, len, "%llu.%u", ns, rem / 100);
	return buf;
}

/* Prints one row: medians, their ratio, and the fastest rounds. */
static void report(const char *prefix, const char *entry, int cmd, int size,
		   const struct timing *tv, const struct timing *tbase)
{
	u64 r = div64_u64(tv->median * 1000, max(tbase->median, 1ULL));
	char a[24], b[24], c[24], d[24];
	u32 rem;

	r = div_u64_rem(r, 1000, &rem);
	pr_info("%s cmd=%s size=%d entry=%s ns=%s baseline_ns=%s ratio=%llu.%03u min_ns=%s baseline_min_ns=%s\n",
		prefix, cmd_name(cmd), size, entry,
		fmt_ns(a, sizeof(a), tv->median), fmt_ns(b, sizeof(b), tbase->median),
		r, rem, fmt_ns(c, sizeof(c), tv->min), fmt_ns(d, sizeof(d), tbase->min));
}

static int pair(struct bench *b, const char *prefix, const char *entry,
		enum variant v, enum variant base, int cmd, int size)
{
	struct timing tv, tbase;
	int ret = measure_pair(b, v, base, cmd, size, &tv, &tbase);

	if (!ret)
		report(prefix, entry, cmd, size, &tv, &tbase);
	return ret;
}

/* Part 1: every command and size, by sid and on a held folio. */
static int table_percall(struct bench *b)
{
	struct bench_file f;
	unsigned int c, s;
	int ret;

	ret = bench_file_open(b, &f, "percall", 0, HOT_PAGES, NULL);
	if (ret)
		return ret;
	b->f = &f;
	b->sid = f.sid;
	for (c = 0; !ret && c < ARRAY_SIZE(cmds); c++)
		for (s = 0; !ret && s < ARRAY_SIZE(sizes); s++)
			ret = pair(b, "table=percall", "sid", V_SID, V_BASE,
				   cmds[c], sizes[s]);
	if (!ret) {
		b->held = filemap_lock_folio(f.mapping, 0);
		if (IS_ERR(b->held)) {
			ret = PTR_ERR(b->held);
		} else {
			for (c = 0; !ret && c < ARRAY_SIZE(cmds); c++)
				for (s = 0; !ret && s < ARRAY_SIZE(sizes); s++)
					ret = pair(b, "table=percall", "folio",
						   V_FOLIO, V_FOLIO_BASE,
						   cmds[c], sizes[s]);
			folio_unlock(b->held);
			folio_put(b->held);
		}
		b->held = NULL;
	}
	bench_file_close(&f);
	return ret;
}

/*
 * The rows of the copy table for @v against @base: WRITE with and without
 * its folio_mark_dirty() (VM_MVC_NODIRTY on both sides), READ, ZERO.
 */
static int copy_rows(struct bench *b, const char *entry, enum variant v,
		     enum variant base)
{
	static const int ccmds[] = {
		VM_MVC_WRITE, VM_MVC_WRITE | VM_MVC_NODIRTY, VM_MVC_READ, VM_MVC_ZERO,
	};
	unsigned int c, s;
	char name[32];
	int ret = 0;

	for (c = 0; !ret && c < ARRAY_SIZE(ccmds); c++) {
		snprintf(name, sizeof(name), "%s%s", entry,
			 ccmds[c] & VM_MVC_NODIRTY ? "_nodirty" : "");
		for (s = 0; !ret && s < ARRAY_SIZE(sizes_short); s++)
			ret = pair(b, "table=copy", name, v, base, ccmds[c],
				   sizes_short[s]);
	}
	return ret;
}

/*
 * Part 1, where the gap of a copy goes as its size grows (issue 10): the
 * copy rows on a held folio, by sid over the 8 pages of the percall table
 * and over page 0 alone (data in the L1 cache), the C baseline locking in
 * its lookup as vm_mvc does against the usual one (ctrylock) and vm_mvc
 * against that form (sid_vs_ctrylock), then WRITE and READ by sid
 * with run_variant()'s frame moved down the stack in steps (entry
 * sid_frame<low 12 bits of its address>), for an alias of the stack with
 * the copy's bytes modulo 4 KiB.
 */
static int table_copy(struct bench *b)
{
	static const int dcmds[] = { VM_MVC_WRITE, VM_MVC_READ };
	struct timing tv, tbase;
	struct bench_file f;
	unsigned int c, s;
	char entry[32];
	int ret;

	ret = bench_file_open(b, &f, "copy", 0, HOT_PAGES, NULL);
	if (ret)
		return ret;
	b->f = &f;
	b->sid = f.sid;
	b->held = filemap_lock_folio(f.mapping, 0);
	if (IS_ERR(b->held)) {
		ret = PTR_ERR(b->held);
		b->held = NULL;
		goto out_file;
	}
	ret = copy_rows(b, "folio", V_FOLIO, V_FOLIO_BASE);
	folio_unlock(b->held);
	folio_put(b->held);
	b->held = NULL;
	if (!ret)
		ret = copy_rows(b, "sid", V_SID, V_BASE);
	b->hot_pages = 1;
	if (!ret)
		ret = copy_rows(b, "sid1", V_SID, V_BASE);
	b->hot_pages = HOT_PAGES;
	/* The lookup's form alone, in C; then vm_mvc against that form. */
	if (!ret)
		ret = copy_rows(b, "ctrylock", V_BASE_TRYLOCK, V_BASE);
	if (!ret)
		ret = copy_rows(b, "sid_vs_ctrylock", V_SID, V_BASE_TRYLOCK);
	for (b->depth = 0; !ret && b->depth <= 40; b->depth += 4)
		for (c = 0; !ret && c < ARRAY_SIZE(dcmds); c++)
			for (s = 0; !ret && s < ARRAY_SIZE(sizes_short); s++) {
				ret = measure_pair(b, V_SID, V_BASE, dcmds[c],
						   sizes_short[s], &tv, &tbase);
				snprintf(entry, sizeof(entry), "sid_frame%03lx",
					 b->frame & 0xfff);
				if (!ret)
					report("table=copy", entry, dcmds[c],
					       sizes_short[s], &tv, &tbase);
			}
	b->depth = 0;
out_file:
	bench_file_close(&f);
	return ret;
}

/*
 * Part 1, for a host profiler (perf record -e cpu-clock of the User-Mode
 * Linux process): 2-second phases of one variant each, 1 second apart, so
 * that the host's samples split by time into vm_mvc and baseline, WRITE by
 * sid at 4 KiB and 64 B.
 */
static int table_copyprof(struct bench *b)
{
	static const struct {
		enum variant v;
		int size;
	} phases[] = {
		{ V_SID, 4096 }, { V_BASE, 4096 }, { V_SID, 64 }, { V_BASE, 64 },
	};
	struct bench_file f;
	unsigned long calls;
	unsigned int p;
	u64 t0, ns;
	int ret;

	ret = bench_file_open(b, &f, "copyprof", 0, HOT_PAGES, NULL);
	if (ret)
		return ret;
	b->f = &f;
	b->sid = f.sid;
	for (p = 0; !ret && p < ARRAY_SIZE(phases); p++) {
		msleep(1000);
		t0 = ktime_get_ns();
		for (calls = 0, ns = 0; !ret && ns < 2 * NSEC_PER_SEC; calls += 1000) {
			ret = run_variant(b, phases[p].v, VM_MVC_WRITE, phases[p].size, 1000);
			ns = ktime_get_ns() - t0;
			cond_resched();
		}
		pr_info("table=copyprof phase=%u variant=%s size=%d calls=%lu ns=%llu\n",
			p, phases[p].v == V_SID ? "sid" : "baseline", phases[p].size,
			calls, ns);
	}
	msleep(1000);
	bench_file_close(&f);
	return ret;
}

/*
 * Part 1, where the time of a small call goes: each step of a call, and of
 * the baseline, timed alone (loop overhead subtracted), 64-byte READ.
 */
static int table_profile(struct bench *b)
{
	static const struct {
		const char *name;
		enum variant v;
	} steps[] = {
		{ "vm_mvc_read64", V_SID },
		{ "vm_mvc_folio_read64", V_FOLIO },
		{ "baseline_read64", V_BASE },
		{ "baseline_folio_read64", V_FOLIO_BASE },
		{ "vm_mvc_badcmd", P_BADCMD },
		{ "vm_mvc_folio_count0", P_COUNT0_FOLIO },
		{ "vm_mvc_count0", P_COUNT0_SID },
		{ "baseline_lookup_lock", P_BASE_LOCK },
		{ "ihold_iput", P_IHOLD_IPUT },
		{ "rcu_read_lock_unlock", P_RCU },
		{ "empty_call", P_CALL },
		{ "atomic64_add", P_ATOMIC },
		{ "this_cpu_add", P_PERCPU },
		{ "folio_wait_stable", P_WAIT_STABLE },
		{ "folio_mark_dirty", P_MARK_DIRTY },
		{ "folio_test_uptodate", P_UPTODATE },
	};
	struct timing tv, tnop;
	struct bench_file f;
	unsigned int i;
	char a[24], c[24];
	int ret;

	/* One more page than the by-sid steps use: the one held locked. */
	ret = bench_file_open(b, &f, "profile", 0, HOT_PAGES + 1, NULL);
	if (ret)
		return ret;
	b->f = &f;
	b->sid = f.sid;
	b->held = filemap_lock_folio(f.mapping, HOT_PAGES);
	if (IS_ERR(b->held)) {
		ret = PTR_ERR(b->held);
		goto out_file;
	}
	for (i = 0; !ret && i < ARRAY_SIZE(steps); i++) {
		ret = measure_pair(b, steps[i].v, V_NOP, VM_MVC_READ, 64, &tv,
				   &tnop);
		if (ret)
			break;
		tv.median -= min(tv.median, tnop.median);
		tv.min -= min(tv.min, tnop.min);
		pr_info("table=profile step=%s ns=%s min_ns=%s\n", steps[i].name,
			fmt_ns(a, sizeof(a), tv.median), fmt_ns(c, sizeof(c), tv.min));
	}
	folio_unlock(b->held);
	folio_put(b->held);
	b->held = NULL;
out_file:
	bench_file_close(&f);
	return ret;
}

/* Part 1, user buffers: the writer's own anonymous memory. */
static int table_user(struct bench *b)
{
	static const int ucmds[] = { VM_MVC_READ, VM_MVC_WRITE };
	struct bench_file f;
	unsigned int c, s;
	int ret;

	if (!current->mm)
		return -EINVAL;
	ret = bench_file_open(b, &f, "user", 0, HOT_PAGES, NULL);
	if (ret)
		return ret;
	b->f = &f;
	b->sid = f.sid;
	b->ubuf = vm_mmap(NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(b->ubuf)) {
		ret = (int)b->ubuf;
		goto out_file;
	}
	if (clear_user((void __user *)b->ubuf, PAGE_SIZE)) {
		ret = -EFAULT;
		goto out_unmap;
	}
	ret = vm_mvc_xmattach((void *)b->ubuf, PAGE_SIZE, &b->uxm, USER_ADSPACE | BOTH_WAYS);
	if (ret)
		goto out_unmap;
	for (c = 0; !ret && c < ARRAY_SIZE(ucmds); c++)
		for (s = 0; !ret && s < ARRAY_SIZE(sizes); s++)
			ret = pair(b, "table=user", "user_once", V_USER_ONCE,
				   V_USER_BASE, ucmds[c], sizes[s]);
	for (c = 0; !ret && c < ARRAY_SIZE(ucmds); c++)
		for (s = 0; !ret && s < ARRAY_SIZE(sizes); s++)
			ret = pair(b, "table=user", "user_each", V_USER_EACH,
				   V_USER_BASE, ucmds[c], sizes[s]);
	if (vm_mvc_xmdetach(&b->uxm))
		pr_err("vm_mvc_xmdetach of the user buffer failed\n");
out_unmap:
	vm_munmap(b->ubuf, PAGE_SIZE);
out_file:
	b->ubuf = 0;
	bench_file_close(&f);
	return ret;
}

/*
 * One sweep of the bandwidth file: vm_mvc READ of every page by (sid, pno),
 * or with @range of every whole folio through vm_mvc_folio_range() on the
 * folio locked by the caller; into the ring at @dst.
 */
static int bw_sweep(struct bench_file *f, unsigned long nr, unsigned int order,
		    bool range, struct xmem *xm, u8 *dst)
{
	unsigned long ring = RING_SIZE >> (PAGE_SHIFT + order), i, p;
	size_t fsize = PAGE_SIZE << order;
	struct folio *folio;
	int ret = 0;

	for (i = 0; !ret && i < nr; i++) {
		u8 *to = dst + (i % ring) * fsize;

		if (!range) {
			for (p = 0; !ret && p < (1UL << order); p++)
				ret = vm_mvc(f->sid, (i << order) + p, 0, PAGE_SIZE,
					     VM_MVC_READ, xm, to + p * PAGE_SIZE);
			continue;
		}
		folio = filemap_lock_folio(f->mapping, i << order);
		if (IS_ERR(folio))
			return PTR_ERR(folio);
		ret = vm_mvc_folio_range(folio, 0, fsize, VM_MVC_READ, xm, to);
		folio_unlock(folio);
		folio_put(folio);
	}
	return ret;
}

/* The same bytes with memcpy from the folios' kernel addresses. */
static void bw_memcpy(void **addrs, unsigned long nr, unsigned int order,
		      u8 *dst)
{
	unsigned long ring = RING_SIZE >> (PAGE_SHIFT + order), i;
	size_t fsize = PAGE_SIZE << order;

	for (i = 0; i < nr; i++)
		memcpy(dst + (i % ring) * fsize, addrs[i], fsize);
}

static int bw_row(struct bench *b, struct bench_file *f, void **addrs,
		  unsigned long nr, unsigned int order, bool range, u8 *dst)
{
	unsigned int nr_rounds = clamp(rounds, 1U, 5U), r;
	u64 t[MAX_ROUNDS], tb[MAX_ROUNDS], t0, ns, base_ns, bytes, ratio;
	struct xmem xm = XMEM_INIT;
	u32 rem;
	int ret;

	ret = vm_mvc_xmattach(dst, RING_SIZE, &xm, SYS_ADSPACE | BOTH_WAYS);
	if (ret)
		return ret;
	/* Round 0 is the warm-up of both. */
	for (r = 0; !ret && r <= nr_rounds; r++) {
		t0 = ktime_get_ns();
		ret = bw_sweep(f, nr, order, range, &xm, dst);
		ns = ktime_get_ns() - t0;
		cond_resched();
		t0 = ktime_get_ns();
		bw_memcpy(addrs, nr, order, dst);
		base_ns = ktime_get_ns() - t0;
		cond_resched();
		if (r) {
			t[r - 1] = ns;
			tb[r - 1] = base_ns;
		}
	}
	if (vm_mvc_xmdetach(&xm))
		pr_err("vm_mvc_xmdetach of the ring failed\n");
	if (ret) {
		pr_err("bandwidth: vm_mvc READ failed: %d\n", ret);
		return ret;
	}
	ns = max(median(t, nr_rounds), 1ULL);
	base_ns = max(median(tb, nr_rounds), 1ULL);
	bytes = ((u64)nr * PAGE_SIZE) << order;
	/* vm_mvc MB/s over memcpy MB/s */
	ratio = div_u64_rem(div64_u64(base_ns * 1000, ns), 1000, &rem);
	pr_info("table=bandwidth order=%u request=%lu entry=%s bytes=%llu rounds=%u vm_mvc_ns=%llu memcpy_ns=%llu vm_mvc_mbps=%llu memcpy_mbps=%llu ratio=%llu.%03u\n",
		order, range ? PAGE_SIZE << order : PAGE_SIZE,
		range ? "folio_range" : "sid", bytes, nr_rounds, ns, base_ns,
		div64_u64(bytes * 1000, ns), div64_u64(bytes * 1000, base_ns),
		ratio, rem);
	return 0;
}

/*
 * Part 2: bw_mib MiB of cached pages read with vm_mvc vs memcpy: 4 KiB
 * requests on order-0 folios (the target row), 4 KiB requests on order-9
 * folios, and whole order-9 folios per call.
 */
static int table_bandwidth(struct bench *b)
{
	static const struct {
		unsigned int order;
		bool range;
	} rows[] = { { 0, false }, { 9, false }, { 9, true } };
	unsigned long pages = (unsigned long)max(bw_mib, 1U) << (20 - PAGE_SHIFT);
	struct bench_file f = { .file = NULL };
	unsigned int row, order = 0, skipped = UINT_MAX;
	unsigned long nr = 0;
	void **addrs;
	u8 *dst;
	int ret;

	addrs = kvmalloc_array(pages, sizeof(*addrs), GFP_KERNEL);
	dst = kvmalloc(RING_SIZE, GFP_KERNEL);
	if (!addrs || !dst) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (row = 0; row < ARRAY_SIZE(rows); row++) {
		/* Off (bw_large=0), or its file was refused (reported once). */
		if ((rows[row].order && !bw_large) || rows[row].order == skipped)
			continue;
		if (!f.file || order != rows[row].order) {
			if (f.file)
				bench_file_close(&f);
			f.file = NULL;
			order = rows[row].order;
			nr = pages >> order;
			ret = bench_file_open(b, &f, order ? "bw_large" : "bw",
					      order, nr, addrs);
			if (ret) {
				pr_info("table=bandwidth order=%u skipped: %d\n",
					order, ret);
				skipped = order;
				ret = 0;
				continue;
			}
		}
		ret = bw_row(b, &f, addrs, nr, order, rows[row].range, dst);
		if (ret)
			break;
	}
	if (f.file)
		bench_file_close(&f);
out_free:
	kvfree(dst);
	kvfree(addrs);
	return ret;
}

/* Part 4a: per-call cost by folio order. */
static int table_order(struct bench *b)
{
	static const unsigned int orders[] = { 0, 2, 4, 9 };
	unsigned int o, c, s;
	char prefix[32], name[16];
	int ret = 0;

	for (o = 0; !ret && o < ARRAY_SIZE(orders); o++) {
		unsigned int order = orders[o];
		unsigned long nr = max(HOT_PAGES >> order, 1);
		struct bench_file f;

		snprintf(name, sizeof(name), "order%u", order);
		snprintf(prefix, sizeof(prefix), "table=order order=%u", order);
		if (bench_file_open(b, &f, name, order, nr, NULL)) {
			pr_info("%s skipped (no folio of that order)\n", prefix);
			continue;
		}
		b->f = &f;
		b->sid = f.sid;
		for (c = 0; !ret && c < ARRAY_SIZE(cmds); c++)
			for (s = 0; !ret && s < ARRAY_SIZE(sizes_short); s++)
				ret = pair(b, prefix, "sid", V_SID, V_BASE,
					   cmds[c], sizes_short[s]);
		bench_file_close(&f);
	}
	return ret;
}

/* Deletes @nr sids (each delete is O(1) and never waits). */
static void delete_many(vmid_t *sids, unsigned long nr)
{
	unsigned long i, errors = 0;

	for (i = 0; i < nr; i++)
		if (vm_mvc_sid_delete(sids[i]))
			errors++;
	if (errors)
		pr_err("%lu sids failed to delete\n", errors);
}

/* Part 4b: per-call cost with 1, 1k and 100k sids live. */
static int table_sids(struct bench *b)
{
	static const unsigned long counts[] = { 1, 1000, 100000 };
	unsigned long nfill = 0, k;
	unsigned int c, s;
	struct bench_file f;
	char prefix[48];
	vmid_t *fill;
	int ret;

	fill = kvmalloc_array(counts[ARRAY_SIZE(counts) - 1], sizeof(*fill),
			      GFP_KERNEL);
	if (!fill)
		return -ENOMEM;
	ret = bench_file_open(b, &f, "sids", 0, HOT_PAGES, NULL);
	if (ret)
		goto out_free;
	b->f = &f;
	for (k = 0; !ret && k < ARRAY_SIZE(counts); k++) {
		/* The file's own sid plus nfill more on the same inode. */
		while (nfill + 1 < counts[k]) {
			vmid_t sid = vm_mvc_sid_create(file_inode(f.file));

			if (sid <= 0) {
				ret = sid ? (int)sid : -EINVAL;
				break;
			}
			fill[nfill++] = sid;
			if ((nfill & 1023) == 0)
				cond_resched();
		}
		if (ret)
			break;
		/* The newest sid: the deepest slot of the registry. */
		b->sid = nfill ? fill[nfill - 1] : f.sid;
		snprintf(prefix, sizeof(prefix), "table=sids sids=%lu", counts[k]);
		for (c = 0; !ret && c < ARRAY_SIZE(cmds); c++)
			for (s = 0; !ret && s < ARRAY_SIZE(sizes_short); s++)
				ret = pair(b, prefix, "sid", V_SID, V_BASE,
					   cmds[c], sizes_short[s]);
	}
	if (ret)
		pr_err("sids: failed with %lu extra sids live: %d\n", nfill, ret);
	delete_many(fill, nfill);
	bench_file_close(&f);
out_free:
	kvfree(fill);
	return ret;
}

static const struct {
	const char *name;
	int (*run)(struct bench *b);
} tables[] = {
	{ "percall", table_percall },
	{ "profile", table_profile },
	{ "user", table_user },
	{ "bandwidth", table_bandwidth },
	{ "order", table_order },
	{ "sids", table_sids },
	{ "copy", table_copy },
	{ "copyprof", table_copyprof },
};

static DEFINE_MUTEX(bench_lock);

static int run_table(unsigned int t)
{
	struct bench b = {
		.kxm = XMEM_INIT, .uxm = XMEM_INIT, .hot_pages = HOT_PAGES,
	};
	u64 start = ktime_get_ns();
	int ret;

	b.mnt = ramfs_mount();
	if (IS_ERR(b.mnt))
		return PTR_ERR(b.mnt);
	b.kbuf = kzalloc(PAGE_SIZE, GFP_KERNEL);
	if (!b.kbuf) {
		ret = -ENOMEM;
		goto out_unmount;
	}
	ret = vm_mvc_xmattach(b.kbuf, PAGE_SIZE, &b.kxm, SYS_ADSPACE | BOTH_WAYS);
	if (ret)
		goto out_free;
	pr_info("begin table=%s iters=%u rounds=%u\n", tables[t].name, iters, rounds);
	ret = tables[t].run(&b);
	pr_info("end table=%s status=%d seconds=%llu\n", tables[t].name, ret,
		div_u64(ktime_get_ns() - start, NSEC_PER_SEC));
	if (vm_mvc_xmdetach(&b.kxm))
		pr_err("vm_mvc_xmdetach of the kernel buffer failed\n");
out_free:
	kfree(b.kbuf);
out_unmount:
	kern_unmount(b.mnt);
	return ret;
}

static ssize_t run_write(struct file *file, const char __user *ubuf,
			 size_t len, loff_t *ppos)
{
	char name[16];
	unsigned int t;
	int ret = -EINVAL;

	if (len >= sizeof(name))
		return -EINVAL;
	if (copy_from_user(name, ubuf, len))
		return -EFAULT;
	name[len] = '\0';
	for (t = 0; t < ARRAY_SIZE(tables); t++) {
		if (strcmp(strim(name), tables[t].name))
			continue;
		mutex_lock(&bench_lock);
		ret = run_table(t);
		mutex_unlock(&bench_lock);
		break;
	}
	return ret ? ret : len;
}

static const struct file_operations run_fops = {
	.owner = THIS_MODULE,
	.write = run_write,
};

static struct dentry *bench_dir;

static int __init vm_mvc_bench_init(void)
{
	bench_dir = debugfs_create_dir("vm_mvc_bench", NULL);
	debugfs_create_file("run", 0200, bench_dir, NULL, &run_fops);
	return 0;
}

static void __exit vm_mvc_bench_exit(void)
{
	debugfs_remove_recursive(bench_dir);
}

module_init(vm_mvc_bench_init);
module_exit(vm_mvc_bench_exit);

MODULE_DESCRIPTION("Benchmark of vm_mvc against inline folio helpers and memcpy");
MODULE_LICENSE("GPL");
