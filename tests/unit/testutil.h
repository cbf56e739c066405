/*
 * testutil.h — helpers shared by the CUnit suites: a scratch folder, graphs
 * built by hand in the IR, and a comparison of interpreter outputs.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <CUnit/CUnit.h>

#include "cardinal.h"

const char *tu_path(const char *file); /* file inside this run's scratch dir */
/* The scratch dir's folder of precompiled headers (CompileJob.pch_dir): the
 * sweeps' hundreds of builds parse immintrin.h once per compiler and flags. */
const char *tu_pch(void);
/* Hand-built IR: inputs, then nodes whose outputs are fresh values. */
int tu_input(Graph *g, const char *name, int rank, const int64_t *dims);
int tu_const(Graph *g, const char *name, int rank, const int64_t *dims,
             const float *data);
int tu_node(Graph *g, const char *op, int nin, const int *ins, Node **out);
void tu_output(Graph *g, int v);
/* ints[n] copied with room for one more, in g's arena (inputs, outputs). */
int *tu_grow_ints(Graph *g, const int *ints, int n);
/* Runs the interpreter on one input; returns output 0 (malloc'd). */
float *tu_interp(Graph *g, const float *x);
bool tu_log_has(const Diag *d, const char *needle);
/* Attributes on hand-built nodes. */
void tu_attr_int(Graph *g, Node *n, const char *name, int64_t v);
void tu_attr_float(Graph *g, Node *n, const char *name, float v);
void tu_attr_ints(Graph *g, Node *n, const char *name, int count, const int64_t *v);
void tu_attr_str(Graph *g, Node *n, const char *name, const char *s);
void tu_attr_tensor(Graph *g, Node *n, const char *name, int v); /* v: a constant */

/* test_codegen.c: the targets this machine runs (find_targets fills
 * runnable[0, nrunnable): scalar first), and the check of a graph's
 * generated code against the interpreter on one of them (fam: the NaN
 * families of its outputs, NULL for none; the families are test_codegen's
 * NanFamily numbers). */
typedef struct {
  const Target *t;
  const char *cc;     /* NULL: cc */
  const char *runner; /* NULL: run directly */
  const char *cflags; /* added to the sweeps' strict flags (NULL: none) */
} Runnable;
extern Runnable runnable[4];
extern int nrunnable;
extern const int tu_nan_eltwise; /* the NaN family of elementwise outputs */
void find_targets(void);
void check_generated(Graph *g, const char *name, float phase, const Runnable *r,
                     const int *fam);

void add_frontend_suite(void);
void add_infer_suite(void);
void add_plan_suite(void);
void add_interp_suite(void);
void add_codegen_suite(void);
void add_passes_suite(void);
void add_dsl_suite(void);
void add_verify_suite(void);
void add_hostile_suite(void);
void add_runtime_suite(void);
void add_quant_suite(void);
void add_zoo_suite(void);
void add_onnx_write_suite(void);
void add_quantize_suite(void);
void add_cut_suite(void);

#define ADD(suite, fn) CU_add_test(suite, #fn, fn)

#endif
