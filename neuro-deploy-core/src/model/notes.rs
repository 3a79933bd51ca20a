//! [`DeployNotes`]: what the record of a deploy says beyond what it set — why a closed gate let
//! it through, who approved it. The gates produce it; the plan and the report carry it, and the
//! annotations, the GitHub Deployment's payload and the notification render it.

use serde::{Deserialize, Serialize};

/// The notes of one deploy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployNotes {
    /// Why closed gates let it through (a deploy window or the soak overridden with a reason, a
    /// rollback inside a deny window), one note per gate; written as one line, `; ` between.
    #[serde(
        rename = "overridden",
        default,
        with = "joined",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub overrides: Vec<String>,
    /// Who approved it (the approvals it uses, spent once it writes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approved_by: Vec<String>,
}

impl DeployNotes {
    /// Adds `other`'s notes to these.
    pub fn extend(&mut self, other: DeployNotes) {
        self.overrides.extend(other.overrides);
        self.approved_by.extend(other.approved_by);
    }

    /// The overrides as one line (`neuro-deploy.io/override`, the payload's `override`), when
    /// there are any.
    pub fn overridden(&self) -> Option<String> {
        (!self.overrides.is_empty()).then(|| self.overrides.join("; "))
    }

    /// The approvers as one line (`neuro-deploy.io/approved-by`), when there are any.
    pub fn approvers(&self) -> Option<String> {
        (!self.approved_by.is_empty()).then(|| self.approved_by.join(", "))
    }
}

/// The overrides as one string on the wire, as they always were.
mod joined {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(notes: &[String], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&notes.join("; "))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        let line = Option::<String>::deserialize(d)?.unwrap_or_default();
        Ok(if line.is_empty() {
            Vec::new()
        } else {
            line.split("; ").map(str::to_owned).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::DeployNotes;

    #[test]
    fn the_notes_read_back_as_written() {
        let notes = DeployNotes {
            overrides: vec!["window: hotfix".into(), "second gate: incident 7".into()],
            approved_by: vec!["alice".into(), "bob".into()],
        };
        let json = serde_json::to_value(&notes).unwrap_or_default();
        assert_eq!(
            json["overridden"],
            "window: hotfix; second gate: incident 7"
        );
        assert_eq!(notes.approvers().as_deref(), Some("alice, bob"));
        let back: DeployNotes = serde_json::from_value(json).unwrap_or_default();
        assert_eq!(back, notes);
        let none = serde_json::to_value(DeployNotes::default()).unwrap_or_default();
        assert_eq!(none, serde_json::json!({}));
    }
}
