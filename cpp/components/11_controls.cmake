# Control feeders: the Feeder interface and its outputs — the pad page (the stand-in's input), vJoy
# (the real game on Windows, loaded at run time) and uinput (AC under Proton). Depends only on the
# core.
add_library(ac_core_controls STATIC
  ${CMAKE_CURRENT_LIST_DIR}/../src/controls/feeder.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/controls/pad.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/controls/pad_feeder.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/controls/vjoy.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/controls/vjoy_feeder.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/controls/uinput_feeder.cpp)
target_link_libraries(ac_core_controls PUBLIC ac_core_base)
if(WIN32)
  # RegGetValueW for the vJoy install folder (LoadLibrary/GetProcAddress are in kernel32).
  target_link_libraries(ac_core_controls PUBLIC advapi32)
endif()
list(APPEND AC_CORE_COMPONENT_LIBS ac_core_controls)
# The in-process fake vJoy: for the C++ tests and ac_core._testing only, never in _core.
add_library(ac_core_controls_fakes STATIC ${CMAKE_CURRENT_LIST_DIR}/../src/controls/vjoy_fake.cpp)
target_link_libraries(ac_core_controls_fakes PUBLIC ac_core_controls)
list(APPEND AC_CORE_TEST_SUPPORT_LIBS ac_core_controls_fakes)
