/*  config: the environment wins over .env; validation names each problem. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ob_config.h"

static char *
s_validate(const ob_config_spec_t *specs, size_t n, int *problems)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    *problems = ob_config_validate(specs, n, out);
    fclose(out);
    return text;
}

Test(config, env_file_fills_only_what_the_environment_lacks)
{
    char path[] = "/tmp/ob_config_testXXXXXX";
    int fd = mkstemp(path);
    const char *text = "# comment\n\nexport OB_T_A=from_file\nOB_T_B = \"quoted value\"\nOB_T_C='single'\nnot a line\n";
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    setenv("OB_T_A", "from_env", 1);
    unsetenv("OB_T_B");
    cr_assert_eq(ob_config_load_env_file(path), 0);
    cr_assert_str_eq(ob_config_get("OB_T_A"), "from_env");
    cr_assert_str_eq(ob_config_get("OB_T_B"), "quoted value");
    cr_assert_str_eq(ob_config_get("OB_T_C"), "single");
    unlink(path);
    cr_assert_eq(ob_config_load_env_file("/nonexistent/.env"), 0, "a missing file is fine");
}

Test(config, stripe_api_key_is_an_alias_of_the_secret_key)
{
    unsetenv("STRIPE_SECRET_KEY");
    setenv("STRIPE_API_KEY", "sk_test_alias", 1);
    cr_assert_str_eq(ob_config_get("STRIPE_SECRET_KEY"), "sk_test_alias");
    setenv("STRIPE_SECRET_KEY", "sk_test_main", 1);
    cr_assert_str_eq(ob_config_get("STRIPE_SECRET_KEY"), "sk_test_main");
}

Test(config, typed_readers_fall_back_on_bad_values)
{
    setenv("OB_T_INT", "12x", 1);
    cr_assert_eq(ob_config_int("OB_T_INT", 7), 7);
    setenv("OB_T_INT", "42", 1);
    cr_assert_eq(ob_config_int("OB_T_INT", 7), 42);
    setenv("OB_T_BOOL", "yes", 1);
    cr_assert(ob_config_bool("OB_T_BOOL", false));
    setenv("OB_T_BOOL", "maybe", 1);
    cr_assert_not(ob_config_bool("OB_T_BOOL", false));
}

struct validation_case {
    const char *name, *value;
    ob_config_kind_t kind;
    const char *expected; /* substring of the problem line, or NULL for none */
};

