/*
 * mbedtls-dtls-peer: a DTLS 1.2 client or echo server over mbedTLS 2.28 (Debian's libmbedtls-dev), in
 * the style of mbedTLS's programs/ssl/ssl_client2.c and ssl_server2.c. It is an interop peer for the
 * tests (tests/OpenSslDtls.Interop.Tests): a stack that shares no code with OpenSSL.
 *
 *   mbedtls-dtls-peer server [options]   serves --connections clients one after the other, echoing
 *                                        every datagram until close_notify; prints "listening on H:P"
 *   mbedtls-dtls-peer client [options]   connects (--reconnect: twice, resuming the first session),
 *                                        sends --message, prints "echo: TEXT"
 *
 * Options: --host A --port N --ca FILE --cert FILE --key FILE --psk ID:HEX --force-ciphersuite IANA
 *          --auth-mode none|optional|required --server-name NAME --alpn P1,P2 --srtp PROFILE
 *          --mtu N (link MTU: minus 28 or 48 for IPv4/IPv6 headers) --tickets 0|1 --connections N
 *          --message TEXT --reconnect --timeout SECONDS --version
 * Output (stdout, one line each): "handshake ok cipher=NAME alpn=P srtp=PROFILE resumed=-",
 * "sni=NAME", "peer certificate: SUBJECT", "keying material: HEX" (RFC 5705 "EXTRACTOR-dtls_srtp"
 * with no context, RFC 5764 section 4.2), "echo: TEXT". Errors: "error: WHAT -0xCODE (TEXT)"
 * and, for a received fatal alert, "alert received: N"; exit status 1 (2 for bad arguments).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <mbedtls/certs.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/debug.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_cache.h>
#include <mbedtls/ssl_cookie.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/timing.h>
#include <mbedtls/version.h>
#include <mbedtls/x509.h>

#define SRTP_LABEL "EXTRACTOR-dtls_srtp"

static struct {
    int server;
    const char *host, *port, *ca, *cert, *key, *psk_identity, *server_name, *alpn, *srtp, *message;
    unsigned char psk[64];
    size_t psk_len;
    int ciphersuite[2], auth_mode, mtu, tickets, connections, reconnect, timeout_ms;
} opt = { .host = "127.0.0.1", .port = "4433", .auth_mode = -1, .tickets = 1, .connections = 1,
          .message = "hello", .timeout_ms = 10000 };

/* What the export-keys callback saw, for the RFC 5705 exporter (no context): PRF(ms, label, cr || sr). */
static struct {
    unsigned char master[48], randoms[64];
    mbedtls_tls_prf_types prf;
    int set;
} keys;

static char sni_seen[256];

static __attribute__((noreturn)) void fail_usage(const char *what)
{
    fprintf(stderr, "error: %s (see the comment at the top of peer.c)\n", what);
    exit(2);
}

static int report(const char *what, int ret, mbedtls_ssl_context *ssl)
{
    char text[200];
    mbedtls_strerror(ret, text, sizeof text);
    printf("error: %s -0x%04x (%s)\n", what, (unsigned) -ret, text);
    if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE && ssl != NULL && ssl->in_msg != NULL)
        printf("alert received: %d\n", ssl->in_msg[1]);
    fflush(stdout);
    return 1;
}

static int export_keys(void *p, const unsigned char *ms, const unsigned char *kb, size_t maclen, size_t keylen,
                       size_t ivlen, const unsigned char client_random[32], const unsigned char server_random[32],
                       mbedtls_tls_prf_types prf)
{
    (void) p; (void) kb; (void) maclen; (void) keylen; (void) ivlen;
    memcpy(keys.master, ms, 48);
    memcpy(keys.randoms, client_random, 32);
    memcpy(keys.randoms + 32, server_random, 32);
    keys.prf = prf;
    keys.set = 1;
    return 0;
}

static int on_sni(void *p, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len)
{
    (void) p; (void) ssl;
    snprintf(sni_seen, sizeof sni_seen, "%.*s", (int) len, (const char *) name);
    return 0;
}

