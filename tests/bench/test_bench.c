/* SPDX-License-Identifier: MIT */
/* golf-bench's statistics (bench/stats.c) on known data: medians of odd and even counts, the
 * bootstrap interval of a ratio of medians, the verdict on a target. Then, given the
 * golf-bench binary, its command line: every bad value, unknown name or unwritable output
 * exits 2 with a message and before anything runs (nothing on stdout).
 * Usage: test_bench [GOLF_BENCH]; exit 0 when every check passes. */
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stats.h"

static int checks, failed;

static void
check(int ok, const char *fmt, ...)
{
    checks++;
    if (ok)
        return;
    failed++;
    va_list ap;
    va_start(ap, fmt);
    fputs("FAILED: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int
near(double x, double want)
{
    return fabs(x - want) <= 1e-9 * (fabs(want) > 1 ? fabs(want) : 1);
}

static void
test_median(void)
{
    const double one[] = {5}, two[] = {2, 1}, three[] = {3, 1, 2}, four[] = {4, 1, 3, 2},
                 six[] = {10, 60, 20, 50, 30, 40};
    check(near(gb_median(one, 1), 5), "median of {5}: %g", gb_median(one, 1));
    check(near(gb_median(two, 2), 1.5), "median of {2,1}: %g", gb_median(two, 2));
    check(near(gb_median(three, 3), 2), "median of {3,1,2}: %g", gb_median(three, 3));
    check(near(gb_median(four, 4), 2.5), "median of {4,1,3,2}: %g", gb_median(four, 4));
    check(near(gb_median(six, 6), 35), "median of six: %g", gb_median(six, 6));
    check(four[0] == 4 && four[3] == 2, "gb_median changed its input");
}

static void
test_quantile(void)
{
    const double v[] = {1, 2, 3, 4, 5};
    check(near(gb_quantile(v, 5, 0), 1), "q0");
    check(near(gb_quantile(v, 5, 1), 5), "q1");
    check(near(gb_quantile(v, 5, 0.5), 3), "q0.5");
    check(near(gb_quantile(v, 5, 0.125), 1.5), "q0.125: %g", gb_quantile(v, 5, 0.125));
}

static void
test_shuffle(void)
{
    /* A permutation, the same one for the same seed, and every position reached. */
    int seen[5][5] = {{0}};
    for (uint64_t seed = 1; seed <= 500; seed++) {
        int a[5] = {0, 1, 2, 3, 4}, b[5] = {0, 1, 2, 3, 4}, count[5] = {0};
        uint64_t s1 = seed, s2 = seed;
        gb_shuffle(a, 5, &s1);
        gb_shuffle(b, 5, &s2);
        check(memcmp(a, b, sizeof a) == 0, "shuffle not repeatable for seed %llu",
              (unsigned long long)seed);
        for (int i = 0; i < 5; i++) {
            count[a[i]]++;
            seen[i][a[i]]++;
        }
        for (int i = 0; i < 5; i++)
            check(count[i] == 1, "shuffle lost or doubled %d", i);
    }
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 5; k++)
            check(seen[i][k] > 50, "shuffle: %d never (or rarely: %d) at position %d", k,
                  seen[i][k], i);
}

static void
test_ratio_ci(void)
{
    gb_interval ci;
    /* No spread: the interval is the point. */
    const double ten[] = {10, 10, 10, 10, 10}, five[] = {5, 5, 5, 5, 5};
    check(gb_ratio_ci(ten, 5, five, 5, 2000, 0.95, 1, &ci), "ci of constants");
    check(near(ci.lo, 2) && near(ci.hi, 2), "ci of 10/5: [%g, %g]", ci.lo, ci.hi);

    /* a = {1..5}, b = {1, 1}: the resampled median of a is 1 with probability 0.058 (at least 3
     * of 5 draws are the 1) and 5 likewise, so the 2.5 % and 97.5 % quantiles are 1 and 5. */
    const double ramp[] = {1, 2, 3, 4, 5}, unit[] = {1, 1};
    check(gb_ratio_ci(ramp, 5, unit, 2, 2000, 0.95, 7, &ci), "ci of ramp");
    check(near(ci.lo, 1) && near(ci.hi, 5), "ci of {1..5}/{1,1}: [%g, %g], want [1, 5]", ci.lo,
          ci.hi);
    /* ... and {1,1}/{1..5} is its reciprocal. */
    check(gb_ratio_ci(unit, 2, ramp, 5, 2000, 0.95, 7, &ci), "ci of 1/ramp");
    check(near(ci.lo, 0.2) && near(ci.hi, 1), "ci of {1,1}/{1..5}: [%g, %g], want [0.2, 1]", ci.lo,
          ci.hi);

    /* Two rounds each: a resampled median is the low value with probability 1/4, the mean
     * with 1/2, the high value with 1/4; so the ratio is 100/60 with probability 1/16 (over
     * 2.5 %), and 120/50 likewise: the interval is [100/60, 120/50]. */
    const double g[] = {100, 120}, p[] = {50, 60};
    check(gb_ratio_ci(g, 2, p, 2, 2000, 0.95, 3, &ci), "ci of two rounds");
    check(near(ci.lo, 100.0 / 60) && near(ci.hi, 120.0 / 50),
          "ci of {100,120}/{50,60}: [%g, %g], want [1.667, 2.4]", ci.lo, ci.hi);

    /* Tight data: a narrow interval around the ratio of medians (2.0). */
    const double tg[] = {200, 202, 198, 201, 199}, tp[] = {100, 101, 99, 100.5, 99.5};
    check(gb_ratio_ci(tg, 5, tp, 5, 2000, 0.95, 5, &ci), "ci of tight data");
    check(ci.lo <= 2 && ci.hi >= 2 && ci.lo > 1.95 && ci.hi < 2.05, "ci of tight data: [%g, %g]",
          ci.lo, ci.hi);

    /* The same data and seed give the same interval. */
    gb_interval again;
    gb_ratio_ci(tg, 5, tp, 5, 2000, 0.95, 5, &again);
    check(again.lo == ci.lo && again.hi == ci.hi, "ci not repeatable");

    /* Nothing to resample, or a value that is no rate. */
    const double bad[] = {1, 0};
    check(!gb_ratio_ci(ten, 0, five, 5, 2000, 0.95, 1, &ci), "ci of nothing");
    check(!gb_ratio_ci(ten, 1, five, 5, 2000, 0.95, 1, &ci), "ci of one round");
    check(!gb_ratio_ci(bad, 2, five, 5, 2000, 0.95, 1, &ci), "ci with a 0");
}

static void
test_verdict(void)
{
    check(gb_verdict_of((gb_interval){1.6, 2.0}, 1.5) == GB_MET, "met");
    check(gb_verdict_of((gb_interval){1.5, 2.0}, 1.5) == GB_MET, "met at the bound");
    check(gb_verdict_of((gb_interval){1.3, 1.4}, 1.5) == GB_MISSED, "missed");
    check(gb_verdict_of((gb_interval){1.4, 1.6}, 1.5) == GB_WITHIN_NOISE, "within noise");
    check(gb_verdict_of((gb_interval){NAN, NAN}, 1.5) == GB_VERDICT_NONE, "no interval");
    check(strcmp(gb_verdict_name(GB_WITHIN_NOISE), "within noise") == 0, "verdict name");
}

/* ---- golf-bench itself ---- */

static const char *bench; /* the binary */
static char dir[] = "/tmp/test_bench-XXXXXX";
static char out_path[64], err_path[64];

/* The whole of a file (at most 64 KiB), "" when it cannot be read; valid until the fourth
 * call after. */
static const char *
slurp(const char *path)
{
    static char bufs[4][65536];
    static int next;
    char *buf = bufs[next++ % 4];
    buf[0] = 0;
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(buf, 1, sizeof bufs[0] - 1, f);
        buf[n] = 0;
        fclose(f);
    }
    return buf;
}

