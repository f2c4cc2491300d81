/*
 * dtls-bench: the native side of benchmarks/run.sh. One process, a server thread and a client
 * thread over two connected loopback UDP sockets, the same shape as the C# benchmark
 * (benchmarks/PairBench) so that the ratios compare libraries, not set-ups.
 *
 *   dtls-bench --mode hs|resume|echo|bulk|cold --cert F --key F [--size B] [--seconds S]
 *   dtls-bench --mode echo|bulk --udp [--size B] [--seconds S]       plain UDP, the floor
 *   dtls-bench --mode udp-server                                     plain UDP echo server (many peers)
 *
 * Prints one line "RESULT name=value ...": ops, seconds, per_second, cpu_us_per_op (getrusage,
 * both threads), and per mode: sent/lost/stalls/mb_per_second (bulk), cold_ms and done_epoch_ns (cold).
 *
 * Bulk is paced by a credit window, the same in benchmarks/PairBench (PacedBulk.cs): each datagram
 * starts with its sequence number (8 bytes, little-endian on these machines); the receiver sends an
 * 8-byte ack holding the highest sequence number seen after every BULK_ACK_EVERY datagrams, on the
 * same session; the sender keeps at most BULK_WINDOW datagrams unacknowledged, and if no ack comes
 * within BULK_ACK_TIMEOUT seconds (a lost ack, or lost datagrams that leave the receiver short of
 * its next ack) it re-opens the window and counts a stall. Unpaced, every receiver (plain UDP too)
 * was overrun and lost half of what was sent: the figure said how fast it drains an overrun socket.
 */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#define END_MARK 1 /* a 1-byte datagram ends an echo or bulk run (payloads are larger) */
#define BULK_ACK_EVERY 16
#define BULK_WINDOW 64 /* 64 x 1,200 B fit the default 208 KiB socket receive buffer (about 2.3 KiB each) */
#define BULK_ACK_TIMEOUT 0.02
#define BULK_ACK_LEN 8

static struct {
    const char *mode, *cert, *key;
    long size;
    double seconds;
    int udp;
} cfg = { .mode = "hs", .size = 64, .seconds = 1.0 };

static SSL_CTX *server_ctx, *client_ctx;
static SSL_SESSION *resume_session;
static pthread_barrier_t barrier;
static volatile int stop;
static long ops, lost, stalls;
static double last_rx; /* bulk: when the receiver got its last full datagram */
static int sfd, cfd, server_port;
static SSL *sssl, *cssl;

