/* collectionsfs: command line, configuration, signals and the FUSE session.
 *
 *   collectionsfs [-f] [-d] [-c CONFIG] [-o OPTION[,OPTION...]] MOUNTPOINT
 *   collectionsfs --check [-c CONFIG] [SECTION...]
 *   collectionsfs --status MOUNTPOINT
 *   collectionsfs --list-types
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <mntent.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "check.h"
#include "clock.h"
#include "config.h"
#include "detach.h"
#include "fs.h"
#include "http.h"
#include "inode.h"
#include "log.h"
#include "provider.h"
#include "secret.h"
#include "shared.h"
#include "status.h"

/* How long --status waits for the mount: the root's attributes are answered
 * from memory, so only a stopped or hung daemon takes longer. */
#define STATUS_TIMEOUT_MS 5000

struct cli {
    char *config;
    char *ttl;
    char *timeout;
    char *xattrs;
    int check;
    int list_types;
    char *status;
    char **words; /* the words that are not options: a mount point, or sections to check */
    size_t nwords;
};

static const struct fuse_opt cli_opts[] = {
    {"-c %s", offsetof(struct cli, config), 0},
    {"--config=%s", offsetof(struct cli, config), 0},
    {"--check", offsetof(struct cli, check), 1},
    {"--list-types", offsetof(struct cli, list_types), 1},
    {"--status %s", offsetof(struct cli, status), 0},
    {"--status=%s", offsetof(struct cli, status), 0},
    {"ttl=%s", offsetof(struct cli, ttl), 0},
    {"timeout=%s", offsetof(struct cli, timeout), 0},
    {"xattrs=%s", offsetof(struct cli, xattrs), 0},
    FUSE_OPT_END,
};

static void usage(const char *prog)
{
    printf("usage: %s [-f] [-d] [-c CONFIG] [-o OPTION[,OPTION...]] MOUNTPOINT\n"
           "       %s --check [-c CONFIG] [SECTION...]\n"
           "       %s --status MOUNTPOINT\n"
           "       %s --list-types\n"
           "       %s --help | --version\n\n"
           "Shows the collections of remote services (--list-types) as a read-only\n"
           "tree: MOUNTPOINT/<section>/<collection>/metadata.json.\n\n"
           "collectionsfs options:\n"
           "    -c CONFIG, --config=CONFIG  config file (default: $XDG_CONFIG_HOME/"
           "collectionsfs/config,\n"
           "                                ~/.config/collectionsfs/config, "
           "/etc/collectionsfs.conf)\n"
           "    --check [SECTION...]        check the config, resolve secrets, fetch page 1 of "
           "each provider\n"
           "                                (of the sections named, when any are)\n"
           "    --list-types                print the provider types this build knows\n"
           "    --status MOUNTPOINT         print the status of the daemon serving MOUNTPOINT\n"
           "    -o ttl=SECONDS              how long a listing is fresh (config: ttl)\n"
           "    -o timeout=SECONDS          request budget, retries included (config: timeout)\n"
           "    -o xattrs=no                answer no extended attributes (config: xattrs)\n"
           "    -d, -o debug                foreground, one log line per HTTP request\n"
           "Unmount with: fusermount3 -u MOUNTPOINT. See collectionsfs(1), "
           "collectionsfs.conf(5).\n\n",
           prog, prog, prog, prog, prog);
}

/* Keep the words that are not options aside: which of them is the mount point
 * depends on --check, which may come after them. */
static int cli_word(void *data, const char *arg, int key, struct fuse_args *outargs)
{
    (void)outargs;
    struct cli *cli = data;
    if (key != FUSE_OPT_KEY_NONOPT)
        return 1;
    char **w = realloc(cli->words, (cli->nwords + 1) * sizeof(*w));
    if (!w || !(w[cli->nwords] = strdup(arg))) {
        cli->words = w ? w : cli->words;
        return -1;
    }
    cli->words = w;
    cli->nwords++;
    return 0;
}

