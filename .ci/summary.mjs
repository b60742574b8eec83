// Prints the one closing line CI reads ("N passed, N failed"): vitest's JSON report plus the
// browser suite's node:test totals.
import { existsSync, readFileSync } from 'node:fs'

const [reportPath, e2eLogPath] = process.argv.slice(2)
let passed = 0
let failed = 0
let skipped = 0
if (reportPath && existsSync(reportPath)) {
  const report = JSON.parse(readFileSync(reportPath, 'utf8'))
  passed += report.numPassedTests
  failed += report.numFailedTests
  skipped += report.numPendingTests + report.numTodoTests
} else {
  failed += 1 // no report: the unit run did not happen
}
if (e2eLogPath && existsSync(e2eLogPath)) {
  const log = readFileSync(e2eLogPath, 'utf8')
  const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(log)?.[1] ?? 0)
  passed += count('pass')
  failed += count('fail') + count('cancelled')
  skipped += count('skipped') + count('todo')
}
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
