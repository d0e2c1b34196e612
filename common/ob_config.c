/*  ob_config - settings from the environment and an optional .env file. */
#include "common/ob_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/ob_curve.h"
#include "common/ob_endpoint.h"

static char *
s_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

int
ob_config_load_env_file(const char *path)
{
    FILE *file = fopen(path, "r");
    if (!file)
        return errno == ENOENT ? 0 : -1;
    char line[4096];
    while (fgets(line, sizeof line, file)) {
        char *text = s_trim(line);
        if (*text == '\0' || *text == '#')
            continue;
        if (strncmp(text, "export ", 7) == 0)
            text = s_trim(text + 7);
        char *eq = strchr(text, '=');
        if (!eq)
            continue;
        *eq = '\0';
        char *name = s_trim(text);
        char *value = s_trim(eq + 1);
        size_t len = strlen(value);
        if (len >= 2 && (value[0] == '"' || value[0] == '\'') && value[len - 1] == value[0]) {
            value[len - 1] = '\0';
            value++;
        }
        if (*name)
            setenv(name, value, 0);
    }
    fclose(file);
    return 0;
}

int
ob_config_load(void)
{
    const char *path = getenv("ENV_FILE");
    return ob_config_load_env_file(path && *path ? path : ".env");
}

const char *
ob_config_get(const char *name)
{
    const char *value = getenv(name);
    if ((!value || !*value) && strcmp(name, "STRIPE_SECRET_KEY") == 0)
        value = getenv("STRIPE_API_KEY");
    return value && *value ? value : NULL;
}

const char *
ob_config_str(const char *name, const char *fallback)
{
    const char *value = ob_config_get(name);
    return value ? value : fallback;
}

static bool
s_parse_long(const char *text, long *out)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0')
        return false;
    *out = value;
    return true;
}

long
ob_config_int(const char *name, long fallback)
{
    const char *value = ob_config_get(name);
    long parsed;
    return value && s_parse_long(value, &parsed) ? parsed : fallback;
}

static int
s_parse_bool(const char *text)
{
    static const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0)
            return 1;
        if (strcasecmp(text, no[i]) == 0)
            return 0;
    }
    return -1;
}

bool
ob_config_bool(const char *name, bool fallback)
{
    const char *value = ob_config_get(name);
    int parsed = value ? s_parse_bool(value) : -1;
    return parsed < 0 ? fallback : parsed == 1;
}

static bool
s_has_prefix(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

bool
ob_config_is_placeholder(const char *value)
{
    static const char *const placeholders[] = {"replace-me", "replace_me", "changeme", "change-me", "example-secret", "xxxxxxxx"};
    if (!value)
        return false;
    for (size_t i = 0; i < sizeof placeholders / sizeof placeholders[0]; i++)
        if (strcasestr(value, placeholders[i]))
            return true;
    return false;
}

/*  Returns NULL when value fits the spec, else a short reason. */
static const char *
s_check(const ob_config_spec_t *spec, const char *value)
{
    long number;
    switch (spec->kind) {
    case OB_CONFIG_STRING:
        return NULL;
    case OB_CONFIG_INT:
        if (!s_parse_long(value, &number))
            return "must be an integer";
        if (number < spec->min || number > spec->max)
            return "is out of range";
        return NULL;
    case OB_CONFIG_URL:
        if (!(s_has_prefix(value, "http://") || s_has_prefix(value, "https://")) || strlen(value) < 10)
            return "must be an http:// or https:// URL";
        return NULL;
    case OB_CONFIG_SECRET:
        if (ob_config_is_placeholder(value))
            return "holds a placeholder from .env.example: set a real secret";
        if (spec->min > 0 && strlen(value) < (size_t)spec->min)
            return spec->min >= 32 ? "is too short: at least 32 bytes (256 bits) are required" : "is too short";
        return NULL;
    case OB_CONFIG_DB_URL:
        if (ob_config_is_placeholder(value))
            return "holds a placeholder password from .env.example";
        if (s_has_prefix(value, "postgres://") || s_has_prefix(value, "postgresql://") || strchr(value, '='))
            return NULL;
        return "must be a postgres:// URL or a libpq connection string";
    case OB_CONFIG_REDIS_URL:
        if (ob_config_is_placeholder(value))
            return "holds a placeholder password from .env.example";
        if (!s_has_prefix(value, "redis://") || strlen(value) <= strlen("redis://"))
            return "must be a redis://host:port URL";
        return NULL;
    case OB_CONFIG_BOOL:
        return s_parse_bool(value) < 0 ? "must be true or false" : NULL;
    case OB_CONFIG_ENDPOINT:
        return ob_endpoint_problem(value);
    case OB_CONFIG_ENDPOINTS:
        return ob_endpoint_list_problem(value);
    case OB_CONFIG_CURVE_KEY:
    case OB_CONFIG_CURVE_SECRET:
        return ob_curve_key_problem(value);
    case OB_CONFIG_CURVE_KEYS:
        return ob_curve_keys_problem(value);
    }
    return "has an unknown kind";
}

#define MAX_SECRET_FILE (64 * 1024)

/*  NAME_FILE for a secret: its content becomes NAME. Prints its own problem
 *  line; returns 1 for a problem, else 0. */
static int
s_load_secret_file(const char *name, FILE *out)
{
    char file_name[256];
    if (snprintf(file_name, sizeof file_name, "%s_FILE", name) >= (int)sizeof file_name)
        return 0;
    const char *path = ob_config_get(file_name);
    if (!path)
        return 0;
    if (ob_config_get(name)) {
        fprintf(out, "config: %s and %s are both set: keep one\n", name, file_name);
        return 1;
    }
    FILE *file = fopen(path, "r");
    char *content = malloc(MAX_SECRET_FILE + 1);
    size_t len = file && content ? fread(content, 1, MAX_SECRET_FILE + 1, file) : 0;
    int problem = 0;
    if (!file || !content || ferror(file)) {
        fprintf(out, "config: %s cannot be read (%s)\n", file_name, file ? "read error" : strerror(errno));
        problem = 1;
    } else if (len > MAX_SECRET_FILE) {
        fprintf(out, "config: %s is larger than 64 KiB\n", file_name);
        problem = 1;
    } else {
        while (len > 0 && (content[len - 1] == '\n' || content[len - 1] == '\r'))
            len--;
        content[len] = '\0';
        if (len == 0 || strlen(content) != len) {
            fprintf(out, "config: %s holds no secret (empty, or a NUL byte)\n", file_name);
            problem = 1;
        } else {
            setenv(name, content, 1);
        }
    }
    if (content)
        memset(content, 0, MAX_SECRET_FILE + 1);
    free(content);
    if (file)
        fclose(file);
    return problem;
}

int
ob_config_validate(const ob_config_spec_t *specs, size_t count, FILE *out)
{
    int problems = 0;
    for (size_t i = 0; i < count; i++) {
        if (specs[i].kind == OB_CONFIG_SECRET || specs[i].kind == OB_CONFIG_CURVE_SECRET) {
            int file_problem = s_load_secret_file(specs[i].name, out);
            problems += file_problem;
            if (file_problem)
                continue;
        }
        const char *value = ob_config_get(specs[i].name);
        const char *reason = value ? s_check(&specs[i], value) : specs[i].required ? "is required but not set" : NULL;
        if (reason) {
            fprintf(out, "config: %s %s\n", specs[i].name, reason);
            problems++;
        }
    }
    return problems;
}
