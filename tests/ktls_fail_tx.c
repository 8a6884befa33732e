/*
 * ktls_fail_tx: run a program (xmppgate) whose setsockopt(SOL_TLS,
 * TLS_TX, ...) fails with ENOMEM, for tests/t-ktls-uml.sh: the kernel
 * then has the receive side of a session and not the send side, the
 * state ktls_move() must end the session in (see src/ktls.c).
 *
 *   ktls_fail_tx PROGRAM [ARGS...]
 *
 * A seccomp filter, inherited by PROGRAM's children, makes just that call
 * fail; everything else is allowed.  Exits 111 when the filter cannot be
 * installed or PROGRAM not run.
 */
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/tls.h>

#ifndef SOL_TLS
#define SOL_TLS	282
#endif

#define LD(f)	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, \
		    offsetof(struct seccomp_data, f))

int
main(int argc, char **argv)
{
	struct sock_filter f[] = {
		LD(arch),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		LD(nr),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_setsockopt, 0, 5),
		LD(args[1]),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOL_TLS, 0, 3),
		LD(args[2]),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TLS_TX, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOMEM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (argc < 2) {
		fprintf(stderr, "usage: ktls_fail_tx PROGRAM [ARGS...]\n");
		return 100;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1) {
		perror("ktls_fail_tx: fatal: unable to install the filter");
		return 111;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "ktls_fail_tx: fatal: unable to run %s: ", argv[1]);
	perror(NULL);
	return 111;
}
