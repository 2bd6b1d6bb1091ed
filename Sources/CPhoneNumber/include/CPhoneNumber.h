#ifndef CPHONENUMBER_H
#define CPHONENUMBER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The outcome of parsing a phone number.
typedef enum {
    CPN_OK = 0,
    CPN_NOT_A_NUMBER = 1,
    CPN_INVALID = 2,
} cpn_status;

/// Parses `text` (UTF-8) with `region` (ISO 3166 alpha-2, e.g. "CN") as the default for
/// national numbers. On success writes the E.164 form ("+8613800138000") into `e164` and
/// the extension (possibly empty) into `extension`, NUL-terminated. `valid` is set to 1
/// when libphonenumber considers the number valid for its region, 0 when it only parses.
/* `valid` may be NULL: validating costs as much again as parsing. */
cpn_status cpn_parse(const char *text, const char *region, char *e164, size_t e164_size, char *extension,
                     size_t extension_size, int *valid);

#ifdef __cplusplus
}
#endif

#endif
