/* A DTLS 1.2 server on libgnutls for scripts/interop/dtls-gnutls.sh: gnutls-serv cannot print
 * RFC 5705 keying material, and its cookie exchange is invisible from outside. This one does
 * the stateless HelloVerifyRequest exchange itself (gnutls_dtls_cookie_send/_verify), requires
 * a client certificate signed by (= equal to) the CA file, negotiates one SRTP profile, prints
 * "HelloVerifyRequest sent" per cookie it hands out, "Keying material: <HEX>" (the
 * EXTRACTOR-dtls_srtp exporter, RFC 5764 §4.2), then receives one record, echoes it and sends
 * "hello-from-gnutls".
 *
 * usage: dtls-gnutls-server PORT CERT.pem KEY.pem CA.pem SRTP_PROFILE KEYMAT_LEN [MTU]
 * Listens on 127.0.0.1 only (the script runs it in a lo-only network namespace).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct peer {
    int fd;
    struct sockaddr_in addr;
    socklen_t addr_len;
};

static ssize_t push(gnutls_transport_ptr_t p, const void *data, size_t size)
{
    struct peer *peer = p;
    return sendto(peer->fd, data, size, 0, (struct sockaddr *)&peer->addr, peer->addr_len);
}

static ssize_t pull(gnutls_transport_ptr_t p, void *data, size_t size)
{
    struct peer *peer = p;
    struct sockaddr_in from;
    socklen_t from_len = sizeof(from);
    ssize_t n = recvfrom(peer->fd, data, size, 0, (struct sockaddr *)&from, &from_len);
    if (n >= 0 && (from.sin_port != peer->addr.sin_port ||
                   from.sin_addr.s_addr != peer->addr.sin_addr.s_addr)) {
        errno = EAGAIN; /* another client: not ours */
        return -1;
    }
    return n;
}

static int pull_timeout(gnutls_transport_ptr_t p, unsigned int ms)
{
    struct peer *peer = p;
    struct pollfd pfd = {.fd = peer->fd, .events = POLLIN};
    return poll(&pfd, 1, (int)ms);
}

#define CHECK(x)                                                                       \
    do {                                                                               \
        int ret_ = (x);                                                                \
        if (ret_ < 0) {                                                                \
            fprintf(stderr, "%s: %s\n", #x, gnutls_strerror(ret_));                    \
            return 1;                                                                  \
        }                                                                              \
    } while (0)

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: %s PORT CERT KEY CA SRTP_PROFILE KEYMAT_LEN [MTU]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    size_t keymat_len = (size_t)atoi(argv[6]);
    int mtu = argc > 7 ? atoi(argv[7]) : 0;
    setvbuf(stdout, NULL, _IONBF, 0);

    gnutls_certificate_credentials_t cred;
    CHECK(gnutls_global_init());
    CHECK(gnutls_certificate_allocate_credentials(&cred));
    CHECK(gnutls_certificate_set_x509_key_file(cred, argv[2], argv[3], GNUTLS_X509_FMT_PEM));
    CHECK(gnutls_certificate_set_x509_trust_file(cred, argv[4], GNUTLS_X509_FMT_PEM));
    gnutls_datum_t cookie_key;
    CHECK(gnutls_key_generate(&cookie_key, GNUTLS_COOKIE_KEY_SIZE));

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
        perror("bind");
        return 1;
    }

    /* The stateless cookie exchange (RFC 6347 §4.2.1): peek, verify, else answer with a
     * HelloVerifyRequest and drop the datagram. */
    struct peer peer = {.fd = fd};
    gnutls_dtls_prestate_st prestate;
    unsigned char buf[65536];
    for (;;) {
        peer.addr_len = sizeof(peer.addr);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_PEEK, (struct sockaddr *)&peer.addr,
                             &peer.addr_len);
        if (n <= 0)
            continue;
        memset(&prestate, 0, sizeof(prestate));
        if (gnutls_dtls_cookie_verify(&cookie_key, &peer.addr, peer.addr_len, buf, (size_t)n,
                                      &prestate) == 0) {
            printf("Cookie verified\n");
            break;
        }
        gnutls_dtls_cookie_send(&cookie_key, &peer.addr, peer.addr_len, &prestate, &peer,
                                push);
        recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer.addr, &peer.addr_len);
        printf("HelloVerifyRequest sent\n");
    }

    gnutls_session_t session;
    CHECK(gnutls_init(&session, GNUTLS_SERVER | GNUTLS_DATAGRAM));
    CHECK(gnutls_priority_set_direct(session, "NORMAL:-VERS-ALL:+VERS-DTLS1.2", NULL));
    CHECK(gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, cred));
    gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
    CHECK(gnutls_srtp_set_profile_direct(session, argv[5], NULL));
    gnutls_dtls_prestate_set(session, &prestate);
    if (mtu > 0)
        gnutls_dtls_set_mtu(session, (unsigned)mtu);
    gnutls_transport_set_ptr(session, &peer);
    gnutls_transport_set_push_function(session, push);
    gnutls_transport_set_pull_function(session, pull);
    gnutls_transport_set_pull_timeout_function(session, pull_timeout);
    gnutls_handshake_set_timeout(session, 15000);
    int ret;
    do {
        ret = gnutls_handshake(session);
    } while (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED);
    if (ret < 0) {
        fprintf(stderr, "handshake failed: %s\n", gnutls_strerror(ret));
        return 1;
    }
    unsigned status = 0;
    CHECK(gnutls_certificate_verify_peers2(session, &status));
    if (status != 0) {
        fprintf(stderr, "client certificate not trusted (status %u)\n", status);
        return 1;
    }
    gnutls_srtp_profile_t profile;
    CHECK(gnutls_srtp_get_selected_profile(session, &profile));
    printf("SRTP profile: %s\n", gnutls_srtp_get_profile_name(profile));
    unsigned char km[256];
    if (keymat_len > sizeof(km))
        return 2;
    CHECK(gnutls_prf_rfc5705(session, strlen("EXTRACTOR-dtls_srtp"), "EXTRACTOR-dtls_srtp", 0,
                             NULL, keymat_len, (char *)km));
    printf("Keying material: ");
    for (size_t i = 0; i < keymat_len; i++)
        printf("%02X", km[i]);
    printf("\n");

    do {
        ret = (int)gnutls_record_recv(session, buf, sizeof(buf) - 1);
    } while (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED);
    if (ret <= 0) {
        fprintf(stderr, "receive: %s\n", ret < 0 ? gnutls_strerror(ret) : "closed");
        return 1;
    }
    buf[ret] = 0;
    printf("RECEIVED %s\n", buf);
    CHECK((int)gnutls_record_send(session, buf, (size_t)ret));
    const char *hello = "hello-from-gnutls\n";
    CHECK((int)gnutls_record_send(session, hello, strlen(hello)));
    /* Let the close_notify of the client arrive (3 s at most), then say goodbye. */
    gnutls_record_set_timeout(session, 3000);
    do {
        ret = (int)gnutls_record_recv(session, buf, sizeof(buf) - 1);
    } while (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED || ret > 0);
    gnutls_bye(session, GNUTLS_SHUT_WR);
    gnutls_deinit(session);
    close(fd);
    gnutls_free(cookie_key.data);
    gnutls_certificate_free_credentials(cred);
    gnutls_global_deinit();
    printf("DONE\n");
    return 0;
}
