/*
 * quantized-io: `--io quantized`, the generated API passing the quantized
 * tensors at the model's edges instead of the floats around them.
 *
 * A QDQ model (what `cardinal quantize` and ONNX Runtime's static quantizer
 * write) starts and ends in float:
 *
 *   x (float input) -> QuantizeLinear -> xq -> ...   ... -> yq -> DequantizeLinear -> y (float output)
 *
 * With this step the graph's input is xq and its output yq: the Q is gone
 * (the caller quantizes, 4x fewer bytes to hand over), and y stops being
 * an output (its DequantizeLinear goes too unless something inside reads
 * y).  The scale and zero point of each edge are recorded in g->input_q /
 * g->output_q, which the header prints (NAME_INPUT0_SCALE ...), and
 * g->io_quantized tells plan and codegen that every input and output, of
 * whatever dtype, is passed in its own type (no integer-as-float arrays).
 *
 * What is an edge: a float input whose only reader is a per-tensor
 * QuantizeLinear (and which is not also an output), and a float output
 * written by a per-tensor DequantizeLinear of a uint8/int8 tensor that is
 * computed (not a constant, not an input) and not already an output.  Any
 * other input or output stays float.  A per-axis Q or DQ at an edge is
 * refused (the header has one scale per tensor), and so is a model with
 * no edge at all: asked for quantized I/O, there is none to give.
 *
 * It is not in the pass list: the API is the user's choice (--io), not an
 * optimisation; load_model runs it before the passes, so fold-qdq then
 * folds the DQ(xq) -> Conv -> Q that follows into integer nodes.
 */
#include "../cardinal.h"

#include <string.h>

static bool is_q8(DType t) { return t == DT_UINT8 || t == DT_INT8; }

/* The one live node reading v, or NULL (none, several, or v read twice). */
static Node *sole_reader(Graph *g, int v) {
  Node *r = NULL;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = &g->nodes[i];
    if (n->dead)
      continue;
    for (int j = 0; j < node_nreads(n); j++)
      if (node_read(n, j) == v) {
        if (r)
          return NULL;
        r = n;
      }
  }
  return r;
}

static bool read_anywhere(const Graph *g, int v) {
  for (int i = 0; i < g->nnodes; i++)
    for (int j = 0; !g->nodes[i].dead && j < node_nreads(&g->nodes[i]); j++)
      if (node_read(&g->nodes[i], j) == v)
        return true;
  return false;
}

static bool is_output(const Graph *g, int v) {
  for (int k = 0; k < g->noutputs; k++)
    if (g->outputs[k] == v)
      return true;
  return false;
}

static bool per_axis(PassStats *st, const char *what, const char *tensor, const Node *n) {
  snprintf(st->error, sizeof st->error,
           "--io quantized: %s '%s' is quantized per axis (%s '%s', %lld scales along axis "
           "%lld); the API gives one scale and zero point per tensor, so this edge cannot be "
           "passed quantized (use --io float)", what, tensor, n->op_type, node_label(n),
           (long long)n->p.q[0].n, (long long)n->p.axis);
  return false;
}

bool pass_quantized_io(Graph *g, PassStats *st) {
  QuantParams *in_q = arena_alloc(&g->arena, sizeof(QuantParams) * (size_t)(g->ninputs + 1));
  QuantParams *out_q = arena_alloc(&g->arena, sizeof(QuantParams) * (size_t)(g->noutputs + 1));
  int nin = 0, nout = 0;
  for (int k = 0; k < g->ninputs; k++) {
    int x = g->inputs[k];
    Node *q = g->values[x].dtype == DT_FLOAT && !g->values[x].is_output ? sole_reader(g, x)
                                                                       : NULL;
    if (!q || q->op != OP_QUANTIZE || q->in[0] != x)
      continue;
    if (q->p.q[0].n != 1)
      return per_axis(st, "input", g->values[x].name, q);
    int xq = q->out[0];
    in_q[k] = q->p.q[0];
    q->dead = true;
    g->values[x].dead = true;
    g->values[x].is_input = false;
    g->values[xq].is_input = true;
    g->values[xq].producer = -1;
    g->inputs[k] = xq;
    for (int s = 0; s < g->nsymdims; s++)
      if (g->symdims[s].value == x)
        g->symdims[s].value = xq;
    nin++;
  }
  for (int k = 0; k < g->noutputs; k++) {
    int y = g->outputs[k];
    const Value *yv = &g->values[y];
    Node *dq = yv->dtype == DT_FLOAT && yv->producer >= 0 ? &g->nodes[yv->producer] : NULL;
    if (!dq || dq->dead || dq->op != OP_DEQUANTIZE)
      continue;
    int yq = dq->in[0];
    const Value *qv = &g->values[yq];
    if (!is_q8(qv->dtype) || qv->data || qv->is_input || is_output(g, yq))
      continue;
    if (dq->p.q[0].n != 1)
      return per_axis(st, "output", yv->name, dq);
    int others = 0; /* y's other places: another output slot, a reader inside */
    for (int j = 0; j < g->noutputs; j++)
      others += j != k && g->outputs[j] == y;
    out_q[k] = dq->p.q[0];
    g->outputs[k] = yq;
    g->values[yq].is_output = true;
    if (!others) {
      g->values[y].is_output = false;
      if (!read_anywhere(g, y)) { /* the DQ was there for the caller only */
        dq->dead = true;
        g->values[y].dead = true;
      }
    }
    nout++;
  }
  if (!nin && !nout) {
    snprintf(st->error, sizeof st->error,
             "--io quantized: no input of the model goes straight into a QuantizeLinear and "
             "no output comes straight out of a DequantizeLinear, so there is no quantized "
             "tensor to pass; quantize the model (--precision int8 --calibrate DIR) or "
             "compile a QDQ model, or leave --io float");
    return false;
  }
  g->io_quantized = true;
  g->input_q = in_q;
  g->output_q = out_q;
  st->changes = nin + nout;
  snprintf(st->what, sizeof st->what, "%d input%s and %d output%s passed quantized", nin,
           nin == 1 ? "" : "s", nout, nout == 1 ? "" : "s");
  return true;
}
