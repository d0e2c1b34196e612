/*  The notifier's pure parts: the kind table, the retry schedule, Standard
 *  Webhooks signing, the SSRF rules, templates, MIME assembly, the answer
 *  classification and unsubscribe tokens. Table-driven. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "services/notifier/notifier_compose.h"
#include "services/notifier/notifier_kinds.h"
#include "services/notifier/notifier_mime.h"
#include "services/notifier/notifier_retry.h"
#include "services/notifier/notifier_sign.h"
#include "services/notifier/notifier_smtp.h"
#include "services/notifier/notifier_ssrf.h"
#include "services/notifier/notifier_template.h"
#include "services/notifier/notifier_unsubscribe.h"
#include "services/notifier/notifier_webhook.h"

/* --- kinds ----------------------------------------------------------------------- */

Test(notifier_kinds, table)
{
    static const struct {
        const char *kind, *event, *template;
        bool unsubscribable;
        const char *cap;
    } cases[] = {
        {"welcome", "subscription.activated", "welcome", true, NULL},
        {"plan_changed", "subscription.updated", "plan_changed", true, NULL},
        {"canceled", "subscription.canceled", "canceled", true, NULL},
        {"receipt", "payment.succeeded", "receipt", false, NULL},
        {"payment_failed", "payment.failed", "payment_failed", false, "payment_failed"},
        {"trial_will_end", "trial.will_end", "trial_will_end", true, NULL},
        {"quota_threshold", "usage.threshold_reached", "quota_threshold", true, "quota"},
        {"usage_event_error", NULL, NULL, true, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const notifier_kind_t *k = notifier_kind_find(cases[i].kind);
        cr_assert(k, "%s", cases[i].kind);
        cr_expect(cases[i].event ? k->event_type && strcmp(k->event_type, cases[i].event) == 0 : !k->event_type, "%s",
                  cases[i].kind);
        cr_expect(cases[i].template ? k->template && strcmp(k->template, cases[i].template) == 0 : !k->template);
        cr_expect_eq(k->unsubscribable, cases[i].unsubscribable, "%s", cases[i].kind);
        cr_expect(cases[i].cap ? k->daily_cap && strcmp(k->daily_cap, cases[i].cap) == 0 : !k->daily_cap);
        if (cases[i].event)
            cr_expect(notifier_kind_event_known(cases[i].event));
    }
    cr_expect_null(notifier_kind_find("nope"));
    cr_expect_null(notifier_kind_find(NULL));
    cr_expect(notifier_kind_event_known("*"));
    cr_expect_not(notifier_kind_event_known("invoice.paid"));
    cr_expect_not(notifier_kind_event_known(NULL));
}

/* --- retry schedule ------------------------------------------------------------------ */

Test(notifier_retry, parse)
{
    static const struct {
        const char *text;
        int rc, count;
    } cases[] = {
        {NULL, 0, 8},       {"0", 0, 1},
        {"0, 5,300", 0, 3}, {"", -1, 0},
        {"1,", -1, 0},      {"a", -1, 0},
        {"1,-2", -1, 0},    {"1;2", -1, 0},
        {"2592001", -1, 0}, {"0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32", -1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        notifier_retry_t r;
        cr_expect_eq(notifier_retry_parse(&r, cases[i].text), cases[i].rc, "%s", cases[i].text ? cases[i].text : "NULL");
        if (cases[i].rc == 0)
            cr_expect_eq(r.count, cases[i].count);
    }
}

Test(notifier_retry, the_standard_webhooks_schedule_with_jitter_and_retry_after)
{
    notifier_retry_t r;
    cr_assert_eq(notifier_retry_parse(&r, NULL), 0);
    static const long expected_s[] = {5, 300, 1800, 7200, 18000, 36000, 36000};
    for (int attempt = 1; attempt <= 7; attempt++) {
        long low = notifier_retry_next_ms(&r, attempt, 0, 0.0), high = notifier_retry_next_ms(&r, attempt, 0, 0.999999);
        cr_expect_eq(low, (long)(expected_s[attempt - 1] * 900), "attempt %d", attempt);
        cr_expect(high <= expected_s[attempt - 1] * 1100 && high > expected_s[attempt - 1] * 1099, "attempt %d", attempt);
    }
    cr_expect_eq(notifier_retry_next_ms(&r, 8, 0, 0.5), -1); /* eight attempts, then failed */
    cr_expect_eq(notifier_retry_next_ms(&r, 0, 0, 0.5), -1);
    cr_expect_eq(notifier_retry_next_ms(&r, 1, 60, 0.5), 60000);   /* Retry-After beats 5 s */
    cr_expect_eq(notifier_retry_next_ms(&r, 3, 60, 0.0), 1620000); /* but never shortens */
}

/* --- signing --------------------------------------------------------------------------- */

Test(notifier_sign, the_specification_example)
{
    /* The example in the Standard Webhooks specification and its libraries' tests. */
    const char *body = "{\"test\": 2432232314}";
    char out[256] = "";
    cr_assert_eq(notifier_sign_append("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
                                      strlen(body), out, sizeof out),
                 0);
    cr_expect_str_eq(out, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /* A second secret is space-separated. */
    cr_assert_eq(notifier_sign_append("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
                                      strlen(body), out, sizeof out),
                 0);
    cr_expect_str_eq(out, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

Test(notifier_sign, bad_secrets_and_small_buffers)
{
    static const char *bad[] = {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_abc", "whsec_!!!!", "whsec_====", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[256] = "";
        cr_expect_eq(notifier_sign_append(bad[i], "msg_1", 1, "{}", 2, out, sizeof out), -1, "%s", bad[i]);
    }
    char small[20] = "";
    cr_expect_eq(notifier_sign_append("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m", 1, "{}", 2, small, sizeof small), -1);
}

Test(notifier_sign, new_secrets_and_ids)
{
    char a[64], b[64], id[40];
    cr_assert_eq(notifier_sign_new_secret(a, sizeof a), 0);
    cr_assert_eq(notifier_sign_new_secret(b, sizeof b), 0);
    cr_expect(strncmp(a, "whsec_", 6) == 0 && strlen(a) == 6 + 44 && strcmp(a, b) != 0);
    char out[128] = "";
    cr_expect_eq(notifier_sign_append(a, "msg_1", 1, "{}", 2, out, sizeof out), 0); /* usable as a key */
    cr_assert_eq(notifier_sign_new_id("ep_", id, sizeof id), 0);
    cr_expect(strncmp(id, "ep_", 3) == 0 && strlen(id) == 27);
    cr_expect_eq(notifier_sign_new_secret(a, 20), -1);
}

/* --- SSRF ------------------------------------------------------------------------------- */

Test(notifier_ssrf, urls)
{
    static const struct {
        const char *url;
        bool ok_public, ok_private;
    } cases[] = {
        {"https://hooks.example.com/billing", true, true},
        {"http://example.com:8080/x?y=1", true, true},
        {"https://93.184.216.34/x", true, true},
        {"http://127.0.0.1:9000/x", false, true},
        {"http://localhost/x", false, true},
        {"http://api.localhost/x", false, true},
        {"http://printer.local/x", false, true},
        {"http://metadata.google.internal/x", false, true},
        {"http://intranet/x", false, true},
        {"http://10.0.0.5/x", false, true},
        {"http://172.16.3.4/x", false, true},
        {"http://172.32.0.1/x", true, true},
        {"http://192.168.1.1/x", false, true},
        {"http://169.254.169.254/x", false, true},
        {"http://100.64.0.1/x", false, true},
        {"http://0.0.0.0/x", false, true},
        {"http://[::1]/x", false, true},
        {"http://[fd00::1]/x", false, true},
        {"http://[fe80::1]/x", false, true},
        {"http://[::ffff:127.0.0.1]/x", false, true},
        {"http://[2606:4700::1]/x", true, true},
        {"ftp://example.com/x", false, false},
        {"file:///etc/passwd", false, false},
        {"http://user:pw@example.com/", false, false},
        {"http://exa mple.com/", false, false},
        {"not a url", false, false},
        {"", false, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_expect_eq(notifier_ssrf_check_url(cases[i].url, false) == NULL, cases[i].ok_public, "%s", cases[i].url);
        cr_expect_eq(notifier_ssrf_check_url(cases[i].url, true) == NULL, cases[i].ok_private, "%s (private allowed)",
                     cases[i].url);
    }
}

Test(notifier_ssrf, addresses)
{
    static const struct {
        const char *address;
        bool public;
    } cases[] = {{"8.8.8.8", true},          {"127.0.0.1", false},      {"10.255.255.255", false}, {"224.0.0.1", false},
                 {"255.255.255.255", false}, {"198.18.0.1", false},     {"2001:4860::8888", true}, {"::", false},
                 {"ff02::1", false},         {"64:ff9b::a00:1", false}, {"garbage", false},        {"", false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(notifier_ssrf_address_public(cases[i].address), cases[i].public, "%s", cases[i].address);
}

/* --- templates ---------------------------------------------------------------------------- */

Test(notifier_template, render)
{
    json_t *values = json_pack("{s:s,s:i,s:b,s:f,s:o}", "name", "<b>\"Tom\" & 'Jerry'</b>", "n", 42, "yes", 1, "x", 1.5, "nested",
                               json_object());
    static const struct {
        const char *template, *text, *html;
    } cases[] = {
        {"Hi {{name}}!", "Hi <b>\"Tom\" & 'Jerry'</b>!", "Hi &lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;!"},
        {"{{ n }} {{yes}} {{x}}", "42 true 1.5", "42 true 1.5"},
        {"[{{missing}}][{{nested}}][{{}}]", "[][][]", "[][][]"},
        {"no placeholders", "no placeholders", "no placeholders"},
        {"open {{name", "open {{name", "open {{name"},
        {"", "", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = notifier_template_render(cases[i].template, values, false);
        char *html = notifier_template_render(cases[i].template, values, true);
        cr_expect_str_eq(text, cases[i].text, "case %zu", i);
        cr_expect_str_eq(html, cases[i].html, "case %zu", i);
        free(text);
        free(html);
    }
    json_decref(values);
}

/*  deploy/templates of this checkout: the build passes absolute source paths. */
static void
s_templates_dir(char *out, size_t cap)
{
    const char *file = __FILE__;
    const char *tail = strstr(file, "tests/unit/test_notifier.c");
    snprintf(out, cap, "%.*sdeploy/templates", tail ? (int)(tail - file) : 0, file);
}

Test(notifier_template, every_kind_has_a_template_pair_in_deploy)
{
    char dir[1024];
    s_templates_dir(dir, sizeof dir);
    size_t count;
    const notifier_kind_t *kinds = notifier_kind_all(&count);
    json_t *values = json_pack("{s:s}", "plan", "starter");
    for (size_t i = 0; i < count; i++) {
        if (!kinds[i].template)
            continue;
        notifier_mail_t mail;
        cr_assert_eq(notifier_template_load(dir, kinds[i].template, values, &mail), 0, "%s", kinds[i].template);
        cr_expect(mail.subject[0] && mail.text[0] && strstr(mail.html, "<html>"), "%s", kinds[i].template);
        cr_expect_null(strstr(mail.text, "{{"), "%s: unknown placeholder syntax left", kinds[i].template);
        notifier_mail_clear(&mail);
    }
    json_decref(values);
}

/* --- MIME ----------------------------------------------------------------------------------- */

Test(notifier_mime, headers_are_encoded_and_cannot_be_injected)
{
    notifier_mail_t mail = {.subject = strdup("Grüße, {{x}} and a rather long subject line that goes on and on and on"),
                            .text = strdup("Hällo\n"),
                            .html = strdup("<p>Hällo</p>")};
    notifier_mime_head_t head = {.from = "Öps Billing <billing@example.com>",
                                 .to = "user@example.com",
                                 .message_id = "<notification-1.abc@example.com>",
                                 .unsubscribe_url = "https://x.example/u?user=1&sig=2",
                                 .date = 1700000000};
    size_t len;
    char *message = notifier_mime_build(&head, &mail, &len);
    cr_assert(message);
    cr_expect_eq(strlen(message), len);
    cr_expect(strstr(message, "From: =?UTF-8?B?w5ZwcyBCaWxsaW5n?= <billing@example.com>\r\n"));
    cr_expect(strstr(message, "To: <user@example.com>\r\n"));
    cr_expect(strstr(message, "Subject: =?UTF-8?B?"));
    cr_expect(strstr(message, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
    cr_expect(strstr(message, "Message-ID: <notification-1.abc@example.com>\r\n"));
    cr_expect(strstr(
        message, "List-Unsubscribe: <https://x.example/u?user=1&sig=2>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
    cr_expect(strstr(message, "multipart/alternative"));
    cr_expect(strstr(message, "text/plain; charset=UTF-8"));
    cr_expect(strstr(message, "text/html; charset=UTF-8"));
    for (const char *p = message; *p; p++)
        if (*p == '\n')
            cr_expect_eq(p[-1], '\r', "bare LF at %zu", (size_t)(p - message));
    free(message);

    static const char *bad_to[] = {"a@b.c\r\nBcc: x@y.z", "no-at-sign", "", "a b@c.d", "<>"};
    for (size_t i = 0; i < sizeof bad_to / sizeof bad_to[0]; i++) {
        head.to = bad_to[i];
        cr_expect_null(notifier_mime_build(&head, &mail, &len), "%s", bad_to[i]);
    }
    head.to = "user@example.com";
    head.message_id = "<x@y>\r\nBcc: z@w";
    cr_expect_null(notifier_mime_build(&head, &mail, &len));
    notifier_mail_clear(&mail);
}

Test(notifier_mime, address)
{
    static const struct {
        const char *mailbox, *address;
    } cases[] = {{"a@b.c", "a@b.c"},     {"Name <a@b.c>", "a@b.c"}, {"\"Q, Name\" <a@b.c>", "a@b.c"},
                 {"  a@b.c  ", "a@b.c"}, {"<a@b.c", NULL},          {"Name", NULL},
                 {"a,b@c.d", NULL}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];
        int rc = notifier_mime_address(cases[i].mailbox, out, sizeof out);
        cr_expect_eq(rc, cases[i].address ? 0 : -1, "%s", cases[i].mailbox);
        if (cases[i].address && rc == 0)
            cr_expect_str_eq(out, cases[i].address);
    }
}

/* --- compose ---------------------------------------------------------------------------------- */

Test(notifier_compose, values_and_a_stable_message_id)
{
    notifier_settings_t settings = {.public_base_url = "https://billing.example.com/",
                                    .smtp_from = "Billing <billing@mail.example.com>",
                                    .unsubscribe_secret = "s3cret"};
    json_t *payload = json_pack("{s:i,s:s,s:i,s:s,s:o}", "amount", 1900, "currency", "usd", "current_period_end", 1900000000,
                                "plan_id", "starter", "nested", json_array());
    notifier_compose_input_t in = {.id = "7",
                                   .dedupe_key = "stripe:evt_1:receipt",
                                   .user_id = "u 1",
                                   .to = "u@example.com",
                                   .payload = payload,
                                   .kind = notifier_kind_find("trial_will_end")};
    json_t *values = notifier_compose_values(&settings, &in);
    cr_expect_str_eq(json_string_value(json_object_get(values, "amount_display")), "19.00 USD");
    cr_expect_str_eq(json_string_value(json_object_get(values, "current_period_end_date")), "2030-03-17");
    cr_expect_str_eq(json_string_value(json_object_get(values, "plan")), "starter");
    cr_expect_str_eq(json_string_value(json_object_get(values, "portal_url")), "https://billing.example.com/billing-settings.html");
    cr_expect(strncmp(json_string_value(json_object_get(values, "unsubscribe_url")),
                      "https://billing.example.com/api/v1/notifications/unsubscribe?user=u%201&sig=", 76) == 0);
    cr_expect_null(json_object_get(values, "nested"));
    json_decref(values);
    in.kind = notifier_kind_find("receipt"); /* payment mail: no unsubscribe link */
    values = notifier_compose_values(&settings, &in);
    cr_expect_str_eq(json_string_value(json_object_get(values, "unsubscribe_url")), "");
    json_decref(values);
    char a[160], b[160];
    notifier_compose_message_id("7", "stripe:evt_1:receipt", settings.smtp_from, a, sizeof a);
    notifier_compose_message_id("7", "stripe:evt_1:receipt", settings.smtp_from, b, sizeof b);
    cr_expect_str_eq(a, b);
    cr_expect(strncmp(a, "<notification-7.", 16) == 0 && strstr(a, "@mail.example.com>"));
    json_decref(payload);
}

/* --- answers ---------------------------------------------------------------------------------- */

Test(notifier_webhook, outcomes)
{
    static const struct {
        CURLcode result;
        long status;
        notifier_webhook_outcome_t outcome;
    } cases[] = {
        {CURLE_OK, 200, NOTIFIER_WEBHOOK_SENT},
        {CURLE_OK, 204, NOTIFIER_WEBHOOK_SENT},
        {CURLE_OK, 299, NOTIFIER_WEBHOOK_SENT},
        {CURLE_OK, 301, NOTIFIER_WEBHOOK_RETRY},
        {CURLE_OK, 400, NOTIFIER_WEBHOOK_RETRY},
        {CURLE_OK, 410, NOTIFIER_WEBHOOK_GONE},
        {CURLE_OK, 429, NOTIFIER_WEBHOOK_RETRY},
        {CURLE_OK, 503, NOTIFIER_WEBHOOK_RETRY},
        {CURLE_OPERATION_TIMEDOUT, 0, NOTIFIER_WEBHOOK_RETRY},
        {CURLE_COULDNT_CONNECT, 0, NOTIFIER_WEBHOOK_RETRY},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(notifier_webhook_outcome(cases[i].result, cases[i].status), cases[i].outcome, "case %zu", i);
}

Test(notifier_webhook, retry_after)
{
    static const struct {
        const char *value;
        long seconds;
    } cases[] = {{" 120\r\n", 120}, {"0", 0}, {"Wed, 21 Oct 2015 07:28:00 GMT", 0}, {"-5", 0}, {"5x", 0},
                 {"999999", 86400}, {"", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_expect_eq(notifier_webhook_retry_after(cases[i].value), cases[i].seconds, "%s", cases[i].value);
}

Test(notifier_smtp, permanent_failures)
{
    cr_expect(notifier_smtp_permanent(CURLE_SEND_ERROR, 550));
    cr_expect(notifier_smtp_permanent(CURLE_RECV_ERROR, 554));
    cr_expect_not(notifier_smtp_permanent(CURLE_SEND_ERROR, 451));
    cr_expect_not(notifier_smtp_permanent(CURLE_COULDNT_CONNECT, 0));
    cr_expect_not(notifier_smtp_permanent(CURLE_OK, 250));
}

/* --- unsubscribe ------------------------------------------------------------------------------ */

Test(notifier_unsubscribe, tokens)
{
    char a[48], b[48], c[48];
    cr_assert_eq(notifier_unsubscribe_token("secret", "user-1", a, sizeof a), 0);
    cr_assert_eq(notifier_unsubscribe_token("secret", "user-1", b, sizeof b), 0);
    cr_assert_eq(notifier_unsubscribe_token("secret", "user-2", c, sizeof c), 0);
    cr_expect_str_eq(a, b);
    cr_expect_str_neq(a, c);
    cr_expect_eq(strlen(a), 43);
    cr_expect_null(strpbrk(a, "+/="));
    cr_expect_eq(notifier_unsubscribe_token(NULL, "user-1", a, sizeof a), -1);
    cr_expect_null(notifier_unsubscribe_url("https://x", NULL, "user-1"));
}
