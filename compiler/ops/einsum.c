/*
 * einsum.c — Einsum of one or two operands (opset 12): each operand's dims
 * are named by letters, the output's too, and every label the output does
 * not name is summed over:
 *
 *   "bij,bjk->bik"   y[b][i][k] = sum_j a[b][i][j] * c[b][j][k]
 *
 * "..." stands for the dims the letters leave (aligned from the right,
 * broadcasting a dim of 1 as numpy does); without "->" the output is the
 * ellipsis dims, then the letters named once, in alphabetical order.  A
 * letter repeated in one operand takes its diagonal ("ii->i").
 *
 * The lower-einsum pass turns the forms models use -- a (batched) matrix
 * product with transposes ("bhid,bhjd->bhij", attention's Q K^T), a
 * transpose, a sum over some axes -- into Transpose, MatMul, ReduceSum and
 * Reshape, so the targets' fast kernels run them.  What it leaves (a
 * diagonal, broadcast ellipsis dims, three operands never: they are an
 * error) runs here: the reference below and a portable kernel that walks
 * every label with nested loops, the output's outside the summed ones.
 */
#include "../cardinal.h"

#include <string.h>

bool einsum_parse(Graph *g, Node *n, Diag *d) {
  (void)g;
  const char *eq = attr_string(n, "equation", NULL, d);
  if (!eq) {
    diag_error(d, "node '%s' (Einsum): the equation attribute is missing", node_label(n));
    return false;
  }
  n->p.equation = eq;
  return true;
}

#define EIN_FORMS "Einsum of one or two operands with letters and at most one '...' per " \
                  "term, as \"bij,bjk->bik\", \"...ij,...jk->...ik\", \"ij->ji\", \"ij->i\""

/* One term: its letters in order (an ellipsis as '.'), into t; false if
 * it holds anything else or two ellipses. */
static bool split_term(const char *s, size_t len, char *t, int *nt) {
  int k = 0, dots = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == ' ')
      continue;
    if (s[i] == '.') {
      if (i + 2 >= len || s[i + 1] != '.' || s[i + 2] != '.' || dots++)
        return false;
      t[k++] = '.';
      i += 2;
    } else if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')) {
      if (k >= 2 * CD_MAX_RANK)
        return false;
      t[k++] = s[i];
    } else {
      return false;
    }
  }
  *nt = k;
  return true;
}

