//! # The feature contract, checked against the manifests
//!
//! `docs/feature-contract.json` is the workspace's feature contract in machine-readable form and
//! `docs/feature-contract.md` says the same in prose. This test reads every member's `[features]` through
//! `cargo metadata --format-version 1 --no-deps` (nothing is compiled, so it works while other crates are
//! mid-edit) and reports every disagreement, one precise line each:
//!
//! 1. **Names.** Every contract feature exists; every feature a manifest defines (implicit features of
//!    optional dependencies included) is in the contract. `default` is not a feature for this purpose.
//! 2. **Defaults.** The features switched on by `default`, followed transitively, are exactly those the
//!    contract marks `"default": true`.
//! 3. **Edges.** Each entry of a feature's `enables` is satisfied by the feature's *closure* (below).
//! 4. **Deprecated aliases.** An alias's manifest entry is exactly `[target]`, and its crate has a build
//!    script that mentions the alias upper-cased as in `CARGO_FEATURE_<NAME>` (`-` becomes `_`) and names
//!    the replacement, so that switching it on prints a warning.
//! 5. **Documentation.** `docs/feature-contract.md` has a section per crate (a heading whose text, without
//!    backticks, is the crate name, running to the next heading of the same or a higher level; headings
//!    inside fenced code do not count) that mentions each of the crate's features as `` `name` ``, and it
//!    shows each recommended combination's `cargo test <flags>` command.
//! 6. **CI.** Each `ci_matrix` command and each recommended combination's `cargo test <flags>` is a line of
//!    `.ci/run` (ignoring a leading `step <name>` and the like: the line ends with the command, which
//!    starts the line or follows a blank; `#` comments do not count) and of `.github/workflows/ci.yml`,
//!    where a `cargo test` command may instead be a `flags: <flags>` entry of a matrix whose job runs
//!    `cargo test ${{ matrix.flags }}`.
//! 7. **no_std.** A crate the contract marks `no_std` has `no_std` in its library root, and a `ci_matrix`
//!    command builds it for `x86_64-unknown-none` with the flags the contract names.
//! 8. **The contract itself.** Statuses are `working`, `partial` or `later: <issue>`; aliases point at a
//!    non-alias feature of the same crate and list only it; edges name contract features; the combinations
//!    name contract crates and features.
//!
//! ## When an edge is satisfied
//!
//! The *closure* of feature `F` of crate `C` starts at `F` and follows every entry of `C`'s `[features]`:
//! a bare name `G` that is a feature of `C` adds `G` and is followed in turn; `dep:D` switches on the
//! dependency `D`; `D/G` switches on `D` (following `D` too when `D` is also a feature of `C`) and asks
//! `D` for its feature `G`; `D?/G` asks `D` for `G` only when `D` is switched on anyway, that is when the
//! closure switches on `D` or `D` is a non-optional normal or build dependency (dev-dependencies never
//! count). Then, for a contract edge of `F`:
//!
//! - a bare `G` holds when `G` is in the closure, or `G` is a deprecated alias whose target is;
//! - `dep:D` holds when the closure switches on `D` (by `dep:D`, `D/G`, or the implicit feature `D`;
//!   a weak `D?/G` never switches a dependency on);
//! - `D/G` holds when the closure asks `D` for some `H` (strongly, or weakly with `D` on) where `H` is
//!   `G`, or `G` is a deprecated alias of `H` (so `vm-mem/optimizations` satisfies `vm-mem/async`), or `D`
//!   is a workspace member and `H`'s closure in `D` contains `G` or `G`'s alias target.
//!
//! Dependency names are the keys of `[dependencies]` (a rename, when there is one); the package behind a
//! key is looked up to follow features into another member and to find its aliases.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

// ------------------------------------------------------------------------------------------------
// The contract (docs/feature-contract.json)

#[derive(Debug, Clone)]
struct FeatureSpec {
    enables: Vec<String>,
    default: bool,
    alias_of: Option<String>,
    status: String,
}

#[derive(Debug, Clone, Copy)]
struct NoStd {
    no_default_features: bool,
    default_features: bool,
}

#[derive(Debug, Clone)]
struct CrateSpec {
    features: BTreeMap<String, FeatureSpec>,
    no_std: Option<NoStd>,
}

#[derive(Debug, Clone)]
struct Contract {
    crates: BTreeMap<String, CrateSpec>,
    /// (combination name, the flags of each `cargo test` it takes)
    combinations: Vec<(String, Vec<String>)>,
    /// `ci_matrix` commands.
    ci: Vec<String>,
}

