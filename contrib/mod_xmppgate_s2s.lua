-- mod_xmppgate_s2s: server-to-server streams through xmppgate(8), incoming
-- (xmppgate_s2s_ports) and, with xmppgate_s2s_out, outgoing.
--
-- A Prosody 0.12 global module.  It opens a listener (xmppgate_s2s_ports)
-- that speaks PROXY protocol version 2 and then XMPP (jabber:server): each
-- connection starts with a PROXY v2 header written by xmppgate, after which
-- the connection is handed to mod_s2s as if the remote server had connected
-- to Prosody's own s2s port.  xmppgate has already done TLS with the remote
-- server, so the stream is marked secure and encrypted and STARTTLS is not
-- offered again.
--
-- TRUST MODEL
--
--   Nothing on this port is checked cryptographically.  The PROXY header is
--   believed as it is: its source address becomes the session's IP address,
--   and TLV 0xE0 (xmppgate's "remote domain authenticated", ASCII domain D)
--   makes the stream authenticated for D with no further check.  Anything
--   that can connect to this port can therefore claim to be any server on
--   the network.  So:
--     - bind it to loopback only (xmppgate_s2s_interfaces; the default is
--       Prosody's local_interfaces, i.e. 127.0.0.1 and ::1), never to a
--       public address, and never make it the public s2s port;
--     - only the addresses in xmppgate_s2s_trusted (default 127.0.0.1 and
--       ::1; entries may be CIDR ranges) may talk on it; any other peer is
--       disconnected at once;
--     - on a shared host, any local user can connect to loopback: firewall
--       the port (e.g. nftables "meta skuid") so that only xmppgate's user
--       reaches it.
--   Without TLV 0xE0 the stream is not authenticated: the remote must pass
--   dialback, run by Prosody itself, exactly as on the normal s2s port.
--   With TLV 0xE0 = D the stream's 'from' must be D; if it is not, the
--   stream is closed with <not-authorized/>.  The module never falls back
--   to dialback or anything else when the TLV and the stream disagree.
--   Prosody's own outgoing s2s connections pass through xmppgate only
--   with xmppgate_s2s_out (OUTGOING STREAMS below).
--
-- Configuration (global section):
--   modules_enabled = { ..., "xmppgate_s2s" }
--   plugin_paths = { "/path/to/xmppgate/contrib" }
--   xmppgate_s2s_ports = { 5270 }
--   xmppgate_s2s_interfaces = { "127.0.0.1" }     -- default: local_interfaces
--   xmppgate_s2s_trusted = { "127.0.0.1", "::1" } -- default
--   xmppgate_s2s_header_timeout = 10              -- seconds, default 10
--   xmppgate_s2s_out = "127.0.0.1:5271"           -- unset: outgoing s2s as before
--   xmppgate_s2s_out_allow_remote = false         -- default
--
-- OUTGOING STREAMS (xmppgate_s2s_out)
--
--   Every outgoing s2s connection goes to xmppgate --s2s-out at that
--   address (a literal; not loopback is refused unless
--   xmppgate_s2s_out_allow_remote) in place of DNS.  xmppgate answers
--   Prosody's stream header with a PROXY v2 header first; a bytes/in
--   filter reads it before mod_s2s sees any byte:
--     PROXY with TLV 0xE0 = the stream's to: authenticated, as after SASL
--       EXTERNAL (s2s-authenticated, once, before any remote byte);
--     PROXY without it: Prosody does dialback through the tunnel;
--     LOCAL: xmppgate's <stream:error> follows; mod_s2s fails the session
--       and bounces the queue;
--     a TLV 0xE0 or 0x02 for another domain, a bad header, no header in
--       xmppgate_s2s_header_timeout, features after LOCAL: closed, bounced.
--   Prosody 0.12.3 has no s2sout-pre-connect event (0.12.4 has): there a
--   route/remote handler at priority -5 opens the session in place of
--   mod_s2s's route_to_new_session (-10).  TESTED: 0.12.3 only (Debian 12,
--   tests/t-s2s-out-module.sh).  The 0.12.4+/13 path (s2sout-pre-connect,
--   resolver replaced) follows mod_s2s's source and is NOT tested.
--
-- Log lines (source "mod_xmppgate_s2s"; they are part of xmppgate's
-- interface, see contrib/README):
--   info  PROXY v2 from ADDR: source SRC port N, authority T, authenticated domain D
--   info  PROXY v2 from ADDR: source SRC port N, authority T, no authenticated domain (dialback)
--   warn  Refusing connection from ADDR: not in xmppgate_s2s_trusted
--   warn  Closing connection from ADDR: REASON
--   info  Connection from ADDR closed before a complete PROXY header (ERR)
--   info  Stream from D to T authenticated by xmppgate (EXTERNAL)
--   warn  Stream from F to T: xmppgate authenticated D; closing with not-authorized
--   warn  Stream from F to T: <db:result> for X to Y refused (xmppgate judged only this stream's domains)
--   warn  Stream from F to T: xmppgate accepted it for A; closing with host-unknown
--   Outgoing (F ours, T the remote):
--   info  Outgoing s2s goes through xmppgate at ADDR port N (HOOK)
--   error xmppgate_s2s_out = "X" is not ...; outgoing s2s is disabled
--   warn  Outgoing stream from F to T refused: REASON
--   info  Outgoing stream from F to T: connecting through xmppgate at ADDR port N
--   info  Outgoing stream from F to T: PROXY v2: remote SRC port N, authenticated by xmppgate (EXTERNAL)
--   info  Outgoing stream from F to T: PROXY v2: remote SRC port N, not authenticated (dialback)
--   warn  Outgoing stream from F to T: xmppgate could not connect (LOCAL)
--   warn  Outgoing stream from F to T failed at xmppgate: REASON
--   warn  Outgoing stream from F to T: closing: REASON
--   warn  Outgoing stream from F to T: SASL offered inside the tunnel, ignored
--   info  Outgoing stream from F to T: xmppgate closed the connection before a complete PROXY header (ERR)

module:set_global();

local portmanager = require "core.portmanager";
local ip_util = require "util.ip";
local net_util = require "util.net";
local nameprep = require "util.encodings".stringprep.nameprep;

local log = module._log;

local s_byte, s_sub, s_format = string.byte, string.sub, string.format;

-- Named limits of the header parser.
local SIGNATURE = "\r\n\r\n\0\r\nQUIT\n";   -- 12 bytes
local FIXED_LEN = 16;                        -- signature, ver/cmd, family, length
local MAX_HEADER_LEN = 2048;                 -- largest accepted length field
local MAX_DOMAIN_LEN = 1023;                 -- RFC 7622 domainpart
local TLV_AUTHORITY = 0x02;                  -- PP2_TYPE_AUTHORITY: our domain
local TLV_XMPPGATE_AUTH = 0xE0;              -- xmppgate: remote domain authenticated
local ADDR_LEN = { [0x00] = 0, [0x11] = 12, [0x21] = 36 }; -- UNSPEC, TCP4, TCP6

local header_timeout = module:get_option_number("xmppgate_s2s_header_timeout", 10);
local trusted_config = module:get_option_array("xmppgate_s2s_trusted", { "127.0.0.1", "::1" });

local trusted = {};
for _, entry in ipairs(trusted_config) do
	local ip, bits = ip_util.parse_cidr(entry);
	if ip and (bits or not entry:find("/", 1, true)) then
		trusted[#trusted + 1] = { ip = ip, bits = bits };
	else
		log("error", "xmppgate_s2s_trusted: %q is not an address or CIDR range; ignored", entry);
	end
end

if not module:get_option("xmppgate_s2s_ports") then
	log("warn", "xmppgate_s2s_ports is not set: the xmppgate_s2s listener has no port");
end

-- An IPv4-mapped IPv6 address as plain IPv4 (a dual-stack listener, or
-- xmppgate's mixed v4/v6 addresses sent as two IPv6).
local function unmap(addr)
	return addr and addr:match("^::[fF][fF][fF][fF]:(%d+%.%d+%.%d+%.%d+)$") or addr;
end

local function is_trusted(addr)
	local ip = addr and ip_util.new_ip(unmap(addr));
	if not ip then return false; end
	for _, t in ipairs(trusted) do
		if ip_util.match(ip, t.ip, t.bits) then return true; end
	end
	return false;
end

local function is_loopback(addr)
	local ip = ip_util.new_ip(unmap(addr));
	return ip and (ip.proto == "IPv4" and ip_util.match(ip, ip_util.new_ip("127.0.0.0"), 8)
		or ip.proto == "IPv6" and ip == ip_util.new_ip("::1")) or false;
end

-- The listener binds to xmppgate_s2s_interfaces, else local_interfaces
-- (portmanager, "private" service).  Say so when that is not loopback.
for _, addr in ipairs(module:get_option_array("xmppgate_s2s_interfaces")
		or module:get_option_array("local_interfaces") or {}) do
	if not is_loopback(addr) then
		log("warn", "xmppgate_s2s listens on %s, which is not a loopback address: "
			.. "whatever reaches it may claim any domain (only xmppgate_s2s_trusted peers are served)", addr);
	end
end

-- Printable form of untrusted bytes for the log.
local function printable(s, max)
	s = s:gsub("[^%w%.%-_:%[%]]", "?");
	if #s > max then s = s:sub(1, max) .. "..."; end
	return s;
end

-- The authenticated domain of TLV 0xE0: lower-case ASCII, a valid domain.
local function check_domain(value)
	if #value == 0 or #value > MAX_DOMAIN_LEN then return nil; end
	if value:find("[^%w%.%-_]") or value:find("%u") then return nil; end
	local prepped = nameprep(value);
	if not prepped or prepped ~= value then return nil; end
	return value;
end

local function u16(s, i)
	local hi, lo = s_byte(s, i, i + 1);
	return hi * 256 + lo;
end

-- parse_header(buffer, allow_local) -> nil (need more bytes) |
-- false, reason | info, rest.  info.command is "PROXY" or, only when
-- allow_local is set (the outgoing side), "LOCAL".
local function parse_header(buf, allow_local)
	-- Compare the signature as far as we have it: plain XML or anything
	-- else fails on its first byte.
	local have = #buf < #SIGNATURE and #buf or #SIGNATURE;
	if s_sub(buf, 1, have) ~= s_sub(SIGNATURE, 1, have) then
		return false, "not a PROXY v2 header (no signature)";
	end
	if #buf < FIXED_LEN then return nil; end
	local ver_cmd, family = s_byte(buf, 13, 14);
	local len = u16(buf, 15);
	-- Version 2, command PROXY.  Not LOCAL (0x20) on the incoming side:
	-- xmppgate always sends PROXY, and nothing else has any business on
	-- that port.  On the outgoing side LOCAL means "no remote connection".
	if ver_cmd ~= 0x21 and not (allow_local and ver_cmd == 0x20) then
		return false, s_format("unsupported PROXY version/command 0x%02x", ver_cmd);
	end
	if len > MAX_HEADER_LEN then
		return false, s_format("PROXY header length %d exceeds the limit of %d", len, MAX_HEADER_LEN);
	end
	if #buf < FIXED_LEN + len then return nil; end
	local block = s_sub(buf, FIXED_LEN + 1, FIXED_LEN + len);
	local rest = s_sub(buf, FIXED_LEN + len + 1);
	local info = { command = ver_cmd == 0x20 and "LOCAL" or "PROXY" };
	local addr_len = ADDR_LEN[family];
	if not addr_len then
		return false, s_format("unsupported address family 0x%02x", family);
	end
	if info.command == "LOCAL" and family ~= 0x00 then
		return false, s_format("PROXY command LOCAL with address family 0x%02x (not UNSPEC)", family);
	end
	if len < addr_len then
		return false, s_format("PROXY header length %d too short for family 0x%02x", len, family);
	end
	if family == 0x11 then
		info.src = net_util.ntop(s_sub(block, 1, 4));
		info.src_port = u16(block, 9);
	elseif family == 0x21 then
		info.src = unmap(net_util.ntop(s_sub(block, 1, 16)));
		info.src_port = u16(block, 33);
	end
	-- TLVs: type (1 byte), length (2 bytes, big endian), value.
	local pos = addr_len + 1;
	while pos <= len do
		if pos + 2 > len then
			return false, s_format("truncated TLV at offset %d", pos - 1);
		end
		local typ = s_byte(block, pos);
		local tlen = u16(block, pos + 1);
		if pos + 2 + tlen > len then
			return false, s_format("TLV 0x%02x at offset %d runs past the header", typ, pos - 1);
		end
		local value = s_sub(block, pos + 3, pos + 2 + tlen);
		if typ == TLV_XMPPGATE_AUTH then
			if info.auth_domain then
				return false, "TLV 0xe0 given twice";
			end
			local domain = check_domain(value);
			if not domain then
				return false, s_format("TLV 0xe0 is not a valid domain: %s", printable(value, 64));
			end
			info.auth_domain = domain;
		elseif typ == TLV_AUTHORITY then
			info.authority = value;
		end
		pos = pos + 3 + tlen;
	end
	return info, rest;
end

-- Connections of this listener before the hand-over: conn -> state.
local pending = {};
-- Connections handed to mod_s2s: conn -> info (weak keys).
local proxied = setmetatable({}, { __mode = "k" });

local function close_conn(conn, state, reason)
	log("warn", "Closing connection from %s: %s", state and state.peer or tostring(conn:ip()), reason);
	if state and state.timer then state.timer:stop(); end
	pending[conn] = nil;
	conn:close();
end

local function hand_over(conn, state, info, rest)
	pending[conn] = nil;
	if state.timer then state.timer:stop(); end
	local s2s = portmanager.get_service("s2s");
	if not (s2s and s2s.listener) then
		log("error", "Closing connection from %s: mod_s2s is not loaded", state.peer);
		conn:close();
		return;
	end
	if info.src then
		local src, src_port = info.src, info.src_port;
		conn.ip = function () return src; end
		conn.port = function () return src_port; end
		conn.clientport = function () return src_port; end
	end
	local source = info.src and s_format("%s port %d", info.src, info.src_port) or "unspecified";
	local authority = info.authority and printable(info.authority, 64) or "-";
	if info.auth_domain then
		log("info", "PROXY v2 from %s: source %s, authority %s, authenticated domain %s",
			state.peer, source, authority, info.auth_domain);
	else
		log("info", "PROXY v2 from %s: source %s, authority %s, no authenticated domain (dialback)",
			state.peer, source, authority);
	end
	info.peer = state.peer;
	proxied[conn] = info;
	conn:setlistener(s2s.listener);
	s2s.listener.onconnect(conn);
	if rest ~= "" then
		s2s.listener.onincoming(conn, rest);
	end
end

local listener = {};

function listener.onconnect(conn)
	local peer = conn:ip();
	if not is_trusted(peer) then
		log("warn", "Refusing connection from %s: not in xmppgate_s2s_trusted", tostring(peer));
		conn:close();
		return;
	end
	local state = { peer = peer, buffer = "" };
	pending[conn] = state;
	state.timer = module:add_timer(header_timeout, function ()
		if pending[conn] == state then
			close_conn(conn, state, s_format("no complete PROXY header within %d s", header_timeout));
		end
	end);
end

function listener.onincoming(conn, data)
	local state = pending[conn];
	if not state then return; end
	local buf = state.buffer .. data;
	local info, rest = parse_header(buf);
	if info == nil then
		state.buffer = buf;
	elseif info == false then
		close_conn(conn, state, rest);
	else
		hand_over(conn, state, info, rest);
	end
end

function listener.ondisconnect(conn, err)
	local state = pending[conn];
	if state then
		pending[conn] = nil;
		if state.timer then state.timer:stop(); end
		log("info", "Connection from %s closed before a complete PROXY header (%s)",
			state.peer, err or "closed");
	end
end

function listener.ondetach(conn)
	pending[conn] = nil;
end

module:provides("net", {
	name = "xmppgate_s2s";
	listener = listener;
	private = true; -- default interfaces: local_interfaces (loopback)
});

-- mod_s2s fires s2s-created (globally) for every new session; ours are the
-- incoming ones on a connection of this listener.
module:hook("s2s-created", function (event)
	local session = event.session;
	local info = session.direction == "incoming" and session.conn and proxied[session.conn];
	if not info then return; end
	session.xmppgate_s2s = info;
	session.secure = true;     -- TLS was done by xmppgate
	session.encrypted = true;
	session.ssl_ctx = false;   -- so mod_tls offers no STARTTLS
end);

local function mismatch(session, domain)
	log("warn", "Stream from %s to %s: xmppgate authenticated %s; closing with not-authorized",
		session.from_host or "(none)", session.to_host or "(none)", domain);
	session:close({
		condition = "not-authorized";
		text = s_format("The stream is from %s, but the server was authenticated as %s",
			session.from_host or "(no from)", domain);
	});
end

-- When the stream opens, mod_s2s asks for a certificate check (the session
-- is secure but Prosody saw no certificate).  xmppgate checked the
-- remote's certificate: with TLV 0xE0 for this very domain the answer is
-- "valid" (which also satisfies s2s_secure_auth); with TLV 0xE0 for another
-- domain the stream is closed.  Without the TLV, Prosody's own handlers run
-- (no certificate: dialback, or refusal under s2s_secure_auth).
module:hook("s2s-check-certificate", function (event)
	local session = event.session;
	local info = session.xmppgate_s2s;
	if not (info and info.auth_domain) or session.direction ~= "incoming" then return; end
	if event.host ~= info.auth_domain then
		mismatch(session, info.auth_domain);
		return false;
	end
	session.cert_chain_status = "valid";
	session.cert_identity_status = "valid";
	return true; -- nothing for mod_s2s_auth_certs to look at
end, 1000);

-- Dialback on a proxied stream is for the one pair of domains that
-- xmppgate saw and its policy helper judged: the stream's own from and to.
-- Prosody itself would take <db:result> for any 'from' on any incoming
-- stream (XEP-0220 multiplexing), which would let a server that was
-- allowed (or authenticated by certificate) as one domain add another,
-- past xmppgate's block lists and certificate requirements.
local function dialback_guard(event)
	local session, stanza = event.origin, event.stanza;
	local info = session.xmppgate_s2s;
	if not info or session.direction ~= "incoming" then return; end
	local from, to = nameprep(stanza.attr.from or ""), nameprep(stanza.attr.to or "");
	if from and to and from == session.from_host and to == session.to_host then return; end
	log("warn", "Stream from %s to %s: <db:%s> for %s to %s refused (xmppgate judged only this stream's domains)",
		session.from_host or "(none)", session.to_host or "(none)", stanza.name,
		printable(stanza.attr.from or "-", 64), printable(stanza.attr.to or "-", 64));
	session:close({
		condition = "not-authorized";
		text = "Dialback on this stream is only for its own 'from' and 'to'";
	});
	return true;
end

local add_host_out; -- below, with the outgoing side

function module.add_host(module) -- luacheck: ignore 432/module
	add_host_out(module);
	module:hook("stanza/jabber:server:dialback:result", dialback_guard, 1000);
	module:hook("stanza/jabber:server:dialback:verify", dialback_guard, 1000);
	-- The stream is open and from_host/to_host are set: authenticate it
	-- before anything offers features (SASL EXTERNAL, dialback).
	module:hook("s2s-stream-features", function (event)
		local session = event.origin;
		local info = session.xmppgate_s2s;
		-- xmppgate chose our certificate (and ran its policy) for the
		-- domain in TLV 0x02: the stream may not go to another one.
		if info and info.authority and session.direction == "incoming"
			and nameprep(info.authority) ~= session.to_host then
			log("warn", "Stream from %s to %s: xmppgate accepted it for %s; closing with host-unknown",
				session.from_host or "(none)", session.to_host or "(none)", printable(info.authority, 64));
			session:close({ condition = "host-unknown"; text = "This stream was accepted for another domain" });
			return true;
		end
		if not (info and info.auth_domain) or session.type ~= "s2sin_unauthed" then return; end
		if session.from_host ~= info.auth_domain then
			mismatch(session, info.auth_domain);
			return true;
		end
		log("info", "Stream from %s to %s authenticated by xmppgate (EXTERNAL)",
			session.from_host, session.to_host);
		module:fire_event("s2s-authenticated", {
			session = session, host = info.auth_domain, mechanism = "EXTERNAL";
		});
	end, 1000);
end

--
-- Outgoing streams: Prosody's own s2s connections through xmppgate --s2s-out
--

local out_option = module:get_option_string("xmppgate_s2s_out");
local out_allow_remote = module:get_option_boolean("xmppgate_s2s_out_allow_remote", false);
local unauthed_stanza_size_limit = module:get_option_number("s2s_unauthed_stanza_size_limit", 10000, 1000);

local hosts = prosody.hosts;
local st = require "util.stanza";
local errors = require "util.error";
local filters = require "util.filters";
local s2s_new_outgoing = require "core.s2smanager".new_outgoing;
local connect = require "net.connect".connect;
local basic_resolver = require "net.resolvers.basic";
local core_features = require "core.features".available;

-- Prosody 0.12.4 and later fire s2sout-pre-connect, where a module may
-- replace the resolver; 0.12.3 (Debian 12) does not, so there the module
-- opens the session itself in place of mod_s2s (route/remote, below).
local have_pre_connect = core_features:contains("s2sout-pre-connect-event");

-- "127.0.0.1:5271" or "[::1]:5271": an address literal, never a name (a
-- name would be one more DNS lookup deciding where federation goes).
local function parse_hostport(spec)
	local host, port = spec:match("^%[([%x:%.]+)%]:(%d+)$");
	if not host then host, port = spec:match("^(%d+%.%d+%.%d+%.%d+):(%d+)$"); end
	port = tonumber(port);
	if not (host and port and port >= 1 and port <= 65535 and ip_util.new_ip(host)) then
		return nil;
	end
	return host, port;
end

local out_host, out_port, out_refused;
if out_option then
	out_host, out_port = parse_hostport(out_option);
	if not out_host then
		out_refused = s_format("xmppgate_s2s_out = %q is not ADDRESS:PORT or [ADDRESS]:PORT", out_option);
	elseif not is_loopback(out_host) and not out_allow_remote then
		out_refused = s_format("xmppgate_s2s_out = %q is not a loopback address "
			.. "(set xmppgate_s2s_out_allow_remote = true if that is meant)", out_option);
	elseif not is_loopback(out_host) then
		log("warn", "xmppgate_s2s_out is %s, which is not a loopback address: "
			.. "outgoing s2s streams travel to it in plain text", out_option);
	end
	if out_refused then
		log("error", "%s; outgoing s2s is disabled", out_refused);
	else
		log("info", "Outgoing s2s goes through xmppgate at %s port %d (%s)", out_host, out_port,
			have_pre_connect and "s2sout-pre-connect" or "route/remote, Prosody without s2sout-pre-connect");
	end
end

local function out_name(session)
	return s_format("Outgoing stream from %s to %s", session.from_host or "(none)", session.to_host or "(none)");
end

-- Close an outgoing stream that xmppgate (or whatever holds its port)
-- answered wrongly.  mod_s2s bounces the queued stanzas with 'reason'.
local function out_fail(session, reason)
	local out = session.xmppgate_s2s_out;
	log("warn", "%s: closing: %s", out_name(session), reason);
	out.phase = "failed";
	if out.timer then out.timer:stop(); out.timer = nil; end
	session:close({ condition = "undefined-condition"; text = "Bad answer from xmppgate --s2s-out" },
		nil, "outgoing federation proxy failed");
end

-- What mod_s2s does with the queue of an outgoing session that never
-- became ready: each message, presence and iq that expects an answer goes
-- back to its sender as an error.  Only used on 0.12.3, where this module
-- creates the session and mod_s2s's own function is out of reach.
local bounceable = { message = true, presence = true, iq = true };
local function bounce_sendq(session, reason)
	local sendq = session.sendq;
	if not sendq then return; end
	session.sendq = nil;
	session.log("info", "Returning %d queued stanzas: outgoing connection to %s through xmppgate failed",
		#sendq, session.to_host);
	local err_type, condition, text = "cancel", "remote-server-not-found", nil;
	if session.had_stream then err_type, condition = "wait", "remote-server-timeout"; end
	if errors.is_err(reason) then
		err_type, condition, text = reason.type, reason.condition, reason.text;
	elseif type(reason) == "string" then
		text = reason;
	end
	-- A stand-in origin: an error reply is never answered.
	local origin = {
		type = "s2sin"; dummy = true;
		send = function () log("error", "Reply to a bounced stanza dropped"); end;
		close = function () end;
	};
	for _, item in ipairs(sendq) do
		local reply = item[2];
		if reply and not reply.attr.xmlns and bounceable[reply.name] then
			reply.attr.type = "error";
			reply:tag("error", { type = err_type, by = session.from_host })
				:tag(condition, { xmlns = "urn:ietf:params:xml:ns:xmpp-stanzas" }):up();
			if text then
				reply:tag("text", { xmlns = "urn:ietf:params:xml:ns:xmpp-stanzas" })
					:text("Server-to-server connection failed: " .. text):up();
			end
			prosody.core_process_stanza(origin, reply);
		end
	end
end

-- Every session sent to xmppgate gets this before it connects.
local function out_mark(session)
	session.xmppgate_s2s_out = { phase = "connecting" };
	-- Plain TCP to xmppgate: STARTTLS inside it would be TLS to xmppgate,
	-- not to the remote, and xmppgate does not offer it.
	session.ssl_ctx = false;
	log("info", "%s: connecting through xmppgate at %s port %d", out_name(session), out_host, out_port);
end

-- Prosody 0.12.3: a route/remote handler between mod_s2s's two (existing
-- sessions at -1, new ones at -10) that opens the new session the way
-- mod_s2s's route_to_new_session does, but to xmppgate and not to DNS.
local function route_via_xmppgate(event)
	local from_host, to_host, stanza = event.from_host, event.to_host, event.stanza;
	-- Whatever reaches this point would reach route_to_new_session next
	-- (including a stanza that an existing session failed to send), which
	-- would connect to the remote directly: never let it through.
	if not hosts[from_host] or hosts[to_host] then
		return false; -- route_to_existing_session refuses these already
	end
	local s2s = portmanager.get_service("s2s");
	if not (s2s and s2s.listener) then
		log("error", "Outgoing stream from %s to %s: mod_s2s is not loaded", from_host, to_host);
		return false;
	end
	local session = s2s_new_outgoing(from_host, to_host);
	session.version = 1;
	session.stanza_size_limit = unauthed_stanza_size_limit;
	session.bounce_sendq = bounce_sendq;
	session.sendq = { { tostring(stanza),
		stanza.attr.type ~= "error" and stanza.attr.type ~= "result" and st.reply(stanza) } };
	out_mark(session);
	module:context(from_host):fire_event("s2sout-created", { session = session });
	connect(basic_resolver.new(out_host, out_port, "tcp", {}), s2s.listener, nil, { session = session });
	return true;
end

-- Prosody 0.12.4 and later: mod_s2s built the session; send it to xmppgate.
local function pre_connect(event)
	out_mark(event.session);
	event.resolver = basic_resolver.new(out_host, out_port, "tcp", {});
end

local function route_refused(event)
	log("warn", "Outgoing stream from %s to %s refused: %s", event.from_host, event.to_host, out_refused);
	return false; -- the sender gets <not-allowed/>
end

-- The header has been read: judge it before any byte after it reaches
-- mod_s2s.  Returns false when the session was closed.
local function out_accept(session, info)
	local out = session.xmppgate_s2s_out;
	if info.command == "LOCAL" then
		out.phase = "local";
		log("warn", "%s: xmppgate could not connect (LOCAL)", out_name(session));
		return true; -- its <stream:error> follows; mod_s2s reads it and bounces
	end
	local authority = info.authority and nameprep(info.authority);
	if info.authority and authority ~= session.to_host then
		out_fail(session, s_format("xmppgate connected to %s (TLV 0x02), not %s",
			printable(info.authority, 64), session.to_host));
		return false;
	end
	if info.auth_domain and info.auth_domain ~= session.to_host then
		out_fail(session, s_format("xmppgate authenticated %s (TLV 0xe0), not %s",
			info.auth_domain, session.to_host));
		return false;
	end
	if info.src then session.ip = info.src; end
	-- xmppgate did TLS with the remote (a PROXY answer means it did).
	session.secure = true;
	session.encrypted = true;
	local source = info.src and s_format("%s port %d", info.src, info.src_port) or "unspecified";
	if not info.auth_domain then
		out.phase = "dialback";
		log("info", "%s: PROXY v2: remote %s, not authenticated (dialback)", out_name(session), source);
		return true;
	end
	out.phase = "external";
	log("info", "%s: PROXY v2: remote %s, authenticated by xmppgate (EXTERNAL)", out_name(session), source);
	-- What mod_saslauth does after a successful SASL EXTERNAL: xmppgate
	-- verified the remote's certificate for this domain and the remote
	-- accepted ours.  mod_s2s makes the session s2sout and, at the
	-- <stream:features/> that follows, sends the queue.
	session.cert_chain_status = "valid";
	session.cert_identity_status = "valid";
	session.authenticated_remote = true;
	session.external_auth = "succeeded";
	module:context(session.from_host):fire_event("s2s-authenticated", {
		session = session, host = session.to_host, mechanism = "EXTERNAL";
	});
	return not session.destroyed;
end

-- bytes/in filter of an outgoing session: nothing reaches the XML parser
-- before the whole PROXY header has been read and judged.
local function out_filter(data, session)
	local out = session.xmppgate_s2s_out;
	if out.phase ~= "header" then return data; end
	local buf = out.buffer .. data;
	local info, rest = parse_header(buf, true);
	if info == nil then
		out.buffer = buf;
		return nil;
	end
	out.buffer = nil;
	if out.timer then out.timer:stop(); out.timer = nil; end
	if info == false then
		out_fail(session, rest);
		return nil;
	end
	if not out_accept(session, info) then return nil; end
	return rest ~= "" and rest or nil;
end

if out_option then
	module:hook("s2s-created", function (event)
		local session = event.session;
		local out = session.direction == "outgoing" and session.xmppgate_s2s_out;
		if not out then return; end
		out.phase, out.buffer = "header", "";
		filters.add_filter(session, "bytes/in", out_filter, 1000);
		out.timer = module:add_timer(header_timeout, function ()
			out.timer = nil;
			if out.phase == "header" and not session.destroyed then
				out_fail(session, s_format("no complete PROXY header from xmppgate within %d s", header_timeout));
			end
		end);
	end);

	module:hook("s2s-destroyed", function (event)
		local session = event.session;
		local out = session.direction == "outgoing" and session.xmppgate_s2s_out;
		if not out then return; end
		if out.timer then out.timer:stop(); out.timer = nil; end
		if out.phase == "header" then
			log("info", "%s: xmppgate closed the connection before a complete PROXY header (%s)",
				out_name(session), tostring(event.reason or "closed"));
		elseif out.phase == "local" then
			log("warn", "%s failed at xmppgate: %s", out_name(session), tostring(event.reason or "no reason given"));
		end
	end);
end

-- Hooks of each host: the redirect, and the guards on the streams'
-- features.
function add_host_out(host_module)
	if not out_option then return; end
	if out_refused then
		host_module:hook("route/remote", route_refused, -5);
		return;
	end
	if have_pre_connect then
		host_module:hook("s2sout-pre-connect", pre_connect);
	else
		host_module:hook("route/remote", route_via_xmppgate, -5);
	end
	host_module:hook_tag("http://etherx.jabber.org/streams", "features", function (session, stanza)
		local out = session.xmppgate_s2s_out;
		if not out then return; end
		if out.phase == "local" then
			out_fail(session, "stream features after LOCAL");
			return true;
		end
		-- No bidirectional stream (XEP-0288): the remote's stanzas would come
		-- in on this stream, past xmppgate's checks of incoming streams.
		-- No SASL and no STARTTLS either: xmppgate did both, and only its
		-- TLV 0xE0 authenticates the stream.  Features with <mechanisms>
		-- come only from the remote, through the relay (xmppgate sends
		-- none); answering them would let the remote's <success/>
		-- authenticate a stream xmppgate left to dialback.
		stanza:maptags(function (tag)
			if tag.name == "bidi" and tag.attr.xmlns == "urn:xmpp:features:bidi" then return nil; end
			if tag.name == "mechanisms" and tag.attr.xmlns == "urn:ietf:params:xml:ns:xmpp-sasl" then
				log("warn", "%s: SASL offered inside the tunnel, ignored", out_name(session));
				return nil;
			end
			if tag.name == "starttls" and tag.attr.xmlns == "urn:ietf:params:xml:ns:xmpp-tls" then return nil; end
			return tag;
		end);
	end, 1000);
end
