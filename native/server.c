/*
 * dtls-echo-server: reference DTLS 1.2 echo server over the system libssl.
 *
 * Classic OpenSSL UDP design: one unconnected listening socket runs DTLSv1_listen(3), which
 * answers ClientHellos with a stateless HelloVerifyRequest cookie. Once a ClientHello returns
 * a valid cookie, a new socket is bound to the same local address/port and connect()ed to the
 * peer; Linux then delivers that peer's datagrams to the connected socket (a more specific
 * match than the listener). The SSL object moves to that socket and a thread finishes the
 * handshake and echoes datagrams.
 */
#include "common.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define IDLE_TIMEOUT 30.0          /* seconds without a datagram before a session is dropped */
#define THREAD_STACK (512 * 1024)

static struct {
    const char *host, *cert, *key, *ca, *ciphers, *groups;
    long port, mtu, max_sessions;
    int require_client_cert, have_psk, quiet;
    struct psk_config psk;
    unsigned char alpn[512];
    size_t alpn_len;
} cfg = { .host = "127.0.0.1", .port = 4433, .max_sessions = 1000 };

static unsigned char cookie_secret[32];
static int stop_pipe[2] = { -1, -1 }; /* written by the signal handler, never drained */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sessions_done = PTHREAD_COND_INITIALIZER;
static long active_sessions;

struct session {
    SSL *ssl;
    int fd;
    char peer[96];
};

static void on_signal(int sig)
{
    int saved = errno;
    (void)sig;
    if (write(stop_pipe[1], "x", 1) < 0) { /* nothing useful to do in a handler */ }
    errno = saved;
}

/* Cookie = HMAC-SHA256(secret, family | port | address) of the peer seen by the listen BIO. */
static int cookie_compute(SSL *ssl, unsigned char *out, unsigned int *out_len)
{
    unsigned char data[4 + 128];
    size_t raw_len = 0;
    int ok = 0;
    BIO_ADDR *peer = BIO_ADDR_new();
    if (peer != NULL && BIO_dgram_get_peer(SSL_get_rbio(ssl), peer) > 0
        && BIO_ADDR_rawaddress(peer, NULL, &raw_len) == 1 && raw_len <= sizeof data - 4) {
        int family = BIO_ADDR_family(peer);
        unsigned short port = BIO_ADDR_rawport(peer);
        data[0] = (unsigned char)(family >> 8);
        data[1] = (unsigned char)family;
        memcpy(data + 2, &port, 2);
        ok = BIO_ADDR_rawaddress(peer, data + 4, &raw_len) == 1
             && HMAC(EVP_sha256(), cookie_secret, sizeof cookie_secret, data, 4 + raw_len, out,
                     out_len) != NULL;
    }
    BIO_ADDR_free(peer);
    return ok;
}

static int cookie_generate(SSL *ssl, unsigned char *cookie, unsigned int *cookie_len)
{
    return cookie_compute(ssl, cookie, cookie_len); /* buffer is DTLS1_COOKIE_LENGTH (255) */
}

static int cookie_verify(SSL *ssl, const unsigned char *cookie, unsigned int cookie_len)
{
    unsigned char expected[EVP_MAX_MD_SIZE];
    unsigned int expected_len = 0;
    return cookie_compute(ssl, expected, &expected_len) && cookie_len == expected_len
           && CRYPTO_memcmp(expected, cookie, cookie_len) == 0;
}

static unsigned int psk_server_cb(SSL *ssl, const char *identity, unsigned char *psk,
                                  unsigned int max_psk_len)
{
    (void)ssl;
    if (identity == NULL || strcmp(identity, cfg.psk.identity) != 0 || cfg.psk.key_len > max_psk_len)
        return 0; /* unknown identity: handshake fails */
    memcpy(psk, cfg.psk.key, cfg.psk.key_len);
    return (unsigned int)cfg.psk.key_len;
}

static int alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                          const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    /* SSL_select_next_proto(3) returns the first protocol of the first list (ours) that also
     * appears in the second (the client's). */
    if (SSL_select_next_proto((unsigned char **)out, outlen, cfg.alpn, (unsigned int)cfg.alpn_len,
                              in, inlen) == OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_OK;
    return SSL_TLSEXT_ERR_ALERT_FATAL; /* RFC 7301 section 3.2: no_application_protocol */
}

