# SPDX-License-Identifier: GPL-2.0
# The body of tests/xfs_io/syscall-edges (its header says what it checks):
# one transcript, the same on every filesystem with fallocate, SEEK_HOLE
# and FIEMAP.  Usage: python3 syscall-edges.py DIR
import ctypes
import hashlib
import errno
import mmap
import os
import signal
import struct
import subprocess
import sys

d = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
libc.pwritev2.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int64, ctypes.c_int]
libc.pwritev2.restype = ctypes.c_ssize_t
libc.write.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
libc.write.restype = ctypes.c_ssize_t
libc.read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
libc.read.restype = ctypes.c_ssize_t
libc.pwrite.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int64]
libc.pwrite.restype = ctypes.c_ssize_t
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int64]
libc.mmap.restype = ctypes.c_void_p
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.lseek.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int]
libc.lseek.restype = ctypes.c_int64
libc.ftruncate.argtypes = [ctypes.c_int, ctypes.c_int64]

KEEP, PUNCH, ZERO, UNSHARE = 1, 2, 0x10, 0x40
PAGE = 4096


def p(*a, end="\n"):
    print(*a, end=end, flush=True)


def err(e):
    return errno.errorcode.get(e, str(e))


def call(f, *a):
    ctypes.set_errno(0)
    r = f(*a)
    if r == -1:
        return err(ctypes.get_errno())
    return r


def fall(fd, mode, off, ln):
    return call(libc.fallocate, fd, mode, off, ln)


def runs(b, base=0):
    out, i = [], 0
    while i < len(b):
        j = i
        while j < len(b) and b[j] == b[i]:
            j += 1
        out.append("%d-%d:%02x" % (base + i, base + j - 1, b[i]))
        i = j
    return " ".join(out)


def content(path, off=0, ln=None):
    with open(path, "rb") as f:
        f.seek(off)
        b = f.read() if ln is None else f.read(ln)
    if len(b) > 65536:
        return "md5 " + hashlib.md5(b).hexdigest()
    r = runs(b, off)
    return r if len(r) < 400 else "md5 " + hashlib.md5(b).hexdigest()


def size(path):
    return os.stat(path).st_size


def mk(path, data):
    with open(path, "wb") as f:
        f.write(data)


def cycle():
    os.sync()
    fstyp = os.environ.get("FSTYP", "")
    if fstyp == "tmpfs" or not os.environ.get("TEST_MNT"):
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3")
        return
    mnt, dev = os.environ["TEST_MNT"], os.environ["TEST_DEV"]
    opts = os.environ.get("MOUNT_OPTIONS", "")
    subprocess.run(["umount", mnt], check=True)
    cmd = ["mount", "-t", fstyp] + (["-o", opts] if opts else []) + [dev, mnt]
    subprocess.run(cmd, check=True)


def section(name):
    p("==", name)


# ---------------------------------------------------------------- limits
section("largest offset")
f = os.path.join(d, "big")
fd = os.open(f, os.O_RDWR | os.O_CREAT, 0o644)
lo, hi = 0, (1 << 63) - 1
while lo < hi:
    mid = (lo + hi + 1) // 2
    if call(libc.ftruncate, fd, mid) == 0:
        lo = mid
    else:
        hi = mid - 1
maxbytes = lo
p("truncate past largest:", call(libc.ftruncate, fd, maxbytes + 1))
os.ftruncate(fd, 0)
buf = ctypes.create_string_buffer(b"Z" * 10)
p("write at max-1 of 10:", call(libc.pwrite, fd, buf, 10, maxbytes - 1), "size-max:", os.fstat(fd).st_size - maxbytes)
p("write at max:", call(libc.pwrite, fd, buf, 10, maxbytes))
p("read at max-1:", os.pread(fd, 10, maxbytes - 1))
p("fallocate past max:", fall(fd, 0, maxbytes - 4096, 8192))
p("fallocate wrap:", fall(fd, 0, 1 << 62, 1 << 62))
found = call(libc.lseek, fd, maxbytes - 1, 3)
p("seek data max-1:", found if found == "ENXIO" else found - maxbytes)
p("seek data 0 -> last block:", (maxbytes - 1 - call(libc.lseek, fd, 0, 3)) < 65536)
p("seek hole 0:", call(libc.lseek, fd, 0, 4))
os.ftruncate(fd, 0)
p("after truncate 0 blocks:", os.fstat(fd).st_blocks)
os.close(fd)

