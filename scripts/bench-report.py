#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Reads the "vm_mvc_bench:" lines of a `make bench` console log, writes one
CSV file per table, prints the tables with their ratios and whether each
target is met, and draws the plots (SVG) when matplotlib is importable.

Usage: bench-report.py OUT   (reads OUT/console.log and OUT/accel)
"""

import csv
import os
import re
import statistics
import sys

LINE = re.compile(r"vm_mvc_bench: (.*)$")
PAIR = re.compile(r"(\w+)=(\S+)")

# Targets of issue 10 item 7 (the fast path), vm_mvc / inline C baseline,
# per entry point and request size: by sid <= 1.15 at 64 B and <= 1.05 at
# 4 KiB; on a held folio <= 1.10 and <= 1.02; page-by-page bandwidth >= 0.95
# of memcpy.  (Issue 5's, which they replace, were 1.15 and 1.05 for both
# entry points and 0.9 for bandwidth.)  The user-buffer rows have no target
# in item 7: they are printed without a verdict.  Timings are never
# asserted: they are reported.
TARGETS_PERCALL = {("sid", 64): 1.15, ("sid", 4096): 1.05,
                   ("folio", 64): 1.10, ("folio", 4096): 1.02}
TARGET_BW = 0.95
# Issue 12 item 7: toyfs >= 1.0x ext2 on every row of the filesystem table.
TARGET_FS = 1.0
# Issue 12: toyfs >= 1.15x ext2 on the 1 MiB sequential rows (large folios).
TARGET_FS_SEQ_1M = 1.15


def fs_target(op, req):
    """The toyfs/ext2 target of a filesystem row."""
    if req == 1048576 and op in ("write", "read_cold", "read_hot"):
        return TARGET_FS_SEQ_1M
    return TARGET_FS


# Filesystem table (3): the rows in order, as (op, request) with a label.
FS_ROWS = [("write", 4096, "seq write 4 KiB"), ("read_cold", 4096, "seq read cold 4 KiB"),
           ("read_hot", 4096, "seq read hot 4 KiB"), ("write", 1048576, "seq write 1 MiB"),
           ("read_cold", 1048576, "seq read cold 1 MiB"),
           ("read_hot", 1048576, "seq read hot 1 MiB"),
           ("sparse_cold", 1048576, "sparse read cold 1 MiB"),
           ("sparse_hot", 1048576, "sparse read hot 1 MiB"),
           ("randwrite", 1024, "random write 1 KiB"),
           ("appendsync", 0, "odd appends + fsync"),
           ("trunccycle", 0, "write/truncate cycles")]
FS_NAMES = ["toyfs", "ext2", "tmpfs"]
# Directory rows (table fsdir, fsbench.sh): operations a second on 5,000
# files in one directory; no target (reported, never judged).
FSDIR_ROWS = [("create", "create"), ("stat", "stat (lookup) cold"),
              ("readdir", "readdir cold"), ("unlink", "unlink")]

# Compression table (issue 13 item 6): LZ4 toyfs against the same bytes on
# plain toyfs (both 512-byte fragments of 4 KiB blocks), read cold; the
# ratio is lz4 MB/s / plain MB/s.  Only the tree has a target in the issue
# (>= 0.8x); the 64 MiB file's rows are printed without a verdict.
# (image, op, req, label, target, kind): `kind` against plain; packed (mkfs
# -p) and lz4packed (-c lz4 -p) have their tails packed.
COMPRESS_ROWS = [("docs", "tree_cold", 1048576, "Documentation/ tree cold", 0.8, "lz4"),
                 ("docs", "tree_cold", 1048576, "  tails packed (-p)", None, "packed"),
                 ("docs", "tree_cold", 1048576, "  lz4, tails packed (-p)", 0.8, "lz4packed"),
                 ("text", "read_cold", 4096, "64 MiB text cold 4 KiB", None, "lz4"),
                 ("text", "read_cold", 1048576, "64 MiB text cold 1 MiB", None, "lz4"),
                 ("text", "write_seq", 1048576, "64 MiB text write 1 MiB", None, "lz4")]

CMDS = ["READ", "WRITE", "ZERO", "PROTZERO"]
KNOWN = {"percall", "user", "profile", "bandwidth", "order", "sids", "fs", "fsdir",
         "compress"}


def parse(console):
    """Returns (rows by table, other lines)."""
    tables, notes = {}, []
    with open(console, errors="replace") as f:
        for line in f:
            m = LINE.search(line.rstrip())
            if not m:
                continue
            text = m.group(1)
            fields = dict(PAIR.findall(text))
            table = fields.get("table")
            if table and not text.startswith(("begin", "end")) and \
                    "skipped" not in text and "failed" not in text:
                tables.setdefault(table, []).append(fields)
            else:
                notes.append(text)
    return tables, notes


def write_csv(path, rows):
    keys = []
    for row in rows:
        keys += [k for k in row if k not in keys and k != "table"]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


# The platform each verdict is named with (main() sets it from OUT/accel):
# a target met under emulation is not met on a CPU, nor the reverse.
PLATFORMS = {"tcg": ("QEMU TCG, emulated", "TCG"), "kvm": ("QEMU KVM", "KVM"),
             "uml": ("User-Mode Linux, native", "UML")}
verdict_platform = "unknown"
# Which per-call ratio the verdict judges.  Under QEMU the median of the
# rounds.  User-Mode Linux is a process of the shared host: a round during
# which the host ran something else counts that time too (medians of the
# same row then vary by 5x between runs), so the fastest round of each
# side, the native cost, is judged there (both are printed and in the CSV).
verdict_on_min = False


def verdict(ratio, limit, higher_is_better=False):
    ok = ratio >= limit if higher_is_better else ratio <= limit
    return f"{'met' if ok else 'MISSED'} ({verdict_platform})"


def target_of(entry, size):
    """Issue 10 item 7's ceiling for a per-call row, or None: by sid (the
    order and sids tables are by sid too) or on a held folio, at 64 B and
    4 KiB."""
    return TARGETS_PERCALL.get((entry, size))


def bw_target(row):
    """Item 7's floor for a bandwidth row: page by page (4 KiB requests);
    whole large folios per call (folio_range) have none."""
    return TARGET_BW if int(row["request"]) == 4096 else None


def min_ratio_of(row):
    return float(row["min_ns"]) / max(float(row["baseline_min_ns"]), 0.1)


def judged_ratio(row):
    """The per-call ratio the verdict judges (see verdict_on_min)."""
    return min_ratio_of(row) if verdict_on_min else float(row["ratio"])


def print_percall(title, rows, extra=""):
    print(f"\n{title}")
    judged = "min" if verdict_on_min else "median"
    print(f"  {'entry':<10} {'cmd':<9} {'size':>5} {extra}{'vm_mvc ns':>10} "
          f"{'baseline ns':>12} {'ratio':>7} {'min ratio':>9}  target ({judged} ratio)")
    for r in rows:
        size = int(r["size"])
        ratio = float(r["ratio"])
        limit = target_of(r["entry"], size)
        goal = f"<= {limit:.2f} {verdict(judged_ratio(r), limit)}" if limit else ""
        lead = f"{r[extra.split()[0]]:>{len(extra) - 1}} " if extra else ""
        min_ratio = min_ratio_of(r)
        print(f"  {r['entry']:<10} {r['cmd']:<9} {size:>5} {lead}"
              f"{float(r['ns']):>10.1f} {float(r['baseline_ns']):>12.1f} "
              f"{ratio:>7.3f} {min_ratio:>9.3f}  {goal}")


def fs_mbps(row):
    """MB/s of a filesystem row from its bytes and ns (the guest's mbps is
    a whole number: at the 7 to 12 MB/s of the appends and the cycles
    under TCG, a step of 10 % in the ratio); mbps if a line lacks them."""
    if "bytes" in row and "ns" in row:
        return float(row["bytes"]) * 1000 / max(float(row["ns"]), 1)
    return float(row["mbps"])


def fs_medians(rows):
    """The filesystem table's rows: [(label, op, req, {fs: median MB/s}, rounds)],
    in FS_ROWS order; a filesystem without a result for a row is missing."""
    out = []
    for op, req, label in FS_ROWS:
        mbps, rounds = {}, 0
        for fs in FS_NAMES:
            sel = [fs_mbps(r) for r in rows
                   if r["fs"] == fs and r["op"] == op and int(r["req"]) == req]
            if sel:
                mbps[fs] = statistics.median(sel)
                rounds = max(rounds, len(sel))
        if mbps:
            out.append((label, op, req, mbps, rounds))
    return out


def fs_ratio(mbps):
    if "toyfs" in mbps and mbps.get("ext2"):
        return mbps["toyfs"] / mbps["ext2"]
    return None


def fs_devices(notes):
    """How the guest's "fs ..." line says toyfs and ext2 were stored: the
    ramdisks written whole before mkfs (prefill=1, the default since
    2026-12-07), or as brd made them, a page at a sector's first write
    (prefill=0, and every console from before the setting)."""
    fields = {}
    for note in notes:
        if note.startswith("fs ") and "ramdisk_kb=" in note:
            fields = dict(PAIR.findall(note))
    devices = "loop devices over tmpfs files" if "devices" in fields else "ramdisks"
    if fields.get("prefill") == "1":
        return f"{devices} with 1 KiB blocks (toyfs, ext2), written whole before mkfs"
    return f"{devices} with 1 KiB blocks (toyfs, ext2), not written before mkfs"


def print_fs(out, rows, notes=()):
    medians = fs_medians(rows)
    rounds = max((m[4] for m in medians), default=0)
    print(f"\nFilesystem throughput (3): MB/s, median of {rounds} rounds; "
          f"64 MiB file, {fs_devices(notes)}; writes include fsync; "
          "targets of issue 12 item 7")
    print(f"  {'row':<24} " + " ".join(f"{fs:>8}" for fs in FS_NAMES) +
          f" {'toyfs/ext2':>10}  target")
    with open(os.path.join(out, "fs-median.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["row", "op", "req"] + [f"{fs}_mbps" for fs in FS_NAMES] +
                   ["toyfs_ext2_ratio"])
        for label, op, req, mbps, _ in medians:
            ratio = fs_ratio(mbps)
            cells = " ".join(f"{mbps[fs]:>8.0f}" if fs in mbps else f"{'-':>8}"
                             for fs in FS_NAMES)
            target = fs_target(op, req)
            goal = (f"{ratio:>10.3f}  >= {target} {verdict(ratio, target, True)}"
                    if ratio is not None else f"{'-':>10}")
            print(f"  {label:<24} {cells} {goal}")
            w.writerow([label, op, req] + [f"{mbps[fs]:.1f}" if fs in mbps else ""
                                           for fs in FS_NAMES] +
                       [f"{ratio:.3f}" if ratio is not None else ""])


def fsdir_medians(rows):
    """The directory rows: [(label, op, {fs: median op/s}, rounds, files)]."""
    out = []
    for op, label in FSDIR_ROWS:
        rates, rounds, files = {}, 0, ""
        for fs in FS_NAMES:
            sel = [r for r in rows if r["fs"] == fs and r["op"] == op and "opsps" in r]
            if sel:
                rates[fs] = statistics.median(float(r["opsps"]) for r in sel)
                rounds = max(rounds, len(sel))
                files = sel[0].get("files", files)
        if rates:
            out.append((label, op, rates, rounds, files))
    return out


def print_fsdir(out, rows):
    medians = fsdir_medians(rows)
    rounds = max((m[3] for m in medians), default=0)
    files = next((m[4] for m in medians if m[4]), "?")
    print(f"\nDirectory operations: op/s, median of {rounds} rounds; {files} files in one "
          "directory, ramdisks with 1 KiB blocks (toyfs, ext2); no target")
    print(f"  {'row':<24} " + " ".join(f"{fs:>8}" for fs in FS_NAMES) + f" {'toyfs/ext2':>10}")
    with open(os.path.join(out, "fsdir-median.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["row", "op"] + [f"{fs}_opsps" for fs in FS_NAMES] + ["toyfs_ext2_ratio"])
        for label, op, rates, _, _ in medians:
            ratio = fs_ratio(rates)
            cells = " ".join(f"{rates[fs]:>8.0f}" if fs in rates else f"{'-':>8}"
                             for fs in FS_NAMES)
            shown = f"{ratio:>10.3f}" if ratio is not None else f"{'-':>10}"
            print(f"  {label:<24} {cells} {shown}")
            w.writerow([label, op] + [f"{rates[fs]:.1f}" if fs in rates else ""
                                      for fs in FS_NAMES] +
                       [f"{ratio:.3f}" if ratio is not None else ""])


def compress_mbps(row):
    """MB/s of a compression row from its bytes and ns: the guest's mbps is
    a whole number, too coarse for the few MB/s of a tree read under TCG."""
    return float(row["bytes"]) * 1000 / max(float(row["ns"]), 1)


def compress_medians(rows):
    """The compression table's rows: [(label, target, {"plain" or "lz4": (median
    MB/s, best MB/s)}, rounds, kind)] in COMPRESS_ROWS order, for the rows with
    results; "lz4" holds the row's kind (lz4, packed or lz4packed)."""
    out = []
    for image, op, req, label, target, kind in COMPRESS_ROWS:
        speeds, rounds = {}, 0
        for column, fs in (("plain", "plain"), ("lz4", kind)):
            sel = [compress_mbps(r) for r in rows if r.get("image") == image and
                   r.get("fs") == fs and r.get("op") == op and int(r["req"]) == req]
            if sel:
                speeds[column] = (statistics.median(sel), max(sel))
                rounds = max(rounds, len(sel))
        if "lz4" in speeds:
            out.append((label, target, speeds, rounds, kind))
    return out


