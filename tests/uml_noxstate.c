/*
 * uml_noxstate: run a program (linux.uml) where ptrace(PTRACE_GETREGSET,
 * ..., NT_X86_XSTATE) fails, for tests/uml.sh.
 *
 *   uml_noxstate PROGRAM [ARGS...]
 *
 * Debian 12's user-mode Linux (6.1) saves its processes' FPU state with
 * PTRACE_GETREGSET NT_X86_XSTATE in a buffer of a fixed size; on a host
 * whose XSAVE area is larger (AMX), setting it back fails with EFAULT and
 * UML panics at its first process ("ptrace set fp regs failed, errno =
 * 14").  When the first GETREGSET fails, UML uses PTRACE_GETFPREGS (the
 * FXSAVE area) instead, which fits.  That area holds no AVX state, so the
 * runner also tells glibc, GnuTLS and OpenSSL inside not to use AVX.
 *
 * A seccomp filter (inherited by every host process UML starts) makes
 * just that call fail with EIO; everything else is allowed.  Exits 111
 * when the filter cannot be installed or PROGRAM not run.
 */
#include <stddef.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

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
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ptrace, 0, 5),
		LD(args[0]),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PTRACE_GETREGSET, 0, 3),
		LD(args[2]),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NT_X86_XSTATE, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EIO),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (argc < 2) {
		fprintf(stderr, "usage: uml_noxstate PROGRAM [ARGS...]\n");
		return 100;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1) {
		perror("uml_noxstate: fatal: unable to install the filter");
		return 111;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "uml_noxstate: fatal: unable to run %s: ", argv[1]);
	perror(NULL);
	return 111;
}
