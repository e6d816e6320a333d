// PadFeeder: the control output for the built-in simulator in process mode (`ac-core sim`): it
// creates the pad page "<prefix>pad" (owner-only, kPadPageSize bytes) and writes each control set
// as one seqlocked update. On close it writes neutral controls and detaches, so the simulator stops
// applying stale input and looks for a new feeder.
#pragma once

#include <memory>
#include <string>

#include "ac_core/controls/feeder.hpp"
#include "ac_core/controls/pad.hpp"
#include "ac_core/core/shared_page.hpp"

namespace ac_core {

class PadFeeder final : public Feeder {
public:
    // replace_stale: remove a page left behind by a crashed feeder (POSIX) instead of failing; a page
    // whose writer is still alive is never replaced (SharedPageError AlreadyExists names its pid).
    explicit PadFeeder(const std::string& prefix = kDefaultPagePrefix, unsigned mode = 0600, bool replace_stale = true);
    ~PadFeeder() override;
    PadFeeder(const PadFeeder&) = delete;
    PadFeeder& operator=(const PadFeeder&) = delete;

    const char* kind() const noexcept override { return "pad"; }
    uint32_t sequence() const noexcept { return writer_ ? writer_->sequence() : 0; }
    // What the simulator last applied (sequence, physics packetId), for latency measurement.
    PadAppliedEcho applied() const noexcept;
    const std::string& page_name() const noexcept { return page_.name(); }
    void close() noexcept;
    bool closed() const noexcept { return !page_.valid(); }

protected:
    void send(const ControlInput& c) override;

private:
    SharedPage page_;
    std::unique_ptr<PadWriter> writer_;
};

}  // namespace ac_core
