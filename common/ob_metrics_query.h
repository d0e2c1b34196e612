/*  ob_metrics_query - backlog gauges from one cheap query of the owner.
 *
 *  A worker's on_metrics (common/ob_worker.h) runs its prepared statement
 *  every METRICS_INTERVAL_MS (never per scrape) and each column of the
 *  one row it returns sets one gauge: behaviour as data, one table row per
 *  gauge. Only the owning worker queries its own tables.
 */
#ifndef OB_METRICS_QUERY_H_INCLUDED
#define OB_METRICS_QUERY_H_INCLUDED

#include <stddef.h>

#include "common/ob_pg.h"

typedef struct {
    const char *name; /* gauge family, e.g. "ob_stripe_inbox_events" */
    const char *help;
    const char *label_name; /* NULL for none */
    const char *label_value;
} ob_metrics_column_t;

/*  Runs the prepared statement (no parameters) and sets gauge i from
 *  column i of its first row (NULL reads as 0). 0, or -1 when the query
 *  failed: the gauges keep their last values and the failure is counted in
 *  ob_postgres_errors_total. */
int ob_metrics_query_gauges(ob_pg_t *pg, const char *statement, const ob_metrics_column_t *columns, size_t count);

#endif
