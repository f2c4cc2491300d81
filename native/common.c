#include "common.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

void fail_usage(const char *fmt, ...)
{
    va_list ap;
    fputs("error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

void print_ssl_error(const char *fmt, ...)
{
    va_list ap;
    fputs("error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    ERR_print_errors_fp(stderr);
}

long parse_long(const char *option, const char *text, long min, long max)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
        fail_usage("invalid value for --%s: '%s' (expected %ld..%ld)", option, text, min, max);
    return v;
}

double parse_seconds(const char *option, const char *text)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(v) || v <= 0 || v > 86400)
        fail_usage("invalid value for --%s: '%s' (expected seconds > 0)", option, text);
    return v;
}

void parse_psk(const char *text, struct psk_config *psk)
{
    /* IDENTITY:HEXKEY; the hex key never contains ':', so split at the last one. */
    const char *colon = strrchr(text, ':');
    long key_len = 0;
    if (colon == NULL || colon == text || (size_t)(colon - text) >= sizeof psk->identity)
        fail_usage("invalid --psk '%s' (expected IDENTITY:HEXKEY)", text);
    unsigned char *key = OPENSSL_hexstr2buf(colon + 1, &key_len);
    if (key == NULL || key_len < 1 || (size_t)key_len > sizeof psk->key) {
        OPENSSL_free(key);
        ERR_clear_error();
        fail_usage("invalid --psk key '%s' (expected 1..%zu bytes of hex)", colon + 1,
                   sizeof psk->key);
    }
    memcpy(psk->identity, text, (size_t)(colon - text));
    psk->identity[colon - text] = '\0';
    memcpy(psk->key, key, (size_t)key_len);
    psk->key_len = (size_t)key_len;
    OPENSSL_clear_free(key, (size_t)key_len);
}

size_t parse_alpn(const char *text, unsigned char *out, size_t cap)
{
    size_t len = 0;
    const char *p = text;
    for (;;) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n > 255 || len + 1 + n > cap)
            fail_usage("invalid --alpn '%s'", text);
        out[len++] = (unsigned char)n;
        memcpy(out + len, p, n);
        len += n;
        if (p[n] == '\0')
            return len;
        p += n + 1;
    }
}

void check_readable(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_usage("cannot read %s: %s", path, strerror(errno));
    fclose(f);
}

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void load_cert_key(SSL_CTX *ctx, const char *cert, const char *key)
{
    check_readable(cert);
    check_readable(key);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        print_ssl_error("cannot load certificate %s", cert);
        exit(2);
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        print_ssl_error("cannot load private key %s", key);
        exit(2);
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        print_ssl_error("private key %s does not match certificate %s", key, cert);
        exit(2);
    }
}

void load_ca(SSL_CTX *ctx, const char *ca)
{
    check_readable(ca);
    if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        print_ssl_error("cannot load CA file %s", ca);
        exit(2);
    }
}

int use_ephemeral_cert(SSL_CTX *ctx)
{
    int ok = 0;
    uint32_t serial = 0;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    X509V3_CTX v3;
    X509_EXTENSION *san = NULL;
    X509_NAME *name = NULL;
    /* EVP_PKEY_Q_keygen(3): one call for an EC key on a named curve. */
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();

    if (pkey == NULL || x == NULL || RAND_bytes((unsigned char *)&serial, sizeof serial) != 1)
        goto done;
    name = X509_get_subject_name(x);
    if (X509_set_version(x, X509_VERSION_3) != 1
        || ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(serial & 0x7fffffff)) != 1
        || X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL
        || X509_gmtime_adj(X509_getm_notAfter(x), 30L * 24 * 3600) == NULL
        || X509_set_pubkey(x, pkey) != 1
        || X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                      (const unsigned char *)"localhost", -1, -1, 0) != 1
        || X509_set_issuer_name(x, name) != 1)
        goto done;
    /* Subject alternative names so a client may verify "localhost", 127.0.0.1 or ::1. */
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    san = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
    if (san == NULL || X509_add_ext(x, san, -1) != 1 || X509_sign(x, pkey, EVP_sha256()) <= 0
        || SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, pkey) != 1
        || X509_digest(x, EVP_sha256(), md, &md_len) != 1)
        goto done;
    fputs("fingerprint SHA256 ", stderr);
    for (unsigned int i = 0; i < md_len; i++)
        fprintf(stderr, "%02X", md[i]);
    fputc('\n', stderr);
    ok = 1;
done:
    if (!ok)
        print_ssl_error("cannot create the ephemeral certificate");
    X509_EXTENSION_free(san);
    X509_free(x); /* SSL_CTX_use_certificate/PrivateKey took their own references */
    EVP_PKEY_free(pkey);
    return ok;
}

int apply_mtu(SSL *ssl, long mtu)
{
    /* SSL_set_mtu(3)/DTLS_set_link_mtu(3): the link MTU wins; OpenSSL subtracts the UDP/IP
     * header overhead of the BIO's peer family. Both reject values below the DTLS minimum. */
    return SSL_set_mtu(ssl, mtu) > 0 && DTLS_set_link_mtu(ssl, mtu) > 0;
}

