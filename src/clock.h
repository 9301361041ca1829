/* Monotonic time for deadlines and ages; CLOCK_MONOTONIC never jumps with the
 * wall clock, so a budget of 30 s stays 30 s. */
#ifndef CFS_CLOCK_H
#define CFS_CLOCK_H

#include <pthread.h>
#include <time.h>

/** Monotonic now. */
static inline struct timespec clock_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

/** Milliseconds from a to b (negative when b is earlier). */
static inline long long clock_ms(const struct timespec *a, const struct timespec *b)
{
    return (long long)(b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

/** t plus ms milliseconds. */
static inline struct timespec clock_after(const struct timespec *t, long long ms)
{
    struct timespec r = *t;
    r.tv_sec += ms / 1000;
    r.tv_nsec += (ms % 1000) * 1000000;
    if (r.tv_nsec >= 1000000000) {
        r.tv_sec++;
        r.tv_nsec -= 1000000000;
    } else if (r.tv_nsec < 0) {
        r.tv_sec--;
        r.tv_nsec += 1000000000;
    }
    return r;
}

/** Initialise c so that its timed waits take deadlines of clock_now()'s clock. */
static inline void clock_cond_init(pthread_cond_t *c)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(c, &ca);
    pthread_condattr_destroy(&ca);
}

#endif
