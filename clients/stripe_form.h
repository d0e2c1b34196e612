/*  stripe_form - builds Stripe's request encoding.
 *
 *  Stripe takes application/x-www-form-urlencoded bodies (and query strings)
 *  whose keys nest with brackets: `metadata[user_id]=42`,
 *  `line_items[0][price]=price_1`, `subscription_data[metadata][plan_id]=pro`.
 *  Callers write keys in that bracket notation; the builder checks their
 *  shape, percent-encodes keys and values per RFC 3986 (everything except
 *  A-Z a-z 0-9 - . _ ~ becomes %XX, so brackets go out as %5B/%5D and a
 *  space as %20, which Stripe decodes like the literal forms) and joins the
 *  pairs with '&' in the order added.
 *
 *  Errors are sticky: when an add fails (bad key, NULL value, out of memory)
 *  it returns -1 and stripe_form_body() returns NULL from then on, so a
 *  caller can add every field and check once.
 */
#ifndef STRIPE_FORM_H_INCLUDED
#define STRIPE_FORM_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

typedef struct _stripe_form_t stripe_form_t;

/*  An empty form; NULL when out of memory. */
stripe_form_t *stripe_form_new(void);

/*  NULL-safe; nulls the pointer. */
void stripe_form_destroy(stripe_form_t **self_p);

/*  Appends key=value. key is a name of [A-Za-z0-9_.-] followed by zero or
 *  more "[segment]" parts, where a segment is such a name, an index, or empty
 *  ("expand[]"). value may be "" (Stripe reads that as "unset"), not NULL.
 *  Returns 0, or -1 (and the form is marked failed). */
int stripe_form_add(stripe_form_t *self, const char *key, const char *value);

/*  Like stripe_form_add with a printf-formatted key, for indexed lists:
 *  stripe_form_addf(f, price, "line_items[%d][price]", 0). */
int stripe_form_addf(stripe_form_t *self, const char *value, const char *key_fmt, ...) __attribute__((format(printf, 3, 4)));

/*  key=<decimal integer>. */
int stripe_form_add_int(stripe_form_t *self, const char *key, long long value);

/*  key=true or key=false. */
int stripe_form_add_bool(stripe_form_t *self, const char *key, bool value);

/*  The encoded pairs ("" when none were added), NUL-terminated; its length
 *  in *len when len is not NULL. Borrowed: valid until the next add or
 *  destroy. NULL when any add has failed. */
const char *stripe_form_body(const stripe_form_t *self, size_t *len);

/*  Percent-encodes src (RFC 3986 unreserved set kept) into a new string the
 *  caller frees; NULL when out of memory. Used for path segments too. */
char *stripe_form_escape(const char *src);

#endif
