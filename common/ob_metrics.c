/*  ob_metrics - a process's own counters and gauges. */
#include "common/ob_metrics.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/ob_log.h"

#define MAX_SERIES 128
#define MAX_LABEL 64

typedef struct {
    const char *name;
    const char *help;
    bool counter;
    char label_name[MAX_LABEL];
    char label_value[MAX_LABEL];
    double value;
} series_t;

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static series_t s_series[MAX_SERIES];
static int s_count;
static bool s_full_logged;
static const char *s_program = "worker";
static double s_start_time;

static void
s_copy(char *dst, const char *src)
{
    snprintf(dst, MAX_LABEL, "%s", src ? src : "");
}

/*  The series, created when new; NULL when the registry is full. Call locked. */
static series_t *
s_find(const char *name, const char *help, bool counter, const char *label_name, const char *label_value)
{
    char lname[MAX_LABEL], lvalue[MAX_LABEL];
    s_copy(lname, label_name);
    s_copy(lvalue, label_name ? label_value : NULL);
    for (int i = 0; i < s_count; i++)
        if (strcmp(s_series[i].name, name) == 0 && strcmp(s_series[i].label_name, lname) == 0 &&
            strcmp(s_series[i].label_value, lvalue) == 0)
            return &s_series[i];
    if (!help)
        return NULL;
    if (s_count == MAX_SERIES) {
        if (!s_full_logged)
            ob_log_warn("metrics: more than %d series; %s is not kept", MAX_SERIES, name);
        s_full_logged = true;
        return NULL;
    }
    series_t *series = &s_series[s_count++];
    series->name = name;
    series->help = help;
    series->counter = counter;
    memcpy(series->label_name, lname, sizeof lname);
    memcpy(series->label_value, lvalue, sizeof lvalue);
    series->value = 0;
    return series;
}

void
ob_metrics_count(const char *name, const char *help, const char *label_name, const char *label_value, double delta)
{
    if (delta < 0)
        return;
    pthread_mutex_lock(&s_lock);
    series_t *series = s_find(name, help, true, label_name, label_value);
    if (series)
        series->value += delta;
    pthread_mutex_unlock(&s_lock);
}

void
ob_metrics_gauge(const char *name, const char *help, const char *label_name, const char *label_value, double value)
{
    pthread_mutex_lock(&s_lock);
    series_t *series = s_find(name, help, false, label_name, label_value);
    if (series)
        series->value = value;
    pthread_mutex_unlock(&s_lock);
}

double
ob_metrics_value(const char *name, const char *label_name, const char *label_value)
{
    pthread_mutex_lock(&s_lock);
    series_t *series = s_find(name, NULL, false, label_name, label_value);
    double value = series ? series->value : 0;
    pthread_mutex_unlock(&s_lock);
    return value;
}

void
ob_metrics_set_program(const char *program)
{
    s_program = program;
    ob_metrics_start_time();
}

double
ob_metrics_rss_bytes(void)
{
    FILE *file = fopen("/proc/self/statm", "r");
    if (!file)
        return 0;
    unsigned long size = 0, resident = 0;
    int n = fscanf(file, "%lu %lu", &size, &resident);
    fclose(file);
    return n == 2 ? (double)resident * (double)sysconf(_SC_PAGESIZE) : 0;
}

double
ob_metrics_start_time(void)
{
    pthread_mutex_lock(&s_lock);
    if (s_start_time == 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        s_start_time = (double)now.tv_sec + now.tv_nsec / 1e9;
    }
    double start = s_start_time;
    pthread_mutex_unlock(&s_lock);
    return start;
}

/*  Appends one sample to the family named name, creating it in families. */
static void
s_add(json_t *families, json_t *index, const char *name, const char *help, bool counter, const char *label_name,
      const char *label_value, double value)
{
    json_t *family = json_object_get(index, name);
    if (!family) {
        family = json_pack("{s:s,s:s,s:s,s:[]}", "name", name, "type", counter ? "counter" : "gauge", "help", help, "samples");
        if (!family)
            return;
        json_array_append_new(families, family);
        json_object_set(index, name, family);
    }
    json_t *labels = json_object();
    if (label_name && *label_name)
        json_object_set_new(labels, label_name, json_string(label_value));
    json_array_append_new(json_object_get(family, "samples"), json_pack("{s:o,s:f}", "labels", labels, "value", value));
}

json_t *
ob_metrics_snapshot(void)
{
    char host[64] = "", instance[96];
    gethostname(host, sizeof host - 1);
    snprintf(instance, sizeof instance, "%s:%d", host, (int)getpid());
    double start = ob_metrics_start_time();
    json_t *families = json_array(), *index = json_object();
    pthread_mutex_lock(&s_lock);
    for (int i = 0; i < s_count; i++) {
        series_t *s = &s_series[i];
        s_add(families, index, s->name, s->help, s->counter, s->label_name, s->label_value, s->value);
    }
    pthread_mutex_unlock(&s_lock);
    s_add(families, index, "process_resident_memory_bytes", "Resident memory size in bytes.", false, NULL, NULL,
          ob_metrics_rss_bytes());
    s_add(families, index, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", false, NULL,
          NULL, start);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    s_add(families, index, "ob_process_uptime_seconds", "Seconds since the process started.", false, NULL, NULL,
          (double)now.tv_sec + now.tv_nsec / 1e9 - start);
    json_decref(index);
    return json_pack("{s:s,s:s,s:o}", "program", s_program, "instance", instance, "families", families);
}
