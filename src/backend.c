/*
 * Connect mode: open a client stream to the backend and log in there with
 * SASL PLAIN on the user's behalf (the nginx mail proxy model).  The
 * backend is ours, but its bytes still go through the bounded lexer.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "xmppgate.h"

#define BACKEND_DEPTH_MAX	32	/* nesting inside <stream:features> */

enum { B_HEADER, B_FEATURES, B_TLS, B_AUTH };
enum { TOP_OTHER, TOP_SASL, TOP_STREAMS, TOP_TLS };
enum { BT_GO_ON, BT_DECIDED, BT_PROCEED };	/* btoken() results */

struct bstate {
	int	state, depth;
	struct xml_ns ns;
	char	top[XG_NAME_MAX + 1];	/* local name of the depth-1 element */
	int	topns;			/* TOP_* */
	int	have_cond;
	enum xg_sasl_failure cond;
	int	starttls;		/* offered in the features */
	int	decl;			/* its <?xml?> was seen */
};

/*
 * Whitespace after the backend's last element (<proceed/>, <success/>,
 * its features), from a server that ends each element with a newline,
 * carries nothing and is dropped; anything else there would be lost, and
 * is refused.
 */
#define only_ws(p, n)	(xml_ws_span((p), (n)) == (n))

/*
 * One token from the backend.  Returns BT_DECIDED when the login is
 * decided (success 0 / failure set in *b), BT_PROCEED after <proceed/>,
 * BT_GO_ON to go on, -1 on a protocol error.
 */
static int
btoken(struct bstate *b, const struct xml_token *t, int *features_done,
    int *success, char *why, size_t whysz)
{
	const char *uri, *local;
	struct xml_ns ns;

	switch (b->state) {
	case B_HEADER:
		/* One declaration, after the old stream's whitespace on a
		 * restart (RFC 6120 4.3.1), before the header. */
		if (t->type == XML_TOK_DECL && b->decl++ > 0) {
			snprintf(why, whysz, "backend sent a misplaced "
			    "declaration");
			return -1;
		}
		if (t->type == XML_TOK_DECL || (t->type == XML_TOK_TEXT &&
		    t->text_ws))
			return 0;
		if (t->type != XML_TOK_START || xml_ns_push(&b->ns, t) < 0 ||
		    (uri = xml_ns_resolve(&b->ns, t->name, &local)) == NULL ||
		    strcmp(uri, NS_STREAMS) != 0 || strcmp(local, "stream") != 0) {
			snprintf(why, whysz, "backend sent no stream header");
			return -1;
		}
		b->state = B_FEATURES;
		b->depth = 1;
		return 0;
	default:
		break;
	}
	switch (t->type) {
	case XML_TOK_DECL:
		snprintf(why, whysz, "backend sent a misplaced declaration");
		return -1;
	case XML_TOK_TEXT:
		return 0;
	case XML_TOK_START:
		ns = b->ns;
		if (xml_ns_push(&ns, t) < 0 ||
		    (uri = xml_ns_resolve(&ns, t->name, &local)) == NULL)
			uri = "", local = t->name;
		if (b->depth == 1) {
			snprintf(b->top, sizeof(b->top), "%s", local);
			b->topns = strcmp(uri, NS_SASL) == 0 ? TOP_SASL :
			    strcmp(uri, NS_STREAMS) == 0 ? TOP_STREAMS :
			    strcmp(uri, NS_TLS) == 0 ? TOP_TLS : TOP_OTHER;
		} else if (b->depth == 2 && b->topns == TOP_STREAMS &&
		    strcmp(b->top, "features") == 0 &&
		    strcmp(uri, NS_TLS) == 0 && strcmp(local, "starttls") == 0) {
			b->starttls = 1;
		} else if (b->depth == 2 && b->topns == TOP_SASL &&
		    strcmp(b->top, "failure") == 0 && !b->have_cond &&
		    xg_sasl_failure_from_name(local, strlen(local),
		    &b->cond) == 0)
			b->have_cond = 1;
		if (!t->empty) {
			if (++b->depth > BACKEND_DEPTH_MAX) {
				snprintf(why, whysz, "backend XML too deep");
				return -1;
			}
			return 0;
		}
		if (b->depth != 1)
			return 0;
		break;		/* an empty element at depth 1 is complete */
	case XML_TOK_END:
		if (--b->depth > 1)
			return 0;
		if (b->depth == 0) {
			snprintf(why, whysz, "backend closed its stream");
			return -1;
		}
		break;
	}
	/* A depth-1 element is complete. */
	if (b->topns == TOP_STREAMS && strcmp(b->top, "features") == 0) {
		*features_done = 1;
		return 0;
	}
	if (b->topns == TOP_STREAMS && strcmp(b->top, "error") == 0) {
		snprintf(why, whysz, "backend sent a stream error");
		return -1;
	}
	if (b->state == B_TLS && b->topns == TOP_TLS &&
	    strcmp(b->top, "proceed") == 0)
		return BT_PROCEED;
	if (b->state == B_TLS && b->topns == TOP_TLS) {
		snprintf(why, whysz, "backend refused STARTTLS");
		return -1;
	}
	if (b->state == B_AUTH && b->topns == TOP_SASL &&
	    strcmp(b->top, "success") == 0) {
		*success = 1;
		return BT_DECIDED;
	}
	if (b->state == B_AUTH && b->topns == TOP_SASL &&
	    strcmp(b->top, "failure") == 0) {
		if (!b->have_cond)
			b->cond = XG_SF_NOT_AUTHORIZED;
		*success = 0;
		return BT_DECIDED;
	}
	snprintf(why, whysz, "backend sent unexpected <%s>", b->top);
	return -1;
}

