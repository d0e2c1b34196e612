/*  ob_exposition - builds a Prometheus text exposition (format 0.0.4).
 *
 *  Samples are added by family, in any order and from any source (the
 *  gateway's own figures, each worker's snapshot); the text groups each
 *  family's samples under one # HELP and # TYPE, as the format requires.
 *  Names and label names are checked against the format's grammar and
 *  label values escaped, so a worker's snapshot cannot break the output:
 *  a sample with a bad name, or whose family was already given another
 *  type, is dropped. Used on the broker thread only (not thread-safe).
 */
#ifndef OB_EXPOSITION_H_INCLUDED
#define OB_EXPOSITION_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

typedef struct _ob_expo_t ob_expo_t;

/*  A label pair; value is escaped on output. */
typedef struct {
    const char *name;
    const char *value;
} ob_expo_label_t;

ob_expo_t *ob_expo_new(void);
void ob_expo_destroy(ob_expo_t **self_p);

/*  Adds the sample family+suffix{labels} value to family (type "counter",
 *  "gauge" or "histogram"; suffix "" or "_bucket", "_sum", "_count").
 *  Returns 0, or -1 when it was dropped (bad name, type clash, memory). */
int ob_expo_add(ob_expo_t *self, const char *family, const char *type, const char *help, const char *suffix,
                const ob_expo_label_t *labels, size_t label_count, double value);

/*  Adds every sample of a worker's JSON snapshot (common/ob_metrics.h),
 *  each with the extra labels program and worker (the snapshot's instance,
 *  host:pid) on top of its own. A process serving two services (the
 *  lago-worker) sends the same registry from both: a second snapshot of an
 *  instance already added is skipped, so nothing is counted twice. Returns
 *  the number of samples taken, -1 when the text is not a snapshot. */
int ob_expo_add_snapshot(ob_expo_t *self, const char *json, size_t len);

/*  The exposition text (NUL-terminated, malloc'd, *len set); NULL on out of
 *  memory. */
char *ob_expo_render(ob_expo_t *self, size_t *len);

/*  Whether name matches [a-zA-Z_:][a-zA-Z0-9_:]* (labels: no ':'). */
bool ob_expo_valid_name(const char *name, bool label);

#endif
