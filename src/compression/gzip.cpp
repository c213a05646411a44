// gzip encoder and bounded decoder over ISA-L igzip (see mgw/compression/gzip.hpp).
// Both keep their igzip state on the heap: inflate_state alone is ~90 KB.
#include <algorithm>
#include <cstdint>
#include <vector>

#include <isa-l/igzip_lib.h>

#include <mgw/compression/gzip.hpp>

namespace mgw::compression {

namespace {

// igzip counts bytes in uint32_t; feed larger inputs in slices well below that.
constexpr std::size_t max_slice = std::size_t{1} << 30;
constexpr std::size_t min_output_room = 16 * 1024;

std::uint8_t* as_bytes(char* p) {
    return reinterpret_cast<std::uint8_t*>(p);
}
const std::uint8_t* as_bytes(const char* p) {
    return reinterpret_cast<const std::uint8_t*>(p);
}

// Runs isal_deflate until it has consumed all pending input and, when `until_end`, until it has
// written the trailer. Output grows in `output` directly so nothing is copied twice.
void run_deflate(isal_zstream& stream, std::string& output, std::size_t room_hint, bool until_end) {
    for (;;) {
        const std::size_t room = std::max(room_hint, min_output_room);
        const std::size_t old_size = output.size();
        output.resize(old_size + room);
        stream.next_out = as_bytes(output.data() + old_size);
        stream.avail_out = static_cast<std::uint32_t>(room);
        // Only fails on invalid level/flush/level_buf, all fixed by the constructor.
        isal_deflate(&stream);
        output.resize(old_size + room - stream.avail_out);
        const bool input_done = stream.avail_in == 0 && stream.avail_out != 0;
        if (until_end ? stream.internal_state.state == ZSTATE_END : input_done) {
            return;
        }
    }
}

}  // namespace

struct gzip_encoder::state {
    isal_zstream stream{};
    std::vector<std::uint8_t> level_buf = std::vector<std::uint8_t>(ISAL_DEF_LVL1_DEFAULT);
    bool finished = false;

    state() {
        isal_deflate_init(&stream);
        stream.level = 1;
        stream.level_buf = level_buf.data();
        stream.level_buf_size = static_cast<std::uint32_t>(level_buf.size());
        stream.gzip_flag = IGZIP_GZIP;
        stream.flush = NO_FLUSH;
        stream.end_of_stream = 0;
    }
};

gzip_encoder::gzip_encoder() : state_(std::make_unique<state>()) {}
gzip_encoder::~gzip_encoder() = default;
gzip_encoder::gzip_encoder(gzip_encoder&&) noexcept = default;
gzip_encoder& gzip_encoder::operator=(gzip_encoder&&) noexcept = default;

void gzip_encoder::write(std::string_view input, std::string& output) {
    if (state_->finished) {
        return;
    }
    while (!input.empty()) {
        const std::size_t slice = std::min(input.size(), max_slice);
        state_->stream.next_in = const_cast<std::uint8_t*>(as_bytes(input.data()));
        state_->stream.avail_in = static_cast<std::uint32_t>(slice);
        // Text expositions compress ~7x at level 1; a quarter of the input is enough room
        // for most calls without a second round.
        run_deflate(state_->stream, output, slice / 4, false);
        input.remove_prefix(slice);
    }
}

void gzip_encoder::finish(std::string& output) {
    if (state_->finished) {
        return;
    }
    state_->stream.next_in = nullptr;
    state_->stream.avail_in = 0;
    state_->stream.end_of_stream = 1;
    run_deflate(state_->stream, output, min_output_room, true);
    state_->finished = true;
}

struct gzip_decoder::state {
    inflate_state inflate{};
    std::size_t max_output;
    std::size_t decoded = 0;
    gzip_status terminal = gzip_status::ok;  // ok while the member is still open

