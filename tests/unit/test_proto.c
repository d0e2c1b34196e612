/*  proto: every message round-trips; malformed frames are rejected, never
 *  over-read (run under ASan). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ob_proto.h"
#include "proto/ob_wire.h"

static bool
s_same(ob_bytes_t a, ob_bytes_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/*  Packs into a heap copy of exactly the packed size, so ASan catches any over-read. */
static char *
s_pack_copy(int (*pack)(const void *, msgpack_sbuffer *), const void *msg, size_t *len)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    cr_assert_eq(pack(msg, &sb), 0);
    char *copy = malloc(sb.size);
    memcpy(copy, sb.data, sb.size);
    *len = sb.size;
    msgpack_sbuffer_destroy(&sb);
    return copy;
}

#define PACK_FN(type) ((int (*)(const void *, msgpack_sbuffer *))type##_pack)

Test(proto, envelope_round_trip)
{
    static const char payload[] = {0x01, 0x00, (char)0xff, 0x7f};
    ob_envelope_t in = {ob_bytes("stripe"), ob_bytes("webhook.ingest"), ob_bytes("req-1"),
                        1700000000123LL,    ob_bytes("trace-9"),        {payload, sizeof payload}};
    size_t len;
    char *frame = s_pack_copy(PACK_FN(ob_envelope), &in, &len);
    ob_envelope_t out;
    cr_assert_eq(ob_envelope_unpack(&out, frame, len), OB_PROTO_OK);
    cr_assert(s_same(out.service, in.service));
    cr_assert(s_same(out.method, in.method));
    cr_assert(s_same(out.request_id, in.request_id));
    cr_assert_eq(out.deadline_ms, in.deadline_ms);
    cr_assert(s_same(out.trace_id, in.trace_id));
    cr_assert(s_same(out.payload, in.payload));
    free(frame);
}

Test(proto, reply_round_trip_with_negative_and_absent_fields)
{
    ob_reply_t in = {.status = 503, .request_id = ob_bytes("r"), .body = ob_bytes("{\"a\":1}")};
    size_t len;
    char *frame = s_pack_copy(PACK_FN(ob_reply), &in, &len);
    ob_reply_t out;
    cr_assert_eq(ob_reply_unpack(&out, frame, len), OB_PROTO_OK);
    cr_assert_eq(out.status, 503);
    cr_assert(s_same(out.body, in.body));
    cr_assert_null(out.etag.ptr, "an absent field decodes as absent");
    free(frame);

    ob_stripe_webhook_t hook = {.body = ob_bytes("{}"), .signed_at = -5, .received_ms = INT64_MAX};
    frame = s_pack_copy(PACK_FN(ob_stripe_webhook), &hook, &len);
    ob_stripe_webhook_t hook_out;
    cr_assert_eq(ob_stripe_webhook_unpack(&hook_out, frame, len), OB_PROTO_OK);
    cr_assert_eq(hook_out.signed_at, -5);
    cr_assert_eq(hook_out.received_ms, INT64_MAX);
    free(frame);
}

Test(proto, call_and_lago_round_trip_with_empty_strings)
{
    ob_call_t in = {ob_bytes("user_1"), ob_bytes("user"), ob_bytes(""), ob_bytes("starter"), ob_bytes("a=1&b=2"), ob_bytes("")};
    size_t len;
    char *frame = s_pack_copy(PACK_FN(ob_call), &in, &len);
    ob_call_t out;
    cr_assert_eq(ob_call_unpack(&out, frame, len), OB_PROTO_OK);
    cr_assert(s_same(out.principal, in.principal));
    cr_assert_not_null(out.email.ptr, "present-but-empty stays present");
    cr_assert_eq(out.email.len, 0);
    cr_assert(s_same(out.query, in.query));
    free(frame);

    ob_lago_webhook_t hook = {ob_bytes("key-1"), ob_bytes("{\"webhook_type\":\"x\"}"), 42};
    frame = s_pack_copy(PACK_FN(ob_lago_webhook), &hook, &len);
    ob_lago_webhook_t hook_out;
    cr_assert_eq(ob_lago_webhook_unpack(&hook_out, frame, len), OB_PROTO_OK);
    cr_assert(s_same(hook_out.unique_key, hook.unique_key));
    cr_assert_eq(hook_out.received_ms, 42);
    free(frame);
}

Test(proto, every_truncation_is_rejected)
{
    ob_envelope_t in = {ob_bytes("lago"), ob_bytes("usage.ingest"), ob_bytes("id"), 99, ob_bytes("t"), ob_bytes("xyz")};
    size_t len;
    char *frame = s_pack_copy(PACK_FN(ob_envelope), &in, &len);
    for (size_t cut = 0; cut < len; cut++) {
        char *prefix = malloc(cut ? cut : 1);
        memcpy(prefix, frame, cut);
        ob_envelope_t out;
        cr_assert_neq(ob_envelope_unpack(&out, prefix, cut), OB_PROTO_OK, "truncated at %zu accepted", cut);
        free(prefix);
    }
    free(frame);
}

