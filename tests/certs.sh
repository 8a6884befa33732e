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