size_t
backend_header(const char *domain, char *out, size_t outsz)
{
	int n;

	n = snprintf(out, outsz, "<?xml version='1.0'?><stream:stream "
	    "xmlns='" NS_CLIENT "' xmlns:stream='" NS_STREAMS "' to='%s' "
	    "version='1.0'>", domain);
	return n < 0 || (size_t)n >= outsz ? 0 : (size_t)n;
}

/* Our stream header to the backend; on a restart, a fresh parser too. */
static int
bheader(struct conn *bc, struct bstate *b, const char *domain,
    int64_t deadline)
{
	char out[256 + XG_DOMAIN_MAX];
	size_t n;

	memset(b, 0, sizeof(*b));
	if ((n = backend_header(domain, out, sizeof(out))) == 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return conn_write(bc, out, n, deadline);
}

/*
 * Is a connection that waited (the pre-open) still a stream waiting for
 * us, once its features are read?  Not when the backend closed it, or
 * said more (an idle stream's <stream:error/>, with the socket left open
 * for a while): then nothing more goes out on it, the login connects
 * afresh.  Plaintext only: the waiting is before any TLS.
 */
static int
stale(const struct conn *bc, const uint8_t *buf, size_t len)
{
	struct pollfd p = { bc->rfd, POLLIN | POLLRDHUP, 0 };

	if (bc->tls != NULL)
		return 0;
	if (len > 0 && !only_ws(buf, len))
		return 1;
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLRDHUP |
	    POLLHUP | POLLERR)) != 0;
}

/* More bytes from the backend after buf[0..*len); 0, or -1 with why set
 * ("during login" or "after the login" says when). */
static int
bfill(struct conn *bc, uint8_t *buf, size_t bufsz, size_t *len,
    int64_t deadline, const char *when, char *why, size_t whysz)
{
	ssize_t n;

	if (*len == bufsz) {
		snprintf(why, whysz, "backend token too long");
		errno = EMSGSIZE;
		return -1;
	}
	n = conn_read(bc, buf + *len, bufsz - *len, deadline);
	if (n == 0) {
		snprintf(why, whysz, "backend closed the connection %s", when);
		errno = EPIPE;
		return -1;
	}
	if (n == -1) {
		snprintf(why, whysz, "backend %s %s", errno == ETIMEDOUT ?
		    "timed out" : strerror(errno), when);
		return -1;
	}
	*len += (size_t)n;
	return 0;
}

