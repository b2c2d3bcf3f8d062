#!/usr/bin/env node
// Reads the vitest JSON reports in a folder and prints one line per workspace, then the closing line
// `tests: N passed, N failed[, N skipped]`. Exits 1 when anything failed.
//
// usage: node scripts/summarize-tests.mjs REPORT_DIR [WORKSPACE=EXIT_CODE ...]
// A workspace whose command failed but whose report shows no failed test (crash, unhandled error,
// missing report) counts as one failed test, so a broken package can never look green.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, ...exits] = process.argv.slice(2);
if (!dir) {
  console.error('usage: summarize-tests.mjs REPORT_DIR [WORKSPACE=EXIT_CODE ...]');
  process.exit(2);
}

const reportName = (workspace) => `${workspace.replace(/[@/]/g, '_').replace(/^_+/, '')}.json`;

// The failed tests by name, so a CI log that keeps only its tail still says what broke.
const failures = [];

// Terminal colour codes (ESC [ … m) out of vitest's messages.
const COLOURS = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

function firstLines(text, n) {
  return String(text ?? '')
    .replace(COLOURS, '')
    .split('\n')
    .filter((line) => line.trim())
    .slice(0, n)
    .map((line) => `      ${line.trim().slice(0, 300)}`)
    .join('\n');
}

function countReport(file, workspace) {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  for (const suite of report.testResults ?? []) {
    const where = String(suite.name ?? '').replace(/^.*?\/(test|src)\//, '$1/');
    const failedTests = (suite.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const t of failedTests) failures.push(`  ${workspace} ${where} > ${t.fullName ?? t.title}\n${firstLines((t.failureMessages ?? []).join('\n'), 4)}`);
    if (suite.status === 'failed' && failedTests.length === 0) failures.push(`  ${workspace} ${where}\n${firstLines(suite.message, 4)}`);
  }
  let passed = report.numPassedTests ?? 0;
  let failed = report.numFailedTests ?? 0;
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // A test file that failed to load has no assertions but still failed.
  for (const suite of report.testResults ?? []) {
    if (suite.status === 'failed' && (suite.assertionResults ?? []).length === 0) failed += 1;
  }
  if (report.success === false && failed === 0) failed += 1; // e.g. unhandled errors between tests
  passed = Math.max(0, passed);
  return { passed, failed, skipped };
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const seen = new Set();
const rows = [];

for (const arg of exits) {
  const eq = arg.lastIndexOf('=');
  const workspace = arg.slice(0, eq);
  const code = Number(arg.slice(eq + 1));
  const file = join(dir, reportName(workspace));
  seen.add(reportName(workspace));
  let counts = { passed: 0, failed: 0, skipped: 0 };
  let note = '';
  if (existsSync(file)) {
    try {
      counts = countReport(file, workspace);
    } catch (err) {
      note = ` (unreadable report: ${err.message})`;
    }
  } else {
    note = ' (no report written)';
  }
  if (code !== 0 && counts.failed === 0) {
    counts.failed = 1;
    note += ` (exited with code ${code})`;
  }
  rows.push({ workspace, ...counts, note });
}

// Reports of workspaces that were not named on the command line still count.
if (existsSync(dir)) {
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.json') && !seen.has(f))) {
    const workspace = name.replace(/\.json$/, '');
    rows.push({ workspace, ...countReport(join(dir, name), workspace), note: '' });
  }
}

if (failures.length > 0) console.log(`failed tests:\n${failures.join('\n')}`);
for (const row of rows) {
  totals.passed += row.passed;
  totals.failed += row.failed;
  totals.skipped += row.skipped;
  const skipped = row.skipped ? `, ${row.skipped} skipped` : '';
  console.log(`  ${row.failed ? 'FAIL' : 'ok  '} ${row.workspace}: ${row.passed} passed, ${row.failed} failed${skipped}${row.note}`);
}

const skipped = totals.skipped ? `, ${totals.skipped} skipped` : '';
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed${skipped}`);
process.exit(totals.failed > 0 ? 1 : 0);
