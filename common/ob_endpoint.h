/*  ob_endpoint - is this text one ZeroMQ endpoint we can bind or connect?
 *
 *  libzmq parses endpoints late and partly (a comma list passes as a tcp
 *  address whose port is "5555,tcp://..."), so settings are checked here at
 *  start: exactly one endpoint of the forms
 *
 *    tcp://HOST:PORT   HOST a name, an IPv4 address, [IPv6] or * (bind);
 *                      PORT 1..65535 in decimal
 *    ipc://PATH        PATH 1..107 printable bytes (the socket path limit)
 *    inproc://NAME     NAME 1..255 printable bytes
 *
 *  BROKER_ENDPOINT may list several gateways' brokers, comma-separated
 *  with no spaces ("tcp://gw1:5555,tcp://gw2:5555"): ob_endpoint_list_problem
 *  checks such a list, item by item.
 *
 *  Pure; no allocation.
 */
#ifndef OB_ENDPOINT_H_INCLUDED
#define OB_ENDPOINT_H_INCLUDED

#include <stdbool.h>

/*  NULL when endpoint is usable, else a short reason (static) to print
 *  after the setting's name. */
const char *ob_endpoint_problem(const char *endpoint);

#define OB_ENDPOINT_LIST_MAX 16 /* gateways one worker serves at most */
#define OB_ENDPOINT_MAX_LEN 511 /* bytes in one endpoint of a list */

/*  NULL when list holds 1..OB_ENDPOINT_LIST_MAX endpoints separated by single
 *  commas, each usable by ob_endpoint_problem and none listed twice; else a
 *  short reason (static) to print after the setting's name. */
const char *ob_endpoint_list_problem(const char *list);

/*  True when a (valid) endpoint can only be reached from this machine:
 *  tcp:// on 127.0.0.0/8, [::1], localhost or the lo interface, ipc://,
 *  inproc://. A wildcard host (*), 0.0.0.0 and every other host are not. */
bool ob_endpoint_is_loopback(const char *endpoint);

#endif