static mbedtls_ssl_srtp_profile srtp_profile(const char *name)
{
    if (strcmp(name, "SRTP_AES128_CM_SHA1_80") == 0) return MBEDTLS_TLS_SRTP_AES128_CM_HMAC_SHA1_80;
    if (strcmp(name, "SRTP_AES128_CM_SHA1_32") == 0) return MBEDTLS_TLS_SRTP_AES128_CM_HMAC_SHA1_32;
    fail_usage("--srtp: mbedTLS 2.28 knows SRTP_AES128_CM_SHA1_80 and SRTP_AES128_CM_SHA1_32");
}

static void parse(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("mbedTLS %s\n", MBEDTLS_VERSION_STRING);
        exit(0);
    }
    if (argc < 2 || (strcmp(argv[1], "server") != 0 && strcmp(argv[1], "client") != 0))
        fail_usage("first argument: server or client");
    opt.server = strcmp(argv[1], "server") == 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--reconnect") == 0) { opt.reconnect = 1; continue; }
        if (i + 1 >= argc) fail_usage("missing value");
        const char *v = argv[++i];
        if (strcmp(a, "--host") == 0) opt.host = v;
        else if (strcmp(a, "--port") == 0) opt.port = v;
        else if (strcmp(a, "--ca") == 0) opt.ca = v;
        else if (strcmp(a, "--cert") == 0) opt.cert = v;
        else if (strcmp(a, "--key") == 0) opt.key = v;
        else if (strcmp(a, "--server-name") == 0) opt.server_name = v;
        else if (strcmp(a, "--alpn") == 0) opt.alpn = v;
        else if (strcmp(a, "--srtp") == 0) { opt.srtp = v; (void) srtp_profile(v); }
        else if (strcmp(a, "--message") == 0) opt.message = v;
        else if (strcmp(a, "--mtu") == 0) opt.mtu = atoi(v);
        else if (strcmp(a, "--tickets") == 0) opt.tickets = atoi(v);
        else if (strcmp(a, "--connections") == 0) opt.connections = atoi(v);
        else if (strcmp(a, "--timeout") == 0) opt.timeout_ms = atoi(v) * 1000;
        else if (strcmp(a, "--auth-mode") == 0)
            opt.auth_mode = strcmp(v, "none") == 0 ? MBEDTLS_SSL_VERIFY_NONE
                          : strcmp(v, "optional") == 0 ? MBEDTLS_SSL_VERIFY_OPTIONAL : MBEDTLS_SSL_VERIFY_REQUIRED;
        else if (strcmp(a, "--force-ciphersuite") == 0) {
            opt.ciphersuite[0] = mbedtls_ssl_get_ciphersuite_id(v);
            if (opt.ciphersuite[0] == 0) fail_usage("--force-ciphersuite: unknown suite");
        } else if (strcmp(a, "--psk") == 0) {
            static char identity[129];
            const char *colon = strchr(v, ':');
            if (colon == NULL || (size_t) (colon - v) >= sizeof identity) fail_usage("--psk IDENTITY:HEX");
            memcpy(identity, v, (size_t) (colon - v));
            opt.psk_identity = identity;
            const char *hex = colon + 1;
            size_t n = strlen(hex);
            if (n == 0 || n % 2 != 0 || n / 2 > sizeof opt.psk) fail_usage("--psk: 1 to 64 bytes of hex");
            for (size_t k = 0; k < n / 2; k++) {
                unsigned int b;
                if (sscanf(hex + 2 * k, "%2x", &b) != 1) fail_usage("--psk: bad hex");
                opt.psk[k] = (unsigned char) b;
            }
            opt.psk_len = n / 2;
        } else fail_usage("unknown option");
    }
}

/* The ALPN list must outlive the config: split once into static storage. */
static const char **alpn_list(void)
{
    static char buffer[256];
    static const char *list[8];
    int n = 0;
    snprintf(buffer, sizeof buffer, "%s", opt.alpn);
    for (char *t = strtok(buffer, ","); t != NULL && n < 7; t = strtok(NULL, ",")) list[n++] = t;
    list[n] = NULL;
    return list;
}

