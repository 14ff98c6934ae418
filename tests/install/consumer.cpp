// SPDX-License-Identifier: MIT
// A C++17 consumer: golf's public headers compile as C++ (-Wall -Wextra -pedantic -Werror, g++
// and clang++) and link from C++ (extern "C").
#include <golf/golf.h>

#include <cstdio>
#include <thread>

int
main()
{
    golf_mutex mu{};
    golf_mutex_lock(&mu);
    golf_mutex_unlock(&mu);

    golf_chan *ch = golf_chan_new(sizeof(int), 0);
    if (ch == nullptr)
        return 1;
    std::thread sender([ch] {
        int v = 42;
        golf_chan_send(ch, &v);
    });
    int got = 0;
    int rc = golf_chan_recv(ch, &got);
    sender.join();
    golf_chan_free(ch);
    if (rc != GOLF_OK || got != 42)
        return 1;

    golf_case cases[1] = {{nullptr, GOLF_RECV, nullptr, 0}};
    if (golf_select_try(cases, 1) != GOLF_EAGAIN)
        return 1;

    golf_map *m = golf_map_new();
    void *val = nullptr;
    if (m == nullptr || golf_map_store(m, "k", 1, &got) != GOLF_OK ||
        !golf_map_load(m, "k", 1, &val) || val != &got)
        return 1;
    golf_map_free(m);

    std::printf("consumer (C++%ld): golf %s works (%s)\n", __cplusplus / 100 % 100,
                GOLF_VERSION_STRING, golf_errname(GOLF_ETIMEDOUT));
    return 0;
}
