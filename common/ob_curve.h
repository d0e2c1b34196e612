/*  ob_curve - ZeroMQ CURVE keys as settings carry them.
 *
 *  A key is 40 characters of Z85 (ZeroMQ RFC 32), the text form of its 32
 *  bytes; zmq_curve_keypair makes them (billing-admin keygen). The gateway's
 *  broker holds the server secret key and a comma-separated list of the
 *  worker public keys it accepts; a worker holds the server public key and
 *  its own secret key, from which its public key follows. Z85 and
 *  curve25519 are libzmq's (zmq_z85_*, zmq_curve_public); no allocation.
 */
#ifndef OB_CURVE_H_INCLUDED
#define OB_CURVE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OB_CURVE_KEY_LEN 40   /* Z85 characters of one key */
#define OB_CURVE_KEYS_MAX 256 /* worker keys one gateway accepts at most */

/*  NULL when text is one Z85 key, else a short reason (static) to print
 *  after the setting's name; never echoes the text. */
const char *ob_curve_key_problem(const char *text);

/*  NULL when list is 1..OB_CURVE_KEYS_MAX keys separated by single commas. */
const char *ob_curve_keys_problem(const char *list);

/*  True when the 32-byte key (what a ZAP request carries) is one of the
 *  list's keys. The list was checked by ob_curve_keys_problem. */
bool ob_curve_keys_contain(const char *list, const uint8_t key[32]);

/*  Writes the Z85 public key of a Z85 secret key into public_z85 (41 bytes,
 *  NUL-terminated). 0, or -1 when secret is not a key or libzmq has no CURVE. */
int ob_curve_public(const char *secret_z85, char public_z85[OB_CURVE_KEY_LEN + 1]);

/*  The Z85 text of a 32-byte key into out (41 bytes, NUL-terminated). */
void ob_curve_encode(const uint8_t key[32], char out[OB_CURVE_KEY_LEN + 1]);

#endif
