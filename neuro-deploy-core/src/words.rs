//! Words for people: a count with its noun in the right number (`1 sample`, `3 samples`).

/// `count` and `noun`, plural unless the count is one (every noun used here takes `-s`).
pub fn counted(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::counted;

    #[test]
    fn one_is_singular_everything_else_plural() {
        assert_eq!(counted(1, "sample"), "1 sample");
        assert_eq!(counted(0, "sample"), "0 samples");
        assert_eq!(counted(3, "Deployment"), "3 Deployments");
    }
}
