# SPDX-License-Identifier: GPL-2.0
#
#   make run      build whatever is missing, boot the test kernel, show vm_mvc working
#   make check    the same set-up, then every test; ends with "N passed, N failed"
#   make bench    the same set-up on the base kernel, then the benchmark
#                 (Documentation/performance.rst); results in build/bench/
#   make soak     the debug kernel runs the randomized toyfs tester for
#                 TOYFS_SOAK_SEEDS (8) seeds x TOYFS_SOAK_OPS (125000)
#                 operations, then part fsx with FSX_SOAK_OPS (6000)
#                 operations per fsx process; ends with "N passed, N failed"
#                 (an hour or more)
#   make shell    boots the test kernel with the modules loaded and a toyfs
#                 mounted, a shell on the terminal (Debian's bash, xfs_io,
#                 fio, stress-ng); leaving the shell powers the guest off
#   make torture  part fsx with four times make check's operations, then
#                 fio with verification and stress-ng on toyfs, longer than
#                 in make check: TORTURE_SECONDS (600) each; DEBUG=1 too
#   make htmldocs Documentation/ with Sphinx (-W) into build/html
#
# DEBUG=1 uses the debug kernel (KASAN, lockdep, kmemleak, fault injection).
# UML=1 uses the User-Mode Linux kernel (ARCH=um): kernel code runs natively
# in a host process, so `make bench UML=1` gives native figures (QEMU's are
# emulated) and `make check UML=1` is the quick loop; the tests it cannot
# run there (large folios, GUP-fast) are reported skipped.  UML=1 DEBUG=1:
# the User-Mode Linux kernel with the debug kernel's checkers.
# VM_MVC_ONLY=part,part runs only those parts of the guest tests
# (scripts/guest/check.sh: kunit, toyfs, module, ...), for quick runs.
# VM_MVC_PROFILE=1 (bench) samples the guest's instruction pointers from
# QEMU's monitor (with UML=1: the host's perf samples the UML process): a
# flat profile per filesystem benchmark row, profile.txt; with check
# (QEMU only), per KTAP suite.
# VM_MVC_BENCH_TABLES=percall,profile (bench) runs only those tables, and
# VM_MVC_BENCH_ARGS=bw_mib=64,bw_large=0 sets vm_mvc_bench's parameters.
# VM_MVC_BENCH_FS_ROWS=appendsync,read_cold_1m runs only those rows of the
# filesystem table, VM_MVC_BENCH_FS_ROUNDS=N that many rounds (5),
# VM_MVC_BENCH_FS_IOSTAT=1 puts toyfs and ext2 on loop devices and adds
# each row's block I/O counts (requests, KiB, flushes) to its line,
# VM_MVC_BENCH_FS_PREFILL=0 leaves out the untimed writing of both
# devices whole before mkfs (brd's first-write page allocations then
# count in the rows);
# VM_MVC_BENCH_COMPRESS_ROWS=tree_cold and VM_MVC_BENCH_COMPRESS_ROUNDS=N
# the same for the compression table.
# TOYFS_STRESS_OPS=N sets the length of the randomized toyfs runs (30000
# for 1 KiB blocks, a fifth for the others); TOYFS_STRESS_SEED=N their
# seed (1), printed with the command line that replays a failure.
# TOYFS_RUN_GAPS=1 runs the cases skipped for a known toyfs bug or missing
# feature (scripts/guest/toyfs-common.sh), to see whether a fix passes them.
# TORTURE_SECONDS=N bounds fio and stress-ng on toyfs, each (15).
# TORTURE_LAYOUTS=all (or names, comma-separated) runs the torture part's
# suite toyfs_torture_layouts on every toyfs layout (make check: four).
# TORTURE_SEED=N seeds that suite's churn, packed-torture and pressure
# fsx (1), printed with the command that runs a failure again.
# PARTIAL_PAGE_FILESYSTEMS=toyfs:4096:-f_512_-c_lz4,ext4:1024 runs part
# partial_page on those filesystems only (scripts/guest/partial-page-cases.sh);
# "references" in it stands for ext2, ext4 and tmpfs, which check the golden
# outputs and run only when asked (after a change to tests/xfs_io).
# CORRUPT_FLIP_IMAGES=N sets the damaged images per flipper seed (100).
# FSX_OPS=N sets the operations of each fsx process of part fsx (3000 on
# QEMU's base kernel, 175 on the debug ones, 15000 on UML); FSX_SEED=N its
# seeds (1: seeds 100-177), printed with the command that reruns a failure.
# KDIR=/path builds against an already-built Linux 7.3 tree instead of ours.
# The cache (toolchain, kernel source and builds) is in $(VM_MVC_CACHE),
# default ~/.cache/vm_mvc; see README.md.

