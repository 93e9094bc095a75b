/* hpcburst task launcher: drop to the task's account, enter its directory, exec the task.
 * The agent builds it once (nodeagent/launcher.py) and starts every task through it with posix_spawn:
 * one small static exec instead of setpriv plus a fork to change directory.
 * usage: launch DIR UID GID GROUPS -- EXE ARGV0 [ARGS...]
 *   UID/GID -1: keep the caller's account (only chdir); GROUPS: comma-separated gids or "-" for none. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static void die(const char *what, const char *arg, int code) {
    dprintf(2, "hpcburst: %s %s: %s\n", what, arg, strerror(errno));
    _exit(code);
}

int main(int argc, char **argv) {
    if (argc < 8 || strcmp(argv[5], "--") != 0) {
        dprintf(2, "usage: launch DIR UID GID GROUPS -- EXE ARGV0 [ARGS...]\n");
        return 125;
    }
    long uid = strtol(argv[2], NULL, 10), gid = strtol(argv[3], NULL, 10);
    if (uid >= 0) {
        gid_t groups[256];
        size_t n = 0;
        if (strcmp(argv[4], "-") != 0) {
            for (char *p = argv[4]; *p && n < 256; ) {
                groups[n++] = (gid_t)strtol(p, &p, 10);
                if (*p == ',') p++;
            }
        }
        for (int cap = 0; cap < 64; cap++) prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        if (setgroups(n, groups) != 0) die("setgroups", argv[4], 126);
        if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) != 0) die("setgid", argv[3], 126);
        if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0) die("setuid", argv[2], 126);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("no_new_privs", "", 126);
    }
    if (chdir(argv[1]) != 0) die("cannot enter", argv[1], 126);
    execv(argv[6], argv + 7);
    die("cannot run", argv[6], errno == ENOENT ? 127 : 126);
    return 126;
}