bool einsum_plan(const Graph *g, const Node *n, EinsumPlan *e, Diag *d) {
  const char *eq = n->p.equation, *arrow = strstr(eq, "->");
  memset(e, 0, sizeof *e);
  int nin = n->nin;
  while (nin > 0 && n->in[nin - 1] < 0)
    nin--;
  char term[3][2 * CD_MAX_RANK + 1];
  int nt[3] = {0, 0, 0}, nterms = 0;
  size_t lhs = arrow ? (size_t)(arrow - eq) : strlen(eq);
  bool ok = true;
  for (size_t a = 0; ok && a <= lhs;) {
    size_t b = a;
    while (b < lhs && eq[b] != ',')
      b++;
    ok = nterms < 2 && split_term(eq + a, b - a, term[nterms], &nt[nterms]);
    nterms++;
    a = b + 1;
  }
  if (ok && arrow)
    ok = split_term(arrow + 2, strlen(arrow + 2), term[2], &nt[2]);
  if (!ok || nterms != nin) {
    diag_error(d, "node '%s' (Einsum): equation \"%s\" with %d operands is not one Cardinal "
               "runs: it takes an %s", node_label(n), eq, nin, EIN_FORMS);
    return false;
  }
  e->nop = nin;
  /* ellipsis dims: ids 0..ne-1, right-aligned; letters after them */
  int ell[2] = {0, 0}, ne = 0, id_of[128];
  for (int c = 0; c < 128; c++)
    id_of[c] = -1;
  for (int o = 0; o < nin; o++) {
    const Value *x = &g->values[n->in[o]];
    int letters = 0;
    bool dots = false;
    for (int k = 0; k < nt[o]; k++)
      letters += term[o][k] != '.', dots |= term[o][k] == '.';
    ell[o] = x->rank - letters;
    if (ell[o] < 0 || (!dots && ell[o] != 0) || x->rank > CD_MAX_RANK) {
      diag_error(d, "node '%s' (Einsum): equation \"%s\": operand %d has rank %d, its term "
                 "names %d dims%s", node_label(n), eq, o, x->rank, letters,
                 dots ? " and an ellipsis" : "");
      return false;
    }
    ne = ell[o] > ne ? ell[o] : ne;
  }
  e->nlab = ne;
  for (int o = 0; o < nin; o++)
    for (int k = 0; k < nt[o]; k++) {
      int c = term[o][k];
      if (c != '.' && id_of[c] < 0)
        id_of[c] = e->nlab++;
    }
  for (int l = 0; l < e->nlab; l++)
    e->ext[l] = -1;
  for (int o = 0; o < nin; o++) {
    const Value *x = &g->values[n->in[o]];
    int r = 0;
    for (int k = 0; k < nt[o]; k++) {
      if (term[o][k] == '.') {
        for (int j = 0; j < ell[o]; j++)
          e->lab[o][r++] = ne - ell[o] + j;
        continue;
      }
      e->lab[o][r++] = id_of[(int)term[o][k]];
    }
    e->rank[o] = r;
    for (int k = 0; k < r; k++) {
      int l = e->lab[o][k];
      for (int j = 0; j < k; j++)
        e->repeated |= e->lab[o][j] == l;
      int64_t dim = x->dims[k];
      if (e->ext[l] < 0 || e->ext[l] == dim)
        e->ext[l] = dim;
      else if (l < ne && (dim == 1 || e->ext[l] == 1))
        e->ext[l] = dim > e->ext[l] ? dim : e->ext[l], e->broadcast = true;
      else {
        diag_error(d, "node '%s' (Einsum): equation \"%s\": a label stands for dims of "
                   "extents %lld and %lld", node_label(n), eq, (long long)e->ext[l],
                   (long long)dim);
        return false;
      }
    }
  }
  for (int o = 0; o < nin; o++) {
    const Value *x = &g->values[n->in[o]];
    int64_t st = 1;
    for (int k = e->rank[o] - 1; k >= 0; k--) {
      int l = e->lab[o][k];
      if (!(x->dims[k] == 1 && e->ext[l] > 1))
        e->stride[o][l] += st;
      st *= x->dims[k];
    }
  }
  /* the output */
  if (arrow) {
    for (int k = 0; k < nt[2]; k++) {
      int c = term[2][k];
      if (c == '.') {
        for (int j = 0; j < ne && e->nout < CD_MAX_RANK; j++)
          e->out[e->nout++] = j;
        continue;
      }
      int l = id_of[c];
      bool twice = false;
      for (int j = 0; j < e->nout; j++)
        twice |= l >= 0 && e->out[j] == l;
      if (l < 0 || twice || e->nout >= CD_MAX_RANK) {
        diag_error(d, "node '%s' (Einsum): equation \"%s\": the output's '%c' is %s",
                   node_label(n), eq, c, l < 0 ? "no operand's" : "named twice");
        return false;
      }
      e->out[e->nout++] = l;
    }
  } else {
    for (int j = 0; j < ne; j++)
      e->out[e->nout++] = j;
    for (int c = 'A'; c <= 'z'; c++) {
      int count = 0;
      for (int o = 0; o < nin; o++)
        for (int k = 0; k < nt[o]; k++)
          count += term[o][k] == c;
      if (count == 1 && e->nout < CD_MAX_RANK)
        e->out[e->nout++] = id_of[c];
    }
  }
  for (int k = 0; k < e->nout; k++)
    e->in_out[e->out[k]] = true;
  return true;
}

bool einsum_infer(Graph *g, Node *n, Diag *d) {
  EinsumPlan e;
  if (!einsum_plan(g, n, &e, d))
    return false;
  DType t = g->values[n->in[0]].dtype;
  if ((t != DT_FLOAT && t != DT_DOUBLE) || (e.nop > 1 && g->values[n->in[1]].dtype != t)) {
    diag_error(d, "node '%s' (Einsum): operands must be float32 or float64, both the same "
               "(got %s)", node_label(n), dtype_name(t));
    return false;
  }
  int64_t dims[CD_MAX_RANK];
  for (int k = 0; k < e.nout; k++)
    dims[k] = e.ext[e.out[k]];
  value_set_shape(&g->values[n->out[0]], t, e.nout, dims);
  return true;
}

