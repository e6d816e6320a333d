#include "ac_core/controls/pad_feeder.hpp"

#include <memory>

#include "ac_core/core/clock.hpp"
#include "ac_core/core/word_copy.hpp"

#ifndef _WIN32
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#endif

namespace ac_core {

namespace {

// replace_stale may remove a page left by a crashed feeder, never one a live feeder is writing:
// that feeder's controls would silently stop reaching the simulator. (Windows needs no check: a
// named mapping disappears with its last process.)
bool replace_only_if_stale(const std::string& name, bool replace_stale) {
#ifndef _WIN32
    if (!replace_stale || !SharedPage::exists(name)) return replace_stale;
    try {
        SharedPage old = SharedPage::open_existing(name);
        if (old.size() >= sizeof(PadPage)) {
            const auto* page = reinterpret_cast<const PadPage*>(old.data());
            const uint32_t magic = load_word_acquire(&page->magic);
            const auto pid = pid_t(load_word_relaxed(&page->writer_pid));
            const bool alive = pid > 0 && (pid == getpid() || ::kill(pid, 0) == 0 || errno == EPERM);
            if (magic == kPadMagic && alive)
                throw SharedPageError(SharedPageError::Code::AlreadyExists,
                                      "pad page '" + name + "' is in use by a live feeder (pid " + std::to_string(pid) +
                                          "): close it or choose another prefix");
        }
    } catch (const SharedPageError& e) {
        if (e.code() == SharedPageError::Code::AlreadyExists) throw;
        // Unreadable (another user's page): let create() report the conflict.
    }
    return true;
#else
    (void)name;
    return replace_stale;
#endif
}

}  // namespace

PadFeeder::PadFeeder(const std::string& prefix, unsigned mode, bool replace_stale)
    : page_(SharedPage::create(pad_page_name(prefix), kPadPageSize, mode,
                               replace_only_if_stale(pad_page_name(prefix), replace_stale))),
      writer_(std::make_unique<PadWriter>(page_.mutable_data(), page_.size())) {}

PadFeeder::~PadFeeder() { close(); }

void PadFeeder::close() noexcept {
    if (!page_.valid()) return;
    writer_->write(PadControls{}, steady_now_ns());  // neutral: no throttle, no brake, wheel centred
    writer_->detach();
    writer_.reset();
    page_.close();
}

PadAppliedEcho PadFeeder::applied() const noexcept { return writer_ ? writer_->applied() : PadAppliedEcho{}; }

void PadFeeder::send(const ControlInput& c) {
    if (!writer_) throw std::logic_error("pad feeder is closed; create a new PadFeeder");
    writer_->write(PadControls{float(c.steer), float(c.throttle), float(c.brake), float(c.clutch), c.buttons},
                   steady_now_ns());
}

}  // namespace ac_core
