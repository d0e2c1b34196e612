/*  ob_json - the JSON shapes every process answers with (jansson inside).
 *
 *  Errors are always {"error":{"code":"...","message":"..."}}: the code is a
 *  stable snake_case word a program can switch on, the message a sentence for
 *  a person.
 */
#ifndef OB_JSON_H_INCLUDED
#define OB_JSON_H_INCLUDED

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/*  Writes the error body into buf (always NUL-terminated, truncated to cap
 *  with the JSON still valid). Returns its length. */
size_t ob_json_error(char *buf, size_t cap, const char *code, const char *message);

/*  A new malloc'd error body (caller frees), or NULL on OOM. */
char *ob_json_error_new(const char *code, const char *message, size_t *len_out);

/*  Parses a JSON object from bytes. Returns NULL (and a reason in
 *  reason_out, a static string) when it is not a JSON object. Depth and
 *  size are bounded by the caller's body limit. */
json_t *ob_json_parse_object(const char *data, size_t len, const char **reason_out);

/*  The string member's value, or NULL when absent or not a string. */
const char *ob_json_str(const json_t *object, const char *key);

/*  Unix seconds as ISO 8601 UTC ("2025-01-31T12:00:00Z"), or JSON null for
 *  0 or less. A new reference. */
json_t *ob_json_time(int64_t unix_s);

/*  The reverse, for what callers send: a JSON string "2027-01-31T00:00:00Z"
 *  as Unix seconds; -1 for anything else (another shape, not a string). */
int64_t ob_json_utc(const json_t *value);

/*  An operator's audited "reason" member of body: 1 to 500 bytes, or NULL. */
const char *ob_json_reason(const json_t *body);

/*  Compact dump (caller frees), NULL on OOM. */
char *ob_json_dump(const json_t *value, size_t *len_out);

#endif
