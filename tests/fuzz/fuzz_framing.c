/*  fuzz_framing - the request-head reader that refuses ambiguous body
 *  framing (gateway/ob_framing.c), which sees every HTTP/1.x request head.
 *
 *  Input: the head as received. Every verdict has a reason; bytes after the
 *  blank line do not change the verdict.
 */
#include <string.h>

#include "gateway/ob_framing.h"
#include "tests/fuzz/fuzz_util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    /* An exact-size copy, so ASan sees any read past the head. */
    char *head = fuzz_strndup((const char *)data, len);
    ob_framing_verdict_t verdict = ob_framing_check_head(head, len);
    FUZZ_CHECK(ob_framing_reason(verdict) != NULL);
    const char *blank = memmem(head, len, "\r\n\r\n", 4);
    if (blank) {
        size_t head_len = (size_t)(blank - head) + 4;
        char *cut = fuzz_strndup(head, head_len);
        FUZZ_CHECK(ob_framing_check_head(cut, head_len) == verdict);
        free(cut);
    }
    free(head);
    return 0;
}
