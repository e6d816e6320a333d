#include "ac_core/controls/uinput_feeder.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#ifdef __linux__
#include <fcntl.h>
#include <linux/input.h>
#include <linux/uinput.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <thread>
#endif

namespace ac_core {

int32_t uinput_scale(double v, const UinputAxis& axis, bool bipolar) noexcept {
    double t = bipolar ? (std::clamp(v, -1.0, 1.0) + 1.0) * 0.5 : std::clamp(v, 0.0, 1.0);
    return int32_t(std::lround(double(axis.min) + t * (double(axis.max) - double(axis.min))));
}

std::size_t encode_uinput_frame(const ControlInput& c, const UinputLayout& layout, uint32_t previous_buttons,
                                bool first_frame, UinputEvent* out) noexcept {
    using namespace input_codes;
    std::size_t n = 0;
    out[n++] = {kEvAbs, layout.steer.code, uinput_scale(c.steer, layout.steer, true)};
    out[n++] = {kEvAbs, layout.throttle.code, uinput_scale(c.throttle, layout.throttle, false)};
    out[n++] = {kEvAbs, layout.brake.code, uinput_scale(c.brake, layout.brake, false)};
    out[n++] = {kEvAbs, layout.clutch.code, uinput_scale(c.clutch, layout.clutch, false)};
    for (uint32_t i = 0; i < kControlButtonCount; ++i) {
        const uint32_t bit = 1u << i;
        if (first_frame || ((c.buttons ^ previous_buttons) & bit))
            out[n++] = {kEvKey, layout.buttons[i], (c.buttons & bit) ? 1 : 0};
    }
    out[n++] = {kEvSyn, kSynReport, 0};
    return n;
}

#ifdef __linux__

static_assert(input_codes::kEvSyn == EV_SYN && input_codes::kEvKey == EV_KEY && input_codes::kEvAbs == EV_ABS);
static_assert(input_codes::kSynReport == SYN_REPORT);
static_assert(input_codes::kAbsX == ABS_X && input_codes::kAbsY == ABS_Y && input_codes::kAbsZ == ABS_Z &&
              input_codes::kAbsRx == ABS_RX && input_codes::kAbsRz == ABS_RZ);
static_assert(input_codes::kBtnTrigger == BTN_TRIGGER && BTN_THUMB == 0x121 && BTN_BASE2 == 0x127);

namespace {

std::string errno_text(int err) { return std::string(std::strerror(err)) + " (errno " + std::to_string(err) + ")"; }

void checked_ioctl(int fd, unsigned long request, long arg, const char* what, const std::string& path) {
    if (ioctl(fd, request, arg) < 0) {
        const int err = errno;
        if (err == ENOTTY || err == EINVAL)
            throw UinputError("'" + path + "' refused " + what + " (" + errno_text(err) +
                              "): it is not a uinput device; pass /dev/uinput");
        throw UinputError(std::string(what) + " on '" + path + "' failed: " + errno_text(err));
    }
}

}  // namespace

UinputFeeder::UinputFeeder(int fd, UinputLayout layout, bool owned) : fd_(fd), owned_(owned), layout_(layout) {}

UinputFeeder::UinputFeeder(const std::string& device_path, const std::string& device_name, UinputLayout layout)
    : layout_(layout) {
    fd_ = ::open(device_path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd_ < 0) {
        const int err = errno;
        if (err == ENOENT)
            throw UinputError("'" + device_path +
                              "' is missing: load the uinput module (sudo modprobe uinput) or check the path");
        if (err == EACCES || err == EPERM)
            throw UinputError("'" + device_path +
                              "' is not writable by this user: add a udev rule KERNEL==\"uinput\", "
                              "TAG+=\"uaccess\" (or MODE=\"0660\", GROUP=\"input\" and join that group)");
        throw UinputError("cannot open '" + device_path + "': " + errno_text(err));
    }
    owned_ = true;
    try {
        setup_device(device_path, device_name);
    } catch (...) {
        ::close(fd_);
        fd_ = -1;
        throw;
    }
}

std::unique_ptr<UinputFeeder> UinputFeeder::attach_fd(int fd, UinputLayout layout) {
    if (fd < 0) throw UinputError("attach_fd needs an open file descriptor, got " + std::to_string(fd));
    return std::unique_ptr<UinputFeeder>(new UinputFeeder(fd, layout, false));
}

void UinputFeeder::setup_device(const std::string& path, const std::string& name) {
    checked_ioctl(fd_, UI_SET_EVBIT, EV_KEY, "UI_SET_EVBIT(EV_KEY)", path);
    checked_ioctl(fd_, UI_SET_EVBIT, EV_ABS, "UI_SET_EVBIT(EV_ABS)", path);
    checked_ioctl(fd_, UI_SET_EVBIT, EV_SYN, "UI_SET_EVBIT(EV_SYN)", path);
    for (uint16_t code : layout_.buttons) checked_ioctl(fd_, UI_SET_KEYBIT, code, "UI_SET_KEYBIT", path);
    const UinputAxis axes[] = {layout_.steer, layout_.throttle, layout_.brake, layout_.clutch};
    for (const UinputAxis& a : axes) checked_ioctl(fd_, UI_SET_ABSBIT, a.code, "UI_SET_ABSBIT", path);

    const uint16_t vendor = 0x1209, product = 0xAC01;  // pid.codes test range: never a real product
    bool modern = true;
#if defined(UI_DEV_SETUP) && defined(UI_ABS_SETUP)
    for (const UinputAxis& a : axes) {
        uinput_abs_setup abs{};
        abs.code = a.code;
        abs.absinfo.minimum = a.min;
        abs.absinfo.maximum = a.max;
        abs.absinfo.value = a.code == layout_.steer.code ? (a.min + a.max) / 2 : a.min;
        if (ioctl(fd_, UI_ABS_SETUP, &abs) < 0) {
            modern = false;
            break;
        }
    }
    if (modern) {
        uinput_setup setup{};
        setup.id.bustype = BUS_VIRTUAL;
        setup.id.vendor = vendor;
        setup.id.product = product;
        setup.id.version = 1;
        std::strncpy(setup.name, name.c_str(), UINPUT_MAX_NAME_SIZE - 1);
        if (ioctl(fd_, UI_DEV_SETUP, &setup) < 0) modern = false;
    }
#else
    modern = false;
#endif
    if (!modern) {
        // Kernels before 4.5 (uinput < 5): describe the device with one write of uinput_user_dev.
        uinput_user_dev dev{};
        std::strncpy(dev.name, name.c_str(), UINPUT_MAX_NAME_SIZE - 1);
        dev.id.bustype = BUS_VIRTUAL;
        dev.id.vendor = vendor;
        dev.id.product = product;
        dev.id.version = 1;
        for (const UinputAxis& a : axes) {
            dev.absmin[a.code] = a.min;
            dev.absmax[a.code] = a.max;
        }
        if (::write(fd_, &dev, sizeof dev) != ssize_t(sizeof dev))
            throw UinputError("describing the device on '" + path + "' failed: " + errno_text(errno));
    }
    checked_ioctl(fd_, UI_DEV_CREATE, 0, "UI_DEV_CREATE", path);
    created_ = true;
    // udev and SDL need a moment to see the new device before its first events (kernel docs example).
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

UinputFeeder::~UinputFeeder() { close(); }

void UinputFeeder::close() noexcept {
    if (fd_ < 0) return;
    if (created_) {
        try {
            send(ControlInput{});  // neutral before the device goes away
        } catch (...) {
        }
        ioctl(fd_, UI_DEV_DESTROY);
        created_ = false;
    }
    if (owned_) ::close(fd_);
    fd_ = -1;
}

void UinputFeeder::send(const ControlInput& c) {
    if (fd_ < 0) throw std::logic_error("uinput feeder is closed; create a new one");
    UinputEvent events[kMaxUinputFrameEvents];
    const std::size_t n = encode_uinput_frame(c, layout_, buttons_, first_frame_, events);
    input_event records[kMaxUinputFrameEvents];
    std::memset(records, 0, sizeof records);  // the kernel stamps the time itself
    for (std::size_t i = 0; i < n; ++i) {
        records[i].type = events[i].type;
        records[i].code = events[i].code;
        records[i].value = events[i].value;
    }
    const auto bytes = ssize_t(n * sizeof(input_event));
    const ssize_t written = ::write(fd_, records, std::size_t(bytes));
    if (written != bytes)
        throw UinputError(written < 0 ? "uinput write failed: " + errno_text(errno)
                                      : "uinput write was cut short (" + std::to_string(written) + " of " +
                                            std::to_string(bytes) + " bytes)");
    buttons_ = c.buttons;
    first_frame_ = false;
}

#endif  // __linux__

}  // namespace ac_core
