/*  ob_proto - msgpack codec for the messages in ob_messages.def.
 *
 *  msgpack-c trusts a container's claimed size and reserves memory for it
 *  before reading a single element, so every frame is first walked by
 *  ob_proto_scan(), which checks each claimed size against the bytes that are
 *  actually there. Only then is it handed to msgpack_unpack_next().
 */
#include "proto/ob_proto.h"

#include <stdlib.h>
#include <string.h>

/* --- structural scan ---------------------------------------------------- */

static uint64_t
s_be(const uint8_t *p, int width)
{
    uint64_t value = 0;
    for (int i = 0; i < width; i++)
        value = (value << 8) | p[i];
    return value;
}

/*  Returns the position after the object at p, or NULL if it is malformed,
 *  truncated, or nested deeper than OB_PROTO_MAX_DEPTH. */
static const uint8_t *
s_scan(const uint8_t *p, const uint8_t *end, int depth)
{
    if (p >= end || depth > OB_PROTO_MAX_DEPTH)
        return NULL;
    uint8_t tag = *p++;
    uint64_t skip = 0, items = 0;
    int width = 0;

    if (tag <= 0x7f || tag >= 0xe0 || tag == 0xc0 || tag == 0xc2 || tag == 0xc3)
        return p;
    if ((tag & 0xe0) == 0xa0) {
        skip = tag & 0x1f;
    } else if ((tag & 0xf0) == 0x90) {
        items = tag & 0x0f;
    } else if ((tag & 0xf0) == 0x80) {
        items = 2u * (tag & 0x0f);
    } else {
        switch (tag) {
        case 0xcc:
        case 0xd0:
            skip = 1;
            break;
        case 0xcd:
        case 0xd1:
            skip = 2;
            break;
        case 0xca:
        case 0xce:
        case 0xd2:
            skip = 4;
            break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
            skip = 8;
            break;
        case 0xd4:
            skip = 2;
            break; /* fixext: type byte + data */
        case 0xd5:
            skip = 3;
            break;
        case 0xd6:
            skip = 5;
            break;
        case 0xd7:
            skip = 9;
            break;
        case 0xd8:
            skip = 17;
            break;
        case 0xc4:
        case 0xd9:
            width = 1;
            break;
        case 0xc5:
        case 0xda:
            width = 2;
            break;
        case 0xc6:
        case 0xdb:
            width = 4;
            break;
        case 0xc7:
        case 0xc8:
        case 0xc9: { /* ext 8/16/32: length, type, data */
            int w = tag == 0xc7 ? 1 : tag == 0xc8 ? 2 : 4;
            if ((size_t)(end - p) < (size_t)w + 1)
                return NULL;
            skip = s_be(p, w) + 1;
            p += w;
            break;
        }
        case 0xdc:
        case 0xdd:
        case 0xde:
        case 0xdf: {
            int w = (tag == 0xdc || tag == 0xde) ? 2 : 4;
            if ((size_t)(end - p) < (size_t)w)
                return NULL;
            items = s_be(p, w);
            if (tag >= 0xde)
                items *= 2;
            p += w;
            break;
        }
        default:
            return NULL; /* 0xc1 is never used */
        }
    }
    if (width) {
        if ((size_t)(end - p) < (size_t)width)
            return NULL;
        skip = s_be(p, width);
        p += width;
    }
    if (skip > (uint64_t)(end - p))
        return NULL;
    p += skip;
    /* Every element takes at least one byte, so a claim beyond the bytes left is a lie. */
    if (items > (uint64_t)(end - p))
        return NULL;
    for (uint64_t i = 0; i < items; i++)
        if (!(p = s_scan(p, end, depth + 1)))
            return NULL;
    return p;
}

