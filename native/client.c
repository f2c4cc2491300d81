/*
 * dtls-echo-client: reference DTLS 1.2 echo client over the system libssl, also the
 * performance baseline (--handshakes N, --size BYTES --count N).
 */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#define MAX_FILE_PAYLOAD 4096

static struct {
    const char *host, *file, *message, *ca, *server_name, *cert, *key, *ciphers, *groups;
    long port, count, mtu, handshakes, size;
    double timeout;
    int insecure, have_psk, quiet;
    struct psk_config psk;
    unsigned char alpn[512];
    size_t alpn_len;
} cfg = { .host = "127.0.0.1", .port = 4433, .count = 1, .timeout = 10.0 };

static unsigned int psk_client_cb(SSL *ssl, const char *hint, char *identity,
                                  unsigned int max_identity_len, unsigned char *psk,
                                  unsigned int max_psk_len)
{
    size_t id_len = strlen(cfg.psk.identity);
    (void)ssl;
    (void)hint;
    if (id_len + 1 > max_identity_len || cfg.psk.key_len > max_psk_len)
        return 0;
    memcpy(identity, cfg.psk.identity, id_len + 1); /* NUL-terminated, see SSL_CTX_set_psk_client_callback(3) */
    memcpy(psk, cfg.psk.key, cfg.psk.key_len);
    return (unsigned int)cfg.psk.key_len;
}

static int is_ip_literal(const char *name)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

static int session_broken; /* set after SSL_ERROR_SSL/SYSCALL: SSL_shutdown(3) must not be called */

static void report_failure(const char *what, SSL *ssl, int w, int err)
{
    char text[256];
    session_broken = w == WAIT_FAILED && (err == SSL_ERROR_SSL || err == SSL_ERROR_SYSCALL);
    long verify = SSL_get_verify_result(ssl);
    if (w == WAIT_TIMEOUT)
        fprintf(stderr, "error: %s timed out after %g s\n", what, cfg.timeout);
    else if (verify != X509_V_OK)
        fprintf(stderr, "error: certificate verification failed: %s\n",
                X509_verify_cert_error_string(verify));
    else {
        unsigned long e = ERR_peek_error();
        fprintf(stderr, "error: %s failed: %s\n", what, ssl_failure_text(err, text, sizeof text));
        /* A received alert says it all in one line; other local errors get the whole queue. */
        if (!cfg.quiet && e != 0 && ERR_GET_REASON(e) < SSL_AD_REASON_OFFSET)
            ERR_print_errors_fp(stderr);
    }
    ERR_clear_error();
}

/* New connected UDP socket + SSL, full handshake. Returns NULL after printing one error line. */
static SSL *dtls_connect(SSL_CTX *ctx, const BIO_ADDR *server, int *fd_out)
{
    const char *name = cfg.server_name != NULL ? cfg.server_name : cfg.host;
    int err = 0, w;
    int fd = BIO_socket(BIO_ADDR_family(server), SOCK_DGRAM, IPPROTO_UDP, 0);
    if (fd < 0 || !BIO_connect(fd, server, BIO_SOCK_NONBLOCK)) {
        print_ssl_error("cannot connect UDP socket: %s", strerror(errno));
        if (fd >= 0)
            BIO_closesocket(fd);
        return NULL;
    }
    BIO *bio = BIO_new_dgram(fd, BIO_CLOSE);
    SSL *ssl = SSL_new(ctx);
    if (bio == NULL || ssl == NULL) {
        print_ssl_error("cannot create SSL");
        if (bio == NULL)
            BIO_closesocket(fd);
        BIO_free(bio);
        SSL_free(ssl);
        return NULL;
    }
    SSL_set_bio(ssl, bio, bio); /* ssl owns bio, bio owns fd */
    /* BIO_ctrl_dgram_connect(3)/BIO_CTRL_DGRAM_SET_CONNECTED: the socket is connect()ed, so the
     * BIO uses send/recv and knows the peer family for its MTU overhead. */
    if (BIO_ctrl_set_connected(bio, server) != 1
        || (!cfg.insecure && SSL_set1_host(ssl, name) != 1) /* IP literals match IP SANs */
        || (!is_ip_literal(name) && SSL_set_tlsext_host_name(ssl, name) != 1) /* RFC 6066: no IPs in SNI */
        || (cfg.mtu > 0 && !apply_mtu(ssl, cfg.mtu))) {
        print_ssl_error("cannot configure SSL");
        SSL_free(ssl);
        return NULL;
    }
    double deadline = now_seconds() + cfg.timeout;
    for (;;) {
        ERR_clear_error();
        int r = SSL_connect(ssl);
        if (r == 1)
            break;
        w = ssl_retry_wait(ssl, r, fd, -1, deadline, &err);
        if (w == WAIT_READY)
            continue;
        report_failure("handshake", ssl, w, err);
        SSL_free(ssl);
        return NULL;
    }
    *fd_out = fd;
    return ssl;
}

