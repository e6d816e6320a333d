#include "ac_core/sim/reference_driver.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

namespace ac_core::sim {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kEnvelopeMaxSpeed = 120.0;  // m/s, table range (1 m/s steps)
constexpr double kProfileTopSpeed = 110.0;   // m/s cap for straights (power and drag limit first)

double wrap_angle(double a) {
    while (a > kPi) a -= 2 * kPi;
    while (a <= -kPi) a += 2 * kPi;
    return a;
}

double table_lookup(const std::vector<double>& t, double v) {
    const double x = std::clamp(v, 0.0, double(t.size() - 1) - 1e-9);
    const std::size_t i = std::size_t(x);
    const double f = x - double(i);
    return t[i] + f * (t[i + 1] - t[i]);
}

// Periodic linear interpolation of a grid with `spacing` over a lap of `length`.
double periodic_interp(const std::vector<double>& v, double spacing, double length, double s) {
    s = std::fmod(s, length);
    if (s < 0) s += length;
    const double x = s / spacing;
    std::size_t i = std::size_t(x);
    const double f = x - double(i);
    const std::size_t n = v.size();
    i %= n;
    return v[i] + f * (v[(i + 1) % n] - v[i]);
}

// Periodic Catmull-Rom interpolation (smooth offsets between the coarse grid's nodes).
double periodic_cubic(const std::vector<double>& v, double spacing, double length, double s) {
    s = std::fmod(s, length);
    if (s < 0) s += length;
    const std::size_t n = v.size();
    const double x = s / spacing;
    const std::size_t i = std::size_t(x) % n;
    const double t = x - std::floor(x);
    const double p0 = v[(i + n - 1) % n], p1 = v[i], p2 = v[(i + 1) % n], p3 = v[(i + 2) % n];
    return p1 + 0.5 * t * (p2 - p0 + t * (2 * p0 - 5 * p1 + 4 * p2 - p3 + t * (3 * (p1 - p2) + p3 - p0)));
}

// Minimum-curvature lateral offsets n on a closed grid: minimise sum ((P[i-1] - 2 P[i] + P[i+1]) . N[i])^2
// with P = C + n N (C centre, N left normal) subject to lo <= n <= hi.
//
// The normal matrix H = A^T A is cyclic pentadiagonal. Holding two neighbouring offsets fixed
// ("the break", on a straight) makes the rest banded, so each solve is a banded LDL^T in O(N). An
// active-set loop fixes offsets that leave their bounds and releases them when the gradient pulls
// them back inside; a second pass moves the break to another straight.
class CurvatureQp {
public:
    CurvatureQp(const Track& track, double spacing, double margin, std::size_t n) : N_(n) {
        cx_.resize(N_); cz_.resize(N_); nx_.resize(N_); nz_.resize(N_); lo_.resize(N_); hi_.resize(N_);
        kc_.resize(N_);
        for (std::size_t i = 0; i < N_; ++i) {
            const TrackSample t = track.at(double(i) * spacing);
            cx_[i] = t.x;
            cz_[i] = t.z;
            nx_[i] = std::cos(t.heading);  // left normal of (sin psi, cos psi)
            nz_[i] = -std::sin(t.heading);
            lo_[i] = -(t.width_right - margin);
            hi_[i] = t.width_left - margin;
            if (lo_[i] > hi_[i]) lo_[i] = hi_[i] = 0.5 * (t.width_left - t.width_right);
            kc_[i] = std::fabs(t.curvature);
        }
        // Residual per node: the second difference of the line projected on the node's normal,
        // r_i = (P[i-1] - 2 P[i] + P[i+1]) . N_i (the curvature; the tangential part only measures
        // uneven point spacing and would keep the line off the apex). H = A^T A, g0 = A^T d, with
        // H in cyclic band storage h_[j][d] = H(j, j + d), d = 0..2.
        h_.assign(N_, {0.0, 0.0, 0.0});
        g0_.assign(N_, 0.0);
        for (std::size_t i = 0; i < N_; ++i) {
            const std::size_t idx[3] = {(i + N_ - 1) % N_, i, (i + 1) % N_};
            double w[3];
            for (int a = 0; a < 3; ++a) w[a] = nx_[idx[a]] * nx_[i] + nz_[idx[a]] * nz_[i];
            w[1] = -2.0;
            const double d = (cx_[idx[0]] - 2 * cx_[i] + cx_[idx[2]]) * nx_[i] + (cz_[idx[0]] - 2 * cz_[i] + cz_[idx[2]]) * nz_[i];
            for (int a = 0; a < 3; ++a) {
                g0_[idx[a]] += w[a] * d;
                for (int b = a; b < 3; ++b) h_[idx[a]][std::size_t(b - a)] += w[a] * w[b];
            }
        }
        for (auto& row : h_) row[0] += 1e-6;  // Tikhonov: straights, where curvature ignores n
    }

