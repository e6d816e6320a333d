# Real-time plumbing: the SPSC ring, the telemetry poller (pages → ring + latest-frame slot) and the
# fixed-rate stepper. Depends only on the core.
add_library(ac_core_realtime STATIC
  ${CMAKE_CURRENT_LIST_DIR}/../src/realtime/poller.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/realtime/stepper.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/realtime/rt_thread.cpp)
target_link_libraries(ac_core_realtime PUBLIC ac_core_base)
list(APPEND AC_CORE_COMPONENT_LIBS ac_core_realtime)
# The ring micro-benchmarks: for the C++ tests and ac_core._testing only, never in _core.
add_library(ac_core_realtime_bench STATIC ${CMAKE_CURRENT_LIST_DIR}/../src/realtime/ring_bench.cpp)
target_link_libraries(ac_core_realtime_bench PUBLIC ac_core_realtime)
list(APPEND AC_CORE_TEST_SUPPORT_LIBS ac_core_realtime_bench)