static void close_session(SSL *ssl)
{
    /* SSL_shutdown(3) sends close_notify; DTLS clients need not wait for the reply, and a
     * failure (server already gone) is not worth reporting. */
    if (SSL_shutdown(ssl) < 0)
        ERR_clear_error();
    SSL_free(ssl);
}

/* Sends one datagram and waits for its echo; returns 1 if it came back byte-identical. */
static int echo_once(SSL *ssl, int fd, const unsigned char *data, int len, unsigned char *buf)
{
    int err = 0, w, n;
    double deadline = now_seconds() + cfg.timeout;
    w = ssl_write_datagram(ssl, fd, data, len, -1, deadline, &err);
    if (w != WAIT_READY) {
        report_failure("write", ssl, w, err);
        return 0;
    }
    for (;;) {
        ERR_clear_error();
        n = SSL_read(ssl, buf, ECHO_MAX_DATAGRAM);
        if (n > 0)
            break;
        w = ssl_retry_wait(ssl, n, fd, -1, deadline, &err);
        if (w != WAIT_READY) {
            report_failure("waiting for the echo", ssl, w, err);
            return 0;
        }
    }
    if (n != len || memcmp(buf, data, (size_t)len) != 0) {
        fprintf(stderr, "error: echo mismatch (sent %d bytes, received %d)\n", len, n);
        return 0;
    }
    return 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dtls-echo-client [--host ADDR] [--port N] [--file FILE | --message TEXT]\n"
            "         [--ca FILE | --insecure] [--server-name NAME] [--cert FILE --key FILE]\n"
            "         [--psk IDENTITY:HEXKEY] [--count N] [--timeout SECONDS] [--alpn P]\n"
            "         [--mtu N] [--handshakes N] [--size BYTES] [--ciphers LIST]\n"
            "         [--groups LIST] [--quiet]\n");
}