    // H(j, k) for cyclic distance <= 2, else 0.
    double h(std::size_t j, std::size_t k) const {
        const std::size_t d = (k + N_ - j) % N_;
        if (d <= 2) return h_[j][d];
        const std::size_t e = (j + N_ - k) % N_;
        return e <= 2 ? h_[k][e] : 0.0;
    }

    // The index in the middle of the straightest stretch (lowest windowed centre curvature).
    std::size_t straightest(std::size_t avoid) const {
        const std::size_t w = std::max<std::size_t>(2, N_ / 100);
        double best = 1e300;
        std::size_t at = 0;
        for (std::size_t i = 0; i < N_; ++i) {
            const std::size_t dist = std::min((i + N_ - avoid) % N_, (avoid + N_ - i) % N_);
            if (avoid < N_ && dist < N_ / 4) continue;
            double acc = 0;
            for (std::size_t k = 0; k < 2 * w + 1; ++k) acc += kc_[(i + N_ - w + k) % N_];
            if (acc < best) best = acc, at = i;
        }
        return at;
    }

    void solve(std::vector<double>& n, std::size_t brk) const {
        for (std::size_t i = 0; i < N_; ++i) n[i] = std::clamp(n[i], lo_[i], hi_[i]);
        std::vector<char> fixed(N_, 0);
        const std::size_t b0 = brk % N_, b1 = (brk + 1) % N_;
        for (int outer = 0; outer < 60; ++outer) {
            solve_free(n, fixed, b0, b1);
            bool changed = false;
            for (std::size_t i = 0; i < N_; ++i) {
                if (!fixed[i] && (n[i] < lo_[i] - 1e-9 || n[i] > hi_[i] + 1e-9)) {
                    n[i] = std::clamp(n[i], lo_[i], hi_[i]);
                    fixed[i] = 1;
                    changed = true;
                }
            }
            for (std::size_t i = 0; i < N_; ++i) {
                if (!fixed[i]) continue;
                double g = g0_[i];
                for (std::size_t k = 0; k < 5; ++k) {
                    const std::size_t j = (i + N_ - 2 + k) % N_;
                    g += h(i, j) * n[j];
                }
                const bool at_lo = n[i] <= lo_[i] + 1e-9;
                if ((at_lo && g < 0) || (!at_lo && g > 0)) {
                    fixed[i] = 0;
                    changed = true;
                }
            }
            if (!changed) break;
        }
    }

private:
    // Banded LDL^T over the free offsets in order b1+1 ... b0-1 (the break b0, b1 held).
    void solve_free(std::vector<double>& n, const std::vector<char>& fixed, std::size_t b0, std::size_t b1) const {
        std::vector<std::size_t> f;
        f.reserve(N_);
        for (std::size_t k = 1; k + 1 < N_; ++k) {
            const std::size_t i = (b1 + k) % N_;
            if (!fixed[i] && i != b0 && i != b1) f.push_back(i);
        }
        const std::size_t m = f.size();
        if (m == 0) return;
        std::vector<std::array<double, 3>> band(m, {0.0, 0.0, 0.0});
        std::vector<double> rhs(m);
        std::vector<char> is_free(N_, 0);
        for (std::size_t r = 0; r < m; ++r) is_free[f[r]] = 1;
        for (std::size_t r = 0; r < m; ++r) {
            const std::size_t i = f[r];
            double b = -g0_[i];
            for (std::size_t k = 0; k < 5; ++k) {
                const std::size_t j = (i + N_ - 2 + k) % N_;
                if (!is_free[j]) b -= h(i, j) * n[j];
            }
            rhs[r] = b;
            for (std::size_t d = 0; d < 3 && r + d < m; ++d) {
                const std::size_t j = f[r + d];
                const std::size_t dist = (j + N_ - i) % N_;
                band[r][d] = dist <= 2 ? h(i, j) : 0.0;
            }
        }
        // LDL^T, bandwidth 2: band[r][0] becomes D, band[r][1..2] the L multipliers
        for (std::size_t r = 0; r < m; ++r) {
            for (std::size_t d = 1; d <= 2 && d <= r; ++d) {
                const std::size_t q = r - d;  // row above
                const double l = band[q][d];
                band[r][0] -= l * l * band[q][0];
                if (d == 1 && r + 1 < m) band[r][1] -= band[q][2] * band[q][1] * band[q][0];
            }
            if (band[r][0] <= 0) band[r][0] = 1e-12;
            for (std::size_t d = 1; d <= 2 && r + d < m; ++d) band[r][d] /= band[r][0];
        }
        // forward (L y = b), diagonal, backward (L^T x = y)
        for (std::size_t r = 0; r < m; ++r)
            for (std::size_t d = 1; d <= 2 && d <= r; ++d) rhs[r] -= band[r - d][d] * rhs[r - d];
        for (std::size_t r = 0; r < m; ++r) rhs[r] /= band[r][0];
        for (std::size_t r = m; r-- > 0;)
            for (std::size_t d = 1; d <= 2 && r + d < m; ++d) rhs[r] -= band[r][d] * rhs[r + d];
        for (std::size_t r = 0; r < m; ++r) n[f[r]] = rhs[r];
    }