/* Runs golf-bench with args (NULL-terminated) and, when path_env is not NULL, PATH=path_env;
 * stdout and stderr go to out_path and err_path. Returns the exit status, -1 when it did not
 * exit normally. */
static int
run(const char *path_env, const char *const *args)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)bench;
    for (; *args && n < 31; args++)
        argv[n++] = (char *)*args;
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0)
            _exit(126);
        dup2(o, 1);
        dup2(e, 2);
        if (path_env)
            setenv("PATH", path_env, 1);
        execv(bench, argv);
        _exit(127);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Exit 2, a message on stderr, nothing on stdout (the header comes after the checks). */
static void
refused(const char *const *args)
{
    int rc = run(NULL, args);
    char what[256] = "";
    for (const char *const *a = args; *a; a++)
        snprintf(what + strlen(what), sizeof what - strlen(what), " %s", *a);
    const char *err = slurp(err_path);
    check(rc == 2, "golf-bench%s: exit %d, want 2", what, rc);
    check(strncmp(err, "golf-bench: ", 12) == 0, "golf-bench%s: stderr '%s'", what, err);
    check(slurp(out_path)[0] == 0, "golf-bench%s: wrote to stdout", what);
}

static void
test_refused(void)
{
    char missing[128], folder[128];
    snprintf(missing, sizeof missing, "%s/no/such/folder/out", dir);
    snprintf(folder, sizeof folder, "%s", dir);
    refused(ARGS("--budget", "abc"));
    refused(ARGS("--budget", "-1"));
    refused(ARGS("--runs", "2x"));
    refused(ARGS("--runs", "0"));
    refused(ARGS("--runs", "100"));
    refused(ARGS("--runs=-3"));
    refused(ARGS("--runs"));
    refused(ARGS("--scale", "-1"));
    refused(ARGS("--scale", "0"));
    refused(ARGS("--scale", "nan"));
    refused(ARGS("--scale", "1e"));
    refused(ARGS("--seed", "x"));
    refused(ARGS("--seed", "-1"));
    refused(ARGS("--impl", "bogus"));
    refused(ARGS("--impl", "golf,,ref"));
    refused(ARGS("--impl=go,bogus", "mutex_inc"));
    refused(ARGS("no_such_workload"));
    refused(ARGS("mutex_inc:0"));
    refused(ARGS("mutex_inc:1,x"));
    refused(ARGS("mutex_inc:"));
    refused(ARGS("--no-such-option"));
    refused(ARGS("-x"));
    refused(ARGS("--version=2"));
    refused(ARGS("--csv", missing));
    refused(ARGS("--json", missing));
    refused(ARGS("--plot", missing));
    refused(ARGS("--plot", folder));
    refused(ARGS("--csv", folder));
    refused(ARGS("--plot", "-"));
    refused(ARGS("--go", missing));

    /* A bad value after a good output: the output is not touched (checked, not opened). */
    char keep[128];
    snprintf(keep, sizeof keep, "%s/keep.csv", dir);
    FILE *f = fopen(keep, "w");
    fputs("keep\n", f);
    fclose(f);
    refused(ARGS("--csv", keep, "--runs", "0"));
    check(strcmp(slurp(keep), "keep\n") == 0, "a refused run truncated its --csv file");
}

