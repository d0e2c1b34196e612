/*  notifier_delivery - the curl multi loop over the outbox. */
#include "services/notifier/notifier_delivery.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/ob_clock.h"
#include "common/ob_log.h"
#include "common/ob_pg.h"
#include "services/notifier/notifier_compose.h"
#include "services/notifier/notifier_kinds.h"
#include "services/notifier/notifier_mime.h"
#include "services/notifier/notifier_outbox.h"
#include "services/notifier/notifier_smtp.h"
#include "services/notifier/notifier_transfer.h"
#include "services/notifier/notifier_webhook.h"

typedef struct {
    char id[72];
    int count;
} s_endpoint_load_t;

struct _notifier_delivery_t {
    const notifier_settings_t *settings;
    ob_pg_t *pg;
    CURLM *multi;
    pthread_t thread;
    bool running;
    atomic_bool stop;
    int in_flight;
    notifier_transfer_t **flight; /* the in_flight transfers (max_in_flight slots) */
    s_endpoint_load_t *loads;     /* endpoints with transfers in flight */
    size_t load_count, load_cap;
    char from_address[320];
    unsigned long disabled_total; /* endpoints this process disabled */
};

static double
s_unit(void)
{
    return (double)random() / ((double)RAND_MAX + 1.0);
}

/* --- per-endpoint load ------------------------------------------------------- */

static s_endpoint_load_t *
s_load(notifier_delivery_t *self, const char *id, bool create)
{
    for (size_t i = 0; i < self->load_count; i++)
        if (strcmp(self->loads[i].id, id) == 0)
            return &self->loads[i];
    if (!create)
        return NULL;
    if (self->load_count == self->load_cap) {
        size_t cap = self->load_cap ? self->load_cap * 2 : 16;
        s_endpoint_load_t *loads = realloc(self->loads, cap * sizeof *loads);
        if (!loads)
            return NULL;
        self->loads = loads;
        self->load_cap = cap;
    }
    s_endpoint_load_t *load = &self->loads[self->load_count++];
    snprintf(load->id, sizeof load->id, "%s", id);
    load->count = 0;
    return load;
}

static void
s_unload(notifier_delivery_t *self, const char *id)
{
    s_endpoint_load_t *load = s_load(self, id, false);
    if (load && --load->count <= 0)
        *load = self->loads[--self->load_count];
}

/*  The endpoints at their limit, as a text[] literal (malloc'd). */
static char *
s_busy_literal(notifier_delivery_t *self)
{
    size_t cap = 3 + self->load_count * (sizeof self->loads[0].id + 3);
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t n = 0;
    out[n++] = '{';
    for (size_t i = 0; i < self->load_count; i++)
        if (self->loads[i].count >= self->settings->endpoint_in_flight)
            n += (size_t)snprintf(out + n, cap - n, "%s\"%s\"", n > 1 ? "," : "", self->loads[i].id);
    snprintf(out + n, cap - n, "}");
    return out;
}

/* --- starting transfers -------------------------------------------------------- */

static void
s_add(notifier_delivery_t *self, notifier_transfer_t *t)
{
    t->started_ms = ob_clock_mono_ms();
    if (curl_multi_add_handle(self->multi, t->easy) != CURLM_OK) {
        /* Left to its lease: it is claimed again later. */
        ob_log_warn("notifier: cannot start a transfer for %s", t->id);
        notifier_transfer_destroy(&t);
        return;
    }
    self->flight[self->in_flight++] = t;
    if (t->kind == NOTIFIER_TRANSFER_WEBHOOK) {
        s_endpoint_load_t *load = s_load(self, t->endpoint_id, true);
        if (load)
            load->count++;
    }
}

static const char s_no_address_yet[] = "no e-mail address on file";

/*  Why no mail is due for a claimed request, or NULL when one is. */
static const char *
s_skip_reason(notifier_delivery_t *self, const notifier_kind_t *kind, const char *id, const char *user_id, const char *address,
              bool unsubscribed, const char *channel, ob_err_t *err)
{
    *err = OB_OK;
    if (!kind || !kind->template)
        return "no e-mail for this kind";
    if (strcmp(channel, "email") != 0)
        return "webhook only";
    if (!address || !address[0])
        return s_no_address_yet;
    char checked[320];
    if (notifier_mime_address(address, checked, sizeof checked) != 0 || strcmp(checked, address) != 0)
        return "the e-mail address on file is unusable";
    if (unsubscribed && kind->unsubscribable)
        return "the user unsubscribed";
    if (kind->daily_cap && user_id) {
        bool ours = false;
        *err = notifier_outbox_take_cap(self->pg, user_id, kind->daily_cap, id, &ours);
        if (*err == OB_OK && !ours)
            return "daily limit: one mail of this kind per user and day";
    }
    return NULL;
}

