/*
 * layout.c — where a value's elements are stored (see Layout in
 * cardinal.h): the storage size of each layout, the conversion of a
 * value's contents to and from the plain row-major form, and the rules
 * saying which layouts a node may read and write.
 *
 * A value keeps its logical ONNX shape whatever its layout; only its
 * storage changes.  Everything that sizes or moves bytes (the planner, the
 * weight writer, the I/O copies, the interpreter) asks here, and the
 * interpreter evaluates any node by converting its operands to plain at the
 * node's boundary and its outputs back, so every pass keeps its oracle.
 *
 *   NCHWc (block c):  element (n, ch, s) of [N, C, S...] lives at
 *                     ((n * ceil(C/c) + ch / c) * S + s) * c + ch % c
 *   WCONV (c, ib):    conv weight (m, j, k) of [M, Cg, K...] with G groups;
 *                     output block ob = m / c reads the input blocks
 *                     [lo(ob), lo(ob) + nb(ob)) of ib channels that hold
 *                     its groups' input channels; per block the layout is
 *                     [nb(ob)][K][ib][c]
 *   WGLANES (c):      [ceil(M/c)][K][Cg][c], lane l of block ob holding
 *                     W[ob*c + l][j][k]
 *   WGDOT (c):        [ceil(M/c)][K][Cg][c], vector m, lane l of block ob
 *                     holding W[ob*c + l / Cg * Cg + m][l % Cg][k]
 *   CPAD (c):         [ceil(C/c) * c], zeros past C
 *   WWINO (c):        [16][ceil(M/c)][ceil(C/c)][c][c]: for weight (m, j)
 *                     of a 3x3 conv of one group, U = G g G^T (Winograd's
 *                     F(2x2, 3x3)), element x of U at [x][m / c][j / c][j %
 *                     c][m % c];
 *                     the one layout that is not a reordering, so the walk
 *                     does not know it: wino_from_plain and wino_to_plain
 */
#include "cardinal.h"

#include <stdlib.h>
#include <string.h>

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

bool layout_equal(Layout a, Layout b) {
  if (a.kind != b.kind)
    return false;
  switch (a.kind) {
  case LAYOUT_PLAIN: return true;
  case LAYOUT_NCHWC: return a.block == b.block;
  case LAYOUT_WCONV: return a.block == b.block && a.iblock == b.iblock && a.group == b.group;
  case LAYOUT_WGLANES:
  case LAYOUT_WGDOT: return a.block == b.block && a.group == b.group;
  case LAYOUT_CPAD:
  case LAYOUT_WDOT4:
  case LAYOUT_WWINO: return a.block == b.block;
  }
  return false;
}

const char *layout_name(Layout l, char *buf, size_t n) {
  switch (l.kind) {
  case LAYOUT_PLAIN: snprintf(buf, n, "plain"); break;
  case LAYOUT_NCHWC: snprintf(buf, n, "nchw%dc", l.block); break;
  case LAYOUT_WCONV: snprintf(buf, n, "wconv%do%di", l.block, l.iblock); break;
  case LAYOUT_WGLANES: snprintf(buf, n, "wglanes%d", l.block); break;
  case LAYOUT_WGDOT: snprintf(buf, n, "wgdot%d", l.block); break;
  case LAYOUT_CPAD: snprintf(buf, n, "cpad%d", l.block); break;
  case LAYOUT_WDOT4: snprintf(buf, n, "wdot4x%d", l.block); break;
  case LAYOUT_WWINO: snprintf(buf, n, "wwino%d", l.block); break;
  }
  return buf;
}

/* Kernel elements of a conv weight: the product of its spatial dims. */
static int64_t weight_k(const Value *w) {
  int64_t k = 1;
  for (int i = 2; i < w->rank; i++)
    k = sat_mul(k, w->dims[i]);
  return k;
}

