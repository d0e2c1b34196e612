/*  ob_bounds - the bounds on every id, key and timestamp taken from outside.
 *
 *  One table for the whole system (docs/internals/bounds.md says why each
 *  number): a value past its bound is refused where it enters, before
 *  anything is committed, so it can never reach an index, a primary key or a
 *  timestamp column and fail there for ever. Pure functions, no allocation.
 */
#ifndef OB_BOUNDS_H_INCLUDED
#define OB_BOUNDS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  Ids and keys: user ids (JWT sub, metadata.user_id), Stripe object ids
 *  (evt_, sub_, cus_, price_, si_), plan ids, path parameters. Stripe's own
 *  ids are far shorter; 255 bytes stays well under Postgres' btree row
 *  limit (2704 bytes) in every composite index. */
#define OB_BOUND_ID_MAX 255

/*  Other text from outside kept in rows (emails, invoice URLs, billing
 *  reasons, currency and status words). */
#define OB_BOUND_TEXT_MAX 2048

/*  Unix seconds: 0 (1970) to 253402300799 (9999-12-31T23:59:59Z), inside
 *  what Postgres' timestamptz and to_timestamp() accept. */
#define OB_BOUND_TIME_MIN 0
#define OB_BOUND_TIME_MAX INT64_C(253402300799)

typedef enum {
    OB_BOUND_OK,
    OB_BOUND_EMPTY,    /* zero bytes where a value is required */
    OB_BOUND_TOO_LONG, /* over the bound */
    OB_BOUND_NOT_UTF8, /* not valid UTF-8 (overlong forms and surrogates included) */
    OB_BOUND_CONTROL   /* a C0 control byte (NUL included) or DEL */
} ob_bound_verdict_t;

/*  Checks len bytes at text (not NUL-terminated): 1..max bytes of valid
 *  UTF-8 without control characters. */
ob_bound_verdict_t ob_bounds_check_text(const char *text, size_t len, size_t max);

/*  True when unix_s is within [OB_BOUND_TIME_MIN, OB_BOUND_TIME_MAX]. */
bool ob_bounds_time_ok(int64_t unix_s);

/*  A short phrase for the verdict ("is longer than allowed", ...), static. */
const char *ob_bounds_reason(ob_bound_verdict_t verdict);

#endif