impl Contract {
    fn alias_target(&self, krate: &str, feature: &str) -> Option<&str> {
        self.crates
            .get(krate)?
            .features
            .get(feature)?
            .alias_of
            .as_deref()
    }

    /// The `cargo test` command of every recommended combination.
    fn combination_commands(&self) -> impl Iterator<Item = String> + '_ {
        self.combinations
            .iter()
            .flat_map(|(_, flags)| flags.iter().map(|f| format!("cargo test {f}")))
    }
}

fn field<'a>(v: &'a Value, key: &str, ctx: &str) -> Result<&'a Value, String> {
    v.get(key).ok_or_else(|| format!("{ctx}: no `{key}`"))
}

fn text(v: &Value, ctx: &str) -> Result<String, String> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{ctx}: not a string"))
}

fn texts(v: &Value, ctx: &str) -> Result<Vec<String>, String> {
    let list = v.as_array().ok_or_else(|| format!("{ctx}: not an array"))?;
    list.iter().map(|s| text(s, ctx)).collect()
}

fn object<'a>(v: &'a Value, ctx: &str) -> Result<&'a serde_json::Map<String, Value>, String> {
    v.as_object().ok_or_else(|| format!("{ctx}: not an object"))
}

fn parse_contract(v: &Value) -> Result<Contract, String> {
    let mut crates = BTreeMap::new();
    for (name, c) in object(field(v, "crates", "contract")?, "crates")? {
        let mut features = BTreeMap::new();
        for (fname, f) in object(field(c, "features", name)?, name)? {
            let ctx = format!("{name}/{fname}");
            let default = field(f, "default", &ctx)?.as_bool();
            features.insert(
                fname.clone(),
                FeatureSpec {
                    enables: texts(field(f, "enables", &ctx)?, &ctx)?,
                    default: default.ok_or_else(|| format!("{ctx}: `default` is not a bool"))?,
                    alias_of: f
                        .get("deprecated_alias_of")
                        .map(|a| text(a, &ctx))
                        .transpose()?,
                    status: text(field(f, "status", &ctx)?, &ctx)?,
                },
            );
        }
        let no_std = c.get("no_std").map(|n| NoStd {
            no_default_features: n["no_default_features"].as_bool() == Some(true),
            default_features: n["default_features"].as_bool() == Some(true),
        });
        crates.insert(name.clone(), CrateSpec { features, no_std });
    }
    let mut combinations = Vec::new();
    for c in field(v, "recommended_combinations", "contract")?
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = text(field(c, "name", "combination")?, "combination name")?;
        combinations.push((name.clone(), texts(field(c, "flags", &name)?, &name)?));
    }
    let mut ci = Vec::new();
    for s in field(v, "ci_matrix", "contract")?
        .as_array()
        .into_iter()
        .flatten()
    {
        ci.push(text(
            field(s, "command", "ci_matrix entry")?,
            "ci_matrix command",
        )?);
    }
    Ok(Contract {
        crates,
        combinations,
        ci,
    })
}

// ------------------------------------------------------------------------------------------------
// The workspace (cargo metadata)

#[derive(Debug, Clone)]
struct Dependency {
    key: String,
    package: String,
    optional: bool,
    dev: bool,
}

#[derive(Debug, Clone)]
struct Package {
    features: BTreeMap<String, Vec<String>>,
    deps: Vec<Dependency>,
    build_script: Option<PathBuf>,
    lib: Option<PathBuf>,
}

#[derive(Debug, Clone)]
struct Workspace {
    packages: BTreeMap<String, Package>,
}

impl Workspace {
    /// The member package behind dependency key `key` of `pkg`, with its name.
    fn member_behind<'a>(&'a self, pkg: &Package, key: &str) -> Option<(&'a str, &'a Package)> {
        let name = pkg
            .deps
            .iter()
            .find(|d| d.key == key)
            .map_or(key, |d| d.package.as_str());
        self.packages
            .get_key_value(name)
            .map(|(n, p)| (n.as_str(), p))
    }
}

