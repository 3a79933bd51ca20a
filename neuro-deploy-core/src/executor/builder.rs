//! [`ExecutorBuilder`]: an executor is built from the configuration and the adapters, and
//! building refuses adapters that cannot serve what the configuration asks for — so an embedder
//! learns at start-up, naming the gate and the missing adapter, instead of from a refused run.

use std::sync::Arc;

use crate::config::Config;
use crate::traits::{
    ClusterDeployer, DeploymentRecorder, HealthChecker, ImageBuilder, MetricsSink, QueueInspector,
    Registry, ReleaseSource, SharedState, SignalSource,
};

use super::{Adapters, Executor, Interrupt, Observer};

/// Why an executor could not be built: what needs which adapter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{needed_by} needs {adapter}: give it with `.{method}(…)` before `build()`")]
pub struct MissingAdapter {
    /// The adapter (`a registry`, `the shared state` …).
    pub adapter: &'static str,
    /// The builder method that gives it.
    pub method: &'static str,
    /// What needs it: a gate, or a configuration key.
    pub needed_by: String,
}

/// Builds an [`Executor`]; see [`Executor::builder`].
pub struct ExecutorBuilder {
    config: Config,
    registry: Option<Arc<dyn Registry>>,
    builder: Option<Arc<dyn ImageBuilder>>,
    queues: Option<Arc<dyn QueueInspector>>,
    cluster: Option<Arc<dyn ClusterDeployer>>,
    releases: Option<Arc<dyn ReleaseSource>>,
    state: Option<Arc<dyn SharedState>>,
    health: Option<Arc<dyn HealthChecker>>,
    signals: Option<Arc<dyn SignalSource>>,
    metrics: Option<Arc<dyn MetricsSink>>,
    recorder: Option<Arc<dyn DeploymentRecorder>>,
    observer: Option<Arc<dyn Observer>>,
    interrupt: Option<Interrupt>,
}

impl Executor {
    /// Starts building an executor for `config`; [`ExecutorBuilder::build`] checks that the
    /// adapters given serve every gate and check the configuration asks for.
    pub fn builder(config: Config) -> ExecutorBuilder {
        ExecutorBuilder {
            config,
            registry: None,
            builder: None,
            queues: None,
            cluster: None,
            releases: None,
            state: None,
            health: None,
            signals: None,
            metrics: None,
            recorder: None,
            observer: None,
            interrupt: None,
        }
    }
}

impl ExecutorBuilder {
    /// The image registry (required).
    pub fn registry(mut self, registry: Arc<dyn Registry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// The image builder; without one a run that must build fails.
    pub fn image_builder(mut self, builder: Arc<dyn ImageBuilder>) -> Self {
        self.builder = Some(builder);
        self
    }

    /// The queue depths (required: the queue gate).
    pub fn queues(mut self, queues: Arc<dyn QueueInspector>) -> Self {
        self.queues = Some(queues);
        self
    }

    /// The cluster (required).
    pub fn cluster(mut self, cluster: Arc<dyn ClusterDeployer>) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// Releases, tags and branches (required with `git.repository`).
    pub fn releases(mut self, releases: Arc<dyn ReleaseSource>) -> Self {
        self.releases = Some(releases);
        self
    }

    /// The environments' shared guardrail state (required: the freeze, quarantine and
    /// approval gates read it).
    pub fn shared_state(mut self, state: Arc<dyn SharedState>) -> Self {
        self.state = Some(state);
        self
    }

    /// The probe of `[environments.verify] http` (required where one is configured).
    pub fn health_checker(mut self, checker: Arc<dyn HealthChecker>) -> Self {
        self.health = Some(checker);
        self
    }

    /// The team's monitoring (required where verification has queries or alerts).
    pub fn signals(mut self, signals: Arc<dyn SignalSource>) -> Self {
        self.signals = Some(signals);
        self
    }

    /// Where the run's metrics go (required with `[telemetry] pushgateway`).
    pub fn metrics(mut self, sink: Arc<dyn MetricsSink>) -> Self {
        self.metrics = Some(sink);
        self
    }

    /// Where deploys are recorded (required with `[git] deployments = true`).
    pub fn recorder(mut self, recorder: Arc<dyn DeploymentRecorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Who hears the run's progress.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// What stops a run (signals).
    pub fn interrupt(mut self, interrupt: Interrupt) -> Self {
        self.interrupt = Some(interrupt);
        self
    }

    /// The executor, or the first adapter missing for what the configuration asks for.
    pub fn build(self) -> Result<Executor, MissingAdapter> {
        let config = &self.config;
        let missing = |adapter, method, needed_by: String| MissingAdapter {
            adapter,
            method,
            needed_by,
        };
        let registry = self.registry.ok_or_else(|| {
            missing(
                "a registry",
                "registry",
                "every run (the image gates)".into(),
            )
        })?;
        let queues = self
            .queues
            .ok_or_else(|| missing("queue depths", "queues", "the queue gate".into()))?;
        let cluster = self
            .cluster
            .ok_or_else(|| missing("a cluster", "cluster", "every run (the workloads)".into()))?;
        let state = self.state.ok_or_else(|| {
            missing(
                "the shared state",
                "shared_state",
                "the freeze, quarantine and approval gates".into(),
            )
        })?;
        if self.releases.is_none() && config.git.repository.is_some() {
            return Err(missing("releases", "releases", "`git.repository`".into()));
        }
        if self.recorder.is_none() && config.git.deployments {
            return Err(missing(
                "a deployment recorder",
                "recorder",
                "`[git] deployments = true`".into(),
            ));
        }
        if self.metrics.is_none() && config.telemetry.pushgateway.is_some() {
            return Err(missing(
                "a metrics sink",
                "metrics",
                "`[telemetry] pushgateway`".into(),
            ));
        }
        for env in &config.environments {
            let Some(verify) = &env.verify else { continue };
            if self.health.is_none() && !verify.http.is_empty() {
                return Err(missing(
                    "a health checker",
                    "health_checker",
                    format!("the verification of `{}` (`http`)", env.name),
                ));
            }
            let asks_monitoring = !verify.queries.is_empty() || !verify.alerts.is_empty();
            if self.signals.is_none() && asks_monitoring {
                return Err(missing(
                    "the team's monitoring",
                    "signals",
                    format!("the verification of `{}` (`queries`, `alerts`)", env.name),
                ));
            }
        }
        let adapters = Adapters {
            registry,
            builder: self.builder,
            queues,
            cluster,
            releases: self.releases,
            state: Some(state),
        };
        let mut executor = Executor::new(adapters, self.config);
        if let Some(health) = self.health {
            executor = executor.with_health_checker(health);
        }
        if let Some(signals) = self.signals {
            executor = executor.with_signals(signals);
        }
        if let Some(metrics) = self.metrics {
            executor = executor.with_metrics(metrics);
        }
        if let Some(recorder) = self.recorder {
            executor = executor.with_recorder(recorder);
        }
        if let Some(observer) = self.observer {
            executor = executor.with_observer(observer);
        }
        if let Some(interrupt) = self.interrupt {
            executor = executor.with_interrupt(interrupt);
        }
        Ok(executor)
    }
}