static void parse_args(int argc, char **argv)
{
    static const struct option opts[] = {
        { "host", required_argument, NULL, 'h' },     { "port", required_argument, NULL, 'p' },
        { "file", required_argument, NULL, 'f' },     { "message", required_argument, NULL, 'M' },
        { "ca", required_argument, NULL, 'a' },       { "insecure", no_argument, NULL, 'i' },
        { "server-name", required_argument, NULL, 'n' }, { "cert", required_argument, NULL, 'c' },
        { "key", required_argument, NULL, 'k' },      { "psk", required_argument, NULL, 's' },
        { "count", required_argument, NULL, 'N' },    { "timeout", required_argument, NULL, 't' },
        { "alpn", required_argument, NULL, 'l' },     { "mtu", required_argument, NULL, 'm' },
        { "handshakes", required_argument, NULL, 'H' }, { "size", required_argument, NULL, 'S' },
        { "ciphers", required_argument, NULL, 'C' }, { "groups", required_argument, NULL, 'G' },
        { "quiet", no_argument, NULL, 'q' },          { "help", no_argument, NULL, 'u' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'h': cfg.host = optarg; break;
        case 'p': cfg.port = parse_long("port", optarg, 1, 65535); break;
        case 'f': cfg.file = optarg; break;
        case 'M': cfg.message = optarg; break;
        case 'a': cfg.ca = optarg; break;
        case 'i': cfg.insecure = 1; break;
        case 'n': cfg.server_name = optarg; break;
        case 'c': cfg.cert = optarg; break;
        case 'k': cfg.key = optarg; break;
        case 's': parse_psk(optarg, &cfg.psk); cfg.have_psk = 1; break;
        case 'N': cfg.count = parse_long("count", optarg, 1, 100000000); break;
        case 't': cfg.timeout = parse_seconds("timeout", optarg); break;
        case 'l': cfg.alpn_len = parse_alpn(optarg, cfg.alpn, sizeof cfg.alpn); break;
        case 'm': cfg.mtu = parse_long("mtu", optarg, 256, 65535); break;
        case 'H': cfg.handshakes = parse_long("handshakes", optarg, 1, 100000000); break;
        case 'S': cfg.size = parse_long("size", optarg, 1, ECHO_MAX_DATAGRAM); break;
        case 'C': cfg.ciphers = optarg; break;
        case 'G': cfg.groups = optarg; break;
        case 'q': cfg.quiet = 1; break;
        case 'u': usage(stdout); exit(0);
        case ':': fail_usage("missing value for '%s'", argv[optind - 1]);
        default: fail_usage("unknown argument '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        fail_usage("unexpected argument '%s'", argv[optind]);
    if ((cfg.cert == NULL) != (cfg.key == NULL))
        fail_usage("--cert and --key must be given together");
    if (cfg.file != NULL && cfg.message != NULL)
        fail_usage("--file and --message are mutually exclusive");
    if (cfg.ca != NULL && cfg.insecure)
        fail_usage("--ca and --insecure are mutually exclusive");
    if (cfg.handshakes > 0 && cfg.size > 0)
        fail_usage("--handshakes and --size are mutually exclusive");
    if (cfg.size > 0 && (cfg.file != NULL || cfg.message != NULL))
        fail_usage("--size sends random bytes; it excludes --file and --message");
    if (cfg.message != NULL && (cfg.message[0] == '\0' || strlen(cfg.message) > ECHO_MAX_DATAGRAM))
        fail_usage("--message must be 1..%d bytes", ECHO_MAX_DATAGRAM);
}

static SSL_CTX *make_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(DTLS_client_method());
    if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) != 1) {
        print_ssl_error("cannot create the DTLS context");
        exit(1);
    }
    if (cfg.insecure) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    } else {
        if (cfg.ca != NULL)
            load_ca(ctx, cfg.ca);
        else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            print_ssl_error("cannot load the default CA paths");
            exit(1);
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    if (cfg.cert != NULL)
        load_cert_key(ctx, cfg.cert, cfg.key);
    if (cfg.have_psk) {
        SSL_CTX_set_psk_client_callback(ctx, psk_client_cb);
        /* Offer only PSK suites, otherwise a server that also has a certificate picks ECDHE-ECDSA. */
        if (SSL_CTX_set_cipher_list(ctx, PSK_CIPHERS) != 1) {
            print_ssl_error("cannot set the PSK cipher list");
            exit(1);
        }
    }
    /* SSL_CTX_set_alpn_protos(3) returns 0 on success (unlike most of the API). */
    if (cfg.alpn_len > 0 && SSL_CTX_set_alpn_protos(ctx, cfg.alpn, (unsigned int)cfg.alpn_len) != 0) {
        print_ssl_error("cannot set ALPN");
        exit(1);
    }
    restrict_suites(ctx, cfg.ciphers, cfg.groups); /* after the PSK list: an explicit --ciphers wins */
    if (cfg.mtu > 0)
        SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU); /* SSL_set_mtu(3): keep our value */
    return ctx;
}

