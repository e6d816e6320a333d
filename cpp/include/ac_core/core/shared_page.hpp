// A named shared-memory page: AC's `Local\acpmf_*` mappings on Windows, `/dev/shm/acpmf_*` on
// POSIX (the layout simshmbridge uses for AC under Proton).
//
// Two roles, never mixed:
//  * reader: `open_existing` opens a page someone else created. It never creates one: a reader that
//    created the page first would fix its size and AC would then open ours (the trap the spec warns of).
//  * owner:  `create` makes a new page (owner-only permissions) and removes it when destroyed.
//
// Ownership on POSIX, where a name outlives its creator: the owner holds an exclusive flock(2) on
// its page for the page's life (the kernel drops it when the process dies, SIGKILL included), and
// on close removes the name only if it still refers to the object it created (device and inode),
// never a newer page someone created under the same name after removing ours. A page that exists
// but nobody holds locked (a crashed owner's leftover, a 0-byte file) is replaced by
// `create(..., replace_stale = true)`; a locked one belongs to a live process and is refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace ac_core {

class SharedPageError : public std::runtime_error {
public:
    enum class Code { NotFound, AlreadyExists, PermissionDenied, InvalidName, TooSmall, System };
    SharedPageError(Code code, const std::string& message) : std::runtime_error(message), code_(code) {}
    Code code() const noexcept { return code_; }

private:
    Code code_;
};

class SharedPage {
public:
    enum class Access { ReadOnly, ReadWrite };

    // Open an existing page. Throws SharedPageError(NotFound) with a message that says what to start.
    static SharedPage open_existing(const std::string& name, Access access = Access::ReadOnly);
    // Create and own a page of `size` bytes, zero-filled. `replace_stale` replaces a leftover page of
    // the same name whose creator is gone (POSIX only: a crashed owner leaves its file in /dev/shm);
    // a page a live process holds throws AlreadyExists naming that process (pid where the OS tells).
    static SharedPage create(const std::string& name, std::size_t size, unsigned mode = 0600,
                             bool replace_stale = false);
    // One line per leftover page `create` replaced since the last call (oldest first, at most 64), for
    // the owner process to report: "replaced the leftover page /dev/shm/x (0 bytes; ...)".
    static std::vector<std::string> take_replacement_notes();
    // True if a page of this name exists (opens and closes it read-only).
    static bool exists(const std::string& name);

    SharedPage() = default;
    SharedPage(SharedPage&& other) noexcept;
    SharedPage& operator=(SharedPage&& other) noexcept;
    SharedPage(const SharedPage&) = delete;
    SharedPage& operator=(const SharedPage&) = delete;
    ~SharedPage();

    const uint8_t* data() const noexcept { return data_; }
    uint8_t* mutable_data();  // throws unless opened read-write or owned
    // Mapped size in bytes. POSIX: the file size (exact). Windows: the view's region size, rounded
    // up to the page granularity (Windows does not expose a section's exact size).
    std::size_t size() const noexcept { return size_; }
    const std::string& name() const noexcept { return name_; }
    bool is_owner() const noexcept { return owner_; }
    bool writable() const noexcept { return writable_; }
    bool valid() const noexcept { return data_ != nullptr; }
    void close() noexcept;

    // The OS-level name for a page: "Local\\acpmf_physics" on Windows, "/acpmf_physics" on POSIX.
    static std::string os_name(const std::string& name);

private:
    uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
    std::string name_;
    bool owner_ = false;
    bool writable_ = false;
    void* handle_ = nullptr;  // Windows: HANDLE of the mapping; POSIX: unused
    int fd_ = -1;             // POSIX owner: the descriptor that holds the owner lock; else -1
};

}  // namespace ac_core