int
backend_login(const struct netaddr *addr, const struct backend_opts *bo,
    const char *domain, const char *user, const char *pass,
    int64_t deadline, struct conn *bc, enum xg_sasl_failure *sf,
    int *unreachable, char *why, size_t whysz)
{
	static struct bstate b;
	static struct xml_token tok;
	uint8_t buf[XG_READ_BUF];
	char out[256 + XG_SASL_B64_MAX];
	char b64[XG_SASL_B64_MAX];
	size_t len = 0, used;
	int fd, rc, features_done = 0, success = 0;
	int broken = 0;		/* the connection failed, not the backend */
	enum xml_result r;

	*unreachable = 0;
	*sf = XG_SF_TEMPORARY_AUTH_FAILURE;
	memset(bc, 0, sizeof(*bc));
	bc->rfd = bc->wfd = -1;
	memset(&b, 0, sizeof(b));
	if (bo->prefd >= 0) {
		/* Opened while the client was still logging in with us
		 * (preopen.c): the connect may still be under way, and the
		 * backend's answer to what we sent waits in the socket. */
		bc->rfd = bc->wfd = bo->prefd;
		if ((rc = netaddr_connect_wait(bo->prefd, deadline)) != 1) {
			if (rc == 0)
				errno = ETIMEDOUT;
			snprintf(why, whysz, "connect to the backend: %s",
			    rc == 0 ? "timed out" : strerror(errno));
			*unreachable = 1;
			broken = rc == -1;
			goto fail;
		}
	} else {
		if ((fd = netaddr_connect(addr, deadline, why, whysz)) == -1) {
			*unreachable = 1;
			return -1;
		}
		bc->rfd = bc->wfd = fd;
	}
	/* The PROXY header comes before anything, TLS included. */
	if (bo->proxy_hdr != NULL && !bo->pre_proxy && conn_write(bc,
	    bo->proxy_hdr, bo->proxy_len, deadline) == -1)
		goto ioerr;
	if (bo->tls == XG_BTLS_DIRECT && tls_client_start(bc, bo->ca, domain,
	    XG_BACKEND_PRIORITY, deadline, why, whysz) == -1) {
		*unreachable = 1;
		goto fail;
	}
	if (!bo->pre_header && bheader(bc, &b, domain, deadline) == -1)
		goto ioerr;
	for (;;) {
		while (len > 0) {
			r = xml_lex(buf, len, &tok, &used);
			if (r == XML_MORE)
				break;
			if (r != XML_OK) {
				snprintf(why, whysz, "backend sent bad XML: %s",
				    xml_result_str(r));
				goto fail;
			}
			memmove(buf, buf + used, len - used);
			len -= used;
			rc = btoken(&b, &tok, &features_done, &success, why,
			    whysz);
			if (rc == -1)
				goto fail;
			if (rc == BT_PROCEED) {
				/* Nothing sent before the handshake counts;
				 * a newline after <proceed/> is dropped. */
				if (len > 0 && !only_ws(buf, len)) {
					snprintf(why, whysz, "backend sent "
					    "data after <proceed/>");
					goto fail;
				}
				len = 0;
				if (tls_client_start(bc, bo->ca, domain,
				    XG_BACKEND_PRIORITY, deadline, why,
				    whysz) == -1) {
					*unreachable = 1;
					goto fail;
				}
				features_done = 0;
				if (bheader(bc, &b, domain, deadline) == -1)
					goto ioerr;
				continue;
			}
			if (rc == BT_DECIDED) {
				if (!success) {
					*sf = b.cond;
					snprintf(why, whysz, "backend refused "
					    "the login: %s",
					    xg_sasl_failure_name(b.cond));
					goto fail;
				}
				if (len > 0 && !only_ws(buf, len)) {
					snprintf(why, whysz, "backend sent "
					    "data after <success/>");
					goto fail;
				}
				explicit_bzero(out, sizeof(out));
				return 0;
			}
			if (features_done && b.state == B_FEATURES &&
			    bo->prefd >= 0 && stale(bc, buf, len)) {
				snprintf(why, whysz, "backend closed or "
				    "ended the stream before the login");
				broken = 1;
				goto fail;
			}
			if (features_done && b.state == B_FEATURES &&
			    bo->tls == XG_BTLS_STARTTLS && bc->tls == NULL) {
				if (!b.starttls) {
					snprintf(why, whysz, "backend offers "
					    "no STARTTLS");
					*unreachable = 1;
					goto fail;
				}
				if (conn_write(bc, "<starttls xmlns='" NS_TLS
				    "'/>", sizeof("<starttls xmlns='" NS_TLS
				    "'/>") - 1, deadline) == -1)
					goto ioerr;
				b.state = B_TLS;
			} else if (features_done && b.state == B_FEATURES) {
				if (plain_encode(user, pass, b64,
				    sizeof(b64)) == -1) {
					snprintf(why, whysz, "backend "
					    "credentials too long");
					goto fail;
				}
				snprintf(out, sizeof(out), "<auth xmlns='"
				    NS_SASL "' mechanism='PLAIN'>%s</auth>",
				    b64);
				explicit_bzero(b64, sizeof(b64));
				b.state = B_AUTH;	/* from here, no retry */
				rc = conn_write(bc, out, strlen(out), deadline);
				explicit_bzero(out, sizeof(out));
				if (rc == -1)
					goto ioerr;
			}
		}
		if (bfill(bc, buf, sizeof(buf), &len, deadline, "during login",
		    why, whysz) == -1) {
			broken = errno != ETIMEDOUT && errno != EMSGSIZE;
			goto fail;
		}
	}
ioerr:
	broken = errno != ETIMEDOUT;
	snprintf(why, whysz, "backend %s during login", errno == ETIMEDOUT ?
	    "timed out" : strerror(errno));
fail:
	/* A pre-opened connection that broke before the credentials went
	 * out (refused, reset, closed: the backend restarted, or dropped an
	 * idle stream) costs the client nothing: the caller connects
	 * afresh.  Not after a timeout (the wait would double), nor after
	 * the backend's own errors (bad XML, TLS), which a new connection
	 * would meet again. */
	if (bo->prefd >= 0 && b.state != B_AUTH && broken)
		*unreachable = XG_BACKEND_PREOPEN_FAILED;
	explicit_bzero(out, sizeof(out));
	explicit_bzero(b64, sizeof(b64));
	backend_close(bc);
	return -1;
}

