// ONNX Runtime's time per node, the peer of `cardinal run --profile`: which
// layers ONNX Runtime runs faster than Cardinal, side by side.
//   node bench/ort_profile.js MODEL.onnx [THREADS] [--runs N]
// Runs the model (input x[i] = sin(0.37 i), as `cardinal bench` gives)
// 3 times to warm up and N times (default 20) with ONNX Runtime's profiler
// on, and prints each node's median milliseconds over the N runs, largest
// first, with its share of the sum and its op: the nodes are ONNX Runtime's
// after its own fusions (a Conv named by the tensor it writes, its BN and
// ReLU inside).  The profiler's JSON file is written to a temporary folder
// and removed.
const fs = require('fs'), os = require('os'), path = require('path');
const ort = require(path.join(process.env.ORT_DIR || '/opt/ort', 'node_modules/onnxruntime-node'));
(async () => {
  const args = process.argv.slice(2);
  const i = args.indexOf('--runs');
  const runs = i >= 0 ? +args.splice(i, 2)[1] : 20;
  const [model, threads = '1'] = args;
  if (!model || !(runs >= 1)) throw new Error('usage: node ort_profile.js MODEL.onnx [THREADS] [--runs N]');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ort-profile-'));
  try {
    const s = await ort.InferenceSession.create(model, {intraOpNumThreads: +threads, interOpNumThreads: 1,
      graphOptimizationLevel: 'all', executionMode: 'sequential', enableProfiling: true,
      profileFilePrefix: path.join(dir, 'p')});
    const dims = s.inputMetadata[0].shape.map(d => (typeof d === 'number' ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    const x = Float32Array.from({length: n}, (_, k) => Math.sin(0.37 * k));
    const feeds = {[s.inputNames[0]]: new ort.Tensor('float32', x, dims)};
    for (let k = 0; k < 3 + runs; k++) await s.run(feeds);
    if (s.endProfiling) s.endProfiling();
    await s.release();
    const file = fs.readdirSync(dir).filter(f => f.endsWith('.json'))[0];
    if (!file) throw new Error('ONNX Runtime wrote no profile');
    const times = new Map(), ops = new Map();
    for (const e of JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'))) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
      const name = e.name.slice(0, -'_kernel_time'.length);
      if (!times.has(name)) times.set(name, []);
      times.get(name).push(e.dur / 1000);
      ops.set(name, e.args && e.args.op_name);
    }
    const rows = [];
    for (const [name, t] of times) {
      const last = t.slice(-runs).sort((a, b) => a - b); // the timed runs, not the warm-ups
      rows.push([last[Math.floor((last.length - 1) / 2)], name]);
    }
    rows.sort((a, b) => b[0] - a[0]);
    const sum = rows.reduce((a, r) => a + r[0], 0);
    console.log('    ms/run  share  op                 node');
    for (const [ms, name] of rows)
      console.log(`${ms.toFixed(3).padStart(10)} ${(100 * ms / sum).toFixed(1).padStart(5)}%  ${String(ops.get(name)).padEnd(18)} ${name}`);
    console.log(`${sum.toFixed(3).padStart(10)}        in ${rows.length} nodes (ONNX Runtime, ${threads} thread${+threads > 1 ? 's' : ''}, median of ${runs} runs)`);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
})().catch(e => { console.error(e.message); process.exit(1); });