    std::size_t N_;
    std::vector<double> cx_, cz_, nx_, nz_, lo_, hi_, kc_, g0_;
    std::vector<std::array<double, 3>> h_;
};

void minimise_curvature(const Track& track, double spacing, double margin, std::vector<double>& n) {
    CurvatureQp qp(track, spacing, margin, n.size());
    const std::size_t first = qp.straightest(n.size());
    qp.solve(n, first);
    qp.solve(n, qp.straightest(first));
}

}  // namespace

ReferenceDriver::ReferenceDriver(std::shared_ptr<const Track> track, const VehicleModel& model, DriverOptions options,
                                 double grip_factor)
    : track_(std::move(track)), model_(model), opt_(options), grip_(grip_factor) {
    if (!track_) throw std::invalid_argument("ReferenceDriver needs a track");
    if (!(opt_.line_spacing_m > 0) || !(opt_.coarse_spacing_m >= opt_.line_spacing_m))
        throw std::invalid_argument("DriverOptions: need 0 < line_spacing_m <= coarse_spacing_m");
    build_line();
    build_envelope();
    build_profile();
}

void ReferenceDriver::build_line() {
    const Track& tr = *track_;
    const double L = tr.length();
    // Solve on the coarse grid, then interpolate the offsets smoothly onto the fine grid.
    const std::size_t nc = std::max<std::size_t>(16, std::size_t(std::lround(L / opt_.coarse_spacing_m)));
    const double hc = L / double(nc);
    std::vector<double> coarse(nc, 0.0);
    minimise_curvature(tr, hc, opt_.edge_margin_m, coarse);
    const std::size_t nf = std::max<std::size_t>(16, std::size_t(std::lround(L / opt_.line_spacing_m)));
    spacing_ = L / double(nf);
    lateral_.resize(nf);
    for (std::size_t i = 0; i < nf; ++i) lateral_[i] = periodic_cubic(coarse, hc, L, double(i) * spacing_);
    n_ = lateral_.size();

    // Line geometry: points, heading offset, signed curvature (circle through i-2, i, i+2), smoothed.
    std::vector<double> px(n_), pz(n_);
    heading_offset_.assign(n_, 0.0);
    grade_.assign(n_, 0.0);
    for (std::size_t i = 0; i < n_; ++i) {
        double y;
        tr.position(double(i) * spacing_, lateral_[i], px[i], pz[i], y);
        grade_[i] = tr.grade(double(i) * spacing_);
    }
    std::vector<double> raw(n_);
    for (std::size_t i = 0; i < n_; ++i) {
        const std::size_t a = (i + n_ - 2) % n_, c = (i + 2) % n_;
        const double ax = px[i] - px[a], az = pz[i] - pz[a];
        const double bx = px[c] - px[i], bz = pz[c] - pz[i];
        const double cx = px[c] - px[a], cz = pz[c] - pz[a];
        // cross of forward vectors in (x, z) with left = (fz, -fx): + = left turn
        const double cross = ax * (-bz) - az * (-bx);
        const double la = std::hypot(ax, az), lb = std::hypot(bx, bz), lc = std::hypot(cx, cz);
        raw[i] = (la > 0 && lb > 0 && lc > 0) ? 2.0 * cross / (la * lb * lc) : 0.0;
        heading_offset_[i] = wrap_angle(std::atan2(cx, cz) - tr.heading(double(i) * spacing_));
    }
    // Average over +-curvature_window_m: the car cannot follow kinks shorter than that (the
    // TUMFTM centre line has 8 m-radius smoothing artefacts, e.g. at La Source), and pure pursuit
    // cuts them anyway.
    curvature_.assign(n_, 0.0);
    const int w = std::max(1, int(std::lround(opt_.curvature_window_m / spacing_)));
    for (std::size_t i = 0; i < n_; ++i) {
        double acc = 0;
        for (int k = -w; k <= w; ++k) acc += raw[(i + n_ + std::size_t(k + int(n_))) % n_];
        curvature_[i] = acc / double(2 * w + 1);
    }
}

