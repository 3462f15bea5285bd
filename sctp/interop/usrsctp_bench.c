/*
 * The reference for scripts/bench/sctp.sh: usrsctp (Firefox's SCTP stack) as an in-memory pair
 * over AF_CONN in ONE thread, shaped like the peerless bench (sctp/examples/bench.rs):
 *
 *   usrsctp_init_nothreads: no timer thread, no reader threads
 *   sendv(a) until EWOULDBLOCK --> conn_output --> in-memory queue (packet, destination side)
 *          ^                                              |
 *          |   the same thread drains the queue into usrsctp_conninput (answers queue up too)
 *          +-- nothing queued and nothing to send: usrsctp_handle_timers(10 ms) (virtual time:
 *              it passes only when both ends wait for a timer, e.g. a delayed SACK)
 *
 * One stream, reliable and ordered, path MTU pinned at 1200 (PMTU discovery off, as Firefox
 * sets it; printed as the association reports it), messages of a given size pushed as fast as
 * it goes. CRC32c computed on send and checked on receive (usrsctp's default), or neither
 * (`none`: usrsctp_enable_crc32c_offload, the counterpart of RFC 9653's zero checksum).
 * Measures this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), the only thread there is.
 *
 * usage: usrsctp_bench <message size> <MiB> <crc32c|none>
 * prints: <MB of user data per CPU-second> <path MTU>
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <usrsctp.h>

#define QUEUE 8192
#define MAX_PACKET 2048

static int side_a = 0, side_b = 1;
static unsigned long long received;

/* Packets in flight between the two ends, in order: a ring the callback appends to. */
static struct {
    int to;
    size_t len;
    uint8_t data[MAX_PACKET];
} queue[QUEUE];
static size_t head, tail;

/* usrsctp's AF_CONN address is the local end's transport handle (Firefox passes its
 * connection object for both ends): what side X sends goes to the other side's input. Called
 * from inside usrsctp, so it only queues; the main loop delivers. */
static int conn_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df) {
    (void)tos; (void)set_df;
    if (tail - head >= QUEUE || len > MAX_PACKET) return ENOBUFS;
    size_t slot = tail++ % QUEUE;
    queue[slot].to = 1 - *(int *)addr;
    queue[slot].len = len;
    memcpy(queue[slot].data, buf, len);
    return 0;
}

/* Delivers every queued packet (and those the deliveries queue); returns how many. */
static size_t drain(void) {
    static uint8_t packet[MAX_PACKET];
    size_t moved = 0;
    while (head != tail) {
        size_t slot = head++ % QUEUE;
        size_t len = queue[slot].len;
        int to = queue[slot].to;
        memcpy(packet, queue[slot].data, len);
        usrsctp_conninput(to == 0 ? &side_a : &side_b, packet, len, 0);
        moved++;
    }
    return moved;
}

static int receive_cb(struct socket *s, union sctp_sockstore addr, void *data, size_t len,
                      struct sctp_rcvinfo rcv, int flags, void *ulp) {
    (void)s; (void)addr; (void)rcv; (void)ulp;
    if (data) {
        if (!(flags & MSG_NOTIFICATION)) received += len;
        free(data);
    }
    return 1;
}

/* Path MTU 1200 with discovery off, for the associations this socket makes from now on. */
static void pin_mtu(struct socket *so) {
    struct sctp_paddrparams p;
    memset(&p, 0, sizeof p);
    p.spp_assoc_id = SCTP_FUTURE_ASSOC;
    p.spp_flags = SPP_PMTUD_DISABLE;
    p.spp_pathmtu = 1200;
    if (usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &p, sizeof p) < 0)
        perror("SCTP_PEER_ADDR_PARAMS");
}

static struct socket *make(int *side, uint16_t port) {
    struct socket *so = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, receive_cb, NULL, 0, NULL);
    if (!so) {
        perror("usrsctp_socket");
        exit(1);
    }
    usrsctp_set_non_blocking(so, 1);
    int on = 1;
    usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on);
    int buf = 1 << 20;
    usrsctp_setsockopt(so, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    usrsctp_setsockopt(so, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    pin_mtu(so);
    struct sockaddr_conn a;
    memset(&a, 0, sizeof a);
    a.sconn_family = AF_CONN;
    a.sconn_port = htons(port);
    a.sconn_addr = side;
    if (usrsctp_bind(so, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("usrsctp_bind");
        exit(1);
    }
    return so;
}

static double cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: usrsctp_bench <message size> <MiB> <crc32c|none>\n");
        return 2;
    }
    size_t size = (size_t)atol(argv[1]);
    unsigned long long total = (unsigned long long)atol(argv[2]) << 20;
    unsigned long long count = total / size;
    int checksum = strcmp(argv[3], "none") != 0;

    usrsctp_init_nothreads(0, conn_output, NULL);
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    if (!checksum) usrsctp_enable_crc32c_offload();
    usrsctp_register_address(&side_a);
    usrsctp_register_address(&side_b);

    /* Distinct ports: usrsctp finds the listener by port before address. */
    struct socket *a = make(&side_a, 5001), *b = make(&side_b, 5000);
    usrsctp_listen(b, 1);
    struct sockaddr_conn to;
    memset(&to, 0, sizeof to);
    to.sconn_family = AF_CONN;
    to.sconn_port = htons(5000);
    to.sconn_addr = &side_a;
    if (usrsctp_connect(a, (struct sockaddr *)&to, sizeof to) < 0 && errno != EINPROGRESS) {
        perror("connect");
        return 1;
    }
    struct socket *b2 = NULL;
    for (int i = 0; !b2 && i < 10000; i++) {
        if (!drain()) usrsctp_handle_timers(10);
        b2 = usrsctp_accept(b, NULL, NULL);
    }
    if (!b2) {
        fprintf(stderr, "usrsctp pair did not connect\n");
        return 1;
    }
    usrsctp_set_non_blocking(b2, 1);
    drain();

    struct sctp_status status;
    memset(&status, 0, sizeof status);
    socklen_t status_len = sizeof status;
    unsigned mtu = 0;
    if (usrsctp_getsockopt(a, IPPROTO_SCTP, SCTP_STATUS, &status, &status_len) == 0)
        mtu = status.sstat_primary.spinfo_mtu;

    uint8_t *msg = calloc(1, size);
    struct sctp_sndinfo snd;
    memset(&snd, 0, sizeof snd);
    snd.snd_ppid = htonl(53);
    unsigned long long sent = 0, idle = 0;
    double start = cpu();
    while (received < count * size) {
        while (sent < count) {
            if (usrsctp_sendv(a, msg, size, NULL, 0, &snd, sizeof snd, SCTP_SENDV_SNDINFO, 0) < 0) {
                if (errno != EWOULDBLOCK && errno != EAGAIN) {
                    perror("send");
                    return 1;
                }
                break;
            }
            sent++;
        }
        if (!drain()) {
            if (++idle > 10000000) {
                fprintf(stderr, "usrsctp pair stalled\n");
                return 1;
            }
            usrsctp_handle_timers(10);
        }
    }
    double used = cpu() - start;
    printf("%.0f %u\n", (double)(count * size) / 1e6 / used, mtu);
    fflush(stdout);
    return 0;
}