static const struct validation_case s_cases[] = {
    {"OB_V_URL", "ftp://x", OB_CONFIG_URL, "OB_V_URL must be an http:// or https:// URL"},
    {"OB_V_URL", "https://api.stripe.com", OB_CONFIG_URL, NULL},
    {"OB_V_DB", "mysql://x", OB_CONFIG_DB_URL, "OB_V_DB must be a postgres://"},
    {"OB_V_DB", "postgres://u@h/db", OB_CONFIG_DB_URL, NULL},
    {"OB_V_DB", "host=h dbname=d", OB_CONFIG_DB_URL, NULL},
    {"OB_V_REDIS", "localhost:6379", OB_CONFIG_REDIS_URL, "OB_V_REDIS must be a redis://"},
    {"OB_V_PORT", "70000", OB_CONFIG_INT, "OB_V_PORT is out of range"},
    {"OB_V_PORT", "80a", OB_CONFIG_INT, "OB_V_PORT must be an integer"},
    {"OB_V_PORT", "8084", OB_CONFIG_INT, NULL},
    {"OB_V_BOOL", "perhaps", OB_CONFIG_BOOL, "OB_V_BOOL must be true or false"},
    {"OB_V_EP", "broker-host:5555", OB_CONFIG_ENDPOINT, "OB_V_EP must be a ZeroMQ endpoint"},
    {"OB_V_EP", "tcp://*:5555", OB_CONFIG_ENDPOINT, NULL},
    {"OB_V_DB", "postgresql://billing:replace-me@db/billing", OB_CONFIG_DB_URL, "OB_V_DB holds a placeholder"},
    {"OB_V_REDIS", "redis://:replace-me@cache:6379/0", OB_CONFIG_REDIS_URL, "OB_V_REDIS holds a placeholder"},
    {"OB_V_SECRET", "replace-me", OB_CONFIG_SECRET, "OB_V_SECRET holds a placeholder"},
    {"OB_V_SECRET", "sk_test_replace-me", OB_CONFIG_SECRET, "OB_V_SECRET holds a placeholder"},
    {"OB_V_SECRET", "whsec_REPLACE-ME", OB_CONFIG_SECRET, "OB_V_SECRET holds a placeholder"},
    {"OB_V_SECRET", "ChangeMe", OB_CONFIG_SECRET, "OB_V_SECRET holds a placeholder"},
    {"OB_V_SECRET", "sk_test_51HxYz0123456789", OB_CONFIG_SECRET, NULL},
    {"OB_V_EPS", "tcp://gw1:5555,tcp://gw2:5555", OB_CONFIG_ENDPOINTS, NULL},
    {"OB_V_EPS", "tcp://gw1:5555,,tcp://gw2:5555", OB_CONFIG_ENDPOINTS, "OB_V_EPS has an empty item"},
    {"OB_V_CURVE", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", OB_CONFIG_CURVE_KEY, NULL},
    {"OB_V_CURVE", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf", OB_CONFIG_CURVE_KEY, "OB_V_CURVE must be a CURVE key"},
    {"OB_V_CURVE_S", "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6", OB_CONFIG_CURVE_SECRET, NULL},
    {"OB_V_CURVE_S", "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh\"", OB_CONFIG_CURVE_SECRET, "OB_V_CURVE_S must be a CURVE key"},
    {"OB_V_CURVES", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7,Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID", OB_CONFIG_CURVE_KEYS,
     NULL},
    {"OB_V_CURVES", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7, Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID", OB_CONFIG_CURVE_KEYS,
     "OB_V_CURVES must be CURVE public keys"},
};

Test(config, secrets_refuse_short_values_when_a_minimum_is_set)
{
    ob_config_spec_t spec = {"OB_V_HS256", OB_CONFIG_SECRET, false, 32, 0};
    int problems;
    setenv("OB_V_HS256", "only-31-bytes-of-hs256-secret!!", 1);
    char *text = s_validate(&spec, 1, &problems);
    cr_expect_eq(problems, 1);
    cr_expect(strstr(text, "OB_V_HS256 is too short: at least 32 bytes") != NULL, "got: %s", text);
    cr_expect(strstr(text, "only-31") == NULL, "the value itself must not be printed: %s", text);
    free(text);
    setenv("OB_V_HS256", "exactly-32-bytes-of-hs256-secret", 1);
    text = s_validate(&spec, 1, &problems);
    cr_expect_eq(problems, 0, "%s", text);
    free(text);
    cr_expect(ob_config_is_placeholder("pk_test_replace-me"));
    cr_expect(!ob_config_is_placeholder("a-real-looking-token-0f3a9c"));
    cr_expect(!ob_config_is_placeholder(NULL));
}

Test(config, validation_names_the_variable_and_the_problem)
{
    for (size_t i = 0; i < sizeof s_cases / sizeof s_cases[0]; i++) {
        setenv(s_cases[i].name, s_cases[i].value, 1);
        ob_config_spec_t spec = {s_cases[i].name, s_cases[i].kind, true, 1, 65535};
        int problems;
        char *text = s_validate(&spec, 1, &problems);
        if (s_cases[i].expected) {
            cr_expect_eq(problems, 1, "%s=%s", s_cases[i].name, s_cases[i].value);
            cr_expect(strstr(text, s_cases[i].expected) != NULL, "got: %s", text);
            cr_expect(strstr(text, s_cases[i].value) == NULL || strstr(s_cases[i].expected, s_cases[i].value),
                      "the value itself must not be printed: %s", text);
        } else {
            cr_expect_eq(problems, 0, "%s=%s: %s", s_cases[i].name, s_cases[i].value, text);
        }
        free(text);
    }
}

Test(config, every_problem_gets_its_own_line)
{
    unsetenv("OB_M_ONE");
    setenv("OB_M_TWO", "", 1);
    setenv("OB_M_THREE", "x", 1);
    ob_config_spec_t specs[] = {
        {"OB_M_ONE", OB_CONFIG_STRING, true, 0, 0},
        {"OB_M_TWO", OB_CONFIG_STRING, true, 0, 0},
        {"OB_M_THREE", OB_CONFIG_INT, false, 0, 10},
        {"OB_M_FOUR", OB_CONFIG_URL, false, 0, 0},
    };
    int problems;
    char *text = s_validate(specs, 4, &problems);
    cr_assert_eq(problems, 3, "%s", text);
    cr_assert(strstr(text, "config: OB_M_ONE is required but not set\n"));
    cr_assert(strstr(text, "config: OB_M_TWO is required but not set\n"));
    cr_assert(strstr(text, "config: OB_M_THREE must be an integer\n"));
    free(text);
}

/*  A secret may come from NAME_FILE: read at validation, newline dropped. */
Test(config, a_secret_comes_from_its_file)
{
    char path[] = "/tmp/ob_config_secretXXXXXX";
    int fd = mkstemp(path);
    const char *secret = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
    cr_assert_eq(write(fd, secret, strlen(secret)), (ssize_t)strlen(secret));
    cr_assert_eq(write(fd, "\n", 1), 1);
    close(fd);
    ob_config_spec_t specs[] = {{"OB_F_CURVE", OB_CONFIG_CURVE_SECRET, true, 0, 0}, {"OB_F_TOKEN", OB_CONFIG_SECRET, true, 0, 0}};
    unsetenv("OB_F_CURVE");
    unsetenv("OB_F_TOKEN");
    setenv("OB_F_CURVE_FILE", path, 1);
    setenv("OB_F_TOKEN_FILE", path, 1);
    int problems;
    char *text = s_validate(specs, 2, &problems);
    cr_expect_eq(problems, 0, "%s", text);
    cr_expect_str_eq(ob_config_get("OB_F_CURVE"), secret);
    cr_expect_str_eq(ob_config_get("OB_F_TOKEN"), secret);
    free(text);

    /* Both set: one line naming both, no value. */
    text = s_validate(specs, 1, &problems);
    cr_expect_eq(problems, 1);
    cr_expect(strstr(text, "config: OB_F_CURVE and OB_F_CURVE_FILE are both set") != NULL, "got: %s", text);
    cr_expect(strstr(text, secret) == NULL && strstr(text, path) == NULL, "got: %s", text);
    free(text);

    /* A file that is missing or empty. */
    unsetenv("OB_F_CURVE");
    setenv("OB_F_CURVE_FILE", "/nonexistent/secret", 1);
    text = s_validate(specs, 1, &problems);
    cr_expect_eq(problems, 1);
    cr_expect(strstr(text, "config: OB_F_CURVE_FILE cannot be read") != NULL, "got: %s", text);
    free(text);
    fd = open(path, O_WRONLY | O_TRUNC);
    cr_assert_eq(write(fd, "\n", 1), 1);
    close(fd);
    setenv("OB_F_CURVE_FILE", path, 1);
    text = s_validate(specs, 1, &problems);
    cr_expect_eq(problems, 1);
    cr_expect(strstr(text, "config: OB_F_CURVE_FILE holds no secret") != NULL, "got: %s", text);
    free(text);
    cr_expect_null(ob_config_get("OB_F_CURVE"));
    unlink(path);
    unsetenv("OB_F_CURVE_FILE");
    unsetenv("OB_F_TOKEN_FILE");
}

/*  A setting that is not a secret is never read from a file. */
Test(config, only_secrets_come_from_files)
{
    ob_config_spec_t spec = {"OB_F_PLAIN", OB_CONFIG_STRING, true, 0, 0};
    unsetenv("OB_F_PLAIN");
    setenv("OB_F_PLAIN_FILE", "/etc/hostname", 1);
    int problems;
    char *text = s_validate(&spec, 1, &problems);
    cr_expect_eq(problems, 1);
    cr_expect(strstr(text, "OB_F_PLAIN is required") != NULL, "got: %s", text);
    free(text);
    unsetenv("OB_F_PLAIN_FILE");
}
