#include "ac_core/core/shared_page.hpp"

#include <cstring>
#include <mutex>
#include <utility>

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/sysmacros.h>

#include <fstream>
#include <sstream>
#endif
#endif

namespace ac_core {

namespace {

void validate_name(const std::string& name) {
    if (name.empty() || name.size() > 200 || name.find('/') != std::string::npos ||
        name.find('\\') != std::string::npos) {
        throw SharedPageError(SharedPageError::Code::InvalidName,
                              "invalid shared-memory page name '" + name +
                                  "': use a plain name such as 'acpmf_physics' (no slashes, at most 200 characters)");
    }
}

std::string not_found_message(const std::string& name) {
    return "shared-memory page '" + SharedPage::os_name(name) +
           "' does not exist: start Assetto Corsa and load a session (Windows), start simshmbridge before "
           "the game (Linux/Proton), or start the built-in simulator with `ac-core sim`; if a prefix was "
           "used, pass the same --prefix";
}

// Replacement notes for take_replacement_notes(); bounded so that a process that never asks cannot grow it.
constexpr std::size_t kMaxNotes = 64;
std::mutex notes_mutex;
std::vector<std::string> notes;

#ifndef _WIN32  // only POSIX replaces leftovers (a Windows mapping goes with its last handle)
void add_note(std::string note) {
    std::lock_guard<std::mutex> lock(notes_mutex);
    if (notes.size() >= kMaxNotes) notes.erase(notes.begin());
    notes.push_back(std::move(note));
}
#endif

#ifdef _WIN32
std::wstring widen(const std::string& s) {
    if (s.empty()) return std::wstring();
    int n = MultiByteToWideChar(CP_UTF8, 0, s.data(), int(s.size()), nullptr, 0);
    std::wstring w(std::size_t(n), L'\0');
    MultiByteToWideChar(CP_UTF8, 0, s.data(), int(s.size()), w.data(), n);
    return w;
}
std::string last_error_text() {
    DWORD err = GetLastError();
    char buf[256] = {0};
    FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr, err, 0, buf, sizeof(buf), nullptr);
    return "Windows error " + std::to_string(err) + ": " + buf;
}
#endif

}  // namespace

std::string SharedPage::os_name(const std::string& name) {
#ifdef _WIN32
    return "Local\\" + name;
#else
    return "/" + name;
#endif
}

std::vector<std::string> SharedPage::take_replacement_notes() {
    std::lock_guard<std::mutex> lock(notes_mutex);
    return std::exchange(notes, {});
}

SharedPage::SharedPage(SharedPage&& other) noexcept { *this = std::move(other); }

