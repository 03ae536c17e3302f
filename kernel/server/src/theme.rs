//! Themes: Handlebars templates and static assets in `themes/<name>/`.
//!
//! A theme has a `theme.toml` (display name, default colours, and optionally
//! `extends = "default"`), `templates/*.hbs` and `static/*`. A theme that
//! extends another provides only what it changes; the rest falls back.
//! Templates are HTML-escaped by Handlebars; the `t` helper escapes catalog
//! messages too. Asset URLs carry a hash of the content, so they can be
//! cached for a year and change when the file does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderErrorReason,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::i18n::Catalogs;
use crate::values::{Color, Language};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    extends: Option<String>,
    colors: ThemeColors,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeColors {
    pub primary: Color,
    pub accent: Color,
}

/// A static file, kept in memory.
#[derive(Debug, Clone)]
pub struct Asset {
    pub bytes: Arc<[u8]>,
    pub content_type: &'static str,
    pub hash: String,
}

impl Asset {
    pub fn new(bytes: Vec<u8>, path: &Path) -> Self {
        Self {
            hash: content_hash(&bytes),
            content_type: content_type(path),
            bytes: bytes.into(),
        }
    }
}

pub fn content_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

pub fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
    {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

#[derive(Debug)]
pub struct Theme {
    pub id: String,
    pub display_name: String,
    pub colors: ThemeColors,
    pub registry: Handlebars<'static>,
    pub assets: HashMap<String, Asset>,
}

impl Theme {
    pub fn asset_url(&self, path: &str) -> Option<String> {
        self.assets
            .get(path)
            .map(|a| format!("/assets/{}/{}/{}", self.id, a.hash, path))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

fn invalid(path: &Path, message: impl std::fmt::Display) -> ThemeError {
    ThemeError::Invalid {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// All installed themes.
#[derive(Debug)]
pub struct Themes {
    by_id: HashMap<String, Arc<Theme>>,
}

impl Themes {
    /// Loads every theme under `dir`. `reload` makes templates reload from
    /// disk on every render, for theme authors.
    pub fn load(dir: &Path, catalogs: Arc<Catalogs>, reload: bool) -> Result<Self, ThemeError> {
        let mut files = HashMap::new();
        for entry in std::fs::read_dir(dir).map_err(|e| invalid(dir, e))? {
            let path = entry.map_err(|e| invalid(dir, e))?.path();
            if path.join("theme.toml").is_file() {
                let id = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_owned();
                let text = std::fs::read_to_string(path.join("theme.toml"))
                    .map_err(|e| invalid(&path, e))?;
                let file: ThemeFile = toml::from_str(&text)
                    .map_err(|e| invalid(&path.join("theme.toml"), e.message()))?;
                files.insert(id, (path, file));
            }
        }
        if !files.contains_key("default") {
            return Err(invalid(
                dir,
                "the default theme (themes/default/theme.toml) is missing",
            ));
        }
        let mut by_id = HashMap::new();
        for (id, (path, file)) in &files {
            // The chain from the base to this theme, each overriding the last.
            let mut chain: Vec<&PathBuf> = vec![path];
            let mut parent = file.extends.as_deref();
            while let Some(p) = parent {
                let (ppath, pfile) = files.get(p).ok_or_else(|| {
                    invalid(
                        &path.join("theme.toml"),
                        format!("extends: no installed theme is called \"{p}\""),
                    )
                })?;
                if chain.len() > 8 || chain.contains(&ppath) {
                    return Err(invalid(
                        &path.join("theme.toml"),
                        "extends: themes extend each other in a cycle",
                    ));
                }
                chain.push(ppath);
                parent = pfile.extends.as_deref();
            }
            chain.reverse();
            let mut registry = Handlebars::new();
            registry.set_dev_mode(reload);
            let mut assets = HashMap::new();
            for dir in &chain {
                register_templates(&mut registry, &dir.join("templates"))?;
                collect_assets(&dir.join("static"), &dir.join("static"), &mut assets)?;
            }
            let urls: HashMap<String, String> = assets
                .iter()
                .map(|(p, a): (&String, &Asset)| {
                    (p.clone(), format!("/assets/{id}/{}/{p}", a.hash))
                })
                .collect();
            registry.register_helper("t", Box::new(Translate(Arc::clone(&catalogs))));
            registry.register_helper("asset", Box::new(AssetUrl(urls)));
            let theme = Theme {
                id: id.clone(),
                display_name: file.name.clone(),
                colors: file.colors.clone(),
                registry,
                assets,
            };
            by_id.insert(id.clone(), Arc::new(theme));
        }
        Ok(Self { by_id })
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Theme>> {
        self.by_id.get(id)
    }

    pub fn ids(&self) -> Vec<String> {
        let mut v: Vec<String> = self.by_id.keys().cloned().collect();
        v.sort();
        v
    }
}

fn register_templates(registry: &mut Handlebars<'static>, dir: &Path) -> Result<(), ThemeError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry.map_err(|e| invalid(dir, e))?.path();
        if path.extension().is_some_and(|e| e == "hbs") {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            registry
                .register_template_file(&name, &path)
                .map_err(|e| invalid(&path, e))?;
        }
    }
    Ok(())
}

fn collect_assets(
    root: &Path,
    dir: &Path,
    out: &mut HashMap<String, Asset>,
) -> Result<(), ThemeError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry.map_err(|e| invalid(dir, e))?.path();
        if path.is_dir() {
            collect_assets(root, &path, out)?;
        } else {
            let rel = path
                .strip_prefix(root)
                .map_err(|e| invalid(&path, e))?
                .to_string_lossy()
                .replace('\\', "/");
            let bytes = std::fs::read(&path).map_err(|e| invalid(&path, e))?;
            out.insert(rel, Asset::new(bytes, &path));
        }
    }
    Ok(())
}

/// `{{t "key" name=value}}`: the message for the page's language, escaped.
#[derive(Debug)]
struct Translate(Arc<Catalogs>);

impl HelperDef for Translate {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let key = h
            .param(0)
            .and_then(|v| v.value().as_str())
            .ok_or(RenderErrorReason::ParamNotFoundForIndex("t", 0))?;
        let lang = ctx
            .data()
            .get("lang")
            .and_then(|v| v.as_str())
            .and_then(Language::parse)
            .unwrap_or(Language::Sv);
        let args: Vec<(String, String)> = h
            .hash()
            .iter()
            .map(|(k, v)| {
                let text = match v.value() {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                ((*k).to_owned(), text)
            })
            .collect();
        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        out.write(&handlebars::html_escape(&self.0.format(lang, key, &args)))?;
        Ok(())
    }
}

/// `{{asset "style.css"}}`: the fingerprinted URL of a theme file.
#[derive(Debug)]
struct AssetUrl(HashMap<String, String>);

impl HelperDef for AssetUrl {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let path = h
            .param(0)
            .and_then(|v| v.value().as_str())
            .ok_or(RenderErrorReason::ParamNotFoundForIndex("asset", 0))?;
        let url = self
            .0
            .get(path)
            .ok_or_else(|| RenderErrorReason::Other(format!("no theme asset called {path}")))?;
        out.write(&handlebars::html_escape(url))?;
        Ok(())
    }
}
