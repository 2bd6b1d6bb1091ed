#include <sqlite3.h>

/// Turns off SQLite's memory statistics, which take one process-wide mutex on every
/// allocation: with the log and the state written from two threads, that mutex was the
/// hottest lock in the process. Must run before SQLite initializes (sqlite3_config is
/// variadic, so Swift calls it through here). Returns SQLITE_MISUSE if it is too late.
static inline int csqlite_disable_memory_statistics(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }
