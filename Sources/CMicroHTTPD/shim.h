#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <microhttpd.h>

/// The port a daemon bound (MHD_get_daemon_info is variadic too).
static inline uint16_t cmhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

/// Called with the status of every answer libmicrohttpd gives by itself, before any handler
/// sees the request (431 for headers beyond the connection's memory, 414, 400 for what is
/// not HTTP…): its body is its own HTML, but the refusal can be counted.
typedef void (*cmhd_refused_callback)(void *cls, unsigned int status);

/// The daemon's error log (MHD_OPTION_EXTERNAL_LOGGER), which takes a format and a va_list
/// that Swift cannot read. Of what it logs, only the line libmicrohttpd writes as it
/// answers a request with an error of its own is passed on, with that status; the rest
/// (connections reset by the peer and the like) is dropped: Liaison logs what it decides.
struct cmhd_log_target {
    cmhd_refused_callback refused;
    void *cls;
};

static inline void cmhd_log(void *target, const char *format, va_list arguments) {
    static const char answered[] = "Error processing request (HTTP response code is %u";
    if (target == NULL || strncmp(format, answered, sizeof answered - 1) != 0) return;
    const struct cmhd_log_target *log = (const struct cmhd_log_target *)target;
    log->refused(log->cls, va_arg(arguments, unsigned int));
}

/// Leaves %HH escapes in the path and the query as they came (MHD_OPTION_UNESCAPE_CALLBACK).
/// libmicrohttpd would decode the whole path before the handler sees it: an encoded '/' in
/// a segment would split it, and the router, which decodes each segment, would decode
/// '%2541' twice. Liaison decodes each segment and each query value once, itself.
static inline size_t cmhd_keep_escapes(void *cls, struct MHD_Connection *connection, char *s) {
    (void)cls;
    (void)connection;
    return strlen(s);
}

/// MHD_start_daemon is variadic; this fixes the options Liaison uses. The connection
/// notification (MHD_OPTION_NOTIFY_CONNECTION) keeps state per connection, not per request.
/// `log` must outlive the daemon.
static inline struct MHD_Daemon *cmhd_start(unsigned int flags, const struct sockaddr *address, unsigned int threads,
                                            unsigned int timeout_seconds, size_t connection_memory,
                                            MHD_AccessHandlerCallback access, MHD_RequestCompletedCallback completed,
                                            MHD_NotifyConnectionCallback notify, void *cls,
                                            const struct cmhd_log_target *log) {
    return MHD_start_daemon(flags | MHD_USE_ERROR_LOG, 0, NULL, NULL, access, cls,
                            MHD_OPTION_EXTERNAL_LOGGER, cmhd_log, (void *)log,
                            MHD_OPTION_SOCK_ADDR, address,
                            MHD_OPTION_THREAD_POOL_SIZE, threads,
                            MHD_OPTION_CONNECTION_TIMEOUT, timeout_seconds,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, connection_memory,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, cls,
                            MHD_OPTION_NOTIFY_CONNECTION, notify, cls,
                            MHD_OPTION_UNESCAPE_CALLBACK, cmhd_keep_escapes, NULL,
                            MHD_OPTION_END);
}

/// What the connection notification stored for this connection (MHD_get_connection_info
/// is variadic).
static inline void *cmhd_socket_context(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}
