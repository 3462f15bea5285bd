/*
 * libsrtp2 harness for peerless-srtp's cross-check and benchmark.
 *
 * A line protocol on stdin/stdout, so a Rust test driver can run the same packets through
 * libsrtp and through peerless and compare the bytes:
 *
 *   session <profile-id> <master key||salt, hex>  -> "ok"   (new sender + receiver)
 *   prtp <hex> / urtp <hex>                        -> "ok <hex>" | "err <status>"
 *   prtcp <hex> / urtcp <hex>                      -> "ok <hex>" | "err <status>"
 *   bench <profile-id> <packet bytes> <packets>    -> "ok <protect ns/pkt> <unprotect ns/pkt>"
 *   version                                        -> "ok <libsrtp version>; crypto: <libraries>"
 *   quit
 *
 * Profile ids are the DTLS-SRTP code points (1, 2, 7, 8). Built by
 * scripts/interop/srtp-libsrtp.sh with gcc -O2 and pkg-config libsrtp2, and by
 * scripts/bench/srtp.sh twice: against Debian's libsrtp2 (NSS) and against libsrtp built from
 * source with --enable-openssl. `version` names the crypto libraries this process has mapped
 * (libcrypto for OpenSSL, libnss3/libsoftokn3 for NSS), so the bench says what each side ran.
 */
#include <srtp2/srtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PACKET 4096

static srtp_t sender, receiver;
static int have_session;
static volatile unsigned char sink;

static int unhex(const char *hex, unsigned char *out, int max) {
    int n = 0;
    while (hex[0] && hex[1] && hex[0] != '\n' && n < max) {
        unsigned int byte;
        if (sscanf(hex, "%2x", &byte) != 1) return -1;
        out[n++] = (unsigned char)byte;
        hex += 2;
    }
    return n;
}

static void print_hex(const unsigned char *bytes, int len) {
    for (int i = 0; i < len; i++) printf("%02x", bytes[i]);
}

static int make_policy(srtp_policy_t *policy, int profile, unsigned char *key,
                       srtp_ssrc_type_t type) {
    memset(policy, 0, sizeof(*policy));
    if (srtp_crypto_policy_set_from_profile_for_rtp(&policy->rtp, (srtp_profile_t)profile))
        return -1;
    if (srtp_crypto_policy_set_from_profile_for_rtcp(&policy->rtcp, (srtp_profile_t)profile))
        return -1;
    policy->ssrc.type = type;
    policy->key = key;
    policy->window_size = 128;
    policy->allow_repeat_tx = 0;
    return 0;
}

static int open_pair(int profile, unsigned char *key, srtp_t *snd, srtp_t *rcv) {
    srtp_policy_t policy;
    if (make_policy(&policy, profile, key, ssrc_any_outbound) || srtp_create(snd, &policy))
        return -1;
    if (make_policy(&policy, profile, key, ssrc_any_inbound) || srtp_create(rcv, &policy))
        return -1;
    return 0;
}

/* The crypto libraries in this process's address space, from /proc/self/maps, each once. */
static void print_crypto_libraries(void) {
    static const char *names[] = {"libcrypto", "libnss3", "libsoftokn3", "libfreebl", "libgcrypt"};
    int found = 0;
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
        const char *path = NULL;
        if (!maps) break;
        rewind(maps);
        while (!path && fgets(line, sizeof line, maps)) {
            char *slash = strrchr(line, '/');
            if (slash && !strncmp(slash + 1, names[n], strlen(names[n]))) path = slash + 1;
        }
        if (path) {
            line[strcspn(line, "\n")] = 0;
            printf("%s%s", found++ ? ", " : "", path);
        }
    }
    if (maps) fclose(maps);
    if (!found) printf("none of libcrypto/libnss3 mapped");
}

/* This thread's CPU time: other processes on a shared machine preempt the loop without
 * counting (the Rust side reads the same clock). */
