//! The documented JSON of Prometheus's HTTP API (`/api/v1/query`) and Alertmanager's API v2
//! (`/api/v2/alerts`), read into the core's words.

use std::collections::BTreeMap;

use neuro_deploy_core::model::{ActiveAlert, QueryAnswer, Series};
use serde::Deserialize;

/// Every answer of Prometheus's API: `{"status": "success", "data": …}` or
/// `{"status": "error", "errorType": …, "error": …}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope {
    pub status: String,
    #[serde(default)]
    pub data: Option<QueryData>,
    #[serde(default, rename = "errorType")]
    pub error_type: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

/// `data` of an instant query.
#[derive(Debug, Deserialize)]
pub(crate) struct QueryData {
    #[serde(rename = "resultType")]
    pub result_type: String,
    pub result: serde_json::Value,
}

/// `[<unix time>, "<value>"]`.
type SampleValue = (f64, String);

#[derive(Debug, Deserialize)]
struct VectorItem {
    metric: BTreeMap<String, String>,
    value: SampleValue,
}

/// A sample's value as Prometheus writes it (`"0.5"`, `"NaN"`, `"+Inf"`, `"-Inf"`).
fn number(text: &str) -> Result<f64, String> {
    match text {
        "NaN" => Ok(f64::NAN),
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        other => other
            .parse()
            .map_err(|_| format!("`{other}` is not a sample value")),
    }
}

impl QueryData {
    /// The answer, or why it is not one verification can judge (a range vector, a string).
    pub(crate) fn answer(self) -> Result<QueryAnswer, String> {
        let malformed = |e: serde_json::Error| format!("the answer is not Prometheus's shape: {e}");
        match self.result_type.as_str() {
            "scalar" => {
                let (_, value): SampleValue =
                    serde_json::from_value(self.result).map_err(malformed)?;
                Ok(QueryAnswer::Scalar(number(&value)?))
            }
            "vector" => {
                let items: Vec<VectorItem> =
                    serde_json::from_value(self.result).map_err(malformed)?;
                let series = items
                    .into_iter()
                    .map(|item| {
                        Ok(Series {
                            labels: item.metric,
                            value: number(&item.value.1)?,
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                Ok(QueryAnswer::Vector(series))
            }
            "matrix" => Err(
                "it returns a range vector (a matrix); verification needs an instant vector or a scalar — wrap the range selector in a function such as `rate(…[1m])` or drop the `[…]`".to_owned(),
            ),
            other => Err(format!(
                "it returns a {other}; verification needs an instant vector or a scalar"
            )),
        }
    }
}

/// One alert of `GET /api/v2/alerts` (`gettableAlert`).
#[derive(Debug, Deserialize)]
pub(crate) struct GettableAlert {
    labels: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: String,
    status: AlertStatus,
}

#[derive(Debug, Deserialize)]
struct AlertStatus {
    state: String,
    #[serde(default, rename = "silencedBy")]
    silenced_by: Vec<String>,
    #[serde(default, rename = "inhibitedBy")]
    inhibited_by: Vec<String>,
}

impl GettableAlert {
    /// The alert when it is active and neither silenced nor inhibited.
    pub(crate) fn active(self) -> Option<ActiveAlert> {
        let status = &self.status;
        let firing = status.state == "active"
            && status.silenced_by.is_empty()
            && status.inhibited_by.is_empty();
        firing.then_some(ActiveAlert {
            labels: self.labels,
            starts_at: self.starts_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(json: &str) -> QueryData {
        let envelope: Envelope = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"));
        envelope.data.unwrap_or_else(|| panic!("no data in {json}"))
    }

    #[test]
    fn scalars_vectors_and_special_values_are_read_and_a_matrix_is_refused() {
        let scalar = data(
            r#"{"status":"success","data":{"resultType":"scalar","result":[1435781451.781,"0.25"]}}"#,
        );
        assert_eq!(scalar.answer(), Ok(QueryAnswer::Scalar(0.25)));
        let vector = data(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"code":"500"},"value":[1435781451.781,"+Inf"]},{"metric":{},"value":[1435781451.781,"NaN"]}]}}"#,
        );
        match vector.answer() {
            Ok(QueryAnswer::Vector(series)) => {
                assert_eq!(series[0].labels["code"], "500");
                assert!(series[0].value.is_infinite());
                assert!(series[1].value.is_nan());
            }
            other => panic!("expected a vector, got {other:?}"),
        }
        let matrix = data(
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]]}]}}"#,
        );
        assert!(matrix.answer().unwrap_err().contains("range vector"));
        let string =
            data(r#"{"status":"success","data":{"resultType":"string","result":[1,"x"]}}"#);
        assert!(string.answer().is_err());
    }

    #[test]
    fn only_active_unsilenced_uninhibited_alerts_count() {
        let alert = |state: &str, silenced: &str| -> GettableAlert {
            serde_json::from_str(&format!(
                r#"{{"labels":{{"alertname":"HighErrorRate"}},"startsAt":"2026-11-29T12:00:00Z","endsAt":"2026-11-29T13:00:00Z","status":{{"state":"{state}","silencedBy":[{silenced}],"inhibitedBy":[]}},"annotations":{{}},"fingerprint":"f","receivers":[],"updatedAt":"2026-11-29T12:00:00Z"}}"#
            ))
            .unwrap_or_else(|e| panic!("{e}"))
        };
        assert!(alert("active", "").active().is_some());
        assert!(alert("suppressed", "\"s1\"").active().is_none());
        assert!(alert("active", "\"s1\"").active().is_none());
        assert!(alert("unprocessed", "").active().is_none());
    }
}
