/*  ob_proto - msgpack codec for the messages in ob_messages.def.
 *
 *  Each message is a msgpack map with small-integer keys. For every
 *  MESSAGE(name, FIELDS) this header declares:
 *
 *      typedef struct { ... } name_t;
 *      int name_pack(const name_t *msg, msgpack_sbuffer *out);
 *      ob_proto_err_t name_unpack(name_t *msg, const void *data, size_t len);
 *
 *  Decoded STR and BIN fields are borrowed views into `data`: the buffer must
 *  outlive every use of the message. Absent fields decode as zero / empty.
 *  unpack never reads past len, never allocates more than a bounded amount,
 *  and rejects truncated frames, trailing bytes, wrong types and frames over
 *  OB_PROTO_MAX_FRAME.
 */
#ifndef OB_PROTO_H_INCLUDED
#define OB_PROTO_H_INCLUDED

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OB_PROTO_MAX_FRAME (2u * 1024u * 1024u)
#define OB_PROTO_MAX_DEPTH 16

/*  A borrowed byte string: not NUL-terminated. */
typedef struct {
    const char *ptr;
    size_t len;
} ob_bytes_t;

typedef enum {
    OB_PROTO_OK = 0,
    OB_PROTO_TOO_LARGE,  /* frame over OB_PROTO_MAX_FRAME */
    OB_PROTO_MALFORMED,  /* not msgpack, truncated, trailing bytes, too deep */
    OB_PROTO_NOT_A_MAP,  /* the top level is not a map */
    OB_PROTO_WRONG_TYPE, /* a known key holds the wrong kind of value */
    OB_PROTO_NO_MEMORY
} ob_proto_err_t;

typedef enum { OB_PROTO_STR, OB_PROTO_BIN, OB_PROTO_I64, OB_PROTO_BOOL } ob_proto_kind_t;

typedef struct {
    uint8_t key;
    ob_proto_kind_t kind;
    size_t offset;
    const char *name;
} ob_proto_field_t;

#define OB_PROTO_CTYPE_STR ob_bytes_t
#define OB_PROTO_CTYPE_BIN ob_bytes_t
#define OB_PROTO_CTYPE_I64 int64_t
#define OB_PROTO_CTYPE_BOOL bool

#include "proto/ob_messages.def"

#define OB_PROTO_STRUCT_FIELD(key, kind, name) OB_PROTO_CTYPE_##kind name;
#define OB_PROTO_DECLARE(type, FIELDS)                                                                                             \
    typedef struct {                                                                                                               \
        FIELDS(OB_PROTO_STRUCT_FIELD)                                                                                              \
    } type##_t;                                                                                                                    \
    int type##_pack(const type##_t *msg, msgpack_sbuffer *out);                                                                    \
    ob_proto_err_t type##_unpack(type##_t *msg, const void *data, size_t len);
OB_PROTO_MESSAGES(OB_PROTO_DECLARE)
#undef OB_PROTO_DECLARE

/*  The generic codec behind the generated functions. */
int ob_proto_pack(const ob_proto_field_t *fields, size_t count, const void *msg, msgpack_sbuffer *out);
ob_proto_err_t ob_proto_unpack(const ob_proto_field_t *fields, size_t count, void *msg, const void *data, size_t len);

/*  Checks that data[0..len) is exactly one well-formed msgpack object whose
 *  container sizes fit in the bytes present; returns OB_PROTO_OK or why not. */
ob_proto_err_t ob_proto_scan(const void *data, size_t len);

/*  A view of a NUL-terminated string (NULL gives an empty view). */
static inline ob_bytes_t
ob_bytes(const char *s)
{
    ob_bytes_t b = {s, 0};
    if (s)
        while (s[b.len])
            b.len++;
    return b;
}

/*  True when the view equals the NUL-terminated string s. */
bool ob_bytes_eq(ob_bytes_t b, const char *s);

/*  A malloc'd NUL-terminated copy of the view (caller frees), NULL on OOM. */
char *ob_bytes_strdup(ob_bytes_t b);

const char *ob_proto_strerror(ob_proto_err_t err);

#endif
