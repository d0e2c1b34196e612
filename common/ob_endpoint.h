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
 *  Pure; no allocation.
 */
#ifndef OB_ENDPOINT_H_INCLUDED
#define OB_ENDPOINT_H_INCLUDED

/*  NULL when endpoint is usable, else a short reason (static) to print
 *  after the setting's name. */
const char *ob_endpoint_problem(const char *endpoint);

#endif