/* The providers of the sections named on the command line, in the order named
 * (all of them when none is); NULL with a message when one is not in the file. */
static struct provider **chosen(const struct cli *cli, const struct config *cfg,
                                struct provider **prov, size_t *n)
{
    size_t want = cli->nwords ? cli->nwords : cfg->n;
    struct provider **out = calloc(want ? want : 1, sizeof(*out));
    for (size_t i = 0; out && i < want; i++) {
        size_t j = 0;
        while (cli->nwords && j < cfg->n && strcmp(cfg->sections[j].name, cli->words[i]) != 0)
            j++;
        if (cli->nwords && j == cfg->n) {
            fprintf(stderr, "collectionsfs: no section [%s] in %s; its sections:", cli->words[i],
                    cfg->path);
            for (j = 0; j < cfg->n; j++)
                fprintf(stderr, " %s", cfg->sections[j].name);
            fprintf(stderr, "%s\n", cfg->n ? "" : " none");
            free(out);
            return NULL;
        }
        out[i] = prov[cli->nwords ? j : i];
    }
    *n = want;
    return out;
}

/* Free what load() made. */
static void unload(struct config *cfg, struct provider **prov)
{
    for (size_t i = 0; prov && cfg && i < cfg->n; i++)
        provider_free(prov[i]);
    free(prov);
    if (cfg)
        config_free(cfg);
    free(cfg);
}

/* Read the config and make its providers (running *_command for secrets);
 * 0, or -errno with the message for the user in err. */
static int load(const struct cli *cli, struct config **cfgp, struct provider ***prov, char *err,
                size_t errlen)
{
    struct config *cfg = calloc(1, sizeof(*cfg));
    char *path = cli->config ? strdup(cli->config) : config_default_path();
    int rc = path && cfg ? config_load(path, cfg, err, errlen) : -ENOMEM;
    free(path);
    *cfgp = cfg;
    *prov = NULL;
    if (rc == -ENOMEM)
        snprintf(err, errlen, "out of memory reading the configuration");
    if (rc == 0 && cli->ttl)
        rc = config_set_global(&cfg->g, "ttl", cli->ttl, err, errlen);
    if (rc == 0 && cli->timeout)
        rc = config_set_global(&cfg->g, "timeout", cli->timeout, err, errlen);
    if (rc == 0 && cli->xattrs)
        rc = config_set_global(&cfg->g, "xattrs", cli->xattrs, err, errlen);
    if (rc == 0 && !(*prov = calloc(cfg->n ? cfg->n : 1, sizeof(**prov)))) {
        snprintf(err, errlen, "out of memory reading the configuration");
        rc = -ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < cfg->n; i++)
        rc = provider_create(&cfg->sections[i], &cfg->g, &(*prov)[i], err, errlen);
    return rc;
}

/* The fleet's shared cache, when [global] names one: 0 with *sh (NULL when none), or -errno with
 * the message for the user in err. Its password is resolved here, as providers' secrets are. */
static int open_shared(const struct config *cfg, struct shared **sh, char *err, size_t errlen)
{
    const char *url = cfg->g.shared_cache;
    char *pw = NULL;
    *sh = NULL;
    if (!url)
        return 0;
    if (cfg->global.exposed && config_get(&cfg->global, "shared_cache_password"))
        return snprintf(err, errlen,
                        "config: %s holds an inline secret (shared_cache_password in [global]) "
                        "and is readable by group or others; run chmod 600 %s or use "
                        "shared_cache_password_env/_file/_command",
                        cfg->path, cfg->path),
               -EACCES;
    int rc = secret_resolve(&cfg->global, "shared_cache_password", &pw, err, errlen);
    if (rc == 0 && pw && !cfg->g.shared_insecure && !shared_url_local(url)) {
        snprintf(err, errlen,
                 "config: shared_cache_password would travel in clear to a Redis on another host "
                 "(Debian's hiredis has no TLS); use a unix socket or a loopback address (through "
                 "an SSH or stunnel tunnel), or add shared_cache_allow_insecure = yes to [global] "
                 "if the network is trusted");
        rc = -EPERM;
    }
    /* a slow Redis must cost little: every daemon works alone without it */
    unsigned ms = cfg->g.timeout * 1000 < 2000 ? cfg->g.timeout * 1000 : 2000;
    if (rc == 0)
        rc = shared_open(url, pw, ms, sh, err, errlen);
    secret_free(pw);
    return rc;
}

