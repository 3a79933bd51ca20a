// Runs Codefresh's own YAML validator (@codefresh-io/yaml-validator, the one the platform uses)
// over pipeline files, with the current build engine's schema (`buildVersion: "V2"`), and prints
// one line per file ("FILE: N errors, M warnings") followed by each finding. Exit 1 when any file
// has an error or a warning. scripts/test installs the pinned packages into target/test-node and
// sets NODE_PATH to them.
//
//   node scripts/codefresh-validator/validate.js examples/codefresh/*.yml
'use strict';

const fs = require('fs');
const yaml = require('js-yaml');
const validator = require('@codefresh-io/yaml-validator');

// The keys of a steps document (what Codefresh validates as a pipeline's YAML).
const STEPS_DOCUMENT_KEYS = ['mode', 'fail_fast', 'stages', 'steps', 'hooks', 'services', 'indicators', 'success_criteria'];

let failed = 0;
for (const file of process.argv.slice(2)) {
  const text = fs.readFileSync(file, 'utf8');
  const doc = yaml.load(text);
  // A pipeline spec (`kind: pipeline`) carries its steps document under `spec`.
  const spec = doc.kind === 'pipeline' ? doc.spec || {} : doc;
  const model = { version: doc.version };
  for (const key of STEPS_DOCUMENT_KEYS) {
    if (spec[key] !== undefined) model[key] = spec[key];
  }
  let errors = [];
  let warnings = [];
  try {
    // Any output format but the named ones makes the validator throw its findings as data.
    validator.validate(model, 'data', text, { build: { buildVersion: 'V2' } });
  } catch (err) {
    errors = err.details || [];
    warnings = err.warningDetails || [];
  }
  console.log(`${file}: ${errors.length} errors, ${warnings.length} warnings`);
  for (const e of errors) console.log(`  error (line ${e.lines}): ${e.message}`);
  for (const w of warnings) console.log(`  warning (line ${w.lines}, step ${w.stepName || '?'}): ${w.message}`);
  if (errors.length || warnings.length) failed += 1;
}
process.exit(failed ? 1 : 0);
