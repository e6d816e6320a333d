# Cross-compile for 64-bit Windows with mingw-w64 (Debian/Ubuntu: g++-mingw-w64-x86-64).
#   cmake -S . -B build/mingw -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/mingw-w64-x86_64.cmake
# The programs are linked statically so they run under wine (or on Windows) without the mingw
# runtime DLLs (libstdc++-6.dll, libgcc_s_seh-1.dll, libwinpthread-1.dll) on the PATH.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(AC_CORE_MINGW_TRIPLET x86_64-w64-mingw32 CACHE STRING "mingw-w64 target triplet (compiler prefix)")

# Debian ships two thread models. The project needs std::thread and std::mutex, which GCC before 13
# provides only in the posix model (winpthreads), so prefer the -posix compilers.
find_program(AC_CORE_MINGW_CXX NAMES ${AC_CORE_MINGW_TRIPLET}-g++-posix ${AC_CORE_MINGW_TRIPLET}-g++ REQUIRED)
find_program(AC_CORE_MINGW_CC NAMES ${AC_CORE_MINGW_TRIPLET}-gcc-posix ${AC_CORE_MINGW_TRIPLET}-gcc REQUIRED)
set(CMAKE_CXX_COMPILER ${AC_CORE_MINGW_CXX})
set(CMAKE_C_COMPILER ${AC_CORE_MINGW_CC})
set(CMAKE_RC_COMPILER ${AC_CORE_MINGW_TRIPLET}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${AC_CORE_MINGW_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static")

# ctest (and CMake's try_run) run the .exe files through wine when it is installed.
find_program(AC_CORE_WINE NAMES wine64 wine)
if(AC_CORE_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${AC_CORE_WINE})
endif()