static void *session_main(void *arg)
{
    struct session *s = arg;
    SSL *ssl = s->ssl;
    unsigned char buf[ECHO_MAX_DATAGRAM];
    char why[160] = "error";
    long datagrams = 0;
    int err = 0, w, send_close = 0;
    double deadline = now_seconds() + IDLE_TIMEOUT;

    for (;;) { /* finish the handshake DTLSv1_listen started */
        ERR_clear_error();
        int r = SSL_accept(ssl);
        if (r == 1)
            break;
        w = ssl_retry_wait(ssl, r, s->fd, stop_pipe[0], deadline, &err);
        if (w == WAIT_READY)
            continue;
        if (w == WAIT_TIMEOUT)
            snprintf(why, sizeof why, "handshake timeout");
        else if (w == WAIT_STOP)
            snprintf(why, sizeof why, "server shutdown");
        else
            snprintf(why, sizeof why, "handshake failed: %s", ssl_failure_text(err, (char *)buf, 128));
        goto out;
    }
    if (!cfg.quiet) {
        const unsigned char *alpn = NULL;
        unsigned int alpn_len = 0;
        SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
        fprintf(stderr, "session open peer %s version %s cipher %s%s%.*s\n", s->peer,
                SSL_get_version(ssl), SSL_get_cipher_name(ssl), alpn_len ? " alpn " : "",
                (int)alpn_len, alpn_len ? (const char *)alpn : "");
    }
    for (;;) {
        ERR_clear_error();
        int n = SSL_read(ssl, buf, sizeof buf);
        if (n > 0) {
            datagrams++;
            deadline = now_seconds() + IDLE_TIMEOUT;
            w = ssl_write_datagram(ssl, s->fd, buf, n, stop_pipe[0], deadline, &err);
        } else {
            w = ssl_retry_wait(ssl, n, s->fd, stop_pipe[0], deadline, &err);
        }
        if (w == WAIT_READY)
            continue;
        send_close = w != WAIT_FAILED || err == SSL_ERROR_ZERO_RETURN;
        if (w == WAIT_TIMEOUT)
            snprintf(why, sizeof why, "idle timeout");
        else if (w == WAIT_STOP)
            snprintf(why, sizeof why, "server shutdown");
        else if (err == SSL_ERROR_ZERO_RETURN)
            snprintf(why, sizeof why, "close_notify");
        else
            snprintf(why, sizeof why, "%s", ssl_failure_text(err, (char *)buf, 128));
        break;
    }
    /* SSL_shutdown(3): sends our close_notify; for DTLS we do not wait for the peer's reply.
     * A failure here (peer already gone) changes nothing, so it is deliberately ignored. */
    if (send_close && SSL_shutdown(ssl) < 0)
        ERR_clear_error();
out:
    if (!cfg.quiet)
        fprintf(stderr, "session close peer %s reason %s datagrams %ld\n", s->peer, why, datagrams);
    ERR_clear_error();
    SSL_free(ssl); /* frees the BIO, which closes the connected socket (BIO_CLOSE) */
    free(s);
    pthread_mutex_lock(&lock);
    if (--active_sessions == 0)
        pthread_cond_broadcast(&sessions_done);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static int set_reuse(int fd)
{
    int on = 1;
    return setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0
           && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) == 0;
}

