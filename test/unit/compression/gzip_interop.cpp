// gzip interoperability with other implementations: /usr/bin/gzip (GNU gzip, zlib-style
// deflate, FNAME header) and Debian python3's gzip module, in both directions, via temp files.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <mgw/compression/gzip.hpp>

namespace {

using mgw::compression::gzip_compress;
using mgw::compression::gzip_decompress;
using mgw::compression::gzip_status;

namespace fs = std::filesystem;

class temp_dir {
  public:
    temp_dir() {
        std::string pattern = (fs::temp_directory_path() / "mgw-gzip-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    fs::path operator/(const std::string& name) const { return path_ / name; }

  private:
    fs::path path_;
};

void write_file(const fs::path& path, std::string_view data) {
    std::ofstream out(path, std::ios::binary);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    REQUIRE(out.good());
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    return std::string(std::istreambuf_iterator<char>(in), {});
}

int run(const std::string& command) {
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string corpus_text() {
    return read_file(fs::path(MGW_CORPUS_DIR) / "prometheus-textparse/alltypes.237mfs.prom.txt");
}

std::string random_bytes(std::size_t size) {
    std::mt19937 rng(99);
    std::string out(size, '\0');
    for (char& c : out) {
        c = static_cast<char>(rng() & 0xff);
    }
    return out;
}

}  // namespace

TEST_CASE("gzip: bytes from /usr/bin/gzip decode with our decoder") {
    temp_dir dir;
    const std::string inputs[] = {corpus_text(), random_bytes(300'000), std::string()};
    for (const std::string& input : inputs) {
        for (const char* level : {"-1", "-6", "-9"}) {
            CAPTURE(input.size(), level);
            write_file(dir / "body.txt", input);
            // Without -n, gzip stores the file name (FNAME) and mtime in the header.
            REQUIRE(run("/usr/bin/gzip -f " + std::string(level) + " " +
                        (dir / "body.txt").string()) == 0);
            std::string out;
            CHECK(gzip_decompress(read_file(dir / "body.txt.gz"), input.size(), out) ==
                  gzip_status::done);
            CHECK(out == input);
        }
    }
}

TEST_CASE("gzip: our bytes decode with /usr/bin/gzip") {
    temp_dir dir;
    for (const std::string& input : {corpus_text(), random_bytes(300'000), std::string("x")}) {
        CAPTURE(input.size());
        write_file(dir / "ours.gz", gzip_compress(input));
        // -t checks CRC and length; -dc writes the data.
        REQUIRE(run("/usr/bin/gzip -t " + (dir / "ours.gz").string()) == 0);
        REQUIRE(run("/usr/bin/gzip -dc " + (dir / "ours.gz").string() + " > " +
                    (dir / "back.txt").string()) == 0);
        CHECK(read_file(dir / "back.txt") == input);
    }
}

TEST_CASE("gzip: python3's gzip module and ours agree in both directions") {
    temp_dir dir;
    const std::string input = corpus_text() + random_bytes(70'000);
    write_file(dir / "plain", input);
    write_file(dir / "ours.gz", gzip_compress(input));
    const std::string script =
        "import gzip,sys\n"
        "d=sys.argv[1]\n"
        "open(d+'/theirs.gz','wb').write(gzip.compress(open(d+'/plain','rb').read(),"
        "compresslevel=1,mtime=0))\n"
        "open(d+'/from_ours','wb').write(gzip.decompress(open(d+'/ours.gz','rb').read()))\n";
    write_file(dir / "interop.py", script);
    REQUIRE(run("/usr/bin/python3 " + (dir / "interop.py").string() + " " + (dir / "").string()) ==
            0);
    CHECK(read_file(dir / "from_ours") == input);
    std::string out;
    CHECK(gzip_decompress(read_file(dir / "theirs.gz"), input.size(), out) == gzip_status::done);
    CHECK(out == input);
}

TEST_CASE("gzip: a corrupted /usr/bin/gzip file is rejected") {
    temp_dir dir;
    const std::string input = corpus_text();
    write_file(dir / "body.txt", input);
    REQUIRE(run("/usr/bin/gzip -f -6 " + (dir / "body.txt").string()) == 0);
    std::string gz = read_file(dir / "body.txt.gz");
    gz[gz.size() - 6] ^= 0x40;  // inside the CRC32
    std::string out;
    CHECK(gzip_decompress(gz, input.size(), out) == gzip_status::corrupt);
}
