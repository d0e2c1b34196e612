/*  ob_zap - the broker's door keeper: a ZAP handler (ZeroMQ RFC 27).
 *
 *  With CURVE on (BROKER_SERVER_SECRET_KEY), libzmq asks the handler bound
 *  at inproc://zeromq.zap.01 of the broker's context about every worker
 *  that completes the CURVE handshake; this one answers 200 only for a
 *  public key listed in BROKER_CLIENT_PUBLIC_KEYS, and 400 for every other
 *  key or mechanism. A refused worker is logged with its address and its
 *  public key (never anything secret: CURVE never sends one), at most once
 *  a minute per key, since a refused worker keeps retrying.
 *
 *  A peer without CURVE never reaches the handler: its handshake fails on
 *  the mechanism, so it can say nothing (READY included) to the broker.
 */
#ifndef OB_ZAP_H_INCLUDED
#define OB_ZAP_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _ob_zap_t ob_zap_t;

/*  Binds the handler in zmq_ctx (borrowed, must outlive it) and starts its
 *  thread; bind it before the broker's socket, so no handshake is ever
 *  taken without it. allowed_keys: the checked comma list (copied). NULL on
 *  failure (logged). */
ob_zap_t *ob_zap_new(void *zmq_ctx, const char *allowed_keys);

/*  Stops the thread and closes the socket; before zmq_ctx_term. */
void ob_zap_destroy(ob_zap_t **self_p);

/*  The decision alone, for tests: true when mechanism is "CURVE" and the
 *  32-byte key is in allowed_keys. */
bool ob_zap_allows(const char *allowed_keys, const char *mechanism, size_t mechanism_len, const uint8_t *key, size_t key_len);

#endif
