/* Starting in the background; see detach.h. */
#include "detach.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* The write end of the pipe the starting process waits on; -1 once told, or in the foreground. */
static int tell_fd = -1;

int detach_start(void)
{
    int p[2];
    /* close-on-exec: a secret's helper command, run on a reload, must not hold it */
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        close(p[0]);
        close(p[1]);
        return -err;
    }
    if (pid > 0) {
        close(p[1]);
        unsigned char served = 1;
        ssize_t n;
        do
            n = read(p[0], &served, 1);
        while (n < 0 && errno == EINTR);
        /* end of file: the daemon ended without serving, after it unmounted and said why */
        _exit(n == 1 && served == 0 ? 0 : 1);
    }
    close(p[0]);
    tell_fd = p[1];
    setsid(); /* not the terminal's: a hangup does not end the mount */
    /* holding no directory busy but / (a failure here ends the start, said by the caller) */
    return chdir("/") < 0 ? -errno : 0;
}

void detach_done(void)
{
    if (tell_fd < 0)
        return;
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2)
            close(null);
    }
    unsigned char served = 0;
    ssize_t n;
    do
        n = write(tell_fd, &served, 1);
    while (n < 0 && errno == EINTR);
    close(tell_fd);
    tell_fd = -1;
}