void ReferenceDriver::build_envelope() {
    const VehicleParams& p = model_.params();
    const double m = p.mass_kg, L = p.wheelbase(), h = p.cog_height_m, R = p.tyre_radius_m;
    const std::size_t N = std::size_t(kEnvelopeMaxSpeed) + 1;
    env_ay_.assign(N, 0);
    env_ax_.assign(N, 0);
    env_brake_.assign(N, 0);
    for (std::size_t k = 0; k < N; ++k) {
        const double v = double(k);
        const double q = 0.5 * p.air_density * v * v;
        const double dff = q * p.cla_m2 * p.aero_front_share, dfr = q * p.cla_m2 * (1 - p.aero_front_share);
        const double front = m * kGravity * p.cog_to_rear_m / L + dff;
        const double rear = m * kGravity * p.cog_to_front_m / L + dfr;
        // lateral: the axle that saturates first, with lateral load transfer
        double ay = 10.0;
        for (int it = 0; it < 40; ++it) {
            const double tf = m * ay * h * p.roll_stiffness_front_share / p.track_front_m;
            const double trr = m * ay * h * (1 - p.roll_stiffness_front_share) / p.track_rear_m;
            const double fo = front / 2 + tf, fi = std::max(0.0, front / 2 - tf);
            const double ro = rear / 2 + trr, ri = std::max(0.0, rear / 2 - trr);
            const double cap_f = (model_.tyre_mu(true, fo) * fo + model_.tyre_mu(true, fi) * fi) * grip_;
            const double cap_r = (model_.tyre_mu(false, ro) * ro + model_.tyre_mu(false, ri) * ri) * grip_;
            const double ay_new = std::min(cap_f / (m * p.cog_to_rear_m / L), cap_r / (m * p.cog_to_front_m / L));
            ay = 0.5 * (ay + ay_new);
        }
        env_ay_[k] = ay * opt_.lateral_grip_use;
        // drive: best gear, traction-limited by the rear axle (with longitudinal transfer)
        double engine_force = 0;
        for (int g = 1; g <= p.gear_count; ++g) {
            double rpm = v / R / model_.ratio(g) / VehicleModel::kRpmToRadS;
            if (rpm > p.rev_limit_rpm) continue;
            rpm = std::max(rpm, p.launch_rpm);
            double f = model_.engine_torque(rpm) * p.driveline_efficiency / model_.ratio(g) / R;
            if (v > p.mguk_min_speed_mps) f += p.mguk_kw * 1000.0 * p.driveline_efficiency / v;
            engine_force = std::max(engine_force, f);
        }
        double ax = 5.0;
        for (int it = 0; it < 40; ++it) {
            // traction of the driven axle(s), with the longitudinal load transfer
            const double r_load = rear + m * ax * h / L, f_load = std::max(0.0, front - m * ax * h / L);
            double cap = 0.0;
            if (model_.drives_rear()) cap += model_.tyre_mu(false, r_load / 2) * p.tyre_mu_x_scale_rear * r_load;
            if (model_.drives_front()) cap += model_.tyre_mu(true, f_load / 2) * p.tyre_mu_x_scale_front * f_load;
            cap *= grip_;
            ax = 0.5 * (ax + std::min(engine_force, cap) / m);
        }
        env_ax_[k] = ax * opt_.longitudinal_grip_use;
        // brake: tyre limit per axle under the fixed bias, or the brake torque
        double bx = 20.0;
        for (int it = 0; it < 40; ++it) {
            const double f_load = front + m * bx * h / L, r_load = std::max(0.0, rear - m * bx * h / L);
            const double cap_f = model_.tyre_mu(true, f_load / 2) * p.tyre_mu_x_scale_front * f_load * grip_;
            const double cap_r = model_.tyre_mu(false, r_load / 2) * p.tyre_mu_x_scale_rear * r_load * grip_;
            const double f = std::min({cap_f / p.brake_bias_front, cap_r / (1 - p.brake_bias_front),
                                       p.max_brake_torque_nm / R});
            bx = 0.5 * (bx + f / m);
        }
        env_brake_[k] = bx * opt_.longitudinal_grip_use;
    }
}