fn parse_workspace(meta: &Value) -> Result<Workspace, String> {
    let members: BTreeSet<&str> = field(meta, "workspace_members", "metadata")?
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut packages = BTreeMap::new();
    for p in field(meta, "packages", "metadata")?
        .as_array()
        .into_iter()
        .flatten()
    {
        if !p["id"].as_str().is_some_and(|id| members.contains(id)) {
            continue;
        }
        let name = text(field(p, "name", "package")?, "package name")?;
        let mut features = BTreeMap::new();
        for (f, list) in object(field(p, "features", &name)?, &name)? {
            features.insert(f.clone(), texts(list, &format!("{name}/{f}"))?);
        }
        let deps = p["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                let package = d["name"].as_str().unwrap_or_default().to_owned();
                Dependency {
                    key: d["rename"]
                        .as_str()
                        .map_or_else(|| package.clone(), str::to_owned),
                    package,
                    optional: d["optional"].as_bool() == Some(true),
                    dev: d["kind"].as_str() == Some("dev"),
                }
            })
            .collect();
        let target = |kind: &str| {
            p["targets"].as_array().into_iter().flatten().find_map(|t| {
                let kinds = t["kind"].as_array()?;
                let path = t["src_path"].as_str()?;
                kinds.iter().any(|k| k == kind).then(|| PathBuf::from(path))
            })
        };
        let (build_script, lib) = (target("custom-build"), target("lib"));
        packages.insert(
            name,
            Package {
                features,
                deps,
                build_script,
                lib,
            },
        );
    }
    Ok(Workspace { packages })
}

// ------------------------------------------------------------------------------------------------
// Closures and edges

/// One entry of a `[features]` list, or one contract edge.
enum Item<'a> {
    Feature(&'a str),
    Dep(&'a str),
    DepFeature {
        dep: &'a str,
        feature: &'a str,
        weak: bool,
    },
}

fn parse_item(s: &str) -> Item<'_> {
    if let Some(d) = s.strip_prefix("dep:") {
        Item::Dep(d)
    } else if let Some((d, feature)) = s.split_once('/') {
        let (dep, weak) = d.strip_suffix('?').map_or((d, false), |d| (d, true));
        Item::DepFeature { dep, feature, weak }
    } else {
        Item::Feature(s)
    }
}

/// Everything one feature switches on within its crate (see the module docs).
#[derive(Debug, Default)]
struct Closure {
    /// Features of the crate, the starting one included.
    features: BTreeSet<String>,
    /// Dependency keys switched on (`dep:d`, `d/f`).
    deps: BTreeSet<String>,
    /// `d/f` entries as (dependency key, feature).
    strong: BTreeSet<(String, String)>,
    /// `d?/f` entries as (dependency key, feature).
    weak: BTreeSet<(String, String)>,
}

fn closure(pkg: &Package, start: &str) -> Closure {
    let mut c = Closure::default();
    let mut todo = vec![start.to_owned()];
    while let Some(f) = todo.pop() {
        let Some(list) = pkg.features.get(&f) else {
            continue;
        };
        if !c.features.insert(f) {
            continue;
        }
        for entry in list {
            match parse_item(entry) {
                Item::Feature(g) => todo.push(g.to_owned()),
                Item::Dep(d) => {
                    c.deps.insert(d.to_owned());
                }
                Item::DepFeature { dep, feature, weak } => {
                    let pair = (dep.to_owned(), feature.to_owned());
                    if weak {
                        c.weak.insert(pair);
                    } else {
                        c.deps.insert(dep.to_owned());
                        todo.push(dep.to_owned());
                        c.strong.insert(pair);
                    }
                }
            }
        }
    }
    c
}

/// The (dependency key, feature) pairs the closure really asks for.
fn asked_for<'a>(
    pkg: &'a Package,
    c: &'a Closure,
) -> impl Iterator<Item = &'a (String, String)> + 'a {
    let always_on = |d: &str| pkg.deps.iter().any(|x| x.key == d && !x.optional && !x.dev);
    c.strong.iter().chain(
        c.weak
            .iter()
            .filter(move |(d, _)| c.deps.contains(d) || always_on(d)),
    )
}

fn edge_satisfied(
    contract: &Contract,
    ws: &Workspace,
    krate: &str,
    pkg: &Package,
    c: &Closure,
    edge: &str,
) -> bool {
    match parse_item(edge) {
        Item::Feature(g) => {
            c.features.contains(g)
                || contract
                    .alias_target(krate, g)
                    .is_some_and(|t| c.features.contains(t))
        }
        Item::Dep(d) => c.deps.contains(d),
        Item::DepFeature { dep, feature, .. } => {
            let behind = ws.member_behind(pkg, dep);
            let target = contract.alias_target(behind.map_or(dep, |(n, _)| n), feature);
            asked_for(pkg, c).any(|(d, have)| {
                d == dep
                    && (have == feature
                        || target == Some(have.as_str())
                        || behind.is_some_and(|(_, p)| {
                            let inner = closure(p, have);
                            inner.features.contains(feature)
                                || target.is_some_and(|t| inner.features.contains(t))
                        }))
            })
        }
    }
}