/* Where a restart's token goes (restart_token()). */
enum { RS_GO_ON, RS_DONE };

struct rstate {
	int	depth;			/* 1: at stream level */
	int	skip;			/* depth of a <starttls/> being left out */
	int	features;		/* inside <features> */
	size_t	out;			/* bytes in the caller's buffer */
};

/*
 * One token of the backend's restarted stream, after its header: the
 * features' children are copied as they came (raw bytes), except a
 * <starttls/> subtree.  RS_DONE after </features>, -1 on anything else.
 */
static int
restart_token(struct bstate *b, struct rstate *r, const struct xml_token *t,
    const uint8_t *raw, size_t rawlen, char *out, size_t outsz, char *why,
    size_t whysz)
{
	const char *uri, *local;
	struct xml_ns ns;
	int copy = r->features && r->skip == 0;

	switch (t->type) {
	case XML_TOK_DECL:
		snprintf(why, whysz, "backend sent a misplaced declaration");
		return -1;
	case XML_TOK_TEXT:
		break;
	case XML_TOK_START:
		ns = b->ns;
		if (xml_ns_push(&ns, t) < 0 ||
		    (uri = xml_ns_resolve(&ns, t->name, &local)) == NULL)
			uri = "", local = t->name;
		if (r->depth == 1) {
			if (strcmp(uri, NS_STREAMS) != 0 ||
			    strcmp(local, "features") != 0) {
				snprintf(why, whysz, "backend sent <%s> instead "
				    "of its features after the login", local);
				return -1;
			}
			if (t->empty)
				return RS_DONE;
			r->features = 1;
			r->depth = 2;
			return RS_GO_ON;
		}
		/* RFC 6120 5.3.1: TLS is up (with us); not again. */
		if (r->depth == 2 && strcmp(uri, NS_TLS) == 0 &&
		    strcmp(local, "starttls") == 0) {
			copy = 0;
			if (!t->empty)
				r->skip = r->depth;
		}
		if (!t->empty && ++r->depth > BACKEND_DEPTH_MAX) {
			snprintf(why, whysz, "backend XML too deep");
			return -1;
		}
		break;
	case XML_TOK_END:
		if (--r->depth <= 1) {
			if (r->depth == 1 && r->features)
				return RS_DONE;
			snprintf(why, whysz, "backend closed its stream");
			return -1;
		}
		if (r->skip == r->depth) {
			r->skip = 0;
			copy = 0;
		}
		break;
	}
	if (!copy)
		return RS_GO_ON;
	if (rawlen >= outsz - r->out) {
		snprintf(why, whysz, "backend features too long");
		return -1;
	}
	memcpy(out + r->out, raw, rawlen);
	r->out += rawlen;
	return RS_GO_ON;
}

