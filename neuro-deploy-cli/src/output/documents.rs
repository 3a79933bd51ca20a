//! Every JSON document the binaries print, as a typed struct: what scripts parse is a contract,
//! each document carries `schema_version` and `exit_code`, and snapshot tests show every change.

use neuro_deploy_core::hotfix::HotfixStart;
use neuro_deploy_core::policy::{EnvironmentStatus, GateVerdict};
use neuro_deploy_core::{
    Config, Decision, DeploymentRecord, EnvironmentConfig, Event, HistoryEntry, Outcome,
    QueueSample, ReasonCode, ReleaseInfo, Report, Step, Verification,
};
use neuro_deploy_kube::{BreakResult, LeaseInfo};
use serde::Serialize;

/// The version of every document's shape; raised when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// A run's report (`merged`, `released`, `promote`, `deploy`, `rollback`, the Codefresh steps).
#[derive(Debug, Serialize)]
pub struct ReportDocument<'a> {
    /// Shape version.
    pub schema_version: u32,
    /// The report.
    #[serde(flatten)]
    pub report: &'a Report,
    /// The process exit code.
    pub exit_code: u8,
}

impl<'a> ReportDocument<'a> {
    /// The document for `report`.
    pub fn new(report: &'a Report) -> ReportDocument<'a> {
        ReportDocument {
            schema_version: SCHEMA_VERSION,
            report,
            exit_code: report.exit_code().code(),
        }
    }
}

/// A run that ended before any plan: bad input, a refusal that needs no facts, an adapter that
/// could not be built, an interruption before the run.
#[derive(Debug, Serialize)]
pub struct FailureDocument<'a> {
    /// Shape version.
    pub schema_version: u32,
    /// `refused`, `failed` or `interrupted`.
    pub outcome: Outcome,
    /// The reason code, for a refusal.
    pub reason: Option<ReasonCode>,
    /// What happened and what to do.
    pub message: &'a str,
    /// The causes behind an unexpected failure, outermost first.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub causes: &'a [String],
    /// The event, when it was understood.
    pub event: Option<&'a Event>,
    /// No step ran.
    pub steps: [(); 0],
    /// The process exit code.
    pub exit_code: u8,
}

/// One step of an offline plan.
#[derive(Debug, Serialize)]
pub struct PlannedStepDocument<'a> {
    /// Step kind.
    pub kind: &'a str,
    /// Always `planned`.
    pub status: &'static str,
    /// Nothing ran.
    pub duration_ms: u64,
    /// Why the step is there.
    pub reason: &'a str,
    /// The step itself.
    pub step: &'a Step,
}

/// `neuro-deploy plan …`: what an event would do, decided offline.
#[derive(Debug, Serialize)]
pub struct PlanDocument<'a> {
    /// Shape version.
    pub schema_version: u32,
    /// `planned`, `ignored` or `refused`.
    pub outcome: Outcome,
    /// The reason code of an ignore or refusal.
    pub reason: Option<ReasonCode>,
    /// The headline, or the reason's sentence.
    pub message: String,
    /// The event.
    pub event: &'a Event,
    /// Environment.
    pub environment: Option<&'a str>,
    /// Namespace.
    pub namespace: Option<&'a str>,
    /// Version.
    pub version: Option<&'a str>,
    /// Image.
    pub image: Option<String>,
    /// The steps.
    pub steps: Vec<PlannedStepDocument<'a>>,
    /// For a refusal: every gate's verdict (passed, refused, not judged and why).
    #[serde(skip_serializing_if = "<[GateVerdict]>::is_empty")]
    pub gates: &'a [GateVerdict],
    /// The process exit code.
    pub exit_code: u8,
}

