/* SPDX-License-Identifier: MIT */
/* Regression: the kernel cannot allocate for membarrier's all-CPU commands.
 *
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) and (..._RSEQ) allocate a CPU mask in the kernel
 * and fail with ENOMEM when they cannot. golf issues the _RSEQ one on a pool trim (the fence
 * that aborts every rseq section); before the fix its failure was fatal ("golf: membarrier(...)
 * failed"). Channels used to issue the other on their park path; they issue none now, and the
 * channel part of this test checks that a filter failing both changes nothing for them. A seccomp
 * filter plays the kernel out of memory: those two commands, in their all-CPU form (flags 0),
 * return ENOMEM; every other command works. golf must fall back to commands that allocate nothing
 * and go on. (liburcu's grace period issues the same command and aborts on its failure: no map
 * here; docs/DEVIATIONS.md.) x86-64 only (the filter checks the syscall ABI). */
#include <errno.h>
#include <linux/filter.h>
#include <linux/membarrier.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "golf/chan.h"
#include "golf/pool.h"
#include "regress/regress.h"

#if defined(__x86_64__)
#include <linux/audit.h>

static void
fail_all_cpu_membarrier(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_membarrier, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* cmd: args[0], low half (little-endian) */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* flags: args[1]; 0 is the all-CPU form */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOMEM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    REGRESS_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "no_new_privs");
    REGRESS_CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0, "seccomp: errno %d",
                  errno);
    REGRESS_CHECK(syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == -1 &&
                      errno == ENOMEM,
                  "the filter does not fail membarrier");
}

int
main(void)
{
    regress_watchdog(60);
    /* Registered before the filter, as in a process that later runs out of kernel memory. */
    golf_chan *ch = golf_chan_new(sizeof(long), 4);
    golf_pool *p = golf_pool_new(NULL);
    REGRESS_CHECK(ch && p, "new");
    fail_all_cpu_membarrier();

    /* A receive that parks: the slow side of the channel's fence. */
    long v = 0;
    REGRESS_CHECK(golf_chan_recv_timeout(ch, &v, 2000000) == GOLF_ETIMEDOUT, "recv_timeout");
    v = 7;
    REGRESS_CHECK(golf_chan_send(ch, &v) == GOLF_OK, "send");
    v = 0;
    REGRESS_CHECK(golf_chan_recv(ch, &v) == GOLF_OK && v == 7, "recv");

    /* A trim: the fence that aborts every rseq section of the per-CPU front end. */
    for (int i = 0; i < 100; i++)
        golf_pool_put(p, malloc(16));
    golf_pool_trim(p);
    golf_pool_trim(p);
    golf_pool_free(p);
    golf_chan_free(ch);
    printf("membarrier_nomem: the channel and the pool go on without membarrier's all-CPU "
           "commands\n");
    return 0;
}

#else

int
main(void)
{
    printf("membarrier_nomem: x86-64 only, skipped\n");
    return 0;
}

#endif
