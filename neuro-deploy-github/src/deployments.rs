//! [`DeploymentRecorder`] on GitHub Deployments: one Deployment per deploy that writes, moved
//! through its statuses, and read back as the history.
//!
//! REST: `POST /repos/{owner}/{repo}/deployments`, `POST …/deployments/{id}/statuses`,
//! `GET …/deployments?environment=…&per_page=…`, `GET …/deployments/{id}/statuses?per_page=1`.
//! The token needs "Deployments: write" (read for the history).

use async_trait::async_trait;
use neuro_deploy_core::{
    AdapterError, DeploymentRecord, DeploymentRecorder, DeploymentState, HistoryEntry,
};
use serde_json::{Value, json};

use crate::wire::{Deployment, DeploymentStatus};

use crate::GithubReleases;

/// GitHub's limit on a status description.
const DESCRIPTION_LIMIT: usize = 140;

/// `text` cut to GitHub's limit on a status description, on a character boundary.
fn description(text: &str) -> String {
    if text.chars().count() <= DESCRIPTION_LIMIT {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(DESCRIPTION_LIMIT - 1).collect();
    cut.push('…');
    cut
}

impl GithubReleases {
    async fn post_status(
        &self,
        id: u64,
        state: DeploymentState,
        text: &str,
        record: &DeploymentRecord,
    ) -> Result<(), AdapterError> {
        let mut body = json!({
            "state": state.as_str(),
            "description": description(text),
            // GitHub marks the environment's older successful Deployments inactive.
            "auto_inactive": true,
        });
        if let Some(url) = &record.log_url {
            body["log_url"] = json!(url);
        }
        if let Some(url) = &record.environment_url {
            body["environment_url"] = json!(url);
        }
        let path = self.path(&format!("deployments/{id}/statuses"));
        let operation = format!("setting GitHub Deployment {id} to `{}`", state.as_str());
        self.send(http::Method::POST, &path, Some(&body))
            .await?
            .ok(&operation)
            .map(|_| ())
    }
}

#[async_trait]
impl DeploymentRecorder for GithubReleases {
    async fn start(&self, record: &DeploymentRecord) -> Result<u64, AdapterError> {
        let body = json!({
            "ref": record.reference,
            "environment": record.environment,
            "description": description(&record.description),
            "auto_merge": false,
            "required_contexts": [],
            "production_environment": record.production,
            "transient_environment": false,
            "payload": record.payload,
        });
        let operation = format!(
            "creating a GitHub Deployment of `{}` to `{}`",
            record.reference, record.environment
        );
        let deployment: Deployment = self
            .send(http::Method::POST, &self.path("deployments"), Some(&body))
            .await?
            .ok(&operation)?
            .json(&operation)?;
        self.post_status(
            deployment.id,
            DeploymentState::InProgress,
            &record.description,
            record,
        )
        .await?;
        Ok(deployment.id)
    }

    async fn finish(
        &self,
        id: u64,
        state: DeploymentState,
        description: &str,
        record: &DeploymentRecord,
    ) -> Result<(), AdapterError> {
        self.post_status(id, state, description, record).await
    }

    async fn history<'a>(
        &self,
        environment: Option<&'a str>,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, AdapterError> {
        let per_page = limit.clamp(1, 100);
        let mut path = self.path(&format!("deployments?per_page={per_page}"));
        if let Some(environment) = environment {
            path.push_str(&format!("&environment={}", query_value(environment)));
        }
        let operation = "listing GitHub Deployments".to_owned();
        let deployments: Vec<Deployment> =
            self.get(&path).await?.ok(&operation)?.json(&operation)?;
        let mut entries = Vec::new();
        for deployment in deployments.into_iter().take(limit) {
            let path = self.path(&format!(
                "deployments/{}/statuses?per_page=1",
                deployment.id
            ));
            let operation = format!(
                "reading the statuses of GitHub Deployment {}",
                deployment.id
            );
            let statuses: Vec<DeploymentStatus> =
                self.get(&path).await?.ok(&operation)?.json(&operation)?;
            let payload = |key: &str| {
                deployment
                    .payload
                    .get(key)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            let at = neuro_deploy_core::model::parse_instant(&deployment.created_at);
            let latest = statuses.into_iter().next();
            let ended = latest
                .as_ref()
                .and_then(|s| neuro_deploy_core::model::parse_instant(&s.created_at));
            entries.push(HistoryEntry {
                version: payload("version").unwrap_or_else(|| deployment.reference.clone()),
                previous_version: payload("previous_version"),
                deployed_by: payload("deployed_by")
                    .or_else(|| deployment.creator.as_ref().map(|c| c.login.clone())),
                at,
                outcome: latest.map(|s| s.state),
                overridden: payload("override"),
                took_secs: at.zip(ended).map(|(at, ended)| (ended - at).num_seconds()),
                environment: deployment.environment,
            });
        }
        Ok(entries)
    }
}

/// An environment name as a query value: the names neuro-deploy accepts need no escaping
/// except the few characters below.
fn query_value(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' ' => "%20".to_owned(),
            '&' => "%26".to_owned(),
            '#' => "%23".to_owned(),
            '+' => "%2B".to_owned(),
            '?' => "%3F".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_cut_to_githubs_limit() {
        assert_eq!(description("short"), "short");
        let long = "é".repeat(200);
        let cut = description(&long);
        assert_eq!(cut.chars().count(), DESCRIPTION_LIMIT);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn environment_names_are_query_safe() {
        assert_eq!(query_value("production"), "production");
        assert_eq!(query_value("a b&c"), "a%20b%26c");
    }
}
