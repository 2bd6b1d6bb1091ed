// SHA256_Init/Update/Final are deprecated in OpenSSL 3 but kept: their context is a plain
// struct that can be copied, which is what a precomputed HMAC key needs.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
