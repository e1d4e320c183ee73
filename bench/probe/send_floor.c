/*
 * send_floor: the kernel's floor for fan-out on this machine.
 *
 * Two processes (like a server and its subscribers):
 *   - the RECEIVER (child) opens N TCP connections to 127.0.0.1 and drains them with epoll; it is
 *     pinned to --receiver-cpu (default 1).
 *   - the SENDER (parent) listens, accepts the N connections (nonblocking, TCP_NODELAY, SO_SNDBUF),
 *     and then, pinned to --sender-cpu (default 0), runs M rounds; each round does one send() of
 *     --coalesce K messages of --size bytes to each of the N accepted sockets, one socket after another,
 *     the way a pub/sub server writes one published message to each subscriber.
 *
 * Two processes rather than two threads because 2N+1 descriptors would not fit the machine's hard
 * limit of 20,000 open files at N = 10,000.
 *
 * What is measured (all for the sender process only):
 *   cpu_us_per_send   getrusage(RUSAGE_SELF) user+sys of the sender during the rounds / send() calls.
 *                     On loopback the receive half of TCP (netif_rx -> softirq -> tcp_v4_rcv -> queue on
 *                     the receiving socket -> wake the receiver) runs in the softirq raised by the send,
 *                     in the sender's context, so it is charged to the sender: this number is "send +
 *                     loopback delivery", exactly what a server's /proc/PID/stat shows for its writes.
 *                     The receiver's recv() copies are charged to the receiver (reported separately).
 *   core_us_per_send  the same, from /proc/stat for the sender's core (user+nice+system+irq+softirq):
 *                     also catches softirq work that ran on that core outside the sender's context
 *                     (timers, delayed ACKs, ksoftirqd). 10 ms ticks: needs runs of a second or more.
 *   sends_per_second  send() calls / wall-clock seconds of the rounds.
 *   eagain            sends that found the socket buffer full (must stay ~0 for a valid floor; the
 *                     unsent remainder is retried, so every byte is delivered either way).
 *
 * Build: gcc -O2 -Wall -o send_floor send_floor.c
 * Usage: send_floor [--n N] [--rounds M | --sends TOTAL] [--size BYTES] [--coalesce K]
 *                   [--sender-cpu C] [--receiver-cpu C] [--sndbuf BYTES] [--rcvbuf BYTES]
 *                   [--nagle] [--label TEXT] [--json FILE]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long n_conns = 1000, rounds = 0, total_sends = 1000000, size = 64, coalesce = 1;
static int sender_cpu = 0, receiver_cpu = 1, nagle = 0;
static int sndbuf = 1 << 20, rcvbuf = 1 << 20;
static const char *json_path = NULL, *label = NULL;

static void die(const char *what) {
    perror(what);
    exit(1);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double rusage_s(int who) {
    struct rusage ru;
    getrusage(who, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) die("sched_setaffinity");
}

/* Busy jiffies (user nice system irq softirq) and all jiffies of one core, from /proc/stat. */
static void core_jiffies(int cpu, unsigned long long *busy, unsigned long long *all) {
    FILE *f = fopen("/proc/stat", "r");
    char name[32], want[32];
    unsigned long long v[10] = {0};
    *busy = *all = 0;
    if (!f) return;
    snprintf(want, sizeof want, "cpu%d", cpu);
    char line[512];
    while (fgets(line, sizeof line, f)) {
        int k = sscanf(line, "%31s %llu %llu %llu %llu %llu %llu %llu %llu", name, &v[0], &v[1], &v[2], &v[3],
                       &v[4], &v[5], &v[6], &v[7]);
        if (k >= 8 && strcmp(name, want) == 0) {
            *busy = v[0] + v[1] + v[2] + v[5] + v[6];
            *all = *busy + v[3] + v[4] + v[7];
            break;
        }
    }
    fclose(f);
}

static void set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) die("fcntl");
}

