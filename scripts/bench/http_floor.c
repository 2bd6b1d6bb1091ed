/*
 * The HTTP floor under Liaison's ingest path: libmicrohttpd configured as `liaison serve`
 * configures it (internal polling threads on poll(), a pool of N threads, suspend/resume),
 * doing no work of its own. It reads each POST body and answers {"status":"stored"}:
 *
 *   http_floor at-once PORT THREADS   answers from the request's own thread
 *   http_floor handoff PORT THREADS   suspends each request and has one other thread
 *                                     resume whatever queued up, as Liaison's group
 *                                     committer does, without writing anything
 *
 * The difference between its figures and liaison's is what Liaison's own work costs
 * (signature, JSON check, log, pipeline). `FLOOR=1 make bench-ingest` runs it.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char answer[] = "{\"status\":\"stored\"}";
static struct MHD_Response *stored;
static int handoff;

/* Suspended connections waiting for the resuming thread. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queued = PTHREAD_COND_INITIALIZER;
static struct MHD_Connection **waiting;
static size_t waitingCount, waitingCapacity;

enum phase { READING = 1, PARKED };

static enum MHD_Result handle(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                              const char *version, const char *data, size_t *size, void **state) {
    (void)cls, (void)url, (void)method, (void)version, (void)data;
    if (*state == NULL) {
        *state = (void *)(intptr_t)READING;
        return MHD_YES;
    }
    if (*size > 0) {
        *size = 0;
        return MHD_YES;
    }
    if (!handoff || *state == (void *)(intptr_t)PARKED) return MHD_queue_response(connection, 200, stored);
    *state = (void *)(intptr_t)PARKED;
    MHD_suspend_connection(connection);
    pthread_mutex_lock(&lock);
    if (waitingCount == waitingCapacity) {
        waitingCapacity = waitingCapacity ? waitingCapacity * 2 : 1024;
        waiting = realloc(waiting, waitingCapacity * sizeof *waiting);
        if (!waiting) abort();
    }
    waiting[waitingCount++] = connection;
    if (waitingCount == 1) pthread_cond_signal(&queued);
    pthread_mutex_unlock(&lock);
    return MHD_YES;
}

static void *resumer(void *unused) {
    (void)unused;
    struct MHD_Connection **batch = NULL;
    size_t capacity = 0;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (waitingCount == 0) pthread_cond_wait(&queued, &lock);
        size_t count = waitingCount;
        if (count > capacity) {
            capacity = waitingCapacity;
            batch = realloc(batch, capacity * sizeof *batch);
            if (!batch) abort();
        }
        memcpy(batch, waiting, count * sizeof *batch);
        waitingCount = 0;
        pthread_mutex_unlock(&lock);
        for (size_t i = 0; i < count; i++) MHD_resume_connection(batch[i]);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4 || (strcmp(argv[1], "at-once") != 0 && strcmp(argv[1], "handoff") != 0)) {
        fprintf(stderr, "usage: %s at-once|handoff PORT THREADS\n", argv[0]);
        return 2;
    }
    handoff = strcmp(argv[1], "handoff") == 0;
    stored = MHD_create_response_from_buffer(sizeof answer - 1, (void *)answer, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(stored, "Content-Type", "application/json");
    pthread_t thread;
    if (handoff && pthread_create(&thread, NULL, resumer, NULL) != 0) return 1;
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* The flags and options of Sources/CMicroHTTPD/shim.h and HTTPServer.swift. */
    unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME;
    struct MHD_Daemon *daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)atoi(argv[3]), MHD_OPTION_CONNECTION_TIMEOUT, 60u,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16 * 1024), MHD_OPTION_END);
    if (!daemon) {
        fprintf(stderr, "could not start on port %s\n", argv[2]);
        return 1;
    }
    pause();
    return 0;
}
