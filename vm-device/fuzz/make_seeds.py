#!/usr/bin/env python3
"""Writes the seed corpus in corpus/<target>/ (committed; rerun only to change the seeds).

Layouts follow harness/mod.rs: byte 0 configures, the rest is guest RAM from its start.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
RAM = 0x1_0000
NEXT, WRITE, INDIRECT = 1, 2, 4


class Mem:
    def __init__(self):
        self.b = bytearray()

    def put(self, off, data):
        if len(self.b) < off + len(data):
            self.b.extend(b"\0" * (off + len(data) - len(self.b)))
        self.b[off:off + len(data)] = data

    def desc(self, table, i, addr, length, flags, nxt=0):
        self.put(table + 16 * i, struct.pack("<QIHH", addr, length, flags, nxt))

    def avail(self, ring, heads):
        self.put(ring, struct.pack("<HH", 0, len(heads)))
        for i, h in enumerate(heads):
            self.put(ring + 4 + 2 * i, struct.pack("<H", h))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- queue: desc table at +0, avail at +0x400, used at +0x800.
m = Mem()
m.desc(0, 0, RAM + 0x1000, 16, NEXT, 1)
m.desc(0, 1, RAM + 0x1100, 64, WRITE)
m.avail(0x400, [0])
m.put(0x1000, b"sixteen bytes..!")
write("queue", "two_buffers", bytes([2]) + m.b)

m = Mem()
m.desc(0, 0, RAM + 0xc00, 32, INDIRECT)
m.desc(0xc00, 0, RAM + 0x1000, 8, NEXT, 1)
m.desc(0xc00, 1, RAM + 0x1100, 8, WRITE)
m.avail(0x400, [0])
m.put(0x1000, b"indirect")
write("queue", "indirect", bytes([2 | 0x40]) + m.b)

m = Mem()
m.desc(0, 0, RAM + 0x1000, 8, NEXT, 1)
m.desc(0, 1, RAM + 0x1000, 8, NEXT, 0)
m.avail(0x400, [0])
write("queue", "loop", bytes([2]) + m.b)

m = Mem()
m.desc(0, 0, RAM + 0x1000, 4, WRITE)
m.desc(0, 1, RAM + 0x1010, 4, WRITE)
m.avail(0x400, [0, 1])
m.put(0x400 + 4 + 2 * 4, struct.pack("<H", 1))  # used_event
write("queue", "event_idx", bytes([2 | 0x20]) + m.b)

# ---- blk: queue 0 (16 entries) at +0: desc +0, avail +0x100, used +0x128.
HDR, STATUS, DATA = 0x200, 0x300, 0x400


def blk_request(kind, sector, data_len, writable, payload=b"", cfg=0, indirect=False):
    m = Mem()
    bufs = [(RAM + HDR, 16, 0)]
    if data_len:
        bufs.append((RAM + DATA, data_len, WRITE if writable else 0))
    bufs.append((RAM + STATUS, 1, WRITE))
    table = 0x800 if indirect else 0
    for i, (a, n, f) in enumerate(bufs):
        m.desc(table, i, a, n, f | (NEXT if i + 1 < len(bufs) else 0), i + 1)
    if indirect:
        m.desc(0, 0, RAM + table, 16 * len(bufs), INDIRECT)
    m.avail(0x100, [0])
    m.put(HDR, struct.pack("<IIQ", kind, 0, sector))
    m.put(DATA, payload or b"\xa5" * data_len)
    return bytes([cfg]) + m.b


write("blk", "read", blk_request(0, 1, 512, True))
write("blk", "write", blk_request(1, 2, 1024, False))
write("blk", "flush", blk_request(4, 0, 0, False))
write("blk", "get_id", blk_request(8, 0, 20, True))
write("blk", "discard", blk_request(11, 0, 16, False, struct.pack("<QII", 2, 4, 0)))
write("blk", "write_zeroes", blk_request(13, 0, 16, False, struct.pack("<QII", 4, 2, 1)))
write("blk", "indirect_read", blk_request(0, 3, 512, True, cfg=2, indirect=True))
write("blk", "beyond_end", blk_request(0, 15, 1024, True))

# ---- net: receive queue at +0, transmit queue at +0x1000 (desc +0x1000, avail +0x1100).
m = Mem()
m.desc(0, 0, RAM + 0x2000, 1526, WRITE)
m.avail(0x100, [0])
m.desc(0x1000, 0, RAM + 0x3000, 12 + 60, 0)
m.avail(0x1100, [0])
frame = b"\xff" * 6 + b"\x52\x54\x00\x12\x34\x56" + b"\x08\x06" + b"\0" * 46
m.put(0x3000, b"\0" * 12 + frame)
write("net", "tx_then_rx", bytes([1]) + m.b)

m = Mem()
m.desc(0x1000, 0, RAM + 0x3000, 12, NEXT, 1)
m.desc(0x1000, 1, RAM + 0x3100, 60, 0)
m.avail(0x1100, [0])
m.put(0x3000, b"\0" * 12)
m.put(0x3100, frame)
write("net", "split_header", bytes([0]) + m.b)

write("net", "offload_header", bytes([0]) + bytes([1, 4]) + b"\0" * 10 + frame)

# ---- mmio: [op, offset lo, offset hi, value]; op 0x10 = 32-bit read, 0x12 = 32-bit write, 4 = notify.
def rec(op, off, v):
    return bytes([op, off & 0xff, off >> 8, v])


W, R = 0x12, 0x10
init = b"".join([
    rec(R, 0x000, 0), rec(R, 0x004, 0), rec(W, 0x070, 1), rec(W, 0x070, 3),
    rec(W, 0x014, 1), rec(R, 0x010, 0), rec(W, 0x024, 1), rec(W, 0x020, 1),
    rec(W, 0x024, 0), rec(W, 0x020, 0), rec(W, 0x070, 0xb), rec(R, 0x070, 0),
    rec(W, 0x030, 0), rec(R, 0x034, 0), rec(W, 0x038, 8), rec(W, 0x080, 0x10),
    rec(W, 0x084, 0), rec(W, 0x090, 0x14), rec(W, 0x094, 0), rec(W, 0x0a0, 0x18),
    rec(W, 0x0a4, 0), rec(W, 0x044, 1), rec(W, 0x070, 0xf), rec(4, 0x050, 0),
    rec(R, 0x060, 0), rec(W, 0x064, 3), rec(0x18, 0x100, 0),
])
write("mmio", "linux_init", init)
write("mmio", "reset_midway", init[:40] + rec(W, 0x070, 0) + init)
write("mmio", "bad_queue_size", init.replace(rec(W, 0x038, 8), rec(W, 0x038, 6)))
