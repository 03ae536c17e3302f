//! `tillit-plugin-pack`: turns the plugins' core wasm modules into
//! components, checks them against their manifests, and packages them for
//! the host. `cargo xtask plugins` builds the guests and then runs this; it
//! is a native tool of the plugins' workspace so that xtask stays std-only.
//!
//! ```text
//! tillit-plugin-pack pack <plugins-dir> <wasm-dir> <dist-dir> <hostile-dist-dir>
//! tillit-plugin-pack inspect <plugin.wasm>
//! ```
//!
//! `pack` finds `<plugins-dir>/*/plugin.toml` and
//! `<plugins-dir>/hostile/*/plugin.toml`, and for each plugin:
//!
//! 1. parses and checks the manifest (`tillit-plugin-manifest`);
//! 2. checks its templates: listed files exist, parse as Handlebars, and
//!    neither bypass escaping nor carry scripts;
//! 3. wraps `<wasm-dir>/<crate>.wasm` into a component
//!    (`wit_component::ComponentEncoder`, no WASI adapter) and validates it;
//! 4. checks the component's imports against the manifest's capabilities
//!    and its exports against its API version;
//! 5. writes `<dist-dir>/<id>-<version>/` with `plugin.wasm`, `plugin.toml`
//!    (with `sha256` of `plugin.wasm`) and `templates/`.
//!
//! Plugins under `hostile/` exist to prove the host's containment: they are
//! packaged into `<hostile-dist-dir>` even when checks 1's API version or 4
//! fail (those become warnings), because that failure is their point.
//!
//! Every plugin is tried; each failure is reported with the plugin and the
//! file, and the exit status is 1 if any failed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};
use tillit_plugin_manifest::{Capability, Manifest, SUPPORTED_APIS, WIT_PACKAGE, check_template};

const USAGE: &str = "usage: tillit-plugin-pack pack <plugins-dir> <wasm-dir> <dist-dir> <hostile-dist-dir>\n       tillit-plugin-pack inspect <plugin.wasm>";

