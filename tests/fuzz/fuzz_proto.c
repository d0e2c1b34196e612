/*  fuzz_proto - the msgpack frame decoder (proto/ob_proto.c).
 *
 *  Input: one frame, as a worker or the broker receives it. Every message
 *  type decodes it; a frame that decodes packs again and that packing
 *  decodes to the same fields (the codec is its own inverse).
 */
#include <stdbool.h>
#include <string.h>

#include "proto/ob_proto.h"
#include "tests/fuzz/fuzz_util.h"

static bool
s_bytes_equal(ob_bytes_t a, ob_bytes_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

#define FIELD_EQUAL_STR(a, b) s_bytes_equal(a, b)
#define FIELD_EQUAL_BIN(a, b) s_bytes_equal(a, b)
#define FIELD_EQUAL_I64(a, b) ((a) == (b))
#define FIELD_EQUAL_BOOL(a, b) ((a) == (b))
#define FIELD_CHECK(key, kind, name) FUZZ_CHECK(FIELD_EQUAL_##kind(first.name, again.name));

#define ROUND_TRIP(type, FIELDS)                                                                                                   \
    {                                                                                                                              \
        type##_t first;                                                                                                            \
        memset(&first, 0, sizeof first);                                                                                           \
        if (type##_unpack(&first, data, len) == OB_PROTO_OK) {                                                                     \
            FUZZ_CHECK(scan == OB_PROTO_OK);                                                                                       \
            msgpack_sbuffer out;                                                                                                   \
            msgpack_sbuffer_init(&out);                                                                                            \
            FUZZ_CHECK(type##_pack(&first, &out) == 0);                                                                            \
            type##_t again;                                                                                                        \
            memset(&again, 0, sizeof again);                                                                                       \
            FUZZ_CHECK(type##_unpack(&again, out.data, out.size) == OB_PROTO_OK);                                                  \
            FIELDS(FIELD_CHECK)                                                                                                    \
            msgpack_sbuffer_destroy(&out);                                                                                         \
        }                                                                                                                          \
    }

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    ob_proto_err_t scan = ob_proto_scan(data, len);
    OB_PROTO_MESSAGES(ROUND_TRIP)
    return 0;
}
