#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <microhttpd.h>

/// MHD_start_daemon is variadic; this fixes the options Liaison uses.
static inline struct MHD_Daemon *cmhd_start(unsigned int flags, const struct sockaddr *address, unsigned int threads,
                                            unsigned int timeout_seconds, size_t connection_memory,
                                            MHD_AccessHandlerCallback access,
                                            void *access_cls, MHD_RequestCompletedCallback completed,
                                            void *completed_cls) {
    return MHD_start_daemon(flags, 0, NULL, NULL, access, access_cls,
                            MHD_OPTION_SOCK_ADDR, address,
                            MHD_OPTION_THREAD_POOL_SIZE, threads,
                            MHD_OPTION_CONNECTION_TIMEOUT, timeout_seconds,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, connection_memory,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
                            MHD_OPTION_END);
}

/// The port a daemon bound (MHD_get_daemon_info is variadic too).
static inline uint16_t cmhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}
