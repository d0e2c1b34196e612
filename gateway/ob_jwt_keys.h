/*  ob_jwt_keys - public keys for JWT verification.
 *
 *  Turns the forms operators and identity providers publish (PEM, X.509
 *  certificates, base64 PEM / DER, JWK members) into a SubjectPublicKeyInfo
 *  PEM, the one form libjwt 1.x reads, together with the one JWS algorithm
 *  the key may be used with: "RS256" for RSA >= 2048 bits, "ES256" for EC
 *  P-256. Nothing else is accepted, so a key can never be used with an
 *  algorithm it was not made for. Also holds the base64url decoder, which
 *  token parsing in ob_jwt_auth shares with it. Stateless and thread-safe.
 */
#ifndef OB_JWT_KEYS_H_INCLUDED
#define OB_JWT_KEYS_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/*  True when c belongs to the base64url alphabet (RFC 4648 5, no padding). */
bool ob_jwt_keys_is_b64url(unsigned char c);

/*  Decodes unpadded base64url in[0..len) into a malloc'd, NUL-terminated
 *  buffer (caller frees; the NUL is not counted in *out_len). NULL when the
 *  text is not base64url or on OOM. */
unsigned char *ob_jwt_keys_b64url_decode(const char *in, size_t len, size_t *out_len);

/*  Reads a public key written as PEM ("PUBLIC KEY", "RSA PUBLIC KEY" or a
 *  "CERTIFICATE"), as base64 of such a PEM, or as base64 DER
 *  SubjectPublicKeyInfo (or certificate). Returns 0 with a malloc'd PEM in
 *  *pem_out (caller frees), its length in *pem_len_out and the key's one
 *  algorithm (a static string) in *alg_out; -1 for anything else. */
int ob_jwt_keys_load_public_key(const char *text, size_t len, char **pem_out, size_t *pem_len_out, const char **alg_out);

/*  Builds a key from one JWK object: kty "RSA" from (n, e), kty "EC" with
 *  crv "P-256" from (x, y), each coordinate exactly 32 bytes and on the
 *  curve. A JWK that names an "alg" is only accepted when it is the key's
 *  one algorithm. Returns 0 with *pem_out, *pem_len_out and *alg_out as for
 *  ob_jwt_keys_load_public_key; -1 when the JWK is unusable. kid and use
 *  are the caller's business. */
int ob_jwt_keys_from_jwk(const json_t *jwk, char **pem_out, size_t *pem_len_out, const char **alg_out);

#endif