Test(proto, trailing_garbage_is_rejected)
{
    ob_reply_t in = {.status = 200, .body = ob_bytes("{}")};
    size_t len;
    char *frame = s_pack_copy(PACK_FN(ob_reply), &in, &len);
    char *longer = malloc(len + 1);
    memcpy(longer, frame, len);
    longer[len] = (char)0xc0;
    ob_reply_t out;
    cr_assert_eq(ob_reply_unpack(&out, longer, len + 1), OB_PROTO_MALFORMED);
    free(longer);
    free(frame);
}

Test(proto, oversized_frame_is_rejected_before_decoding)
{
    size_t len = OB_PROTO_MAX_FRAME + 1;
    char *big = calloc(1, len);
    ob_reply_t out;
    cr_assert_eq(ob_reply_unpack(&out, big, len), OB_PROTO_TOO_LARGE);
    free(big);
}

struct bad_frame {
    const char *name;
    const char *bytes;
    size_t len;
    ob_proto_err_t expected;
};

/*  Hand-made frames: each claims more than it carries, or has the wrong shape. */
static const struct bad_frame s_bad_frames[] = {
    {"array32 claiming 4G elements", "\xdd\xff\xff\xff\xff", 5, OB_PROTO_MALFORMED},
    {"array32 claiming 67M elements", "\xdd\x04\x00\x00\x00", 5, OB_PROTO_MALFORMED},
    {"map32 claiming 4G pairs", "\xdf\xff\xff\xff\xff", 5, OB_PROTO_MALFORMED},
    {"str8 longer than the frame",
     "\x81\x01\xd9\xff"
     "abc",
     7, OB_PROTO_MALFORMED},
    {"bin32 longer than the frame",
     "\x81\x06\xc6\x7f\xff\xff\xff"
     "x",
     8, OB_PROTO_MALFORMED},
    {"fixstr cut short",
     "\x81\x01\xaa"
     "abc",
     6, OB_PROTO_MALFORMED},
    {"never-used byte 0xc1", "\x81\x01\xc1", 3, OB_PROTO_MALFORMED},
    {"not a map", "\x93\x01\x02\x03", 4, OB_PROTO_NOT_A_MAP},
    {"a bare integer", "\x2a", 1, OB_PROTO_NOT_A_MAP},
    {"empty frame", "", 0, OB_PROTO_MALFORMED},
    {"string where an integer belongs", "\x81\x04\xa1x", 4, OB_PROTO_WRONG_TYPE},
    {"integer where a string belongs", "\x81\x01\x05", 3, OB_PROTO_WRONG_TYPE},
    {"map where bytes belong", "\x81\x06\x80", 3, OB_PROTO_WRONG_TYPE},
    {"uint64 above INT64_MAX", "\x81\x04\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 11, OB_PROTO_WRONG_TYPE},
    {"nested 40 deep",
     "\x81\x63\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
     "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x90",
     43, OB_PROTO_MALFORMED},
};

Test(proto, malformed_frames_are_rejected_with_a_reason)
{
    for (size_t i = 0; i < sizeof s_bad_frames / sizeof s_bad_frames[0]; i++) {
        const struct bad_frame *bad = &s_bad_frames[i];
        char *copy = malloc(bad->len ? bad->len : 1);
        memcpy(copy, bad->bytes, bad->len);
        ob_envelope_t out;
        ob_proto_err_t err = ob_envelope_unpack(&out, copy, bad->len);
        cr_expect_eq(err, bad->expected, "%s: got %s", bad->name, ob_proto_strerror(err));
        free(copy);
    }
}

Test(proto, unknown_keys_are_skipped)
{
    /* {1:"stripe", 99:[1,2], "x":nil} */
    static const char frame[] = "\x83\x01\xa6stripe\x63\x92\x01\x02\xa1x\xc0";
    ob_envelope_t out;
    cr_assert_eq(ob_envelope_unpack(&out, frame, sizeof frame - 1), OB_PROTO_OK);
    cr_assert(ob_bytes_eq(out.service, "stripe"));
}

Test(proto, service_names)
{
    cr_assert_str_eq(ob_wire_service_name(OB_SERVICE_LAGO), "lago");
    cr_assert_eq(ob_wire_service_find("subscription", 12), OB_SERVICE_SUBSCRIPTION);
    cr_assert_eq(ob_wire_service_find("subscriptions", 13), -1);
    cr_assert_null(ob_wire_service_name(OB_SERVICE_COUNT));
}
