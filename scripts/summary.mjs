// Prints vitest's JSON report as the one closing line CI reads: "tests: N passed, N failed, N skipped".
// A run that executed no test, or whose report is missing, fails: silence must never look like success.
import { readFileSync } from 'node:fs';

let report;
try {
  report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
} catch (e) {
  console.log(`tests: 0 passed, 1 failed (no vitest report: ${e.message})`);
  process.exit(1);
}
const skipped = report.numPendingTests + report.numTodoTests;
// A file that fails to load has no failed tests of its own, only a failed suite: count it then.
const failed = report.numFailedTests || report.numFailedTestSuites || 0;
console.log(`tests: ${report.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
if (report.numPassedTests === 0 || failed > 0) process.exit(1);
