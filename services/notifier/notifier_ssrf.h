/*  notifier_ssrf - keeps outgoing webhooks out of the operator's network.
 *
 *  A target must be http:// or https:// with a host, no user info, and
 *  (unless private targets are allowed, WEBHOOK_ALLOW_PRIVATE_TARGETS) must
 *  not name or resolve to a loopback, private, link-local, shared, multicast
 *  or reserved address. The URL is checked when an endpoint is saved; the
 *  address curl actually connects to is checked again before every request
 *  (notifier_ssrf_address_allowed from a CURLOPT_PREREQFUNCTION), which also
 *  covers names that resolve, or later re-resolve, to such an address. */
#ifndef NOTIFIER_SSRF_H_INCLUDED
#define NOTIFIER_SSRF_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

/*  Checks url; returns NULL when it is acceptable, else a reason (static). */
const char *notifier_ssrf_check_url(const char *url, bool allow_private);

/*  True for a numeric IPv4 or IPv6 address (text) that is public. */
bool notifier_ssrf_address_public(const char *address);

#endif
