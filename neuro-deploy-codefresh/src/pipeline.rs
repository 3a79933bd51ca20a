//! What a Codefresh step was asked to do, read from its environment, and `cf_export`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use neuro_deploy_core::model::validate_namespace;
use neuro_deploy_core::{Config, DeployTarget, Event, GitSha, Version};

/// Variables this adapter reads, in the order they are reported.
pub const VARIABLES: [&str; 8] = [
    "CF_BRANCH",
    "CF_REVISION",
    "CF_SHORT_REVISION",
    "CF_RELEASE_TAG",
    "CF_PRERELEASE_FLAG",
    "NAMESPACE",
    "NEURO_UI_VERSION",
    "neuro-ui_VERSION",
];

/// The default shared volume of a Codefresh build.
pub const DEFAULT_VOLUME: &str = "/codefresh/volume";
/// The file `cf_export` appends to, inside the volume.
pub const EXPORT_FILE: &str = "env_vars_to_export";

/// Why the environment does not say what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}; found: {found}; needed: {needed}")]
pub struct EnvError {
    /// What is missing or contradictory.
    pub problem: String,
    /// The variables that were set (values shown; none of them is a secret).
    pub found: String,
    /// What a valid environment looks like.
    pub needed: String,
}

const BOTH: &str =
    "both a release (CF_RELEASE_TAG) and a manual deploy (NAMESPACE / version) are set";

const NEEDED: &str = "a merge (CF_BRANCH + CF_REVISION), a GitHub release (CF_RELEASE_TAG + CF_REVISION, optional CF_PRERELEASE_FLAG), or a manual deploy (NAMESPACE + NEURO_UI_VERSION; the `deploy` pipeline's existing neuro-ui_VERSION variable works too)";

/// What the pipeline was triggered for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineRequest {
    /// A push (merge) to a branch.
    Merge {
        /// Branch.
        branch: String,
        /// Commit.
        sha: GitSha,
    },
    /// A published GitHub release.
    Release {
        /// Tag as written.
        tag: String,
        /// The tag's commit, when Codefresh gave it.
        sha: Option<GitSha>,
        /// Pre-release flag.
        prerelease: bool,
    },
    /// The operator set NAMESPACE and a version by hand.
    Manual {
        /// Target namespace.
        namespace: String,
        /// Version.
        version: Version,
    },
}

impl PipelineRequest {
    /// Reads the request from variables (`lookup` is `std::env::var` in the binary).
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<PipelineRequest, EnvError> {
        let vars: BTreeMap<&str, String> = VARIABLES
            .iter()
            .filter_map(|name| {
                lookup(name)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (*name, v.trim().to_owned()))
            })
            .collect();
        let found = if vars.is_empty() {
            "none of them".to_owned()
        } else {
            vars.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let error = |problem: String| EnvError {
            problem,
            found: found.clone(),
            needed: NEEDED.to_owned(),
        };
        let get = |name: &str| vars.get(name).cloned();
        let version_text = match (get("NEURO_UI_VERSION"), get("neuro-ui_VERSION")) {
            (Some(a), Some(b)) if a != b => {
                return Err(error(format!(
                    "NEURO_UI_VERSION ({a}) and neuro-ui_VERSION ({b}) disagree"
                )));
            }
            (a, b) => a.or(b),
        };
        let sha = match get("CF_REVISION") {
            Some(text) => {
                Some(GitSha::parse(&text).map_err(|e| error(format!("CF_REVISION: {e}")))?)
            }
            None => None,
        };
        if let (Some(sha), Some(short)) = (&sha, get("CF_SHORT_REVISION"))
            && !sha.as_str().starts_with(&short)
        {
            return Err(error(format!(
                "CF_SHORT_REVISION ({short}) is not the start of CF_REVISION ({sha})"
            )));
        }
        let manual = get("NAMESPACE").is_some() || version_text.is_some();
        if manual {
            if get("CF_RELEASE_TAG").is_some() {
                return Err(error(BOTH.to_owned()));
            }
            let namespace = get("NAMESPACE")
                .ok_or_else(|| error("a version is set but NAMESPACE is not".to_owned()))?;
            let text = version_text.ok_or_else(|| {
                error(
                    "NAMESPACE is set but NEURO_UI_VERSION (or neuro-ui_VERSION) is not".to_owned(),
                )
            })?;
            validate_namespace(&namespace).map_err(|e| error(e.to_string()))?;
            let version = Version::parse(&text).map_err(|e| error(format!("the version: {e}")))?;
            return Ok(PipelineRequest::Manual { namespace, version });
        }
        if let Some(tag) = get("CF_RELEASE_TAG") {
            let prerelease = match get("CF_PRERELEASE_FLAG").as_deref() {
                None | Some("false") => false,
                Some("true") => true,
                Some(other) => {
                    return Err(error(format!(
                        "CF_PRERELEASE_FLAG must be `true` or `false`, not `{other}`"
                    )));
                }
            };
            return Ok(PipelineRequest::Release {
                tag,
                sha,
                prerelease,
            });
        }
        match (get("CF_BRANCH"), sha) {
            (Some(branch), Some(sha)) => Ok(PipelineRequest::Merge { branch, sha }),
            (Some(_), None) => Err(error("CF_BRANCH is set but CF_REVISION is not".to_owned())),
            (None, Some(_)) => Err(error("CF_REVISION is set but CF_BRANCH is not".to_owned())),
            (None, None) => Err(error("nothing says what to deploy".to_owned())),
        }
    }

    /// The core event. A manual deploy into a promotion-only namespace (production) is a
    /// promotion, with every gate; anything else manual is an arbitrary deploy.
    pub fn to_event(&self, config: &Config) -> Event {
        match self {
            PipelineRequest::Merge { branch, sha } => Event::Merged {
                branch: branch.clone(),
                sha: sha.clone(),
            },
            PipelineRequest::Release {
                tag,
                sha,
                prerelease,
            } => Event::Released {
                tag: tag.clone(),
                sha: sha.clone(),
                target_branch: None,
                prerelease: *prerelease,
                draft: false,
            },
            PipelineRequest::Manual { namespace, version } => {
                match config.environment_for_namespace(namespace) {
                    Some(env) if env.is_promotion_target() => Event::Promote {
                        version: version.clone(),
                        to: Some(env.name.clone()),
                        allow_downgrade: false,
                    },
                    _ => Event::Deploy {
                        version: version.clone(),
                        target: DeployTarget::Namespace(namespace.clone()),
                    },
                }
            }
        }
    }
}

/// The file `cf_export` writes: `${CF_VOLUME_PATH:-/codefresh/volume}/env_vars_to_export`.
pub fn export_file(volume: Option<&str>) -> PathBuf {
    Path::new(volume.filter(|v| !v.is_empty()).unwrap_or(DEFAULT_VOLUME)).join(EXPORT_FILE)
}

/// Appends `KEY=VALUE` lines for later steps, as `cf_export` does. Keys must be shell
/// identifiers and values single lines; nothing is written when one is not.
pub fn cf_export(file: &Path, variables: &[(&str, &str)]) -> std::io::Result<()> {
    for (key, value) in variables {
        let key_ok = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !key_ok || value.contains('\n') || value.contains('\r') {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("cannot export `{key}`: keys are shell identifiers and values one line"),
            ));
        }
    }
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    let text: String = variables
        .iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    out.write_all(text.as_bytes())
}
