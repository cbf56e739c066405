// Times ONNX Runtime (CPU, MLAS kernels, all graph optimisations) on an ONNX
// model: the peer `cardinal bench` and bench/vs_ort.sh measure against in
// the same run.  `cardinal bench` carries a copy of this file.
//   node ort_time.js MODEL.onnx [THREADS] [INPUT.f32] [--dump OUT.f32] [--runs N] [--shape D0,D1,...]
// INPUT.f32: raw little-endian float32 for the first input (default:
// x[i] = sin(0.37 i), the input `cardinal bench` and `compare` use too).
// Prints the median milliseconds of N runs (default 15) after 3 warm-ups.
// --shape gives the first input's dims (else its symbolic dims are 1).
// ONNX Runtime comes from npm, once:
//   npm install --prefix /opt/ort --ignore-scripts onnxruntime-node@1.30.0
// (ORT_DIR overrides /opt/ort; --ignore-scripts skips a GPU download.)
const fs = require('fs'), path = require('path');
const ort = require(path.join(process.env.ORT_DIR || '/opt/ort', 'node_modules/onnxruntime-node'));
(async () => {
  const args = process.argv.slice(2);
  const take = (flag) => { const i = args.indexOf(flag); if (i < 0) return null; const v = args[i + 1]; args.splice(i, 2); return v; };
  const dump = take('--dump'), runs = +(take('--runs') || 15), shape = take('--shape');
  const [model, threads = '1', input] = args;
  const s = await ort.InferenceSession.create(model, {intraOpNumThreads: +threads, interOpNumThreads: 1,
    graphOptimizationLevel: 'all', executionMode: 'sequential'});
  const dims = shape ? shape.split(',').map(Number)
                     : s.inputMetadata[0].shape.map(d => (typeof d === 'number' ? d : 1));
  const n = dims.reduce((a, b) => a * b, 1);
  let x;
  if (input) { const raw = fs.readFileSync(input); x = new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4); }
  else x = Float32Array.from({length: n}, (_, i) => Math.sin(0.37 * i));
  const feeds = {[s.inputNames[0]]: new ort.Tensor('float32', x, dims)};
  let r;
  for (let i = 0; i < 3; i++) r = await s.run(feeds);
  if (dump) { const y = r[s.outputNames[0]].data; fs.writeFileSync(dump, Buffer.from(y.buffer, y.byteOffset, y.byteLength)); }
  const ts = [];
  for (let i = 0; i < runs; i++) { const t0 = process.hrtime.bigint(); await s.run(feeds); ts.push(Number(process.hrtime.bigint() - t0) / 1e6); }
  ts.sort((a, b) => a - b);
  console.log(ts[Math.floor(runs / 2)].toFixed(3));
})().catch(e => { console.error(e.message); process.exit(1); });