/* Takes ownership of ssl (whose handshake DTLSv1_listen started) and starts its thread. */
static void start_session(SSL *ssl, const BIO_ADDR *peer, const BIO_ADDR *local)
{
    char name[96];
    struct session *s = NULL;
    pthread_t tid;
    pthread_attr_t attr;
    int fd = -1;

    format_addr(peer, name, sizeof name, 1);
    pthread_mutex_lock(&lock);
    int full = active_sessions >= cfg.max_sessions;
    if (!full)
        active_sessions++;
    pthread_mutex_unlock(&lock);
    if (full) {
        if (!cfg.quiet)
            fprintf(stderr, "session refused peer %s reason max-sessions reached\n", name);
        SSL_free(ssl);
        return;
    }
    fd = BIO_socket(BIO_ADDR_family(local), SOCK_DGRAM, IPPROTO_UDP, 0);
    if (fd < 0 || !set_reuse(fd) || !BIO_bind(fd, local, BIO_SOCK_REUSEADDR)
        || !BIO_connect(fd, peer, BIO_SOCK_NONBLOCK)) {
        print_ssl_error("cannot create the session socket for %s: %s", name, strerror(errno));
        goto fail;
    }
    /* Move the SSL's dgram BIO from the listening socket to the connected one. */
    BIO *bio = SSL_get_rbio(ssl);
    BIO_set_fd(bio, fd, BIO_CLOSE);
    fd = -1;
    if (BIO_ctrl_set_connected(bio, peer) != 1 || (cfg.mtu > 0 && !apply_mtu(ssl, cfg.mtu))) {
        print_ssl_error("cannot configure the session BIO for %s", name);
        goto fail;
    }
    if ((s = calloc(1, sizeof *s)) == NULL)
        goto fail;
    s->ssl = ssl;
    s->fd = (int)BIO_get_fd(bio, NULL);
    memcpy(s->peer, name, sizeof name);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, THREAD_STACK);
    int rc = pthread_create(&tid, &attr, session_main, s);
    pthread_attr_destroy(&attr);
    if (rc == 0)
        return;
    fprintf(stderr, "error: pthread_create: %s\n", strerror(rc));
fail:
    if (fd >= 0)
        BIO_closesocket(fd);
    free(s);
    SSL_free(ssl);
    pthread_mutex_lock(&lock);
    active_sessions--;
    pthread_mutex_unlock(&lock);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: dtls-echo-server [--host ADDR] [--port N] [--cert FILE --key FILE] [--ca FILE]\n"
            "         [--require-client-cert] [--psk IDENTITY:HEXKEY] [--mtu N] [--alpn P1,P2]\n"
            "         [--max-sessions N] [--ciphers LIST]\n"
            "         [--groups LIST] [--quiet]\n");
}