static void
s_email_failed_now(notifier_delivery_t *self, const char *id, int attempt, const char *error)
{
    long next = notifier_retry_next_ms(&self->settings->email_retry, attempt, 0, s_unit());
    if (next < 0)
        next = self->settings->email_retry.delays_s[self->settings->email_retry.count - 1] * 1000;
    notifier_outcome_t o = {.id = id, .attempt = attempt, .error = error, .status = "pending", .retry_in_ms = next};
    notifier_outbox_record_email(self->pg, &o, NULL, NULL);
}

static int
s_start_emails(notifier_delivery_t *self, int slots)
{
    PGresult *r = notifier_outbox_claim_emails(self->pg, slots, self->settings->lease_s);
    if (!r)
        return -1;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        const char *id = PQgetvalue(r, i, 0);
        const notifier_kind_t *kind = notifier_kind_find(PQgetvalue(r, i, 1));
        const char *user_id = PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2);
        int attempt = atoi(PQgetvalue(r, i, 4));
        const char *address = PQgetisnull(r, i, 6) ? NULL : PQgetvalue(r, i, 6);
        ob_err_t err;
        const char *skip =
            s_skip_reason(self, kind, id, user_id, address, strcmp(PQgetvalue(r, i, 7), "t") == 0, PQgetvalue(r, i, 8), &err);
        if (err != OB_OK)
            continue; /* the lease runs out and it is claimed again */
        if (skip == s_no_address_yet) {
            /* The customer's link (with the address) may still be on its way. */
            long next = notifier_retry_next_ms(&self->settings->email_retry, attempt, 0, s_unit());
            if (next >= 0) {
                notifier_outbox_defer_email(self->pg, id, skip, next);
                continue;
            }
        }
        if (skip) {
            notifier_outbox_skip_email(self->pg, id, skip);
            continue;
        }
        json_error_t jerr;
        json_t *payload = json_loads(PQgetvalue(r, i, 3), 0, &jerr);
        notifier_transfer_t *t = calloc(1, sizeof *t);
        char error[256] = "";
        if (t && json_is_object(payload)) {
            t->kind = NOTIFIER_TRANSFER_EMAIL;
            t->attempt = attempt;
            snprintf(t->id, sizeof t->id, "%s", id);
            snprintf(t->email_to, sizeof t->email_to, "%s", address);
            notifier_compose_input_t in = {
                .id = id, .dedupe_key = PQgetvalue(r, i, 5), .user_id = user_id, .to = address, .payload = payload, .kind = kind};
            t->payload = notifier_compose(self->settings, &in, time(NULL), t->message_id, sizeof t->message_id, &t->payload_len,
                                          error, sizeof error);
            if (t->payload && notifier_smtp_prepare(t, self->settings, self->from_address) == 0) {
                s_add(self, t);
                t = NULL;
            } else if (!error[0]) {
                snprintf(error, sizeof error, "%s", t->error[0] ? t->error : "out of memory");
            }
        } else {
            snprintf(error, sizeof error, "the stored payload is not a JSON object");
        }
        if (t || error[0]) {
            ob_log_warn("notifier: e-mail %s not sent: %s", id, error);
            s_email_failed_now(self, id, attempt, error);
            notifier_transfer_destroy(&t);
        }
        json_decref(payload);
    }
    PQclear(r);
    return n;
}

static int
s_start_webhooks(notifier_delivery_t *self, int slots)
{
    char *busy = s_busy_literal(self);
    if (!busy)
        return -1;
    PGresult *r =
        notifier_outbox_claim_webhooks(self->pg, slots, self->settings->lease_s, busy, self->settings->endpoint_in_flight);
    free(busy);
    if (!r)
        return -1;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        notifier_transfer_t *t = calloc(1, sizeof *t);
        if (!t)
            break;
        t->kind = NOTIFIER_TRANSFER_WEBHOOK;
        snprintf(t->id, sizeof t->id, "%s", PQgetvalue(r, i, 0));
        snprintf(t->endpoint_id, sizeof t->endpoint_id, "%s", PQgetvalue(r, i, 1));
        t->attempt = atoi(PQgetvalue(r, i, 2));
        t->payload = strdup(PQgetvalue(r, i, 3));
        t->payload_len = t->payload ? strlen(t->payload) : 0;
        const char *previous = PQgetisnull(r, i, 6) ? NULL : PQgetvalue(r, i, 6);
        if (t->payload &&
            notifier_webhook_prepare(t, PQgetvalue(r, i, 4), PQgetvalue(r, i, 5), previous, (int64_t)time(NULL),
                                     self->settings->webhook_timeout_ms, self->settings->allow_private_targets) == 0) {
            s_add(self, t);
        } else {
            ob_log_warn("notifier: webhook %s not sent: %s", t->id, t->error[0] ? t->error : "out of memory");
            notifier_transfer_destroy(&t);
        }
    }
    PQclear(r);
    return n;
}

