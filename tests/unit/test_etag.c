/*  etag: If-None-Match against our entity tag. */
#include <criterion/criterion.h>

#include "gateway/ob_etag.h"

Test(etag, if_none_match)
{
    const char *tag = "\"abc\"";
    cr_expect(ob_etag_matches("\"abc\"", 5, tag, 5));
    cr_expect(ob_etag_matches("W/\"abc\"", 7, tag, 5), "weak comparison");
    cr_expect(ob_etag_matches("\"x\", \"abc\"", 10, tag, 5), "any in the list");
    cr_expect(ob_etag_matches("*", 1, tag, 5));
    cr_expect_not(ob_etag_matches("\"abcd\"", 6, tag, 5));
    cr_expect_not(ob_etag_matches("abc", 3, tag, 5), "unquoted is another tag");
    cr_expect_not(ob_etag_matches("\"abc\"", 5, "", 0), "no tag never matches");
    cr_expect_not(ob_etag_matches(NULL, 0, tag, 5));
}