double ReferenceDriver::lateral_limit(double v) const { return table_lookup(env_ay_, v); }
double ReferenceDriver::accel_limit(double v) const { return table_lookup(env_ax_, v); }
double ReferenceDriver::brake_limit(double v) const { return table_lookup(env_brake_, v); }

void ReferenceDriver::build_profile() {
    const VehicleParams& p = model_.params();
    const double m = p.mass_kg;
    auto resist = [&](double v) {
        return 0.5 * p.air_density * p.cda_m2 * v * v / m + (p.rolling_resistance + p.rolling_resistance_v2 * v * v) * kGravity;
    };
    std::vector<double> ds(n_), vlim(n_);
    double x0, z0, y0, x1, z1, y1;
    for (std::size_t i = 0; i < n_; ++i) {
        track_->position(double(i) * spacing_, lateral_[i], x0, z0, y0);
        track_->position(double(i + 1) * spacing_, lateral_[(i + 1) % n_], x1, z1, y1);
        ds[i] = std::max(0.1, std::hypot(x1 - x0, z1 - z0));
        const double k = std::max(std::fabs(curvature_[i]), 1e-6);
        double v = kProfileTopSpeed;
        for (int it = 0; it < 30; ++it) v = std::min(kProfileTopSpeed, std::sqrt(lateral_limit(v) / k));
        vlim[i] = v;
    }
    const std::size_t start = std::size_t(std::min_element(vlim.begin(), vlim.end()) - vlim.begin());
    std::vector<double> v(vlim);
    auto ellipse = [&](double vel, double curv) {
        const double ay = vel * vel * std::fabs(curv), aymax = lateral_limit(vel);
        const double r = std::min(1.0, ay / aymax);
        return std::sqrt(std::max(0.0, 1.0 - r * r));
    };
    // forward (acceleration) pass over one lap from the slowest point, then a second to settle
    for (int lap = 0; lap < 2; ++lap) {
        for (std::size_t k = 0; k < n_; ++k) {
            const std::size_t i = (start + k) % n_, j = (i + 1) % n_;
            const double a = accel_limit(v[i]) * ellipse(v[i], curvature_[i]) - resist(v[i]) - kGravity * grade_[i];
            v[j] = std::min(v[j], std::sqrt(std::max(0.0, v[i] * v[i] + 2.0 * a * ds[i])));
        }
    }
    // backward (braking) pass
    for (int lap = 0; lap < 2; ++lap) {
        for (std::size_t k = 0; k < n_; ++k) {
            const std::size_t j = (start + n_ - k) % n_, i = (j + n_ - 1) % n_;
            const double b = brake_limit(v[j]) * ellipse(v[j], curvature_[j]) + resist(v[j]) + kGravity * grade_[i];
            v[i] = std::min(v[i], std::sqrt(std::max(0.0, v[j] * v[j] + 2.0 * b * ds[i])));
        }
    }
    speed_ = v;
    planned_time_ = 0;
    for (std::size_t i = 0; i < n_; ++i) planned_time_ += ds[i] / std::max(0.5, 0.5 * (v[i] + v[(i + 1) % n_]));
}

