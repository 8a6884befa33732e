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