static void parse_args(int argc, char **argv)
{
    static const struct option opts[] = {
        { "host", required_argument, NULL, 'h' },  { "port", required_argument, NULL, 'p' },
        { "cert", required_argument, NULL, 'c' },  { "key", required_argument, NULL, 'k' },
        { "ca", required_argument, NULL, 'a' },    { "require-client-cert", no_argument, NULL, 'r' },
        { "psk", required_argument, NULL, 's' },   { "mtu", required_argument, NULL, 'm' },
        { "alpn", required_argument, NULL, 'l' },  { "max-sessions", required_argument, NULL, 'x' },
        { "ciphers", required_argument, NULL, 'C' }, { "groups", required_argument, NULL, 'G' },
        { "quiet", no_argument, NULL, 'q' },       { "help", no_argument, NULL, 'u' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'h': cfg.host = optarg; break;
        case 'p': cfg.port = parse_long("port", optarg, 0, 65535); break;
        case 'c': cfg.cert = optarg; break;
        case 'k': cfg.key = optarg; break;
        case 'a': cfg.ca = optarg; break;
        case 'r': cfg.require_client_cert = 1; break;
        case 's': parse_psk(optarg, &cfg.psk); cfg.have_psk = 1; break;
        case 'm': cfg.mtu = parse_long("mtu", optarg, 256, 65535); break;
        case 'l': cfg.alpn_len = parse_alpn(optarg, cfg.alpn, sizeof cfg.alpn); break;
        case 'x': cfg.max_sessions = parse_long("max-sessions", optarg, 1, 100000); break;
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
}

static SSL_CTX *make_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(DTLS_server_method());
    if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) != 1
        || RAND_bytes(cookie_secret, sizeof cookie_secret) != 1) {
        print_ssl_error("cannot create the DTLS context");
        exit(1);
    }
    SSL_CTX_set_cookie_generate_cb(ctx, cookie_generate);
    SSL_CTX_set_cookie_verify_cb(ctx, cookie_verify);
    if (cfg.cert != NULL)
        load_cert_key(ctx, cfg.cert, cfg.key);
    else if (!cfg.have_psk && !use_ephemeral_cert(ctx))
        exit(1);
    if (cfg.have_psk) {
        SSL_CTX_set_psk_server_callback(ctx, psk_server_cb);
        if (SSL_CTX_set_cipher_list(ctx, "DEFAULT:" PSK_CIPHERS) != 1) {
            print_ssl_error("cannot set the PSK cipher list");
            exit(1);
        }
    }
    if (cfg.ca != NULL) {
        load_ca(ctx, cfg.ca);
        /* Advertise the CA in the CertificateRequest; the list is owned by ctx on success. */
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg.ca);
        if (names != NULL)
            SSL_CTX_set_client_CA_list(ctx, names);
        ERR_clear_error();
    } else if (cfg.require_client_cert && SSL_CTX_set_default_verify_paths(ctx) != 1) {
        print_ssl_error("cannot load the default CA paths");
        exit(1);
    }
    if (cfg.ca != NULL || cfg.require_client_cert)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (cfg.require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
    if (cfg.alpn_len > 0)
        SSL_CTX_set_alpn_select_cb(ctx, alpn_select_cb, NULL);
    restrict_suites(ctx, cfg.ciphers, cfg.groups); /* after the PSK list: an explicit --ciphers wins */
    if (cfg.mtu > 0)
        SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU); /* SSL_set_mtu(3): keep our value */
    return ctx;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    SSL_CTX *ctx = make_ctx();
    BIO_ADDRINFO *ai = resolve_udp(cfg.host, cfg.port, 1);
    BIO_ADDR *local = BIO_ADDR_new(), *peer = BIO_ADDR_new();
    union BIO_sock_info_u info = { .addr = local };
    char where[96];
    SSL *pending = NULL;
    int exit_code = 0, failures = 0;

    int lfd = BIO_socket(BIO_ADDRINFO_family(ai), SOCK_DGRAM, IPPROTO_UDP, 0);
    if (local == NULL || peer == NULL || lfd < 0 || !set_reuse(lfd)
        || !BIO_bind(lfd, BIO_ADDRINFO_address(ai), BIO_SOCK_REUSEADDR) || !BIO_socket_nbio(lfd, 1)
        || !BIO_sock_info(lfd, BIO_SOCK_INFO_ADDRESS, &info)) {
        print_ssl_error("cannot listen on %s:%ld: %s", cfg.host, cfg.port, strerror(errno));
        return 1;
    }
    BIO_ADDRINFO_free(ai);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (pipe(stop_pipe) != 0 || sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) {
        fprintf(stderr, "error: cannot install signal handlers: %s\n", strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    format_addr(local, where, sizeof where, 0);
    printf("listening on %s\n", where);
    fflush(stdout);

    for (;;) {
        if (pending == NULL) {
            BIO *bio = BIO_new_dgram(lfd, BIO_NOCLOSE);
            pending = SSL_new(ctx);
            if (bio == NULL || pending == NULL) {
                BIO_free(bio);
                print_ssl_error("cannot create SSL");
                exit_code = 1;
                break;
            }
            SSL_set_bio(pending, bio, bio);
        }
        ERR_clear_error();
        /* DTLSv1_listen(3): 1 = verified ClientHello from peer, 0 = nothing (more) to do on a
         * non-blocking socket or a HelloVerifyRequest was sent, < 0 = fatal error. */
        int r = DTLSv1_listen(pending, peer);
        if (r > 0) {
            failures = 0;
            start_session(pending, peer, local);
            pending = NULL;
        } else if (r < 0) {
            print_ssl_error("DTLSv1_listen failed");
            SSL_free(pending);
            pending = NULL;
            if (++failures >= 10) {
                exit_code = 1;
                break;
            }
        } else {
            int w = wait_for_io(NULL, lfd, POLLIN, stop_pipe[0], now_seconds() + 3600);
            if (w == WAIT_STOP)
                break;
            if (w == WAIT_FAILED) {
                fprintf(stderr, "error: poll: %s\n", strerror(errno));
                exit_code = 1;
                break;
            }
        }
    }
    SSL_free(pending);
    BIO_closesocket(lfd);

    /* Sessions see the same stop pipe, send close_notify and exit; wait for them (bounded). */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&lock);
    while (active_sessions > 0 && pthread_cond_timedwait(&sessions_done, &lock, &until) == 0)
        ;
    long left = active_sessions;
    pthread_mutex_unlock(&lock);
    BIO_ADDR_free(local);
    BIO_ADDR_free(peer);
    if (left == 0)
        SSL_CTX_free(ctx); /* otherwise still in use by a session thread; exit reclaims it */
    return exit_code;
}
