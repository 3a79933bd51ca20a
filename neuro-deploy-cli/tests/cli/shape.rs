//! The shape the project keeps, checked on the tree: the README's per-file table names every
//! source file (and only files that exist), no source file is over 500 lines, and product code
//! names what it imports (glob imports only in test modules).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `dir`, relative to it.
fn sources(dir: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(dir).unwrap();
                found.insert(relative.display().to_string());
            }
        }
    }
    found
}

/// The crates' `src` directories.
fn crate_sources() -> Vec<(String, PathBuf)> {
    let mut crates: Vec<_> = std::fs::read_dir(root())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("src").is_dir() && p.join("Cargo.toml").is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, p.join("src"))
        })
        .collect();
    crates.sort();
    crates
}

/// The README's "where | what" table: (directories, file names).
fn readme_table() -> Vec<(Vec<String>, Vec<String>)> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("| where | what |")
        .expect("the README has the per-file table");
    readme[start..]
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').collect();
            let ticked = |cell: &str| -> Vec<String> {
                cell.split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_owned)
                    .collect()
            };
            let dirs = ticked(cells[1]);
            let files = ticked(cells[2])
                .into_iter()
                .filter(|name| name.ends_with(".rs"))
                .collect();
            (dirs, files)
        })
        .collect()
}