/* The summed labels, in label order. */
static int summed(const EinsumPlan *e, int *sum) {
  int ns = 0;
  for (int l = 0; l < e->nlab; l++)
    if (!e->in_out[l])
      sum[ns++] = l;
  return ns;
}

void einsum_eval(Graph *g, Node *n, void **data) {
  EinsumPlan e;
  Diag d = {.quiet = true};
  CD_ASSERT(einsum_plan(g, n, &e, &d));
  sb_free(&d.log);
  DType t = g->values[n->in[0]].dtype;
  int sum[EIN_MAX_LABELS], ns = summed(&e, sum);
  int64_t idx[EIN_MAX_LABELS] = {0}, ny = value_numel(&g->values[n->out[0]]), nsum = 1;
  for (int k = 0; k < ns; k++)
    nsum *= e.ext[sum[k]];
  for (int64_t y = 0; y < ny; y++) {
    int64_t r = y;
    for (int k = e.nout - 1; k >= 0; k--)
      idx[e.out[k]] = r % e.ext[e.out[k]], r /= e.ext[e.out[k]];
    double acc = 0;
    for (int64_t s = 0; s < nsum; s++) {
      r = s;
      for (int k = ns - 1; k >= 0; k--)
        idx[sum[k]] = r % e.ext[sum[k]], r /= e.ext[sum[k]];
      double prod = 1;
      for (int o = 0; o < e.nop; o++) {
        int64_t off = 0;
        for (int l = 0; l < e.nlab; l++)
          off += idx[l] * e.stride[o][l];
        prod *= dtype_get(t, data[n->in[o]], off);
      }
      acc += prod;
    }
    if (t == DT_DOUBLE)
      ((double *)data[n->out[0]])[y] = acc;
    else
      ((float *)data[n->out[0]])[y] = (float)acc;
  }
}

/* ------------------------------------------------------------ scalar kernel */

/* `l0 * s0 + l1 * s1 ...` over the labels of stride s (non-zero ones). */
static const char *offset_expr(Graph *g, const EinsumPlan *e, const int64_t *s) {
  const char *x = "0";
  for (int l = 0; l < e->nlab; l++)
    if (s[l])
      x = arena_printf(&g->arena, "%s + l%d * %lld", x, l, (long long)s[l]);
  return x;
}

bool einsum_emit(CWriter *w, Graph *g, Node *n) {
  EinsumPlan e;
  Diag d = {.quiet = true};
  CD_ASSERT(einsum_plan(g, n, &e, &d));
  sb_free(&d.log);
  int sum[EIN_MAX_LABELS], ns = summed(&e, sum);
  if (value_numel(&g->values[n->out[0]]) == 0) {
    cw(w, "(void)x0;\n%s(void)y0; /* empty */\n", e.nop > 1 ? "(void)x1;\n" : "");
    return true;
  }
  int64_t ostride[EIN_MAX_LABELS] = {0}, st = 1;
  for (int k = e.nout - 1; k >= 0; k--)
    ostride[e.out[k]] = st, st *= e.ext[e.out[k]];
  const char *T = dtype_ctype(g->values[n->in[0]].dtype);
  cw(w, "/* Einsum \"%s\": every label a loop, the summed ones inside */\n", n->p.equation);
  for (int k = 0; k < e.nout; k++)
    cw(w, "for (long l%d = 0; l%d < %lld; l%d++)\n", e.out[k], e.out[k],
       (long long)e.ext[e.out[k]], e.out[k]);
  cw(w, "{\n%s acc = 0;\n", T);
  for (int k = 0; k < ns; k++)
    cw(w, "for (long l%d = 0; l%d < %lld; l%d++)\n", sum[k], sum[k], (long long)e.ext[sum[k]],
       sum[k]);
  if (e.nop == 2)
    cw(w, "acc += x0[%s] * x1[%s];\n", offset_expr(g, &e, e.stride[0]),
       offset_expr(g, &e, e.stride[1]));
  else
    cw(w, "acc += x0[%s];\n", offset_expr(g, &e, e.stride[0]));
  cw(w, "y0[%s] = acc;\n}\n", offset_expr(g, &e, ostride));
  return true;
}
