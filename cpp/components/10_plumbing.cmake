# Real-time plumbing: SPSC ring, seqlock slot, telemetry poller, stepper, control feeders (pad,
# vJoy, uinput). Depends only on the core (ac_core_base).
add_library(ac_core_plumbing STATIC
  ${CMAKE_CURRENT_LIST_DIR}/../src/clock.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/pad.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/poller.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/stepper.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/feeder.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/pad_feeder.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/vjoy.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/vjoy_feeder.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/vjoy_fake.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/uinput_feeder.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/ring_bench.cpp)
target_link_libraries(ac_core_plumbing PUBLIC ac_core_base)
if(WIN32)
  # RegGetValueW for the vJoy install folder (LoadLibrary/GetProcAddress are in kernel32).
  target_link_libraries(ac_core_plumbing PUBLIC advapi32)
endif()
list(APPEND AC_CORE_COMPONENT_LIBS ac_core_plumbing)