int
backend_restart(struct conn *bc, const char *domain, int64_t deadline,
    char *out, size_t outsz, size_t *outlen, char *why, size_t whysz)
{
	static const char open[] = "<stream:features>";
	static const char close_tag[] = "</stream:features>";
	static struct bstate b;
	static struct xml_token tok;
	struct rstate r;
	uint8_t buf[XG_READ_BUF];
	size_t len = 0, used;
	int rc, features_done = 0, success = 0;
	enum xml_result xr;

	memset(&r, 0, sizeof(r));
	if (outsz < sizeof(open) + sizeof(close_tag)) {
		snprintf(why, whysz, "no room for the backend's features");
		return -1;
	}
	memcpy(out, open, sizeof(open) - 1);
	r.out = sizeof(open) - 1;
	outsz -= sizeof(close_tag);	/* kept for the end tag and NUL */
	if (bheader(bc, &b, domain, deadline) == -1)
		goto ioerr;
	for (;;) {
		while (len > 0) {
			xr = xml_lex(buf, len, &tok, &used);
			if (xr == XML_MORE)
				break;
			if (xr != XML_OK) {
				snprintf(why, whysz, "backend sent bad XML: %s",
				    xml_result_str(xr));
				return -1;
			}
			if (b.state == B_HEADER) {
				if (btoken(&b, &tok, &features_done, &success,
				    why, whysz) == -1)
					return -1;
				if (b.state != B_HEADER)
					r.depth = 1;
				rc = RS_GO_ON;
			} else
				rc = restart_token(&b, &r, &tok, buf, used, out,
				    outsz, why, whysz);
			memmove(buf, buf + used, len - used);
			len -= used;
			if (rc == -1)
				return -1;
			if (rc == RS_DONE) {
				if (len > 0 && !only_ws(buf, len)) {
					snprintf(why, whysz, "backend sent "
					    "data after its features");
					return -1;
				}
				memcpy(out + r.out, close_tag, sizeof(close_tag));
				*outlen = r.out + sizeof(close_tag) - 1;
				return 0;
			}
		}
		if (bfill(bc, buf, sizeof(buf), &len, deadline,
		    "after the login", why, whysz) == -1)
			return -1;
	}
ioerr:
	snprintf(why, whysz, "backend %s after the login", errno == ETIMEDOUT ?
	    "timed out" : strerror(errno));
	return -1;
}

void
backend_close(struct conn *bc)
{
	if (bc->tls != NULL)
		gnutls_deinit(bc->tls);
	if (bc->tls_cred != NULL)
		gnutls_certificate_free_credentials(bc->tls_cred);
	if (bc->rfd >= 0)
		close(bc->rfd);
	bc->tls = NULL;
	bc->tls_cred = NULL;
	bc->rfd = bc->wfd = -1;
}

/* An attribute into out, or "" (truncated set when it does not fit). */
static void
battr(const struct xml_token *t, const char *name, char *out, size_t outsz,
    int *truncated)
{
	size_t n;
	const char *v = xml_attr_get(t, name, &n);

	out[0] = '\0';
	if (v == NULL)
		return;
	if (n >= outsz) {
		*truncated = 1;
		return;
	}
	memcpy(out, v, n + 1);
}