SharedPage& SharedPage::operator=(SharedPage&& other) noexcept {
    if (this != &other) {
        close();
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
        name_ = std::move(other.name_);
        owner_ = std::exchange(other.owner_, false);
        writable_ = std::exchange(other.writable_, false);
        handle_ = std::exchange(other.handle_, nullptr);
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

SharedPage::~SharedPage() { close(); }

uint8_t* SharedPage::mutable_data() {
    if (!writable_) {
        throw SharedPageError(SharedPageError::Code::PermissionDenied,
                              "page '" + name_ + "' was opened read-only; open it read-write or create it to write");
    }
    return data_;
}

#ifdef _WIN32

SharedPage SharedPage::open_existing(const std::string& name, Access access) {
    validate_name(name);
    const std::wstring wname = widen(os_name(name));
    const DWORD rights = access == Access::ReadOnly ? FILE_MAP_READ : (FILE_MAP_READ | FILE_MAP_WRITE);
    HANDLE h = OpenFileMappingW(rights, FALSE, wname.c_str());
    if (h == nullptr) {
        DWORD err = GetLastError();
        if (err == ERROR_FILE_NOT_FOUND) throw SharedPageError(SharedPageError::Code::NotFound, not_found_message(name));
        if (err == ERROR_ACCESS_DENIED)
            throw SharedPageError(SharedPageError::Code::PermissionDenied,
                                  "access denied opening '" + os_name(name) + "': run as the same user as the game");
        throw SharedPageError(SharedPageError::Code::System, "OpenFileMappingW('" + os_name(name) + "') failed: " + last_error_text());
    }
    void* view = MapViewOfFile(h, rights, 0, 0, 0);  // length 0 maps the whole section
    if (view == nullptr) {
        std::string msg = last_error_text();
        CloseHandle(h);
        throw SharedPageError(SharedPageError::Code::System, "MapViewOfFile('" + os_name(name) + "') failed: " + msg);
    }
    MEMORY_BASIC_INFORMATION info{};
    VirtualQuery(view, &info, sizeof(info));
    SharedPage page;
    page.data_ = static_cast<uint8_t*>(view);
    page.size_ = info.RegionSize;
    page.name_ = name;
    page.writable_ = access == Access::ReadWrite;
    page.handle_ = h;
    return page;
}

SharedPage SharedPage::create(const std::string& name, std::size_t size, unsigned /*mode*/, bool /*replace_stale*/) {
    validate_name(name);
    if (size == 0) throw SharedPageError(SharedPageError::Code::TooSmall, "cannot create an empty page '" + name + "'");
    const std::wstring wname = widen(os_name(name));
    // Pagefile-backed, as AC creates its pages. The default security descriptor of the session's
    // Local\ namespace grants access to the creating user only.
    HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, DWORD(uint64_t(size) >> 32),
                                  DWORD(size & 0xffffffffu), wname.c_str());
    if (h == nullptr) {
        throw SharedPageError(SharedPageError::Code::System, "CreateFileMappingW('" + os_name(name) + "') failed: " + last_error_text());
    }
    if (GetLastError() == ERROR_ALREADY_EXISTS) {
        CloseHandle(h);
        throw SharedPageError(SharedPageError::Code::AlreadyExists,
                              "page '" + os_name(name) + "' already exists: is the game or another simulator running with "
                              "this prefix? Stop it or choose another --prefix");
    }
    void* view = MapViewOfFile(h, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, size);
    if (view == nullptr) {
        std::string msg = last_error_text();
        CloseHandle(h);
        throw SharedPageError(SharedPageError::Code::System, "MapViewOfFile('" + os_name(name) + "') failed: " + msg);
    }
    std::memset(view, 0, size);
    SharedPage page;
    page.data_ = static_cast<uint8_t*>(view);
    page.size_ = size;
    page.name_ = name;
    page.owner_ = true;
    page.writable_ = true;
    page.handle_ = h;
    return page;
}

bool SharedPage::exists(const std::string& name) {
    validate_name(name);
    HANDLE h = OpenFileMappingW(FILE_MAP_READ, FALSE, widen(os_name(name)).c_str());
    if (h == nullptr) return false;
    CloseHandle(h);
    return true;
}

void SharedPage::close() noexcept {
    // A Windows section disappears when its last handle closes; nothing to unlink.
    if (data_ != nullptr) UnmapViewOfFile(data_);
    if (handle_ != nullptr) CloseHandle(static_cast<HANDLE>(handle_));
    data_ = nullptr;
    handle_ = nullptr;
    size_ = 0;
    owner_ = false;
    writable_ = false;
}

#else  // POSIX

SharedPage SharedPage::open_existing(const std::string& name, Access access) {
    validate_name(name);
    const std::string os = os_name(name);
    const int flags = access == Access::ReadOnly ? O_RDONLY : O_RDWR;
    int fd = ::shm_open(os.c_str(), flags, 0);  // no O_CREAT: a reader never creates a page
    if (fd < 0) {
        int err = errno;
        if (err == ENOENT) throw SharedPageError(SharedPageError::Code::NotFound, not_found_message(name));
        if (err == EACCES)
            throw SharedPageError(SharedPageError::Code::PermissionDenied,
                                  "permission denied opening /dev/shm" + os + ": run as the user that created it");
        throw SharedPageError(SharedPageError::Code::System, "shm_open(" + os + ") failed: " + std::strerror(err));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int err = errno;
        ::close(fd);
        throw SharedPageError(SharedPageError::Code::System, "fstat(/dev/shm" + os + ") failed: " + std::strerror(err));
    }
    if (st.st_size <= 0) {
        ::close(fd);
        throw SharedPageError(SharedPageError::Code::TooSmall,
                              "page /dev/shm" + os + " is empty (0 bytes): its writer has not sized it yet; restart the writer");
    }
    const int prot = access == Access::ReadOnly ? PROT_READ : (PROT_READ | PROT_WRITE);
    void* p = ::mmap(nullptr, std::size_t(st.st_size), prot, MAP_SHARED, fd, 0);
    ::close(fd);  // the mapping keeps the object alive
    if (p == MAP_FAILED) {
        throw SharedPageError(SharedPageError::Code::System, "mmap(/dev/shm" + os + ") failed: " + std::strerror(errno));
    }
    SharedPage page;
    page.data_ = static_cast<uint8_t*>(p);
    page.size_ = std::size_t(st.st_size);
    page.name_ = name;
    page.writable_ = access == Access::ReadWrite;
    return page;
}

namespace {

std::string shm_path(const std::string& os) { return "/dev/shm" + os; }

// True if the name `os` still refers to the object open on `fd` (same device and inode): the test
// that keeps an owner from removing a page that replaced its own.
bool name_refers_to(const std::string& os, int fd) {
    struct stat mine {}, named {};
    if (::fstat(fd, &mine) != 0) return false;
    const int other = ::shm_open(os.c_str(), O_RDONLY, 0);
    if (other < 0) return false;
    const bool same = ::fstat(other, &named) == 0 && named.st_dev == mine.st_dev && named.st_ino == mine.st_ino;
    ::close(other);
    return same;
}

// flock, retried when a signal interrupts it. Returns 0 or the errno.
int lock_fd(int fd, int operation) {
    for (;;) {
        if (::flock(fd, operation) == 0) return 0;
        if (errno != EINTR) return errno;
    }
}

// The process holding a flock on the object open on `fd` ("pid 123", "pid 123, stopped"), from
// /proc/locks where Linux lists them; empty where it cannot tell.
std::string lock_holder(int fd) {
#ifdef __linux__
    struct stat st {};
    if (::fstat(fd, &st) != 0) return {};
    std::ostringstream key;
    key << std::hex;
    key.width(2);
    key.fill('0');
    key << major(st.st_dev) << ':';
    key.width(2);
    key << minor(st.st_dev) << ':' << std::dec << st.st_ino;
    std::ifstream locks("/proc/locks");
    std::string line;
    while (std::getline(locks, line)) {
        std::istringstream fields(line);
        std::string id, kind, mode, access, pid, where;
        fields >> id >> kind;
        if (kind == "->") continue;  // a waiter, not the holder
        fields >> mode >> access >> pid >> where;
        if (kind != "FLOCK" || where != key.str()) continue;
        std::string state;
        std::ifstream stat_file("/proc/" + pid + "/stat");
        std::string stat_line;
        if (std::getline(stat_file, stat_line)) {
            const std::size_t paren = stat_line.rfind(')');
            if (paren != std::string::npos && paren + 2 < stat_line.size() &&
                (stat_line[paren + 2] == 'T' || stat_line[paren + 2] == 't'))
                state = ", stopped: continue it (kill -CONT " + pid + ") or end it";
        }
        return "pid " + pid + state;
    }
#else
    (void)fd;
#endif
    return {};
}

std::string in_use_message(const std::string& os, const std::string& holder) {
    return "page " + shm_path(os) + " is already in use by a running process" +
           (holder.empty() ? "" : " (" + holder + ")") +
           ": another simulator or writer has this prefix; stop it or choose another --prefix";
}

enum class Leftover { Gone, Replaced, Live };

// A page named `os` exists. If no process holds its owner lock, its creator is gone: remove the name
// (only while it still refers to the object checked) and say why in `why`. A locked page is Live and
// `why` names its holder.
Leftover remove_if_leftover(const std::string& os, std::string& why) {
    int fd = ::shm_open(os.c_str(), O_RDONLY, 0);
    if (fd < 0) {
        const int err = errno;
        if (err == ENOENT) return Leftover::Gone;
        if (err == EACCES) {
            why = "another user's page: permission denied";
            return Leftover::Live;
        }
        throw SharedPageError(SharedPageError::Code::System, "shm_open(" + os + ") failed: " + std::strerror(err));
    }
    const int err = lock_fd(fd, LOCK_EX | LOCK_NB);
    if (err == EWOULDBLOCK) {
        why = lock_holder(fd);
        ::close(fd);
        return Leftover::Live;
    }
    // Locked by us now (or the file system has no flock: nothing better than the old unconditional
    // replace is known then). Writers that never lock (simshmbridge, older builds) look the same as a
    // dead owner; callers that must spare a live foreign writer check for one first.
    struct stat st {};
    ::fstat(fd, &st);
    why = st.st_size == 0 ? "0 bytes, never sized by its writer" : std::to_string(st.st_size) + " bytes, no live owner";
    if (name_refers_to(os, fd)) ::shm_unlink(os.c_str());
    ::close(fd);  // releases the lock
    return Leftover::Replaced;
}

}  // namespace

SharedPage SharedPage::create(const std::string& name, std::size_t size, unsigned mode, bool replace_stale) {
    validate_name(name);
    if (size == 0) throw SharedPageError(SharedPageError::Code::TooSmall, "cannot create an empty page '" + name + "'");
    const std::string os = os_name(name);
    // A few rounds: between our removal of a leftover and our O_EXCL create, or between the create and
    // the lock, another process may take the name (then the next round sees its page).
    for (int round = 0; round < 4; ++round) {
        const int fd = ::shm_open(os.c_str(), O_RDWR | O_CREAT | O_EXCL, mode_t(mode));
        if (fd < 0) {
            const int err = errno;
            if (err != EEXIST)
                throw SharedPageError(SharedPageError::Code::System,
                                      "shm_open(" + os + ", O_CREAT) failed: " + std::strerror(err));
            if (!replace_stale)
                throw SharedPageError(SharedPageError::Code::AlreadyExists,
                                      "page " + shm_path(os) + " already exists: another simulator or simshmbridge is "
                                      "using this prefix. Stop it, choose another --prefix, or remove the stale file " +
                                          shm_path(os));
            std::string why;
            const Leftover found = remove_if_leftover(os, why);
            if (found == Leftover::Live)
                throw SharedPageError(SharedPageError::Code::AlreadyExists, in_use_message(os, why));
            if (found == Leftover::Replaced)
                add_note("replaced the leftover page " + shm_path(os) + " (" + why + "; its creator is gone)");
            continue;
        }
        // Sized first, so a reader that sees the name finds a 0-byte page only for the one system call
        // in between (readers refuse empty pages; waiting ones retry).
        if (::ftruncate(fd, off_t(size)) != 0) {
            const int err = errno;
            if (name_refers_to(os, fd)) ::shm_unlink(os.c_str());
            ::close(fd);
            throw SharedPageError(SharedPageError::Code::System, "ftruncate(" + shm_path(os) + ") failed: " + std::strerror(err));
        }
        // Blocking: a process checking for leftovers holds the lock only for that instant. If it found
        // our page before we locked it (unlocked: a leftover to it) it removed the name; then the name
        // no longer refers to our object and we start over.
        const int lock_err = lock_fd(fd, LOCK_EX);
        if (lock_err == 0 && !name_refers_to(os, fd)) {
            ::close(fd);
            continue;
        }
        ::fchmod(fd, mode_t(mode));  // umask must not widen or narrow what was asked for
        void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            const int err = errno;
            if (name_refers_to(os, fd)) ::shm_unlink(os.c_str());
            ::close(fd);
            throw SharedPageError(SharedPageError::Code::System, "mmap(" + shm_path(os) + ") failed: " + std::strerror(err));
        }
        SharedPage page;
        page.data_ = static_cast<uint8_t*>(p);
        page.size_ = size;
        page.name_ = name;
        page.owner_ = true;
        page.writable_ = true;
        page.fd_ = fd;  // kept open: it holds the owner lock until close()
        return page;
    }
    throw SharedPageError(SharedPageError::Code::AlreadyExists,
                          "page " + shm_path(os) + " kept being recreated by another process while this one tried to "
                          "create it: stop the other writer or choose another --prefix");
}

bool SharedPage::exists(const std::string& name) {
    validate_name(name);
    int fd = ::shm_open(os_name(name).c_str(), O_RDONLY, 0);
    if (fd < 0) return errno == EACCES;  // exists but not ours
    ::close(fd);
    return true;
}

void SharedPage::close() noexcept {
    if (data_ != nullptr) ::munmap(data_, size_);
    // Remove the name only while it is still ours: after someone replaced our page (a newer owner on
    // the same prefix), the name is theirs.
    if (owner_ && fd_ >= 0 && name_refers_to(os_name(name_), fd_)) ::shm_unlink(os_name(name_).c_str());
    if (fd_ >= 0) ::close(fd_);  // releases the owner lock
    data_ = nullptr;
    size_ = 0;
    fd_ = -1;
    owner_ = false;
    writable_ = false;
}

#endif

}  // namespace ac_core
