/*
 * Interop peer on usrsctp (the SCTP stack inside Firefox), the counterpart of
 * sctp/examples/sctp_udp.rs. usrsctp runs over AF_CONN with SCTP packets carried bare in UDP on
 * loopback, as Firefox carries them in DTLS. DCEP is done here by hand, as Firefox's
 * DataChannel.cpp does on top of usrsctp.
 *
 * usage: usrsctp_peer <client|server> <local port> <remote port> [loss]
 *
 * Opens channel "c-chan" (DCEP) and sends 7 messages (1 B .. 64 KiB, empty) that the peer must
 * echo; echoes what the peer sends on "rust-chan"; answers the peer's stream reset of
 * "rust-chan" by resetting its own direction, as Firefox does. Exits 0 when all echoes are
 * verified, the peer's 7 messages echoed and its channel closed; 1 on timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <usrsctp.h>

#define MESSAGES 7
static const size_t SIZES[MESSAGES] = {1, 100, 1172, 1173, 5000, 65536, 0};
static int udp_fd;
static double loss;
static struct socket *sock;
static uint16_t our_sid;
static atomic_int echoed, peer_messages, peer_closed, connected, failed;
static char labels[1024][32];
/* Reassembly of partial deliveries, per stream. */
static uint8_t *partial_buf[1024];
static size_t partial_len[1024];

static void message(int index, uint8_t salt, uint8_t *out) {
    for (size_t i = 0; i < SIZES[index]; i++)
        out[i] = index % 2 == 0 ? (uint8_t)((i * 7) ^ salt) : (uint8_t)('a' + (i + salt) % 26);
}

static int lose(void) { return loss > 0 && (double)rand() / RAND_MAX < loss; }

static int conn_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df) {
    (void)addr; (void)tos; (void)set_df;
    if (!lose()) send(udp_fd, buf, len, 0);
    return 0;
}

static void send_msg(uint16_t sid, uint32_t ppid, const void *data, size_t len) {
    struct sctp_sndinfo snd;
    memset(&snd, 0, sizeof snd);
    snd.snd_sid = sid;
    snd.snd_ppid = htonl(ppid);
    for (int tries = 0; tries < 2000; tries++) {
        if (usrsctp_sendv(sock, data, len, NULL, 0, &snd, sizeof snd, SCTP_SENDV_SNDINFO, 0) >= 0) return;
        if (errno != EWOULDBLOCK && errno != EAGAIN) break;
        usleep(1000);
    }
    fprintf(stderr, "usrsctp: send failed: %s\n", strerror(errno));
    failed = 1;
}

static void on_notification(union sctp_notification *n) {
    if (n->sn_header.sn_type == SCTP_ASSOC_CHANGE) {
        if (n->sn_assoc_change.sac_state == SCTP_COMM_UP) {
            fprintf(stderr, "usrsctp: connected\n");
            connected = 1;
        }
    } else if (n->sn_header.sn_type == SCTP_STREAM_RESET_EVENT) {
        struct sctp_stream_reset_event *e = &n->sn_strreset_event;
        int count = (e->strreset_length - sizeof(*e)) / sizeof(uint16_t);
        if (e->strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN) {
            for (int i = 0; i < count; i++) {
                uint16_t sid = e->strreset_stream_list[i];
                fprintf(stderr, "usrsctp: peer reset stream %u (%s); resetting ours\n", sid, labels[sid]);
                /* Firefox closes its direction when the peer closes a channel. */
                size_t sz = sizeof(struct sctp_reset_streams) + sizeof(uint16_t);
                struct sctp_reset_streams *r = calloc(1, sz);
                r->srs_flags = SCTP_STREAM_RESET_OUTGOING;
                r->srs_number_streams = 1;
                r->srs_stream_list[0] = sid;
                if (usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, r, (socklen_t)sz) < 0)
                    fprintf(stderr, "usrsctp: reset failed: %s\n", strerror(errno));
                free(r);
                if (strcmp(labels[sid], "rust-chan") == 0) peer_closed = 1;
            }
        }
    }
}

static void on_message(uint16_t sid, uint32_t ppid, const uint8_t *data, size_t len) {
    if (ppid == 50) {
        if (len >= 12 && data[0] == 0x03) {
            size_t label_len = ((size_t)data[8] << 8) | data[9];
            if (label_len > 31) label_len = 31;
            memcpy(labels[sid], data + 12, label_len);
            labels[sid][label_len] = 0;
            fprintf(stderr, "usrsctp: peer opened channel %u \"%s\"\n", sid, labels[sid]);
            uint8_t ack = 0x02;
            send_msg(sid, 50, &ack, 1);
        }
        return;
    }
    if (sid == our_sid) {
        int i = echoed;
        if (i >= MESSAGES) { failed = 1; return; }
        static uint8_t want[65536];
        message(i, 0x22, want);
        int empty = ppid == 56 || ppid == 57;
        int binary = ppid == 53 || ppid == 57;
        if (binary != (i % 2 == 0) || (empty ? 0 : len) != SIZES[i] || (!empty && memcmp(data, want, len) != 0)) {
            fprintf(stderr, "usrsctp: echo %d differs (ppid %u, %zu bytes)\n", i, ppid, len);
            failed = 1;
            return;
        }
        echoed = i + 1;
        fprintf(stderr, "usrsctp: echo %d/%d ok (%zu bytes)\n", i + 1, MESSAGES, empty ? (size_t)0 : len);
        return;
    }
    if (strcmp(labels[sid], "rust-chan") == 0) {
        peer_messages++;
        send_msg(sid, ppid, data, len);
    }
    /* "rust-partial" and anything else: received, not echoed. */
}

