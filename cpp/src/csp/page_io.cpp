#include "ac_core/csp/page_io.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <stdexcept>

#include "ac_core/core/clock.hpp"
#include "ac_core/core/seqlock.hpp"
#include "ac_core/core/word_copy.hpp"

#ifdef _WIN32
#include <process.h>
#define AC_CORE_CSP_GETPID _getpid
#else
#include <unistd.h>
#define AC_CORE_CSP_GETPID getpid
#endif

namespace ac_core {

namespace {
bool has_packet_id(CspPageKind kind) { return kind == CspPageKind::Car || kind == CspPageKind::CarPublic; }

// Struct sizes are whole words except none; copies go word by word (atomic loads/stores).
constexpr std::size_t words_of(std::size_t bytes) { return (bytes + 3) & ~std::size_t(3); }
static_assert(kCspControlsSize % 4 == 0 && kCspCarSize % 4 == 0 && kCspCarPublicSize % 4 == 0 &&
              kCspSimStateV0Size % 4 == 0 && kCspSimStateV1Size % 4 == 0);
}  // namespace

std::string csp_page_name(CspPageKind kind, int car_index, const std::string& prefix) {
    const CspPageSpec& spec = csp_page_spec(kind);
    std::string name = prefix + kCspNamespace + spec.stem;
    if (spec.per_car) {
        if (car_index < 0)
            throw std::invalid_argument("CSP car index must be >= 0 (0 = the player's car), got " + std::to_string(car_index));
        name += std::to_string(car_index);
    }
    name += kind == CspPageKind::SimStateV1 ? ".v1" : ".v0";
    return name;
}

const CspTrailer* csp_trailer(const uint8_t* data, std::size_t mapped_size) noexcept {
    if (data == nullptr || mapped_size < kCspOwnPageSize) return nullptr;
    const auto* t = reinterpret_cast<const CspTrailer*>(data + kCspTrailerOffset);
    return load_word_acquire(&t->magic) == kCspTrailerMagic ? t : nullptr;
}

CspTrailer* csp_trailer(uint8_t* data, std::size_t mapped_size) noexcept {
    return const_cast<CspTrailer*>(csp_trailer(static_cast<const uint8_t*>(data), mapped_size));
}

std::size_t CspPageReader::min_mapping(CspPageKind kind) noexcept {
    return kind == CspPageKind::CarControls ? kCspControlsSizeV078 : csp_page_spec(kind).size;
}

CspPageReader::CspPageReader(const uint8_t* data, std::size_t mapped_size, CspPageKind kind, uint32_t max_retries)
    : data_(data), mapped_size_(mapped_size), copy_bytes_(0), spec_(csp_page_spec(kind)), max_retries_(max_retries) {
    if (data == nullptr) throw std::invalid_argument("CSP page reader: no memory (the page is closed)");
    if (mapped_size < min_mapping(kind))
        throw std::invalid_argument(std::string("CSP ") + spec_.stem + " mapping has " + std::to_string(mapped_size) +
                                    " bytes, fewer than its " + std::to_string(min_mapping(kind)) +
                                    "-byte struct: it was not created by CSP or a compatible writer");
    // Whole words of the struct that lie inside the mapping (68 and 72 are both multiples of 4).
    copy_bytes_ = std::min(words_of(spec_.size), mapped_size & ~std::size_t(3));
}

bool CspPageReader::seqlocked() const noexcept { return csp_trailer(data_, mapped_size_) != nullptr; }

int32_t CspPageReader::packet_id() const noexcept {
    return has_packet_id(spec_.kind) ? int32_t(load_word_acquire(data_)) : 0;
}

CspReadResult CspPageReader::read(void* dst) noexcept {
    CspReadResult result;
    auto* out = static_cast<uint8_t*>(dst);
    const std::size_t bytes = copy_bytes_;
    if (bytes < spec_.size) std::memset(out + bytes, 0, spec_.size - bytes);
    const CspTrailer* trailer = csp_trailer(data_, mapped_size_);
    for (uint32_t attempt = 0; attempt <= max_retries_; ++attempt) {
        bool consistent;
        if (trailer != nullptr) {
            consistent = seqlock_try_read(&trailer->seq, [&] { copy_words_from_shared(out, data_, bytes); });
        } else if (has_packet_id(spec_.kind)) {
            // CSP's own page: the copy counts when packet_id is the same before, inside and after it.
            const uint32_t p1 = load_word_acquire(data_);
            copy_words_from_shared(out, data_, bytes);
            std::atomic_thread_fence(std::memory_order_acquire);
            uint32_t copied;
            std::memcpy(&copied, out, 4);
            consistent = load_word_relaxed(data_) == p1 && copied == p1;
        } else {
            copy_words_from_shared(out, data_, bytes);
            consistent = true;
        }
        if (consistent) {
            result.ok = true;
            result.retries = attempt;
            if (has_packet_id(spec_.kind)) std::memcpy(&result.packet_id, out, 4);
            return result;
        }
        cpu_relax();
    }
    result.retries = max_retries_ + 1;
    return result;
}

CspPageWriter::CspPageWriter(uint8_t* data, std::size_t mapped_size, CspPageKind kind)
    : data_(data), spec_(csp_page_spec(kind)), trailer_(nullptr) {
    if (data == nullptr || mapped_size < kCspOwnPageSize)
        throw std::invalid_argument(std::string("a seqlocked CSP ") + spec_.stem + " page needs " +
                                    std::to_string(kCspOwnPageSize) + " bytes, this one has " +
                                    std::to_string(mapped_size) + ": create it with kCspOwnPageSize bytes");
    trailer_ = reinterpret_cast<CspTrailer*>(data_ + kCspTrailerOffset);
    store_word_relaxed(&trailer_->version, kCspTrailerVersion);
    store_word_relaxed(&trailer_->writer_pid, uint32_t(AC_CORE_CSP_GETPID()));
    store_word_release(&trailer_->magic, kCspTrailerMagic);
}

void CspPageWriter::publish(const void* src) noexcept {
    seqlock_write(&trailer_->seq, [&] { copy_words_to_shared(data_, src, words_of(spec_.size)); });
}

void CspPageWriter::beat() noexcept {
    store_word_release(&trailer_->heartbeat, load_word_relaxed(&trailer_->heartbeat) + 1);
}

uint32_t CspPageWriter::heartbeat() const noexcept { return load_word_acquire(&trailer_->heartbeat); }

void CspPageWriter::detach() noexcept { store_word_release(&trailer_->magic, 0); }

uint32_t CspPageWriter::sequence() const noexcept { return load_word_acquire(&trailer_->seq); }

}  // namespace ac_core