double ReferenceDriver::interp(const std::vector<double>& v, double s) const {
    return periodic_interp(v, spacing_, track_->length(), s);
}
double ReferenceDriver::lateral_at(double s) const { return interp(lateral_, s); }
double ReferenceDriver::speed_at(double s) const { return interp(speed_, s); }
double ReferenceDriver::line_heading_offset(double s) const {
    const double x = std::fmod(std::fmod(s, track_->length()) + track_->length(), track_->length()) / spacing_;
    return heading_offset_[std::size_t(x) % n_];
}

void ReferenceDriver::reset_guards() {
    throttle_limit_ = 1.0;
    brake_limit_ = 1.0;
    last_call_time_s_ = -1.0;
}

CarInput ReferenceDriver::control(const CarState& st, const CarProgress& pr) {
    const VehicleParams& p = model_.params();
    const double v = std::max(0.0, st.vx);

    // ---- steering: Stanley on the line (front axle) + curvature feed-forward + yaw damping ----
    const double preview_s = pr.s + opt_.steer_preview_s * v;
    const double kappa = interp(curvature_, preview_s);
    const double line_n = lateral_at(pr.s);
    const double heading_err = wrap_angle(pr.heading_error - line_heading_offset(pr.s));  // + = pointing left of the line
    const double err_front = (pr.lateral - line_n) + p.cog_to_front_m * std::sin(heading_err);  // + = left of the line
    const double delta = std::atan(p.wheelbase() * kappa) - heading_err -
                         std::atan(opt_.stanley_gain * err_front / (v + opt_.stanley_soft_mps)) +
                         opt_.yaw_damping_s * (v * kappa - st.r);

    // Never ask the front tyres for more slip angle than just past their peak: beyond it more lock
    // only loses grip (the car would plough on at full lock).
    double delta_cmd = delta;
    const double front_slip = 0.5 * (st.slip_angle[kFL] + st.slip_angle[kFR]);
    const double excess = std::fabs(front_slip) - opt_.front_slip_limit * p.tyre_peak_slip_angle_front_rad;
    if (excess > 0.0 && (delta_cmd - st.steer_angle) * front_slip < 0.0)
        delta_cmd = st.steer_angle + std::copysign(excess, front_slip);

    CarInput out;
    out.steer = float(std::clamp(-delta_cmd / p.max_steer_rad, -1.0, 1.0));

    // ---- speed: profile feed-forward + proportional, onto throttle or brake ----
    const double preview = opt_.preview_s * v;
    const double v_ref = speed_at(pr.s + preview);
    const double v_next = speed_at(pr.s + preview + 4.0);
    const double a_ff = (v_next * v_next - v_ref * v_ref) / 8.0;
    const double a_cmd = a_ff + opt_.speed_gain * (v_ref - v);
    const double grade = track_->grade(pr.s);
    const double resist = (0.5 * p.air_density * p.cda_m2 * v * v) / p.mass_kg +
                          (p.rolling_resistance + p.rolling_resistance_v2 * v * v) * kGravity + kGravity * grade;
    double throttle = 0.0, brake = 0.0;
    if (a_cmd + resist >= 0.0) {
        const double full = std::max(1.0, table_lookup(env_ax_, v) / opt_.longitudinal_grip_use);
        throttle = std::clamp((a_cmd + resist) / full + (v_ref - v > 1.0 ? 1.0 : 0.0), 0.0, 1.0);
    } else {
        const double full = p.max_brake_torque_nm / p.tyre_radius_m / p.mass_kg;
        brake = std::clamp(-(a_cmd + resist) / full, 0.0, 1.0);
    }
    // ---- the driver's traction and lock-up guards ----
    double driven_slip = 0.0;  // the driven wheels' largest wheelspin
    if (model_.drives_rear()) driven_slip = std::max(st.slip_ratio[kRL], st.slip_ratio[kRR]);
    if (model_.drives_front()) driven_slip = std::max({driven_slip, st.slip_ratio[kFL], st.slip_ratio[kFR]});
    // Thresholds scale with the tyre's peak slip ratio (0.11 on FormulaAlpha2022's slicks).
    const double slip_scale = p.tyre_peak_slip_ratio / 0.11;
    // A cut acts once per call (on what the driver sees now); recovery is per physics tick since the
    // previous call: 1 when called every tick (the reference lap), 33 at 10 Hz. A reset or teleport
    // (time going backwards) counts as one tick.
    const double since = pr.time_s - last_call_time_s_;
    const double ticks = last_call_time_s_ < 0.0 || since <= 0.0 ? 1.0
                                                                  : std::clamp(std::round(since * kPhysicsHz), 1.0, 1000.0);
    last_call_time_s_ = pr.time_s;
    if (driven_slip > 0.10 * slip_scale) throttle_limit_ = std::max(0.05, throttle_limit_ - 0.12);
    else throttle_limit_ = std::min(1.0, throttle_limit_ + 0.02 * ticks);
    double min_slip = 0.0;
    for (int i = 0; i < 4; ++i) min_slip = std::min(min_slip, st.slip_ratio[i]);
    if (min_slip < -0.13 * slip_scale && v > 3.0) brake_limit_ = std::max(0.0, std::min(brake, brake_limit_) * 0.7);
    else brake_limit_ = std::min(1.0, brake_limit_ + 0.03 * ticks);
    out.throttle = float(std::min(throttle, throttle_limit_));
    out.brake = float(std::min(brake, brake_limit_));
    out.clutch = 0.f;
    out.drs = 0;
    return out;
}

