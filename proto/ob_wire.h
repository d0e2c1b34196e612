/*  ob_wire - the frames between the gateway's broker and the workers.
 *
 *  A Majordomo-style protocol (ZeroMQ RFC 7), trimmed to what we use. Every
 *  message a worker's DEALER exchanges with the broker's ROUTER starts with
 *  the protocol frame OB_WIRE_PROTOCOL and a one-byte command:
 *
 *    worker -> broker  READY      [OBW1][R][service][credit as decimal text]
 *    worker -> broker  REPLY      [OBW1][P]([route][ob_reply msgpack])+  one pair per answer
 *    both ways         HEARTBEAT  [OBW1][H]
 *    both ways         DISCONNECT [OBW1][D]
 *    broker -> worker  REQUEST    [OBW1][Q][route][ob_envelope msgpack]
 *
 *  The route frame is opaque to workers: they echo it in the REPLY. Credit is
 *  how many requests the worker accepts at once (batching workers take
 *  many, so they can group-commit). Any message counts as a heartbeat. A
 *  broker that receives anything but READY from a worker it does not know
 *  answers DISCONNECT, and the worker then reconnects and says READY again.
 */
#ifndef OB_WIRE_H_INCLUDED
#define OB_WIRE_H_INCLUDED

#include <stddef.h>

#define OB_WIRE_PROTOCOL "OBW1"
#define OB_WIRE_READY 'R'
#define OB_WIRE_REPLY 'P'
#define OB_WIRE_HEARTBEAT 'H'
#define OB_WIRE_DISCONNECT 'D'
#define OB_WIRE_REQUEST 'Q'

/*  The services the broker knows; a worker announcing any other is refused. */
#define OB_WIRE_SERVICES(SERVICE)                                                                                                  \
    SERVICE(OB_SERVICE_STRIPE, "stripe")                                                                                           \
    SERVICE(OB_SERVICE_SUBSCRIPTION, "subscription")                                                                               \
    SERVICE(OB_SERVICE_USAGE, "usage")                                                                                             \
    SERVICE(OB_SERVICE_LAGO, "lago")                                                                                               \
    SERVICE(OB_SERVICE_NOTIFIER, "notifier")

#define OB_WIRE_SERVICE_ENUM(id, name) id,
typedef enum { OB_WIRE_SERVICES(OB_WIRE_SERVICE_ENUM) OB_SERVICE_COUNT } ob_service_id_t;
#undef OB_WIRE_SERVICE_ENUM

/*  The service's name ("stripe"), or NULL for an id out of range. */
const char *ob_wire_service_name(int service);

/*  The service id for a name of len bytes, or -1. */
int ob_wire_service_find(const char *name, size_t len);

#endif
