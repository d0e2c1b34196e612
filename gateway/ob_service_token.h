/*  ob_service_token - static bearer tokens for internal services and the admin.
 *
 *  SERVICE_TOKENS is a comma-separated list so a token can be rolled without
 *  downtime: add the new one, move the callers over, drop the old one.
 *  ADMIN_TOKEN goes through the same check as a one-element list.
 *
 *  Pure functions: no allocation, no I/O, no locks; safe on any thread.
 *  Inputs are (pointer, length) views as h2o hands them over, never assumed to
 *  be NUL-terminated.
 */
#ifndef OB_SERVICE_TOKEN_H_INCLUDED
#define OB_SERVICE_TOKEN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

/*  Presented tokens longer than this are refused without comparing. */
#define OB_SERVICE_TOKEN_MAX_LEN 4096

/*  True when presented[0..len) equals one of the tokens in tokens_csv.
 *
 *  Entries are separated by commas; spaces and tabs around an entry are
 *  ignored and empty entries never match (so "a,,b" or a trailing comma can
 *  never admit an empty token). The comparison is constant-time with respect
 *  to the configured tokens: both sides are hashed with SHA-256 and every
 *  configured entry is compared with CRYPTO_memcmp, with no early exit on the
 *  first match, so neither the position of a match nor a matching prefix shows
 *  in the timing. NULL or empty inputs give false. */
bool ob_service_token_check(const char *tokens_csv, const char *presented, size_t len);

/*  Finds the credentials in an Authorization header value of the form
 *  "Bearer <token>". The scheme is case-insensitive (RFC 9110 11.1), separated
 *  from the token by one or more spaces; surrounding whitespace is ignored.
 *  The token must be non-empty visible ASCII with no inner whitespace.
 *  On success sets *token / *token_len to a view into authz and returns 0;
 *  returns -1 (outputs untouched) when the value is not a usable Bearer
 *  credential. */
int ob_service_token_parse_bearer(const char *authz, size_t len, const char **token, size_t *token_len);

#endif