/// The exports every plugin of an API version has.
const EXPORTS: [&str; 3] = ["events", "http", "ui"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["pack", plugins, wasm, dist, hostile] => pack_all(
            Path::new(plugins),
            Path::new(wasm),
            Path::new(dist),
            Path::new(hostile),
        ),
        ["inspect", file] => inspect(Path::new(file)),
        _ => Err(anyhow!("{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tillit-plugin-pack: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// One packaged plugin.
#[derive(Debug)]
struct Packed {
    id: String,
    version: String,
    dir: PathBuf,
    size: usize,
    imports: Vec<String>,
    warnings: Vec<String>,
}

fn pack_all(plugins: &Path, wasm: &Path, dist: &Path, hostile_dist: &Path) -> Result<()> {
    let mut sources = plugin_dirs(plugins)?
        .into_iter()
        .map(|d| (d, false))
        .collect::<Vec<_>>();
    sources.extend(
        plugin_dirs(&plugins.join("hostile"))?
            .into_iter()
            .map(|d| (d, true)),
    );
    if sources.is_empty() {
        bail!("no plugin.toml under {}", plugins.display());
    }
    let mut ids: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut failed = 0;
    for (dir, hostile) in sources {
        let out = if hostile { hostile_dist } else { dist };
        match pack_one(&dir, hostile, wasm, out) {
            Ok(packed) => {
                if let Some(other) = ids.insert(packed.id.clone(), dir.clone()) {
                    eprintln!(
                        "error: {}: id {:?} is also the id of {}",
                        dir.join("plugin.toml").display(),
                        packed.id,
                        other.display()
                    );
                    failed += 1;
                    continue;
                }
                let imports: Vec<&str> = packed
                    .imports
                    .iter()
                    .filter_map(|i| tillit_plugin_manifest::parse_import(i).map(|(n, _)| n))
                    .filter(|n| *n != "types")
                    .collect();
                println!(
                    "{} {} -> {} ({} KiB component; imports: {}){}",
                    packed.id,
                    packed.version,
                    packed.dir.join("plugin.wasm").display(),
                    packed.size.div_ceil(1024),
                    if imports.is_empty() {
                        "none".to_owned()
                    } else {
                        imports.join(", ")
                    },
                    if hostile { " [hostile]" } else { "" },
                );
                for w in &packed.warnings {
                    println!("  warning: {w}");
                }
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        bail!("{failed} plugin(s) failed; see the errors above");
    }
    Ok(())
}

/// The directories under `root` holding a `plugin.toml`, sorted.
fn plugin_dirs(root: &Path) -> Result<Vec<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Ok(Vec::new());
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("plugin.toml").is_file())
        .collect();
    dirs.sort();
    Ok(dirs)
}

fn pack_one(dir: &Path, hostile: bool, wasm_dir: &Path, out_root: &Path) -> Result<Packed> {
    let manifest_path = dir.join("plugin.toml");
    let shown = manifest_path.display();
    let source = read_text(&manifest_path)?;
    let manifest = Manifest::parse(&source).with_context(|| format!("{shown}"))?;
    if manifest.sha256.is_some() {
        bail!("{shown}: sha256 is written by the build into the packaged manifest; remove it");
    }
    let mut warnings = Vec::new();
    if !manifest.api_supported() {
        refuse(
            hostile,
            &mut warnings,
            format!(
                "{shown}: api {:?} is not one this build knows ({}); see plugin-api/wit/",
                manifest.api,
                SUPPORTED_APIS.join(", ")
            ),
        )?;
    }

    let templates = check_templates(dir, &manifest, &mut warnings)?;

    let crate_name = crate_name(&dir.join("Cargo.toml"))?;
    let module_path = wasm_dir.join(format!("{}.wasm", crate_name.replace('-', "_")));
    let module = std::fs::read(&module_path).with_context(|| {
        format!(
            "{}: cannot read the plugin's wasm module {} (build the guests first: cargo xtask plugins)",
            dir.display(),
            module_path.display()
        )
    })?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|e| e.validate(true).encode())
        .with_context(|| {
            format!(
                "{}: {} does not make a valid component",
                dir.display(),
                module_path.display()
            )
        })?;
    let (imports, exports) = interfaces(&component)
        .with_context(|| format!("{}: cannot decode the component", dir.display()))?;

    if let Err(violations) = manifest.check_imports(imports.iter().map(String::as_str)) {
        let mut what =
            format!("{shown}: the component imports capabilities the manifest does not grant:");
        for v in violations {
            let _ = write!(what, "\n    {v}");
        }
        refuse(hostile, &mut warnings, what)?;
    }
    let missing: Vec<String> = EXPORTS
        .iter()
        .map(|e| format!("{WIT_PACKAGE}/{e}@{}", manifest.api))
        .filter(|e| !exports.contains(e))
        .collect();
    if !missing.is_empty() {
        refuse(
            hostile,
            &mut warnings,
            format!(
                "{}: the component does not export {} (register the plugin with tillit_plugin_sdk::register!)",
                module_path.display(),
                missing.join(", ")
            ),
        )?;
    }
    for unused in manifest.capabilities.iter().filter(|c| {
        !Capability::ALWAYS_GRANTED.contains(c)
            && !imports.iter().any(|i| {
                tillit_plugin_manifest::parse_import(i).is_some_and(|(n, _)| n == c.as_str())
            })
    }) {
        warnings.push(format!(
            "{shown}: capability {unused} is listed but not used; leave it out so it is never granted"
        ));
    }

    let out = out_root.join(format!("{}-{}", manifest.id, manifest.version));
    write_package(&out, &source, &component, &templates)
        .with_context(|| format!("{}: cannot write {}", dir.display(), out.display()))?;
    Ok(Packed {
        id: manifest.id,
        version: manifest.version,
        dir: out,
        size: component.len(),
        imports,
        warnings,
    })
}

/// A failed check: an error, except for the hostile plugins that exist to
/// fail it, for which it is a warning.
fn refuse(hostile: bool, warnings: &mut Vec<String>, what: String) -> Result<()> {
    if hostile {
        warnings.push(what);
        Ok(())
    } else {
        bail!("{what}")
    }
}

/// Reads and checks the manifest's templates: `(file name, text)`.
fn check_templates(
    dir: &Path,
    manifest: &Manifest,
    warnings: &mut Vec<String>,
) -> Result<Vec<(String, String)>> {
    let mut templates = Vec::new();
    for relative in &manifest.templates {
        let path = dir.join(relative);
        let text = read_text(&path)?;
        check_template(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        handlebars::Template::compile(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        let file = relative.trim_start_matches("templates/").to_owned();
        templates.push((file, text));
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("templates")) {
        for entry in entries.filter_map(|e| e.ok()) {
            let name = format!("templates/{}", entry.file_name().to_string_lossy());
            if name.ends_with(".hbs") && !manifest.templates.contains(&name) {
                warnings.push(format!(
                    "{}: not listed under templates in plugin.toml, so not packaged",
                    dir.join(&name).display()
                ));
            }
        }
    }
    Ok(templates)
}

/// The package name in a crate's Cargo.toml.
fn crate_name(cargo_toml: &Path) -> Result<String> {
    let text = read_text(cargo_toml)?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{}", cargo_toml.display()))?;
    table
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("{}: no package.name", cargo_toml.display()))
}

/// The names of a component's imports and exports, such as
/// `tillit:plugin/storage@0.1.0`.
fn interfaces(component: &[u8]) -> Result<(Vec<String>, Vec<String>)> {
    let decoded = wit_component::decode(component)?;
    let resolve = decoded.resolve();
    let wit_component::DecodedWasm::Component(_, world) = &decoded else {
        bail!("not a component");
    };
    let world = &resolve.worlds[*world];
    let imports = world.imports.keys().map(|k| resolve.name_world_key(k));
    let exports = world.exports.keys().map(|k| resolve.name_world_key(k));
    Ok((imports.collect(), exports.collect()))
}

fn write_package(
    out: &Path,
    manifest_source: &str,
    component: &[u8],
    templates: &[(String, String)],
) -> Result<()> {
    if out.exists() {
        std::fs::remove_dir_all(out)?;
    }
    std::fs::create_dir_all(out.join("templates"))?;
    std::fs::write(out.join("plugin.wasm"), component)?;
    let hash = sha256_hex(component);
    let manifest = format!(
        "# Packaged by `cargo xtask plugins`: sha256 is the SHA-256 of plugin.wasm\n\
         # beside this file, and the host refuses the plugin if they differ.\n\
         sha256 = \"{hash}\"\n\n{manifest_source}"
    );
    // The packaged manifest must still be a manifest, with this hash.
    let parsed = Manifest::parse(&manifest)?;
    if parsed.sha256.as_deref() != Some(hash.as_str()) {
        bail!("the packaged manifest lost its sha256");
    }
    std::fs::write(out.join("plugin.toml"), manifest)?;
    for (file, text) in templates {
        std::fs::write(out.join("templates").join(file), text)?;
    }
    Ok(())
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Prints a component's imports, exports and WIT.
fn inspect(file: &Path) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    wasmparser_validate(&bytes)
        .with_context(|| format!("{} is not a valid component", file.display()))?;
    let (imports, exports) = interfaces(&bytes)?;
    println!("sha256: {}", sha256_hex(&bytes));
    for i in &imports {
        println!("import: {i}");
    }
    for e in &exports {
        println!("export: {e}");
    }
    let decoded = wit_component::decode(&bytes)?;
    let resolve = decoded.resolve();
    let main = decoded.package();
    let nested: Vec<_> = resolve
        .packages
        .iter()
        .map(|(id, _)| id)
        .filter(|id| *id != main)
        .collect();
    let mut printer = wit_component::WitPrinter::default();
    printer.emit_docs(false);
    printer.print(resolve, main, &nested)?;
    println!("\n{}", printer.output);
    Ok(())
}

/// Validates a component with the features the host enables by default.
fn wasmparser_validate(bytes: &[u8]) -> Result<()> {
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::default())
        .validate_all(bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_lower_case_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
