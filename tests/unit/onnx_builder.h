/*
 * onnx_builder.h — builds small ONNX models in C (protobuf-c), so unit tests
 * can make exactly the graph they need: every initializer storage form,
 * hostile names, unsupported ops, external data, broken files.
 */
#ifndef ONNX_BUILDER_H
#define ONNX_BUILDER_H

#include <stdbool.h>
#include <stdint.h>

#include "onnx.pb-c.h"

typedef struct MB MB;

MB *mb_new(int opset);
void mb_set_opset(MB *m, int64_t version); /* any version, even one no file should have */
void mb_free(MB *m);
void mb_input(MB *m, const char *name, int dtype, int rank, const int64_t *dims);
void mb_input_symbolic(MB *m, const char *name, int rank, const int64_t *dims,
                       int symbolic_dim);
void mb_output(MB *m, const char *name);
/* Initializers: raw_data, the typed float/int64 fields, or external data. */
void mb_init_raw(MB *m, const char *name, int dtype, int rank,
                 const int64_t *dims, const void *data, size_t bytes);
void mb_init_floats(MB *m, const char *name, int rank, const int64_t *dims,
                    const float *data);
void mb_init_int64s(MB *m, const char *name, int rank, const int64_t *dims,
                    const int64_t *data);
void mb_init_external(MB *m, const char *name, int rank, const int64_t *dims,
                      const char *location, int64_t offset);
/* Also lists the initializer as a graph input (old IR versions do). */
void mb_input_for_initializer(MB *m, const char *name, int rank,
                              const int64_t *dims);
Onnx__NodeProto *mb_node(MB *m, const char *op, const char *name, int nin,
                         const char *const *ins, int nout,
                         const char *const *outs);
void mb_attr_int(Onnx__NodeProto *n, const char *name, int64_t v);
void mb_attr_float(Onnx__NodeProto *n, const char *name, float v);
void mb_attr_ints(Onnx__NodeProto *n, const char *name, int count,
                  const int64_t *v);
void mb_attr_string(Onnx__NodeProto *n, const char *name, const char *s);
void mb_attr_graph(Onnx__NodeProto *n, const char *name); /* an empty graph */
bool mb_write(MB *m, const char *path);

#endif
