/* SPDX-License-Identifier: MIT */
/* The four rseq critical sections on a per-CPU slot (x86-64 only). See README.md, "Why a
 * migration cannot corrupt a slot".
 *
 * Shape of every section (librseq's and tcmalloc's pattern):
 *   - the caller read cpu = rseq->cpu_id_start and chose slot = &slots[cpu];
 *   - store the descriptor's address into rseq->rseq_cs: from now on, if the kernel preempts,
 *     migrates or signals this thread while its instruction pointer is in [1, 2), it resumes at
 *     4 (the abort handler, after the RSEQ_SIG word the kernel checks) instead;
 *   - 1: check rseq->cpu_id == cpu (we may have migrated between the C read and here), check
 *     slot->lock == 0 (trim/free owns the slot otherwise), check n;
 *   - prepare: loads, and stores only above n (invisible: not part of the slot's contents);
 *   - commit: ONE store to slot->n, the last instruction before 2.
 * Return: GOLF__RSEQ_OK (committed), GOLF__RSEQ_FAIL (lock set, slot empty/full: nothing done),
 * GOLF__RSEQ_ABORT (interrupted: nothing done; re-read the CPU and retry).
 *
 * Ordering: the asm loads and stores are plain x86 movs. x86 is TSO: loads are not reordered
 * with older loads and stores not with older stores, so a plain load is an acquire load and a
 * plain store a release store in the hardware model; the "memory" clobber keeps the compiler
 * from moving C accesses across the section. That is what [P1] (see README.md) relies on. */
#ifndef GOLF_POOL_RSEQ_H
#define GOLF_POOL_RSEQ_H

#include "pool_struct.h"

#if GOLF__HAVE_RSEQ

enum { GOLF__RSEQ_OK = 0, GOLF__RSEQ_FAIL = 1, GOLF__RSEQ_ABORT = 2 };

/* The critical-section descriptor (struct rseq_cs: version, flags, start_ip,
 * post_commit_offset, abort_ip), 32-byte aligned in its own section, then arming it, then the
 * CPU check and the lock check.
 * [P1] acquire: the lock load `cmpq $0, (s)` (an x86 TSO load, so an acquire) and the later load
 * of n see trim's n = 0 once they see lock == 0; pairs with [P1] release in slots_drain()
 * (pool.c). */
#define GOLF__RSEQ_ENTER                                                                           \
    ".pushsection __rseq_cs, \"aw\"\n\t"                                                           \
    ".balign 32\n\t"                                                                               \
    "3:\n\t"                                                                                       \
    ".long 0x0, 0x0\n\t"                                                                           \
    ".quad 1f, (2f - 1f), 4f\n\t"                                                                  \
    ".popsection\n\t"                                                                              \
    "leaq 3b(%%rip), %[t]\n\t"                                                                     \
    "movq %[t], %c[cs_off](%[rs])\n\t"                                                             \
    "1:\n\t"                                                                                       \
    "cmpl %[cpu], %c[id_off](%[rs])\n\t"                                                           \
    "jnz 4f\n\t"                                                                                   \
    "cmpq $0, (%[s])\n\t"                                                                          \
    "jnz 5f\n\t"

/* After the commit: status, the fail exit, the signature and the abort handler. */
#define GOLF__RSEQ_LEAVE                                                                           \
    "2:\n\t"                                                                                       \
    "xorl %[st], %[st]\n\t"                                                                        \
    "jmp 6f\n\t"                                                                                   \
    "5:\n\t"                                                                                       \
    "movl $1, %[st]\n\t"                                                                           \
    "jmp 6f\n\t"                                                                                   \
    ".long %c[sig]\n\t"                                                                            \
    "4:\n\t"                                                                                       \
    "movl $2, %[st]\n\t"                                                                           \
    "6:\n\t"

#define GOLF__RSEQ_INPUTS                                                                          \
    [rs] "r"(rs), [s] "r"(s), [cpu] "r"(cpu), [sig] "n"(RSEQ_SIG),                                 \
        [cs_off] "n"(offsetof(struct rseq, rseq_cs)), [id_off] "n"(offsetof(struct rseq, cpu_id)), \
        [cap] "n"(GOLF__POOL_SLOT_CAP)

