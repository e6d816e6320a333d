# Real-time plumbing: the SPSC ring, the telemetry poller (pages → ring + latest-frame slot) and the
# fixed-rate stepper. Depends only on the core.
add_library(ac_core_realtime STATIC
  ${CMAKE_CURRENT_LIST_DIR}/../src/realtime/poller.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/realtime/stepper.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/realtime/rt_thread.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/realtime/ring_bench.cpp)
target_link_libraries(ac_core_realtime PUBLIC ac_core_base)
list(APPEND AC_CORE_COMPONENT_LIBS ac_core_realtime)
