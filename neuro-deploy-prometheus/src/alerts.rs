//! The active alerts at Alertmanager (API v2): `GET /api/v2/alerts` with every matcher as a
//! `filter`, only active ones (`active=true`, `silenced=false`, `inhibited=false`,
//! `unprocessed=false`), checked again on the answer's `status`.

use std::time::Duration;

use neuro_deploy_core::AdapterError;
use neuro_deploy_core::model::ActiveAlert;

use crate::wire::GettableAlert;
use crate::{Token, exchange};

/// The alerts at `alertmanager` that are active and match every matcher.
pub(crate) async fn active(
    http: &reqwest::Client,
    token: &Token,
    alertmanager: &str,
    matchers: &[String],
    timeout: Duration,
) -> Result<Vec<ActiveAlert>, AdapterError> {
    let url = format!("{}/api/v2/alerts", alertmanager.trim_end_matches('/'));
    let operation = format!("reading the active alerts at {alertmanager}");
    let mut query: Vec<(&str, &str)> = vec![
        ("active", "true"),
        ("silenced", "false"),
        ("inhibited", "false"),
        ("unprocessed", "false"),
    ];
    query.extend(matchers.iter().map(|m| ("filter", m.as_str())));
    let (status, body) = exchange(
        "alertmanager",
        &operation,
        http.get(&url).query(&query),
        token,
        crate::ALERTMANAGER_TOKEN_ENV,
        timeout,
    )
    .await?;
    if !status.is_success() {
        // Alertmanager answers a matcher it cannot parse with 400 and says why.
        return Err(AdapterError::failed(
            "alertmanager",
            operation,
            format!("HTTP {status}: {}", body.trim()),
        ));
    }
    let alerts: Vec<GettableAlert> = serde_json::from_str(&body).map_err(|e| {
        AdapterError::failed(
            "alertmanager",
            operation,
            format!("the answer is not Alertmanager's API v2 shape: {e}"),
        )
    })?;
    Ok(alerts
        .into_iter()
        .filter_map(GettableAlert::active)
        .collect())
}
