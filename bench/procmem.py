#!/usr/bin/python3
"""procmem.py -- memory of the processes a benchmark connection keeps.

  procmem.py sum PID...   every descendant of each PID (not PID itself):
                          count, summed Pss and Rss (KiB) from
                          /proc/N/smaps_rollup, one line
  procmem.py tree PID...  the same, each PID included (a pool's parent)
  procmem.py top PID [N]  one process: its Pss by mapping (from
                          /proc/PID/smaps), the N largest, one per line
Pss divides each shared page among the processes that map it, so the
summed Pss of a group of processes is the memory they take together.
"""
import os
import sys


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def descendants(pid, kids):
    out, todo = [], list(kids.get(pid, []))
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def rollup(pid):
    v = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2] == "kB":
                v[parts[0].rstrip(":")] = int(parts[1])
    return v


def cmd_sum(pids, roots=False):
    kids = children_map()
    n = pss = rss = 0
    for root in pids:
        for p in ([root] if roots else []) + descendants(root, kids):
            try:
                v = rollup(p)
            except OSError:
                continue
            n += 1
            pss += v.get("Pss", 0)
            rss += v.get("Rss", 0)
    print("procs=%d pss_kib=%d rss_kib=%d" % (n, pss, rss))


def cmd_top(pid, count):
    by = {}
    name = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if "-" in parts[0] and not parts[0].endswith(":"):
                name = parts[5] if len(parts) > 5 else "[anon]"
                name = os.path.basename(name) if name.startswith("/") else name
            elif parts[0] in ("Pss:", "Private_Dirty:", "Rss:"):
                d = by.setdefault(name, [0, 0, 0])
                d[("Pss:", "Private_Dirty:", "Rss:").index(parts[0])] += int(parts[1])
    tot = [sum(v[i] for v in by.values()) for i in range(3)]
    print("total Pss %d KiB, Private_Dirty %d KiB, Rss %d KiB" % tuple(tot))
    for k, v in sorted(by.items(), key=lambda kv: -kv[1][0])[:count]:
        print("  %-28s Pss %5d KiB  Private_Dirty %5d KiB  Rss %5d KiB" % (k, v[0], v[1], v[2]))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "sum":
        cmd_sum([int(a) for a in sys.argv[2:]])
    elif len(sys.argv) >= 3 and sys.argv[1] == "tree":
        cmd_sum([int(a) for a in sys.argv[2:]], roots=True)
    elif len(sys.argv) >= 3 and sys.argv[1] == "top":
        cmd_top(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 8)
    else:
        sys.exit(__doc__)
