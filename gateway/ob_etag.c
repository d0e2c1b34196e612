/*  ob_etag - If-None-Match against our entity tag. */
#include "gateway/ob_etag.h"

#include <string.h>

bool
ob_etag_matches(const char *value, size_t len, const char *etag, size_t etag_len)
{
    if (!value || etag_len == 0)
        return false;
    /* Any listed tag equal to ours (or "*") means the client's copy is current. */
    for (size_t start = 0; start < len;) {
        while (start < len && (value[start] == ' ' || value[start] == ','))
            start++;
        size_t end = start;
        while (end < len && value[end] != ',')
            end++;
        size_t stop = end;
        while (stop > start && value[stop - 1] == ' ')
            stop--;
        const char *tag = value + start;
        size_t tag_len = stop - start;
        if (tag_len > 2 && tag[0] == 'W' && tag[1] == '/') {
            tag += 2;
            tag_len -= 2;
        }
        if ((tag_len == 1 && tag[0] == '*') || (tag_len == etag_len && memcmp(tag, etag, tag_len) == 0))
            return true;
        start = end;
    }
    return false;
}
