//! # neuro-deploy-command
//!
//! The local image builder of neuro-deploy: [`CommandBuilder`] implements the core's
//! `ImageBuilder` by running `builder.command` (an argv template: `{image}`, `{tag}` and
//! `{revision}` substituted per argument, never through a shell), bounded by a timeout, its
//! output on stderr. Dropping a build (a cancelled run) kills the process.
//!
//! **What it is not**: it does not push or check the image; the build command does the push and
//! the core checks the registry afterwards. The Codefresh builder lives in
//! `neuro-deploy-codefresh` with the rest of what speaks to Codefresh.

use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use neuro_deploy_core::{AdapterError, GitSha, ImageBuilder, ImageRef};

/// Runs `builder.command` with `{image}`, `{tag}` and `{revision}` replaced in each argument.
/// Its output goes to stderr (stdout carries neuro-deploy's result); a non-zero exit fails the build.
#[derive(Debug, Clone)]
pub struct CommandBuilder {
    argv: Vec<String>,
    timeout: Duration,
}

impl CommandBuilder {
    /// A builder running `argv` (program first), bounded by `timeout`.
    pub fn new(argv: Vec<String>, timeout: Duration) -> CommandBuilder {
        CommandBuilder { argv, timeout }
    }

    /// The argv for one build. Values are substituted into arguments, never interpreted.
    pub fn render(&self, revision: &GitSha, image: &ImageRef) -> Vec<String> {
        self.argv
            .iter()
            .map(|arg| {
                arg.replace("{image}", &image.to_string())
                    .replace("{tag}", &image.tag)
                    .replace("{revision}", revision.as_str())
            })
            .collect()
    }
}

#[async_trait]
impl ImageBuilder for CommandBuilder {
    async fn build(&self, revision: &GitSha, image: &ImageRef) -> Result<ImageRef, AdapterError> {
        let argv = self.render(revision, image);
        let Some((program, args)) = argv.split_first() else {
            return Err(AdapterError::failed(
                "builder",
                "building",
                "`builder.command` is empty",
            ));
        };
        let operation = format!("building {image} with `{program}`");
        tracing::info!(%program, %image, "building image");
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::io::stderr()))
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                AdapterError::failed(
                    "builder",
                    operation.clone(),
                    format!("cannot start it: {e}"),
                )
            })?;
        match tokio::time::timeout(self.timeout, child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(image.clone()),
            Ok(Ok(status)) => Err(AdapterError::failed(
                "builder",
                operation,
                format!("it exited with {status}"),
            )),
            Ok(Err(e)) => Err(AdapterError::failed("builder", operation, e.to_string())),
            Err(_) => {
                let _ = child.kill().await;
                Err(AdapterError::Timeout {
                    service: "builder",
                    operation,
                    seconds: self.timeout.as_secs_f64(),
                })
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sha() -> GitSha {
        GitSha::parse("abc1234def").unwrap()
    }

    #[test]
    fn substitutes_per_argument_without_a_shell() {
        let builder = CommandBuilder::new(
            vec![
                "docker".into(),
                "build".into(),
                "-t".into(),
                "{image}".into(),
                "--build-arg".into(),
                "GIT_SHA={revision}".into(),
                ".".into(),
            ],
            Duration::from_secs(1),
        );
        let argv = builder.render(&sha(), &ImageRef::new("r/neuro-ui", "abc1234; rm -rf /"));
        assert_eq!(
            argv[3], "r/neuro-ui:abc1234; rm -rf /",
            "one argument, never split or interpreted"
        );
        assert_eq!(argv[5], "GIT_SHA=abc1234def");
    }

    #[tokio::test]
    async fn exit_status_decides() {
        let ok = CommandBuilder::new(vec!["true".into()], Duration::from_secs(5));
        assert!(ok.build(&sha(), &ImageRef::new("r", "t")).await.is_ok());
        let failing = CommandBuilder::new(vec!["false".into()], Duration::from_secs(5));
        let error = failing
            .build(&sha(), &ImageRef::new("r", "t"))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("exited with"), "{error}");
        let missing =
            CommandBuilder::new(vec!["/nonexistent/builder".into()], Duration::from_secs(5));
        assert!(
            missing
                .build(&sha(), &ImageRef::new("r", "t"))
                .await
                .unwrap_err()
                .to_string()
                .contains("cannot start")
        );
    }
}