/* --- finished transfers ---------------------------------------------------------- */

static void
s_finish_email(notifier_delivery_t *self, notifier_transfer_t *t, CURLcode result, long duration)
{
    long code = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    char error[CURL_ERROR_SIZE + 64] = "";
    notifier_outcome_t o = {.id = t->id, .attempt = t->attempt, .ok = result == CURLE_OK, .code = code, .duration_ms = duration};
    if (o.ok) {
        o.status = "sent";
    } else {
        snprintf(error, sizeof error, "%s", t->error[0] ? t->error : curl_easy_strerror(result));
        o.error = error;
        o.status = "pending";
        o.retry_in_ms = notifier_retry_next_ms(&self->settings->email_retry, t->attempt, 0, s_unit());
        if (notifier_smtp_permanent(result, code) && o.retry_in_ms < 0)
            o.status = "failed";
        else if (o.retry_in_ms < 0) /* the server may come back: mail is never dropped for that */
            o.retry_in_ms = self->settings->email_retry.delays_s[self->settings->email_retry.count - 1] * 1000;
        ob_log_warn("notifier: e-mail %s attempt %d failed: %s", t->id, t->attempt, error);
    }
    if (notifier_outbox_record_email(self->pg, &o, t->email_to, t->message_id) != OB_OK)
        ob_log_warn("notifier: the outcome of e-mail %s is not recorded; it is sent again after its lease", t->id);
}

static void
s_finish_webhook(notifier_delivery_t *self, notifier_transfer_t *t, CURLcode result, long duration)
{
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    notifier_webhook_outcome_t outcome = notifier_webhook_outcome(result, status);
    char error[CURL_ERROR_SIZE + 64] = "";
    notifier_outcome_t o = {.id = t->id,
                            .attempt = t->attempt,
                            .ok = outcome == NOTIFIER_WEBHOOK_SENT,
                            .code = result == CURLE_OK ? status : 0,
                            .duration_ms = duration,
                            .response = notifier_transfer_excerpt(t)};
    if (outcome == NOTIFIER_WEBHOOK_SENT) {
        o.status = "sent";
    } else {
        if (result == CURLE_ABORTED_BY_CALLBACK)
            snprintf(error, sizeof error, "refused: the target address is not public (WEBHOOK_ALLOW_PRIVATE_TARGETS)");
        else if (result != CURLE_OK)
            snprintf(error, sizeof error, "%s", t->error[0] ? t->error : curl_easy_strerror(result));
        else
            snprintf(error, sizeof error, "HTTP %ld", status);
        o.error = error;
        long retry_after = (status == 429 || status == 503) ? t->retry_after_s : 0;
        o.retry_in_ms = outcome == NOTIFIER_WEBHOOK_GONE
                            ? -1
                            : notifier_retry_next_ms(&self->settings->webhook_retry, t->attempt, retry_after, s_unit());
        o.status = o.retry_in_ms < 0 ? "failed" : "pending";
        if (o.retry_in_ms < 0)
            o.retry_in_ms = 0;
    }
    char reason[256];
    if (notifier_outbox_record_webhook(self->pg, &o, t->endpoint_id, outcome == NOTIFIER_WEBHOOK_GONE,
                                       self->settings->disable_after_s, reason, sizeof reason) != OB_OK) {
        ob_log_warn("notifier: the outcome of webhook %s is not recorded; it is sent again after its lease", t->id);
    } else if (reason[0]) {
        self->disabled_total++;
        ob_log_warn("notifier: webhook endpoint %s disabled: %s (endpoints disabled by this process: %lu)", t->endpoint_id, reason,
                    self->disabled_total);
    }
}

static int
s_reap(notifier_delivery_t *self)
{
    int done = 0, left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(self->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        notifier_transfer_t *t = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        CURLcode result = msg->data.result;
        curl_multi_remove_handle(self->multi, msg->easy_handle);
        long duration = (long)(ob_clock_mono_ms() - t->started_ms);
        if (t->kind == NOTIFIER_TRANSFER_EMAIL) {
            s_finish_email(self, t, result, duration);
        } else {
            s_finish_webhook(self, t, result, duration);
            s_unload(self, t->endpoint_id);
        }
        for (int i = 0; i < self->in_flight; i++)
            if (self->flight[i] == t) {
                self->flight[i] = self->flight[--self->in_flight];
                break;
            }
        notifier_transfer_destroy(&t);
        done++;
    }
    return done;
}