static void print_session(mbedtls_ssl_context *ssl, int resumed_known, int resumed)
{
    const char *alpn = mbedtls_ssl_get_alpn_protocol(ssl);
    mbedtls_dtls_srtp_info srtp;
    mbedtls_ssl_get_dtls_srtp_negotiation_result(ssl, &srtp);
    printf("handshake ok cipher=%s alpn=%s srtp=%s resumed=%s\n", mbedtls_ssl_get_ciphersuite(ssl),
           alpn ? alpn : "-",
           srtp.chosen_dtls_srtp_profile == MBEDTLS_TLS_SRTP_AES128_CM_HMAC_SHA1_80 ? "SRTP_AES128_CM_SHA1_80"
           : srtp.chosen_dtls_srtp_profile == MBEDTLS_TLS_SRTP_AES128_CM_HMAC_SHA1_32 ? "SRTP_AES128_CM_SHA1_32" : "-",
           resumed_known ? (resumed ? "yes" : "no") : "-");
    if (sni_seen[0] != '\0') printf("sni=%s\n", sni_seen);
    const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(ssl);
    if (peer != NULL) {
        char subject[256];
        mbedtls_x509_dn_gets(subject, sizeof subject, &peer->subject);
        printf("peer certificate: %s\n", subject);
    }
    if (opt.srtp != NULL && keys.set && srtp.chosen_dtls_srtp_profile != MBEDTLS_TLS_SRTP_UNSET) {
        unsigned char out[60];
        if (mbedtls_ssl_tls_prf(keys.prf, keys.master, sizeof keys.master, SRTP_LABEL, keys.randoms,
                                sizeof keys.randoms, out, sizeof out) == 0) {
            printf("keying material: ");
            for (size_t i = 0; i < sizeof out; i++) printf("%02X", out[i]);
            printf("\n");
        }
    }
    fflush(stdout);
}

static int handshake(mbedtls_ssl_context *ssl)
{
    int ret;
    do ret = mbedtls_ssl_handshake(ssl);
    while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
    return ret;
}

static void apply_mtu(mbedtls_ssl_context *ssl)
{
    if (opt.mtu > 0)
        mbedtls_ssl_set_mtu(ssl, (uint16_t) (opt.mtu - (strchr(opt.host, ':') != NULL ? 48 : 28)));
}

static int run_server(mbedtls_ssl_config *conf, mbedtls_ctr_drbg_context *drbg)
{
    mbedtls_net_context listen_fd, client_fd;
    mbedtls_ssl_context ssl;
    mbedtls_ssl_cookie_ctx cookies;
    mbedtls_timing_delay_context timer;
    int ret;
    mbedtls_net_init(&listen_fd);
    mbedtls_net_init(&client_fd);
    mbedtls_ssl_init(&ssl);
    mbedtls_ssl_cookie_init(&cookies);
    if ((ret = mbedtls_ssl_cookie_setup(&cookies, mbedtls_ctr_drbg_random, drbg)) != 0) return report("cookie setup", ret, NULL);
    mbedtls_ssl_conf_dtls_cookies(conf, mbedtls_ssl_cookie_write, mbedtls_ssl_cookie_check, &cookies);
    if ((ret = mbedtls_net_bind(&listen_fd, opt.host, opt.port, MBEDTLS_NET_PROTO_UDP)) != 0) return report("bind", ret, NULL);
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    getsockname(listen_fd.fd, (struct sockaddr *) &bound, &bound_len);
    int port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *) &bound)->sin6_port)
                                          : ntohs(((struct sockaddr_in *) &bound)->sin_port);
    printf("listening on %s:%d\n", opt.host, port);
    fflush(stdout);
    if ((ret = mbedtls_ssl_setup(&ssl, conf)) != 0) return report("ssl setup", ret, NULL);
    mbedtls_ssl_set_timer_cb(&ssl, &timer, mbedtls_timing_set_delay, mbedtls_timing_get_delay);

    int status = 0;
    for (int served = 0; served < opt.connections;) {
        unsigned char client_ip[16];
        size_t ip_len;
        mbedtls_net_free(&client_fd);
        mbedtls_ssl_session_reset(&ssl);
        sni_seen[0] = '\0';
        keys.set = 0;
        if ((ret = mbedtls_net_accept(&listen_fd, &client_fd, client_ip, sizeof client_ip, &ip_len)) != 0)
            return report("accept", ret, NULL);
        if ((ret = mbedtls_ssl_set_client_transport_id(&ssl, client_ip, ip_len)) != 0) return report("transport id", ret, NULL);
        mbedtls_ssl_set_bio(&ssl, &client_fd, mbedtls_net_send, mbedtls_net_recv, mbedtls_net_recv_timeout);
        apply_mtu(&ssl);
        ret = handshake(&ssl);
        if (ret == MBEDTLS_ERR_SSL_HELLO_VERIFY_REQUIRED) continue; /* the cookie round trip: accept again */
        served++;
        if (ret != 0) {
            report("handshake", ret, &ssl);
            status = 1;
            continue;
        }
        print_session(&ssl, 0, 0);
        unsigned char buffer[16384];
        for (;;) {
            ret = mbedtls_ssl_read(&ssl, buffer, sizeof buffer);
            if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
            if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || ret == 0) {
                printf("close_notify received\n");
                fflush(stdout);
                mbedtls_ssl_close_notify(&ssl);
                break;
            }
            if (ret < 0) {
                report("read", ret, &ssl);
                status = 1;
                break;
            }
            int n = ret;
            do ret = mbedtls_ssl_write(&ssl, buffer, (size_t) n);
            while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
            if (ret < 0) {
                report("write", ret, &ssl);
                status = 1;
                break;
            }
        }
    }
    mbedtls_net_free(&client_fd);
    mbedtls_net_free(&listen_fd);
    mbedtls_ssl_free(&ssl);
    mbedtls_ssl_cookie_free(&cookies);
    return status;
}

