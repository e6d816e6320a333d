// CspFeeder: the Feeder interface (steer, throttle, brake, clutch, buttons) over a CspSession, so
// code written for vJoy/uinput/the pad drives a car through CSP's Custom AI pages unchanged.
//
// Conversions: the feeder clutch is the pedal (1 = pressed, disengaged); CSP's is the engagement
// (1 = engaged), so CSP clutch = 1 - pedal. Buttons are levels in CSP's page: kPadGearUp ->
// gear_up, kPadGearDown -> gear_dn, kPadDrsToggle -> drs (the other pad bits have no CSP control).
#pragma once

#include <memory>

#include "ac_core/csp/session.hpp"
#include "ac_core/controls/feeder.hpp"

namespace ac_core {

class CspFeeder final : public Feeder {
public:
    explicit CspFeeder(std::shared_ptr<CspSession> session);
    const char* kind() const noexcept override { return "csp"; }
    CspSession& session() noexcept { return *session_; }

protected:
    void send(const ControlInput& c) override;

private:
    std::shared_ptr<CspSession> session_;
    uint32_t last_buttons_ = 0;
};

}  // namespace ac_core