struct hup {
    struct fs *fs;
    const struct cli *cli;
    int stop;
};

/* SIGHUP: read the config again and resolve its secrets again; on any error
 * the running configuration stays. Either way every listing is fetched anew. */
static void reload(struct hup *h)
{
    char err[1024];
    struct config *cfg;
    struct provider **prov;
    struct shared *sh = NULL;
    int rc = load(h->cli, &cfg, &prov, err, sizeof(err));
    if (rc == 0)
        rc = open_shared(cfg, &sh, err, sizeof(err));
    if (http_stopping()) {
        /* the session ended while the file was read: nothing is left to serve */
        if (sh)
            shared_close(sh);
        unload(cfg, prov);
        log_info("SIGHUP: the file system is being unmounted; the configuration read again "
                 "is not used");
        return;
    }
    if (rc == 0) {
        size_t n = cfg->n;
        rc = fs_reload(h->fs, cfg, prov, sh); /* owns them now */
        if (rc == 0) {
            fs_set_reload_error(h->fs, NULL);
            sd_notifyf(0, "STATUS=configuration read again: %zu provider%s", n, n == 1 ? "" : "s");
            log_info("SIGHUP: configuration read again (%zu provider%s); every listing is "
                     "fetched anew",
                     n, n == 1 ? "" : "s");
            return;
        }
        snprintf(err, sizeof(err), "out of memory setting up the new configuration");
    } else {
        unload(cfg, prov);
    }
    fs_set_reload_error(h->fs, err);
    sd_notifyf(0, "STATUS=reload failed, the previous configuration runs: %s", err);
    fs_drop(h->fs);
    log_err("SIGHUP: %s; the previous configuration keeps running (every cached listing was "
            "dropped); fix the file and send SIGHUP again",
            err);
}

/* SIGHUP and SIGUSR1 are blocked in every thread and taken here, where
 * replacing the configuration is safe. run() stops it (flag, then one more
 * SIGHUP) before the caches go. */
static void *signal_thread(void *arg)
{
    struct hup *h = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGUSR1) {
            if (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE))
                fs_log_status(h->fs);
            continue;
        }
        if (sig != SIGHUP)
            continue;
        if (__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE))
            break;
        reload(h);
    }
    return NULL;
}

struct watch {
    struct fuse_session *se;
    struct fs *fs;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
};

/* libfuse lets the requests in progress finish before its loop returns, and a
 * request may be waiting for a stalled provider. Once the session has ended
 * (unmount, SIGTERM), abort transfers and answer the waiters so the daemon exits
 * in well under a second instead of after the request budget. */
static void *watch_thread(void *arg)
{
    struct watch *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->done && !fuse_session_exited(w->se)) {
        /* libfuse has no "session ended" callback: look every 100 ms */
        struct timespec now = clock_now(), t = clock_after(&now, 100);
        pthread_cond_timedwait(&w->cond, &w->lock, &t);
    }
    pthread_mutex_unlock(&w->lock);
    http_shutdown();
    secret_cancel();
    fs_stop(w->fs);
    return NULL;
}

/* The watch's condition variable runs on the monotonic clock, as clock_after's deadlines do. */
static void watch_init(struct watch *w, struct fuse_session *se, struct fs *fs)
{
    w->se = se;
    w->fs = fs;
    w->done = false;
    pthread_mutex_init(&w->lock, NULL);
    clock_cond_init(&w->cond);
}