ob_proto_err_t
ob_proto_scan(const void *data, size_t len)
{
    if (len > OB_PROTO_MAX_FRAME)
        return OB_PROTO_TOO_LARGE;
    if (!data || len == 0)
        return OB_PROTO_MALFORMED;
    const uint8_t *start = data, *end = start + len;
    const uint8_t *after = s_scan(start, end, 0);
    return after == end ? OB_PROTO_OK : OB_PROTO_MALFORMED;
}

/* --- generic codec ------------------------------------------------------ */

int
ob_proto_pack(const ob_proto_field_t *fields, size_t count, const void *msg, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    const char *base = msg;
    size_t present = 0;
    for (size_t i = 0; i < count; i++) {
        const void *at = base + fields[i].offset;
        if ((fields[i].kind == OB_PROTO_STR || fields[i].kind == OB_PROTO_BIN) && !((const ob_bytes_t *)at)->ptr)
            continue;
        present++;
    }
    int rc = msgpack_pack_map(&pk, present);
    for (size_t i = 0; i < count && rc == 0; i++) {
        const void *at = base + fields[i].offset;
        const ob_bytes_t *bytes = at;
        switch (fields[i].kind) {
        case OB_PROTO_STR:
            if (!bytes->ptr)
                continue;
            rc = msgpack_pack_uint8(&pk, fields[i].key) || msgpack_pack_str_with_body(&pk, bytes->ptr, bytes->len);
            break;
        case OB_PROTO_BIN:
            if (!bytes->ptr)
                continue;
            rc = msgpack_pack_uint8(&pk, fields[i].key) || msgpack_pack_bin_with_body(&pk, bytes->ptr, bytes->len);
            break;
        case OB_PROTO_I64:
            rc = msgpack_pack_uint8(&pk, fields[i].key) || msgpack_pack_int64(&pk, *(const int64_t *)at);
            break;
        case OB_PROTO_BOOL:
            rc = msgpack_pack_uint8(&pk, fields[i].key) || (*(const bool *)at ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk));
            break;
        }
    }
    return rc == 0 ? 0 : -1;
}

static ob_proto_err_t
s_read_field(const ob_proto_field_t *field, void *at, const msgpack_object *value)
{
    switch (field->kind) {
    case OB_PROTO_STR:
    case OB_PROTO_BIN: {
        ob_bytes_t *bytes = at;
        if (value->type == MSGPACK_OBJECT_STR) {
            bytes->ptr = value->via.str.ptr;
            bytes->len = value->via.str.size;
        } else if (value->type == MSGPACK_OBJECT_BIN) {
            bytes->ptr = value->via.bin.ptr;
            bytes->len = value->via.bin.size;
        } else if (value->type == MSGPACK_OBJECT_NIL) {
            bytes->ptr = NULL;
            bytes->len = 0;
        } else {
            return OB_PROTO_WRONG_TYPE;
        }
        /* An empty str may come back with a NULL pointer; keep "present but empty" distinct from absent. */
        if (value->type != MSGPACK_OBJECT_NIL && !bytes->ptr)
            bytes->ptr = "";
        return OB_PROTO_OK;
    }
    case OB_PROTO_I64:
        if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            if (value->via.u64 > INT64_MAX)
                return OB_PROTO_WRONG_TYPE;
            *(int64_t *)at = (int64_t)value->via.u64;
        } else if (value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
            *(int64_t *)at = value->via.i64;
        } else {
            return OB_PROTO_WRONG_TYPE;
        }
        return OB_PROTO_OK;
    case OB_PROTO_BOOL:
        if (value->type != MSGPACK_OBJECT_BOOLEAN)
            return OB_PROTO_WRONG_TYPE;
        *(bool *)at = value->via.boolean;
        return OB_PROTO_OK;
    }
    return OB_PROTO_WRONG_TYPE;
}