/* --- the loop -------------------------------------------------------------------- */

static void
s_on_notify(void *arg, const char *channel, const char *payload)
{
    (void)arg;
    (void)channel;
    (void)payload;
}

int
notifier_delivery_run_once(notifier_delivery_t *self)
{
    int did = 0, running = 0;
    bool db = ob_pg_ensure(self->pg) == 0;
    if (db) {
        ob_pg_consume_notifies(self->pg, s_on_notify, NULL);
        for (int i = 0; i < 10; i++) {
            int n = notifier_outbox_fan_out(self->pg);
            if (n <= 0)
                break;
            did += n;
        }
        bool accepting = !atomic_load(&self->stop);
        int slots = self->settings->max_in_flight - self->in_flight;
        if (accepting && slots > 0 && self->settings->smtp_url) {
            int n = s_start_emails(self, slots < 16 ? slots : 16);
            did += n > 0 ? n : 0;
        }
        slots = self->settings->max_in_flight - self->in_flight;
        if (accepting && slots > 0) {
            int n = s_start_webhooks(self, slots < 32 ? slots : 32);
            did += n > 0 ? n : 0;
        }
    }
    curl_multi_perform(self->multi, &running);
    did += s_reap(self);
    return db ? did : -1;
}

static void *
s_thread(void *arg)
{
    notifier_delivery_t *self = arg;
    while (!atomic_load(&self->stop)) {
        int did = notifier_delivery_run_once(self);
        int fd = ob_pg_socket(self->pg);
        struct curl_waitfd extra = {.fd = fd, .events = CURL_WAIT_POLLIN};
        int timeout = did > 0 ? 0 : (int)self->settings->poll_ms;
        if (did < 0 && ob_pg_retry_in_ms(self->pg) < timeout)
            timeout = ob_pg_retry_in_ms(self->pg) > 0 ? ob_pg_retry_in_ms(self->pg) : timeout;
        curl_multi_poll(self->multi, fd >= 0 ? &extra : NULL, fd >= 0 ? 1 : 0, timeout, NULL);
    }
    /* Let what is in flight finish (its outcome recorded) for a few seconds. */
    int64_t deadline = ob_clock_mono_ms() + 5000;
    while (self->in_flight > 0 && ob_clock_mono_ms() < deadline) {
        notifier_delivery_run_once(self);
        curl_multi_poll(self->multi, NULL, 0, 100, NULL);
    }
    return NULL;
}

notifier_delivery_t *
notifier_delivery_new(const char *conninfo, const notifier_settings_t *settings)
{
    notifier_delivery_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->settings = settings;
    self->pg = ob_pg_new(conninfo, "notifier-delivery");
    self->multi = curl_multi_init();
    self->flight = calloc((size_t)(settings->max_in_flight > 0 ? settings->max_in_flight : 1), sizeof *self->flight);
    if (!self->pg || !self->multi || !self->flight) {
        notifier_delivery_destroy(&self);
        return NULL;
    }
    atomic_init(&self->stop, false);
    if (notifier_mime_address(settings->smtp_from, self->from_address, sizeof self->from_address) != 0)
        snprintf(self->from_address, sizeof self->from_address, "billing@localhost");
    curl_multi_setopt(self->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)settings->endpoint_in_flight);
    notifier_outbox_prepare(self->pg);
    ob_pg_listen(self->pg, "notifications");
    srandom((unsigned)time(NULL) ^ (unsigned)getpid());
    return self;
}

int
notifier_delivery_start(notifier_delivery_t *self)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&self->thread, NULL, s_thread, self);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -1;
    self->running = true;
    return 0;
}

void
notifier_delivery_destroy(notifier_delivery_t **self_p)
{
    notifier_delivery_t *self = *self_p;
    if (!self)
        return;
    if (self->running) {
        atomic_store(&self->stop, true);
        curl_multi_wakeup(self->multi);
        pthread_join(self->thread, NULL);
    }
    if (self->multi) {
        for (int i = 0; i < self->in_flight; i++) {
            curl_multi_remove_handle(self->multi, self->flight[i]->easy);
            notifier_transfer_destroy(&self->flight[i]);
        }
        curl_multi_cleanup(self->multi);
    }
    ob_pg_destroy(&self->pg);
    free(self->flight);
    free(self->loads);
    free(self);
    *self_p = NULL;
}
