// gzip throughput on a realistic exposition: Prometheus' alltypes.237mfs fixture repeated x40
// (7.6 MB). ISA-L (ours) against zlib at levels 1 and 6 for reference.
//
// zlib is loaded with dlopen (libz.so.1) so the comparison needs no extra link dependency; the
// zlib cases are skipped when the library is absent. Bytes/s counters are uncompressed bytes.
#include <dlfcn.h>
#include <fstream>
#include <iterator>
#include <string>
#include <zlib.h>

#include <benchmark/benchmark.h>

#include <mgw/compression/gzip.hpp>

namespace {

const std::string& exposition() {
    static const std::string body = [] {
        std::ifstream in(MGW_CORPUS_DIR "/prometheus-textparse/alltypes.237mfs.prom.txt",
                         std::ios::binary);
        const std::string one(std::istreambuf_iterator<char>(in), {});
        std::string all;
        all.reserve(one.size() * 40);
        for (int i = 0; i < 40; ++i) {
            all += one;
        }
        return all;
    }();
    return body;
}

// The few zlib entry points the benchmark needs, resolved at run time.
struct zlib_api {
    void* handle = nullptr;
    int (*deflate_init2)(z_streamp, int, int, int, int, int, const char*, int) = nullptr;
    int (*deflate)(z_streamp, int) = nullptr;
    int (*deflate_end)(z_streamp) = nullptr;
    uLong (*deflate_bound)(z_streamp, uLong) = nullptr;
    int (*inflate_init2)(z_streamp, int, const char*, int) = nullptr;
    int (*inflate)(z_streamp, int) = nullptr;
    int (*inflate_end)(z_streamp) = nullptr;

    static const zlib_api& get() {
        static const zlib_api api = [] {
            zlib_api a;
            a.handle = ::dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
            if (a.handle == nullptr) {
                return a;
            }
            a.deflate_init2 =
                reinterpret_cast<decltype(a.deflate_init2)>(::dlsym(a.handle, "deflateInit2_"));
            a.deflate = reinterpret_cast<decltype(a.deflate)>(::dlsym(a.handle, "deflate"));
            a.deflate_end =
                reinterpret_cast<decltype(a.deflate_end)>(::dlsym(a.handle, "deflateEnd"));
            a.deflate_bound =
                reinterpret_cast<decltype(a.deflate_bound)>(::dlsym(a.handle, "deflateBound"));
            a.inflate_init2 =
                reinterpret_cast<decltype(a.inflate_init2)>(::dlsym(a.handle, "inflateInit2_"));
            a.inflate = reinterpret_cast<decltype(a.inflate)>(::dlsym(a.handle, "inflate"));
            a.inflate_end =
                reinterpret_cast<decltype(a.inflate_end)>(::dlsym(a.handle, "inflateEnd"));
            return a;
        }();
        return api;
    }
    bool usable() const {
        return deflate_init2 && deflate && deflate_end && deflate_bound && inflate_init2 &&
               inflate && inflate_end;
    }

    // windowBits 15 + 16: gzip wrapper, like the ISA-L side.
    std::string compress(std::string_view input, int level) const {
        z_stream z{};
        deflate_init2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                      static_cast<int>(sizeof(z_stream)));
        std::string out(deflate_bound(&z, input.size()), '\0');
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
        z.avail_in = static_cast<uInt>(input.size());
        z.next_out = reinterpret_cast<Bytef*>(out.data());
        z.avail_out = static_cast<uInt>(out.size());
        deflate(&z, Z_FINISH);
        out.resize(z.total_out);
        deflate_end(&z);
        return out;
    }
    bool decompress(std::string_view input, std::string& out) const {
        z_stream z{};
        inflate_init2(&z, 15 + 16, ZLIB_VERSION, static_cast<int>(sizeof(z_stream)));
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
        z.avail_in = static_cast<uInt>(input.size());
        z.next_out = reinterpret_cast<Bytef*>(out.data());
        z.avail_out = static_cast<uInt>(out.size());
        const int rc = inflate(&z, Z_FINISH);
        inflate_end(&z);
        return rc == Z_STREAM_END;
    }
};

void set_counters(benchmark::State& state, std::size_t raw, std::size_t compressed) {
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * raw));
    state.counters["ratio"] = static_cast<double>(raw) / static_cast<double>(compressed);
}

void bm_isal_compress(benchmark::State& state) {
    const std::string& body = exposition();
    std::string gz;
    for (auto _ : state) {
        gz = mgw::compression::gzip_compress(body);
        benchmark::DoNotOptimize(gz.data());
    }
    set_counters(state, body.size(), gz.size());
}

// As the HTTP server uses it: the body arrives in 64 KB pieces.
void bm_isal_compress_streamed(benchmark::State& state) {
    const std::string& body = exposition();
    std::string gz;
    for (auto _ : state) {
        gz.clear();
        mgw::compression::gzip_encoder encoder;
        for (std::size_t pos = 0; pos < body.size(); pos += 65536) {
            encoder.write(std::string_view(body).substr(pos, 65536), gz);
        }
        encoder.finish(gz);
        benchmark::DoNotOptimize(gz.data());
    }
    set_counters(state, body.size(), gz.size());
}

void bm_isal_decompress(benchmark::State& state) {
    const std::string& body = exposition();
    const std::string gz = mgw::compression::gzip_compress(body);
    std::string out;
    for (auto _ : state) {
        out.clear();
        if (mgw::compression::gzip_decompress(gz, body.size(), out) !=
            mgw::compression::gzip_status::done) {
            state.SkipWithError("decode failed");
            break;
        }
        benchmark::DoNotOptimize(out.data());
    }
    set_counters(state, body.size(), gz.size());
}

void bm_zlib_compress(benchmark::State& state) {
    const zlib_api& z = zlib_api::get();
    if (!z.usable()) {
        state.SkipWithError("libz.so.1 not available");
        return;
    }
    const std::string& body = exposition();
    const int level = static_cast<int>(state.range(0));
    std::string gz;
    for (auto _ : state) {
        gz = z.compress(body, level);
        benchmark::DoNotOptimize(gz.data());
    }
    set_counters(state, body.size(), gz.size());
}

void bm_zlib_decompress(benchmark::State& state) {
    const zlib_api& z = zlib_api::get();
    if (!z.usable()) {
        state.SkipWithError("libz.so.1 not available");
        return;
    }
    const std::string& body = exposition();
    const std::string gz = z.compress(body, 1);
    std::string out(body.size(), '\0');
    for (auto _ : state) {
        if (!z.decompress(gz, out)) {
            state.SkipWithError("decode failed");
            break;
        }
        benchmark::DoNotOptimize(out.data());
    }
    set_counters(state, body.size(), gz.size());
}

}  // namespace

BENCHMARK(bm_isal_compress)->Unit(benchmark::kMillisecond);
BENCHMARK(bm_isal_compress_streamed)->Unit(benchmark::kMillisecond);
BENCHMARK(bm_isal_decompress)->Unit(benchmark::kMillisecond);
BENCHMARK(bm_zlib_compress)->Arg(1)->Arg(6)->Unit(benchmark::kMillisecond);
BENCHMARK(bm_zlib_decompress)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
