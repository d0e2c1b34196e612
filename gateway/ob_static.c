/*  ob_static - the pages, loaded into memory at start and served from it. */
#include "gateway/ob_static.h"

#include <errno.h>
#include <ftw.h>
#include <h2o.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/ob_log.h"
#include "gateway/ob_etag.h"

#define MAX_FILES 512
#define MAX_TOTAL_BYTES (32u * 1024 * 1024)

typedef struct {
    ob_static_file_t file;
    char *path;
    char *body;
    char etag[40];
} entry_t;

struct _ob_static_t {
    entry_t entries[MAX_FILES];
    size_t count;
    size_t total;
};

static const struct {
    const char *ext;
    const char *type;
} s_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".webp", "image/webp"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
};

const char *
ob_static_content_type(const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < sizeof s_types / sizeof s_types[0]; i++) {
        size_t ext_len = strlen(s_types[i].ext);
        if (len > ext_len && strcasecmp(name + len - ext_len, s_types[i].ext) == 0)
            return s_types[i].type;
    }
    return "application/octet-stream";
}

/* nftw has no user pointer: the loader in progress (start-up is single-threaded). */
static ob_static_t *s_loading;
static size_t s_root_len;
static int s_load_error;

static int
s_read_all(const char *name, size_t size, char **out)
{
    FILE *f = fopen(name, "rb");
    if (!f)
        return -1;
    char *body = malloc(size ? size : 1);
    size_t got = body ? fread(body, 1, size, f) : 0;
    fclose(f);
    if (!body || got != size) {
        free(body);
        return -1;
    }
    *out = body;
    return 0;
}

static void
s_etag(const char *body, size_t len, char *out, size_t cap)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    EVP_Digest(body, len, digest, &digest_len, EVP_sha256(), NULL);
    size_t n = 0;
    out[n++] = '"';
    for (unsigned i = 0; i < 16 && n + 3 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%02x", digest[i]);
    out[n++] = '"';
    out[n] = '\0';
}

/*  Fills e (path and body already set) from its name and length. */
static void
s_describe(entry_t *e, size_t len)
{
    s_etag(e->body, len, e->etag, sizeof e->etag);
    const char *slash = strrchr(e->path, '/');
    const char *content_type = ob_static_content_type(slash ? slash + 1 : e->path);
    e->file = (ob_static_file_t){
        .path = e->path,
        .content_type = content_type,
        /* Pages are revalidated on every visit (a 304 is cheap); assets may be reused for a while. */
        .cache_control = strncmp(content_type, "text/html", 9) == 0 ? "no-cache" : "public, max-age=300",
        .etag = e->etag,
        .body = e->body,
        .len = len,
    };
}

static int
s_visit(const char *name, const struct stat *st, int type, struct FTW *ftw)
{
    const char *base = name + ftw->base;
    if (ftw->level > 0 && base[0] == '.')
        return type == FTW_D ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
    if (type != FTW_F)
        return FTW_CONTINUE;
    ob_static_t *self = s_loading;
    if (self->count == MAX_FILES || self->total + (size_t)st->st_size > MAX_TOTAL_BYTES) {
        ob_log_error("WEB_ROOT holds more than %d files or %u bytes", MAX_FILES, MAX_TOTAL_BYTES);
        s_load_error = E2BIG;
        return FTW_STOP;
    }
    entry_t *e = &self->entries[self->count];
    if (s_read_all(name, (size_t)st->st_size, &e->body) != 0 || !(e->path = strdup(name + s_root_len))) {
        ob_log_error("cannot read %s: %s", name, strerror(errno));
        free(e->body);
        e->body = NULL;
        s_load_error = EIO;
        return FTW_STOP;
    }
    s_describe(e, (size_t)st->st_size);
    self->count++;
    self->total += (size_t)st->st_size;
    return FTW_CONTINUE;
}

ob_static_t *
ob_static_new(const char *root)
{
    ob_static_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    char *real = realpath(root, NULL);
    if (!real) {
        ob_log_error("WEB_ROOT %s: %s", root, strerror(errno));
        free(self);
        return NULL;
    }
    s_loading = self;
    s_root_len = strlen(real);
    s_load_error = 0;
    int rc = nftw(real, s_visit, 16, FTW_PHYS | FTW_ACTIONRETVAL);
    s_loading = NULL;
    free(real);
    if (rc != 0 || s_load_error) {
        if (!s_load_error)
            ob_log_error("WEB_ROOT %s cannot be read: %s", root, strerror(errno));
        ob_static_destroy(&self);
        return NULL;
    }
    return self;
}

int
ob_static_add(ob_static_t *self, const char *path, const char *body, size_t len)
{
    entry_t *e = NULL;
    for (size_t i = 0; i < self->count && !e; i++)
        if (strcmp(self->entries[i].path, path) == 0)
            e = &self->entries[i];
    if (!e && self->count == MAX_FILES)
        return -1;
    char *copy = malloc(len ? len : 1);
    char *name = e ? NULL : strdup(path);
    if (!copy || (!e && !name)) {
        free(copy);
        free(name);
        return -1;
    }
    memcpy(copy, body, len);
    if (e) {
        free(e->body);
    } else {
        e = &self->entries[self->count++];
        e->path = name;
    }
    e->body = copy;
    s_describe(e, len);
    return 0;
}

void
ob_static_destroy(ob_static_t **self_p)
{
    ob_static_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++) {
        free(self->entries[i].path);
        free(self->entries[i].body);
    }
    free(self);
    *self_p = NULL;
}

size_t
ob_static_count(const ob_static_t *self)
{
    return self ? self->count : 0;
}

const ob_static_file_t *
ob_static_find(const ob_static_t *self, const char *path, size_t len)
{
    if (len == 1 && path[0] == '/') {
        path = "/plans.html";
        len = strlen(path);
    }
    for (size_t i = 0; self && i < self->count; i++) {
        const ob_static_file_t *f = &self->entries[i].file;
        if (strlen(f->path) == len && memcmp(f->path, path, len) == 0)
            return f;
    }
    return NULL;
}

static void
s_header(h2o_req_t *req, const char *name, const char *value)
{
    /* Every value here is static or lives as long as the ob_static_t. */
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 1, NULL, value, strlen(value));
}

bool
ob_static_serve(const ob_static_t *self, h2o_req_t *req)
{
    bool head = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
    if (!head && !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")))
        return false;
    const ob_static_file_t *file = ob_static_find(self, req->path_normalized.base, req->path_normalized.len);
    if (!file)
        return false;
    s_header(req, "etag", file->etag);
    s_header(req, "cache-control", file->cache_control);
    s_header(req, "content-security-policy", OB_STATIC_CSP);
    s_header(req, "x-content-type-options", "nosniff");
    s_header(req, "referrer-policy", "same-origin");
    s_header(req, "cross-origin-opener-policy", "same-origin");
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
    if (i >= 0 &&
        ob_etag_matches(req->headers.entries[i].value.base, req->headers.entries[i].value.len, file->etag, strlen(file->etag))) {
        req->res.status = 304;
        req->res.reason = "Not Modified";
        req->res.content_length = 0;
        h2o_send_inline(req, "", 0);
        return true;
    }
    s_header(req, "content-type", file->content_type);
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = file->len;
    h2o_send_inline(req, head ? "" : file->body, head ? 0 : file->len);
    return true;
}