fn quoted(list: &[String]) -> String {
    list.iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn set_list(set: &BTreeSet<&str>) -> String {
    set.iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ------------------------------------------------------------------------------------------------
// The checks; each pushes one line per problem.

fn check_contract_itself(contract: &Contract, out: &mut Vec<String>) {
    for (krate, spec) in &contract.crates {
        for (name, f) in &spec.features {
            let later = f
                .status
                .strip_prefix("later: ")
                .is_some_and(|issue| !issue.trim().is_empty());
            if !(f.status == "working" || f.status == "partial" || later) {
                out.push(format!("contract: {krate}/{name} has status {:?}; use working, partial or `later: <issue>`", f.status));
            }
            if let Some(t) = &f.alias_of
                && (spec.features.get(t).is_none_or(|tf| tf.alias_of.is_some())
                    || f.enables != std::slice::from_ref(t)
                    || f.default)
            {
                out.push(format!("contract: {krate}/{name} is an alias of `{t}`, which must be a non-alias feature of {krate}, its only edge, and the alias must not be default"));
            }
            for edge in &f.enables {
                let known = match parse_item(edge) {
                    Item::Feature(g) => spec.features.contains_key(g),
                    Item::DepFeature { dep, feature, .. } => contract
                        .crates
                        .get(dep)
                        .is_none_or(|d| d.features.contains_key(feature)),
                    Item::Dep(_) => true,
                };
                if !known {
                    out.push(format!(
                        "contract: {krate}/{name} enables `{edge}`, which is not a contract feature"
                    ));
                }
            }
        }
    }
    for (name, flag_sets) in &contract.combinations {
        for flags in flag_sets {
            let mut krate: Option<&str> = None;
            let mut words = flags.split_whitespace();
            while let Some(w) = words.next() {
                match w {
                    "-p" => krate = words.next(),
                    "--no-default-features" => {}
                    "--features" => {
                        for f in words.next().unwrap_or_default().split(',') {
                            let (k, f) =
                                f.split_once('/').map_or((krate, f), |(k, f)| (Some(k), f));
                            let ok = k
                                .and_then(|k| contract.crates.get(k))
                                .is_some_and(|c| c.features.contains_key(f));
                            if !ok {
                                out.push(format!("contract: combination {name} names `{f}`, not a contract feature of {k:?}"));
                            }
                        }
                    }
                    other => out.push(format!(
                        "contract: combination {name} has unexpected flag `{other}`"
                    )),
                }
            }
            if !krate.is_some_and(|k| contract.crates.contains_key(k)) {
                out.push(format!(
                    "contract: combination {name} (`{flags}`) names no contract crate with -p"
                ));
            }
        }
    }
}

fn check_manifests(contract: &Contract, ws: &Workspace, out: &mut Vec<String>) {
    for krate in ws
        .packages
        .keys()
        .filter(|k| !contract.crates.contains_key(*k))
    {
        out.push(format!(
            "{krate}: workspace member missing from docs/feature-contract.json"
        ));
    }
    for (krate, spec) in &contract.crates {
        let Some(pkg) = ws.packages.get(krate) else {
            out.push(format!(
                "{krate}: in the contract but not a workspace member"
            ));
            continue;
        };
        for name in spec
            .features
            .keys()
            .filter(|f| !pkg.features.contains_key(*f))
        {
            out.push(format!(
                "{krate}: contract feature `{name}` is missing from {krate}/Cargo.toml"
            ));
        }
        for name in pkg
            .features
            .keys()
            .filter(|f| *f != "default" && !spec.features.contains_key(*f))
        {
            out.push(format!(
                "{krate}: feature `{name}` is not in the contract; add it to docs/feature-contract.json and .md, or remove it"
            ));
        }
        let found = closure(pkg, "default");
        let found: BTreeSet<&str> = found
            .features
            .iter()
            .map(String::as_str)
            .filter(|f| *f != "default")
            .collect();
        let want: BTreeSet<&str> = spec
            .features
            .iter()
            .filter(|(_, f)| f.default)
            .map(|(n, _)| n.as_str())
            .collect();
        if found != want {
            out.push(format!(
                "{krate}: `default` switches on [{}] but the contract's defaults are [{}]",
                set_list(&found),
                set_list(&want)
            ));
        }
        for (name, f) in &spec.features {
            let Some(list) = pkg.features.get(name) else {
                continue;
            };
            if let Some(t) = &f.alias_of
                && list != std::slice::from_ref(t)
            {
                out.push(format!(
                    "{krate}: deprecated alias `{name}` must be exactly [\"{t}\"], found [{}]",
                    quoted(list)
                ));
            }
            let c = closure(pkg, name);
            for edge in f
                .enables
                .iter()
                .filter(|e| !edge_satisfied(contract, ws, krate, pkg, &c, e))
            {
                out.push(format!(
                    "{krate}: `{name}` must enable `{edge}`, directly or through other {krate} features, but does not ({name} = [{}])",
                    quoted(list)
                ));
            }
        }
    }
}

/// Whether `text` has `token` as a whole word, or right after `CARGO_FEATURE_`.
fn mentions_token(text: &str, token: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(token).any(|(i, _)| {
        let (before, after) = (&text[..i], &text[i + token.len()..]);
        (before.ends_with("CARGO_FEATURE_") || !before.ends_with(ident))
            && !after.starts_with(ident)
    })
}

fn check_build_scripts(
    contract: &Contract,
    ws: &Workspace,
    read: &dyn Fn(&Path) -> Option<String>,
    out: &mut Vec<String>,
) {
    for (krate, spec) in &contract.crates {
        let Some(pkg) = ws.packages.get(krate) else {
            continue;
        };
        for (alias, f) in spec
            .features
            .iter()
            .filter_map(|(n, f)| Some((n, f.alias_of.as_ref()?)))
        {
            let Some(script) = pkg.build_script.as_deref() else {
                out.push(format!(
                    "{krate}: has deprecated alias `{alias}` but no build script to warn about it"
                ));
                continue;
            };
            let body = read(script).unwrap_or_default();
            let upper = alias.to_ascii_uppercase().replace('-', "_");
            if !mentions_token(&body, &upper) {
                out.push(format!(
                    "{krate}: {} never mentions `{upper}` (CARGO_FEATURE_{upper}), so `{alias}` builds without a deprecation warning",
                    script.display()
                ));
            }
            if !mentions_token(&body, f) {
                out.push(format!(
                    "{krate}: {} never names `{f}`, the replacement of `{alias}`",
                    script.display()
                ));
            }
        }
    }
}

fn check_no_std(
    contract: &Contract,
    ws: &Workspace,
    read: &dyn Fn(&Path) -> Option<String>,
    out: &mut Vec<String>,
) {
    for (krate, no_std) in contract
        .crates
        .iter()
        .filter_map(|(k, c)| Some((k, c.no_std?)))
    {
        let lib = ws.packages.get(krate).and_then(|p| p.lib.as_deref());
        if !lib.and_then(read).is_some_and(|t| t.contains("no_std")) {
            out.push(format!("{krate}: marked no_std in the contract, but its library root has no `no_std` attribute"));
        }
        for (wanted, without_defaults) in [
            (no_std.no_default_features, true),
            (no_std.default_features, false),
        ] {
            let built = contract.ci.iter().any(|cmd| {
                let w: Vec<&str> = cmd.split_whitespace().collect();
                w.windows(2)
                    .any(|p| p == ["--target", "x86_64-unknown-none"])
                    && w.windows(2).any(|p| p == ["-p", krate.as_str()])
                    && w.contains(&"--no-default-features") == without_defaults
            });
            if wanted && !built {
                let which = if without_defaults {
                    "--no-default-features"
                } else {
                    "default features"
                };
                out.push(format!(
                    "{krate}: no ci_matrix command builds it for x86_64-unknown-none with {which}"
                ));
            }
        }
    }
}

/// The text of the section whose heading names `krate`, if any.
fn crate_section<'a>(md: &'a str, krate: &str) -> Option<&'a str> {
    let mut fenced = false;
    let mut start: Option<(usize, usize)> = None; // (byte offset, heading level)
    let mut offset = 0;
    for line in md.split_inclusive('\n') {
        let here = offset;
        offset += line.len();
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            fenced = !fenced;
            continue;
        }
        let level = t.chars().take_while(|c| *c == '#').count();
        if fenced || level == 0 || !t[level..].starts_with(' ') {
            continue;
        }
        if let Some((s, l)) = start {
            if level <= l {
                return Some(&md[s..here]);
            }
        } else if t[level..].replace('`', "").trim() == krate {
            start = Some((here, level));
        }
    }
    start.map(|(s, _)| &md[s..])
}