StraightLineResult straight_line_run(const VehicleParams& params, double max_time_s) {
    const VehicleModel model(params);
    const VehicleParams& p = model.params();
    CarState s = model.make_state(0.0, 0.0, 0.0, 0.0);
    const RoadContact road;  // flat, dry
    StraightLineResult res;
    const int max_ticks = int(max_time_s * kPhysicsHz);
    const int sample_every = int(std::lround(0.1 * kPhysicsHz));
    double throttle_limit = 1.0;
    // Settled: under 0.2 km/h gained over the last 5 s (top speeds approach their asymptote slowly).
    const int settle_ticks = int(5.0 * kPhysicsHz);
    std::vector<double> history;
    history.reserve(std::size_t(max_ticks) + 1);
    for (int t = 0; t < max_ticks; ++t) {
        double driven_slip = 0.0;
        if (model.drives_rear()) driven_slip = std::max(s.slip_ratio[kRL], s.slip_ratio[kRR]);
        if (model.drives_front()) driven_slip = std::max({driven_slip, s.slip_ratio[kFL], s.slip_ratio[kFR]});
        if (driven_slip > 1.1 * p.tyre_peak_slip_ratio) throttle_limit = std::max(0.05, throttle_limit - 0.12);
        else throttle_limit = std::min(1.0, throttle_limit + 0.02);
        CarControls c;
        c.throttle = float(throttle_limit);
        model.step(s, c, road, kPhysicsDt);
        const double kmh = s.vx * 3.6, time = double(t + 1) * kPhysicsDt;
        if (res.time_to_97_kmh_s < 0 && kmh >= 96.56) res.time_to_97_kmh_s = time;
        if (res.time_to_100_kmh_s < 0 && kmh >= 100.0) res.time_to_100_kmh_s = time;
        if ((t + 1) % sample_every == 0) res.speed_kmh.push_back(kmh);
        history.push_back(kmh);
        if (kmh > res.top_speed_kmh) {
            res.top_speed_kmh = kmh;
            res.time_to_top_s = time;
            res.top_gear = s.gear;
            res.top_rpm = s.engine_rpm;
        }
        if (t > settle_ticks && kmh - history[std::size_t(t - settle_ticks)] < 0.2) break;
    }
    res.rev_limited = res.top_gear == p.gear_count && res.top_rpm > 0.98 * p.rev_limit_rpm;
    return res;
}

