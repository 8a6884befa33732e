#!/usr/bin/python3
"""Search a live process's memory for secrets.

    memscan.py PID NEEDLE...      (NEEDLE: text, or hex:HEXDIGITS for bytes)

reads every readable mapping of PID through /proc/PID/mem (root may do so
even when the process is not dumpable) and prints one line per hit:
"FOUND needle N in REGION at +OFFSET".  Exit 0 when no needle is found,
1 when one is, 2 when the memory cannot be read at all.

Mappings larger than SKIP_ABOVE are not read: in a normal process there are
none, and under AddressSanitizer they are its shadow memory (terabytes of
reserved address space that hold only metadata); their total is printed.
"""
import re
import sys

CHUNK = 1 << 20
SKIP_ABOVE = 1 << 30

pid = int(sys.argv[1])
# A needle "hex:..." is those bytes (a key that is not text).
needles = [bytes.fromhex(n[4:]) if n.startswith("hex:") else n.encode()
           for n in sys.argv[2:]]
overlap = max(len(n) for n in needles) - 1
found = 0
read_bytes = skipped = 0
with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)\s+\S+\s+\S+\s+\S+\s*(.*)", line)
        start, end, perms, name = int(m.group(1), 16), int(m.group(2), 16), m.group(3), m.group(4)
        if perms[0] != "r" or name in ("[vvar]", "[vsyscall]"):
            continue
        if end - start > SKIP_ABOVE:
            skipped += end - start
            continue
        tail = b""
        pos = start
        while pos < end:
            try:
                mem.seek(pos)
                data = mem.read(min(CHUNK, end - pos))
            except (OSError, ValueError, OverflowError):
                break
            if not data:
                break
            read_bytes += len(data)
            window = tail + data
            for i, n in enumerate(needles):
                off = window.find(n)
                if off >= 0:
                    print("FOUND needle %d in %s (%s) at +0x%x"
                          % (i, name or "anon", perms, pos - start - len(tail) + off))
                    found = 1
            tail = window[-overlap:] if overlap > 0 else b""
            pos += len(data)
print("scanned %d bytes%s" % (read_bytes,
      ", skipped %d bytes of mappings over 1 GiB" % skipped if skipped else ""))
sys.exit(2 if read_bytes == 0 else found)