BIO_ADDRINFO *resolve_udp(const char *host, long port, int for_server)
{
    char service[16];
    BIO_ADDRINFO *res = NULL;
    snprintf(service, sizeof service, "%ld", port);
    if (BIO_lookup_ex(host, service, for_server ? BIO_LOOKUP_SERVER : BIO_LOOKUP_CLIENT,
                      AF_UNSPEC, SOCK_DGRAM, IPPROTO_UDP, &res) != 1) {
        ERR_clear_error();
        fail_usage("cannot resolve host '%s'", host);
    }
    return res;
}

void format_addr(const BIO_ADDR *addr, char *out, size_t cap, int brackets)
{
    char *host = BIO_ADDR_hostname_string(addr, 1);
    char *port = BIO_ADDR_service_string(addr, 1);
    int v6 = brackets && BIO_ADDR_family(addr) == AF_INET6;
    snprintf(out, cap, v6 ? "[%s]:%s" : "%s:%s", host ? host : "?", port ? port : "?");
    OPENSSL_free(host);
    OPENSSL_free(port);
}

int wait_for_io(SSL *ssl, int fd, short events, int stop_fd, double deadline)
{
    for (;;) {
        double left = deadline - now_seconds();
        struct timeval tv;
        if (left <= 0)
            return WAIT_TIMEOUT;
        long ms = (long)ceil(left * 1000);
        if (ssl != NULL && DTLSv1_get_timeout(ssl, &tv) == 1) {
            long timer_ms = (long)tv.tv_sec * 1000 + ((long)tv.tv_usec + 999) / 1000;
            if (timer_ms < ms)
                ms = timer_ms;
        }
        struct pollfd p[2] = { { fd, events, 0 }, { stop_fd, POLLIN, 0 } };
        int n = poll(p, 2, (int)(ms > 3600000 ? 3600000 : ms)); /* negative fds are ignored */
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return WAIT_FAILED;
        }
        if (p[1].revents & POLLIN)
            return WAIT_STOP;
        if (n > 0)
            return WAIT_READY; /* includes POLLERR: the next read reports e.g. ECONNREFUSED */
        /* Timer expired: DTLSv1_handle_timeout(3) retransmits; it returns 0 when no timer ran. */
        if (ssl != NULL && DTLSv1_handle_timeout(ssl) < 0)
            return WAIT_FAILED;
    }
}

int ssl_retry_wait(SSL *ssl, int ret, int fd, int stop_fd, double deadline, int *err)
{
    int saved_errno = errno;
    int e = SSL_get_error(ssl, ret);
    if (err != NULL)
        *err = e;
    if (e == SSL_ERROR_WANT_READ)
        return wait_for_io(ssl, fd, POLLIN, stop_fd, deadline);
    if (e == SSL_ERROR_WANT_WRITE)
        return wait_for_io(ssl, fd, POLLOUT, stop_fd, deadline);
    errno = saved_errno;
    return WAIT_FAILED;
}

int ssl_write_datagram(SSL *ssl, int fd, const void *buf, int len, int stop_fd, double deadline,
                       int *err)
{
    for (;;) {
        ERR_clear_error();
        int r = SSL_write(ssl, buf, len); /* DTLS: one call = one record = one datagram */
        if (r > 0)
            return WAIT_READY;
        int w = ssl_retry_wait(ssl, r, fd, stop_fd, deadline, err);
        if (w != WAIT_READY)
            return w;
    }
}

const char *ssl_failure_text(int err, char *buf, size_t cap)
{
    unsigned long e = ERR_peek_error();
    if (err == SSL_ERROR_ZERO_RETURN)
        snprintf(buf, cap, "peer sent close_notify");
    else if (e != 0 && ERR_reason_error_string(e) != NULL)
        snprintf(buf, cap, "%s", ERR_reason_error_string(e)); /* e.g. "tlsv1 alert unknown ca" */
    else if (e != 0)
        ERR_error_string_n(e, buf, cap);
    else if (err == SSL_ERROR_SYSCALL)
        snprintf(buf, cap, "%s", errno != 0 ? strerror(errno) : "unexpected EOF");
    else
        snprintf(buf, cap, "SSL error %d", err);
    return buf;
}

void restrict_suites(SSL_CTX *ctx, const char *ciphers, const char *groups)
{
    if (ciphers != NULL && SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
        print_ssl_error("cannot set the cipher list");
        fprintf(stderr, "error: --ciphers '%s' was rejected\n", ciphers);
        exit(1);
    }
    if (groups != NULL && SSL_CTX_set1_groups_list(ctx, groups) != 1) {
        print_ssl_error("cannot set the groups list");
        fprintf(stderr, "error: --groups '%s' was rejected\n", groups);
        exit(1);
    }
}
