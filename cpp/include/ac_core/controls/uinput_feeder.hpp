// UinputFeeder (Linux): a virtual joystick for AC under Proton. The device has ABS_X (steer), ABS_Y
// (throttle), ABS_Z (brake), ABS_RX (clutch) and eight joystick buttons from BTN_TRIGGER on, so
// udev tags it ID_INPUT_JOYSTICK and SDL/Proton list it (axes-only devices are taken for
// accelerometers). Each write is one write() of all EV_ABS/EV_KEY events plus SYN_REPORT.
//
// The event encoding is platform-independent (unit-tested everywhere); the device itself is
// #ifdef __linux__. The code numbers below are the kernel's ABI (input-event-codes.h) and are
// checked against the kernel headers on Linux.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "ac_core/controls/feeder.hpp"

namespace ac_core {

namespace input_codes {
inline constexpr uint16_t kEvSyn = 0x00, kEvKey = 0x01, kEvAbs = 0x03;
inline constexpr uint16_t kSynReport = 0;
inline constexpr uint16_t kAbsX = 0x00, kAbsY = 0x01, kAbsZ = 0x02, kAbsRx = 0x03, kAbsRz = 0x05;
inline constexpr uint16_t kBtnTrigger = 0x120;  // BTN_TRIGGER, BTN_THUMB, BTN_THUMB2, BTN_TOP, ... 0x127
}  // namespace input_codes

struct UinputEvent {
    uint16_t type;
    uint16_t code;
    int32_t value;
};

struct UinputAxis {
    uint16_t code;
    int32_t min;
    int32_t max;
};

struct UinputLayout {
    UinputAxis steer{input_codes::kAbsX, -32767, 32767};
    UinputAxis throttle{input_codes::kAbsY, 0, 32767};
    UinputAxis brake{input_codes::kAbsZ, 0, 32767};
    UinputAxis clutch{input_codes::kAbsRx, 0, 32767};
    std::array<uint16_t, kControlButtonCount> buttons{0x120, 0x121, 0x122, 0x123, 0x124, 0x125, 0x126, 0x127};
};

// Most events one frame can hold: 4 axes + 8 buttons + SYN_REPORT.
inline constexpr std::size_t kMaxUinputFrameEvents = 4 + kControlButtonCount + 1;

// Encodes sanitized controls as one frame: the four EV_ABS events, an EV_KEY event for each button
// that differs from `previous_buttons` (all of them when `first_frame`), then SYN_REPORT.
// Returns the number of events written to `out` (capacity kMaxUinputFrameEvents).
std::size_t encode_uinput_frame(const ControlInput& c, const UinputLayout& layout, uint32_t previous_buttons,
                                bool first_frame, UinputEvent* out) noexcept;

int32_t uinput_scale(double v, const UinputAxis& axis, bool bipolar) noexcept;

class UinputError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

#ifdef __linux__

class UinputFeeder final : public Feeder {
public:
    // Opens `device_path` (normally /dev/uinput), declares the joystick and creates it. Errors say
    // how to fix: module not loaded, no write permission (udev rule), not a uinput device.
    explicit UinputFeeder(const std::string& device_path = "/dev/uinput",
                          const std::string& device_name = "ac_core virtual wheel", UinputLayout layout = {});
    // Writes frames to an already-open descriptor without any device setup (a pipe in tests, or a
    // descriptor set up elsewhere). The feeder does not close it.
    static std::unique_ptr<UinputFeeder> attach_fd(int fd, UinputLayout layout = {});
    ~UinputFeeder() override;
    UinputFeeder(const UinputFeeder&) = delete;
    UinputFeeder& operator=(const UinputFeeder&) = delete;

    const char* kind() const noexcept override { return "uinput"; }
    int fd() const noexcept { return fd_; }
    void close() noexcept;
    bool closed() const noexcept { return fd_ < 0; }

protected:
    void send(const ControlInput& c) override;

private:
    UinputFeeder(int fd, UinputLayout layout, bool owned);
    void setup_device(const std::string& path, const std::string& name);

    int fd_ = -1;
    bool owned_ = false;
    bool created_ = false;
    bool first_frame_ = true;
    uint32_t buttons_ = 0;
    UinputLayout layout_;
};

#endif

}  // namespace ac_core
