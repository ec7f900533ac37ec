//! Escape-time Mandelbrot set in `f64`, and an ASCII renderer.
//!
//! Only `+`, `-` and `*` on `f64` are used, in a fixed order, so every IEEE 754 machine computes the
//! same iteration counts.

/// A rectangle of the complex plane sampled on a `width * height` grid of cell centres.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct View {
    /// Real part of the left edge.
    pub re_min: f64,
    /// Real part of the right edge.
    pub re_max: f64,
    /// Imaginary part of the bottom edge.
    pub im_min: f64,
    /// Imaginary part of the top edge.
    pub im_max: f64,
    /// Samples per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
}

impl View {
    /// The classic full view, `[-2, 0.5] x [-1.25, 1.25]`.
    pub const fn classic(width: usize, height: usize) -> Self {
        Self {
            re_min: -2.0,
            re_max: 0.5,
            im_min: -1.25,
            im_max: 1.25,
            width,
            height,
        }
    }

    /// The point sampled for column `x` and row `y` (row 0 at the top).
    pub fn point(&self, x: usize, y: usize) -> (f64, f64) {
        let re = self.re_min + (self.re_max - self.re_min) * (x as f64 + 0.5) / self.width as f64;
        let im = self.im_max - (self.im_max - self.im_min) * (y as f64 + 0.5) / self.height as f64;
        (re, im)
    }
}

/// How many iterations of `z = z^2 + c` from `z = 0` keep `|z| <= 2`, up to `max_iter`.
pub fn escape_time(c_re: f64, c_im: f64, max_iter: u32) -> u32 {
    let (mut re, mut im) = (0.0f64, 0.0f64);
    let mut n = 0;
    while n < max_iter {
        let re2 = re * re;
        let im2 = im * im;
        if re2 + im2 > 4.0 {
            break;
        }
        im = 2.0 * re * im + c_im;
        re = re2 - im2 + c_re;
        n += 1;
    }
    n
}

/// Totals over a [`View`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct GridStats {
    /// Sum of the escape times of every sample.
    pub total_iterations: u64,
    /// Samples that never escaped (counted as inside the set).
    pub inside: u64,
}

/// Runs [`escape_time`] on every sample of `view`.
pub fn grid(view: &View, max_iter: u32) -> GridStats {
    let mut stats = GridStats {
        total_iterations: 0,
        inside: 0,
    };
    for y in 0..view.height {
        for x in 0..view.width {
            let (re, im) = view.point(x, y);
            let n = escape_time(re, im, max_iter);
            stats.total_iterations += u64::from(n);
            stats.inside += u64::from(n == max_iter);
        }
    }
    stats
}

/// Characters from fast escape (escape time 1) to inside the set; see [`render_ascii`].
pub const PALETTE: &[u8] = b" .:-=+*#%@";

/// Draws `view` into `out` as `height` lines of `width` characters, each line ended by `\n`: a point
/// inside the set (no escape within `max_iter`) is the last [`PALETTE`] character, one escaping after `n`
/// iterations is character `floor(log2(n))` (at most the one before last). Returns the
/// number of bytes written, or `None` when `out` is shorter than `(width + 1) * height`.
pub fn render_ascii(view: &View, max_iter: u32, out: &mut [u8]) -> Option<usize> {
    let line = view.width.checked_add(1)?;
    let len = line.checked_mul(view.height)?;
    let out = out.get_mut(..len)?;
    let last = PALETTE.len() - 1;
    for (y, row) in out.chunks_exact_mut(line).enumerate() {
        for (x, cell) in row.iter_mut().take(view.width).enumerate() {
            let (re, im) = view.point(x, y);
            let n = escape_time(re, im, max_iter);
            // Inside: the last character; outside: one step per doubling of the escape time.
            let shade = if n >= max_iter {
                last
            } else {
                (n.max(1).ilog2() as usize).min(last - 1)
            };
            *cell = PALETTE[shade];
        }
        row[view.width] = b'\n';
    }
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_points() {
        assert_eq!(escape_time(0.0, 0.0, 1000), 1000);
        assert_eq!(escape_time(-1.0, 0.0, 1000), 1000); // period-2 cycle 0, -1, 0, ...
        assert_eq!(escape_time(-2.0, 0.0, 1000), 1000); // 0, -2, 2, 2, ... stays on |z| = 2
        assert_eq!(escape_time(0.0, 1.0, 1000), 1000); // 0, i, -1+i, -i, -1+i, ...
        // c = 1: z = 0, 1, 2, 5: the check before the 4th step sees |5| > 2.
        assert_eq!(escape_time(1.0, 0.0, 1000), 3);
        // c = 0.25 + 0.01i lies just outside the cusp, c = 0.25 is on the boundary (z -> 1/2).
        assert_eq!(escape_time(0.25, 0.0, 10_000), 10_000);
        assert!(escape_time(0.26, 0.0, 10_000) < 10_000);
    }

    #[test]
    fn area_estimate_is_near_the_known_area() {
        // The area of the Mandelbrot set is 1.50659177 (Förstemann's pixel counting; Bittner et al.).
        // A 500 x 500 grid at 2000 iterations over-counts the boundary a little.
        let view = View::classic(500, 500);
        let stats = grid(&view, 2000);
        let cell = 2.5 * 2.5 / (500.0 * 500.0);
        let area = stats.inside as f64 * cell;
        assert!((area - 1.50659).abs() < 0.02, "area {area}");
    }

    #[test]
    fn ascii_is_symmetric_about_the_real_axis() {
        let view = View::classic(41, 21);
        let mut out = [0u8; 42 * 21];
        assert_eq!(render_ascii(&view, 200, &mut out), Some(42 * 21));
        for y in 0..21 {
            let row = &out[y * 42..y * 42 + 42];
            let mirror = &out[(20 - y) * 42..(20 - y) * 42 + 42];
            assert_eq!(row, mirror, "row {y}");
            assert_eq!(row[41], b'\n');
        }
        // The middle row passes through the main cardioid: some cells are inside the set.
        assert!(out[10 * 42..10 * 42 + 41].contains(&b'@'));
        assert_eq!(render_ascii(&view, 200, &mut [0u8; 10]), None);
    }
}