def compress_ratio(speeds):
    """The row's kind / plain of the medians, or None."""
    if "lz4" in speeds and speeds.get("plain", (0,))[0]:
        return speeds["lz4"][0] / speeds["plain"][0]
    return None


def print_compress(out, rows):
    medians = compress_medians(rows)
    rounds = max((m[3] for m in medians), default=0)
    print(f"\nCompression (issue 13 item 6): MB/s, median (best) of {rounds} rounds; toyfs "
          "-b 4096 -f 512 images made with mkfs.toyfs -d, LZ4 against plain, "
          "on ramdisks, read after drop_caches, written with fsync to a fresh image")
    print("  (the tails-packed rows: the tree made with -p, and with -c lz4 -p, in the lz4 "
          "column, against the same tree plain)")
    print(f"  {'row':<26} {'plain':>15} {'lz4':>15} {'lz4/plain':>9}  target")
    with open(os.path.join(out, "compress-median.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["row", "plain_mbps", "lz4_mbps", "plain_best_mbps", "lz4_best_mbps",
                     "lz4_plain_ratio", "target", "kind"])
        for label, target, speeds, _, kind in medians:
            ratio = compress_ratio(speeds)
            cells = " ".join(f"{speeds[k][0]:>7.1f} ({speeds[k][1]:>5.1f})" if k in speeds
                             else f"{'-':>15}" for k in ("plain", "lz4"))
            if ratio is None:
                goal = f"{'-':>9}"
            elif target is None:
                goal = f"{ratio:>9.3f}  no target in the issue"
            else:
                goal = f"{ratio:>9.3f}  >= {target} {verdict(ratio, target, True)}"
            print(f"  {label:<26} {cells} {goal}")
            w.writerow([label] + [f"{speeds[k][i]:.1f}" if k in speeds else ""
                                  for i in (0, 1) for k in ("plain", "lz4")] +
                       [f"{ratio:.3f}" if ratio is not None else "", target or "", kind])


