# Built-in simulator: FormulaAlpha2022 two-track vehicle model, batched lockstep SimBatch filling AC
# pages, the reference driver, and the real-time process loop (named pages, pad page, CSP's Custom AI
# pages).
add_library(ac_core_sim STATIC
  ${CMAKE_CURRENT_LIST_DIR}/../src/sim/vehicle.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/sim/sim_batch.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/sim/reference_driver.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/sim/realtime_runner.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/sim/csp_server.cpp)
target_link_libraries(ac_core_sim PUBLIC ac_core_track ac_core_csp ac_core_controls ac_core_realtime ac_core_base)
list(APPEND AC_CORE_COMPONENT_LIBS ac_core_sim)