static void die(const char *what)
{
    fprintf(stderr, "error: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static double cpu_seconds(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/* A fresh pair of connected loopback sockets; the server keeps its port (client resumption keys on it). */
static void open_pair(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) }, b = a;
    socklen_t len = sizeof a;
    int one = 1;
    sfd = socket(AF_INET, SOCK_DGRAM, 0);
    cfd = socket(AF_INET, SOCK_DGRAM, 0);
    setsockopt(sfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    a.sin_port = htons((unsigned short)server_port);
    if (bind(sfd, (struct sockaddr *)&a, sizeof a) || bind(cfd, (struct sockaddr *)&b, sizeof b))
        die("bind");
    getsockname(sfd, (struct sockaddr *)&a, &len);
    getsockname(cfd, (struct sockaddr *)&b, &len);
    server_port = ntohs(a.sin_port);
    if (connect(sfd, (struct sockaddr *)&b, sizeof b) || connect(cfd, (struct sockaddr *)&a, sizeof a))
        die("connect");
    if (cfg.udp)
        return;
    BIO_ADDR *peer = BIO_ADDR_new();
    sssl = SSL_new(server_ctx);
    cssl = SSL_new(client_ctx);
    BIO *sb = BIO_new_dgram(sfd, BIO_NOCLOSE), *cb = BIO_new_dgram(cfd, BIO_NOCLOSE);
    BIO_ADDR_rawmake(peer, AF_INET, &b.sin_addr, sizeof b.sin_addr, b.sin_port);
    BIO_ctrl_set_connected(sb, peer);
    BIO_ADDR_rawmake(peer, AF_INET, &a.sin_addr, sizeof a.sin_addr, a.sin_port);
    BIO_ctrl_set_connected(cb, peer);
    BIO_ADDR_free(peer);
    BIO_socket_nbio(sfd, 1);
    BIO_socket_nbio(cfd, 1);
    SSL_set_bio(sssl, sb, sb);
    SSL_set_bio(cssl, cb, cb);
    SSL_set_accept_state(sssl);
    SSL_set_connect_state(cssl);
    SSL_set1_host(cssl, "localhost");
    SSL_set_options(sssl, SSL_OP_NO_QUERY_MTU); /* MTU 1500 in every implementation: 1,200 B fits one record */
    SSL_set_options(cssl, SSL_OP_NO_QUERY_MTU);
    if (!apply_mtu(sssl, 1500) || !apply_mtu(cssl, 1500))
        die("mtu");
    if (resume_session != NULL)
        SSL_set_session(cssl, resume_session);
}

static void close_pair(void)
{
    if (!cfg.udp) {
        SSL_shutdown(cssl); /* one close_notify each way, as the managed peers send on dispose */
        SSL_shutdown(sssl);
        SSL_free(cssl);
        SSL_free(sssl);
    }
    close(sfd);
    close(cfd);
}

static void handshake(SSL *ssl, int fd)
{
    int err, r;
    double deadline = now_seconds() + 10;
    while ((r = SSL_do_handshake(ssl)) != 1)
        if (ssl_retry_wait(ssl, r, fd, -1, deadline, &err) != WAIT_READY)
            die(SSL_is_server(ssl) ? "server handshake" : "client handshake");
}

static void xsend(int server, const void *buf, int len)
{
    int fd = server ? sfd : cfd, err;
    if (cfg.udp) {
        while (send(fd, buf, (size_t)len, 0) < 0)
            if (errno != EAGAIN && errno != ECONNREFUSED)
                die("send");
        return;
    }
    if (ssl_write_datagram(server ? sssl : cssl, fd, buf, len, -1, now_seconds() + 10, &err) != WAIT_READY)
        die("SSL_write");
}

/* One datagram, or -1 after `wait` seconds without one. */
static int xrecv(int server, void *buf, int cap, double wait)
{
    int fd = server ? sfd : cfd, err, r;
    SSL *ssl = server ? sssl : cssl;
    double deadline = now_seconds() + wait;
    for (;;) {
        if (cfg.udp) {
            struct pollfd p = { fd, POLLIN, 0 };
            if (poll(&p, 1, (int)(wait * 1000)) <= 0)
                return -1;
            if ((r = (int)recv(fd, buf, (size_t)cap, 0)) >= 0)
                return r;
            continue;
        }
        if ((r = SSL_read(ssl, buf, cap)) > 0)
            return r;
        int w = ssl_retry_wait(ssl, r, fd, -1, deadline, &err);
        if (w == WAIT_TIMEOUT)
            return -1;
        if (w != WAIT_READY)
            die("SSL_read");
    }
}

static void *server_main(void *arg)
{
    unsigned char buf[ECHO_MAX_DATAGRAM];
    (void)arg;
    for (;;) {
        pthread_barrier_wait(&barrier); /* the client opened a pair, or set stop */
        if (stop)
            return NULL;
        if (!cfg.udp)
            handshake(sssl, sfd);
        if (!strcmp(cfg.mode, "echo")) {
            int n;
            while ((n = xrecv(1, buf, sizeof buf, 10)) > END_MARK)
                xsend(1, buf, n);
        } else if (!strcmp(cfg.mode, "bulk")) {
            int n;
            uint64_t seq, highest = 0, got = 0;
            while ((n = xrecv(1, buf, sizeof buf, 0.5)) > END_MARK) {
                memcpy(&seq, buf, sizeof seq);
                if (seq > highest)
                    highest = seq;
                ops++;
                last_rx = now_seconds();
                if (++got % BULK_ACK_EVERY == 0)
                    xsend(1, &highest, BULK_ACK_LEN);
            }
        }
        pthread_barrier_wait(&barrier); /* done with this pair */
    }
}

static SSL_CTX *make_ctx(int server)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? DTLS_server_method() : DTLS_client_method());
    if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION)
        || !SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256")
        || !SSL_CTX_set1_groups_list(ctx, "X25519:P-256"))
        die("context");
    int resume = !strcmp(cfg.mode, "resume");
    if (server) {
        load_cert_key(ctx, cfg.cert, cfg.key);
        SSL_CTX_set_session_cache_mode(ctx, resume ? SSL_SESS_CACHE_SERVER : SSL_SESS_CACHE_OFF);
        if (!resume)
            SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"bench", 5);
    } else {
        load_ca(ctx, cfg.cert); /* the self-signed server certificate is the trust anchor */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    return ctx;
}

static void udp_server(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    unsigned char buf[2048];
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (bind(fd, (struct sockaddr *)&a, sizeof a))
        die("bind");
    getsockname(fd, (struct sockaddr *)&a, &len);
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    for (;;) { /* stopped by SIGTERM from the script */
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
        if (n >= 0)
            sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, flen);
    }
}