impl<'a> PlanDocument<'a> {
    /// The document for a decision on `event`; `headline` names the plan; `gates`: every
    /// gate's verdict, shown with a refusal.
    pub fn new(
        event: &'a Event,
        decision: &'a Decision,
        headline: String,
        gates: &'a [GateVerdict],
    ) -> PlanDocument<'a> {
        match decision {
            Decision::Proceed(plan) => PlanDocument {
                schema_version: SCHEMA_VERSION,
                outcome: Outcome::Planned,
                reason: None,
                message: headline,
                event,
                environment: plan.environment.as_deref(),
                namespace: Some(&plan.namespace),
                version: plan.version.as_deref(),
                image: plan.image.as_ref().map(ToString::to_string),
                steps: plan
                    .steps()
                    .into_iter()
                    .map(|s| PlannedStepDocument {
                        kind: s.step.kind(),
                        status: "planned",
                        duration_ms: 0,
                        reason: &s.reason,
                        step: &s.step,
                    })
                    .collect(),
                gates: &[],
                exit_code: 0,
            },
            Decision::Ignore(reason) | Decision::Refuse(reason) => PlanDocument {
                schema_version: SCHEMA_VERSION,
                outcome: if reason.code.is_ignore() {
                    Outcome::Ignored
                } else {
                    Outcome::Refused
                },
                reason: Some(reason.code),
                message: reason.message.clone(),
                event,
                environment: None,
                namespace: None,
                version: None,
                image: None,
                steps: Vec::new(),
                gates: if reason.code.is_ignore() { &[] } else { gates },
                exit_code: reason.code.exit_code().code(),
            },
        }
    }
}

/// One environment in `neuro-deploy status`.
#[derive(Debug, Serialize)]
pub struct StatusRow<'a> {
    /// Environment name.
    pub environment: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// What runs there (see [`EnvironmentStatus`]), when its cluster answered.
    #[serde(flatten)]
    pub status: Option<EnvironmentStatus>,
    /// Why its cluster could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreachable: Option<String>,
    /// The freeze in force there, if any (`null` otherwise).
    pub frozen: Option<neuro_deploy_core::Freeze>,
    /// Approvals given there that are not spent or expired (who, version, digest, expires).
    pub approvals: Vec<neuro_deploy_core::policy::PendingApproval>,
    /// Approvals kept the old way (in the operators' ConfigMap), which no longer count, and
    /// how to approve again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy_approvals: Option<String>,
    /// Its deploy windows now (`unrestricted` when it has none).
    pub window: neuro_deploy_core::policy::WindowState,
    /// For an environment that takes promotions: promoting what its source runs now, gate by
    /// gate (`null` when the source was not read or runs no single version).
    pub next_promotion: Option<NextPromotion>,
}

/// The gates of the next promotion into an environment, as `status` judges them.
#[derive(Debug, Serialize)]
pub struct NextPromotion {
    /// What the source runs now.
    pub version: String,
    /// The source environment.
    pub from: String,
    /// Every gate's verdict on promoting it now.
    pub gates: Vec<GateVerdict>,
}

/// `neuro-deploy status`.
#[derive(Debug, Serialize)]
pub struct StatusDocument<'a> {
    /// Shape version.
    pub schema_version: u32,
    /// One row per environment, in config order.
    pub environments: Vec<StatusRow<'a>>,
    /// The process exit code.
    pub exit_code: u8,
}

/// `neuro-deploy queues`.
#[derive(Debug, Serialize)]
pub struct QueuesDocument<'a> {
    /// Shape version.
    pub schema_version: u32,
    /// Every queue is empty in every region.
    pub drained: bool,
    /// One sample per queue and region.
    pub queues: &'a [QueueSample],
    /// The process exit code (3 when not drained).
    pub exit_code: u8,
}

/// `neuro-deploy hotfix start`.
#[derive(Debug, Serialize)]
pub struct HotfixStartDocument<'a> {
    /// Shape version.
    pub schema_version: u32,
    /// Always `done`.
    pub outcome: &'static str,
    /// The branch and where it starts.
    pub hotfix: &'a HotfixStart,
    /// The process exit code.
    pub exit_code: u8,
}

/// `neuro-deploy hotfix release`.
#[derive(Debug, Serialize)]
pub struct HotfixReleaseDocument<'a> {
    /// Shape version.
    pub schema_version: u32,
    /// Always `done`.
    pub outcome: &'static str,
    /// The release created.
    pub release: &'a ReleaseInfo,
    /// The process exit code.
    pub exit_code: u8,
}

