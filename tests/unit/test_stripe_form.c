/*  stripe_form: Stripe's bracketed form encoding, table-driven. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "clients/stripe_form.h"

typedef struct {
    const char *key, *value;
} pair_t;

static const struct {
    const char *name;
    pair_t pairs[4];
    const char *want;
} s_encodes[] = {
    {"empty form", {{NULL}}, ""},
    {"plain pair", {{"email", "ada@example.com"}}, "email=ada%40example.com"},
    {"two pairs keep their order", {{"mode", "subscription"}, {"customer", "cus_123"}}, "mode=subscription&customer=cus_123"},
    {"metadata key", {{"metadata[user_id]", "42"}}, "metadata%5Buser_id%5D=42"},
    {"list of objects",
     {{"line_items[0][price]", "price_1"}, {"line_items[0][quantity]", "1"}},
     "line_items%5B0%5D%5Bprice%5D=price_1&line_items%5B0%5D%5Bquantity%5D=1"},
    {"three levels", {{"subscription_data[metadata][plan_id]", "pro"}}, "subscription_data%5Bmetadata%5D%5Bplan_id%5D=pro"},
    {"empty brackets", {{"expand[]", "data.product"}}, "expand%5B%5D=data.product"},
    {"empty value unsets", {{"metadata[old]", ""}}, "metadata%5Bold%5D="},
    {"space is %20 not +", {{"name", "Pro plan"}}, "name=Pro%20plan"},
    {"reserved characters",
     {{"success_url", "https://x.test/ok?session={CHECKOUT_SESSION_ID}&a=b+c"}},
     "success_url=https%3A%2F%2Fx.test%2Fok%3Fsession%3D%7BCHECKOUT_SESSION_ID%7D%26a%3Db%2Bc"},
    {"unreserved kept", {{"k", "AZaz09-._~"}}, "k=AZaz09-._~"},
    {"utf-8 bytes", {{"name", "caf\xc3\xa9"}}, "name=caf%C3%A9"},
    {"control bytes", {{"k", "a\r\nb"}}, "k=a%0D%0Ab"},
};

Test(stripe_form, encodes)
{
    for (size_t i = 0; i < sizeof s_encodes / sizeof s_encodes[0]; i++) {
        stripe_form_t *form = stripe_form_new();
        cr_assert(form);
        for (const pair_t *p = s_encodes[i].pairs; p->key; p++)
            cr_expect_eq(stripe_form_add(form, p->key, p->value), 0, "%s: add %s", s_encodes[i].name, p->key);
        size_t len = 99;
        const char *body = stripe_form_body(form, &len);
        cr_expect_str_eq(body, s_encodes[i].want, "%s", s_encodes[i].name);
        cr_expect_eq(len, strlen(s_encodes[i].want), "%s", s_encodes[i].name);
        stripe_form_destroy(&form);
        cr_expect_null(form);
    }
}

static const struct {
    const char *key;
    const char *why;
} s_bad_keys[] = {
    {"", "empty"},
    {"[x]", "no name"},
    {"metadata[user_id", "unclosed bracket"},
    {"metadata]x[", "stray bracket"},
    {"metadata[a[b]]", "nested bracket"},
    {"metadata[user id]", "space in segment"},
    {"a=b", "equals sign"},
    {"a&b", "ampersand"},
    {"metadata[x]y", "text after bracket"},
    {"caf\xc3\xa9", "non-ASCII"},
};

Test(stripe_form, rejects_malformed_keys_and_stays_failed)
{
    for (size_t i = 0; i < sizeof s_bad_keys / sizeof s_bad_keys[0]; i++) {
        stripe_form_t *form = stripe_form_new();
        cr_assert_eq(stripe_form_add(form, "ok", "1"), 0);
        cr_expect_eq(stripe_form_add(form, s_bad_keys[i].key, "v"), -1, "%s", s_bad_keys[i].why);
        cr_expect_null(stripe_form_body(form, NULL), "%s", s_bad_keys[i].why);
        cr_expect_eq(stripe_form_add(form, "later", "1"), -1, "%s: errors are sticky", s_bad_keys[i].why);
        stripe_form_destroy(&form);
    }
}

Test(stripe_form, rejects_null_value)
{
    stripe_form_t *form = stripe_form_new();
    cr_assert_eq(stripe_form_add(form, "k", NULL), -1);
    cr_assert_null(stripe_form_body(form, NULL));
    stripe_form_destroy(&form);
}

Test(stripe_form, typed_and_formatted_adds)
{
    stripe_form_t *form = stripe_form_new();
    cr_assert_eq(stripe_form_add_int(form, "unit_amount", 1999), 0);
    cr_assert_eq(stripe_form_add_int(form, "n", -5), 0);
    cr_assert_eq(stripe_form_add_bool(form, "cancel_at_period_end", true), 0);
    cr_assert_eq(stripe_form_add_bool(form, "x", false), 0);
    cr_assert_eq(stripe_form_addf(form, "price_2", "items[%d][price]", 3), 0);
    cr_assert_str_eq(stripe_form_body(form, NULL),
                     "unit_amount=1999&n=-5&cancel_at_period_end=true&x=false&items%5B3%5D%5Bprice%5D=price_2");
    stripe_form_destroy(&form);
}

Test(stripe_form, grows_past_its_first_buffer)
{
    stripe_form_t *form = stripe_form_new();
    char value[1000];
    memset(value, '/', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    for (int i = 0; i < 20; i++)
        cr_assert_eq(stripe_form_addf(form, value, "metadata[k%d]", i), 0);
    size_t len;
    const char *body = stripe_form_body(form, &len);
    cr_assert_eq(len, 20 * (strlen("metadata%5Bk0%5D=") + 999 * 3) + 10 /* two-digit indexes */ + 19 /* '&' */);
    cr_assert_eq(strlen(body), len);
    stripe_form_destroy(&form);
}

Test(stripe_form, escape_and_null_safety)
{
    char *s = stripe_form_escape("cus_1/../x y");
    cr_assert_str_eq(s, "cus_1%2F..%2Fx%20y");
    free(s);
    cr_assert_null(stripe_form_escape(NULL));
    stripe_form_destroy(NULL);
    stripe_form_t *none = NULL;
    stripe_form_destroy(&none);
    cr_assert_eq(stripe_form_add(NULL, "k", "v"), -1);
    cr_assert_null(stripe_form_body(NULL, NULL));
}
