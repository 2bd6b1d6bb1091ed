/*
 * The HTTP floor under Liaison's ingest path: libmicrohttpd configured as `liaison serve`
 * configures it (internal polling threads on poll(), a pool of N threads, suspend/resume),
 * doing no work of its own. It reads each POST body and answers {"status":"stored"}:
 *
 *   http_floor at-once PORT THREADS   answers from the request's own thread
 *   http_floor handoff PORT THREADS   suspends each request and has one other thread
 *                                     resume whatever queued up, as Liaison's group
 *                                     committer does, without writing anything
 *   http_floor durable PORT THREADS DB
 *                                     the same hand-off, but the other thread is a group
 *                                     committer: it appends each queued body to DB (the
 *                                     log's schema, WAL, synchronous=FULL) in one
 *                                     transaction and resumes the requests after COMMIT
 *
 * The difference between its figures and liaison's is what Liaison's own work costs
 * (signature, JSON check, the bridge to Swift, pipeline). `durable` is the least any
 * server answering only after an fsync'd commit does on this machine.
 * `FLOOR=1 make bench-ingest` runs all three.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdint.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char answer[] = "{\"status\":\"stored\"}";
static struct MHD_Response *stored;
static int handoff, durable;
static sqlite3 *db;
static sqlite3_stmt *insert, *begin, *commit;

/* Suspended connections waiting for the resuming thread, with their bodies. */
struct parked {
    struct MHD_Connection *connection;
    struct body *body;
};
struct body {
    size_t length, capacity;
    unsigned char bytes[];
};
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queued = PTHREAD_COND_INITIALIZER;
static struct parked *waiting;
static size_t waitingCount, waitingCapacity;

/* A request's state: NULL before its first call, READING while its body arrives (a
 * `struct body` in durable mode), PARKED once queued. */
#define READING ((void *)1)
#define PARKED ((void *)2)

static void check(int result, const char *what) {
    if (result != SQLITE_OK && result != SQLITE_DONE) {
        fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static void append(void **state, const char *data, size_t size) {
    struct body *body = *state == READING ? NULL : *state;
    size_t length = body ? body->length : 0;
    if (!body || length + size > body->capacity) {
        size_t capacity = (length + size) * 2;
        body = realloc(body, sizeof *body + capacity);
        if (!body) abort();
        body->capacity = capacity;
        body->length = length;
    }
    memcpy(body->bytes + length, data, size);
    body->length += size;
    *state = body;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                              const char *version, const char *data, size_t *size, void **state) {
    (void)cls, (void)url, (void)method, (void)version, (void)data;
    if (*state == NULL) {
        *state = READING;
        return MHD_YES;
    }
    if (*size > 0) {
        if (durable) append(state, data, *size);
        *size = 0;
        return MHD_YES;
    }
    if (!handoff || *state == PARKED) return MHD_queue_response(connection, 200, stored);
    struct body *body = *state == READING ? NULL : *state;
    *state = PARKED;
    MHD_suspend_connection(connection);
    pthread_mutex_lock(&lock);
    if (waitingCount == waitingCapacity) {
        waitingCapacity = waitingCapacity ? waitingCapacity * 2 : 1024;
        waiting = realloc(waiting, waitingCapacity * sizeof *waiting);
        if (!waiting) abort();
    }
    waiting[waitingCount++] = (struct parked){connection, body};
    if (waitingCount == 1) pthread_cond_signal(&queued);
    pthread_mutex_unlock(&lock);
    return MHD_YES;
}

static void *resumer(void *unused) {
    (void)unused;
    struct parked *batch = NULL;
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
        if (durable) {
            check(sqlite3_step(begin), "BEGIN");
            sqlite3_reset(begin);
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            for (size_t i = 0; i < count; i++) {
                struct body *body = batch[i].body;
                sqlite3_bind_double(insert, 1, (double)now.tv_sec + now.tv_nsec / 1e9);
                sqlite3_bind_blob(insert, 2, body ? body->bytes : (const void *)"", body ? (int)body->length : 0,
                                  SQLITE_STATIC);
                check(sqlite3_step(insert), "INSERT");
                sqlite3_reset(insert);
                free(body);
            }
            check(sqlite3_step(commit), "COMMIT");
            sqlite3_reset(commit);
        }
        for (size_t i = 0; i < count; i++) MHD_resume_connection(batch[i].connection);
    }
    return NULL;
}

int main(int argc, char **argv) {
    durable = argc == 5 && strcmp(argv[1], "durable") == 0;
    if (!(argc == 4 && (strcmp(argv[1], "at-once") == 0 || strcmp(argv[1], "handoff") == 0)) && !durable) {
        fprintf(stderr, "usage: %s at-once|handoff PORT THREADS\n       %s durable PORT THREADS DB\n", argv[0],
                argv[0]);
        return 2;
    }
    handoff = durable || strcmp(argv[1], "handoff") == 0;
    if (durable) {
        /* As liaison's log: no memory statistics (a process-wide mutex), WAL, a full fsync per commit. */
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
        if (sqlite3_open(argv[4], &db) != SQLITE_OK) return 1;
        check(sqlite3_exec(db,
                           "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                           "CREATE TABLE IF NOT EXISTS inbound (seq INTEGER PRIMARY KEY, source TEXT NOT NULL,"
                           " dedupe_key TEXT, received_at REAL NOT NULL, body BLOB NOT NULL);"
                           "CREATE UNIQUE INDEX IF NOT EXISTS inbound_dedupe ON inbound(source, dedupe_key)"
                           " WHERE dedupe_key IS NOT NULL;",
                           NULL, NULL, NULL),
              "schema");
        check(sqlite3_prepare_v2(db, "INSERT INTO inbound (source, dedupe_key, received_at, body)"
                                     " VALUES ('generic.bench', NULL, ?, ?)", -1, &insert, NULL), "prepare");
        check(sqlite3_prepare_v2(db, "BEGIN", -1, &begin, NULL), "prepare");
        check(sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL), "prepare");
    }
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