ob_proto_err_t
ob_proto_unpack(const ob_proto_field_t *fields, size_t count, void *msg, const void *data, size_t len)
{
    ob_proto_err_t err = ob_proto_scan(data, len);
    if (err != OB_PROTO_OK)
        return err;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    size_t offset = 0;
    msgpack_unpack_return rc = msgpack_unpack_next(&unpacked, data, len, &offset);
    if (rc == MSGPACK_UNPACK_NOMEM_ERROR)
        err = OB_PROTO_NO_MEMORY;
    else if (rc != MSGPACK_UNPACK_SUCCESS || offset != len)
        err = OB_PROTO_MALFORMED;
    else if (unpacked.data.type != MSGPACK_OBJECT_MAP)
        err = OB_PROTO_NOT_A_MAP;
    const msgpack_object_map *map = &unpacked.data.via.map;
    for (uint32_t i = 0; err == OB_PROTO_OK && i < map->size; i++) {
        const msgpack_object *key = &map->ptr[i].key;
        if (key->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            continue; /* not ours: skip, as with unknown keys */
        for (size_t f = 0; f < count; f++)
            if (fields[f].key == key->via.u64) {
                err = s_read_field(&fields[f], (char *)msg + fields[f].offset, &map->ptr[i].val);
                break;
            }
    }
    msgpack_unpacked_destroy(&unpacked);
    return err;
}

/* --- generated per-message functions ------------------------------------ */

/*  Each message's field table lives inside a function so that a local typedef
 *  lets the one row macro name the right struct. */
#define OB_PROTO_ROW(key, kind, name) {key, OB_PROTO_##kind, offsetof(msg_t, name), #name},
#define OB_PROTO_DEFINE(type, FIELDS)                                                                                              \
    static const ob_proto_field_t *s_##type##_fields(size_t *count)                                                                \
    {                                                                                                                              \
        typedef type##_t msg_t;                                                                                                    \
        static const ob_proto_field_t fields[] = {FIELDS(OB_PROTO_ROW)};                                                           \
        *count = sizeof fields / sizeof fields[0];                                                                                 \
        return fields;                                                                                                             \
    }                                                                                                                              \
    int type##_pack(const type##_t *msg, msgpack_sbuffer *out)                                                                     \
    {                                                                                                                              \
        size_t count;                                                                                                              \
        const ob_proto_field_t *fields = s_##type##_fields(&count);                                                                \
        return ob_proto_pack(fields, count, msg, out);                                                                             \
    }                                                                                                                              \
    ob_proto_err_t type##_unpack(type##_t *msg, const void *data, size_t len)                                                      \
    {                                                                                                                              \
        size_t count;                                                                                                              \
        const ob_proto_field_t *fields = s_##type##_fields(&count);                                                                \
        memset(msg, 0, sizeof *msg);                                                                                               \
        return ob_proto_unpack(fields, count, msg, data, len);                                                                     \
    }

OB_PROTO_MESSAGES(OB_PROTO_DEFINE)

/* --- helpers ------------------------------------------------------------ */

bool
ob_bytes_eq(ob_bytes_t b, const char *s)
{
    size_t len = strlen(s);
    return b.len == len && (len == 0 || memcmp(b.ptr, s, len) == 0);
}

char *
ob_bytes_strdup(ob_bytes_t b)
{
    char *copy = malloc(b.len + 1);
    if (!copy)
        return NULL;
    if (b.len)
        memcpy(copy, b.ptr, b.len);
    copy[b.len] = '\0';
    return copy;
}

const char *
ob_proto_strerror(ob_proto_err_t err)
{
    switch (err) {
    case OB_PROTO_OK:
        return "ok";
    case OB_PROTO_TOO_LARGE:
        return "frame too large";
    case OB_PROTO_MALFORMED:
        return "malformed frame";
    case OB_PROTO_NOT_A_MAP:
        return "frame is not a map";
    case OB_PROTO_WRONG_TYPE:
        return "field has the wrong type";
    case OB_PROTO_NO_MEMORY:
        return "out of memory";
    }
    return "unknown";
}
