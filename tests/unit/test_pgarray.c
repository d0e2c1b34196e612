/*  ob_pgarray: Postgres array parameters, text literal and binary. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/ob_pgarray.h"

Test(ob_pgarray, pg_array_literal_quotes_and_escapes)
{
    ob_pgarray_text_t array = {0};
    cr_expect(strcmp(ob_pgarray_text_value(&array), "{}") == 0);
    ob_pgarray_text_add(&array, "plain");
    ob_pgarray_text_add(&array, "with \"quote\" and \\ backslash, comma {brace}");
    ob_pgarray_text_add(&array, NULL);
    ob_pgarray_text_add(&array, "");
    cr_expect(strcmp(ob_pgarray_text_value(&array),
                     "{\"plain\",\"with \\\"quote\\\" and \\\\ backslash, comma {brace}\",NULL,\"\"}") == 0,
              "%s", ob_pgarray_text_value(&array));
    ob_pgarray_text_release(&array);
}

Test(ob_pgarray, binary_layout)
{
    ob_pgarray_t a;
    ob_pgarray_init(&a, OB_PG_OID_TEXT);
    ob_pgarray_add(&a, "ab", 2);
    ob_pgarray_add(&a, "", 0);
    int len;
    const unsigned char *bytes = (const unsigned char *)ob_pgarray_finish(&a, &len);
    static const unsigned char expected[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0,   0,   25, 0, 0, 0,
                                             2, 0, 0, 0, 1, 0, 0, 0, 2, 'a', 'b', 0,  0, 0, 0};
    cr_assert_eq(len, (int)sizeof expected);
    cr_expect_eq(memcmp(bytes, expected, sizeof expected), 0);
    ob_pgarray_release(&a);
    ob_pgarray_init(&a, OB_PG_OID_INT8);
    ob_pgarray_add_int8(&a, 258);
    bytes = (const unsigned char *)ob_pgarray_finish(&a, &len);
    cr_expect_eq(len, 20 + 4 + 8);
    cr_expect_eq(bytes[20 + 3], 8);
    cr_expect_eq(bytes[20 + 4 + 6], 1);
    cr_expect_eq(bytes[20 + 4 + 7], 2);
    ob_pgarray_release(&a);
}