fn check_markdown(contract: &Contract, ws: &Workspace, md: &str, out: &mut Vec<String>) {
    for (krate, spec) in &contract.crates {
        let Some(section) = crate_section(md, krate) else {
            out.push(format!(
                "docs/feature-contract.md: no section headed `{krate}`"
            ));
            continue;
        };
        let manifest = ws
            .packages
            .get(krate)
            .map(|p| p.features.keys())
            .into_iter()
            .flatten();
        let names: BTreeSet<&String> = spec
            .features
            .keys()
            .chain(manifest)
            .filter(|f| *f != "default")
            .collect();
        for name in names
            .into_iter()
            .filter(|n| !section.contains(&format!("`{n}`")))
        {
            out.push(format!(
                "docs/feature-contract.md: the {krate} section never mentions `{name}`"
            ));
        }
    }
    for cmd in contract
        .combination_commands()
        .filter(|c| !md.contains(c.as_str()))
    {
        out.push(format!("docs/feature-contract.md: never shows `{cmd}`"));
    }
}

/// Whether some non-comment line of `script` ends with `command` as a whole.
fn has_command_line(script: &str, command: &str) -> bool {
    script
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .any(|l| {
            l.strip_suffix(command)
                .is_some_and(|before| before.is_empty() || before.ends_with(char::is_whitespace))
        })
}

