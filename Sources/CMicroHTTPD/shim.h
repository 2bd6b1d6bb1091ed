#include <stdarg.h>
#include <stdint.h>
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

/// MHD_start_daemon is variadic; this fixes the options Liaison uses. The connection
/// notification (MHD_OPTION_NOTIFY_CONNECTION) keeps state per connection, not per request.
static inline struct MHD_Daemon *cmhd_start(unsigned int flags, const struct sockaddr *address, unsigned int threads,
                                            unsigned int timeout_seconds, size_t connection_memory,
                                            MHD_AccessHandlerCallback access, MHD_RequestCompletedCallback completed,
                                            MHD_NotifyConnectionCallback notify, void *cls) {
    return MHD_start_daemon(flags, 0, NULL, NULL, access, cls,
                            MHD_OPTION_SOCK_ADDR, address,
                            MHD_OPTION_THREAD_POOL_SIZE, threads,
                            MHD_OPTION_CONNECTION_TIMEOUT, timeout_seconds,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, connection_memory,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, cls,
                            MHD_OPTION_NOTIFY_CONNECTION, notify, cls,
                            MHD_OPTION_END);
}

/// What the connection notification stored for this connection (MHD_get_connection_info
/// is variadic).
static inline void *cmhd_socket_context(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}
