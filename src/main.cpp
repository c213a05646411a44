// metrics-gateway command line: serve (default), check, hm-plugin, version.
#include <cstdio>
#include <string_view>

int main(int argc, char** argv) {
    if (argc > 1 && std::string_view(argv[1]) == "version") {
        std::puts("metrics-gateway 0.1.0");
        return 0;
    }
    std::fputs("usage: metrics-gateway [serve|check|version] ...\n", stderr);
    return 2;
}
