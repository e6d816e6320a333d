#include "ac_core/csp/feeder.hpp"

#include <stdexcept>

namespace ac_core {

CspFeeder::CspFeeder(std::shared_ptr<CspSession> session) : session_(std::move(session)) {
    if (!session_) throw std::invalid_argument("CspFeeder needs a CspSession");
}

void CspFeeder::send(const ControlInput& c) {
    CspDrive d;
    d.steer = float(c.steer);
    d.gas = float(c.throttle);
    d.brake = float(c.brake);
    d.clutch = float(1.0 - c.clutch);
    session_->write_drive(d);
    // Only touch the button bytes when they change: each change is a page write.
    const uint32_t changed = c.buttons ^ last_buttons_;
    if (changed & kPadGearUp) session_->set_control_byte("gear_up", (c.buttons & kPadGearUp) ? 1 : 0);
    if (changed & kPadGearDown) session_->set_control_byte("gear_dn", (c.buttons & kPadGearDown) ? 1 : 0);
    if (changed & kPadDrsToggle) session_->set_control_byte("drs", (c.buttons & kPadDrsToggle) ? 1 : 0);
    last_buttons_ = c.buttons;
}

}  // namespace ac_core
