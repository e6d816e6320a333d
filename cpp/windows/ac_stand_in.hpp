// What the Assetto Corsa stand-in (ac_writer.cpp) publishes and the reader (ac_reader.cpp) expects.
//
// The writer deliberately does not use the project's structs: it pokes values at the byte offsets
// given in the shared-memory spec (docs of AC 1.16, the numbers pinned by the static_asserts in
// pages.hpp), so the reader's use of PhysicsPage/GraphicsPage/StaticPage is checked against an
// independent description of the layout, as it would be against the real game.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ac_stand_in {

// Section sizes AC 1.16 creates (sizeof its SPageFile* structs).
inline constexpr uint32_t kPhysicsBytes = 712;
inline constexpr uint32_t kGraphicsBytes = 296;
inline constexpr uint32_t kStaticBytes = 684;

// Physics (offsets from the spec).
inline constexpr std::size_t kOffPacketId = 0;
inline constexpr std::size_t kOffGas = 4;
inline constexpr std::size_t kOffBrake = 8;
inline constexpr std::size_t kOffGear = 16;
inline constexpr std::size_t kOffRpms = 20;
inline constexpr std::size_t kOffSteerAngle = 24;
inline constexpr std::size_t kOffSpeedKmh = 28;
inline constexpr std::size_t kOffVelocity = 32;
inline constexpr std::size_t kOffHeading = 208;
inline constexpr std::size_t kOffLocalVelocity = 568;
inline constexpr std::size_t kOffTyreTemp = 696;  // last field of the late tail

// Graphics.
inline constexpr std::size_t kOffStatus = 4;
inline constexpr std::size_t kOffCurrentTime = 12;
inline constexpr std::size_t kOffCompletedLaps = 132;
inline constexpr std::size_t kOffNormalizedCarPosition = 248;
inline constexpr std::size_t kOffCarCoordinates = 252;
inline constexpr std::size_t kOffWindDirection = 292;

// Static.
inline constexpr std::size_t kOffSmVersion = 0;
inline constexpr std::size_t kOffNumCars = 64;
inline constexpr std::size_t kOffCarModel = 68;
inline constexpr std::size_t kOffTrack = 134;
inline constexpr std::size_t kOffMaxRpm = 412;
inline constexpr std::size_t kOffTrackSplineLength = 520;
inline constexpr std::size_t kOffTrackConfiguration = 524;
inline constexpr std::size_t kOffCarSkin = 604;
inline constexpr std::size_t kOffPitWindowEnd = 680;

// Values.
inline constexpr float kGas = 0.75f;
inline constexpr float kBrake = 0.25f;
inline constexpr int32_t kGear = 4;  // 3rd gear (0 = R, 1 = N)
inline constexpr int32_t kRpms = 6543;
inline constexpr float kSteerAngle = -0.125f;
inline constexpr float kVelocity[3] = {1.5f, -0.25f, 33.0f};
inline constexpr float kHeading = 2.5f;
inline constexpr float kLocalVelocity[3] = {0.5f, 0.0f, 34.25f};
inline constexpr float kTyreTemp[4] = {80.0f, 81.0f, 82.0f, 83.0f};
inline constexpr int32_t kStatusLive = 2;  // AC_LIVE
inline constexpr const wchar_t* kCurrentTime = L"1:23.456";
inline constexpr int32_t kCompletedLaps = 7;
inline constexpr float kNormalizedCarPosition = 0.625f;
inline constexpr float kCarCoordinates[3] = {-120.5f, 10.25f, 480.75f};
inline constexpr float kWindDirection = 270.0f;
inline constexpr const wchar_t* kSmVersion = L"1.7";
inline constexpr int32_t kNumCars = 1;
inline constexpr const wchar_t* kCarModel = L"ks_mazda_mx5_cup";
inline constexpr const wchar_t* kTrack = L"spa";
inline constexpr int32_t kMaxRpm = 7500;
inline constexpr float kTrackSplineLength = 7004.0f;
inline constexpr const wchar_t* kTrackConfiguration = L"gp_layout";
inline constexpr const wchar_t* kCarSkin = L"00_official";
inline constexpr int32_t kPitWindowEnd = 42;

// In the live phase the writer publishes step n as speedKmh = n, then packetId = n (the value
// first, the id last, so a copy whose packetId is n has speedKmh n or, if the next step's value
// landed during the copy, n + 1).
inline constexpr int32_t kLiveFirstPacketId = 1000;

// Events the two processes synchronise on: "<base>_missing_checked" (reader -> writer: the reader
// looked for the pages before the game created them) and "<base>_pages_ready" (writer -> reader).
inline constexpr const wchar_t* kMissingCheckedSuffix = L"_missing_checked";
inline constexpr const wchar_t* kPagesReadySuffix = L"_pages_ready";

}  // namespace ac_stand_in
