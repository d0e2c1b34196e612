/*  ob_metrics_query - backlog gauges from one cheap query of the owner. */
#include "common/ob_metrics_query.h"

#include <stdlib.h>

#include "common/ob_metrics.h"

int
ob_metrics_query_gauges(ob_pg_t *pg, const char *statement, const ob_metrics_column_t *columns, size_t count)
{
    PGresult *r = NULL;
    if (ob_pg_run(pg, statement, 0, NULL, &r) != OB_OK)
        return -1;
    int rc = -1;
    if (PQntuples(r) == 1 && (size_t)PQnfields(r) >= count) {
        for (size_t i = 0; i < count; i++) {
            double value = PQgetisnull(r, 0, (int)i) ? 0 : strtod(PQgetvalue(r, 0, (int)i), NULL);
            ob_metrics_gauge(columns[i].name, columns[i].help, columns[i].label_name, columns[i].label_value, value);
        }
        rc = 0;
    }
    PQclear(r);
    return rc;
}