void wconv_blocks(const Value *w, int64_t ob, int64_t *lo, int64_t *nb) {
  const Layout *l = &w->layout;
  int64_t M = w->dims[0], Cg = w->dims[1], Mg = M / l->group;
  int64_t m0 = ob * l->block, m1 = m0 + l->block < M ? m0 + l->block : M; /* [m0, m1) */
  int64_t c0 = m0 / Mg * Cg, c1 = ((m1 - 1) / Mg + 1) * Cg;        /* input channels */
  *lo = c0 / l->iblock;
  *nb = ceil_div(c1, l->iblock) - *lo;
}

bool wconv_uniform(const Value *w, Layout l) {
  Value v = *w;
  v.layout = l;
  int64_t lo, nb0, nb;
  wconv_blocks(&v, 0, &lo, &nb0);
  for (int64_t ob = 1; ob < ceil_div(w->dims[0], l.block); ob++) {
    wconv_blocks(&v, ob, &lo, &nb);
    if (nb != nb0)
      return false;
  }
  return true;
}

/* Saturating: inference bounds every logical size (value_size_ok), and a
 * layout pads it by less than a vector per row, so these never saturate
 * on a graph that passed it; a hand-built one gets INT64_MAX, not a wrap. */
int64_t value_storage_numel(const Value *v) {
  const Layout *l = &v->layout;
  switch (l->kind) {
  case LAYOUT_PLAIN: return value_numel(v);
  case LAYOUT_NCHWC: {
    int64_t s = 1;
    for (int i = 2; i < v->rank; i++)
      s = sat_mul(s, v->dims[i]);
    return sat_mul(sat_mul(v->dims[0], ceil_div(v->dims[1], l->block) * l->block), s);
  }
  case LAYOUT_WCONV: {
    int64_t total = 0, lo, nb;
    for (int64_t ob = 0; ob < ceil_div(v->dims[0], l->block); ob++) {
      wconv_blocks(v, ob, &lo, &nb);
      total = sat_add(total, sat_mul(sat_mul(nb * l->iblock, weight_k(v)), l->block));
    }
    return total;
  }
  case LAYOUT_WGLANES:
  case LAYOUT_WGDOT:
    return sat_mul(sat_mul(ceil_div(v->dims[0], l->block) * l->block, v->dims[1]), weight_k(v));
  case LAYOUT_CPAD:
    return ceil_div(v->dims[0], l->block) * l->block;
  case LAYOUT_WDOT4:
    return sat_mul(ceil_div(v->dims[1], l->block) * l->block, ceil_div(v->dims[0], 4) * 4);
  case LAYOUT_WWINO:
    return sat_mul(16, sat_mul(ceil_div(v->dims[0], l->block) * l->block,
                               ceil_div(v->dims[1], l->block) * l->block));
  }
  return 0;
}

size_t value_storage_bytes(const Value *v) {
  int64_t n = value_storage_numel(v), b;
  if (n < 0 || !ck_mul(n, (int64_t)dtype_size(v->dtype), &b))
    return SIZE_MAX;
  return (size_t)b;
}

/*
 * The one walk over a layout: calls f(plain offset, storage offset) for every
 * stored element, with plain offset -1 for padding (lanes past C, zeros
 * between groups).
 */
typedef void (*ElemFn)(int64_t plain, int64_t stored, void *ctx);

