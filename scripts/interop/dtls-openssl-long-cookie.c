/* A DTLS 1.2 server on libssl for scripts/interop/dtls-openssl.sh whose HelloVerifyRequest
 * cookies are 255 bytes long, the most `opaque cookie<0..2^8-1>` holds (RFC 6347 §4.2.1) and
 * OpenSSL's DTLS1_COOKIE_LENGTH; `openssl s_server` has no option for its cookie length. It
 * requires a client certificate equal to the CA file, negotiates one SRTP profile, prints
 * "HelloVerifyRequest cookie of N bytes" per cookie it hands out, "Cookie of N bytes verified",
 * "SRTP profile: NAME", "Keying material: <HEX>" (EXTRACTOR-dtls_srtp, RFC 5764 §4.2), then
 * receives one record, echoes it and sends "hello-from-openssl".
 *
 * usage: dtls-openssl-long-cookie PORT CERT.pem KEY.pem CA.pem SRTP_PROFILE KEYMAT_LEN
 * Listens on 127.0.0.1 only (the script runs it in a lo-only network namespace).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define COOKIE_LEN 255
static unsigned char secret[32];

/* Not bound to the client: this server only checks that 255 bytes make the round trip. */
static void make_cookie(unsigned char *cookie)
{
    for (unsigned i = 0; i < COOKIE_LEN; i++)
        cookie[i] = secret[i % sizeof(secret)] ^ (unsigned char)(i * 7);
}

static int generate(SSL *ssl, unsigned char *cookie, unsigned int *len)
{
    (void)ssl;
    make_cookie(cookie);
    *len = COOKIE_LEN;
    printf("HelloVerifyRequest cookie of %u bytes\n", *len);
    return 1;
}

static int verify(SSL *ssl, const unsigned char *cookie, unsigned int len)
{
    (void)ssl;
    unsigned char expected[COOKIE_LEN];
    make_cookie(expected);
    int ok = len == COOKIE_LEN && memcmp(cookie, expected, COOKIE_LEN) == 0;
    printf("Cookie of %u bytes %s\n", len, ok ? "verified" : "REFUSED");
    return ok;
}

static int fail(const char *what)
{
    fprintf(stderr, "%s failed\n", what);
    ERR_print_errors_fp(stderr);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: %s PORT CERT KEY CA SRTP_PROFILE KEYMAT_LEN\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    size_t keymat_len = (size_t)atoi(argv[6]);
    setvbuf(stdout, NULL, _IONBF, 0);
    if (RAND_bytes(secret, sizeof(secret)) != 1)
        return fail("RAND_bytes");

    SSL_CTX *ctx = SSL_CTX_new(DTLS_server_method());
    if (!ctx || !SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) ||
        !SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION))
        return fail("context");
    if (SSL_CTX_use_certificate_file(ctx, argv[2], SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, argv[3], SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_load_verify_locations(ctx, argv[4], NULL) != 1)
        return fail("certificates");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    if (SSL_CTX_set_tlsext_use_srtp(ctx, argv[5]) != 0) /* 0 is success here */
        return fail("use_srtp");
    SSL_CTX_set_cookie_generate_cb(ctx, generate);
    SSL_CTX_set_cookie_verify_cb(ctx, verify);

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
        perror("bind");
        return 1;
    }
    BIO *bio = BIO_new_dgram(fd, BIO_NOCLOSE);
    struct timeval tv = {.tv_sec = 15};
    BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_RECV_TIMEOUT, 0, &tv);
    SSL *ssl = SSL_new(ctx);
    SSL_set_bio(ssl, bio, bio);
    SSL_set_options(ssl, SSL_OP_COOKIE_EXCHANGE);
    BIO_ADDR *client = BIO_ADDR_new();
    int ret;
    /* Stateless until a ClientHello brings our cookie back (RFC 6347 §4.2.1). */
    while ((ret = DTLSv1_listen(ssl, client)) <= 0)
        if (ret < 0)
            return fail("DTLSv1_listen");
    /* As s_server does: the socket talks to this client only from now on. */
    if (!BIO_connect(fd, client, 0))
        return fail("BIO_connect");
    BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_CONNECTED, 0, client);
    if ((ret = SSL_accept(ssl)) != 1) {
        fprintf(stderr, "SSL_get_error %d\n", SSL_get_error(ssl, ret));
        return fail("SSL_accept");
    }
    const SRTP_PROTECTION_PROFILE *profile = SSL_get_selected_srtp_profile(ssl);
    if (!profile)
        return fail("SRTP negotiation");
    printf("SRTP profile: %s\n", profile->name);
    unsigned char km[256];
    if (keymat_len > sizeof(km) ||
        SSL_export_keying_material(ssl, km, keymat_len, "EXTRACTOR-dtls_srtp", 19, NULL, 0,
                                   0) != 1)
        return fail("SSL_export_keying_material");
    printf("Keying material: ");
    for (size_t i = 0; i < keymat_len; i++)
        printf("%02X", km[i]);
    printf("\n");

    char buf[2048];
    int n = SSL_read(ssl, buf, sizeof(buf) - 1);
    if (n <= 0)
        return fail("SSL_read");
    buf[n] = 0;
    printf("RECEIVED %s\n", buf);
    const char *hello = "hello-from-openssl\n";
    if (SSL_write(ssl, buf, n) != n || SSL_write(ssl, hello, (int)strlen(hello)) <= 0)
        return fail("SSL_write");
    /* Until the client's close_notify (or 3 s). */
    tv.tv_sec = 3;
    BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_RECV_TIMEOUT, 0, &tv);
    while (SSL_read(ssl, buf, sizeof(buf)) > 0) {
    }
    SSL_shutdown(ssl);
    SSL_free(ssl);
    BIO_ADDR_free(client);
    SSL_CTX_free(ctx);
    close(fd);
    printf("DONE\n");
    return 0;
}
