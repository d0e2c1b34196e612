/*  ob_exposition - builds a Prometheus text exposition. */
#include "gateway/ob_exposition.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LABELS 8
#define MAX_FAMILIES 256

typedef struct {
    char *name;
    char *type;
    char *help;
    char *lines; /* the samples, one per line */
    size_t len, cap;
} family_t;

#define MAX_INSTANCES 1024

struct _ob_expo_t {
    family_t families[MAX_FAMILIES];
    int count;
    char *instances[MAX_INSTANCES]; /* the snapshots' instances added so far */
    int instance_count;
};

ob_expo_t *
ob_expo_new(void)
{
    return calloc(1, sizeof(ob_expo_t));
}

void
ob_expo_destroy(ob_expo_t **self_p)
{
    ob_expo_t *self = *self_p;
    if (!self)
        return;
    for (int i = 0; i < self->count; i++) {
        free(self->families[i].name);
        free(self->families[i].type);
        free(self->families[i].help);
        free(self->families[i].lines);
    }
    for (int i = 0; i < self->instance_count; i++)
        free(self->instances[i]);
    free(self);
    *self_p = NULL;
}

bool
ob_expo_valid_name(const char *name, bool label)
{
    if (!name || !*name)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!label && c == ':');
        if (!alpha && !(p > name && c >= '0' && c <= '9'))
            return false;
    }
    return !(label && strncmp(name, "__", 2) == 0);
}

static int
s_append(family_t *family, const char *text, size_t len)
{
    if (family->len + len + 1 > family->cap) {
        size_t cap = family->cap ? family->cap * 2 : 256;
        while (cap < family->len + len + 1)
            cap *= 2;
        char *lines = realloc(family->lines, cap);
        if (!lines)
            return -1;
        family->lines = lines;
        family->cap = cap;
    }
    memcpy(family->lines + family->len, text, len);
    family->len += len;
    family->lines[family->len] = '\0';
    return 0;
}

static int
s_append_str(family_t *family, const char *text)
{
    return s_append(family, text, strlen(text));
}

/*  Label values escape backslash, double quote and newline. */
static int
s_append_escaped(family_t *family, const char *value, bool help)
{
    for (const char *p = value; *p; p++) {
        const char *out = NULL;
        if (*p == '\\')
            out = "\\\\";
        else if (*p == '\n')
            out = "\\n";
        else if (*p == '"' && !help)
            out = "\\\"";
        if ((out ? s_append_str(family, out) : s_append(family, p, 1)) != 0)
            return -1;
    }
    return 0;
}

static family_t *
s_family(ob_expo_t *self, const char *name, const char *type, const char *help)
{
    for (int i = 0; i < self->count; i++)
        if (strcmp(self->families[i].name, name) == 0)
            return strcmp(self->families[i].type, type) == 0 ? &self->families[i] : NULL;
    if (self->count == MAX_FAMILIES)
        return NULL;
    family_t *family = &self->families[self->count];
    memset(family, 0, sizeof *family);
    family->name = strdup(name);
    family->type = strdup(type);
    family->help = strdup(help ? help : "");
    if (!family->name || !family->type || !family->help) {
        free(family->name);
        free(family->type);
        free(family->help);
        return NULL;
    }
    self->count++;
    return family;
}

static void
s_format_value(char *out, size_t cap, double value)
{
    if (isnan(value))
        snprintf(out, cap, "NaN");
    else if (isinf(value))
        snprintf(out, cap, value > 0 ? "+Inf" : "-Inf");
    else if (value == (double)(long long)value && fabs(value) < 1e15)
        snprintf(out, cap, "%lld", (long long)value);
    else
        snprintf(out, cap, "%.15g", value);
}

