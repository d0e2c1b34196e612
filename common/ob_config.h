/*  ob_config - settings from the environment and an optional .env file.
 *
 *  The environment always wins: ob_config_load_env_file() only fills in
 *  variables that are not already set, so an operator (or a test) can point
 *  any process elsewhere. After loading, read settings with ob_config_get()
 *  and friends. Each process lists what it needs in an ob_config_spec_t table
 *  and calls ob_config_validate() at start-up, which prints one line per
 *  problem naming the variable (never its value) and returns the count.
 *
 *  Secrets (OB_CONFIG_SECRET, OB_CONFIG_CURVE_SECRET) may come from a file
 *  instead, as container secrets do: NAME_FILE=/run/secrets/name. The
 *  validation reads the file (trailing newlines dropped) into NAME, so the
 *  rest of the process reads NAME as usual; NAME and NAME_FILE both set is
 *  a problem, as is a file that cannot be read or is empty.
 */
#ifndef OB_CONFIG_H_INCLUDED
#define OB_CONFIG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
    OB_CONFIG_STRING,      /* any non-empty text */
    OB_CONFIG_INT,         /* a decimal integer within [min, max] */
    OB_CONFIG_URL,         /* http://... or https://... */
    OB_CONFIG_DB_URL,      /* postgres://, postgresql:// or a libpq key=value string */
    OB_CONFIG_REDIS_URL,   /* redis://host[:port][/db] */
    OB_CONFIG_BOOL,        /* true/false/1/0/yes/no */
    OB_CONFIG_ENDPOINT,    /* a ZeroMQ endpoint: tcp://host:port, ipc://..., inproc://... */
    OB_CONFIG_ENDPOINTS,   /* one or more ZeroMQ endpoints, comma-separated (ob_endpoint_list_problem) */
    OB_CONFIG_SECRET,      /* a key, token or password: no placeholder (ob_config_is_placeholder), at least min bytes */
    OB_CONFIG_CURVE_KEY,   /* a ZeroMQ CURVE public key: 40 characters of Z85 (common/ob_curve.h) */
    OB_CONFIG_CURVE_KEYS,  /* one or more CURVE public keys, comma-separated */
    OB_CONFIG_CURVE_SECRET /* a CURVE secret key (40 characters of Z85): a secret, like OB_CONFIG_SECRET */
} ob_config_kind_t;

typedef struct {
    const char *name; /* the variable, e.g. "DATABASE_URL" */
    ob_config_kind_t kind;
    bool required; /* missing is an error (empty counts as missing) */
    long min, max; /* for OB_CONFIG_INT; min: the shortest OB_CONFIG_SECRET (0 = any length) */
} ob_config_spec_t;

/*  Reads KEY=VALUE lines (comments, blank lines, optional quotes, "export ")
 *  from path and setenv()s those not already set. A missing file is fine.
 *  Returns 0, or -1 if the file exists but cannot be read. Call before any
 *  thread starts. */
int ob_config_load_env_file(const char *path);

/*  Loads $ENV_FILE, else ./.env. */
int ob_config_load(void);

/*  The value, or NULL when unset or empty. STRIPE_SECRET_KEY falls back to its
 *  alias STRIPE_API_KEY. The string is borrowed from the environment. */
const char *ob_config_get(const char *name);

/*  The value, or fallback when unset. */
const char *ob_config_str(const char *name, const char *fallback);

/*  The integer value, or fallback when unset or malformed (validate first). */
long ob_config_int(const char *name, long fallback);

/*  The boolean value, or fallback when unset or malformed. */
bool ob_config_bool(const char *name, bool fallback);

/*  True when value is (or holds) a placeholder an operator forgot to replace:
 *  "replace-me" (what .env.example ships, also inside "sk_test_replace-me"
 *  or a URL's password), "changeme", "change-me", "example-secret",
 *  "xxxxxxxx" (case-insensitive). Such values never work as live
 *  secrets: ob_config_validate refuses them for OB_CONFIG_SECRET, DB and
 *  Redis URLs. */
bool ob_config_is_placeholder(const char *value);

/*  Checks every spec; prints "config: NAME problem" lines to out. Loads
 *  NAME_FILE for secrets (above), so call it before any thread starts.
 *  Returns the number of problems (0 = all good). */
int ob_config_validate(const ob_config_spec_t *specs, size_t count, FILE *out);

#endif