static int receive_cb(struct socket *s, union sctp_sockstore addr, void *data, size_t len,
                      struct sctp_rcvinfo rcv, int flags, void *ulp) {
    (void)s; (void)addr; (void)ulp;
    if (data == NULL) return 1;
    if (flags & MSG_NOTIFICATION) {
        on_notification((union sctp_notification *)data);
    } else {
        uint16_t sid = rcv.rcv_sid;
        if (sid < 1024) {
            /* usrsctp may hand over a large message in pieces: join them until MSG_EOR. */
            partial_buf[sid] = realloc(partial_buf[sid], partial_len[sid] + len + 1);
            memcpy(partial_buf[sid] + partial_len[sid], data, len);
            partial_len[sid] += len;
            if (flags & MSG_EOR) {
                on_message(sid, ntohl(rcv.rcv_ppid), partial_buf[sid], partial_len[sid]);
                partial_len[sid] = 0;
            }
        }
    }
    free(data);
    return 1;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    int client = strcmp(argv[1], "client") == 0;
    loss = argc > 4 ? atof(argv[4]) : 0;
    srand(7);
    our_sid = client ? 4 : 5; /* the DTLS role's parity, clear of the peer's ids */

    udp_fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    struct sockaddr_in remote = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
    inet_pton(AF_INET, "127.0.0.1", &local.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
    if (bind(udp_fd, (struct sockaddr *)&local, sizeof local) < 0 ||
        connect(udp_fd, (struct sockaddr *)&remote, sizeof remote) < 0) {
        perror("udp");
        return 1;
    }

    usrsctp_init(0, conn_output, NULL);
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    usrsctp_register_address(&udp_fd);
    sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, receive_cb, NULL, 0, NULL);
    usrsctp_set_non_blocking(sock, 1);
    int on = 1;
    usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof on);
    usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on);
    struct sctp_assoc_value av = {.assoc_id = SCTP_ALL_ASSOC, .assoc_value = SCTP_ENABLE_RESET_STREAM_REQ};
    usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &av, sizeof av);
    uint16_t events[] = {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT};
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        struct sctp_event ev = {.se_assoc_id = SCTP_ALL_ASSOC, .se_type = events[i], .se_on = 1};
        usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof ev);
    }
    struct sctp_initmsg init = {.sinit_num_ostreams = 1024, .sinit_max_instreams = 1024};
    usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof init);
    int buf = 1 << 20;
    usrsctp_setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    usrsctp_setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);

    struct sockaddr_conn sconn;
    memset(&sconn, 0, sizeof sconn);
    sconn.sconn_family = AF_CONN;
    sconn.sconn_port = htons(5000);
    sconn.sconn_addr = &udp_fd;
    if (usrsctp_bind(sock, (struct sockaddr *)&sconn, sizeof sconn) < 0) {
        perror("usrsctp_bind");
        return 1;
    }
    /* Both sides connect at once, as WebRTC peers do. */
    if (usrsctp_connect(sock, (struct sockaddr *)&sconn, sizeof sconn) < 0 && errno != EINPROGRESS) {
        perror("usrsctp_connect");
        return 1;
    }

    double start = now_s(), done_at = 0;
    int sent = 0;
    uint8_t rx[65536];
    static uint8_t out[65536];
    while (now_s() - start < 60) {
        struct pollfd p = {.fd = udp_fd, .events = POLLIN};
        if (poll(&p, 1, 20) > 0) {
            ssize_t n = recv(udp_fd, rx, sizeof rx, 0);
            if (n > 0 && !lose()) usrsctp_conninput(&udp_fd, rx, (size_t)n, 0);
        }
        if (connected && !sent) {
            sent = 1;
            static const char label[] = "c-chan", protocol[] = "echo";
            uint8_t open[12 + sizeof label + sizeof protocol] = {0x03, 0x00, 0x01, 0x00, 0, 0, 0, 0,
                                                                  0, sizeof label - 1, 0, sizeof protocol - 1};
            memcpy(open + 12, label, sizeof label - 1);
            memcpy(open + 12 + sizeof label - 1, protocol, sizeof protocol - 1);
            send_msg(our_sid, 50, open, 12 + sizeof label - 1 + sizeof protocol - 1);
            for (int i = 0; i < MESSAGES; i++) {
                message(i, 0x22, out);
                int binary = i % 2 == 0;
                if (SIZES[i] == 0)
                    send_msg(our_sid, binary ? 57 : 56, "\0", 1);
                else
                    send_msg(our_sid, binary ? 53 : 51, out, SIZES[i]);
            }
        }
        if (failed) break;
        if (!done_at && echoed == MESSAGES && peer_messages == MESSAGES && peer_closed) {
            printf("OK usrsctp: %d echoes verified, %d peerless messages echoed, peer's channel closed\n",
                   (int)echoed, (int)peer_messages);
            fflush(stdout);
            done_at = now_s();
        }
        /* Stay to answer retransmissions while the peer finishes. */
        if (done_at && now_s() - done_at > 3) {
            usrsctp_close(sock);
            return 0;
        }
    }
    fprintf(stderr, "usrsctp: %s: echoed %d, peer messages %d, peer closed %d\n",
            failed ? "failed" : "timeout", (int)echoed, (int)peer_messages, (int)peer_closed);
    return 1;
}