# ---------------------------------------------------------------- append
section("append")
f = os.path.join(d, "app")
mk(f, b"a" * 3000)
fd = os.open(f, os.O_RDWR | os.O_APPEND)
p("pwrite O_APPEND at 0:", os.pwrite(fd, b"b" * 1000, 0), size(f))
os.close(fd)
fd = os.open(f, os.O_RDWR)
RWF_APPEND, RWF_NOAPPEND, RWF_DSYNC, RWF_SYNC, RWF_NOWAIT = 0x10, 0x20, 0x2, 0x4, 0x8
p("pwritev2 RWF_APPEND at 0:", os.pwritev(fd, [b"c" * 500], 0, RWF_APPEND), size(f))
p("pwritev2 RWF_DSYNC at 10:", os.pwritev(fd, [b"d" * 10], 10, RWF_DSYNC))
p("pwritev2 RWF_SYNC at 5000:", os.pwritev(fd, [b"e" * 10], 5000, RWF_SYNC), size(f))
os.close(fd)
fd = os.open(f, os.O_RDWR | os.O_APPEND)
try:
    p("pwritev2 RWF_NOAPPEND at 20:", os.pwritev(fd, [b"f" * 10], 20, RWF_NOAPPEND), size(f))
except OSError as e:
    p("pwritev2 RWF_NOAPPEND:", err(e.errno))
os.close(fd)
p(content(f))