int main(int argc, char **argv)
{
    double t0 = now_seconds();
    static const struct option opts[] = {
        { "mode", required_argument, 0, 'm' }, { "cert", required_argument, 0, 'c' },
        { "key", required_argument, 0, 'k' }, { "size", required_argument, 0, 's' },
        { "seconds", required_argument, 0, 't' }, { "udp", no_argument, 0, 'u' }, { 0, 0, 0, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm': cfg.mode = optarg; break;
        case 'c': cfg.cert = optarg; break;
        case 'k': cfg.key = optarg; break;
        case 's': cfg.size = parse_long("size", optarg, 2, 16000); break;
        case 't': cfg.seconds = parse_seconds("seconds", optarg); break;
        case 'u': cfg.udp = 1; break;
        default: fail_usage("unknown argument '%s'", argv[optind - 1]);
        }
    }
    if (!strcmp(cfg.mode, "udp-server"))
        udp_server();
    if (!strcmp(cfg.mode, "bulk") && cfg.size < BULK_ACK_LEN + 1)
        fail_usage("--mode bulk needs --size of at least %d (a sequence number leads each datagram)", BULK_ACK_LEN + 1);
    if (!cfg.udp) {
        if (cfg.cert == NULL || cfg.key == NULL)
            fail_usage("--cert and --key are required without --udp");
        server_ctx = make_ctx(1);
        client_ctx = make_ctx(0);
    }
    double setup_ms = (now_seconds() - t0) * 1e3;
    pthread_t tid;
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_create(&tid, NULL, server_main, NULL);

    int cold = !strcmp(cfg.mode, "cold"), hs = !strcmp(cfg.mode, "hs") || !strcmp(cfg.mode, "resume") || cold;
    unsigned char *payload = calloc(1, (size_t)cfg.size), buf[ECHO_MAX_DATAGRAM];
    memset(payload, 'x', (size_t)cfg.size);
    long sent = 0, warm = cold ? 0 : hs ? 20 : 200;
    double cpu0 = 0, start = 0, end = 0;
    if (!strcmp(cfg.mode, "resume")) { /* one full handshake makes the session to resume */
        open_pair();
        pthread_barrier_wait(&barrier);
        handshake(cssl, cfd);
        resume_session = SSL_get1_session(cssl);
        pthread_barrier_wait(&barrier);
        close_pair();
    }
    for (long i = 0;; i++) {
        if (i == (cold ? 0 : warm) || (!hs && i == 0)) { /* echo/bulk warm up inside the one session */
            start = now_seconds();
            cpu0 = cpu_seconds();
        }
        if (hs && i > 0 && ((cold && i == 1) || (!cold && i > warm && now_seconds() - start >= cfg.seconds)))
            break;
        open_pair();
        pthread_barrier_wait(&barrier);
        if (!cfg.udp)
            handshake(cssl, cfd);
        if (resume_session != NULL && !SSL_session_reused(cssl))
            die("the session was not resumed");
        if (!strcmp(cfg.mode, "echo")) {
            for (long k = 0; k < warm; k++) {
                xsend(0, payload, (int)cfg.size);
                xrecv(0, buf, sizeof buf, 10);
            }
            start = now_seconds();
            cpu0 = cpu_seconds();
            while (now_seconds() - start < cfg.seconds && ops < 50000000) {
                for (int k = 0; k < 16; k++, ops++) {
                    xsend(0, payload, (int)cfg.size);
                    if (xrecv(0, buf, sizeof buf, 10) != cfg.size || memcmp(buf, payload, (size_t)cfg.size))
                        die("echo differs");
                }
            }
        } else if (!strcmp(cfg.mode, "bulk")) {
            uint64_t acked = 0, seq;
            start = now_seconds();
            cpu0 = cpu_seconds();
            while (now_seconds() - start < cfg.seconds && sent < 100000000)
                for (int k = 0; k < 16; k++) {
                    while (sent - (long)acked >= BULK_WINDOW) { /* the window is full: wait for an ack */
                        int n = xrecv(0, buf, sizeof buf, BULK_ACK_TIMEOUT);
                        if (n < 0) { /* none came: re-open the window rather than hang */
                            stalls++;
                            acked = (uint64_t)sent;
                        } else if (n == BULK_ACK_LEN) {
                            memcpy(&seq, buf, sizeof seq);
                            if (seq > acked)
                                acked = seq;
                        }
                    }
                    seq = (uint64_t)++sent;
                    memcpy(payload, &seq, sizeof seq);
                    xsend(0, payload, (int)cfg.size);
                }
        }
        end = now_seconds();
        if (!hs) {
            for (int k = 0; k < 5; k++)
                xsend(0, payload, END_MARK);
        }
        pthread_barrier_wait(&barrier);
        close_pair();
        if (!hs)
            break;
        if (i >= warm)
            ops++;
    }
    double cpu = cpu_seconds() - cpu0, cold_ms = (now_seconds() - t0) * 1e3;
    if (!strcmp(cfg.mode, "bulk")) {
        lost = sent - ops;
        end = last_rx; /* the receiver drained (0.5 s idle) before the barrier */
    } else if (hs) {
        end = now_seconds();
    }
    double seconds = end - start;
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    printf("RESULT ops=%ld seconds=%.3f per_second=%.1f cpu_us_per_op=%.1f", ops, seconds,
           ops / seconds, ops ? cpu * 1e6 / ops : 0);
    if (!strcmp(cfg.mode, "bulk"))
        printf(" sent=%ld lost=%ld stalls=%ld mb_per_second=%.1f", sent, lost, stalls, ops * (double)cfg.size / seconds / 1e6);
    if (cold)
        printf(" cold_ms=%.2f setup_ms=%.2f done_epoch_ns=%lld", cold_ms, setup_ms,
               (long long)wall.tv_sec * 1000000000LL + wall.tv_nsec);
    printf("\n");
    stop = 1;
    pthread_barrier_wait(&barrier);
    pthread_join(tid, NULL);
    return 0;
}
