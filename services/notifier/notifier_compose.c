/*  notifier_compose - template values, Message-ID and the message. */
#include "services/notifier/notifier_compose.h"

#include <ctype.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/notifier/notifier_mime.h"
#include "services/notifier/notifier_template.h"
#include "services/notifier/notifier_unsubscribe.h"

static const char *const s_dates[] = {"current_period_start", "current_period_end", "trial_end",    "next_payment_attempt",
                                      "window_end",           "canceled_at",        "access_until", NULL};

static void
s_add_date(json_t *values, const char *name, const json_t *v)
{
    char key[64], date[16] = "";
    snprintf(key, sizeof key, "%s_date", name);
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        time_t t = (time_t)json_integer_value(v);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(date, sizeof date, "%Y-%m-%d", &tm);
    } else if (json_is_string(v) && strlen(json_string_value(v)) >= 10) {
        memcpy(date, json_string_value(v), 10);
        date[10] = '\0';
    }
    if (date[0])
        json_object_set_new(values, key, json_string(date));
}

json_t *
notifier_compose_values(const notifier_settings_t *settings, const notifier_compose_input_t *in)
{
    json_t *values = json_object();
    if (!values)
        return NULL;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)in->payload, key, v)
    {
        if (json_is_string(v) || json_is_number(v) || json_is_boolean(v))
            json_object_set(values, key, v);
    }
    if (in->user_id)
        json_object_set_new(values, "user_id", json_string(in->user_id));
    json_object_set_new(values, "email", json_string(in->to ? in->to : ""));
    if (!json_object_get(values, "plan") && json_is_string(json_object_get(in->payload, "plan_id")))
        json_object_set(values, "plan", json_object_get(in->payload, "plan_id"));
    const json_t *amount = json_object_get(in->payload, "amount");
    if (json_is_integer(amount)) {
        char text[64], currency[8] = "";
        const char *c = json_string_value(json_object_get(in->payload, "currency"));
        for (size_t i = 0; c && c[i] && i < sizeof currency - 1; i++) {
            currency[i] = (char)toupper((unsigned char)c[i]);
            currency[i + 1] = '\0';
        }
        json_int_t cents = json_integer_value(amount);
        snprintf(text, sizeof text, "%s%" JSON_INTEGER_FORMAT ".%02d%s%s", cents < 0 ? "-" : "", (cents < 0 ? -cents : cents) / 100,
                 (int)((cents < 0 ? -cents : cents) % 100), currency[0] ? " " : "", currency);
        json_object_set_new(values, "amount_display", json_string(text));
    }
    for (size_t i = 0; s_dates[i]; i++)
        s_add_date(values, s_dates[i], json_object_get(in->payload, s_dates[i]));
    const char *base = settings->public_base_url;
    size_t base_len = strlen(base);
    while (base_len && base[base_len - 1] == '/')
        base_len--;
    char portal[1024];
    if (settings->portal_url)
        snprintf(portal, sizeof portal, "%s", settings->portal_url);
    else
        snprintf(portal, sizeof portal, "%.*s/billing-settings.html", (int)base_len, base);
    json_object_set_new(values, "portal_url", json_string(portal));
    json_object_set_new(values, "base_url", json_stringn(base, base_len));
    char *unsubscribe =
        in->kind->unsubscribable && in->user_id ? notifier_unsubscribe_url(base, settings->unsubscribe_secret, in->user_id) : NULL;
    json_object_set_new(values, "unsubscribe_url", json_string(unsubscribe ? unsubscribe : ""));
    free(unsubscribe);
    return values;
}

void
notifier_compose_message_id(const char *id, const char *dedupe_key, const char *from, char *out, size_t cap)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)dedupe_key, strlen(dedupe_key), digest);
    char address[320];
    const char *domain = "localhost";
    if (notifier_mime_address(from, address, sizeof address) == 0 && strchr(address, '@')[1])
        domain = strchr(address, '@') + 1;
    snprintf(out, cap, "<notification-%s.%02x%02x%02x%02x%02x%02x%02x%02x@%s>", id, digest[0], digest[1], digest[2], digest[3],
             digest[4], digest[5], digest[6], digest[7], domain);
}

char *
notifier_compose(const notifier_settings_t *settings, const notifier_compose_input_t *in, time_t now, char *message_id,
                 size_t message_id_cap, size_t *len, char *error, size_t error_cap)
{
    json_t *values = notifier_compose_values(settings, in);
    if (!values) {
        snprintf(error, error_cap, "out of memory");
        return NULL;
    }
    notifier_mail_t mail;
    if (notifier_template_load(settings->templates_dir, in->kind->template, values, &mail) != 0) {
        snprintf(error, error_cap, "template %s is missing or malformed in TEMPLATES_DIR", in->kind->template);
        json_decref(values);
        return NULL;
    }
    notifier_compose_message_id(in->id, in->dedupe_key, settings->smtp_from, message_id, message_id_cap);
    const char *unsubscribe = json_string_value(json_object_get(values, "unsubscribe_url"));
    notifier_mime_head_t head = {
        .from = settings->smtp_from,
        .to = in->to,
        .message_id = message_id,
        .unsubscribe_url = unsubscribe && unsubscribe[0] ? unsubscribe : NULL,
        .date = now,
    };
    char *message = notifier_mime_build(&head, &mail, len);
    if (!message)
        snprintf(error, error_cap, "the address or the message is unusable");
    notifier_mail_clear(&mail);
    json_decref(values);
    return message;
}
