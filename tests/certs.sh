# tests/certs.sh -- a test CA and a server certificate made with certtool,
# sourced by tests/lib.sh and scripts/unit-check.sh.  The caller defines
# fail MESSAGE (and may define show_log FILE).

# make_certs DIR DOMAIN [KEYTYPE]: DIR/ca.pem (CA), DIR/cert.pem (server
# certificate with SAN DNS:DOMAIN), DIR/key.pem (KEYTYPE, default ecdsa;
# certtool's names), DIR/chain.pem (cert + CA).
make_certs() {
	local dir=$1 domain=$2 keytype=${3:-ecdsa}
	mkdir -p "$dir"
	cat >"$dir/ca.tmpl" <<EOF
cn = "xmppgate test CA"
organization = "xmppgate tests"
serial = 1
expiration_days = 30
ca
cert_signing_key
crl_signing_key
EOF
	cat >"$dir/server.tmpl" <<EOF
cn = "$domain"
organization = "xmppgate tests"
serial = 2
expiration_days = 30
dns_name = "$domain"
tls_www_server
signing_key
encryption_key
EOF
	{
		certtool --generate-privkey --key-type=ecdsa --outfile "$dir/ca-key.pem" &&
		certtool --generate-self-signed --load-privkey "$dir/ca-key.pem" \
			--template "$dir/ca.tmpl" --outfile "$dir/ca.pem" &&
		certtool --generate-privkey --key-type="$keytype" --outfile "$dir/key.pem" &&
		certtool --generate-certificate --load-privkey "$dir/key.pem" \
			--load-ca-certificate "$dir/ca.pem" --load-ca-privkey "$dir/ca-key.pem" \
			--template "$dir/server.tmpl" --outfile "$dir/cert.pem"
	} >"$dir/certtool.log" 2>&1 || {
		! declare -F show_log >/dev/null || show_log "$dir/certtool.log"
		fail "certtool failed (see $dir/certtool.log)"
	}
	cat "$dir/cert.pem" "$dir/ca.pem" >"$dir/chain.pem"
	chmod 644 "$dir"/*.pem
}

# make_leaf CADIR OUTDIR CN [TEMPLATE-LINE ...]: OUTDIR/privkey.pem (ECDSA),
# OUTDIR/cert.pem signed by CADIR's CA (from make_certs), OUTDIR/fullchain.pem
# (cert + CA: certbot's live/ layout).  The template lines add names and
# purposes, e.g. 'dns_name = "a.test"' 'tls_www_server'; a random serial
# tells a renewed certificate from the old one.
make_leaf() {
	local ca=$1 dir=$2 cn=$3 line
	shift 3
	mkdir -p "$dir"
	{
		printf 'cn = "%s"\nserial = %d%05d\nexpiration_days = 30\n' "$cn" "$(date +%s)" "$RANDOM"
		printf 'signing_key\nencryption_key\n'
		for line in "$@"; do printf '%s\n' "$line"; done
	} >"$dir/leaf.tmpl"
	{
		certtool --generate-privkey --key-type=ecdsa --outfile "$dir/privkey.pem" &&
		certtool --generate-certificate --load-privkey "$dir/privkey.pem" \
			--load-ca-certificate "$ca/ca.pem" --load-ca-privkey "$ca/ca-key.pem" \
			--template "$dir/leaf.tmpl" --outfile "$dir/cert.pem"
	} >"$dir/certtool.log" 2>&1 || {
		! declare -F show_log >/dev/null || show_log "$dir/certtool.log"
		fail "certtool failed for $cn (see $dir/certtool.log)"
	}
	cat "$dir/cert.pem" "$ca/ca.pem" >"$dir/fullchain.pem"
	rm -f "$dir/leaf.tmpl" "$dir/certtool.log"
}

# many_domains DIR SRCDIR N: N-1 more domain directories d00001.test ...
# in DIR, each with hard links to SRCDIR's fullchain.pem and privkey.pem
# (certbot's layout, at the cost of directories only).
many_domains() {
	/usr/bin/python3 - "$@" <<'EOF' || fail "making $3 domains in $1 failed"
import os, sys
many, src, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(1, n):
    d = os.path.join(many, "d%05d.test" % i)
    os.mkdir(d)
    for f in ("fullchain.pem", "privkey.pem"):
        os.link(os.path.join(src, f), os.path.join(d, f))
EOF
}

# server_leaf DIR NAME CN DNSNAME [TEMPLATE-LINE ...]: a server's
# certificate from DIR's CA (make_leaf, TLS server purpose) as
# DIR/NAME.crt and DIR/NAME.key, the way the federation tests name them.
server_leaf() {
	local dir=$1 name=$2 cn=$3 dns=$4
	shift 4
	make_leaf "$dir" "$dir/$name" "$cn" "dns_name = \"$dns\"" tls_www_server "$@"
	cp "$dir/$name/cert.pem" "$dir/$name.crt"
	cp "$dir/$name/privkey.pem" "$dir/$name.key"
}
