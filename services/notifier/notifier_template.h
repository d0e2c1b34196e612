/*  notifier_template - mail templates: plain files with {{name}} placeholders.
 *
 *  deploy/templates/<name>.txt holds "Subject: ..." on its first line, a
 *  blank line, then the plain-text body; <name>.html holds the HTML body.
 *  Placeholders are replaced by the values of a flat JSON object (strings,
 *  integers, reals, booleans; anything else, or an unknown name, renders
 *  empty). In HTML every value is escaped (& < > " '); in the subject,
 *  control characters are dropped so no value can add a header. */
#ifndef NOTIFIER_TEMPLATE_H_INCLUDED
#define NOTIFIER_TEMPLATE_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *subject; /* UTF-8, no control characters */
    char *text;    /* the plain-text body */
    char *html;    /* the HTML body */
} notifier_mail_t;

/*  Renders template `text` with values. html escapes values for HTML.
 *  Returns a malloc'd string, or NULL on OOM. */
char *notifier_template_render(const char *text, const json_t *values, bool html);

/*  Reads dir/<name>.txt and .html and renders them into mail. Returns 0, or
 *  -1 (mail zeroed) when a file is missing, unreadable, over 256 KiB or the
 *  .txt does not start with "Subject: ". */
int notifier_template_load(const char *dir, const char *name, const json_t *values, notifier_mail_t *mail);

/*  Frees mail's strings and zeroes it. */
void notifier_mail_clear(notifier_mail_t *mail);

#endif