DEBUG ?= 0
UML ?= 0
ifneq ($(filter 1 y yes,$(UML)),)
FLAVOUR := $(if $(filter 1 y yes,$(DEBUG)),uml-debug,uml)
BENCH_FLAVOUR := uml
else
FLAVOUR := $(if $(filter 1 y yes,$(DEBUG)),debug,base)
BENCH_FLAVOUR := base
endif
export KDIR VM_MVC_CACHE VM_MVC_ONLY VM_MVC_PROFILE VM_MVC_KCONFIG_EXTRA
export VM_MVC_BENCH_TABLES VM_MVC_BENCH_ARGS VM_MVC_BENCH_FS_ROWS VM_MVC_BENCH_FS_ROUNDS
export VM_MVC_BENCH_FS_IOSTAT VM_MVC_BENCH_FS_PREFILL
export VM_MVC_BENCH_COMPRESS_ROWS VM_MVC_BENCH_COMPRESS_ROUNDS
export TOYFS_STRESS_OPS TOYFS_STRESS_SEED TOYFS_RUN_GAPS TORTURE_SECONDS TORTURE_LAYOUTS TORTURE_SEED
export CORRUPT_FLIP_IMAGES FSX_OPS FSX_SEED PARTIAL_PAGE_FILESYSTEMS
export TOYFS_SOAK_SEEDS TOYFS_SOAK_OPS TOYFS_SOAK_FIRST_SEED FSX_SOAK_OPS

SCRIPTS := $(CURDIR)/scripts

.PHONY: all modules run shell check check-debug soak torture bench clippy fmt fmt-check htmldocs \
	kernel toolchain clean

all: modules

toolchain:
	@$(SCRIPTS)/toolchain.sh >/dev/null

kernel: toolchain
	@$(SCRIPTS)/in-toolchain.sh $(SCRIPTS)/kdir.sh $(FLAVOUR) >/dev/null

modules:
	@$(SCRIPTS)/in-toolchain.sh $(SCRIPTS)/kmake.sh $(FLAVOUR) modules

clippy:
	@$(SCRIPTS)/in-toolchain.sh $(SCRIPTS)/kmake.sh $(FLAVOUR) modules CLIPPY=1

fmt fmt-check:
	@$(SCRIPTS)/in-toolchain.sh $(SCRIPTS)/rustfmt.sh $(FLAVOUR) $@

htmldocs:
	@$(SCRIPTS)/in-toolchain.sh $(SCRIPTS)/htmldocs.sh

run:
	@$(SCRIPTS)/guest.sh $(FLAVOUR) run

shell:
	@$(SCRIPTS)/guest.sh $(FLAVOUR) shell

check:
	@$(SCRIPTS)/guest.sh $(FLAVOUR) check

check-debug:
	@$(MAKE) --no-print-directory check DEBUG=1

# The operations of each fsx process in make torture: four times make
# check's (scripts/guest/fsx-tests.sh), on the debug kernels four times
# its 700 of before 2026-12-06 (make check's 175 are for its time).
TORTURE_FSX_OPS_base := 12000
TORTURE_FSX_OPS_debug := 2800
TORTURE_FSX_OPS_uml := 60000
TORTURE_FSX_OPS_uml-debug := 2800

# Only part fsx with FSX_OPS four times make check's (every fallocate
# mode on every image), then the guest's torture part
# (scripts/guest/torture.sh), for longer, and its suite on every toyfs
# layout (torture-layouts.sh), in check.sh's order.  On UML, on the
# shared host of 2026-12-06: fsx 864 s for 30000 operations (so about 29
# minutes for the default 60000), the layouts 711 s; the guest's time
# limit leaves 50 minutes beyond the two torture runs, about 9 to spare.
torture:
	@seconds=$${TORTURE_SECONDS:-600}; \
	VM_MVC_GUEST_ONLY=1 VM_MVC_ONLY=torture,fsx TORTURE_SECONDS=$$seconds \
	TORTURE_LAYOUTS=$${TORTURE_LAYOUTS:-all} FSX_OPS=$${FSX_OPS:-$(TORTURE_FSX_OPS_$(FLAVOUR))} \
	VM_MVC_TIMEOUT=$${VM_MVC_TIMEOUT:-$$((2 * seconds + 3000))} \
		$(SCRIPTS)/guest.sh $(FLAVOUR) check

# Always the debug kernel: the soak is there to find what KASAN, lockdep
# and kmemleak see only after many operations.
soak:
	@$(SCRIPTS)/guest.sh debug soak

# Always the base kernel (QEMU, or UML=1): the debug kernel's checks would
# be measured too.
bench:
	@$(SCRIPTS)/guest.sh $(BENCH_FLAVOUR) bench

clean:
	@if [ -n "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; \
	else $(SCRIPTS)/in-toolchain.sh $(SCRIPTS)/kmake.sh $(FLAVOUR) clean; fi
	rm -rf build