/* Payload for echo mode: --message, the first 4096 bytes of --file, or "hello". */
static int load_payload(unsigned char *out)
{
    if (cfg.file == NULL) {
        const char *msg = cfg.message != NULL ? cfg.message : "hello";
        memcpy(out, msg, strlen(msg));
        return (int)strlen(msg);
    }
    FILE *f = fopen(cfg.file, "rb");
    if (f == NULL)
        fail_usage("cannot read %s: %s", cfg.file, strerror(errno));
    size_t n = fread(out, 1, MAX_FILE_PAYLOAD, f);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        fail_usage("cannot read %s", cfg.file);
    if (n == 0)
        fail_usage("%s is empty", cfg.file);
    return (int)n;
}

/* User + system CPU of this process in seconds (getrusage(2)). */
static double cpu_seconds(void)
{
    struct rusage u;
    if (getrusage(RUSAGE_SELF, &u) != 0)
        return 0;
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static int run(SSL_CTX *ctx, const BIO_ADDR *server, unsigned char *payload, unsigned char *buf)
{
    int fd = -1, len;
    SSL *ssl;
    double t0, secs;

    if (cfg.handshakes > 0) {
        /* The client's own CPU over the loop (getrusage(2)), as dtls-load reports its own. */
        double cpu0 = cpu_seconds();
        t0 = now_seconds();
        for (long i = 0; i < cfg.handshakes; i++) {
            if ((ssl = dtls_connect(ctx, server, &fd)) == NULL)
                return 1;
            close_session(ssl);
        }
        secs = now_seconds() - t0;
        printf("handshakes %ld seconds %.3f per_second %.1f client_cpu_us_per_op %.1f\n", cfg.handshakes, secs,
               (double)cfg.handshakes / secs, (cpu_seconds() - cpu0) * 1e6 / (double)cfg.handshakes);
        return 0;
    }
    if (cfg.size > 0) {
        len = (int)cfg.size;
        if (RAND_bytes(payload, len) != 1) {
            print_ssl_error("RAND_bytes failed");
            return 1;
        }
    } else {
        len = load_payload(payload);
    }
    if ((ssl = dtls_connect(ctx, server, &fd)) == NULL)
        return 1;
    if (!cfg.quiet && cfg.size == 0) {
        const unsigned char *alpn = NULL;
        unsigned int alpn_len = 0;
        char peer[96];
        SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
        format_addr(server, peer, sizeof peer, 1);
        fprintf(stderr, "connected peer %s version %s cipher %s alpn %.*s\n", peer,
                SSL_get_version(ssl), SSL_get_cipher_name(ssl), alpn_len ? (int)alpn_len : 4,
                alpn_len ? (const char *)alpn : "none");
    }
    t0 = now_seconds();
    for (long i = 0; i < cfg.count; i++) {
        if (!echo_once(ssl, fd, payload, len, buf)) {
            if (session_broken)
                SSL_free(ssl);
            else
                close_session(ssl); /* e.g. after a timeout: still tell the server we are gone */
            return 1;
        }
    }
    secs = now_seconds() - t0;
    if (cfg.size > 0) {
        double bytes = (double)cfg.count * (double)len;
        printf("echo count %ld bytes %.0f seconds %.3f per_second %.1f mbit_per_second %.2f\n",
               cfg.count, bytes, secs, (double)cfg.count / secs, bytes * 8 / secs / 1e6);
    } else if (!cfg.quiet) {
        fwrite(buf, 1, (size_t)len, stdout); /* the last echo, verified identical */
        if (buf[len - 1] != '\n')
            fputc('\n', stdout);
    }
    close_session(ssl);
    return 0;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    static unsigned char payload[ECHO_MAX_DATAGRAM], buf[ECHO_MAX_DATAGRAM];
    if (cfg.file != NULL)
        check_readable(cfg.file);
    SSL_CTX *ctx = make_ctx();
    BIO_ADDRINFO *ai = resolve_udp(cfg.host, cfg.port, 0);
    int rc = run(ctx, BIO_ADDRINFO_address(ai), payload, buf);
    BIO_ADDRINFO_free(ai);
    SSL_CTX_free(ctx);
    fflush(stdout);
    return rc;
}
