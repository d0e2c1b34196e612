/*  ob_static - the people-facing pages (plans, sign-up, billing settings)
 *  and their CSS/JS, served by the gateway from WEB_ROOT.
 *
 *  Every file under the root is read once, at start-up, before any loop
 *  thread runs: serving never touches the disk, so the event loop never
 *  blocks on it. An operator rebrands by editing the files and restarting
 *  the gateway (no rebuild). Each answer carries its content type, a strong
 *  ETag (If-None-Match gives 304), Cache-Control (HTML is revalidated every
 *  time, assets are cached for five minutes) and a strict
 *  Content-Security-Policy: only this origin's scripts, styles, images and
 *  API, no inline script or style element, no framing.
 */
#ifndef OB_STATIC_H_INCLUDED
#define OB_STATIC_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

typedef struct _ob_static_t ob_static_t;

/*  The policy every page is sent with (also checked by tests). */
#define OB_STATIC_CSP                                                                                                              \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; "               \
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

/*  One loaded file. Views live as long as the ob_static_t. */
typedef struct {
    const char *path;         /* URL path, "/plans.html" */
    const char *content_type; /* "text/html; charset=utf-8" */
    const char *cache_control;
    const char *etag; /* "\"<32 hex>\"" */
    const char *body;
    size_t len;
} ob_static_file_t;

/*  Loads every regular file under root (subfolders included; names starting
 *  with '.' skipped), at most 512 files and 32 MiB in all. NULL when root
 *  cannot be read or a limit is passed (logged). */
ob_static_t *ob_static_new(const char *root);

void ob_static_destroy(ob_static_t **self_p);

/*  Adds (or replaces) a file made at start-up, such as the pages' settings
 *  (/site-config.json); body is copied. 0, or -1 when full or out of memory. */
int ob_static_add(ob_static_t *self, const char *path, const char *body, size_t len);

/*  The file for a normalised URL path ("/" means "/plans.html"), or NULL. */
const ob_static_file_t *ob_static_find(const ob_static_t *self, const char *path, size_t len);

/*  The content type for a file name, by extension. */
const char *ob_static_content_type(const char *name);

/*  Number of files loaded. */
size_t ob_static_count(const ob_static_t *self);

struct st_h2o_req_t;

/*  Answers a GET or HEAD for a loaded file (200, or 304 when If-None-Match
 *  names its ETag) and returns true; false, having sent nothing, for any
 *  other method or path. Runs on a loop thread; never blocks. */
bool ob_static_serve(const ob_static_t *self, struct st_h2o_req_t *req);

#endif
