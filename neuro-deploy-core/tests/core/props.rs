//! Property tests: parsing is total, printing round-trips, ordering is SemVer's.

use neuro_deploy_core::config::{glob_match, parse_duration};
use neuro_deploy_core::model::validate_namespace;
use neuro_deploy_core::{Config, Event, Facts, GitSha, ImageRef, ReleaseTag, Version, decide};
use proptest::prelude::*;

proptest! {
    #[test]
    fn no_string_makes_a_parser_panic(input in any::<String>()) {
        let _ = Version::parse(&input);
        let _ = GitSha::parse(&input);
        let _ = ReleaseTag::parse(&input);
        let _ = validate_namespace(&input);
        let _ = parse_duration(&input);
        let _ = ImageRef::parse_container_image(&input);
        let _ = glob_match("hotfix/*", &input);
        let _ = Config::from_toml(&input, "fuzz");
    }

    #[test]
    fn release_events_with_any_tag_never_panic(tag in any::<String>(), branch in any::<String>()) {
        let event = Event::Released { tag, sha: None, target_branch: Some(branch.into()), prerelease: false, draft: false };
        let _ = decide(&event, &Config::default(), &Facts::unknown());
    }

    #[test]
    fn shas_round_trip(sha in "[0-9a-f]{7,40}") {
        let v = Version::parse(&sha).unwrap();
        prop_assert_eq!(v.to_string(), sha.clone());
        prop_assert_eq!(Version::parse(&v.to_string()).unwrap(), v);
        prop_assert!(matches!(Version::parse(&sha), Ok(Version::GitSha(_))));
    }

    #[test]
    fn releases_round_trip_in_their_written_form(
        v in any::<bool>(), major in 0u64..1000, minor in 0u64..1000, patch in 0u64..1000,
        pre in proptest::option::of("(alpha|beta|rc)\\.[1-9][0-9]{0,2}"),
    ) {
        let mut text = format!("{}{major}.{minor}.{patch}", if v { "v" } else { "" });
        if let Some(pre) = &pre { text.push('-'); text.push_str(pre); }
        let parsed = Version::parse(&text).unwrap();
        prop_assert_eq!(parsed.to_string(), text.clone());
        prop_assert_eq!(parsed.image_tag(7), text);
    }

    #[test]
    fn release_order_is_semver_order(a in (0u64..20, 0u64..20, 0u64..20), b in (0u64..20, 0u64..20, 0u64..20), rc in any::<bool>()) {
        let ta = ReleaseTag::parse(&format!("v{}.{}.{}", a.0, a.1, a.2)).unwrap();
        let tb = ReleaseTag::parse(&format!("{}.{}.{}{}", b.0, b.1, b.2, if rc { "-rc.1" } else { "" })).unwrap();
        let sa = semver::Version::new(a.0, a.1, a.2);
        let mut sb = semver::Version::new(b.0, b.1, b.2);
        if rc { sb.pre = semver::Prerelease::new("rc.1").unwrap(); }
        prop_assert_eq!(ta.semver().cmp(tb.semver()), sa.cmp(&sb));
        // The total order agrees with SemVer whenever SemVer tells them apart.
        if sa != sb { prop_assert_eq!(ta.cmp(&tb), sa.cmp(&sb)); }
    }

    #[test]
    fn prerelease_sorts_below_its_release(major in 0u64..50, minor in 0u64..50, patch in 0u64..50, n in 1u32..99) {
        let pre = ReleaseTag::parse(&format!("{major}.{minor}.{patch}-rc.{n}")).unwrap();
        let rel = ReleaseTag::parse(&format!("{major}.{minor}.{patch}")).unwrap();
        prop_assert!(pre < rel);
        let next = pre.next_patch();
        prop_assert_eq!(next.as_str(), rel.as_str());
    }

    #[test]
    fn container_images_round_trip(host in "[a-z0-9.]{1,20}(:[0-9]{2,5})?", path in "[a-z0-9-]{1,12}(/[a-z0-9-]{1,12}){0,2}", tag in "[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}") {
        let text = format!("{host}/{path}:{tag}");
        let parsed = ImageRef::parse_container_image(&text);
        prop_assert_eq!(parsed.to_string(), text);
        prop_assert_eq!(parsed.tag, tag);
    }
}
