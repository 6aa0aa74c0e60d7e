/*
 * tcp_client: the baseline of the throughput figures: the throughput mode of bench/README.md
 * over plain TCP (no WebSocket) against `wsc-bench-echo-server --raw 1`. Blocks of `size`
 * bytes, at most `window` blocks sent and not yet echoed, one thread, epoll-free poll(2) loop,
 * TCP_NODELAY. Prints the same JSON line with "client":"tcp".
 *
 *   tcp_client --url ws://127.0.0.1:PORT/ --mode throughput|text [--size N] [--window N]
 *              [--total N]
 */
#define _POSIX_C_SOURCE 200809L

#include "bench_common.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *url = "ws://127.0.0.1:9001/", *mode = NULL;
    uint64_t size = 1048576, window = 8, total = 1073741824ULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        uint64_t *num = NULL;
        if (strcmp(argv[i], "--url") == 0) {
            url = argv[i + 1];
        } else if (strcmp(argv[i], "--mode") == 0) {
            mode = argv[i + 1];
        } else if (strcmp(argv[i], "--size") == 0) {
            num = &size;
        } else if (strcmp(argv[i], "--window") == 0) {
            num = &window;
        } else if (strcmp(argv[i], "--total") == 0) {
            num = &total;
        } else {
            fprintf(stderr, "tcp_client: unknown option %s\n", argv[i]);
            return 2;
        }
        if (num) {
            *num = strtoull(argv[i + 1], NULL, 10);
        }
    }
    if (argc % 2 != 1 || !mode || (strcmp(mode, "throughput") != 0 && strcmp(mode, "text") != 0) ||
        size == 0 || window == 0 || total < size) {
        fprintf(stderr, "usage: tcp_client --url ws://HOST:PORT/ --mode throughput|text "
                        "[--size N] [--window N] [--total N]\n");
        return 2;
    }
    char host[256] = "127.0.0.1", port[16] = "9001";
    if (sscanf(url, "ws://%255[^:/]:%15[0-9]", host, port) < 1) {
        fprintf(stderr, "tcp_client: bad url %s\n", url);
        return 2;
    }
    const char *error = NULL;
    uint64_t msgs = total / size, sent_bytes = 0, recv_bytes = 0, goal = msgs * size;
    double t0 = 0, t1 = 0;
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_socktype = SOCK_STREAM;
    int fd = -1;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai) {
        error = "cannot resolve host";
    } else if ((fd = socket(ai->ai_family, SOCK_STREAM, 0)) < 0 ||
               connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        error = "cannot connect";
    }
    if (ai) {
        freeaddrinfo(ai);
    }
    uint8_t *out = make_payload(size, false), *in = malloc(262144);
    if (!error && (!out || !in)) {
        error = "out of memory";
    }
    if (!error) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        t0 = now_s();
        while (recv_bytes < goal) {
            /* A block may go out while fewer than `window` blocks are unanswered. */
            bool can_send = sent_bytes < goal && sent_bytes - recv_bytes < window * size;
            struct pollfd p = {fd, (short)(POLLIN | (can_send ? POLLOUT : 0)), 0};
            if (poll(&p, 1, 10000) <= 0) {
                error = "timeout";
                break;
            }
            if (p.revents & POLLIN) {
                ssize_t n = recv(fd, in, 262144, MSG_DONTWAIT);
                if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
                    error = "connection lost";
                    break;
                }
                if (n > 0) {
                    recv_bytes += (uint64_t)n;
                }
            }
            if (can_send && (p.revents & POLLOUT)) {
                uint64_t off = sent_bytes % size;
                ssize_t n = send(fd, out + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0 && errno != EAGAIN) {
                    error = "send failed";
                    break;
                }
                if (n > 0) {
                    sent_bytes += (uint64_t)n;
                }
            }
        }
        t1 = now_s();
    }
    if (fd >= 0) {
        close(fd);
    }
    double wall = error ? 0 : t1 - t0;
    printf("{\"client\":\"tcp\",\"mode\":\"%s\",\"url\":\"%s\",\"ok\":%s", mode, url,
           error ? "false" : "true");
    if (error) {
        printf(",\"error\":\"%s\"", error);
    }
    printf(",\"size\":%" PRIu64, size);
    json_throughput(stdout, window, total, wall, error ? 0 : msgs, error ? 0 : recv_bytes);
    json_rusage_end(stdout);
    free(out);
    free(in);
    return error ? 1 : 0;
}
