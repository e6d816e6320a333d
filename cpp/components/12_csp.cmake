# CSP Custom AI client: page layouts and names, checked reads / seqlocked writes, CspSession
# (controls, buttons, teleports, pause, time scale, physics-synchronous stepping, heartbeat), the
# Feeder over it, and the out-of-process watchdog. Depends on the core and the controls (Feeder).
add_library(ac_core_csp STATIC
  ${CMAKE_CURRENT_LIST_DIR}/../src/csp/page_io.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/csp/session.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/csp/feeder.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/csp/watchdog.cpp)
target_link_libraries(ac_core_csp PUBLIC ac_core_controls ac_core_base)
list(APPEND AC_CORE_COMPONENT_LIBS ac_core_csp)
