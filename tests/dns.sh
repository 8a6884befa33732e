# tests/dns.sh -- sourced after tests/lib.sh: a real authoritative DNS
# server (NSD) on loopback for the tests of outbound federation, and a
# silent one for timeouts.  Both are started with lib.sh's bg, in their
# own sessions and with XG_MARK in their environment, so lib.sh's cleanup
# ends them if the test does not.
#
#   dns_start DIR ZONEFILE...  NSD in the foreground on 127.0.0.1, a free
#                              port, config, pid file, zone list and
#                              logs all in DIR; each ZONEFILE's zone is
#                              named by its basename without ".zone"
#                              ("test.zone" serves "test.").  Exports
#                              DNS_PORT and DNS_PID; fails the test if NSD
#                              does not load a zone or listen within 10 s.
#   dns_stop                   ends that NSD.
#   dns_fake DIR RECORD...     a UDP server for silent names and malformed
#                              records (see below); exports FAKE_PORT.
#   dns_silent DIR [SECONDS]   a server that reads UDP and TCP queries on
#                              127.0.0.1 and never answers, for at most
#                              SECONDS (default 60); exports SILENT_PORT
#                              and SILENT_PID.

# dns_start DIR ZONEFILE...
dns_start() {
	local dir=$1 z name i
	shift
	command -v nsd >/dev/null ||
		fail "nsd is not installed (scripts/deps.sh)"
	mkdir -p "$dir"
	DNS_PORT=$(free_port)
	{
		cat <<EOF
server:
	ip-address: 127.0.0.1
	port: $DNS_PORT
	database: ""
	zonelistfile: "$dir/zone.list"
	pidfile: "$dir/nsd.pid"
	xfrdfile: "$dir/xfrd.state"
	xfrdir: "$dir"
	logfile: "$dir/nsd.log"
	zonesdir: "$dir"
	username: ""
	chroot: ""
	server-count: 1
	verbosity: 2
	hide-version: yes
remote-control:
	control-enable: no
EOF
		for z in "$@"; do
			name=$(basename "$z" .zone)
			cp "$z" "$dir/$name.zone"
			printf 'zone:\n\tname: "%s."\n\tzonefile: "%s.zone"\n' \
			    "$name" "$name"
		done
	} >"$dir/nsd.conf"
	nsd-checkconf "$dir/nsd.conf" >"$dir/checkconf.log" 2>&1 ||
		{ show_log "$dir/checkconf.log"; fail "nsd-checkconf refused $dir/nsd.conf"; }
	bg "$dir/nsd.out" nsd -d -c "$dir/nsd.conf"
	DNS_PID=$BG_PID
	wait_port "$DNS_PORT" 10 "$DNS_PID" ||
		{ show_log "$dir/nsd.out"; show_log "$dir/nsd.log"; fail "nsd did not listen on $DNS_PORT"; }
	# Each zone read (NSD logs it once it is served).
	for z in "$@"; do
		name=$(basename "$z" .zone)
		for i in $(seq 1 50); do
			grep -q "zone $name\. read with success" "$dir/nsd.log" \
			    "$dir/nsd.out" 2>/dev/null && break
			sleep 0.1
		done
		grep -q "zone $name\. read with success" "$dir/nsd.log" \
		    "$dir/nsd.out" 2>/dev/null ||
			{ show_log "$dir/nsd.log"; fail "nsd did not load zone $name."; }
	done
	export DNS_PORT DNS_PID
}

dns_stop() {
	[ -n "${DNS_PID:-}" ] || return 0
	kill_bg "$DNS_PID"
	DNS_PID=
}

# dns_silent DIR [SECONDS]
dns_silent() {
	local dir=$1 secs=${2:-60}
	mkdir -p "$dir"
	SILENT_PORT=$(free_port)
	# A file, not a here-document: bg gives the program /dev/null.
	cat >"$dir/silent.py" <<'EOF'
import select, socket, sys, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", port))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", port))
t.listen(16)
print("silent on", port, flush=True)
end = time.monotonic() + secs
held = []
n = 0
while time.monotonic() < end:
    r, _, _ = select.select([u, t], [], [], max(0.0, min(1.0, end - time.monotonic())))
    if u in r:
        u.recv(65536)
        n += 1
    if t in r and len(held) < 64:
        c, _ = t.accept()
        held.append(c)
        n += 1
print("silent: dropped", n, "queries", flush=True)
EOF
	bg "$dir/silent.log" "$XG_PY" "$dir/silent.py" "$SILENT_PORT" "$secs"
	SILENT_PID=$BG_PID
	wait_port "$SILENT_PORT" 10 "$SILENT_PID" ||
		{ show_log "$dir/silent.log"; fail "the silent DNS server did not start"; }
	export SILENT_PORT SILENT_PID
}

# dns_fake DIR RECORD...: a small UDP server written here, for what NSD
# will not serve: names that get no answer at all while others do, and
# malformed records.  Each RECORD is "NAME TYPE silent" (no answer),
# "NAME TYPE HEX" (one record of that type with RDATA given in hex; the
# same NAME and TYPE again adds a record) with TYPE a number; any other
# question gets NXDOMAIN.  Answers for at most 60 s.  Exports FAKE_PORT
# and FAKE_PID.
dns_fake() {
	local dir=$1
	shift
	mkdir -p "$dir"
	FAKE_PORT=$(free_port)
	printf '%s\n' "$@" >"$dir/fake.records"
	cat >"$dir/fake.py" <<'EOF'
import select, socket, struct, sys, time
port, table = int(sys.argv[1]), {}
for line in open(sys.argv[2]):
    f = line.split()
    if len(f) == 3:
        key = (f[0].lower().rstrip("."), int(f[1]))
        table.setdefault(key, []).append(None if f[2] == "silent" else bytes.fromhex(f[2]))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", port))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", port))
t.listen(4)	# only so that wait_port sees it; never answered
print("fake on", port, flush=True)
end = time.monotonic() + 60
while time.monotonic() < end:
    r, _, _ = select.select([s], [], [], 1.0)
    if not r:
        continue
    q, peer = s.recvfrom(4096)
    if len(q) < 12:
        continue
    qid, flags = struct.unpack(">HH", q[:4])
    pos, labels = 12, []
    while pos < len(q) and q[pos] != 0:
        labels.append(q[pos + 1:pos + 1 + q[pos]].decode("ascii", "replace"))
        pos += 1 + q[pos]
    pos += 1
    qtype = struct.unpack(">H", q[pos:pos + 2])[0]
    question = q[12:pos + 4]
    name = ".".join(labels).lower()
    recs = table.get((name, qtype))
    print("query", name, qtype, "->", "nx" if recs is None else len(recs), flush=True)
    if recs is not None and None in recs:
        continue
    rcode = 3 if recs is None and not any(k[0] == name for k in table) else 0
    recs = recs or []
    hdr = struct.pack(">HHHHHH", qid, 0x8400 | (flags & 0x0100) | rcode, 1, len(recs), 0, 0)
    ans = b"".join(struct.pack(">HHHIH", 0xC00C, qtype, 1, 60, len(d)) + d for d in recs)
    s.sendto(hdr + question + ans, peer)
EOF
	bg "$dir/fake.log" "$XG_PY" "$dir/fake.py" "$FAKE_PORT" "$dir/fake.records"
	FAKE_PID=$BG_PID
	wait_port "$FAKE_PORT" 10 "$FAKE_PID" ||
		{ show_log "$dir/fake.log"; fail "the fake DNS server did not start"; }
	export FAKE_PORT FAKE_PID
}