static void layout_walk(const Value *v, ElemFn f, void *ctx) {
  const Layout *l = &v->layout;
  int64_t c = l->block;
  switch (l->kind) {
  case LAYOUT_PLAIN:
    for (int64_t i = 0; i < value_numel(v); i++)
      f(i, i, ctx);
    return;
  case LAYOUT_NCHWC: {
    int64_t N = v->dims[0], C = v->dims[1], S = 1, q = 0;
    for (int i = 2; i < v->rank; i++)
      S *= v->dims[i];
    for (int64_t n = 0; n < N; n++)
      for (int64_t cb = 0; cb < ceil_div(C, c); cb++)
        for (int64_t s = 0; s < S; s++)
          for (int64_t j = 0; j < c; j++, q++) {
            int64_t ch = cb * c + j;
            f(ch < C ? (n * C + ch) * S + s : -1, q, ctx);
          }
    return;
  }
  case LAYOUT_WCONV: {
    int64_t M = v->dims[0], Cg = v->dims[1], K = weight_k(v), Mg = M / l->group;
    int64_t q = 0, lo, nb;
    for (int64_t ob = 0; ob < ceil_div(M, c); ob++) {
      wconv_blocks(v, ob, &lo, &nb);
      for (int64_t bi = 0; bi < nb; bi++)
        for (int64_t k = 0; k < K; k++)
          for (int64_t ci = 0; ci < l->iblock; ci++)
            for (int64_t co = 0; co < c; co++, q++) {
              int64_t m = ob * c + co, cin = (lo + bi) * l->iblock + ci;
              int64_t j = m < M ? cin - m / Mg * Cg : -1;
              f(j >= 0 && j < Cg ? (m * Cg + j) * K + k : -1, q, ctx);
            }
    }
    return;
  }
  case LAYOUT_WGLANES: {
    int64_t M = v->dims[0], Cg = v->dims[1], K = weight_k(v), q = 0;
    for (int64_t ob = 0; ob < ceil_div(M, c); ob++)
      for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < Cg; j++)
          for (int64_t co = 0; co < c; co++, q++) {
            int64_t m = ob * c + co;
            f(m < M ? (m * Cg + j) * K + k : -1, q, ctx);
          }
    return;
  }
  case LAYOUT_WGDOT: {
    int64_t M = v->dims[0], Cg = v->dims[1], K = weight_k(v), q = 0;
    for (int64_t ob = 0; ob < ceil_div(M, c); ob++)
      for (int64_t k = 0; k < K; k++)
        for (int64_t m = 0; m < Cg; m++)
          for (int64_t co = 0; co < c; co++, q++) {
            int64_t o = ob * c + co / Cg * Cg + m, j = co % Cg;
            f(o < M ? (o * Cg + j) * K + k : -1, q, ctx);
          }
    return;
  }
  case LAYOUT_CPAD:
    for (int64_t i = 0; i < value_storage_numel(v); i++)
      f(i < v->dims[0] ? i : -1, i, ctx);
    return;
  case LAYOUT_WDOT4: {
    int64_t K = v->dims[0], N = v->dims[1], q = 0;
    for (int64_t nb = 0; nb < ceil_div(N, c); nb++)
      for (int64_t k4 = 0; k4 < ceil_div(K, 4); k4++)
        for (int64_t l = 0; l < c; l++)
          for (int64_t j = 0; j < 4; j++, q++) {
            int64_t k = 4 * k4 + j, col = nb * c + l;
            f(k < K && col < N ? k * N + col : -1, q, ctx);
          }
    return;
  }
  case LAYOUT_WWINO:
    CD_ASSERT(!"WWINO is a transform, not a reordering: wino_*_plain");
  }
}

/*
 * Winograd's F(2x2, 3x3) weight transform, U = G g G^T with
 *
 *   G = | 1    0    0  |      and its left inverse  L = | 1 0  0 0 |
 *       | 1/2  1/2  1/2|      (L G = I: g = L U L^T)     | 0 1 -1 0 |
 *       | 1/2 -1/2  1/2|                                 | 0 0  0 1 |
 *       | 0    0    1  |
 *
 * U is computed in double and rounded once; g comes back exactly for rows
 * and columns 0 and 2, and as a difference of two rounded values for 1
 * (within a few ulps of |g0 + g2|): the interpreter's view of a packed
 * weight, which the checks compare to a tolerance.
 */
static int64_t wino_index(const Value *v, int x, int64_t m, int64_t j) {
  int64_t c = v->layout.block, MB = ceil_div(v->dims[0], c), CB = ceil_div(v->dims[1], c);
  return (((x * MB + m / c) * CB + j / c) * c + j % c) * c + m % c;
}

static void wino_from_plain(const Value *v, const float *plain, float *stored) {
  static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  memset(stored, 0, sizeof(float) * (size_t)value_storage_numel(v));
  for (int64_t m = 0; m < v->dims[0]; m++)
    for (int64_t j = 0; j < v->dims[1]; j++) {
      const float *g = plain + (m * v->dims[1] + j) * 9;
      double t[4][3]; /* G g */
      for (int a = 0; a < 4; a++)
        for (int b = 0; b < 3; b++)
          t[a][b] = G[a][0] * g[b] + G[a][1] * g[3 + b] + G[a][2] * g[6 + b];
      for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
          stored[wino_index(v, a * 4 + b, m, j)] =
              (float)(t[a][0] * G[b][0] + t[a][1] * G[b][1] + t[a][2] * G[b][2]);
    }
}