fn check_ci(contract: &Contract, run: &str, workflow: &str, out: &mut Vec<String>) {
    let runs_matrix = workflow.contains("cargo test ${{ matrix.flags }}");
    let in_matrix = |flags: &str| {
        workflow.lines().any(|l| {
            l.trim()
                .trim_start_matches("- ")
                .strip_prefix("flags:")
                .is_some_and(|v| v.trim().trim_matches('"') == flags)
        })
    };
    for cmd in contract
        .ci
        .iter()
        .cloned()
        .chain(contract.combination_commands())
    {
        if !has_command_line(run, &cmd) {
            out.push(format!(".ci/run: no step runs `{cmd}`"));
        }
        let matrix = cmd
            .strip_prefix("cargo test ")
            .is_some_and(|f| runs_matrix && in_matrix(f));
        if !has_command_line(workflow, &cmd) && !matrix {
            out.push(format!(".github/workflows/ci.yml: no job runs `{cmd}`"));
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Running the checks

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("vm-service sits in the workspace root")
        .to_path_buf()
}

fn metadata() -> Value {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

fn read_root(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

fn contract() -> Contract {
    let v: Value = serde_json::from_str(&read_root("docs/feature-contract.json"))
        .expect("the contract is JSON");
    parse_contract(&v).expect("the contract has the expected shape")
}

fn read_file(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok()
}

fn manifest_problems(contract: &Contract, meta: &Value) -> Vec<String> {
    let ws = parse_workspace(meta).expect("metadata has the expected shape");
    let mut out = Vec::new();
    check_manifests(contract, &ws, &mut out);
    check_build_scripts(contract, &ws, &read_file, &mut out);
    out
}

#[test]
fn workspace_matches_the_feature_contract() {
    let contract = contract();
    let meta = metadata();
    let ws = parse_workspace(&meta).expect("metadata has the expected shape");
    let mut out = Vec::new();
    check_contract_itself(&contract, &mut out);
    out.extend(manifest_problems(&contract, &meta));
    check_no_std(&contract, &ws, &read_file, &mut out);
    check_markdown(
        &contract,
        &ws,
        &read_root("docs/feature-contract.md"),
        &mut out,
    );
    check_ci(
        &contract,
        &read_root(".ci/run"),
        &read_root(".github/workflows/ci.yml"),
        &mut out,
    );
    assert!(
        out.is_empty(),
        "{} feature-contract problem(s):\n  {}",
        out.len(),
        out.join("\n  ")
    );
    assert_eq!(
        contract.crates.len(),
        9,
        "the contract covers the nine crates"
    );
}

fn features_of<'a>(meta: &'a mut Value, krate: &str) -> &'a mut serde_json::Map<String, Value> {
    let packages = meta["packages"].as_array_mut().expect("packages");
    let p = packages
        .iter_mut()
        .find(|p| p["name"] == krate)
        .expect("crate in metadata");
    p["features"].as_object_mut().expect("features")
}

/// Applies `doctor` to the real metadata and returns the problems the checker then reports.
fn problems_after(doctor: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut meta = metadata();
    doctor(&mut meta);
    manifest_problems(&contract(), &meta)
}

#[test]
fn doctored_metadata_is_caught() {
    assert_eq!(
        problems_after(|_| {}),
        Vec::<String>::new(),
        "the untouched manifests pass"
    );

    let p = problems_after(|m| {
        let f = features_of(m, "vm-smmu");
        f.remove("interrupt");
        f.insert("default".into(), json!(["mmu", "atsu", "tlb"]));
    });
    assert_eq!(
        p,
        [
            "vm-smmu: contract feature `interrupt` is missing from vm-smmu/Cargo.toml",
            "vm-smmu: `default` switches on [`atsu`, `mmu`, `tlb`] but the contract's defaults are [`atsu`, `interrupt`, `mmu`, `tlb`]"
        ]
    );

    let p = problems_after(|m| {
        features_of(m, "vm-core").insert("turbo".into(), json!([]));
    });
    assert_eq!(
        p,
        [
            "vm-core: feature `turbo` is not in the contract; add it to docs/feature-contract.json and .md, or remove it"
        ]
    );

    let p = problems_after(|m| {
        features_of(m, "vm-engine").insert("default".into(), json!(["jit"]));
    });
    assert_eq!(
        p,
        [
            "vm-engine: `default` switches on [`interpreter`, `jit`] but the contract's defaults are [`interpreter`]"
        ]
    );

    let p = problems_after(|m| {
        let perf = json!([
            "std",
            "vm-core/async",
            "vm-mem/optimizations",
            "vm-engine/async",
            "vm-frontend/all"
        ]);
        features_of(m, "vm-service").insert("performance".into(), perf);
    });
    assert_eq!(
        p,
        [
            "vm-service: `performance` must enable `vm-engine/jit`, directly or through other vm-service features, but does not (performance = [\"std\", \"vm-core/async\", \"vm-mem/optimizations\", \"vm-engine/async\", \"vm-frontend/all\"])"
        ]
    );

    let p = problems_after(|m| {
        features_of(m, "vm-mem").insert("tlb".into(), json!(["std"]));
    });
    assert_eq!(
        p,
        [
            "vm-mem: deprecated alias `tlb` must be exactly [\"optimizations\"], found [\"std\"]",
            "vm-mem: `tlb` must enable `optimizations`, directly or through other vm-mem features, but does not (tlb = [\"std\"])"
        ]
    );

    // A crate with a deprecated alias and no build script.
    let p = problems_after(|m| {
        let packages = m["packages"].as_array_mut().expect("packages");
        let accel = packages
            .iter_mut()
            .find(|p| p["name"] == "vm-accel")
            .expect("vm-accel");
        accel["targets"]
            .as_array_mut()
            .expect("targets")
            .retain(|t| t["kind"] != json!(["custom-build"]));
    });
    assert_eq!(
        p,
        [
            "vm-accel: has deprecated alias `hardware` but no build script to warn about it",
            "vm-accel: has deprecated alias `smmu` but no build script to warn about it"
        ]
    );
}

/// A two-crate workspace in metadata form: `a` depends on `b` (optional) and on `c` (not optional).
fn mini(a_features: Value) -> Workspace {
    let meta = json!({
        "workspace_members": ["a", "b"],
        "packages": [
            { "id": "a", "name": "a", "features": a_features, "targets": [], "dependencies": [
                { "name": "b", "optional": true, "kind": null },
                { "name": "c", "optional": false, "kind": null },
                { "name": "d", "optional": false, "kind": "dev" }, { "name": "d", "optional": true, "kind": null } ] },
            { "id": "b", "name": "b", "features": { "new": [], "old": ["new"], "umbrella": ["new"] },
              "targets": [], "dependencies": [] }
        ]
    });
    parse_workspace(&meta).expect("mini metadata parses")
}

/// Whether feature `x` of the mini workspace's `a` satisfies `edge`, with `b/old` an alias of `b/new`.
fn holds(a_features: Value, edge: &str) -> bool {
    let ws = mini(a_features);
    let spec = |alias: Option<&str>| FeatureSpec {
        enables: alias.map(|a| vec![a.to_owned()]).unwrap_or_default(),
        default: false,
        alias_of: alias.map(str::to_owned),
        status: "working".into(),
    };
    let b = CrateSpec {
        features: BTreeMap::from([
            ("new".into(), spec(None)),
            ("old".into(), spec(Some("new"))),
        ]),
        no_std: None,
    };
    let contract = Contract {
        crates: BTreeMap::from([("b".into(), b)]),
        combinations: vec![],
        ci: vec![],
    };
    let a = &ws.packages["a"];
    edge_satisfied(&contract, &ws, "a", a, &closure(a, "x"), edge)
}

#[test]
fn edge_rules() {
    assert!(
        holds(json!({"x": ["y"], "y": ["dep:b"]}), "y"),
        "same-crate edges are transitive"
    );
    assert!(holds(json!({"x": ["y"], "y": ["dep:b"]}), "dep:b"));
    assert!(
        holds(json!({"x": ["b/new"]}), "dep:b"),
        "`b/f` switches `b` on"
    );
    assert!(
        !holds(json!({"x": ["b?/new"]}), "dep:b"),
        "`b?/f` does not switch `b` on"
    );
    assert!(
        !holds(json!({"x": ["b?/new"]}), "b/new"),
        "weak edge to an optional dependency that is off"
    );
    assert!(
        holds(json!({"x": ["b?/new", "dep:b"]}), "b/new"),
        "weak edge to a dependency that is on"
    );
    assert!(
        holds(json!({"x": ["c?/f"]}), "c/f"),
        "weak edge to a non-optional dependency"
    );
    assert!(
        !holds(json!({"x": ["d?/f"]}), "d/f"),
        "a dev-dependency does not switch `d` on"
    );
    assert!(
        holds(json!({"x": ["b/new"]}), "b/old"),
        "an edge to an alias is satisfied by its target"
    );
    assert!(
        holds(json!({"x": ["b/umbrella"]}), "b/new"),
        "through a feature of the member `b`"
    );
    assert!(!holds(json!({"x": ["b/new"]}), "b/umbrella"));
    assert!(!holds(json!({"x": []}), "dep:b"));
    assert!(
        holds(json!({"x": ["b"], "b": ["dep:b"]}), "dep:b"),
        "the implicit feature `b`"
    );
}

#[test]
fn markdown_sections_and_ci_lines() {
    let md = "# T\n## `a`\n`x` and `y`\n```sh\n# b\n```\n### a detail\n`z`\n## b\n`w`\n";
    assert_eq!(
        crate_section(md, "a"),
        Some("## `a`\n`x` and `y`\n```sh\n# b\n```\n### a detail\n`z`\n")
    );
    assert_eq!(crate_section(md, "b"), Some("## b\n`w`\n"));
    assert_eq!(crate_section(md, "c"), None);
    assert!(has_command_line(
        "step all cargo test --workspace\n",
        "cargo test --workspace"
    ));
    assert!(!has_command_line(
        "step all cargo test --workspace --all-features\n",
        "cargo test --workspace"
    ));
    assert!(!has_command_line(
        "# cargo test --workspace\n",
        "cargo test --workspace"
    ));
    assert!(mentions_token(
        "format!(\"CARGO_FEATURE_{alias}\") (\"SMMU\", \"acceleration\")",
        "SMMU"
    ));
    assert!(!mentions_token("CARGO_FEATURE_SMMUX IOMMU_SMMU", "SMMU"));
}

#[test]
fn doctored_docs_and_ci_are_caught() {
    let contract = contract();
    let ws = parse_workspace(&metadata()).expect("metadata has the expected shape");

    let md = read_root("docs/feature-contract.md").replace("`smoltcp`", "smoltcp");
    let mut out = Vec::new();
    check_markdown(&contract, &ws, &md, &mut out);
    assert_eq!(
        out,
        ["docs/feature-contract.md: the vm-device section never mentions `smoltcp`"]
    );

    let run =
        read_root(".ci/run").replace("step accel cargo test -p vm-service --features accel\n", "");
    let yml = read_root(".github/workflows/ci.yml").replace(
        "\"-p vm-engine --no-default-features --features interpreter\"",
        "\"-p vm-engine\"",
    );
    let mut out = Vec::new();
    check_ci(&contract, &run, &yml, &mut out);
    assert_eq!(
        out,
        [
            ".ci/run: no step runs `cargo test -p vm-service --features accel`",
            ".github/workflows/ci.yml: no job runs `cargo test -p vm-engine --no-default-features --features interpreter`",
        ]
    );

    let mut bare_engine = contract.clone();
    let engine = bare_engine.crates.get_mut("vm-engine").expect("vm-engine");
    engine.no_std = Some(NoStd {
        no_default_features: true,
        default_features: false,
    });
    let mut out = Vec::new();
    check_no_std(
        &bare_engine,
        &ws,
        &|_: &Path| Some("#![no_std]".into()),
        &mut out,
    );
    assert_eq!(
        out,
        [
            "vm-engine: no ci_matrix command builds it for x86_64-unknown-none with --no-default-features"
        ]
    );
    check_no_std(&contract, &ws, &|_: &Path| Some(String::new()), &mut out);
    assert_eq!(
        out.len(),
        1 + 5,
        "each of the five no_std crates lacks the attribute: {out:?}"
    );
}