# ---------------------------------------------------------------- short copies
section("short copy from a buffer that ends at an unmapped page")
# Two pages mapped, the second unmapped: a buffer starting at page - K
# has K readable bytes.
area = libc.mmap(None, 2 * PAGE, 3, 0x22, -1, 0)
libc.munmap(area + PAGE, PAGE)
ctypes.memset(area, 0x5A, PAGE)
for name, pre, off, k in [("new file at 100", 0, 100, 96), ("inside data at 1500", 5000, 1500, 700),
                          ("past EOF at 10000", 3000, 10000, 1000), ("at block start 4096", 9000, 4096, 1),
                          ("in a hole at 20000", 0, 20000, 300)]:
    f = os.path.join(d, "short-%d" % off)
    ctypes.memset(area, 0x5A, PAGE)
    fd = os.open(f, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    if pre:
        os.pwrite(fd, b"\x11" * pre, 0)
    if name.startswith("in a hole"):
        os.ftruncate(fd, 40000)
    r = call(libc.pwrite, fd, area + PAGE - k, 3000, off)
    p(name, "wrote", r, "size", os.fstat(fd).st_size)
    os.fsync(fd)
    os.close(fd)
    a = content(f)
    cycle()
    b = content(f)
    p("  ", a, "| after remount same:", a == b)
    r = os.open(f, os.O_RDONLY)
    p("  read into short buffer:", call(libc.read, r, area + PAGE - k, 3000))
    os.close(r)
libc.munmap(area, PAGE)

# ---------------------------------------------------------------- truncate/fallocate errors
section("refusals")
f = os.path.join(d, "ref")
mk(f, b"r" * 5000)
fd = os.open(f, os.O_RDWR)
p("ftruncate -1:", call(libc.ftruncate, fd, -1))
p("fallocate len 0:", fall(fd, 0, 0, 0))
p("fallocate off -1:", fall(fd, 0, -1, 10))
p("punch without keep:", fall(fd, PUNCH, 0, 10))
p("zero|punch:", fall(fd, ZERO | PUNCH | KEEP, 0, 10))
p("unshare:", fall(fd, UNSHARE, 0, 4096))
p("unknown mode 0x100:", fall(fd, 0x100, 0, 10))
os.close(fd)
fd = os.open(f, os.O_RDONLY)
p("fallocate O_RDONLY:", fall(fd, 0, 0, 10))
p("ftruncate O_RDONLY:", call(libc.ftruncate, fd, 10))
os.close(fd)
fd = os.open(d, os.O_RDONLY)
p("fallocate dir:", fall(fd, 0, 0, 10))
p("seek data on dir:", call(libc.lseek, fd, 0, 3))
os.close(fd)
p(content(f), size(f))

# ---------------------------------------------------------------- seeks
section("seeks")
f = os.path.join(d, "seek")
mk(f, b"")
fd = os.open(f, os.O_RDWR)
p("empty data 0:", call(libc.lseek, fd, 0, 3), "hole 0:", call(libc.lseek, fd, 0, 4))
os.pwrite(fd, b"s" * 100, 70000)
for off in (-1, 0, 69999, 70000, 70099, 70100, 1 << 40):
    p("off", off, "data", call(libc.lseek, fd, off, 3), "hole", call(libc.lseek, fd, off, 4))
p("set -1:", call(libc.lseek, fd, -1, 0), "end +5:", call(libc.lseek, fd, 5, 2))
os.fsync(fd)
p("after fsync data 0:", call(libc.lseek, fd, 0, 3), "hole 70000:", call(libc.lseek, fd, 70000, 4))
os.close(fd)

# ---------------------------------------------------------------- times
section("truncate to the same size, O_TRUNC of an empty file: times")
f = os.path.join(d, "times")
mk(f, b"t" * 100)
os.utime(f, ns=(1_000_000_000, 1_000_000_000))
fd = os.open(f, os.O_RDWR)
os.ftruncate(fd, 100)
st = os.fstat(fd)
p("ftruncate same size: mtime changed", st.st_mtime_ns != 1_000_000_000)
os.close(fd)
mk(f, b"")
os.utime(f, ns=(1_000_000_000, 1_000_000_000))
os.close(os.open(f, os.O_WRONLY | os.O_TRUNC))
p("O_TRUNC of empty: mtime changed", os.stat(f).st_mtime_ns != 1_000_000_000)
for t in (-1_500_000_000, 1_234_567_891, 4_000_000_000_999_999_999 // 1000, 13_000_000_000 * 1_000_000_000 + 7):
    os.utime(f, ns=(t, t))
    a = os.stat(f).st_mtime_ns
    cycle()
    p("utime", t, "->", a == t, os.stat(f).st_mtime_ns == t)

# ---------------------------------------------------------------- copies
section("sendfile, splice, copy_file_range")
src = os.path.join(d, "src")
mk(src, bytes(range(256)) * 40)  # 10240 bytes
dst = os.path.join(d, "dst")
mk(dst, b"\x77" * 3000)
si = os.open(src, os.O_RDONLY)
do = os.open(dst, os.O_RDWR)
os.lseek(do, 9000, 0)
p("sendfile 5000 from 8000 to pos 9000:", os.sendfile(do, si, 8000, 5000), size(dst))
p("sendfile past EOF:", os.sendfile(do, si, 20000, 100))
r, w = os.pipe()
p("splice to pipe from 10000:", os.splice(si, w, 1000, offset_src=10000))
p("splice pipe into dst at 30001:", os.splice(r, do, 240, offset_dst=30001), size(dst))
p("copy_file_range into itself overlap:", end="")
try:
    os.copy_file_range(do, do, 100, 0, 50)
    p("ok")
except OSError as e:
    p(err(e.errno))
p("copy from /proc/self/stat:", end=" ")
try:
    pf = os.open("/proc/self/stat", os.O_RDONLY)
    p(os.copy_file_range(pf, do, 10, None, 0))
except OSError as e:
    p(err(e.errno))
tmp = "/tmp/syscall-edges-tmp"
mk(tmp, b"\x88" * 6000)
ti = os.open(tmp, os.O_RDONLY)
try:
    p("copy_file_range from tmpfs:", os.copy_file_range(ti, do, 6000, 0, 40000))
except OSError as e:
    p("copy_file_range from tmpfs:", err(e.errno))
p("splice from tmpfs via pipe:", os.splice(ti, w, 6000, offset_src=0), os.splice(r, do, 6000, offset_dst=50000))
os.close(ti)
os.unlink(tmp)
os.fsync(do)
os.close(do)
os.close(si)
a = content(dst)
cycle()
p(a, a == content(dst), size(dst))

# ---------------------------------------------------------------- mmap
section("mmap")
f = os.path.join(d, "map")
mk(f, b"m" * 10000)
fd = os.open(f, os.O_RDWR)
m = mmap.mmap(fd, 10000, mmap.MAP_PRIVATE)
m[0:10] = b"P" * 10
m.close()
m = mmap.mmap(fd, 10000)
m[5000:5010] = b"S" * 10
anchor = ctypes.c_char.from_buffer(m)
addr = ctypes.addressof(anchor)
p("madvise REMOVE 4096..8192:", call(libc.madvise, addr + 4096, 4096, 9))
p("after REMOVE:", runs(m[0:10000]), size(f))
m[4100:4110] = b"T" * 10
p("madvise DONTNEED:", call(libc.madvise, addr, 12288, 4), "PAGEOUT:", call(libc.madvise, addr, 12288, 21), "COLD:", call(libc.madvise, addr, 12288, 20))
p("after PAGEOUT:", runs(m[0:10000]))
del anchor
m.close()
os.close(fd)
fd = os.open(f, os.O_RDONLY)
try:
    mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    p("shared writable of O_RDONLY: ok")
except OSError as e:
    p("shared writable of O_RDONLY:", err(e.errno))
os.close(fd)
a = content(f)
cycle()
p(a, a == content(f))

# ---------------------------------------------------------------- fiemap
section("fiemap agrees with seek")


def fiemap(fd, start, length, count, flags=0):
    hdr = struct.pack("QQIIII", start, length, flags, 0, count, 0)
    buf = bytearray(hdr + b"\0" * (56 * count))
    import fcntl
    try:
        fcntl.ioctl(fd, 0xC020660B, buf)
    except OSError as e:
        return err(e.errno), []
    mapped = struct.unpack_from("I", buf, 20)[0]
    ext = []
    for i in range(min(mapped, count)):
        lo, ph, ln, _, _, fl = struct.unpack_from("QQQQQI", buf, 32 + 56 * i)
        ext.append((lo, ln, fl))
    return mapped, ext


f = os.path.join(d, "fie")
fd = os.open(f, os.O_RDWR | os.O_CREAT, 0o644)
for off in (0, 70000, 300000, 1 << 22):
    os.pwrite(fd, b"x" * 5000, off)
os.fsync(fd)
p("len 0:", fiemap(fd, 0, 0, 0)[0])
n, _ = fiemap(fd, 0, 1 << 62, 0)
m2, ext = fiemap(fd, 0, 1 << 62, 100)
p("count-only == mapped:", n == m2, "last flagged:", bool(ext and ext[-1][2] & 1))
ok = all(ext[i][0] + ext[i][1] <= ext[i + 1][0] for i in range(len(ext) - 1))
p("sorted, disjoint:", ok)
# Every data byte is inside an extent, every extent starts in data.
sz = os.fstat(fd).st_size
cov = lambda o: any(e[0] <= o < e[0] + e[1] for e in ext)
data_ok = all(cov(o) for o in (0, 4999, 70000, 74999, 300000, 304999, (1 << 22) + 4999))
p("data covered:", data_ok)
pos, holes_ok = 0, True
while pos < sz:
    dpos = call(libc.lseek, fd, pos, 3)
    if dpos == "ENXIO":
        break
    hpos = call(libc.lseek, fd, dpos, 4)
    holes_ok &= cov(dpos) and cov(hpos - 1)
    pos = hpos
p("seek runs inside extents:", holes_ok)
p("from past EOF:", fiemap(fd, 1 << 30, 4096, 10)[0])
p("xattr flag:", fiemap(fd, 0, 4096, 10, 2)[0])
os.close(fd)

# ---------------------------------------------------------------- directories
section("directories")
os.mkdir(os.path.join(d, "p1"))
os.mkdir(os.path.join(d, "p2"))
os.makedirs(os.path.join(d, "p1", "a", "x"))
os.mkdir(os.path.join(d, "p2", "b"))
mk(os.path.join(d, "p2", "b", "f"), b"1")
nl = lambda *x: os.stat(os.path.join(d, *x)).st_nlink


def tryop(name, fn, *a):
    try:
        fn(*a)
        p(name, "ok")
    except OSError as e:
        p(name, err(e.errno))


tryop("rename dir over non-empty:", os.rename, os.path.join(d, "p1", "a"), os.path.join(d, "p2", "b"))
tryop("rename dir into own child:", os.rename, os.path.join(d, "p1", "a"), os.path.join(d, "p1", "a", "x", "y"))
tryop("rename file over dir:", os.rename, os.path.join(d, "p2", "b", "f"), os.path.join(d, "p1", "a"))
tryop("rename dir over file:", os.rename, os.path.join(d, "p1", "a"), os.path.join(d, "p2", "b", "f"))
tryop("rmdir non-empty:", os.rmdir, os.path.join(d, "p2", "b"))
os.unlink(os.path.join(d, "p2", "b", "f"))
tryop("rename dir over emptied dir:", os.rename, os.path.join(d, "p1", "a"), os.path.join(d, "p2", "b"))
p("links p1 p2 b:", nl("p1"), nl("p2"), nl("p2", "b"))
tryop("name 255:", mk, os.path.join(d, "p1", "n" * 255), b"")
tryop("name 256:", mk, os.path.join(d, "p1", "n" * 256), b"")
odd = bytes(c for c in range(1, 256) if c != 0x2F)
names = [odd[i:i + 100] for i in range(0, len(odd), 100)] + [b"\xff" * 255, b"..." , b". .", b"-", b" "]
for n in names:
    mk(os.path.join(d.encode(), b"p2", n), n[:5])
os.link(os.path.join(d, "p1", "n" * 255), os.path.join(d, "p2", "hl"))
os.rename(os.path.join(d, "p2", "hl"), os.path.join(d, "p2", "hl2"))
os.unlink(os.path.join(d, "p1", "n" * 255))
fd = os.open(os.path.join(d, "p2", "hl2"), os.O_RDWR)
os.write(fd, b"hard")
os.fsync(fd)
os.close(fd)
before = sorted(os.listdir(os.path.join(d.encode(), b"p2")))
cycle()
after = sorted(os.listdir(os.path.join(d.encode(), b"p2")))
p("names kept:", before == after, len(after), all(open(os.path.join(d.encode(), b"p2", n), "rb").read() == n[:5] for n in names))
p("hl2:", nl("p2", "hl2"), open(os.path.join(d, "p2", "hl2"), "rb").read())
p("links p1 p2 b:", nl("p1"), nl("p2"), nl("p2", "b"))

# ---------------------------------------------------------------- readdir during changes
section("readdir while entries change")
rd = os.path.join(d, "rd")
os.mkdir(rd)
for i in range(400):
    mk(os.path.join(rd, "e%03d" % i), b"")
libc.syscall.restype = ctypes.c_long
dfd = os.open(rd, os.O_RDONLY | os.O_DIRECTORY)
seen = {}
dbuf = ctypes.create_string_buffer(1024)


def getdents():
    nread = libc.syscall(217, dfd, dbuf, 1024)
    out, pos = [], 0
    while pos < nread:
        reclen = struct.unpack_from("H", dbuf.raw, pos + 16)[0]
        name = dbuf.raw[pos + 19:pos + reclen].split(b"\0")[0].decode()
        out.append(name)
        pos += reclen
    return nread, out


n, first = getdents()
for name in first:
    seen[name] = seen.get(name, 0) + 1
# Unlink every third entry, create as many new ones.
removed = set()
for i in range(0, 400, 3):
    os.unlink(os.path.join(rd, "e%03d" % i))
    removed.add("e%03d" % i)
for i in range(150):
    mk(os.path.join(rd, "new%03d" % i), b"")
while True:
    n, more = getdents()
    if n <= 0:
        break
    for name in more:
        seen[name] = seen.get(name, 0) + 1
os.close(dfd)
stable = ["e%03d" % i for i in range(400) if "e%03d" % i not in removed]
p("stable seen once:", all(seen.get(s) == 1 for s in stable), "dups:", sorted(k for k, v in seen.items() if v > 1))

# ---------------------------------------------------------------- ENOSPC
section("full filesystem")
os.mkdir(os.path.join(d, "fd1"))
os.mkdir(os.path.join(d, "fd2"))
mk(os.path.join(d, "fd2", "mover"), b"M" * 3000)
os.link(os.path.join(d, "fd2", "mover"), os.path.join(d, "fd2", "mover2"))
full = os.path.join(d, "full")
fd = os.open(full, os.O_RDWR | os.O_CREAT, 0o644)
chunk = os.urandom(65536)
total, errs, writes, passes = 0, set(), 0, 0
# Smaller and smaller writes until none fits, after an fsync too (a
# filesystem that reserves room for delayed allocation gives some back).
while True:
    before = total
    for piece in (65536, 4096, 512, 64, 1):
        while True:
            try:
                total += os.write(fd, chunk[:piece])
                writes += 1
            except OSError as e:
                errs.add(err(e.errno))
                break
        os.fsync(fd)
    passes += 1
    if total == before:
        break
p("fill stops with", sorted(errs))
p("size == written:", os.fstat(fd).st_size == total)
os.fsync(fd)
sz = os.fstat(fd).st_size
p("overwrite in place:", os.pwrite(fd, chunk[:5000], 1000) == 5000)
p("write into a hole at end+1M:", end=" ")
try:
    os.pwrite(fd, b"h", sz + (1 << 20))
    p("ok")
except OSError as e:
    p(err(e.errno), "size kept", os.fstat(fd).st_size == sz)
tryop("mkdir on full:", os.mkdir, os.path.join(d, "fulldir"))
# Entries until the directory needs a block it cannot have.
made = 0
while True:
    try:
        mk(os.path.join(d, "fd1", "%03d" % made + "l" * 200), b"")
        made += 1
    except OSError as e:
        p("entries stop with", err(e.errno), "made > 0:", made > 0)
        break
tryop("rename into the full directory:", os.rename, os.path.join(d, "fd2", "mover"), os.path.join(d, "fd1", "moved" + "l" * 200))
tryop("link into the full directory:", os.link, os.path.join(d, "fd2", "mover"), os.path.join(d, "fd1", "linked" + "l" * 200))
tryop("symlink into the full directory:", os.symlink, "x" * 100, os.path.join(d, "fd1", "sym" + "l" * 200))
p("source kept:", sorted(os.listdir(os.path.join(d, "fd2"))), os.stat(os.path.join(d, "fd2", "mover")).st_nlink, len(os.listdir(os.path.join(d, "fd1"))) == made)
p("rename over the other link:", os.rename(os.path.join(d, "fd2", "mover2"), os.path.join(d, "fd2", "mover")) or sorted(os.listdir(os.path.join(d, "fd2"))), os.stat(os.path.join(d, "fd2", "mover")).st_nlink)
p("truncate up:", call(libc.ftruncate, fd, sz + 12345), "down into block:", call(libc.ftruncate, fd, sz - 7777))
p("punch middle:", fall(fd, PUNCH | KEEP, 3000, 10000))
os.fsync(fd)
os.close(fd)
a = content(full)
fd = os.open(full, os.O_RDONLY)
head = os.pread(fd, 16000, 0)
os.close(fd)
p("head:", runs(head[3000:13000], 3000), head[1000:6000] == chunk[:5000][:2000] + b"\0" * 3000)
cycle()
p("same after remount:", a == content(full), size(full) == sz - 7777)
os.unlink(full)
for n in os.listdir(os.path.join(d, "fd1")):
    os.unlink(os.path.join(d, "fd1", n))
os.rmdir(os.path.join(d, "fd1"))
os.mkdir(os.path.join(d, "fd1"))
os.sync()
mk(os.path.join(d, "after"), b"q" * 100000)
p("write after unlink: ok")
