//! A queue's samples as an inline SVG sparkline: the path of a polyline scaled into a small
//! box. Pure, so the page needs no script and no image to draw it.

/// Width of the sparkline's box, in SVG units.
pub const WIDTH: u32 = 120;
/// Height of the sparkline's box, in SVG units.
pub const HEIGHT: u32 = 24;

/// The `points` of an SVG `<polyline>` drawing `values` left to right: the highest value at the
/// top (never below 1, so an empty queue lies flat on the bottom), one step per sample. Empty
/// for no samples; a single sample is a flat line.
pub fn points(values: &[u64]) -> String {
    let Some(&highest) = values.iter().max() else {
        return String::new();
    };
    let highest = highest.max(1) as f64;
    let height = f64::from(HEIGHT);
    let y = |value: u64| height - 1.0 - (value as f64 / highest) * (height - 2.0);
    if values.len() == 1 {
        let y = y(values[0]);
        return format!("0,{y:.1} {WIDTH},{y:.1}");
    }
    let step = f64::from(WIDTH) / (values.len() - 1) as f64;
    values
        .iter()
        .enumerate()
        .map(|(i, &value)| format!("{:.1},{:.1}", i as f64 * step, y(value)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::points;

    #[test]
    fn the_highest_sample_is_at_the_top_and_an_empty_queue_lies_on_the_bottom() {
        assert_eq!(points(&[]), "");
        assert_eq!(points(&[0]), "0,23.0 120,23.0");
        assert_eq!(points(&[0, 0, 0]), "0.0,23.0 60.0,23.0 120.0,23.0");
        assert_eq!(points(&[0, 4, 2]), "0.0,23.0 60.0,1.0 120.0,12.0");
    }
}
