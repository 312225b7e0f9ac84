// Runs quill-delta 5.1.0 for the differential tests: one JSON request per input line,
// one JSON answer per output line, in order.
//   request: {"fn": "compose" | "transform" | "transform_position" | "invert" | "diff", "args": [...]}
//   answer:  {"result": ...} or {"error": "message"}
'use strict';
const readline = require('readline');
const Delta = require('quill-delta');
const fastDiff = require('fast-diff');
const fs = require('fs');
const vm = require('vm');

// fast-diff's internal functions, from its own source, for unit-level differential tests.
const internals = vm.runInNewContext(
  fs.readFileSync(require.resolve('fast-diff/diff.js'), 'utf8') +
    '\n;({diff_commonPrefix, diff_commonSuffix, diff_commonOverlap_, diff_halfMatch_,' +
    ' diff_bisect_, diff_cleanupMerge, diff_cleanupSemantic, diff_cleanupSemanticLossless})',
  { module: { exports: {} } },
);

const FUNCTIONS = {
  compose: (a, b) => new Delta(a).compose(new Delta(b)).ops,
  transform: (a, b, priority) => new Delta(a).transform(new Delta(b), priority).ops,
  transform_position: (a, index, priority) => new Delta(a).transformPosition(index, priority),
  invert: (a, base) => new Delta(a).invert(new Delta(base)).ops,
  diff: (a, b) => new Delta(a).diff(new Delta(b)).ops,
  length: (a) => new Delta(a).length(),
  fastdiff: (a, b) => fastDiff(a, b, undefined, true),
  // Calls an internal function; one that changes its first argument in place returns it.
  fastdiff_internal: (name, ...args) => {
    const result = internals[name](...args);
    return result === undefined ? args[0] : result;
  },
};

const lines = readline.createInterface({ input: process.stdin, terminal: false });
const out = [];
let pending = 0;
function flush() {
  if (out.length) {
    process.stdout.write(out.join(''));
    out.length = 0;
  }
}
lines.on('line', (line) => {
  let answer;
  try {
    const request = JSON.parse(line);
    answer = { result: FUNCTIONS[request.fn](...request.args) };
  } catch (err) {
    answer = { error: String(err && err.message) };
  }
  out.push(JSON.stringify(answer) + '\n');
  if (++pending >= 256) {
    pending = 0;
    flush();
  }
});
lines.on('pause', flush);
lines.on('close', flush);
// Answer promptly when the reader waits for a reply before sending more.
setInterval(flush, 1).unref();
