//! Loading one packaged plugin (`plugins/target/dist/<id>-<version>/`):
//! its manifest, checked; its component, checked against the manifest's
//! hash, the API versions this host has, and the capabilities the manifest
//! lists; its templates, checked for anything that bypasses escaping. A
//! plugin that fails any check never runs, and the error names the file and
//! the key.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tillit_plugin_manifest::{Capability, Manifest, ManifestError, check_template};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::api::{self, Linkers, Pre};
use crate::view::Templates;

/// A loaded plugin as the kernel sees it.
#[derive(Debug, Clone)]
pub struct PluginInfo {
    pub manifest: Manifest,
    /// The dist directory it was loaded from.
    pub dir: PathBuf,
    /// Of `plugin.wasm`, as the manifest states and the host checked.
    pub sha256: String,
    /// `(name, source)` of each template.
    pub templates: Vec<(String, String)>,
    /// The capabilities its component imports (a subset of the manifest's).
    pub imports: BTreeSet<Capability>,
}

impl PluginInfo {
    pub fn id(&self) -> &str {
        &self.manifest.id
    }

    pub fn version(&self) -> &str {
        &self.manifest.version
    }

    /// The display name in `lang`, else Swedish, else English, else any.
    pub fn name(&self, lang: &str) -> &str {
        let names = &self.manifest.name;
        let primary = lang.split(['-', '_']).next().unwrap_or(lang);
        [primary, "sv", "en"]
            .iter()
            .find_map(|l| names.get(*l))
            .or_else(|| names.values().next())
            .map_or(self.manifest.id.as_str(), String::as_str)
    }
}

/// Why a plugin was not loaded. Every message names the file, and the
/// manifest key where there is one.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {error}")]
    Manifest { path: PathBuf, error: ManifestError },
    #[error(
        "{path}: api: plugin {plugin} was built for tillit:plugin {api}; this kernel supports {}",
        api::supported().collect::<Vec<_>>().join(", ")
    )]
    UnsupportedApi {
        path: PathBuf,
        plugin: String,
        api: String,
    },
    #[error("{path}: sha256: missing; package the plugin with `cargo xtask plugins`")]
    MissingHash { path: PathBuf },
    #[error("{wasm}: its SHA-256 is {actual}, but {manifest} says sha256 = \"{expected}\"")]
    HashMismatch {
        wasm: PathBuf,
        manifest: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{path}: templates: {reason}")]
    Template { path: PathBuf, reason: String },
    #[error("{path}: not a component this host can compile: {message}")]
    Compile { path: PathBuf, message: String },
    #[error(
        "{path}: capabilities: plugin {plugin} imports what its manifest does not grant:\n    {}",
        violations.join("\n    ")
    )]
    Imports {
        path: PathBuf,
        plugin: String,
        violations: Vec<String>,
    },
    /// A new version of a plugin that a tenant's grant no longer covers;
    /// the old version stays.
    #[error("{path}: {error}")]
    Regrant {
        path: PathBuf,
        error: crate::host::EnableError,
    },
    #[error("{path}: plugin {plugin} does not fit tillit:plugin {api}: {message}")]
    Link {
        path: PathBuf,
        plugin: String,
        api: String,
        message: String,
    },
}

/// A plugin version ready to run: one `InstancePre`, shared by every call
/// and tenant.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) info: Arc<PluginInfo>,
    pub(crate) pre: Pre,
    pub(crate) templates: Arc<Templates>,
}

pub(crate) const MANIFEST: &str = "plugin.toml";
pub(crate) const COMPONENT: &str = "plugin.wasm";

/// Reads, checks, compiles (or fetches from the cache) and links the
/// plugin in `dir`.
pub(crate) fn load(dir: &Path, engine: &Engine, linkers: &Linkers) -> Result<Loaded, LoadError> {
    let manifest_path = dir.join(MANIFEST);
    let wasm_path = dir.join(COMPONENT);
    let text = read_to_string(&manifest_path)?;
    let manifest = Manifest::parse(&text).map_err(|error| LoadError::Manifest {
        path: manifest_path.clone(),
        error,
    })?;
    if !api::supported().any(|v| v == manifest.api) {
        return Err(LoadError::UnsupportedApi {
            path: manifest_path,
            plugin: manifest.id,
            api: manifest.api,
        });
    }
    let Some(expected) = manifest.sha256.clone() else {
        return Err(LoadError::MissingHash {
            path: manifest_path,
        });
    };
    let bytes = std::fs::read(&wasm_path).map_err(|error| LoadError::Io {
        path: wasm_path.clone(),
        error,
    })?;
    let actual = hex(&Sha256::digest(&bytes));
    if actual != expected {
        return Err(LoadError::HashMismatch {
            wasm: wasm_path,
            manifest: manifest_path,
            expected,
            actual,
        });
    }

    let mut templates = Vec::new();
    for (file, name) in manifest.templates.iter().zip(manifest.template_names()) {
        // The manifest allows only `templates/<name>.hbs`: no way out of
        // the directory.
        let path = dir.join(file);
        let source = read_to_string(&path)?;
        check_template(&source).map_err(|reason| LoadError::Template {
            path: path.clone(),
            reason,
        })?;
        templates.push((name.to_owned(), source));
    }
    let parsed = Templates::new(&manifest.id, &templates).map_err(|e| LoadError::Template {
        path: dir.join("templates"),
        reason: e.to_string(),
    })?;

    // Compiling is not running: the component's imports are checked on
    // the compiled artefact, before anything is instantiated.
    let component = Component::new(engine, &bytes).map_err(|e| LoadError::Compile {
        path: wasm_path.clone(),
        message: format!("{e:#}"),
    })?;
    let import_names: Vec<String> = component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    manifest
        .check_imports(import_names.iter().map(String::as_str))
        .map_err(|violations| LoadError::Imports {
            path: wasm_path.clone(),
            plugin: manifest.id.clone(),
            violations: violations.iter().map(ToString::to_string).collect(),
        })?;
    let imports = import_names
        .iter()
        .filter_map(|i| tillit_plugin_manifest::parse_import(i))
        .filter_map(|(interface, _)| Capability::from_interface(interface))
        .collect();

    let link_error = |e: wasmtime::Error| LoadError::Link {
        path: wasm_path.clone(),
        plugin: manifest.id.clone(),
        api: manifest.api.clone(),
        message: format!("{e:#}"),
    };
    let pre = match linkers.pre(&manifest.api, &component) {
        Some(pre) => pre.map_err(link_error)?,
        None => {
            return Err(LoadError::UnsupportedApi {
                path: manifest_path,
                plugin: manifest.id,
                api: manifest.api,
            });
        }
    };
    Ok(Loaded {
        info: Arc::new(PluginInfo {
            manifest,
            dir: dir.to_owned(),
            sha256: actual,
            templates,
            imports,
        }),
        pre,
        templates: Arc::new(parsed),
    })
}

fn read_to_string(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|error| LoadError::Io {
        path: path.to_owned(),
        error,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