int
ob_expo_add(ob_expo_t *self, const char *name, const char *type, const char *help, const char *suffix,
            const ob_expo_label_t *labels, size_t label_count, double value)
{
    if (!ob_expo_valid_name(name, false) ||
        (strcmp(type, "counter") != 0 && strcmp(type, "gauge") != 0 && strcmp(type, "histogram") != 0))
        return -1;
    for (size_t i = 0; i < label_count; i++) {
        if (!ob_expo_valid_name(labels[i].name, true) || !labels[i].value)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[i].name, labels[j].name) == 0)
                return -1;
    }
    family_t *family = s_family(self, name, type, help);
    if (!family)
        return -1;
    size_t mark = family->len;
    int rc = s_append_str(family, name) | s_append_str(family, suffix ? suffix : "");
    if (label_count) {
        rc |= s_append_str(family, "{");
        for (size_t i = 0; i < label_count; i++) {
            if (i)
                rc |= s_append_str(family, ",");
            rc |= s_append_str(family, labels[i].name) | s_append_str(family, "=\"") |
                  s_append_escaped(family, labels[i].value, false) | s_append_str(family, "\"");
        }
        rc |= s_append_str(family, "}");
    }
    char number[48];
    s_format_value(number, sizeof number, value);
    rc |= s_append_str(family, " ") | s_append_str(family, number) | s_append_str(family, "\n");
    if (rc != 0 && family->lines) {
        family->len = mark;
        family->lines[mark] = '\0';
    }
    return rc != 0 ? -1 : 0;
}

/*  True when instance was added before; remembers it otherwise. */
static bool
s_seen(ob_expo_t *self, const char *instance)
{
    for (int i = 0; i < self->instance_count; i++)
        if (strcmp(self->instances[i], instance) == 0)
            return true;
    if (self->instance_count < MAX_INSTANCES && (self->instances[self->instance_count] = strdup(instance)))
        self->instance_count++;
    return false;
}

int
ob_expo_add_snapshot(ob_expo_t *self, const char *json, size_t len)
{
    json_t *root = json_loadb(json, len, 0, NULL);
    json_t *families = json_object_get(root, "families");
    const char *program = json_string_value(json_object_get(root, "program"));
    const char *instance = json_string_value(json_object_get(root, "instance"));
    if (!json_is_array(families) || !program || !instance) {
        json_decref(root);
        return -1;
    }
    if (s_seen(self, instance)) {
        json_decref(root);
        return 0;
    }
    int taken = 0;
    size_t i, j;
    json_t *family, *sample;
    json_array_foreach(families, i, family)
    {
        const char *name = json_string_value(json_object_get(family, "name"));
        const char *type = json_string_value(json_object_get(family, "type"));
        const char *help = json_string_value(json_object_get(family, "help"));
        json_t *samples = json_object_get(family, "samples");
        if (!name || !type || !json_is_array(samples) || strcmp(type, "histogram") == 0)
            continue;
        json_array_foreach(samples, j, sample)
        {
            json_t *value = json_object_get(sample, "value");
            json_t *own = json_object_get(sample, "labels");
            if (!json_is_number(value))
                continue;
            ob_expo_label_t labels[MAX_LABELS] = {{"program", program}, {"worker", instance}};
            size_t count = 2;
            const char *key;
            json_t *label_value;
            bool fits = true;
            json_object_foreach(own, key, label_value)
            {
                if (count == MAX_LABELS || !json_is_string(label_value)) {
                    fits = false;
                    break;
                }
                labels[count++] = (ob_expo_label_t){key, json_string_value(label_value)};
            }
            if (fits && ob_expo_add(self, name, type, help, "", labels, count, json_number_value(value)) == 0)
                taken++;
        }
    }
    json_decref(root);
    return taken;
}

char *
ob_expo_render(ob_expo_t *self, size_t *len)
{
    family_t out = {0};
    int rc = 0;
    for (int i = 0; i < self->count; i++) {
        family_t *family = &self->families[i];
        if (!family->len)
            continue;
        rc |= s_append_str(&out, "# HELP ") | s_append_str(&out, family->name) | s_append_str(&out, " ") |
              s_append_escaped(&out, family->help, true) | s_append_str(&out, "\n# TYPE ") | s_append_str(&out, family->name) |
              s_append_str(&out, " ") | s_append_str(&out, family->type) | s_append_str(&out, "\n") |
              s_append(&out, family->lines, family->len);
    }
    if (rc != 0 || s_append(&out, "", 0) != 0) {
        free(out.lines);
        return NULL;
    }
    *len = out.len;
    return out.lines;
}
