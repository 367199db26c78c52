// DEFLATE (RFC 1951) and gzip (RFC 1952) decoding: canonical Huffman tables decoded bit by bit per code
// length (the classic "puff" scheme), every read and copy checked.
#include "core/inflate.h"

#include <array>
#include <string>

#include "core/error.h"
#include "core/hash.h"

namespace sf {
namespace {

constexpr int kMaxBits = 15;

[[noreturn]] void corrupt(const char* what) {
    throw Error(std::string("inflate: corrupt data: ") + what);
}

struct BitReader {
    std::span<const uint8_t> in;
    size_t pos = 0;
    uint32_t bitbuf = 0;
    int bitcnt = 0;

    uint32_t bits(int need) {
        uint32_t val = bitbuf;
        while (bitcnt < need) {
            if (pos >= in.size()) {
                corrupt("unexpected end of stream");
            }
            val |= static_cast<uint32_t>(in[pos++]) << bitcnt;
            bitcnt += 8;
        }
        bitbuf = static_cast<uint32_t>(static_cast<uint64_t>(val) >> need);
        bitcnt -= need;
        return val & ((1u << need) - 1u);
    }
    void align() {
        bitbuf = 0;
        bitcnt = 0;
    }
};

struct Huffman {
    std::array<uint16_t, kMaxBits + 1> count{};
    std::array<uint16_t, 288> symbol{};
};

// Builds a canonical table; returns false for an over-subscribed set. Incomplete sets are allowed only when
// they have a single code (as RFC 1951 permits for distance codes).
bool build(Huffman& h, const uint8_t* lengths, int n) {
    h.count.fill(0);
    for (int s = 0; s < n; ++s) {
        h.count[lengths[s]]++;
    }
    if (h.count[0] == n) {
        return true;
    }
    int left = 1;
    for (int len = 1; len <= kMaxBits; ++len) {
        left <<= 1;
        left -= h.count[len];
        if (left < 0) {
            return false;
        }
    }
    std::array<uint16_t, kMaxBits + 1> offs{};
    for (int len = 1; len < kMaxBits; ++len) {
        offs[len + 1] = static_cast<uint16_t>(offs[len] + h.count[len]);
    }
    for (int s = 0; s < n; ++s) {
        if (lengths[s] != 0) {
            h.symbol[offs[lengths[s]]++] = static_cast<uint16_t>(s);
        }
    }
    return true;
}

int decode(BitReader& br, const Huffman& h) {
    int code = 0, first = 0, index = 0;
    for (int len = 1; len <= kMaxBits; ++len) {
        code |= static_cast<int>(br.bits(1));
        int count = h.count[len];
        if (code - count < first) {
            return h.symbol[index + (code - first)];
        }
        index += count;
        first += count;
        first <<= 1;
        code <<= 1;
    }
    corrupt("invalid Huffman code");
}

constexpr std::array<uint16_t, 29> kLenBase = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                               15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                               67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr std::array<uint8_t, 29> kLenExtra = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                               2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr std::array<uint16_t, 30> kDistBase = {
    1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
constexpr std::array<uint8_t, 30> kDistExtra = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                                6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

void codes(BitReader& br, std::string& out, const Huffman& lencode, const Huffman& distcode,
           size_t max_output) {
    for (;;) {
        int sym = decode(br, lencode);
        if (sym < 256) {
            if (out.size() >= max_output) {
                corrupt("output larger than allowed");
            }
            out.push_back(static_cast<char>(sym));
        } else if (sym == 256) {
            return;
        } else {
            sym -= 257;
            if (sym >= 29) {
                corrupt("invalid length symbol");
            }
            size_t len = kLenBase[sym] + br.bits(kLenExtra[sym]);
            int dsym = decode(br, distcode);
            if (dsym >= 30) {
                corrupt("invalid distance symbol");
            }
            size_t dist = kDistBase[dsym] + br.bits(kDistExtra[dsym]);
            if (dist > out.size()) {
                corrupt("distance too far back");
            }
            if (out.size() + len > max_output) {
                corrupt("output larger than allowed");
            }
            size_t from = out.size() - dist;
            for (size_t k = 0; k < len; ++k) {
                out.push_back(out[from + k]);
            }
        }
    }
}

void fixed_block(BitReader& br, std::string& out, size_t max_output) {
    static const auto tables = [] {
        std::array<uint8_t, 320> lengths{};
        for (int s = 0; s < 288 + 30; ++s) {
            lengths[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : s < 288 ? 8 : 5;
        }
        std::pair<Huffman, Huffman> t;
        build(t.first, lengths.data(), 288);
        build(t.second, lengths.data() + 288, 30);
        return t;
    }();
    codes(br, out, tables.first, tables.second, max_output);
}

void dynamic_block(BitReader& br, std::string& out, size_t max_output) {
    static constexpr std::array<uint8_t, 19> kOrder = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                                       11, 4,  12, 3, 13, 2, 14, 1, 15};
    int nlen = static_cast<int>(br.bits(5)) + 257;
    int ndist = static_cast<int>(br.bits(5)) + 1;
    int ncode = static_cast<int>(br.bits(4)) + 4;
    if (nlen > 286 || ndist > 30) {
        corrupt("bad code counts");
    }
    std::array<uint8_t, 320> lengths{};
    for (int i = 0; i < ncode; ++i) {
        lengths[kOrder[i]] = static_cast<uint8_t>(br.bits(3));
    }
    Huffman lencode, distcode;
    if (!build(lencode, lengths.data(), 19)) {
        corrupt("bad code-length code");
    }
    int index = 0;
    while (index < nlen + ndist) {
        int sym = decode(br, lencode);
        if (sym < 16) {
            lengths[index++] = static_cast<uint8_t>(sym);
            continue;
        }
        uint8_t len = 0;
        int repeat = 0;
        if (sym == 16) {
            if (index == 0) {
                corrupt("repeat with no previous length");
            }
            len = lengths[index - 1];
            repeat = 3 + static_cast<int>(br.bits(2));
        } else if (sym == 17) {
            repeat = 3 + static_cast<int>(br.bits(3));
        } else {
            repeat = 11 + static_cast<int>(br.bits(7));
        }
        if (index + repeat > nlen + ndist) {
            corrupt("too many lengths");
        }
        while (repeat-- > 0) {
            lengths[index++] = len;
        }
    }
    if (lengths[256] == 0) {
        corrupt("no end-of-block code");
    }
    if (!build(lencode, lengths.data(), nlen) || !build(distcode, lengths.data() + nlen, ndist)) {
        corrupt("over-subscribed Huffman lengths");
    }
    codes(br, out, lencode, distcode, max_output);
}

void stored_block(BitReader& br, std::string& out, size_t max_output) {
    br.align();
    if (br.pos + 4 > br.in.size()) {
        corrupt("truncated stored block");
    }
    size_t len = br.in[br.pos] | (br.in[br.pos + 1] << 8);
    size_t nlen = br.in[br.pos + 2] | (br.in[br.pos + 3] << 8);
    br.pos += 4;
    if (len != (~nlen & 0xFFFF)) {
        corrupt("stored block length check");
    }
    if (br.pos + len > br.in.size()) {
        corrupt("truncated stored block");
    }
    if (out.size() + len > max_output) {
        corrupt("output larger than allowed");
    }
    out.append(reinterpret_cast<const char*>(br.in.data() + br.pos), len);
    br.pos += len;
}

// Inflates one stream starting at data[0]; returns the number of input bytes consumed.
size_t inflate_stream(std::span<const uint8_t> data, std::string& out, size_t max_output) {
    BitReader br{data};
    int last = 0;
    do {
        last = static_cast<int>(br.bits(1));
        int type = static_cast<int>(br.bits(2));
        if (type == 0) {
            stored_block(br, out, max_output);
        } else if (type == 1) {
            fixed_block(br, out, max_output);
        } else if (type == 2) {
            dynamic_block(br, out, max_output);
        } else {
            corrupt("invalid block type");
        }
    } while (!last);
    return br.pos;
}

}  // namespace

std::string inflate_raw(std::span<const uint8_t> data, size_t max_output) {
    std::string out;
    inflate_stream(data, out, max_output);
    return out;
}

std::string gunzip(std::span<const uint8_t> data, size_t max_output) {
    std::string out;
    size_t pos = 0;
    do {
        auto need = [&](size_t n) {
            if (pos + n > data.size()) {
                throw Error("gzip: truncated header");
            }
        };
        need(10);
        if (data[pos] != 0x1F || data[pos + 1] != 0x8B) {
            throw Error("gzip: not a gzip file (bad magic)");
        }
        if (data[pos + 2] != 8) {
            throw Error("gzip: unknown compression method");
        }
        uint8_t flags = data[pos + 3];
        if (flags & 0xE0) {
            throw Error("gzip: reserved header flags set");
        }
        pos += 10;
        if (flags & 0x04) {  // FEXTRA
            need(2);
            size_t xlen = data[pos] | (data[pos + 1] << 8);
            pos += 2;
            need(xlen);
            pos += xlen;
        }
        for (uint8_t bit : {uint8_t{0x08}, uint8_t{0x10}}) {  // FNAME, FCOMMENT: zero-terminated
            if (flags & bit) {
                do {
                    need(1);
                } while (data[pos++] != 0);
            }
        }
        if (flags & 0x02) {  // FHCRC
            need(2);
            pos += 2;
        }
        size_t start = out.size();
        pos += inflate_stream(data.subspan(pos), out, max_output);
        need(8);
        uint32_t crc = data[pos] | (data[pos + 1] << 8) | (data[pos + 2] << 16) |
                       (static_cast<uint32_t>(data[pos + 3]) << 24);
        uint32_t isize = data[pos + 4] | (data[pos + 5] << 8) | (data[pos + 6] << 16) |
                         (static_cast<uint32_t>(data[pos + 7]) << 24);
        pos += 8;
        std::string_view member(out.data() + start, out.size() - start);
        if (crc32(member) != crc) {
            throw Error("gzip: CRC-32 mismatch");
        }
        if (static_cast<uint32_t>(member.size()) != isize) {
            throw Error("gzip: size mismatch");
        }
        while (pos < data.size() && data[pos] == 0) {  // trailing zero padding
            ++pos;
        }
    } while (pos < data.size());
    return out;
}

}  // namespace sf