/* Whether a collectionsfs is mounted at the directory path already. The mount
 * table, not the mount: a second daemon would stack on the first unnoticed. */
static bool ours_mounted_at(const char *path)
{
    char *real = realpath(path, NULL);
    FILE *f = real ? setmntent("/proc/self/mounts", "re") : NULL;
    bool found = false;
    struct mntent m;
    char buf[4 * PATH_MAX];
    while (f && !found && getmntent_r(f, &m, buf, sizeof(buf)))
        found = strcmp(m.mnt_dir, real) == 0 && strcmp(m.mnt_type, "fuse.collectionsfs") == 0;
    if (f)
        endmntent(f);
    free(real);
    return found;
}

/* Refuse, saying what to do, a mount point that would mount badly: before any
 * secret is resolved. /dev/fd/N is a descriptor a parent opened. */
static bool mount_point_ok(const char *path)
{
    struct stat st;
    struct statfs sf;
    if (strncmp(path, "/dev/fd/", 8) == 0)
        return true;
    /* statfs, not stat: the kernel answers a stat from attributes it keeps,
     * a statfs only from the daemon (libfuse would say "failed to access
     * mountpoint") */
    if (statfs(path, &sf) < 0 && errno == ENOTCONN) {
        log_fail("%s is still mounted by a FUSE daemon that has ended (a crash or a kill); "
                 "unmount it first: fusermount3 -uz %s",
                 path, path);
        return false;
    }
    if (stat(path, &st) < 0)
        return true; /* libfuse names the rest */
    /* The kernel mounts a directory tree over a file too (libfuse gives the
     * file's type as the root's), and then every access fails with EIO. */
    if (!S_ISDIR(st.st_mode)) {
        log_fail("mount point %s is not a directory; give a directory (mkdir -p it) as the last "
                 "argument, and the config with -c",
                 path);
        return false;
    }
    if (ours_mounted_at(path)) {
        log_fail("collectionsfs is mounted at %s already (collectionsfs --status %s tells its "
                 "state); unmount it first: fusermount3 -u %s",
                 path, path, path);
        return false;
    }
    return true;
}

/* libfuse's own lines (device errors; with -d one per request) go where ours go,
 * with a time and a level: its default is stderr, /dev/null once in the
 * background. Its levels are syslog's. */
static void fuse_line(enum fuse_log_level level, const char *fmt, va_list ap)
{
    log_vpiece((int)level, fmt, ap);
}

