/*  ob_metrics - a process's own counters and gauges, for /metrics.
 *
 *  Every process keeps one registry (file-scope, guarded by a mutex, so the
 *  lago-worker's two runtimes and any thread may count). A series is a
 *  family name plus at most one label; names follow Prometheus conventions
 *  (counters end in _total, durations in _seconds, base units). Workers do
 *  not serve HTTP: the runtime (ob_worker) sends ob_metrics_snapshot() to the
 *  gateway's broker every METRICS_INTERVAL_MS, and the gateway's /metrics
 *  shows the latest snapshot of every live worker. Counting never blocks
 *  and never fails the caller: past the series limit a new series is
 *  dropped (logged once).
 *
 *  Snapshot (JSON, built by jansson):
 *    {"program": "lago-worker", "instance": "host:pid",
 *     "families": [{"name", "type": "counter"|"gauge", "help",
 *                   "samples": [{"labels": {"k": "v"}, "value": n}]}]}
 *  It always carries process_resident_memory_bytes,
 *  process_start_time_seconds and ob_process_uptime_seconds.
 */
#ifndef OB_METRICS_H_INCLUDED
#define OB_METRICS_H_INCLUDED

#include <jansson.h>

/*  Adds delta (>= 0) to the counter name{label_name="label_value"}; the
 *  label may be NULL. help is a static string, the same at every call. */
void ob_metrics_count(const char *name, const char *help, const char *label_name, const char *label_value, double delta);

/*  Sets the gauge name{label_name="label_value"} to value. */
void ob_metrics_gauge(const char *name, const char *help, const char *label_name, const char *label_value, double value);

/*  The current value of a series, 0 if it was never set (for tests). */
double ob_metrics_value(const char *name, const char *label_name, const char *label_value);

/*  Names the process in snapshots ("stripe-worker"); static string. */
void ob_metrics_set_program(const char *program);

/*  A new reference to the snapshot described above, NULL on out of memory. */
json_t *ob_metrics_snapshot(void);

/*  The process's resident set size in bytes (from /proc/self/statm), 0 if
 *  it cannot be read; and its start time (Unix seconds). */
double ob_metrics_rss_bytes(void);
double ob_metrics_start_time(void);

#endif
