/*  static: the pages' loader (WEB_ROOT into memory), lookup, content types,
 *  and files made at start-up. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/ob_static.h"

static char s_root[64];

static void
s_write(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", s_root, rel);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static void
s_setup(void)
{
    snprintf(s_root, sizeof s_root, "/tmp/ob-static-XXXXXX");
    cr_assert_not_null(mkdtemp(s_root));
    char path[128];
    snprintf(path, sizeof path, "%s/js", s_root);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/.hidden", s_root);
    mkdir(path, 0700);
    s_write("plans.html", "<!doctype html><title>Plans</title>");
    s_write("js/app.js", "export const x = 1;\n");
    s_write(".hidden/secret.txt", "not served");
    s_write(".env", "STRIPE_SECRET_KEY=sk_live_x");
}

static void
s_teardown(void)
{
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", s_root);
    cr_expect_eq(system(command), 0);
}

Test(static, loads_every_file_but_dot_files, .init = s_setup, .fini = s_teardown)
{
    ob_static_t *web = ob_static_new(s_root);
    cr_assert_not_null(web);
    cr_expect_eq(ob_static_count(web), 2);
    const ob_static_file_t *page = ob_static_find(web, "/plans.html", 11);
    cr_assert_not_null(page);
    cr_expect_str_eq(page->content_type, "text/html; charset=utf-8");
    cr_expect_str_eq(page->cache_control, "no-cache");
    cr_expect_eq(page->len, strlen("<!doctype html><title>Plans</title>"));
    cr_expect_eq(memcmp(page->body, "<!doctype html>", 15), 0);
    cr_expect_eq(strlen(page->etag), 34, "a quoted 32-hex tag: %s", page->etag);
    const ob_static_file_t *script = ob_static_find(web, "/js/app.js", 10);
    cr_assert_not_null(script);
    cr_expect_str_eq(script->content_type, "text/javascript; charset=utf-8");
    cr_expect_str_eq(script->cache_control, "public, max-age=300");
    cr_expect_null(ob_static_find(web, "/.env", 5));
    cr_expect_null(ob_static_find(web, "/.hidden/secret.txt", 19));
    cr_expect_null(ob_static_find(web, "/js", 3));
    cr_expect_eq(ob_static_find(web, "/", 1), page, "/ is the plans page");
    ob_static_destroy(&web);
    cr_expect_null(web);
    ob_static_destroy(&web);
}

Test(static, files_made_at_start_up, .init = s_setup, .fini = s_teardown)
{
    ob_static_t *web = ob_static_new(s_root);
    cr_assert_not_null(web);
    const char *first = "{\"login_url\":null}";
    cr_assert_eq(ob_static_add(web, "/site-config.json", first, strlen(first)), 0);
    const ob_static_file_t *config = ob_static_find(web, "/site-config.json", 17);
    cr_assert_not_null(config);
    cr_expect_str_eq(config->content_type, "application/json");
    char etag[40];
    snprintf(etag, sizeof etag, "%s", config->etag);
    const char *second = "{\"login_url\":\"/login\"}";
    cr_assert_eq(ob_static_add(web, "/site-config.json", second, strlen(second)), 0, "replaces");
    cr_expect_eq(ob_static_count(web), 3);
    config = ob_static_find(web, "/site-config.json", 17);
    cr_expect_eq(config->len, strlen(second));
    cr_expect_str_neq(config->etag, etag, "new content, new tag");
    ob_static_destroy(&web);
}

Test(static, a_missing_root_is_refused)
{
    cr_expect_null(ob_static_new("/nonexistent/ob-web-root"));
}

Test(static, content_types)
{
    cr_expect_str_eq(ob_static_content_type("a.css"), "text/css; charset=utf-8");
    cr_expect_str_eq(ob_static_content_type("logo.SVG"), "image/svg+xml");
    cr_expect_str_eq(ob_static_content_type("f.woff2"), "font/woff2");
    cr_expect_str_eq(ob_static_content_type("README"), "application/octet-stream");
    cr_expect_str_eq(ob_static_content_type(".js"), "application/octet-stream");
}