/* Mount and serve; owns cfg and prov. */
static int run(struct fuse_args *args, struct fuse_cmdline_opts *o, const struct cli *cli,
               struct config *cfg, struct provider **prov, struct shared *sh)
{
    int rc = 1;
    struct fuse_session *se = NULL;
    struct fuse_loop_config *loop = NULL;
    pthread_t sig;
    bool sig_up = false;
    struct hup hup = {NULL, cli, 0};
    size_t n = cfg->n;
    struct fs *fs = fs_new(cfg, prov, sh);
    if (!fs) {
        log_fail("cannot start: out of memory");
        goto out;
    }
    /* read-only in the kernel too; the kernel checks the 0555/0444 modes */
    fuse_opt_add_arg(args, "-oro,default_permissions,fsname=collectionsfs,subtype=collectionsfs");
    se = fuse_session_new(args, fs_ops(), sizeof(*fs_ops()), fs);
    if (!se)
        goto out;
    if (fuse_set_signal_handlers(se) != 0)
        goto out_session;
    if (fuse_session_mount(se, o->mountpoint) != 0)
        goto out_signals;
    /* this forks: every thread must be started after it */
    int err = o->foreground ? 0 : detach_start();
    if (err < 0) {
        log_fail("cannot start in the background: %s; try -f", strerror(-err));
        goto out_unmount;
    }
    if (!o->foreground)
        log_init(false, log_debug_enabled());
    err = fs_attach(fs, se);
    if (err == 0) {
        hup.fs = fs;
        err = -pthread_create(&sig, NULL, signal_thread, &hup);
        sig_up = err == 0;
    }
    struct watch watch;
    watch_init(&watch, se, fs);
    pthread_t watcher;
    bool watching = false;
    if (err == 0) {
        err = -pthread_create(&watcher, NULL, watch_thread, &watch);
        watching = err == 0;
    }
    if (err < 0) {
        log_fail("cannot start its threads: %s; check the limits on processes (ulimit -u) and "
                 "on each thread's stack (ulimit -s)",
                 strerror(-err));
        goto out_threads;
    }
    detach_done();
    log_info("mounted %zu provider%s on %s", n, n == 1 ? "" : "s", o->mountpoint);
    /* Type=notify: ready once the kernel has the mount and every thread runs.
     * Without -f this comes from the forked child after the started process has
     * exited, which systemd counts as a failed start: the units use -f. */
    int nrc = sd_notifyf(0, "READY=1\nSTATUS=mounted %zu provider%s on %s", n, n == 1 ? "" : "s",
                         o->mountpoint);
    if (nrc < 0)
        log_warn("cannot tell systemd the mount is ready (NOTIFY_SOCKET): %s; "
                 "systemd will time the service out",
                 strerror(-nrc));
    if (o->singlethread) {
        rc = fuse_session_loop(se);
    } else {
        loop = fuse_loop_cfg_create();
        fuse_loop_cfg_set_clone_fd(loop, o->clone_fd);
        if (o->max_idle_threads != UINT_MAX) /* unset: keep libfuse's default */
            fuse_loop_cfg_set_idle_threads(loop, o->max_idle_threads);
        /* a stalled provider holds a thread per waiting request; the others need theirs */
        unsigned max = o->max_threads > 256 && o->max_threads <= 100000 ? o->max_threads : 256;
        fuse_loop_cfg_set_max_threads(loop, max);
        rc = fuse_session_loop_mt(se, loop);
    }
    sd_notify(0, "STOPPING=1\nSTATUS=unmounting");
    /* libfuse reports the signal that ended the loop; SIGTERM/SIGINT are a clean stop */
    if (rc == SIGTERM || rc == SIGINT)
        rc = 0;
out_threads:
    if (watching) {
        pthread_mutex_lock(&watch.lock);
        watch.done = true;
        pthread_cond_signal(&watch.cond);
        pthread_mutex_unlock(&watch.lock);
        pthread_join(watcher, NULL);
    }
    pthread_mutex_destroy(&watch.lock);
    pthread_cond_destroy(&watch.cond);
out_unmount:
    if (sig_up) {
        __atomic_store_n(&hup.stop, 1, __ATOMIC_RELEASE);
        pthread_kill(sig, SIGHUP);
        pthread_join(sig, NULL);
    }
    fs_detach(fs);
    fuse_session_unmount(se);
out_signals:
    fuse_remove_signal_handlers(se);
out_session:
    fuse_session_destroy(se);
out:
    fuse_loop_cfg_destroy(loop);
    /* Workers still fetching give up at once (usually the watch thread has
     * said so already); fs_free joins them, and only then may main free the
     * providers and clean up libcurl. */
    http_shutdown();
    fs_free(fs);
    return rc ? 1 : 0;
}

