/* SPDX-License-Identifier: MIT */
/* Finding a lock-order inversion before it deadlocks: GOLF_LOCKORDER=1 (or =warn) records, for
 * every golf mutex and RWMutex acquired while another is held, the edge "held -> acquired" and
 * the call stack that formed it. An edge that closes a cycle means two threads can each hold one
 * lock of the cycle and wait for the next: a deadlock waiting for the wrong timing. It is
 * reported even though this run did not deadlock; =1 aborts, =warn prints each cycle once and
 * goes on.
 *
 * The bug, the classic one: a transfer locks the source account, then the destination.
 *
 *     func transfer(from, to *Account, amount int) {
 *         from.mu.Lock(); defer from.mu.Unlock()
 *         to.mu.Lock();   defer to.mu.Unlock()
 *         ...
 *     }
 *
 * transfer(a, b) and transfer(b, a) at the same moment deadlock. Here they run one after the
 * other, so the program always finishes, and only the lock-order check can tell. The fix (lock
 * the two accounts in one global order, by address or by id) is shown too: it reports nothing.
 * This program runs itself with GOLF_LOCKORDER=warn, shows the report and checks it. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "golf/golf.h"

typedef struct account {
    golf_mutex mu;
    long balance;
} account;

/* Not static, so that the stacks in the report name it (examples link with -rdynamic). */
void transfer(account *from, account *to, long amount);
void transfer_ordered(account *from, account *to, long amount);

void
transfer(account *from, account *to, long amount)
{
    golf_mutex_lock(&from->mu);
    golf_mutex_lock(&to->mu); /* the order depends on the arguments: the bug */
    from->balance -= amount;
    to->balance += amount;
    golf_mutex_unlock(&to->mu);
    golf_mutex_unlock(&from->mu);
}

void
transfer_ordered(account *from, account *to, long amount)
{
    account *first = from < to ? from : to, *second = from < to ? to : from;
    golf_mutex_lock(&first->mu);
    golf_mutex_lock(&second->mu);
    from->balance -= amount;
    to->balance += amount;
    golf_mutex_unlock(&second->mu);
    golf_mutex_unlock(&first->mu);
}

static int
child(const char *which)
{
    static account a = {.balance = 100}, b = {.balance = 100};
    fprintf(stderr, "accounts: a=%p b=%p\n", (void *)&a, (void *)&b);
    if (strcmp(which, "buggy") == 0) {
        transfer(&a, &b, 10);
        transfer(&b, &a, 5);
    } else {
        transfer_ordered(&a, &b, 10);
        transfer_ordered(&b, &a, 5);
    }
    fprintf(stderr, "balances: a=%ld b=%ld\n", a.balance, b.balance);
    return a.balance == 95 && b.balance == 105 ? 0 : 1;
}

/* Runs this program again with GOLF_LOCKORDER=warn; returns what it wrote on stderr. */
static const char *
run_child(const char *which, int *status)
{
    static char out[16384];
    int fds[2];
    if (pipe(fds) != 0)
        return NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        setenv("GOLF_LOCKORDER", "warn", 1);
        execl("/proc/self/exe", "lock_order", which, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n < sizeof out - 1 && (r = read(fds[0], out + n, sizeof out - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(fds[0]);
    waitpid(pid, status, 0);
    return out;
}

int
main(int argc, char **argv)
{
    if (argc > 1)
        return child(argv[1]);
    int status;
    const char *out = run_child("buggy", &status);
    if (!out)
        return 1;
    printf("transfer(a, b) then transfer(b, a), with GOLF_LOCKORDER=warn:\n%s\n", out);
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
              strstr(out, "golf: potential deadlock: lock order inversion\n") &&
              strstr(out, " while holding sync.Mutex ") && strstr(out, "(transfer+");
    out = run_child("ordered", &status);
    if (!out)
        return 1;
    printf("the same with the locks taken in address order:\n%s\n", out);
    ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0 && !strstr(out, "golf:");
    printf("%s\n", ok ? "as expected: the inversion was found, the fix is clean" : "UNEXPECTED");
    return ok ? 0 : 1;
}