/* Pops objs[n-1] into *out. FAIL when the slot is empty or locked. */
static inline int
golf__rseq_pop(struct rseq *rs, golf__pool_slot *s, uint32_t cpu, void **out)
{
    uint64_t n, t;
    void *obj;
    int st;
    __asm__ __volatile__(GOLF__RSEQ_ENTER
                         "movq 8(%[s]), %[n]\n\t"
                         "leaq -1(%[n]), %[t]\n\t"
                         "cmpq %[cap], %[t]\n\t" /* n == 0 wraps to huge: unsigned >= cap */
                         "jae 5f\n\t"
                         "movq 8(%[s],%[n],8), %[obj]\n\t" /* objs[n-1] is at 16 + 8(n-1) */
                         "movq %[t], 8(%[s])\n\t"          /* commit: n = n - 1 */
                         GOLF__RSEQ_LEAVE
                         : [n] "=&r"(n), [t] "=&r"(t), [obj] "=&r"(obj), [st] "=&r"(st)
                         : GOLF__RSEQ_INPUTS
                         : "memory", "cc");
    *out = obj;
    return st;
}

/* Pushes obj at objs[n]. FAIL when the slot is full or locked. */
static inline int
golf__rseq_push(struct rseq *rs, golf__pool_slot *s, uint32_t cpu, void *obj)
{
    uint64_t n, t;
    int st;
    __asm__ __volatile__(GOLF__RSEQ_ENTER
                         "movq 8(%[s]), %[n]\n\t"
                         "cmpq %[cap], %[n]\n\t"
                         "jae 5f\n\t"
                         "movq %[obj], 16(%[s],%[n],8)\n\t" /* above n: invisible until commit */
                         "leaq 1(%[n]), %[n]\n\t"
                         "movq %[n], 8(%[s])\n\t" /* commit: n = n + 1 */
                         GOLF__RSEQ_LEAVE
                         : [n] "=&r"(n), [t] "=&r"(t), [st] "=&r"(st)
                         : GOLF__RSEQ_INPUTS, [obj] "r"(obj)
                         : "memory", "cc");
    return st;
}

/* Moves the top cnt (>= 1) objects into dst[0..cnt). FAIL when n < cnt or locked. dst is the
 * caller's private memory, so an aborted copy there is harmless. */
static inline int
golf__rseq_take(struct rseq *rs, golf__pool_slot *s, uint32_t cpu, void **dst, uint64_t cnt)
{
    uint64_t n, t, i, x;
    int st;
    __asm__ __volatile__(GOLF__RSEQ_ENTER
                         "movq 8(%[s]), %[n]\n\t"
                         "cmpq %[cnt], %[n]\n\t"
                         "jb 5f\n\t"
                         "movq %[n], %[t]\n\t"
                         "subq %[cnt], %[t]\n\t" /* t = first index moved = new n */
                         "xorl %k[i], %k[i]\n\t"
                         "7:\n\t"
                         "movq 16(%[s],%[t],8), %[x]\n\t"
                         "movq %[x], (%[dst],%[i],8)\n\t"
                         "incq %[t]\n\t"
                         "incq %[i]\n\t"
                         "cmpq %[cnt], %[i]\n\t"
                         "jb 7b\n\t"
                         "subq %[cnt], %[n]\n\t"
                         "movq %[n], 8(%[s])\n\t" /* commit: n = n - cnt */
                         GOLF__RSEQ_LEAVE
                         : [n] "=&r"(n), [t] "=&r"(t), [i] "=&r"(i), [x] "=&r"(x), [st] "=&r"(st)
                         : GOLF__RSEQ_INPUTS, [dst] "r"(dst), [cnt] "r"(cnt)
                         : "memory", "cc");
    return st;
}

/* Appends src[0..cnt) (cnt >= 1) at objs[n..n+cnt). FAIL when they do not fit or locked. */
static inline int
golf__rseq_give(struct rseq *rs, golf__pool_slot *s, uint32_t cpu, void *const *src, uint64_t cnt)
{
    uint64_t n, t, i, x;
    int st;
    __asm__ __volatile__(GOLF__RSEQ_ENTER
                         "movq 8(%[s]), %[n]\n\t"
                         "leaq (%[n],%[cnt]), %[t]\n\t"
                         "cmpq %[cap], %[t]\n\t"
                         "ja 5f\n\t"
                         "xorl %k[i], %k[i]\n\t"
                         "7:\n\t"
                         "movq (%[src],%[i],8), %[x]\n\t"
                         "movq %[x], 16(%[s],%[n],8)\n\t" /* above the committed n */
                         "incq %[n]\n\t"
                         "incq %[i]\n\t"
                         "cmpq %[cnt], %[i]\n\t"
                         "jb 7b\n\t"
                         "movq %[n], 8(%[s])\n\t" /* commit: n = n + cnt */
                         GOLF__RSEQ_LEAVE
                         : [n] "=&r"(n), [t] "=&r"(t), [i] "=&r"(i), [x] "=&r"(x), [st] "=&r"(st)
                         : GOLF__RSEQ_INPUTS, [src] "r"(src), [cnt] "r"(cnt)
                         : "memory", "cc");
    return st;
}

#endif /* GOLF__HAVE_RSEQ */
#endif