int
backend_element(struct conn *bc, int64_t deadline, uint8_t *buf,
    size_t bufsz, size_t *len, struct belem *e, char *why, size_t whysz)
{
	static struct xml_token tok;
	static struct xml_ns ns;
	const char *uri, *local;
	enum xml_result xr;
	size_t used, n;
	int depth = 0, text_at = -1;

	memset(e, 0, sizeof(*e));
	for (;;) {
		while (*len > 0) {
			xr = xml_lex(buf, *len, &tok, &used);
			if (xr == XML_MORE)
				break;
			if (xr != XML_OK) {
				snprintf(why, whysz, "backend sent bad XML: %s",
				    xml_result_str(xr));
				return -1;
			}
			memmove(buf, buf + used, *len - used);
			*len -= used;
			switch (tok.type) {
			case XML_TOK_DECL:
				snprintf(why, whysz, "backend sent a misplaced "
				    "declaration");
				return -1;
			case XML_TOK_TEXT:
				if (depth == 0 && !tok.text_ws) {
					snprintf(why, whysz, "backend sent text "
					    "at stream level");
					return -1;
				}
				if (depth == text_at) {
					n = strlen(e->text);
					if (n + tok.text_len >= sizeof(e->text))
						e->truncated = 1;
					else
						memcpy(e->text + n, tok.text,
						    tok.text_len + 1);
				}
				continue;
			case XML_TOK_END:
				if (depth == 0) {
					snprintf(why, whysz, "backend closed its "
					    "stream");
					return -1;
				}
				if (--depth == 0)
					return 0;
				if (depth < text_at)
					text_at = -2;	/* the first only */
				continue;
			case XML_TOK_START:
				break;
			}
			if (depth >= BACKEND_DEPTH_MAX) {
				snprintf(why, whysz, "backend XML too deep");
				return -1;
			}
			/* Only the element's own namespace matters (with no
			 * xmlns of its own, the stream's: jabber:client, as
			 * backend_header() declared it); below it, local
			 * names. */
			uri = NULL;
			if (depth == 0) {
				memset(&ns, 0, sizeof(ns));
				if (xml_ns_push(&ns, &tok) == 0)
					uri = xml_ns_resolve(&ns, tok.name,
					    &local);
			}
			if (uri == NULL) {
				local = strchr(tok.name, ':') ? strchr(tok.name,
				    ':') + 1 : tok.name;
				uri = depth == 0 && local == tok.name ?
				    NS_CLIENT : "";
			}
			if (depth == 0) {
				if (strlen(uri) < sizeof(e->ns))
					strcpy(e->ns, uri);
				snprintf(e->name, sizeof(e->name), "%s", local);
				battr(&tok, "type", e->type, sizeof(e->type),
				    &e->truncated);
				battr(&tok, "h", e->h, sizeof(e->h),
				    &e->truncated);
				battr(&tok, "max", e->max, sizeof(e->max),
				    &e->truncated);
				battr(&tok, "resume", e->resume,
				    sizeof(e->resume), &e->truncated);
				battr(&tok, "previd", e->previd,
				    sizeof(e->previd), &e->truncated);
				/* <enabled>'s id is an SM id, an iq's ours */
				if (strcmp(uri, NS_SM) == 0)
					battr(&tok, "id", e->smid,
					    sizeof(e->smid), &e->truncated);
				else
					battr(&tok, "id", e->id, sizeof(e->id),
					    &e->truncated);
			} else if (depth == 1 && e->child[0] == '\0')
				snprintf(e->child, sizeof(e->child), "%s",
				    local);
			else if (depth == 2 && text_at == -1)
				text_at = 3;
			if (tok.empty) {
				if (depth == 0)
					return 0;
				if (text_at == 3 && depth == 2)
					text_at = -2;
				continue;
			}
			depth++;
		}
		if (bfill(bc, buf, bufsz, len, deadline, "after the login",
		    why, whysz) == -1)
			return -1;
	}
}