static void wino_to_plain(const Value *v, const float *stored, float *plain) {
  for (int64_t m = 0; m < v->dims[0]; m++)
    for (int64_t j = 0; j < v->dims[1]; j++) {
      float u[4][4], r[3][4];
      for (int x = 0; x < 16; x++)
        u[x / 4][x % 4] = stored[wino_index(v, x, m, j)];
      for (int b = 0; b < 4; b++) { /* L U */
        r[0][b] = u[0][b];
        r[1][b] = u[1][b] - u[2][b];
        r[2][b] = u[3][b];
      }
      float *g = plain + (m * v->dims[1] + j) * 9;
      for (int a = 0; a < 3; a++) { /* (L U) L^T */
        g[a * 3] = r[a][0];
        g[a * 3 + 1] = r[a][1] - r[a][2];
        g[a * 3 + 2] = r[a][3];
      }
    }
}

typedef struct {
  const char *src;
  char *dst;
  size_t es;
  bool to_plain;
} Copy;

static void copy_elem(int64_t plain, int64_t stored, void *ctx) {
  Copy *c = ctx;
  if (c->to_plain) {
    if (plain >= 0)
      memcpy(c->dst + (size_t)plain * c->es, c->src + (size_t)stored * c->es, c->es);
  } else if (plain >= 0) {
    memcpy(c->dst + (size_t)stored * c->es, c->src + (size_t)plain * c->es, c->es);
  } else {
    memset(c->dst + (size_t)stored * c->es, 0, c->es);
  }
}

void layout_to_plain(const Value *v, const void *stored, void *plain) {
  if (v->layout.kind == LAYOUT_WWINO) {
    wino_to_plain(v, stored, plain);
    return;
  }
  Copy c = {stored, plain, dtype_size(v->dtype), true};
  layout_walk(v, copy_elem, &c);
}

void layout_from_plain(const Value *v, const void *plain, void *stored) {
  if (v->layout.kind == LAYOUT_WWINO) {
    wino_from_plain(v, plain, stored);
    return;
  }
  Copy c = {plain, stored, dtype_size(v->dtype), false};
  layout_walk(v, copy_elem, &c);
}

bool value_set_layout(Graph *g, int vi, Layout l) {
  Value *v = &g->values[vi];
  if (layout_equal(v->layout, l))
    return true;
  if (!v->data) {
    v->layout = l;
    return true;
  }
  /* A constant's contents move to the new layout, through the plain form
   * (already it when the value is plain: the old bytes stay in the arena).
   * The walk (or the Winograd transform) writes every stored element,
   * padding included, so the new storage needs no zeroing first. */
  void *plain = v->layout.kind == LAYOUT_PLAIN ? NULL : malloc(value_bytes(v) + 1);
  const void *src = v->data;
  CD_ASSERT(plain || v->layout.kind == LAYOUT_PLAIN);
  if (plain) {
    layout_to_plain(v, v->data, plain);
    src = plain;
  }
  v->layout = l;
  size_t n = value_storage_bytes(v);
  value_set_data(v, arena_alloc_raw(&g->arena, n + 1), n);
  ((char *)v->data)[n] = 0;
  layout_from_plain(v, src, v->data);
  free(plain);
  return true;
}

int value_packed_copy(Graph *g, int v, Layout l) {
  if (v < 0 || layout_equal(g->values[v].layout, l))
    return v;
  int nv = graph_add_value(g, g->values[v].name);
  const Value *x = &g->values[v]; /* after graph_add_value, which may move values */
  Value *y = &g->values[nv];
  value_set_shape(y, x->dtype, x->rank, x->dims);
  y->layout = x->layout;
  value_set_data(y, x->data, x->nbytes);
  value_set_layout(g, nv, l);
  return nv;
}
