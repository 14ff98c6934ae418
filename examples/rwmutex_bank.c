/* SPDX-License-Identifier: MIT */
/* A read-mostly table behind a golf_rwmutex (Go's sync.RWMutex): auditors read every balance of
 * a small bank at once, often; tellers move money between accounts now and then. Readers share
 * the lock, so audits run in parallel; a transfer takes it alone, so no audit ever sees money
 * that has left one account and not yet reached the other:
 *
 *     var mu sync.RWMutex
 *     mu.RLock(); for _, b := range balances { sum += b }; mu.RUnlock() // auditors
 *     mu.Lock(); balances[from] -= amt; balances[to] += amt; mu.Unlock() // tellers
 *
 * A waiting writer keeps new readers out, so tellers are never starved by a stream of audits. */
#include <stdio.h>

#include "golf/golf.h"

enum { ACCOUNTS = 16, START = 1000, AUDITORS = 3, AUDITS = 20000, TELLERS = 2, TRANSFERS = 5000 };

typedef struct {
    golf_rwmutex mu; /* zero value: unlocked */
    long balance[ACCOUNTS];
} bank;

typedef struct {
    bank *b;
    int id;
    long bad; /* auditor: audits whose total was not ACCOUNTS * START */
} actor;

static void
auditor(void *p)
{
    actor *a = p;
    for (int i = 0; i < AUDITS; i++) {
        long total = 0;
        golf_rwmutex_rlock(&a->b->mu);
        for (int k = 0; k < ACCOUNTS; k++)
            total += a->b->balance[k];
        golf_rwmutex_runlock(&a->b->mu);
        a->bad += total != (long)ACCOUNTS * START;
    }
}

static void
teller(void *p)
{
    actor *t = p;
    unsigned x = 12345u + (unsigned)t->id; /* a small PRNG: which accounts, how much */
    for (int i = 0; i < TRANSFERS; i++) {
        x = x * 1103515245u + 12345u;
        int from = (x >> 8) % ACCOUNTS, to = (x >> 16) % ACCOUNTS;
        long amount = 1 + (x >> 24) % 50;
        golf_rwmutex_lock(&t->b->mu);
        if (t->b->balance[from] >= amount) { /* money leaves one account, reaches the other */
            t->b->balance[from] -= amount;
            t->b->balance[to] += amount;
        }
        golf_rwmutex_unlock(&t->b->mu);
    }
}

int
main(void)
{
    static bank b; /* static: zeroed, so b.mu is ready */
    for (int k = 0; k < ACCOUNTS; k++)
        b.balance[k] = START;

    golf_waitgroup wg = {0};
    actor auditors[AUDITORS], tellers[TELLERS];
    for (int i = 0; i < AUDITORS; i++) {
        auditors[i] = (actor){.b = &b, .id = i};
        golf_waitgroup_go(&wg, auditor, &auditors[i]);
    }
    for (int i = 0; i < TELLERS; i++) {
        tellers[i] = (actor){.b = &b, .id = i};
        golf_waitgroup_go(&wg, teller, &tellers[i]);
    }
    golf_waitgroup_wait(&wg);

    long bad = 0, total = 0;
    for (int i = 0; i < AUDITORS; i++)
        bad += auditors[i].bad;
    for (int k = 0; k < ACCOUNTS; k++)
        total += b.balance[k];
    printf("%d audits, %ld saw a wrong total; final total %ld (expected %d)\n", AUDITORS * AUDITS,
           bad, total, ACCOUNTS * START);
    return bad == 0 && total == (long)ACCOUNTS * START ? 0 : 1;
}
