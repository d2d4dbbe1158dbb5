/* The thread pool of numelu's precompiled kernels (linked into each level's shared library).

   The JIT's threaded loops split long runs over Numba's thread pool with prange; precompiled
   code cannot link Numba's pool, so it calls numelu_run_threaded here instead, which splits
   [0, n) into chunks exactly as the JIT's driver does: each chunk runs the same serial kernel
   with the worker's own floating-point state saved before and put back after, and the chunks'
   flag bits are merged.  The pool starts on first use; one call at a time uses it (the loops
   take numelu_parallel_gate first), and in a child after fork() it is never used
   (numelu_forked_child), so a fork can never inherit a half-used pool. */

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
static unsigned fp_state_save(void) { return _mm_getcsr(); }
static void fp_state_restore(unsigned state) { _mm_setcsr(state); }
#else
#include <fenv.h>
static unsigned fp_state_save(void) { return (unsigned)fetestexcept(FE_ALL_EXCEPT); }
static void fp_state_restore(unsigned state) {
    feclearexcept(FE_ALL_EXCEPT);
    feraiseexcept((int)state);
}
#endif

typedef int32_t (*kernel_fn)(intptr_t, intptr_t, intptr_t, intptr_t, intptr_t, intptr_t,
                             intptr_t, intptr_t, intptr_t, intptr_t, intptr_t, int32_t);

/* Read by the compiled loops (atomically): see numelu/_gate.py. */
int32_t numelu_parallel_gate = 0;
int32_t numelu_forked_child = 0;

#define MAX_THREADS 1024
#define CHUNKS_PER_THREAD 4 /* _loops.CHUNKS_PER_THREAD */

struct job {
    kernel_fn kernel;
    intptr_t context, a0, a1, a2, out, s0, s1, s2, so, n, chunk, chunks;
    intptr_t next;          /* the next chunk to take (atomic) */
    int32_t bits;           /* merged flag bits (atomic or) */
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_ready = PTHREAD_COND_INITIALIZER;
static pthread_cond_t work_done = PTHREAD_COND_INITIALIZER;
static struct job *current = NULL;
static long generation = 0;
static int busy_workers = 0;
static int workers = 0;     /* threads started besides the caller */
static int wanted_threads = 1;

static void run_chunks(struct job *job) {
    for (;;) {
        intptr_t c = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED);
        if (c >= job->chunks)
            return;
        intptr_t start = c * job->chunk;
        intptr_t stop = start + job->chunk < job->n ? start + job->chunk : job->n;
        unsigned saved = fp_state_save();
        int32_t bits = job->kernel(job->context, job->a0, job->a1, job->a2, job->out, job->s0,
                                   job->s1, job->s2, job->so, start, stop, (int32_t)saved);
        fp_state_restore(saved);
        __atomic_fetch_or(&job->bits, bits, __ATOMIC_RELAXED);
    }
}

/* Spin this many pauses (tens of microseconds) for the next job or the workers' end before
   sleeping: back-to-back calls then skip the sleep and the wake-up, while an idle pool, or one
   on a machine busy with other work, still sleeps. */
#define SPIN 2000

static void pause_a_moment(void) {
#if defined(__x86_64__) || defined(_M_X64)
    _mm_pause();
#endif
}

static void *worker_main(void *unused) {
    (void)unused;
    long seen = 0;
    for (;;) {
        for (int i = 0; i < SPIN && __atomic_load_n(&generation, __ATOMIC_ACQUIRE) == seen; i++)
            pause_a_moment();
        pthread_mutex_lock(&pool_lock);
        while (generation == seen)
            pthread_cond_wait(&work_ready, &pool_lock);
        seen = generation;
        struct job *job = current;
        if (job == NULL) {  /* woken after that call had finished: wait for the next */
            pthread_mutex_unlock(&pool_lock);
            continue;
        }
        __atomic_add_fetch(&busy_workers, 1, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&pool_lock);
        run_chunks(job);
        pthread_mutex_lock(&pool_lock);
        if (__atomic_sub_fetch(&busy_workers, 1, __ATOMIC_RELEASE) == 0)
            pthread_cond_broadcast(&work_done);
        pthread_mutex_unlock(&pool_lock);
    }
    return NULL;
}

static void start_workers(void) {
    while (workers < wanted_threads - 1) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attributes, worker_main, NULL);
        pthread_attr_destroy(&attributes);
        if (failed)
            break;          /* fewer workers: the caller runs the remaining chunks */
        workers++;
    }
}

static void after_fork_in_child(void) {
    __atomic_store_n(&numelu_forked_child, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&numelu_parallel_gate, 0, __ATOMIC_RELAXED);
}

/* Called once when the library is loaded: the number of threads to use (caller included). */
void numelu_threads_init(int32_t threads) {
    static int registered = 0;
    wanted_threads = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
    if (!registered) {
        pthread_atfork(NULL, NULL, after_fork_in_child);
        registered = 1;
    }
}

int32_t numelu_threads_started(void) { return workers + 1; }

/* The threaded driver the parallel loops call (holding numelu_parallel_gate). */
int32_t numelu_run_threaded(intptr_t kernel, intptr_t context, intptr_t a0, intptr_t a1,
                            intptr_t a2, intptr_t out, intptr_t s0, intptr_t s1, intptr_t s2,
                            intptr_t so, intptr_t n, intptr_t chunk) {
    pthread_mutex_lock(&pool_lock);
    start_workers();
    /* _loops.chunk_for: CHUNKS_PER_THREAD tasks per thread, whole multiples of chunk */
    intptr_t per_task = n / ((intptr_t)(workers + 1) * CHUNKS_PER_THREAD) / chunk * chunk;
    if (per_task > chunk)
        chunk = per_task;
    struct job job = {(kernel_fn)kernel, context, a0, a1, a2, out, s0, s1, s2, so, n, chunk,
                      (n + chunk - 1) / chunk, 0, 0};
    current = &job;
    __atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&work_ready);
    pthread_mutex_unlock(&pool_lock);
    run_chunks(&job);
    for (int i = 0; i < SPIN && __atomic_load_n(&busy_workers, __ATOMIC_ACQUIRE) > 0; i++)
        pause_a_moment();
    pthread_mutex_lock(&pool_lock);
    while (busy_workers > 0 || __atomic_load_n(&job.next, __ATOMIC_RELAXED) < job.chunks)
        pthread_cond_wait(&work_done, &pool_lock);
    current = NULL;
    pthread_mutex_unlock(&pool_lock);
    return job.bits;
}