    explicit state(std::size_t limit) : max_output(limit) {
        isal_inflate_init(&inflate);
        inflate.crc_flag = ISAL_GZIP;
    }
};

gzip_decoder::gzip_decoder(std::size_t max_output) : state_(std::make_unique<state>(max_output)) {}
gzip_decoder::~gzip_decoder() = default;
gzip_decoder::gzip_decoder(gzip_decoder&&) noexcept = default;
gzip_decoder& gzip_decoder::operator=(gzip_decoder&&) noexcept = default;

std::size_t gzip_decoder::decoded_bytes() const {
    return state_->decoded;
}

gzip_status gzip_decoder::write(std::string_view input, std::string& output) {
    state& s = *state_;
    if (s.terminal != gzip_status::ok) {
        return s.terminal;
    }
    for (;;) {
        const std::size_t slice = std::min(input.size(), max_slice);
        s.inflate.next_in = const_cast<std::uint8_t*>(as_bytes(input.data()));
        s.inflate.avail_in = static_cast<std::uint32_t>(slice);
        for (;;) {
            // One byte more than the limit allows tells "exactly at the limit" (fine) apart
            // from "would exceed it" without ever holding more than max_output + 1 bytes.
            const std::size_t remaining = s.max_output - s.decoded;
            // Use spare capacity first; growing by the input's likely expansion keeps the
            // zero-fill of resize() proportional to what this call decodes.
            const std::size_t spare = output.capacity() - output.size();
            const std::size_t wanted =
                std::min(max_slice, std::max({min_output_room, spare, std::size_t{8} * slice}));
            const std::size_t room = remaining < wanted ? remaining + 1 : wanted;
            const std::size_t old_size = output.size();
            output.resize(old_size + room);
            s.inflate.next_out = as_bytes(output.data() + old_size);
            s.inflate.avail_out = static_cast<std::uint32_t>(room);
            const int rc = isal_inflate(&s.inflate);
            const std::size_t produced = room - s.inflate.avail_out;
            output.resize(old_size + produced);
            s.decoded += produced;
            if (rc < 0) {
                return s.terminal = gzip_status::corrupt;
            }
            if (s.decoded > s.max_output) {
                // Keep the promise of never handing out more than max_output bytes.
                output.resize(output.size() - (s.decoded - s.max_output));
                s.decoded = s.max_output;
                return s.terminal = gzip_status::too_large;
            }
            if (s.inflate.block_state == ISAL_BLOCK_FINISH) {
                return s.terminal = gzip_status::done;
            }
            if (s.inflate.avail_in == 0 && s.inflate.avail_out != 0) {
                break;  // everything decodable from this slice is out
            }
        }
        input.remove_prefix(slice);
        if (input.empty()) {
            break;
        }
    }
    return gzip_status::ok;
}

gzip_status gzip_decoder::write_within_capacity(std::string_view& input, std::string& output) {
    state& s = *state_;
    if (s.terminal != gzip_status::ok) {
        return s.terminal;
    }
    for (;;) {
        const std::size_t spare = output.capacity() - output.size();
        if (spare == 0) {
            return gzip_status::output_full;
        }
        const std::size_t slice = std::min(input.size(), max_slice);
        s.inflate.next_in = const_cast<std::uint8_t*>(as_bytes(input.data()));
        s.inflate.avail_in = static_cast<std::uint32_t>(slice);
        // One byte more than the limit allows tells "exactly at the limit" apart from "would
        // exceed it", as in write().
        const std::size_t remaining = s.max_output - s.decoded;
        const std::size_t room = std::min({spare, remaining + 1, max_slice});
        const std::size_t old_size = output.size();
        output.resize(old_size + room);  // within capacity: never reallocates
        s.inflate.next_out = as_bytes(output.data() + old_size);
        s.inflate.avail_out = static_cast<std::uint32_t>(room);
        const int rc = isal_inflate(&s.inflate);
        const std::size_t produced = room - s.inflate.avail_out;
        output.resize(old_size + produced);
        input.remove_prefix(slice - s.inflate.avail_in);
        s.decoded += produced;
        if (rc < 0) {
            return s.terminal = gzip_status::corrupt;
        }
        if (s.decoded > s.max_output) {
            output.resize(output.size() - (s.decoded - s.max_output));
            s.decoded = s.max_output;
            return s.terminal = gzip_status::too_large;
        }
        if (s.inflate.block_state == ISAL_BLOCK_FINISH) {
            return s.terminal = gzip_status::done;
        }
        if (s.inflate.avail_out != 0 && input.empty()) {
            return gzip_status::ok;  // everything decodable from the input is out
        }
    }
}

std::string gzip_compress(std::string_view input) {
    gzip_encoder encoder;
    std::string output;
    output.reserve(input.size() / 4 + 64);
    encoder.write(input, output);
    encoder.finish(output);
    return output;
}

gzip_status gzip_decompress(std::string_view input, std::size_t max_output, std::string& output) {
    gzip_decoder decoder(max_output);
    const gzip_status status = decoder.write(input, output);
    // A complete input that leaves the member open was truncated.
    return status == gzip_status::ok ? gzip_status::corrupt : status;
}

}  // namespace mgw::compression
