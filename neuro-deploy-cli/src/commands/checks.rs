//! One preflight check of `doctor` (what was checked, what was seen, the fix): passed, failed,
//! or passed with a warning — shared by `doctor`'s own checks and `duties`.

use serde::Serialize;

/// One check.
#[derive(Debug, Serialize)]
pub struct Check {
    /// What was checked.
    pub check: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was seen.
    pub detail: String,
    /// What to do when it failed (or holds with a warning).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// Passed, but something does not hold that should (a guarantee the identity can break).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub warning: bool,
}

/// A check that passed.
pub(crate) fn passed(check: String, detail: String) -> Check {
    Check {
        check,
        ok: true,
        detail,
        fix: None,
        warning: false,
    }
}

/// A check that failed, with the fix.
pub(crate) fn failed(check: String, detail: String, fix: String) -> Check {
    Check {
        check,
        ok: false,
        detail,
        fix: Some(fix),
        warning: false,
    }
}

/// A check that does not fail the preflight but names what does not hold, and the fix.
pub(crate) fn warned(check: String, detail: String, fix: String) -> Check {
    Check {
        check,
        ok: true,
        detail,
        fix: Some(fix),
        warning: true,
    }
}