def summary(tables):
    """[met, missed] of issue 10 item 7 (the per-call table and page-by-page
    bandwidth), of issue 12 item 7 (the filesystem table) and of issue 13
    item 6 (the compression table)."""
    fast, fs, compress = [0, 0], [0, 0], [0, 0]
    for r in tables.get("percall", []):
        limit = target_of(r["entry"], int(r["size"]))
        if limit:
            fast[judged_ratio(r) > limit] += 1
    for r in tables.get("bandwidth", []):
        limit = bw_target(r)
        if limit:
            fast[float(r["ratio"]) < limit] += 1
    for _, op, req, mbps, _ in fs_medians(tables.get("fs", [])):
        ratio = fs_ratio(mbps)
        if ratio is not None:
            fs[ratio < fs_target(op, req)] += 1
    for _, target, speeds, _, _ in compress_medians(tables.get("compress", [])):
        ratio = compress_ratio(speeds)
        if ratio is not None and target is not None:
            compress[ratio < target] += 1
    return fast, fs, compress


def plots(out, tables, platform):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        print("\nno matplotlib: no plots (the tables and CSV files are written)")
        return []
    made = []

    def size_axes(ax, title):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("request size (bytes)")
        ax.set_ylabel("ns per call")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)

    def save(fig, name):
        path = os.path.join(out, name)
        fig.savefig(path)
        plt.close(fig)
        made.append(path)

    percall = tables.get("percall", [])
    if percall:
        fig, axes = plt.subplots(2, 2, figsize=(11, 8), constrained_layout=True)
        for ax, cmd in zip(axes.flat, CMDS):
            for entry, marker in (("sid", "o"), ("folio", "s")):
                rows = [r for r in percall if r["cmd"] == cmd and r["entry"] == entry]
                if not rows:
                    continue
                x = [int(r["size"]) for r in rows]
                ax.plot(x, [float(r["ns"]) for r in rows], marker=marker,
                        linestyle="-", label=f"vm_mvc ({entry})")
                ax.plot(x, [float(r["baseline_ns"]) for r in rows], marker=marker,
                        linestyle="--", alpha=0.7, label=f"baseline ({entry})")
            size_axes(ax, cmd)
        fig.suptitle(f"vm_mvc vs inline folio helpers, per call ({platform})")
        save(fig, "percall.svg")

    user = tables.get("user", [])
    if user:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True)
        for ax, cmd in zip(axes, ["READ", "WRITE"]):
            for entry, style in (("user_once", "o-"), ("user_each", "s-")):
                rows = [r for r in user if r["cmd"] == cmd and r["entry"] == entry]
                x = [int(r["size"]) for r in rows]
                ax.plot(x, [float(r["ns"]) for r in rows], style, label=f"vm_mvc {entry}")
            rows = [r for r in user if r["cmd"] == cmd and r["entry"] == "user_once"]
            ax.plot([int(r["size"]) for r in rows],
                    [float(r["baseline_ns"]) for r in rows], "k--",
                    label="baseline (copy_to/from_user)")
            size_axes(ax, f"{cmd}, user buffer")
        fig.suptitle(f"vm_mvc with a user xmem ({platform})")
        save(fig, "user.svg")

    bw = tables.get("bandwidth", [])
    if bw:
        fig, ax = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
        labels = [f"order {r['order']}\n{int(r['request']) // 1024} KiB, {r['entry']}"
                  for r in bw]
        xs = range(len(bw))
        ax.bar([x - 0.2 for x in xs], [int(r["vm_mvc_mbps"]) for r in bw], 0.4,
               label="vm_mvc READ")
        ax.bar([x + 0.2 for x in xs], [int(r["memcpy_mbps"]) for r in bw], 0.4,
               label="memcpy")
        ax.set_xticks(list(xs), labels)
        ax.set_ylabel("MB/s")
        ax.set_title(f"Bandwidth over {int(bw[0]['bytes']) >> 20} MiB of cached pages ({platform})")
        ax.legend()
        save(fig, "bandwidth.svg")

    order, sids = tables.get("order", []), tables.get("sids", [])
    if order or sids:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
        for ax, rows, key, label in ((axes[0], order, "order", "folio order"),
                                     (axes[1], sids, "sids", "attached sids")):
            for cmd in CMDS:
                for size, style in ((64, "o-"), (4096, "s--")):
                    sel = [r for r in rows if r["cmd"] == cmd and int(r["size"]) == size]
                    if sel:
                        ax.plot([int(r[key]) for r in sel], [float(r["ns"]) for r in sel],
                                style, label=f"{cmd} {size} B")
            if not rows:
                ax.set_visible(False)
                continue
            if key == "sids":
                ax.set_xscale("log")
            ax.set_xlabel(label)
            ax.set_ylabel("vm_mvc ns per call (by sid)")
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=7, ncol=2)
        fig.suptitle(f"vm_mvc scaling ({platform})")
        save(fig, "scaling.svg")

    medians = fs_medians(tables.get("fs", []))
    if medians:
        fig, ax = plt.subplots(figsize=(11, 5), constrained_layout=True)
        xs = range(len(medians))
        width = 0.8 / len(FS_NAMES)
        for i, fs in enumerate(FS_NAMES):
            offset = (i - (len(FS_NAMES) - 1) / 2) * width
            ax.bar([x + offset for x in xs], [m[3].get(fs, 0) for m in medians], width,
                   label=fs)
        for x, m in zip(xs, medians):
            ratio = fs_ratio(m[3])
            if ratio is not None:
                top = max(m[3].values())
                ax.annotate(f"{ratio:.2f}", (x, top), ha="center", va="bottom", fontsize=8)
        ax.set_xticks(list(xs), [m[0].replace(" ", "\n", 2) for m in medians], fontsize=8)
        ax.set_yscale("log")
        plain = matplotlib.ticker.FuncFormatter(lambda y, _: f"{y:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.set_ylabel("MB/s (log scale)")
        ax.set_title("Filesystem throughput, 64 MiB file, 1 KiB blocks on ramdisks; "
                     f"toyfs/ext2 above the bars ({platform})")
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend()
        save(fig, "fs.svg")
    return made


def main():
    out = sys.argv[1]
    console = os.path.join(out, "console.log")
    accel = "unknown"
    if os.path.exists(os.path.join(out, "accel")):
        accel = open(os.path.join(out, "accel")).read().strip()
    global verdict_platform, verdict_on_min
    platform, verdict_platform = PLATFORMS.get(accel, (accel, accel))
    verdict_on_min = accel == "uml"
    tables, notes = parse(console)
    if not tables:
        print(f"error: no vm_mvc_bench results in {console}", file=sys.stderr)
        return 1

    print(f"vm_mvc benchmark, platform: {platform}")
    if accel == "tcg":
        print("  QEMU TCG emulates every instruction: the ratios below are emulated,")
        print("  not native; `make bench UML=1` runs the same code natively (User-Mode Linux).")
    if accel == "uml":
        print("  User-Mode Linux runs the kernel as a host process on one CPU: native")
        print("  instruction costs; no large folios (the order > 0 rows are skipped).")
        print("  Per-call verdicts judge the fastest rounds (min ratio): a round the")
        print("  host spent elsewhere inflates the median.  Each guest system call is")
        print("  a round trip through the host, which bounds the fs table's small requests.")
    for note in notes:
        if note.startswith(("platform", "stats", "end", "fs ", "compress ")) or \
                "failed" in note \
                or "skipped" in note:
            print(f"  {note}")

    for old in os.listdir(out):
        if old.endswith((".csv", ".svg")):
            os.remove(os.path.join(out, old))
    for name, rows in tables.items():
        write_csv(os.path.join(out, f"{name}.csv"), rows)

    if "percall" in tables:
        print_percall("Per call, kernel xmem (1): vm_mvc vs filemap_get_folio + "
                      "folio_lock + helper + unlock + put (sid), helper alone (folio); "
                      "targets of issue 10 item 7", tables["percall"])
    if "user" in tables:
        print_percall("Per call, user xmem (1): attached once / attach+detach per call "
                      "vs copy_to/from_user under the folio lock (no target)",
                      tables["user"])
    if "profile" in tables:
        print("\nWhere a 64-byte READ's time goes (1), loop overhead subtracted")
        print(f"  {'step':<24} {'median ns':>9} {'min ns':>9}")
        for r in tables["profile"]:
            print(f"  {r['step']:<24} {float(r['ns']):>9.1f} {float(r['min_ns']):>9.1f}")
    if "bandwidth" in tables:
        print("\nBandwidth (2): vm_mvc READ vs memcpy of the same bytes; "
              "target of issue 10 item 7 (page by page)")
        print(f"  {'order':>5} {'request':>8} {'entry':<12} {'vm_mvc MB/s':>11} "
              f"{'memcpy MB/s':>11} {'ratio':>6}  target")
        for r in tables["bandwidth"]:
            ratio = float(r["ratio"])
            limit = bw_target(r)
            goal = f">= {limit} {verdict(ratio, limit, True)}" if limit else ""
            print(f"  {r['order']:>5} {r['request']:>8} {r['entry']:<12} "
                  f"{r['vm_mvc_mbps']:>11} {r['memcpy_mbps']:>11} {ratio:>6.3f}  {goal}")
    if "fs" in tables:
        print_fs(out, tables["fs"], notes)
    if "fsdir" in tables:
        print_fsdir(out, tables["fsdir"])
    if "compress" in tables:
        print_compress(out, tables["compress"])
    for name in sorted(set(tables) - KNOWN):
        # A table this script does not know: raw rows.
        print(f"\n{name}")
        for r in tables[name]:
            print("  " + " ".join(f"{k}={v}" for k, v in r.items() if k != "table"))
    if "order" in tables:
        print_percall("Scaling with folio order (4), by sid", tables["order"], "order ")
    if "sids" in tables:
        print_percall("Scaling with attached sids (4), by sid", tables["sids"],
                      "sids   ")

    made = plots(out, tables, platform)
    fast, fs, compress = summary(tables)
    csvs = [f"{out}/{n}.csv" for n in tables]
    if "fs" in tables:
        csvs.append(f"{out}/fs-median.csv")
    if "fsdir" in tables:
        csvs.append(f"{out}/fsdir-median.csv")
    if "compress" in tables:
        csvs.append(f"{out}/compress-median.csv")
    print(f"\nCSV: {', '.join(sorted(csvs))}")
    if made:
        print(f"plots: {', '.join(made)}")
    if sum(fast):
        print(f"issue 10 item 7 (per call, bandwidth): {fast[0]} met, {fast[1]} MISSED "
              f"({platform})")
    if sum(fs):
        print(f"issue 12 item 7 (filesystem table): {fs[0]} met, {fs[1]} MISSED ({platform})")
    if sum(compress):
        print(f"issue 13 item 6 (compression table): {compress[0]} met, {compress[1]} MISSED "
              f"({platform})")
    print(f"targets: {fast[0] + fs[0] + compress[0]} met, "
          f"{fast[1] + fs[1] + compress[1]} missed ({platform})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
