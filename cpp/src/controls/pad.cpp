#include "ac_core/controls/pad.hpp"

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "ac_core/core/clock.hpp"
#include "ac_core/core/seqlock.hpp"
#include "ac_core/core/word_copy.hpp"

#ifdef _WIN32
#include <process.h>
#define AC_CORE_PAD_GETPID _getpid
#else
#include <unistd.h>
#define AC_CORE_PAD_GETPID getpid
#endif

namespace ac_core {

namespace {

PadPage* checked_page(uint8_t* data, std::size_t size) {
    if (data == nullptr) throw std::invalid_argument("pad page: no memory (the page is closed)");
    if (size < sizeof(PadPage))
        throw std::invalid_argument("pad page has " + std::to_string(size) + " bytes, needs at least " +
                                    std::to_string(sizeof(PadPage)) + ": create it with kPadPageSize bytes");
    if (reinterpret_cast<std::uintptr_t>(data) % 8 != 0)
        throw std::invalid_argument("pad page memory must be 8-byte aligned");
    return reinterpret_cast<PadPage*>(data);
}

uint32_t float_bits(float f) noexcept {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

float bits_float(uint32_t u) noexcept {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

// The two applied words as one 64-bit atomic (offset 48, 8-byte aligned; little-endian:
// low word = applied_sequence, high word = applied_packet_id).
uint64_t* applied_word(PadPage* p) noexcept { return reinterpret_cast<uint64_t*>(&p->applied_sequence); }

void store_applied_word(PadPage* p, uint32_t sequence, int32_t packet_id) noexcept {
    const uint64_t v = uint64_t(sequence) | (uint64_t(uint32_t(packet_id)) << 32);
#if defined(__GNUC__) || defined(__clang__)
    __atomic_store_n(applied_word(p), v, __ATOMIC_RELEASE);
#else
    std::atomic_thread_fence(std::memory_order_release);
    *static_cast<volatile uint64_t*>(applied_word(p)) = v;  // aligned 64-bit stores are atomic on x64
#endif
}

PadAppliedEcho load_applied_word(PadPage* p) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    const uint64_t v = __atomic_load_n(applied_word(p), __ATOMIC_ACQUIRE);
#else
    const uint64_t v = *static_cast<volatile uint64_t*>(applied_word(p));
    std::atomic_thread_fence(std::memory_order_acquire);
#endif
    return PadAppliedEcho{uint32_t(v), int32_t(uint32_t(v >> 32))};
}

}  // namespace

std::string pad_page_name(const std::string& prefix) { return prefix + "pad"; }

// ---- writer -------------------------------------------------------------------------------------

PadWriter::PadWriter(uint8_t* data, std::size_t size) : page_(checked_page(data, size)) {
    sequence_ = load_word_relaxed(&page_->sequence);  // continue numbering on a reused page
    store_word_relaxed(&page_->version, kPadVersion);
    store_word_relaxed(&page_->writer_pid, uint32_t(AC_CORE_PAD_GETPID()));
    store_word_release(&page_->magic, kPadMagic);
}

uint32_t PadWriter::write(const PadControls& c, int64_t write_time_ns) noexcept {
    ++sequence_;
    seqlock_write(&page_->seq, [&] {
        store_word_relaxed(&page_->steer, float_bits(c.steer));
        store_word_relaxed(&page_->throttle, float_bits(c.throttle));
        store_word_relaxed(&page_->brake, float_bits(c.brake));
        store_word_relaxed(&page_->clutch, float_bits(c.clutch));
        store_word_relaxed(&page_->buttons, c.buttons);
        const uint64_t t = uint64_t(write_time_ns);
        store_word_relaxed(reinterpret_cast<uint8_t*>(&page_->write_time_ns), uint32_t(t));
        store_word_relaxed(reinterpret_cast<uint8_t*>(&page_->write_time_ns) + 4, uint32_t(t >> 32));
        store_word_relaxed(&page_->sequence, sequence_);
    });
    return sequence_;
}

uint32_t PadWriter::sequence() const noexcept { return sequence_; }

PadAppliedEcho PadWriter::applied() const noexcept { return load_applied_word(page_); }

void PadWriter::detach() noexcept { store_word_release(&page_->magic, 0); }

// ---- reader -------------------------------------------------------------------------------------

PadReader::PadReader(uint8_t* data, std::size_t size, uint32_t max_retries)
    : page_(checked_page(data, size)), max_retries_(max_retries) {}

PadReadStatus PadReader::read(PadSnapshot& out) noexcept {
    if (load_word_acquire(&page_->magic) != kPadMagic) return PadReadStatus::NoWriter;
    PadSnapshot copy;
    const SeqlockReadResult r = seqlock_read(&page_->seq, [&] {
        copy.controls.steer = bits_float(load_word_relaxed(&page_->steer));
        copy.controls.throttle = bits_float(load_word_relaxed(&page_->throttle));
        copy.controls.brake = bits_float(load_word_relaxed(&page_->brake));
        copy.controls.clutch = bits_float(load_word_relaxed(&page_->clutch));
        copy.controls.buttons = load_word_relaxed(&page_->buttons);
        copy.sequence = load_word_relaxed(&page_->sequence);
        copy.writer_pid = load_word_relaxed(&page_->writer_pid);
        const auto* t = reinterpret_cast<const uint8_t*>(&page_->write_time_ns);
        copy.write_time_ns = int64_t(uint64_t(load_word_relaxed(t)) | (uint64_t(load_word_relaxed(t + 4)) << 32));
    }, max_retries_);
    stats_.retries += r.retries;
    if (!r.ok) {
        stats_.failures++;
        return PadReadStatus::Busy;
    }
    out = copy;
    stats_.reads++;
    return PadReadStatus::Ok;
}

void PadReader::store_applied(uint32_t sequence, int32_t packet_id) noexcept {
    store_applied_word(page_, sequence, packet_id);
}

PadAppliedEcho PadReader::applied() const noexcept { return load_applied_word(page_); }

// ---- link (simulator side) ----------------------------------------------------------------------

PadLink::PadLink(std::string prefix, double retry_interval_s)
    : name_(pad_page_name(prefix)), retry_interval_ns_(s_to_ns(retry_interval_s)) {}

void PadLink::try_open() noexcept {
    const int64_t now = steady_now_ns();
    if (now < next_open_attempt_ns_) return;
    next_open_attempt_ns_ = now + retry_interval_ns_;
    try {
        SharedPage page = SharedPage::open_existing(name_, SharedPage::Access::ReadWrite);
        if (page.size() >= sizeof(PadPage)) page_ = std::move(page);
    } catch (const std::exception&) {
        // No feeder yet (or not ours to open): stay detached and retry later.
    }
}

bool PadLink::poll(PadSnapshot& out) noexcept {
    if (!page_.valid()) try_open();
    if (!page_.valid()) return false;
    PadReader reader(page_.mutable_data(), page_.size());
    const PadReadStatus status = reader.read(out);
    stats_.reads += reader.stats().reads;
    stats_.retries += reader.stats().retries;
    stats_.failures += reader.stats().failures;
    if (status == PadReadStatus::NoWriter) {
        // The writer left (or never initialised the page): let go, so a re-created page is found.
        page_.close();
        return false;
    }
    return status == PadReadStatus::Ok;
}

void PadLink::store_applied(uint32_t sequence, int32_t packet_id) noexcept {
    if (page_.valid()) store_applied_word(reinterpret_cast<PadPage*>(page_.mutable_data()), sequence, packet_id);
}

}  // namespace ac_core
