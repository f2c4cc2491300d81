/* Shared helpers for the reference DTLS echo client and server. */
#ifndef DTLS_ECHO_COMMON_H
#define DTLS_ECHO_COMMON_H

#include <stddef.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>

/* SSL3_RT_MAX_PLAIN_LENGTH: the largest plaintext a single (D)TLS record carries. */
#define ECHO_MAX_DATAGRAM 16384

/* Cipher suites allowed when --psk is given (server: DEFAULT plus these; DEFAULT must come first). */
#define PSK_CIPHERS "PSK-AES128-GCM-SHA256:ECDHE-PSK-AES128-CBC-SHA256"

struct psk_config {
    char identity[129];
    unsigned char key[64];
    size_t key_len;
};

/* Results of wait_for_io() / ssl_retry_wait(). */
enum { WAIT_FAILED = -1, WAIT_TIMEOUT = 0, WAIT_READY = 1, WAIT_STOP = 2 };

/* Prints "error: <msg>" and exits with status 2 (bad arguments / unreadable files). */
void fail_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Prints "error: <msg>" followed by the OpenSSL error queue, which it empties. */
void print_ssl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

long parse_long(const char *option, const char *text, long min, long max);
double parse_seconds(const char *option, const char *text);
void parse_psk(const char *text, struct psk_config *psk);
/* Converts "p1,p2" to the ALPN wire format (length-prefixed); returns its length. */
size_t parse_alpn(const char *text, unsigned char *out, size_t cap);
void check_readable(const char *path);
double now_seconds(void);

/* Load a PEM certificate chain + key, or a CA file; exit 2 on failure. */
void load_cert_key(SSL_CTX *ctx, const char *cert, const char *key);
/* --ciphers / --groups: SSL_CTX_set_cipher_list(3) and SSL_CTX_set1_groups_list(3); NULL keeps the
 * default; exits naming the list when OpenSSL rejects it. */
void restrict_suites(SSL_CTX *ctx, const char *ciphers, const char *groups);
void load_ca(SSL_CTX *ctx, const char *ca);
/* Ephemeral self-signed ECDSA P-256 certificate; prints its SHA-256 fingerprint on stderr. */
int use_ephemeral_cert(SSL_CTX *ctx);
/* SSL_OP_NO_QUERY_MTU must be set too; call after the BIO knows its peer (overhead depends on it). */
int apply_mtu(SSL *ssl, long mtu);

/* Resolve host:port for UDP; the caller frees the result with BIO_ADDRINFO_free(). */
BIO_ADDRINFO *resolve_udp(const char *host, long port, int for_server);
/* "host:port" ("[v6]:port" when brackets is set). */
void format_addr(const BIO_ADDR *addr, char *out, size_t cap, int brackets);

/*
 * poll() fd for `events` until ready, the deadline passes, or stop_fd (if >= 0) becomes
 * readable. The poll timeout is capped by DTLSv1_get_timeout(3) and DTLSv1_handle_timeout(3)
 * is called when it fires, which retransmits the last handshake flight.
 */
int wait_for_io(SSL *ssl, int fd, short events, int stop_fd, double deadline);
/*
 * After an SSL_* call returned `ret`: waits as SSL_get_error(3) asks (WANT_READ/WANT_WRITE)
 * and returns WAIT_READY to retry, or WAIT_FAILED with the SSL_ERROR_* in *err (errno kept).
 */
int ssl_retry_wait(SSL *ssl, int ret, int fd, int stop_fd, double deadline, int *err);
/* SSL_write one datagram, retrying on WANT_*; returns the ssl_retry_wait() result. */
int ssl_write_datagram(SSL *ssl, int fd, const void *buf, int len, int stop_fd, double deadline,
                       int *err);
/* One-line description of the failure of the last SSL call (error queue or errno). */
const char *ssl_failure_text(int err, char *buf, size_t cap);

#endif
