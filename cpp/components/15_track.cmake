# Track model: centre line, projection, ray casts, batched geometry, built-in Spa, AC fast_lane.ai
# and TUMFTM CSV readers.
add_library(ac_core_track STATIC
  ${CMAKE_CURRENT_LIST_DIR}/../src/track/track.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/track/track_spa.cpp
  ${CMAKE_CURRENT_LIST_DIR}/../src/track/track_io.cpp)
target_link_libraries(ac_core_track PUBLIC ac_core_base)
list(APPEND AC_CORE_COMPONENT_LIBS ac_core_track)