/// `neuro-deploy config check`.
#[derive(Debug, Serialize)]
pub struct ConfigCheckDocument<'a> {
    /// Shape version.
    pub schema_version: u32,
    /// Always `valid` (an invalid config is a failure document, exit 2).
    pub outcome: &'static str,
    /// Where the config came from.
    pub origin: &'a str,
    /// The environments.
    pub environments: &'a [EnvironmentConfig],
    /// What a real run will miss (valid, but incomplete for real use).
    pub warnings: &'a [String],
    /// The process exit code.
    pub exit_code: u8,
}

/// `neuro-deploy config show`: the effective configuration, defaults included.
#[derive(Debug, Serialize)]
pub struct ConfigShowDocument<'a> {
    /// Shape version.
    pub schema_version: u32,
    /// Where the config came from.
    pub origin: &'a str,
    /// The configuration.
    #[serde(flatten)]
    pub config: &'a Config,
}

/// `neuro-deploy lock status` without `--env`: every environment's lock.
#[derive(Debug, Serialize)]
pub struct LockStatusAllDocument<'a> {
    /// Shape version.
    pub schema_version: u32,
    /// One row per configured environment, in config order.
    pub locks: Vec<LockRow<'a>>,
    /// The process exit code (1 when a lock could not be read).
    pub exit_code: u8,
}

/// One environment's lock in [`LockStatusAllDocument`].
#[derive(Debug, Serialize)]
pub struct LockRow<'a> {
    /// Environment.
    pub environment: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// Whether someone holds it; `null` when it could not be read.
    pub held: Option<bool>,
    /// The Lease, when there is one.
    pub lease: Option<LeaseInfo>,
    /// Why it could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `neuro-deploy lock status`.
#[derive(Debug, Serialize)]
pub struct LockStatusDocument<'a> {
    /// Shape version.
    pub schema_version: u32,
    /// Environment.
    pub environment: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// Someone holds it.
    pub held: bool,
    /// The Lease, when there is one.
    pub lease: Option<&'a LeaseInfo>,
    /// The process exit code.
    pub exit_code: u8,
}

/// `neuro-deploy lock break`.
#[derive(Debug, Serialize)]
pub struct LockBreakDocument<'a> {
    /// Shape version.
    pub schema_version: u32,
    /// `broken`, `not_held` or `refused`.
    pub outcome: &'static str,
    /// `lock_held` when its holder renewed it while it was watched.
    pub reason: Option<ReasonCode>,
    /// Environment.
    pub environment: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// What happened to the Lease.
    pub result: &'a BreakResult,
    /// What was recorded on the Lease.
    pub recorded: &'a str,
    /// The process exit code.
    pub exit_code: u8,
}

/// Where a history comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HistorySource {
    /// GitHub Deployments and their latest status.
    GithubDeployments,
    /// The audit annotations on the Deployments: the last change of each environment only.
    Annotations,
}

/// `neuro-deploy history`.
#[derive(Debug, Serialize)]
pub struct HistoryDocument<'a> {
    /// Shape version.
    pub schema_version: u32,
    /// Where the entries come from.
    pub source: HistorySource,
    /// Newest first.
    pub entries: &'a [HistoryEntry],
    /// What the source cannot tell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'a str>,
    /// The process exit code.
    pub exit_code: u8,
}

/// `neuro-deploy verify`.
#[derive(Debug, Serialize)]
pub struct VerifyDocument<'a> {
    /// `verified` or `refused`.
    pub outcome: &'static str,
    /// `verification_failed` when a check failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<ReasonCode>,
    /// Shape version.
    pub schema_version: u32,
    /// What was checked and how it came out.
    pub verification: &'a Verification,
    /// The process exit code.
    pub exit_code: u8,
}

/// `neuro-deploy record`.
#[derive(Debug, Serialize)]
pub struct RecordDocument<'a> {
    /// Shape version.
    pub schema_version: u32,
    /// `recorded`.
    pub outcome: &'static str,
    /// The GitHub Deployment written.
    pub id: u64,
    /// What it records.
    pub record: &'a DeploymentRecord,
    /// The process exit code.
    pub exit_code: u8,
}
