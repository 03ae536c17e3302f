//! Three independent FHIR R4 validators for what the FHIR API returns:
//! PyPI `fhir.resources` (its R4B models), npm `@medplum/core`
//! (`validateResource`, with invariants such as app-3) and npm `fhir`
//! (FHIR.js, with the required value-set bindings). Each catches faults the
//! others miss, so a resource counts as valid only when all three report no
//! error. `cargo xtask test` installs them (tests/support/requirements.txt
//! and tests/support/fhir/package-lock.json).
//!
//! The scripts in tests/support/fhir/ load their definitions once per call
//! and validate every resource of the call, so one call with many resources
//! costs about as much as one with a single resource (two processes, a
//! couple of seconds). The call blocks: from an async test, call it once
//! the responses are collected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::TempDir;

/// The validators, as named in their scripts' output and in every report.
pub const VALIDATORS: [&str; 3] = ["fhir.resources", "medplum", "fhir.js"];

/// How much of a failing resource's JSON a panic message shows.
const SHOWN_JSON_BYTES: usize = 2048;

/// Validates each resource with all three validators and panics, if any of
/// them reports an error, listing every validator's errors per failing
/// resource with the resource's JSON (truncated to about 2 KB).
pub fn assert_valid(resources: &[Value]) {
    let mut by_resource: BTreeMap<usize, Vec<(&'static str, Vec<String>)>> = BTreeMap::new();
    for (index, validator, messages) in errors(resources) {
        if !messages.is_empty() {
            by_resource
                .entry(index)
                .or_default()
                .push((validator, messages));
        }
    }
    if by_resource.is_empty() {
        return;
    }
    let mut report = format!(
        "{} of {} FHIR resources are not valid R4:\n",
        by_resource.len(),
        resources.len()
    );
    for (index, failures) in by_resource {
        let resource = &resources[index];
        report.push_str(&format!("\nresource #{index} ({}):\n", label(resource)));
        for (validator, messages) in failures {
            report.push_str(&format!("  {validator}:\n"));
            for message in messages {
                report.push_str(&format!("    - {message}\n"));
            }
        }
        report.push_str(&format!("  JSON: {}\n", shown_json(resource)));
    }
    panic!("{report}");
}

/// Every validator's errors for every resource, without panicking on them:
/// one `(index into resources, validator, messages)` per resource and
/// validator, empty messages meaning valid. Panics only when a validator
/// cannot run or does not report on every resource, so a broken harness
/// never passes for a clean one.
pub fn errors(resources: &[Value]) -> Vec<(usize, &'static str, Vec<String>)> {
    let dir = TempDir(std::env::temp_dir().join(format!(
        "tillit-fhir-validate-{}",
        uuid::Uuid::new_v4().simple()
    )));
    std::fs::create_dir_all(&dir.0).unwrap();
    for (index, resource) in resources.iter().enumerate() {
        std::fs::write(
            dir.0.join(file_name(index)),
            serde_json::to_vec(resource).unwrap(),
        )
        .unwrap();
    }
    // Both at once: each spends most of its time loading definitions.
    let node = spawn("node", &script("validate.mjs"), &dir.0);
    let python = spawn("python3", &script("validate.py"), &dir.0);
    let mut found: BTreeMap<(usize, &'static str), Vec<String>> = BTreeMap::new();
    for (name, child, installed_by) in [
        (
            "validate.mjs",
            node,
            "`cargo xtask test` runs `npm ci` in kernel/server/tests/support/fhir",
        ),
        (
            "validate.py",
            python,
            "`cargo xtask test` pip-installs kernel/server/tests/support/requirements.txt",
        ),
    ] {
        read_report(name, child, installed_by, resources.len(), &mut found);
    }
    let mut all = Vec::new();
    for index in 0..resources.len() {
        for validator in VALIDATORS {
            let messages = found.remove(&(index, validator)).unwrap_or_else(|| {
                panic!("{validator} reported nothing on resource #{index}; the harness is broken")
            });
            all.push((index, validator, messages));
        }
    }
    all
}

fn file_name(index: usize) -> String {
    format!("{index:05}.json")
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support/fhir")
        .join(name)
}

fn spawn(program: &str, script: &Path, dir: &Path) -> Child {
    Command::new(program)
        .arg(script)
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} {} could not start: {e}", script.display()))
}

/// Reads one script's JSON lines into `found`, panicking on anything but a
/// clean run that reports on known files with known validators.
fn read_report(
    name: &str,
    child: Child,
    installed_by: &str,
    count: usize,
    found: &mut BTreeMap<(usize, &'static str), Vec<String>>,
) {
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{name} failed ({}); are the validators installed? {installed_by}.\n\
         stderr:\n{stderr}\nstdout:\n{stdout}",
        output.status
    );
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let report: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{name} printed a line that is not JSON ({e}): {line}"));
        let file = report["file"].as_str().unwrap_or_default();
        let index = file
            .strip_suffix(".json")
            .and_then(|i| i.parse::<usize>().ok())
            .filter(|&i| i < count && file_name(i) == file)
            .unwrap_or_else(|| panic!("{name} reported on an unknown file: {line}"));
        let validator = VALIDATORS
            .into_iter()
            .find(|&v| report["validator"] == v)
            .unwrap_or_else(|| panic!("{name} reported an unknown validator: {line}"));
        let messages = report["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} reported no error list: {line}"))
            .iter()
            .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
            .collect();
        let earlier = found.insert((index, validator), messages);
        assert!(earlier.is_none(), "{name} reported twice on {file}: {line}");
    }
}

/// "Appointment/a1", or just the type when the resource has no id.
fn label(resource: &Value) -> String {
    let kind = resource["resourceType"]
        .as_str()
        .unwrap_or("(no resourceType)");
    match resource["id"].as_str() {
        Some(id) => format!("{kind}/{id}"),
        None => kind.to_owned(),
    }
}

fn shown_json(resource: &Value) -> String {
    let mut json = serde_json::to_string_pretty(resource).unwrap();
    if json.len() > SHOWN_JSON_BYTES {
        let mut end = SHOWN_JSON_BYTES;
        while !json.is_char_boundary(end) {
            end -= 1;
        }
        let more = json.len() - end;
        json.truncate(end);
        json.push_str(&format!("… ({more} more bytes)"));
    }
    json
}