int main(int argc, char *argv[])
{
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct cli cli = {0};
    struct fuse_cmdline_opts o = {0};
    struct config *cfg = NULL;
    struct provider **prov = NULL;
    struct shared *sh = NULL;
    char err[1024];
    int rc = 1;

    /* glibc gives each thread that allocates an arena of its own, up to eight per
     * core, and each keeps free memory the others cannot reuse. Two hold a
     * million HIVO collections in 11-16 MB less at no measurable CPU cost
     * (tests/bench/RESULTS.md, S). */
    mallopt(M_ARENA_MAX, 2);

    /* Block SIGHUP and SIGUSR1 before any thread exists so only signal_thread receives them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (fuse_opt_parse(&args, &cli, cli_opts, cli_word) != 0)
        goto out;
    if (!cli.check && cli.nwords > 1) {
        fprintf(stderr, "collectionsfs: one mount point only, not '%s' and '%s' (try --help)\n",
                cli.words[0], cli.words[1]);
        goto out;
    }
    if (!cli.check && cli.nwords == 1 && fuse_opt_add_arg(&args, cli.words[0]) != 0)
        goto out;
    if (fuse_parse_cmdline(&args, &o) != 0)
        goto out;
    if (o.show_help) {
        usage(argv[0]);
        fuse_cmdline_help();
        fuse_lowlevel_help();
        rc = 0;
        goto out;
    }
    if (o.show_version) {
        printf("collectionsfs %s\n", CFS_VERSION);
        fuse_lowlevel_version();
        rc = 0;
        goto out;
    }
    if (cli.status) {
        rc = status_print(cli.status, stdout, stderr, STATUS_TIMEOUT_MS);
        if (rc < 0) {
            /* a thread is blocked on the mount: exit() would wait for it in the
             * leak checker's stop-the-world, _exit ends it with the process */
            fflush(stdout);
            fflush(stderr);
            _exit(1);
        }
        goto out;
    }
    if (cli.list_types) {
        for (size_t i = 0; provider_type(i); i++)
            printf("%s\n", provider_type(i));
        rc = 0;
        goto out;
    }
    log_init(true, o.debug);
    fuse_set_log_func(fuse_line);
    if (!cli.check && !o.mountpoint) {
        log_fail("no mount point given (try --help)");
        goto out;
    }
    if (!cli.check && !mount_point_ok(o.mountpoint))
        goto out;
    if (cli.check) { /* what the mount refuses of its -o, --check refuses: libfuse says which */
        struct fuse_session *se = fuse_session_new(&args, fs_ops(), sizeof(*fs_ops()), NULL);
        if (!se)
            goto out;
        fuse_session_destroy(se);
    }
    if (http_init() < 0) {
        log_fail("cannot initialise libcurl");
        goto out;
    }
    /* A reload reads it again after the start in the background has moved to /. Not
     * realpath: a symlinked config is read where the link points at each
     * reload, as an absolute -c is. */
    if (cli.config && cli.config[0] != '/') {
        char *cwd = getcwd(NULL, 0), *abs = NULL;
        if (cwd && asprintf(&abs, "%s/%s", cwd, cli.config) >= 0) {
            free(cli.config);
            cli.config = abs;
        }
        free(cwd);
    }
    if (load(&cli, &cfg, &prov, err, sizeof(err)) < 0) {
        log_fail("%s", err);
        unload(cfg, prov);
    } else if (cli.check) {
        size_t n;
        struct provider **some = chosen(&cli, cfg, prov, &n);
        /* [global]'s shared cache too: what it refuses, the mount refuses */
        if (some && open_shared(cfg, &sh, err, sizeof(err)) < 0)
            log_fail("%s", err);
        else if (some)
            rc = check_providers(some, n);
        if (sh)
            shared_close(sh);
        free(some);
        unload(cfg, prov);
    } else if (open_shared(cfg, &sh, err, sizeof(err)) < 0) {
        log_fail("%s", err);
        unload(cfg, prov);
    } else {
        rc = run(&args, &o, &cli, cfg, prov, sh);
    }
    inode_cleanup();
    http_cleanup();
out:
    free(o.mountpoint);
    free(cli.config);
    free(cli.ttl);
    free(cli.timeout);
    free(cli.xattrs);
    free(cli.status);
    for (size_t i = 0; i < cli.nwords; i++)
        free(cli.words[i]);
    free(cli.words);
    fuse_opt_free_args(&args);
    return rc;
}
