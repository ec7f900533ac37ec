//! The n-body simulation of the Computer Language Benchmarks Game: the Sun and the four gas giants, with
//! the benchmark's published initial state, time step and energy function.
//!
//! The order of floating-point operations follows the benchmark's reference programs, so the energies
//! printed to nine decimals match the published expected output (-0.169075164 initially, -0.169087605
//! after 1000 steps). `sqrt` comes from `libm` and is correctly rounded, as IEEE 754 requires of a
//! hardware square root, so every target gets the same bits.

const PI: f64 = core::f64::consts::PI;
const SOLAR_MASS: f64 = 4.0 * PI * PI;
const DAYS_PER_YEAR: f64 = 365.24;

/// One body: position, velocity, mass.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Body {
    /// Position (AU).
    pub pos: [f64; 3],
    /// Velocity (AU per year).
    pub vel: [f64; 3],
    /// Mass (in units where G = 1 and the Sun's mass is 4 pi^2).
    pub mass: f64,
}

const fn body(pos: [f64; 3], vel_per_day: [f64; 3], solar_masses: f64) -> Body {
    Body {
        pos,
        vel: [
            vel_per_day[0] * DAYS_PER_YEAR,
            vel_per_day[1] * DAYS_PER_YEAR,
            vel_per_day[2] * DAYS_PER_YEAR,
        ],
        mass: solar_masses * SOLAR_MASS,
    }
}

/// The benchmark's initial state, before the Sun's momentum is offset (the reference programs' literals,
/// verbatim).
#[expect(
    clippy::excessive_precision,
    reason = "the benchmark's literals, copied digit for digit"
)]
pub const INITIAL: [Body; 5] = [
    body([0.0; 3], [0.0; 3], 1.0),
    // Jupiter
    body(
        [
            4.84143144246472090e+00,
            -1.16032004402742839e+00,
            -1.03622044471123109e-01,
        ],
        [
            1.66007664274403694e-03,
            7.69901118419740425e-03,
            -6.90460016972063023e-05,
        ],
        9.54791938424326609e-04,
    ),
    // Saturn
    body(
        [
            8.34336671824457987e+00,
            4.12479856412430479e+00,
            -4.03523417114321381e-01,
        ],
        [
            -2.76742510726862411e-03,
            4.99852801234917238e-03,
            2.30417297573763929e-05,
        ],
        2.85885980666130812e-04,
    ),
    // Uranus
    body(
        [
            1.28943695621391310e+01,
            -1.51111514016986312e+01,
            -2.23307578892655734e-01,
        ],
        [
            2.96460137564761618e-03,
            2.37847173959480950e-03,
            -2.96589568540237556e-05,
        ],
        4.36624404335156298e-05,
    ),
    // Neptune
    body(
        [
            1.53796971148509165e+01,
            -2.59193146099879641e+01,
            1.79258772950371181e-01,
        ],
        [
            2.68067772490389322e-03,
            1.62824170038242295e-03,
            -9.51592254519715870e-05,
        ],
        5.15138902046611451e-05,
    ),
];

/// A system of bodies.
#[derive(Clone, Debug, PartialEq)]
pub struct System {
    /// The bodies, Sun first.
    pub bodies: [Body; 5],
}

impl Default for System {
    fn default() -> Self {
        Self::new()
    }
}

impl System {
    /// The benchmark's initial state with the Sun's momentum offset so the total momentum is zero.
    pub fn new() -> Self {
        let mut bodies = INITIAL;
        let mut p = [0.0f64; 3];
        for b in &bodies {
            for (pk, vk) in p.iter_mut().zip(b.vel) {
                *pk += vk * b.mass;
            }
        }
        for (vk, pk) in bodies[0].vel.iter_mut().zip(p) {
            *vk = -pk / SOLAR_MASS;
        }
        Self { bodies }
    }

    /// Advances the system by `dt`.
    pub fn advance(&mut self, dt: f64) {
        let n = self.bodies.len();
        for i in 0..n {
            let (head, tail) = self.bodies.split_at_mut(i + 1);
            let bi = &mut head[i];
            for bj in tail.iter_mut() {
                let d = [
                    bi.pos[0] - bj.pos[0],
                    bi.pos[1] - bj.pos[1],
                    bi.pos[2] - bj.pos[2],
                ];
                let d2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                let mag = dt / (d2 * libm::sqrt(d2));
                for (k, &dk) in d.iter().enumerate() {
                    bi.vel[k] -= dk * bj.mass * mag;
                    bj.vel[k] += dk * bi.mass * mag;
                }
            }
        }
        for b in &mut self.bodies {
            for (p, v) in b.pos.iter_mut().zip(b.vel) {
                *p += dt * v;
            }
        }
    }

    /// Total energy: kinetic minus pairwise potential.
    pub fn energy(&self) -> f64 {
        let mut e = 0.0;
        for (i, bi) in self.bodies.iter().enumerate() {
            e += 0.5
                * bi.mass
                * (bi.vel[0] * bi.vel[0] + bi.vel[1] * bi.vel[1] + bi.vel[2] * bi.vel[2]);
            for bj in &self.bodies[i + 1..] {
                let d = [
                    bi.pos[0] - bj.pos[0],
                    bi.pos[1] - bj.pos[1],
                    bi.pos[2] - bj.pos[2],
                ];
                e -= bi.mass * bj.mass / libm::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
            }
        }
        e
    }
}

/// Runs `steps` steps of 0.01 years from the initial state and returns the final energy.
pub fn energy_after(steps: u32) -> f64 {
    let mut s = System::new();
    for _ in 0..steps {
        s.advance(0.01);
    }
    s.energy()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_energies() {
        // The benchmark's expected output for n = 1000: -0.169075164 then -0.169087605.
        let e0 = System::new().energy();
        assert!((e0 - -0.169_075_164).abs() < 5e-10, "initial {e0}");
        let e1 = energy_after(1000);
        assert!((e1 - -0.169_087_605).abs() < 5e-10, "after 1000 steps {e1}");
    }

    #[test]
    fn momentum_is_zero_after_offset() {
        let s = System::new();
        for k in 0..3 {
            let p: f64 = s.bodies.iter().map(|b| b.vel[k] * b.mass).sum();
            assert!(p.abs() < 1e-15, "axis {k}: {p}");
        }
    }
}
