/*  ob_wire - service names of the broker protocol. */
#include "proto/ob_wire.h"

#include <string.h>

#define OB_WIRE_SERVICE_NAME(id, name) name,
static const char *s_names[] = {OB_WIRE_SERVICES(OB_WIRE_SERVICE_NAME)};

const char *
ob_wire_service_name(int service)
{
    return service >= 0 && service < OB_SERVICE_COUNT ? s_names[service] : NULL;
}

int
ob_wire_service_find(const char *name, size_t len)
{
    for (int i = 0; i < OB_SERVICE_COUNT; i++)
        if (strlen(s_names[i]) == len && memcmp(s_names[i], name, len) == 0)
            return i;
    return -1;
}
