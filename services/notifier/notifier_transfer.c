/*  notifier_transfer - the in-flight attempt's lifetime. */
#include "services/notifier/notifier_transfer.h"

#include <stdlib.h>

void
notifier_transfer_destroy(notifier_transfer_t **self_p)
{
    notifier_transfer_t *self = *self_p;
    if (!self)
        return;
    if (self->easy)
        curl_easy_cleanup(self->easy);
    curl_slist_free_all(self->list);
    free(self->payload);
    free(self);
    *self_p = NULL;
}

const char *
notifier_transfer_excerpt(notifier_transfer_t *self)
{
    size_t n = self->response_len < sizeof self->response - 1 ? self->response_len : sizeof self->response - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)self->response[i];
        if (c < 0x20 || c >= 0x7f)
            self->response[i] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : '?';
    }
    self->response[n] = '\0';
    return self->response;
}