static void
test_accepted(void)
{
    int rc = run(NULL, ARGS("--version"));
    check(rc == 0 && strncmp(slurp(out_path), "golf-bench ", 11) == 0, "--version: exit %d, '%s'",
          rc, slurp(out_path));
    rc = run(NULL, ARGS("--help"));
    check(rc == 0 && strstr(slurp(out_path), "usage: golf-bench") != NULL, "--help: exit %d", rc);
    /* --list runs nothing, after every value has been checked. */
    rc = run(NULL, ARGS("--runs=5", "--scale=0.5", "--budget=0", "--seed=0x2a", "--impl=ref,go",
                        "--list", "mutex_inc:1,2"));
    check(rc == 0 && strstr(slurp(out_path), "mutex_inc") != NULL, "--opt=value forms: exit %d, %s",
          rc, slurp(err_path));
    rc = run(NULL, ARGS("--runs", "4", "--scale", "1e-3", "--list"));
    check(rc == 0, "--runs 4 --scale 1e-3: exit %d, %s", rc, slurp(err_path));
}

/* A short real run: the header names the seed given. */
static void
test_seed(void)
{
    int rc = run(NULL, ARGS("mutex_inc:1", "--scale", "0.0001", "--runs", "1", "--quiet", "--no-go",
                            "--impl", "ref", "--seed", "42"));
    check(rc == 0 && strstr(slurp(out_path), "\nseed 42 ") != NULL, "--seed 42: exit %d, %s", rc,
          slurp(out_path));
}

/* Writes an executable shell script. */
static void
script(const char *path, const char *body)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        check(0, "cannot write %s", path);
        return;
    }
    fprintf(f, "#!/bin/sh\n%s", body);
    fclose(f);
    chmod(path, 0755);
}

/* The line of the CSV text that starts with prefix, or NULL. */
static const char *
csv_line(const char *csv, const char *prefix)
{
    for (const char *p = csv; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, strlen(prefix)) == 0)
            return p;
    return NULL;
}

/* A fake Go mirror gives known rounds: 1000 operations in k ms on its k-th call. With --runs 4
 * (no calibration: --budget 0) its median is the mean of the middle two, (1e6/2 + 1e6/3) / 2.
 * Another fails: its row is in the CSV with the reason, and a peer's failure exits 0. */