static int run_client(mbedtls_ssl_config *conf)
{
    mbedtls_ssl_session saved;
    mbedtls_ssl_session_init(&saved);
    int rounds = opt.reconnect ? 2 : 1;
    for (int round = 0; round < rounds; round++) {
        mbedtls_net_context fd;
        mbedtls_ssl_context ssl;
        mbedtls_timing_delay_context timer;
        int ret;
        mbedtls_net_init(&fd);
        mbedtls_ssl_init(&ssl);
        if ((ret = mbedtls_net_connect(&fd, opt.host, opt.port, MBEDTLS_NET_PROTO_UDP)) != 0) return report("connect", ret, NULL);
        if ((ret = mbedtls_ssl_setup(&ssl, conf)) != 0) return report("ssl setup", ret, NULL);
        if (opt.server_name != NULL && (ret = mbedtls_ssl_set_hostname(&ssl, opt.server_name)) != 0) return report("hostname", ret, NULL);
        mbedtls_ssl_set_bio(&ssl, &fd, mbedtls_net_send, mbedtls_net_recv, mbedtls_net_recv_timeout);
        mbedtls_ssl_set_timer_cb(&ssl, &timer, mbedtls_timing_set_delay, mbedtls_timing_get_delay);
        apply_mtu(&ssl);
        if (round > 0 && (ret = mbedtls_ssl_set_session(&ssl, &saved)) != 0) return report("set session", ret, NULL);
        keys.set = 0;
        if ((ret = handshake(&ssl)) != 0) {
            uint32_t flags = mbedtls_ssl_get_verify_result(&ssl);
            if (flags != 0 && flags != (uint32_t) -1) {
                char info[512];
                mbedtls_x509_crt_verify_info(info, sizeof info, "", flags);
                printf("verify failed: %s", info);
            }
            return report("handshake", ret, &ssl);
        }
        /* A resumed session repeats the saved session ID (or ticket) and its master secret. */
        int resumed = round > 0 && keys.set && memcmp(keys.master, saved.master, 48) == 0;
        print_session(&ssl, round > 0, resumed);
        if (round == 0 && (ret = mbedtls_ssl_get_session(&ssl, &saved)) != 0) return report("get session", ret, NULL);
        size_t len = strlen(opt.message);
        do ret = mbedtls_ssl_write(&ssl, (const unsigned char *) opt.message, len);
        while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
        if (ret < 0) return report("write", ret, &ssl);
        unsigned char buffer[16384];
        do ret = mbedtls_ssl_read(&ssl, buffer, sizeof buffer - 1);
        while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
        if (ret <= 0) return report("read", ret, &ssl);
        buffer[ret] = '\0';
        printf("echo: %s\n", (char *) buffer);
        fflush(stdout);
        mbedtls_ssl_close_notify(&ssl);
        mbedtls_ssl_free(&ssl);
        mbedtls_net_free(&fd);
    }
    mbedtls_ssl_session_free(&saved);
    return 0;
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca, cert;
    mbedtls_pk_context key;
    mbedtls_ssl_cache_context cache;
    mbedtls_ssl_ticket_context tickets;
    int ret;
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_ssl_config_init(&conf);
    mbedtls_x509_crt_init(&ca);
    mbedtls_x509_crt_init(&cert);
    mbedtls_pk_init(&key);
    mbedtls_ssl_cache_init(&cache);
    mbedtls_ssl_ticket_init(&tickets);
    if ((ret = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, (const unsigned char *) "peer", 4)) != 0)
        return report("drbg", ret, NULL);
    if ((ret = mbedtls_ssl_config_defaults(&conf, opt.server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
                                           MBEDTLS_SSL_TRANSPORT_DATAGRAM, MBEDTLS_SSL_PRESET_DEFAULT)) != 0)
        return report("config", ret, NULL);
    mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
    mbedtls_ssl_conf_read_timeout(&conf, (uint32_t) opt.timeout_ms);
    mbedtls_ssl_conf_min_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3); /* DTLS 1.2 */
    mbedtls_ssl_conf_export_keys_ext_cb(&conf, export_keys, NULL);
    if (opt.ciphersuite[0] != 0) mbedtls_ssl_conf_ciphersuites(&conf, opt.ciphersuite);
    if (opt.ca != NULL) {
        if ((ret = mbedtls_x509_crt_parse_file(&ca, opt.ca)) != 0) return report("--ca", ret, NULL);
        mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
    }
    if (opt.cert != NULL) {
        if ((ret = mbedtls_x509_crt_parse_file(&cert, opt.cert)) != 0) return report("--cert", ret, NULL);
        if ((ret = mbedtls_pk_parse_keyfile(&key, opt.key, NULL)) != 0) return report("--key", ret, NULL);
        if ((ret = mbedtls_ssl_conf_own_cert(&conf, &cert, &key)) != 0) return report("own cert", ret, NULL);
    }
    if (opt.psk_identity != NULL &&
        (ret = mbedtls_ssl_conf_psk(&conf, opt.psk, opt.psk_len, (const unsigned char *) opt.psk_identity, strlen(opt.psk_identity))) != 0)
        return report("--psk", ret, NULL);
    int auth = opt.auth_mode >= 0 ? opt.auth_mode : opt.server ? MBEDTLS_SSL_VERIFY_NONE : MBEDTLS_SSL_VERIFY_REQUIRED;
    mbedtls_ssl_conf_authmode(&conf, opt.psk_identity != NULL && opt.ca == NULL ? MBEDTLS_SSL_VERIFY_NONE : auth);
    if (opt.alpn != NULL && (ret = mbedtls_ssl_conf_alpn_protocols(&conf, alpn_list())) != 0) return report("--alpn", ret, NULL);
    if (opt.srtp != NULL) {
        static mbedtls_ssl_srtp_profile profiles[2];
        profiles[0] = srtp_profile(opt.srtp);
        profiles[1] = MBEDTLS_TLS_SRTP_UNSET;
        if ((ret = mbedtls_ssl_conf_dtls_srtp_protection_profiles(&conf, profiles)) != 0) return report("--srtp", ret, NULL);
    }
    if (opt.server) {
        mbedtls_ssl_conf_sni(&conf, on_sni, NULL);
        mbedtls_ssl_conf_session_cache(&conf, &cache, mbedtls_ssl_cache_get, mbedtls_ssl_cache_set);
        if (opt.tickets) {
            if ((ret = mbedtls_ssl_ticket_setup(&tickets, mbedtls_ctr_drbg_random, &drbg, MBEDTLS_CIPHER_AES_256_GCM, 86400)) != 0)
                return report("tickets", ret, NULL);
            mbedtls_ssl_conf_session_tickets_cb(&conf, mbedtls_ssl_ticket_write, mbedtls_ssl_ticket_parse, &tickets);
        }
    } else {
        mbedtls_ssl_conf_session_tickets(&conf, opt.tickets ? MBEDTLS_SSL_SESSION_TICKETS_ENABLED : MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
    }
    ret = opt.server ? run_server(&conf, &drbg) : run_client(&conf);
    mbedtls_ssl_ticket_free(&tickets);
    mbedtls_ssl_cache_free(&cache);
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&cert);
    mbedtls_x509_crt_free(&ca);
    mbedtls_ssl_config_free(&conf);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    return ret;
}