static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Protect `count` packets of `size` bytes, then unprotect them all; ns per packet each. */
static int bench(int profile, int size, int count) {
    unsigned char key[64];
    for (int i = 0; i < (int)sizeof key; i++) key[i] = (unsigned char)(i * 7 + 1);
    srtp_t snd, rcv;
    if (open_pair(profile, key, &snd, &rcv)) return -1;
    unsigned char template[MAX_PACKET];
    memset(template, 0xab, sizeof template);
    template[0] = 0x80;
    template[1] = 0x60;
    template[8] = 0x12; template[9] = 0x34; template[10] = 0x56; template[11] = 0x78;
    int stride = size + SRTP_MAX_TRAILER_LEN + 4;
    unsigned char *store = malloc((size_t)stride * (size_t)count);
    int *lens = malloc(sizeof(int) * (size_t)count);
    if (!store || !lens) return -1;
    unsigned char buf[MAX_PACKET + 64];

    /* Timed: protect only (the packet is dropped, as a sender hands it to the socket). */
    double t0 = now_ns();
    for (int i = 0; i < count; i++) {
        memcpy(buf, template, (size_t)size);
        buf[2] = (unsigned char)(i >> 8);
        buf[3] = (unsigned char)i;
        int len = size;
        if (srtp_protect(snd, buf, &len)) return -2;
        sink ^= buf[len - 1];
    }
    double t1 = now_ns();
    /* Untimed: a second sender prepares the packets the receiver will unprotect. */
    srtp_t prep, unused;
    if (open_pair(profile, key, &prep, &unused)) return -1;
    for (int i = 0; i < count; i++) {
        unsigned char *out = store + (size_t)i * (size_t)stride;
        memcpy(out, template, (size_t)size);
        out[2] = (unsigned char)(i >> 8);
        out[3] = (unsigned char)i;
        lens[i] = size;
        if (srtp_protect(prep, out, &lens[i])) return -2;
    }
    srtp_dealloc(prep);
    srtp_dealloc(unused);
    /* Timed: unprotect in arrival order. */
    double t1b = now_ns();
    for (int i = 0; i < count; i++) {
        int len = lens[i];
        memcpy(buf, store + (size_t)i * (size_t)stride, (size_t)len);
        if (srtp_unprotect(rcv, buf, &len)) return -3;
        sink ^= buf[len - 1];
    }
    double t2 = now_ns();
    printf("ok %.1f %.1f\n", (t1 - t0) / count, (t2 - t1b) / count);
    free(store);
    free(lens);
    srtp_dealloc(snd);
    srtp_dealloc(rcv);
    return 0;
}

int main(void) {
    static char line[2 * MAX_PACKET + 256];
    unsigned char buf[MAX_PACKET + 64];
    if (srtp_init()) {
        fprintf(stderr, "srtp_init failed\n");
        return 1;
    }
    while (fgets(line, sizeof line, stdin)) {
        char cmd[16];
        int offset = 0;
        if (sscanf(line, "%15s %n", cmd, &offset) != 1) continue;
        const char *arg = line + offset;
        if (!strcmp(cmd, "quit")) break;
        if (!strcmp(cmd, "version")) {
            printf("ok %s; crypto: ", srtp_get_version_string());
            print_crypto_libraries();
            printf("\n");
            fflush(stdout);
            continue;
        }
        if (!strcmp(cmd, "session")) {
            int profile, skip = 0;
            unsigned char key[64];
            if (sscanf(arg, "%d %n", &profile, &skip) != 1 || unhex(arg + skip, key, 64) < 0) {
                printf("err parse\n");
            } else {
                if (have_session) {
                    srtp_dealloc(sender);
                    srtp_dealloc(receiver);
                }
                have_session = open_pair(profile, key, &sender, &receiver) == 0;
                printf(have_session ? "ok\n" : "err session\n");
            }
        } else if (!strcmp(cmd, "bench")) {
            int profile, size, count;
            if (sscanf(arg, "%d %d %d", &profile, &size, &count) != 3 || size > MAX_PACKET ||
                bench(profile, size, count))
                printf("err bench\n");
        } else {
            int len = unhex(arg, buf, MAX_PACKET);
            srtp_err_status_t status = srtp_err_status_bad_param;
            if (len >= 0 && have_session) {
                if (!strcmp(cmd, "prtp")) status = srtp_protect(sender, buf, &len);
                else if (!strcmp(cmd, "urtp")) status = srtp_unprotect(receiver, buf, &len);
                else if (!strcmp(cmd, "prtcp")) status = srtp_protect_rtcp(sender, buf, &len);
                else if (!strcmp(cmd, "urtcp")) status = srtp_unprotect_rtcp(receiver, buf, &len);
            }
            if (status) {
                printf("err %d\n", (int)status);
            } else {
                printf("ok ");
                print_hex(buf, len);
                printf("\n");
            }
        }
        fflush(stdout);
    }
    return 0;
}