ReferenceLapResult run_reference_lap(std::shared_ptr<const Track> track, const VehicleParams& params,
                                     const std::string& weather, DriverOptions options, double run_up_m,
                                     double time_limit_s) {
    if (!track) throw std::invalid_argument("run_reference_lap needs a track");
    SimOptions so;
    so.weather = weather;
    so.lap_start = "flying";
    SimBatch sim(1, track, params, so);
    ReferenceDriver driver(track, sim.model(), options, sim.weather_grip_factor());

    const double s0 = -std::min(run_up_m, 0.8 * track->length());
    const double v0 = driver.speed_at(s0);
    sim.teleport(0, s0, driver.lateral_at(s0), driver.line_heading_offset(s0), v0, true);
    sim.write_pages();

    ReferenceLapResult res;
    res.track_length_m = track->length();
    const int max_ticks = int(time_limit_s * kPhysicsHz);
    int stopped_ticks = 0;
    int collisions_before = 0;
    for (int t = 0; t < max_ticks; ++t) {
        const CarProgress& pr = sim.progress(0);
        const bool was_timing = pr.timing;
        sim.controls()[0] = driver.control(sim.state(0), pr);
        sim.step(1);
        const CarProgress& now = sim.progress(0);
        if (!was_timing && now.timing) collisions_before = now.collisions;
        if (now.completed_laps >= 1) {
            res.completed = true;
            res.lap_time_s = now.last_lap_ms / 1000.0;
            res.collisions = now.collisions - collisions_before;
            break;
        }
        if (now.timing) {
            const PhysicsPage& ph = sim.physics_pages()[0];
            const CarInput& in = sim.controls()[0];
            res.trace.push_back({now.time_s - now.lap_start_time_s, now.s, sim.state(0).x, sim.state(0).z,
                                 double(ph.speedKmh), double(ph.accG[0]), double(ph.accG[2]), double(in.throttle),
                                 double(in.brake), double(in.steer), ph.gear - 1});
            if (ph.numberOfTyresOut > 0) ++res.tyres_out_ticks;
        }
        stopped_ticks = sim.state(0).vx < 1.0 ? stopped_ticks + 1 : 0;
        if (stopped_ticks > int(10 * kPhysicsHz)) break;  // stuck: not a lap
    }
    if (!res.trace.empty()) {
        // Peaks of accelerations over a centred 0.1 s moving average (telemetry-style filtering).
        const std::size_t n = res.trace.size(), w = std::size_t(0.05 * kPhysicsHz);
        res.top_speed_kmh = 0;
        res.min_speed_kmh = 1e9;
        double full_dist = 0, dist = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const auto& a = res.trace[i];
            res.top_speed_kmh = std::max(res.top_speed_kmh, a.speed_kmh);
            res.min_speed_kmh = std::min(res.min_speed_kmh, a.speed_kmh);
            const double d = a.speed_kmh / 3.6 * kPhysicsDt;
            dist += d;
            if (a.throttle >= 0.99) full_dist += d;
            if (i < w || i + w >= n) continue;
            double lat = 0, lon = 0;
            for (std::size_t j = i - w; j <= i + w; ++j) {
                lat += res.trace[j].lateral_g;
                lon += res.trace[j].longitudinal_g;
            }
            lat /= double(2 * w + 1);
            lon /= double(2 * w + 1);
            res.peak_lateral_g = std::max(res.peak_lateral_g, std::fabs(lat));
            res.peak_braking_g = std::max(res.peak_braking_g, -lon);
        }
        res.full_throttle_share = dist > 0 ? full_dist / dist : 0;
    }
    return res;
}

}  // namespace ac_core::sim
