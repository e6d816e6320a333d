#include "ac_core/core/snapshot.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>

#include "ac_core/core/seqlock.hpp"
#include "ac_core/core/word_copy.hpp"

#ifdef _WIN32
#include <process.h>
#define AC_CORE_GETPID _getpid
#else
#include <unistd.h>
#define AC_CORE_GETPID getpid
#endif

namespace ac_core {

namespace {
// The trailer of a mapping of at least kBridgePageSize bytes (callers check the size first).
const PageTrailer* trailer_of(const uint8_t* data) noexcept {
    return reinterpret_cast<const PageTrailer*>(data + kTrailerOffset);
}
}  // namespace

PageReader::PageReader(const uint8_t* data, std::size_t mapped_size, PageKind kind, uint32_t max_retries)
    : data_(data), mapped_size_(mapped_size), available_(std::min(mapped_size, page_spec(kind).size) & ~std::size_t(3)),
      spec_(page_spec(kind)), max_retries_(max_retries) {
    detect_protocol();
}

void PageReader::detect_protocol() noexcept {
    if (mapped_size_ >= kBridgePageSize &&
        load_word_acquire(&trailer_of(data_)->magic) == kTrailerMagic) {
        protocol_ = SnapshotProtocol::Seqlock;
    } else if (spec_.kind == PageKind::Static) {
        protocol_ = SnapshotProtocol::StableCopy;  // the static page has no packetId
    } else {
        protocol_ = SnapshotProtocol::PacketId;
    }
}

SnapshotResult PageReader::read(void* dst) noexcept {
    SnapshotResult result;
    auto* out = static_cast<uint8_t*>(dst);
    if (available_ < spec_.size) std::memset(out + available_, 0, spec_.size - available_);
    for (uint32_t attempt = 0; attempt <= max_retries_; ++attempt) {
        bool consistent = false;
        switch (protocol_) {
            case SnapshotProtocol::Seqlock:
                consistent = seqlock_try_read(&trailer_of(data_)->seq,
                                              [&] { copy_words_from_shared(out, data_, available_); });
                break;
            case SnapshotProtocol::PacketId: {
                uint32_t p1 = load_word_acquire(data_);
                copy_words_from_shared(out, data_, available_);
                std::atomic_thread_fence(std::memory_order_acquire);
                uint32_t p2 = load_word_relaxed(data_);
                // The copied packetId must be the one bracketing the copy as well.
                uint32_t copied;
                std::memcpy(&copied, out, 4);
                consistent = p1 == p2 && copied == p1;
                break;
            }
            case SnapshotProtocol::StableCopy: {
                // Written once per session load; a copy equal to the first word-for-word re-read is stable.
                copy_words_from_shared(out, data_, available_);
                std::atomic_thread_fence(std::memory_order_acquire);
                consistent = true;
                for (std::size_t i = 0; i < available_; i += 4) {
                    uint32_t w;
                    std::memcpy(&w, out + i, 4);
                    if (load_word_relaxed(data_ + i) != w) { consistent = false; break; }
                }
                break;
            }
        }
        if (consistent) {
            if (spec_.kind != PageKind::Static) std::memcpy(&result.packet_id, out, 4);
            result.ok = true;
            result.retries = attempt;
            stats_.snapshots++;
            return result;
        }
        stats_.retries++;
    }
    result.retries = max_retries_ + 1;
    stats_.failures++;
    return result;
}

SeqlockPageWriter::SeqlockPageWriter(uint8_t* data, std::size_t mapped_size, PageKind kind)
    : data_(data), spec_(page_spec(kind)), trailer_(nullptr) {
    if (mapped_size < kBridgePageSize) {
        throw SharedPageError(SharedPageError::Code::TooSmall,
                              "a seqlocked page needs " + std::to_string(kBridgePageSize) + " bytes, this one has " +
                                  std::to_string(mapped_size) + ": create it with SharedPage::create(name, " +
                                  std::to_string(kBridgePageSize) + ")");
    }
    trailer_ = reinterpret_cast<PageTrailer*>(data_ + kTrailerOffset);
    store_word_relaxed(&trailer_->version, kTrailerVersion);
    store_word_relaxed(&trailer_->writer_pid, uint32_t(AC_CORE_GETPID()));
    store_word_release(&trailer_->magic, kTrailerMagic);
}

uint32_t SeqlockPageWriter::sequence() const noexcept { return load_word_acquire(&trailer_->seq); }

void SeqlockPageWriter::begin() noexcept { seqlock_write_begin(&trailer_->seq); }

void SeqlockPageWriter::end() noexcept { seqlock_write_end(&trailer_->seq); }

void SeqlockPageWriter::publish(const void* src) noexcept {
    seqlock_write(&trailer_->seq, [&] { copy_words_to_shared(data_, src, spec_.size); });
}

void require_minimal_page(const SharedPage& page, PageKind kind) {
    const PageSpec& spec = page_spec(kind);
    if (page.size() < spec.minimal_size) {
        throw SharedPageError(SharedPageError::Code::TooSmall,
                              "page '" + page.name() + "' has " + std::to_string(page.size()) +
                                  " bytes, fewer than the smallest AC " + spec.suffix + " page (" +
                                  std::to_string(spec.minimal_size) +
                                  " bytes): it was not written by Assetto Corsa or a compatible bridge; check the prefix");
    }
}

}  // namespace ac_core
