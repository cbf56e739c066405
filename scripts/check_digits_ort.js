// Runs tests/models/digits/digits_resnext.onnx under ONNX Runtime (node,
// /opt/ort or ORT_DIR) on the 500 held-out images one at a time and prints
// its top-1 accuracy, to compare with scripts/train_digits.py's torch figure.
//   node scripts/check_digits_ort.js [tests/models/digits] [--model M.onnx] [--dump LOGITS.f32]
// --model runs another model of that input and output (the int8 QDQ model
// `cardinal quantize` writes); --dump writes all 500x10 logits as raw
// little-endian float32.
const fs = require('fs'), path = require('path');
const ort = require(path.join(process.env.ORT_DIR || '/opt/ort', 'node_modules/onnxruntime-node'));

// Minimal .npy reader: little-endian float32 ('<f4') or int64 ('<i8'), C order.
function readNpy(file) {
  const b = fs.readFileSync(file);
  const major = b[6], hlen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const off = (major === 1 ? 10 : 12), header = b.toString('latin1', off, off + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(file + ': fortran order');
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').filter(s => s.trim()).map(Number);
  const data = b.subarray(off + hlen), ab = data.buffer.slice(data.byteOffset, data.byteOffset + data.length);
  if (descr === '<f4') return {shape, data: new Float32Array(ab)};
  if (descr === '<i8') return {shape, data: Array.from(new BigInt64Array(ab), Number)};
  throw new Error(file + ': unsupported dtype ' + descr);
}

(async () => {
  const args = process.argv.slice(2), di = args.indexOf('--dump');
  const dump = di >= 0 ? args.splice(di, 2)[1] : null;
  const mi = args.indexOf('--model'), model = mi >= 0 ? args.splice(mi, 2)[1] : null;
  const dir = args[0] || path.join(__dirname, '..', 'tests', 'models', 'digits');
  const x = readNpy(path.join(dir, 'heldout_x.npy')), y = readNpy(path.join(dir, 'heldout_y.npy'));
  const s = await ort.InferenceSession.create(model || path.join(dir, 'digits_resnext.onnx'),
    {intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential'});
  const n = x.shape[0], per = 64;
  let correct = 0;
  const all = new Float32Array(n * 10);
  for (let i = 0; i < n; i++) {
    const t = new ort.Tensor('float32', x.data.slice(i * per, (i + 1) * per), [1, 1, 8, 8]);
    const out = (await s.run({input: t})).logits.data;
    all.set(out, i * 10);
    let best = 0;
    for (let k = 1; k < out.length; k++) if (out[k] > out[best]) best = k;
    if (best === y.data[i]) correct++;
  }
  if (dump) fs.writeFileSync(dump, Buffer.from(all.buffer));
  console.log(`ORT held-out top-1: ${(correct / n).toFixed(4)} (${correct}/${n})`);
})().catch(e => { console.error(e.message); process.exit(1); });
