/*  ob_catalogue - the plan catalogue file (deploy/plans.json format): read
 *  and validated the same way by the subscription-worker (which loads it into
 *  the plans table it owns) and by `billing-admin setup-stripe` / `verify`
 *  (which create the matching Stripe products and prices).
 */
#ifndef OB_CATALOGUE_H_INCLUDED
#define OB_CATALOGUE_H_INCLUDED

#include <jansson.h>
#include <stddef.h>

/*  Reads and validates the catalogue file. Prints the problem to stderr
 *  and returns NULL when the file cannot be read or is not valid; else a
 *  new reference the caller decrefs. */
json_t *ob_catalogue_read_file(const char *path);

/*  Checks a parsed catalogue; writes the first problem to problem (cap
 *  bytes). Returns 0 when it is valid. */
int ob_catalogue_validate(const json_t *catalogue, char *problem, size_t cap);

#endif