#[test]
fn the_readme_names_every_source_file_and_only_files_that_exist() {
    let table = readme_table();
    let mut named: BTreeSet<PathBuf> = BTreeSet::new();
    for (dirs, files) in &table {
        for file in files {
            // `core/src/` stands for `neuro-deploy-core/src/`.
            let found: Vec<PathBuf> = dirs
                .iter()
                .map(|dir| root().join(format!("neuro-deploy-{dir}")).join(file))
                .filter(|path| path.is_file())
                .collect();
            assert!(
                !found.is_empty(),
                "the README names `{file}` under {dirs:?}, which has no such file"
            );
            named.extend(found.into_iter().map(|p| p.canonicalize().unwrap()));
        }
    }
    let mut missing = Vec::new();
    for (name, src) in crate_sources() {
        for file in sources(&src) {
            let path = src.join(&file).canonicalize().unwrap();
            if !named.contains(&path) {
                missing.push(format!("{name}/src/{file}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "source files the README's per-file table does not name: {missing:#?}"
    );
}

#[test]
fn no_source_file_is_over_500_lines_and_product_code_names_its_imports() {
    let mut problems = Vec::new();
    for (name, src) in crate_sources() {
        for file in sources(&src) {
            let text = std::fs::read_to_string(src.join(&file)).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            if lines.len() > 500 {
                problems.push(format!("{name}/src/{file}: {} lines", lines.len()));
            }
            if file.ends_with("tests.rs") {
                continue;
            }
            let product = lines
                .iter()
                .take_while(|line| !line.trim_start().starts_with("#[cfg(test)]"));
            for (number, line) in product.enumerate() {
                let line = line.trim_start();
                let is_use = line.starts_with("use ")
                    || line.starts_with("pub use ")
                    || line.starts_with("pub(crate) use ");
                if is_use && line.trim_end().ends_with("::*;") {
                    problems.push(format!("{name}/src/{file}:{}: {line}", number + 1));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// A source file's module path inside its crate (`kube::server` for `src/kube/server.rs`).
fn module_of(file: &str) -> String {
    let stem = file.trim_end_matches(".rs");
    let parts: Vec<&str> = stem
        .split('/')
        .filter(|p| !matches!(*p, "mod" | "lib" | "main"))
        .collect();
    parts.join("::")
}

/// The modules `text` (a file of module `module`) refers to by `super::…` or `crate::…` paths,
/// outside its test module; a module's own ancestors are left out (they re-export).
fn references(module: &str, text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    // `super` of `kube::server` (kube/server.rs) and of `kube` (kube/mod.rs) alike: the parent.
    let here = module
        .rsplit_once("::")
        .map_or(String::new(), |(parent, _)| parent.to_owned());
    let mut found = BTreeSet::new();
    for (base, prefix) in [("super::", here), ("crate::", String::new())] {
        for (at, _) in text.match_indices(base) {
            let before = text[..at].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let rest = &text[at + base.len()..];
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            for k in (1..=segments.len()).rev() {
                let mut candidate: Vec<&str> = Vec::new();
                if !prefix.is_empty() {
                    candidate.push(&prefix);
                }
                candidate.extend(&segments[..k]);
                let candidate = candidate.join("::");
                if modules.contains(&candidate) {
                    if candidate != module && !module.starts_with(&format!("{candidate}::")) {
                        found.insert(candidate);
                    }
                    break;
                }
            }
        }
    }
    found
}

#[test]
fn no_module_imports_in_a_circle() {
    let mut circles = Vec::new();
    for (name, src) in crate_sources() {
        let files: Vec<String> = sources(&src)
            .into_iter()
            .filter(|f| !f.starts_with("bin/"))
            .collect();
        let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).collect();
        let edges: Vec<(String, BTreeSet<String>)> = files
            .iter()
            .map(|file| {
                let text = std::fs::read_to_string(src.join(file)).unwrap();
                let module = module_of(file);
                let refs = references(&module, &text, &modules);
                (module, refs)
            })
            .collect();
        let next = |m: &str| {
            edges
                .iter()
                .find(|(module, _)| module == m)
                .map(|(_, refs)| refs.clone())
                .unwrap_or_default()
        };
        for (start, _) in &edges {
            // Depth-first from `start`: reaching `start` again is a circle.
            let mut stack = vec![(start.clone(), vec![start.clone()])];
            let mut seen = BTreeSet::new();
            while let Some((at, path)) = stack.pop() {
                for to in next(&at) {
                    if &to == start {
                        circles.push(format!("{name}: {} -> {to}", path.join(" -> ")));
                    } else if seen.insert(to.clone()) {
                        let mut longer = path.clone();
                        longer.push(to.clone());
                        stack.push((to, longer));
                    }
                }
            }
        }
    }
    assert!(circles.is_empty(), "{circles:#?}");
}

/// The core's top-level modules, lowest first: each imports only modules before it, so no
/// arrow runs back up (the model describes what the configuration checks; the executor's
/// metrics are the executor's).
const CORE_LAYERS: &[&str] = &[
    "words", "backoff", "version", "error", "names", "config", "bounded", "model", "traits",
    "guard", "policy", "hotfix", "executor", "notify",
];

#[test]
fn the_cores_modules_import_downwards_only() {
    let src = root().join("neuro-deploy-core/src");
    let files: Vec<String> = sources(&src).into_iter().collect();
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).collect();
    let top = |module: &str| module.split("::").next().unwrap_or_default().to_owned();
    let mut upward = Vec::new();
    for file in &files {
        let module = module_of(file);
        if module.is_empty() {
            continue; // lib.rs re-exports from every layer
        }
        let from = top(&module);
        let Some(level) = CORE_LAYERS.iter().position(|l| *l == from) else {
            panic!("core module `{from}` ({file}) is in no layer of CORE_LAYERS: place it");
        };
        let text = std::fs::read_to_string(src.join(file)).unwrap();
        for to in references(&module, &text, &modules) {
            let to = top(&to);
            if to == from {
                continue;
            }
            let target = CORE_LAYERS.iter().position(|l| *l == to);
            if target.is_none_or(|t| t > level) {
                upward.push(format!("{file}: {from} -> {to}"));
            }
        }
    }
    assert!(upward.is_empty(), "imports that run back up: {upward:#?}");
}

/// The README's text between `<!-- NAME:start -->` and `<!-- NAME:end -->`.
fn readme_section(name: &str) -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = format!("<!-- {name}:start -->\n");
    let from = readme
        .find(&start)
        .unwrap_or_else(|| panic!("README has no {start}"))
        + start.len();
    let to = readme[from..]
        .find(&format!("<!-- {name}:end -->"))
        .unwrap_or_else(|| panic!("README has no end marker for {name}"));
    readme[from..from + to].to_owned()
}

#[test]
fn the_readme_tables_of_reason_and_exit_codes_are_generated_from_the_code() {
    assert_eq!(
        readme_section("reason-codes"),
        neuro_deploy_core::ReasonCode::markdown_table(),
        "regenerate the README's reason-code table from ReasonCode::markdown_table()"
    );
    assert_eq!(
        readme_section("exit-codes"),
        neuro_deploy_core::ExitStatus::markdown_table(),
        "regenerate the README's exit-code table from ExitStatus::markdown_table()"
    );
    // `--help` prints the same rule.
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_neuro-deploy"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains(&neuro_deploy_core::error::exit_codes_help()),
        "{help}"
    );
}

#[test]
fn the_readme_documents_every_metric_neuro_deploy_pushes() {
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"),
    )
    .unwrap();
    for (name, _) in neuro_deploy_core::telemetry::METRICS {
        assert!(
            readme.contains(&format!("| `{name}")),
            "the README's metrics table does not name {name}"
        );
    }
}