static void
test_fake_go(void)
{
    char go[128], bad_go[128], csv[128], json[128], body[256];
    snprintf(go, sizeof go, "%s/fake-go", dir);
    snprintf(bad_go, sizeof bad_go, "%s/bad-go", dir);
    snprintf(csv, sizeof csv, "%s/out.csv", dir);
    snprintf(json, sizeof json, "%s/out.json", dir);
    snprintf(body, sizeof body,
             "n=$(cat '%s/count' 2>/dev/null || echo 0); n=$((n + 1)); echo $n > '%s/count'\n"
             "echo \"ok 1000 0.00$n\"\n",
             dir, dir);
    script(go, body);
    script(bad_go, "echo 'boom, \"bang\"'\n");

    int rc = run(NULL,
                 ARGS("mutex_inc:1", "--scale", "0.0001", "--runs", "4", "--budget", "0", "--quiet",
                      "--impl", "go", "--go", go, "--csv", csv, "--json", json, "--seed", "7"));
    const char *text = slurp(csv);
    const char *line = csv_line(text, "go,mutex_inc,1,");
    check(rc == 0, "fake go: exit %d, %s", rc, slurp(err_path));
    check(line && strncmp(line, "go,mutex_inc,1,416667,", 22) == 0,
          "fake go: the median of 4 rounds is not the middle two's mean: %s", text);
    check(strncmp(text,
                  "impl,workload,threads,ops_per_sec,ns_per_op,spread,runs,bytes_per_chan,"
                  "ops_per_run,budget_cut,status,why,golf_ratio,ratio_ci_lo,ratio_ci_hi,"
                  "target,verdict\n",
                  strlen("impl,workload,threads,ops_per_sec,ns_per_op,spread,runs,bytes_per_chan,"
                         "ops_per_run,budget_cut,status,why,golf_ratio,ratio_ci_lo,ratio_ci_hi,"
                         "target,verdict\n")) == 0,
          "CSV header: %.200s", text);
    text = slurp(json);
    check(strstr(text, "\"seed\": 7") && strstr(text, "\"ratio_ci\": [") &&
              strstr(text, "\"verdict\": "),
          "JSON lacks the seed, an interval or a verdict: %.400s", text);

    rc = run(NULL, ARGS("mutex_inc:1", "--scale", "0.0001", "--runs", "2", "--quiet", "--impl",
                        "go", "--go", bad_go, "--csv", csv));
    text = slurp(csv);
    line = csv_line(text, "go,mutex_inc,1,");
    check(rc == 0, "failing go: exit %d, want 0 (a peer's failure)", rc);
    check(line && strstr(line, ",failed,\"go: boom, \"\"bang\"\"\",") != NULL,
          "failing go: no failed row with its reason in the CSV: %s", text);
}

/* --plot: a path with a quote is drawn (when gnuplot is installed); a gnuplot that fails makes
 * golf-bench exit non-zero; no gnuplot at all is said, and exits 0. */
static void
test_plot(void)
{
    char png[128], bin[128], fake[160], path_env[512];
    snprintf(png, sizeof png, "%s/it's a \"plot\".png", dir);
    snprintf(bin, sizeof bin, "%s/bin", dir);
    snprintf(fake, sizeof fake, "%s/gnuplot", bin);
    mkdir(bin, 0755);
    if (system("command -v gnuplot >/dev/null 2>&1") == 0) {
        int rc = run(NULL, ARGS("mutex_inc:1", "--scale", "0.0001", "--runs", "2", "--quiet",
                                "--no-go", "--plot", png));
        struct stat st;
        check(rc == 0 && stat(png, &st) == 0 && st.st_size > 0 &&
                  strncmp(slurp(png), "\x89PNG", 4) == 0,
              "--plot to a path with quotes: exit %d, %s", rc, slurp(err_path));
    } else {
        printf("test_bench: gnuplot is not installed: the real plot is not checked\n");
    }
    /* A gnuplot that fails. */
    script(fake, "cat >/dev/null; echo 'gnuplot: broken' >&2; exit 1\n");
    snprintf(path_env, sizeof path_env, "%s:%s", bin, getenv("PATH") ? getenv("PATH") : "/bin");
    int rc = run(path_env, ARGS("mutex_inc:1", "--scale", "0.0001", "--runs", "1", "--quiet",
                                "--no-go", "--plot", png));
    check(rc == 2 && strstr(slurp(err_path), "gnuplot FAILED") != NULL,
          "a failing gnuplot: exit %d, want 2; %s", rc, slurp(err_path));
    /* No gnuplot on PATH: a warning, exit 0. */
    unlink(fake);
    rc = run(bin, ARGS("mutex_inc:1", "--scale", "0.0001", "--runs", "1", "--quiet", "--no-go",
                       "--plot", png));
    check(rc == 0 && strstr(slurp(err_path), "gnuplot is not installed") != NULL,
          "no gnuplot: exit %d, want 0 and a warning; %s", rc, slurp(err_path));
}

int
main(int argc, char **argv)
{
    test_median();
    test_quantile();
    test_shuffle();
    test_ratio_ci();
    test_verdict();
    if (argc > 1) {
        bench = argv[1];
        if (mkdtemp(dir) == NULL) {
            perror("mkdtemp");
            return 1;
        }
        snprintf(out_path, sizeof out_path, "%s/stdout", dir);
        snprintf(err_path, sizeof err_path, "%s/stderr", dir);
        test_refused();
        test_accepted();
        test_seed();
        test_fake_go();
        test_plot();
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "test_bench: could not remove %s\n", dir);
    }
    printf("test_bench: %d checks, %d failed\n", checks, failed);
    return failed ? 1 : 0;
}