static int write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t len) {
    char *p = buf;
    while (len) {
        ssize_t r = read(fd, p, len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

struct receiver_report {
    unsigned long long bytes;
    double cpu_s, wall_s;
    long wakeups, recvs;
};

/* The receiver: connect N sockets, say so, drain until `expected` bytes arrived, report. */
static void receiver(int port, int to_parent, int from_parent, unsigned long long expected) {
    pin(receiver_cpu);
    int *fds = calloc((size_t)n_conns, sizeof(int));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ep = epoll_create1(0);
    for (long i = 0; i < n_conns; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) die("receiver socket");
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        while (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            if (errno == EINTR) continue;
            die("receiver connect");
        }
        set_nonblock(fd);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
        fds[i] = fd;
    }
    char ok = 'c';
    write_all(to_parent, &ok, 1);
    char go;
    if (read_all(from_parent, &go, 1) != 0) exit(1);

    static char buf[1 << 16];
    struct epoll_event evs[1024];
    struct receiver_report rep = {0};
    double c0 = rusage_s(RUSAGE_SELF), t0 = now_s();
    while (rep.bytes < expected) {
        int k = epoll_wait(ep, evs, 1024, 10000);
        if (k < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        if (k == 0) {
            fprintf(stderr, "receiver: timed out with %llu of %llu bytes\n", rep.bytes, expected);
            break;
        }
        rep.wakeups++;
        for (int j = 0; j < k; j++) {
            ssize_t r = recv(evs[j].data.fd, buf, sizeof buf, 0);
            rep.recvs++;
            if (r > 0) rep.bytes += (unsigned long long)r;
        }
    }
    rep.cpu_s = rusage_s(RUSAGE_SELF) - c0;
    rep.wall_s = now_s() - t0;
    write_all(to_parent, &rep, sizeof rep);
    exit(0);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v && ++i)
        if (OPT("--n")) n_conns = atol(v);
        else if (OPT("--rounds")) rounds = atol(v);
        else if (OPT("--sends")) total_sends = atol(v);
        else if (OPT("--size")) size = atol(v);
        else if (OPT("--coalesce")) coalesce = atol(v);
        else if (OPT("--sender-cpu")) sender_cpu = atoi(v);
        else if (OPT("--receiver-cpu")) receiver_cpu = atoi(v);
        else if (OPT("--sndbuf")) sndbuf = atoi(v);
        else if (OPT("--rcvbuf")) rcvbuf = atoi(v);
        else if (OPT("--json")) json_path = v;
        else if (OPT("--label")) label = v;
        else if (strcmp(a, "--nagle") == 0) nagle = 1;
        else {
            fprintf(stderr, "usage: %s [--n N] [--rounds M | --sends TOTAL] [--size B] [--coalesce K] "
                            "[--sender-cpu C] [--receiver-cpu C] [--sndbuf B] [--rcvbuf B] [--nagle] "
                            "[--label T] [--json FILE]\n", argv[0]);
            return 2;
        }
#undef OPT
    }
    if (n_conns < 1 || size < 1 || coalesce < 1) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    if (rounds <= 0) rounds = (total_sends + n_conns - 1) / n_conns;
    if (rounds < 3) rounds = 3;
    signal(SIGPIPE, SIG_IGN);

    size_t len = (size_t)(size * coalesce);
    char *msg = malloc(len);
    memset(msg, 'x', len);
    const long warmup = 1;
    unsigned long long expected = (unsigned long long)(rounds + warmup) * (unsigned long long)n_conns * len;

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0) die("bind");
    if (listen(lfd, 4096) != 0) die("listen");
    socklen_t sl = sizeof sa;
    getsockname(lfd, (struct sockaddr *)&sa, &sl);
    int port = ntohs(sa.sin_port);

    int up[2], down[2];
    if (pipe(up) != 0 || pipe(down) != 0) die("pipe");
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        close(lfd);
        close(up[0]);
        close(down[1]);
        receiver(port, up[1], down[0], expected);
    }
    close(up[1]);
    close(down[0]);
    pin(sender_cpu);

    int *fds = calloc((size_t)n_conns, sizeof(int));
    for (long i = 0; i < n_conns; i++) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) {
                i--;
                continue;
            }
            die("accept");
        }
        set_nonblock(fd);
        int nd = nagle ? 0 : 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nd, sizeof nd);
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        fds[i] = fd;
    }
    char c;
    if (read_all(up[0], &c, 1) != 0) die("receiver failed to connect");
    if (write_all(down[1], "g", 1) != 0) die("pipe");

    size_t *pending = calloc((size_t)n_conns, sizeof(size_t)); /* bytes still owed to a socket */
    long eagain = 0, partial = 0;
    long long syscalls = 0;

    /* Send one round; anything a full buffer refused is owed and sent first next time. */
