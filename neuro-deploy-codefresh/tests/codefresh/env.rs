//! Every seed case and every malformed case of the pipeline environment, without processes.

use std::collections::HashMap;

use neuro_deploy_codefresh::{PipelineRequest, cf_export, export_file};
use neuro_deploy_core::{Config, DeployTarget, Event, Version};

const SHA: &str = "abc1234def5678abc1234def5678abc1234def56";

fn read(vars: &[(&str, &str)]) -> Result<PipelineRequest, neuro_deploy_codefresh::EnvError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    PipelineRequest::from_env(|name| map.get(name).cloned())
}

#[test]
fn merge_to_main() {
    let request = read(&[
        ("CF_BRANCH", "main"),
        ("CF_REVISION", SHA),
        ("CF_SHORT_REVISION", "abc1234"),
    ])
    .unwrap();
    let event = request.to_event(&Config::default());
    assert!(
        matches!(event, Event::Merged { ref branch, ref sha } if branch == "main" && sha.as_str() == SHA)
    );
}

#[test]
fn github_release() {
    let request = read(&[
        ("CF_BRANCH", "v1.4.0"),
        ("CF_REVISION", SHA),
        ("CF_RELEASE_TAG", "v1.4.0"),
        ("CF_PRERELEASE_FLAG", "false"),
    ])
    .unwrap();
    match request.to_event(&Config::default()) {
        Event::Released {
            tag,
            sha,
            prerelease,
            draft,
            ..
        } => {
            assert_eq!(tag, "v1.4.0");
            assert_eq!(sha.unwrap().as_str(), SHA);
            assert!(!prerelease && !draft);
        }
        other => panic!("{other:?}"),
    }
    let pre = read(&[
        ("CF_RELEASE_TAG", "v1.5.0-rc.1"),
        ("CF_PRERELEASE_FLAG", "true"),
    ])
    .unwrap();
    assert!(matches!(
        pre,
        PipelineRequest::Release {
            prerelease: true,
            ..
        }
    ));
}

#[test]
fn manual_deploy_with_either_variable_name() {
    for name in ["NEURO_UI_VERSION", "neuro-ui_VERSION"] {
        let request = read(&[("NAMESPACE", "dev"), (name, "abc1234")]).unwrap();
        match request.to_event(&Config::default()) {
            Event::Deploy { version, target } => {
                assert_eq!(version, Version::parse("abc1234").unwrap());
                assert_eq!(target, DeployTarget::Namespace("dev".into()));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn manual_deploy_to_production_is_a_promotion() {
    let request = read(&[
        ("NAMESPACE", "leaf-neuro-ui"),
        ("neuro-ui_VERSION", "v1.4.0"),
    ])
    .unwrap();
    assert!(
        matches!(request.to_event(&Config::default()), Event::Promote { to: Some(ref env), .. } if env == "production")
    );
}

#[test]
fn malformed_and_contradictory_environments_are_explained() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "nothing says what to deploy"),
        (&[("CF_BRANCH", "main")], "CF_REVISION is not"),
        (&[("CF_REVISION", SHA)], "CF_BRANCH is not"),
        (
            &[("CF_BRANCH", "main"), ("CF_REVISION", "not-a-sha")],
            "CF_REVISION",
        ),
        (
            &[
                ("CF_BRANCH", "main"),
                ("CF_REVISION", SHA),
                ("CF_SHORT_REVISION", "1234567"),
            ],
            "CF_SHORT_REVISION",
        ),
        (&[("NAMESPACE", "dev")], "NEURO_UI_VERSION"),
        (&[("NEURO_UI_VERSION", "v1.4.0")], "NAMESPACE is not"),
        (
            &[
                ("NAMESPACE", "dev"),
                ("NEURO_UI_VERSION", "v1.4.0"),
                ("neuro-ui_VERSION", "v1.3.0"),
            ],
            "disagree",
        ),
        (
            &[("NAMESPACE", "Dev!"), ("NEURO_UI_VERSION", "v1.4.0")],
            "not a valid namespace",
        ),
        (
            &[("NAMESPACE", "dev"), ("NEURO_UI_VERSION", "latest")],
            "not a version",
        ),
        (
            &[
                ("NAMESPACE", "dev"),
                ("NEURO_UI_VERSION", "v1.4.0"),
                ("CF_RELEASE_TAG", "v1.4.0"),
            ],
            "both a release",
        ),
        (
            &[
                ("CF_RELEASE_TAG", "v1.4.0"),
                ("CF_PRERELEASE_FLAG", "maybe"),
            ],
            "CF_PRERELEASE_FLAG",
        ),
    ];
    for (vars, expected) in cases {
        let error = read(vars).unwrap_err().to_string();
        assert!(
            error.contains(expected),
            "{vars:?}: `{expected}` in {error}"
        );
        assert!(
            error.contains("found:") && error.contains("needed:"),
            "{error}"
        );
    }
}

#[test]
fn cf_export_appends_lines_to_the_volume_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = export_file(Some(dir.path().to_str().unwrap()));
    assert_eq!(file, dir.path().join("env_vars_to_export"));
    std::fs::write(&file, "EARLIER=1\n").unwrap();
    cf_export(
        &file,
        &[("NAMESPACE", "staging"), ("NEURO_UI_VERSION", "v1.4.0")],
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "EARLIER=1\nNAMESPACE=staging\nNEURO_UI_VERSION=v1.4.0\n"
    );
    assert!(cf_export(&file, &[("BAD", "two\nlines")]).is_err());
    assert!(
        cf_export(&file, &[("neuro-ui_VERSION", "x")]).is_err(),
        "not a shell identifier"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().lines().count(),
        3,
        "nothing written on refusal"
    );
    assert_eq!(
        export_file(None),
        std::path::Path::new("/codefresh/volume/env_vars_to_export")
    );
}
