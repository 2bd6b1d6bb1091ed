// A plain C face over libphonenumber's C++ API: Swift imports it as C, no C++ interop.
#include "CPhoneNumber.h"

#include <phonenumbers/phonenumberutil.h>
#include <phonenumbers/phonenumber.pb.h>

#include <cstring>
#include <string>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

static void copy_out(const std::string &value, char *out, size_t size) {
    if (size == 0) return;
    size_t n = value.size() < size - 1 ? value.size() : size - 1;
    std::memcpy(out, value.data(), n);
    out[n] = '\0';
}

extern "C" cpn_status cpn_parse(const char *text, const char *region, char *e164, size_t e164_size,
                                char *extension, size_t extension_size, int *valid) {
    try {
        const PhoneNumberUtil *util = PhoneNumberUtil::GetInstance();
        PhoneNumber number;
        if (util->Parse(text, region, &number) != PhoneNumberUtil::NO_PARSING_ERROR) return CPN_NOT_A_NUMBER;
        std::string formatted;
        util->Format(number, PhoneNumberUtil::E164, &formatted);
        copy_out(formatted, e164, e164_size);
        copy_out(number.has_extension() ? number.extension() : std::string(), extension, extension_size);
        if (valid) *valid = util->IsValidNumber(number) ? 1 : 0;
        return CPN_OK;
    } catch (...) {
        return CPN_INVALID;
    }
}