#define ROUND()                                                                                              \
    for (long i = 0; i < n_conns; i++) {                                                                    \
        size_t want = len + pending[i];                                                                     \
        size_t off = 0;                                                                                     \
        while (off < want) {                                                                                \
            size_t chunk = want - off > len ? len : want - off;                                             \
            ssize_t w = send(fds[i], msg, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);                              \
            syscalls++;                                                                                     \
            if (w < 0) {                                                                                    \
                if (errno == EAGAIN || errno == EWOULDBLOCK) {                                              \
                    eagain++;                                                                               \
                    break;                                                                                  \
                }                                                                                           \
                die("send");                                                                                \
            }                                                                                               \
            if ((size_t)w < chunk) partial++;                                                               \
            off += (size_t)w;                                                                               \
        }                                                                                                   \
        pending[i] = want - off;                                                                            \
    }

    for (long r = 0; r < warmup; r++) { ROUND() }
    eagain = partial = 0;
    syscalls = 0;

    unsigned long long b0, a0, b1, a1;
    core_jiffies(sender_cpu, &b0, &a0);
    double c0 = rusage_s(RUSAGE_SELF), t0 = now_s();
    for (long r = 0; r < rounds; r++) { ROUND() }
    double t1 = now_s(), c1 = rusage_s(RUSAGE_SELF);
    core_jiffies(sender_cpu, &b1, &a1);

    /* Flush anything still owed (not timed), so the receiver can finish. */
    for (;;) {
        long owed = 0;
        for (long i = 0; i < n_conns; i++) {
            while (pending[i]) {
                size_t chunk = pending[i] > len ? len : pending[i];
                ssize_t w = send(fds[i], msg, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (w <= 0) break;
                pending[i] -= (size_t)w;
            }
            owed += pending[i] != 0;
        }
        if (!owed) break;
        usleep(1000);
    }

    struct receiver_report rep;
    if (read_all(up[0], &rep, sizeof rep) != 0) die("receiver report");
    waitpid(child, NULL, 0);

    long sends = rounds * n_conns;
    double wall = t1 - t0, cpu = c1 - c0;
    double core_s = (double)(b1 - b0) / (double)sysconf(_SC_CLK_TCK);
    double us_per_send = cpu * 1e6 / (double)sends;
    double core_us_per_send = core_s * 1e6 / (double)sends;
    double sends_per_s = (double)sends / wall;
    int complete = rep.bytes == expected;

    char lbl[128];
    if (label) snprintf(lbl, sizeof lbl, "%s", label);
    else snprintf(lbl, sizeof lbl, "n=%ld coalesce=%ld", n_conns, coalesce);
    printf("%-28s N=%-6ld rounds=%-5ld sends=%-8ld %6.2f us/send (core %6.2f)  %6.3f us/msg  %9.0f sends/s  "
           "%9.0f msgs/s  eagain=%ld  receiver %.2f us/send%s\n",
           lbl, n_conns, rounds, sends, us_per_send, core_us_per_send, us_per_send / (double)coalesce, sends_per_s,
           sends_per_s * (double)coalesce, eagain, rep.cpu_s * 1e6 / (double)sends, complete ? "" : "  INCOMPLETE");

    if (json_path) {
        FILE *f = fopen(json_path, "w");
        if (!f) die("json");
        fprintf(f,
                "{\"label\":\"%s\",\"connections\":%ld,\"rounds\":%ld,\"size\":%ld,\"coalesce\":%ld,"
                "\"bytes_per_send\":%zu,\"nodelay\":%s,\"sender_cpu\":%d,\"receiver_cpu\":%d,"
                "\"sends\":%ld,\"messages\":%ld,\"wall_seconds\":%.6f,\"sender_cpu_seconds\":%.6f,"
                "\"sender_core_busy_seconds\":%.2f,\"cpu_us_per_send\":%.4f,\"cpu_us_per_message\":%.4f,"
                "\"core_us_per_send\":%.4f,\"sends_per_second\":%.1f,\"messages_per_second\":%.1f,"
                "\"send_syscalls\":%lld,\"eagain\":%ld,\"partial\":%ld,\"receiver_cpu_seconds\":%.6f,"
                "\"receiver_cpu_us_per_send\":%.4f,\"receiver_wakeups\":%ld,\"receiver_recvs\":%ld,"
                "\"bytes_expected\":%llu,\"bytes_received\":%llu,\"complete\":%s}\n",
                lbl, n_conns, rounds, size, coalesce, len, nagle ? "false" : "true", sender_cpu, receiver_cpu, sends,
                sends * coalesce, wall, cpu, core_s, us_per_send, us_per_send / (double)coalesce, core_us_per_send,
                sends_per_s, sends_per_s * (double)coalesce, syscalls, eagain, partial, rep.cpu_s,
                rep.cpu_s * 1e6 / (double)sends, rep.wakeups, rep.recvs, expected, rep.bytes,
                complete ? "true" : "false");
        fclose(f);
    }
    return complete ? 0 : 1;
}
