//! `[brand]`: the product name, colours and logo a tenant's portal shows.

use std::path::{Path, PathBuf};

use super::reader::Reader;
use crate::values::Color;

#[derive(Debug, Clone, Default)]
pub struct Brand {
    /// The product name people see, e.g. "Vårdmöte Norr".
    pub product_name: Option<String>,
    pub primary_color: Option<Color>,
    pub accent_color: Option<Color>,
    /// A logo file, relative to the tenants directory.
    pub logo: Option<PathBuf>,
}

impl Brand {
    pub(super) fn read(r: &mut Reader<'_>) -> Self {
        Self {
            product_name: r.get("brand.product_name"),
            primary_color: r.get("brand.primary_color"),
            accent_color: r.get("brand.accent_color"),
            logo: r.get("brand.logo"),
        }
    }

    /// Checks what the types cannot: the logo is an image file inside the
    /// tenants directory `dir`, the product name has a sensible length.
    pub(super) fn check(&self, dir: &Path, issues: &mut Vec<String>) {
        if let Some(logo) = &self.logo {
            let path = dir.join(logo);
            let ext = logo
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default();
            if logo.is_absolute()
                || logo
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
            {
                issues.push("brand.logo: expected a path inside the tenants directory".into());
            } else if !["svg", "png", "jpg", "jpeg", "webp"].contains(&ext) {
                issues.push(format!(
                    "brand.logo: expected an .svg, .png, .jpg or .webp file, found \"{}\"",
                    logo.display()
                ));
            } else if !path.is_file() {
                issues.push(format!(
                    "brand.logo: expected an existing file, found no file at {}",
                    path.display()
                ));
            }
        }
        if let Some(p) = &self.product_name
            && (p.trim().is_empty() || p.chars().count() > 40)
        {
            issues.push("brand.product_name: expected 1–40 characters".into());
        }
    }
}
