/*
 * The reference for scripts/bench/sctp.sh: usrsctp (Firefox's SCTP stack) as an in-memory pair
 * over AF_CONN, one stream, reliable and ordered, messages of a given size pushed as fast as
 * it goes. Packets between the two endpoints go through a socketpair and a reader thread per
 * side (usrsctp's own threads run its timers). Prints MB of user data per CPU-second of the
 * whole process, like the peerless bench prints for its pair.
 *
 * usage: usrsctp_bench <message size> <MiB>
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <usrsctp.h>

static int pipes[2][2]; /* [side][0]: read end for that side's input, [1]: write end */
static int side_a = 0, side_b = 1;
static atomic_ullong received;
static atomic_int stop;

/* usrsctp's AF_CONN address is the local end's transport handle (Firefox passes its
 * connection object for both ends): what side X sends goes to the other side's input. */
static int conn_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df) {
    (void)tos; (void)set_df;
    int to = 1 - *(int *)addr;
    if (write(pipes[to][1], buf, len) < 0) return errno;
    return 0;
}

/* Feeds the packets sent to one side into usrsctp under that side's handle. */
static void *reader(void *arg) {
    int *side = arg;
    static __thread uint8_t buf[65536];
    while (!stop) {
        ssize_t n = read(pipes[*side][0], buf, sizeof buf);
        if (n > 0) usrsctp_conninput(side, buf, (size_t)n, 0);
    }
    return NULL;
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

static struct socket *make(int *side, uint16_t port) {
    struct socket *so = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, receive_cb, NULL, 0, NULL);
    int on = 1;
    usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on);
    int buf = 1 << 20;
    usrsctp_setsockopt(so, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    usrsctp_setsockopt(so, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    struct sockaddr_conn a;
    memset(&a, 0, sizeof a);
    a.sconn_family = AF_CONN;
    a.sconn_port = htons(port);
    a.sconn_addr = side;
    usrsctp_bind(so, (struct sockaddr *)&a, sizeof a);
    return so;
}

static double cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    size_t size = (size_t)atol(argv[1]);
    unsigned long long total = (unsigned long long)atol(argv[2]) << 20;
    unsigned long long count = total / size;
    for (int i = 0; i < 2; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0) return 1;
        int big = 8 << 20;
        setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
        setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
        pipes[i][0] = sv[0];
        pipes[i][1] = sv[1];
    }
    usrsctp_init(0, conn_output, NULL);
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    usrsctp_register_address(&side_a);
    usrsctp_register_address(&side_b);
    pthread_t ta, tb;
    pthread_create(&ta, NULL, reader, &side_a);
    pthread_create(&tb, NULL, reader, &side_b);

    /* Distinct ports: usrsctp finds the listener by port before address. */
    struct socket *a = make(&side_a, 5001), *b = make(&side_b, 5000);
    usrsctp_listen(b, 1);
    struct sockaddr_conn to;
    memset(&to, 0, sizeof to);
    to.sconn_family = AF_CONN;
    to.sconn_port = htons(5000);
    to.sconn_addr = &side_a;
    if (usrsctp_connect(a, (struct sockaddr *)&to, sizeof to) < 0) {
        perror("connect");
        return 1;
    }
    struct socket *b2 = usrsctp_accept(b, NULL, NULL);
    (void)b2;

    uint8_t *msg = calloc(1, size);
    struct sctp_sndinfo snd;
    memset(&snd, 0, sizeof snd);
    snd.snd_ppid = htonl(53);
    double start = cpu();
    for (unsigned long long i = 0; i < count; i++) {
        while (usrsctp_sendv(a, msg, size, NULL, 0, &snd, sizeof snd, SCTP_SENDV_SNDINFO, 0) < 0) {
            if (errno != EWOULDBLOCK && errno != EAGAIN) {
                perror("send");
                return 1;
            }
            usleep(100);
        }
    }
    while (received < count * size) usleep(100);
    double used = cpu() - start;
    printf("%.0f\n", (double)(count * size) / 1e6 / used);
    fflush(stdout);
    stop = 1;
    _exit(0);
}
