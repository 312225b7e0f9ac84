// quill-delta 5.1.0's per-call costs for the cases of benchmarks/ot_bench.py, which writes the
// inputs to a JSON file and runs: node benchmarks/ot_bench_quill.js INPUTS.json
// Prints {"case": microseconds per call, ...}.
'use strict';
const fs = require('fs');
const path = require('path');
const Delta = require(path.join(__dirname, '..', 'tests', 'ot', 'js', 'node_modules', 'quill-delta'));

const inputs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const d = (ops) => new Delta(ops);

function perCallUs(fn, minTimeS = 0.3) {
  let number = 1;
  let elapsed;
  for (;;) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < number; i++) fn();
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    if (elapsed >= minTimeS / 5) break;
    number *= elapsed === 0 ? 2 : Math.max(2, Math.floor(minTimeS / 5 / elapsed) + 1);
  }
  let best = elapsed;
  for (let round = 0; round < 4; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < number; i++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return (best / number) * 1e6;
}

const oneA = d(inputs.one_a);
const oneB = d(inputs.one_b);
const batch = inputs.batch.map(d);
const mine = d(inputs.mine);
const small = d(inputs.small);
const large = d(inputs.large);
const editSmall = d(inputs.edit_small);
const editLarge = d(inputs.edit_large);

const results = {
  'transform, one char vs one char': perCallUs(() => oneA.transform(oneB, true)),
  'transform, one op vs 100 ops': perCallUs(() => {
    let op = mine;
    for (const committed of batch) op = committed.transform(op, true);
  }),
  'Document.apply, 1 char, 100 KB': perCallUs(() => small.compose(editSmall)),
  'Document.apply, 1 char, 5 MiB': perCallUs(() => large.compose(editLarge), 1.0),
  'apply (JSON list), 1 char, 100 KB': perCallUs(() => small.compose(editSmall)),
  'apply (JSON list), 1 char, 5 MiB': perCallUs(() => large.compose(editLarge), 1.0),
  'compose, one char then one char': perCallUs(() => oneA.compose(oneB)),
  'transform_position, one char': perCallUs(() => oneA.transformPosition(55, false)),
};
process.stdout.write(JSON.stringify(results));
