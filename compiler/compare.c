/*
 * compare.c — `cardinal compare`: what each pass configuration buys.
 *
 * For each configuration the model is loaded with that pass list, compiled
 * to C, built and run N times on the same input; the table gives the graph's
 * size (nodes, MACs, weight and workspace bytes), the median latency with
 * its min-max, the speed-up over the first configuration and the largest
 * absolute difference of the outputs from the first configuration's.  Runs
 * use --weights blob, so a 100 MB model is not recompiled into C each time.
 * Results also go to CSV, JSON and an SVG bar chart.
 *
 * With precisions (fp32, int8), each configuration is built at each one
 * (int8: quantized, calibrated, as `cardinal quantize` does), and with a
 * set of evaluation inputs every row's accuracy is measured against the
 * first row's outputs on each of them (the generated code, built once,
 * run per input): the largest error relative to the output's magnitude,
 * how often the arg-max of the first output agrees, and the SQNR (dB).
 */
#include "cardinal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *config;
  const char *precision; /* "fp32", "int8" */
  GraphStats st;
  double med, min, max;
  double diff;       /* max |output - first config's output| */
  double speedup;    /* first median / this median */
  /* against the first row over the evaluation inputs (neval > 0) */
  double rel_err;    /* largest |error| / largest |reference|, per input */
  int agree;         /* inputs whose first output's arg-max is the reference's */
  double signal, noise; /* sums of squares: SQNR = 10 log10(signal / noise) */
} Row;

static double row_sqnr(const Row *r) {
  return r->noise > 0 ? 10.0 * log10(r->signal / r->noise) : INFINITY;
}

static void write_csv(FILE *f, const Row *r, int n, int neval) {
  fprintf(f, "configuration,precision,nodes,macs,weight_bytes,workspace_bytes,median_ms,"
             "min_ms,max_ms,speedup,max_abs_diff,eval_inputs,max_rel_err,top1_agree,sqnr_db\n");
  for (int i = 0; i < n; i++)
    fprintf(f, "\"%s\",%s,%d,%lld,%lld,%lld,%.3f,%.3f,%.3f,%.3f,%.3g,%d,%.4g,%d,%.2f\n",
            r[i].config, r[i].precision, r[i].st.nodes, (long long)r[i].st.macs,
            (long long)r[i].st.weight_bytes, (long long)r[i].st.workspace_bytes, r[i].med,
            r[i].min, r[i].max, r[i].speedup, r[i].diff, neval, r[i].rel_err, r[i].agree,
            neval && isfinite(row_sqnr(&r[i])) ? row_sqnr(&r[i]) : 999.0);
}

static void write_json(FILE *f, const char *model, const Row *r, int n, int runs, int neval) {
  fprintf(f, "{\n  \"model\": \"");
  for (const char *p = model; *p; p++)
    fprintf(f, *p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
  fprintf(f, "\",\n  \"runs\": %d,\n  \"eval_inputs\": %d,\n  \"configs\": [", runs, neval);
  for (int i = 0; i < n; i++) {
    fprintf(f, "%s\n    {\"configuration\": \"%s\", \"precision\": \"%s\", \"nodes\": %d, "
               "\"macs\": %lld, \"weight_bytes\": %lld, \"workspace_bytes\": %lld, "
               "\"median_ms\": %.3f, \"min_ms\": %.3f, \"max_ms\": %.3f, \"speedup\": %.3f, "
               "\"max_abs_diff\": %.3g",
            i ? "," : "", r[i].config, r[i].precision, r[i].st.nodes, (long long)r[i].st.macs,
            (long long)r[i].st.weight_bytes, (long long)r[i].st.workspace_bytes, r[i].med,
            r[i].min, r[i].max, r[i].speedup, r[i].diff);
    if (neval) {
      double q = row_sqnr(&r[i]);
      fprintf(f, ", \"max_rel_err\": %.4g, \"top1_agree\": %d", r[i].rel_err, r[i].agree);
      if (isfinite(q))
        fprintf(f, ", \"sqnr_db\": %.2f", q);
      else
        fprintf(f, ", \"sqnr_db\": null");
    }
    fprintf(f, "}");
  }
  fprintf(f, "\n  ]\n}\n");
}

static void xml_text(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '<') fputs("&lt;", f);
    else if (*s == '>') fputs("&gt;", f);
    else if (*s == '&') fputs("&amp;", f);
    else if (*s == '"') fputs("&quot;", f);
    else fputc(*s, f);
  }
}

/* Two horizontal bar charts side by side: latency (median, with a min-max
 * whisker) and workspace, one bar per configuration. */
static void write_svg(FILE *f, const CompileJob *base, const Row *r, int n, int neval) {
  const int label_w = 200, chart_w = 320, bar_h = 22, gap = 10, top = 86;
  int h = top + n * (bar_h + gap) + 40, w = label_w + 2 * chart_w + 360;
  double tmax = 0, wmax = 0;
  for (int i = 0; i < n; i++) {
    tmax = fmax(tmax, r[i].max);
    wmax = fmax(wmax, (double)r[i].st.workspace_bytes / 1048576.0);
  }
  tmax = tmax > 0 ? tmax : 1;
  wmax = wmax > 0 ? wmax : 1;
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
             "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n", w, h);
  fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
  fprintf(f, "<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">cardinal compare: ");
  xml_text(f, base->model);
  fprintf(f, "</text>\n");
  const Target *t = target_find(base->target ? base->target : "native");
  int T = base->threads > 1 ? base->threads : 1;
  fprintf(f, "<text x=\"10\" y=\"42\">target %s, %d thread%s, %d run%s per configuration; "
             "sizes in MiB (2^20 bytes)</text>\n",
          t ? t->name : "?", T, T == 1 ? "" : "s", base->runs, base->runs == 1 ? "" : "s");
  int x0 = label_w, x1 = label_w + chart_w + 60;
  const double lat_w = chart_w * 0.65; /* room for the label after the whisker */
  fprintf(f, "<text x=\"%d\" y=\"68\" font-weight=\"bold\">latency, ms (median; whisker min-max)</text>\n", x0);
  fprintf(f, "<text x=\"%d\" y=\"68\" font-weight=\"bold\">workspace, MiB</text>\n", x1);
  for (int i = 0; i < n; i++) {
    int y = top + i * (bar_h + gap);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", label_w - 10, y + 15);
    xml_text(f, r[i].config);
    fprintf(f, " (%s)</text>\n", r[i].precision);
    double bw = r[i].med / tmax * lat_w;
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#4c78a8\"/>\n", x0, y,
            bw, bar_h);
    double wl = r[i].min / tmax * lat_w, wh = r[i].max / tmax * lat_w;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"black\"/>\n",
            x0 + wl, y + bar_h / 2, x0 + wh, y + bar_h / 2);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\">%.*f (%.2fx)</text>\n", x0 + fmax(bw, wh) + 4,
            y + 15, r[i].med >= 100 ? 0 : r[i].med >= 10 ? 1 : 3, r[i].med, r[i].speedup);
    double mib = (double)r[i].st.workspace_bytes / 1048576.0;
    double ww = mib / wmax * chart_w;
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#f58518\"/>\n", x1,
            y, ww, bar_h);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\">%.2f; weights %.2f MiB", x1 + ww + 4, y + 15, mib,
            (double)r[i].st.weight_bytes / 1048576.0);
    if (neval && i > 0)
      fprintf(f, "; top-1 %d/%d, SQNR %.1f dB", r[i].agree, neval, row_sqnr(&r[i]));
    fprintf(f, "</text>\n");
  }
  fprintf(f, "</svg>\n");
}

/* Row r's accuracy against the reference outputs ref[e][k] on the
 * evaluation inputs, each run through j's generated code. */
static bool row_accuracy(CompileJob *j, Graph *g, float **eval, int neval, float ***ref,
                         Row *r, Diag *d) {
  int no = g->noutputs;
  CompileJob e = *j;
  e.runs = 1;
  e.profile = false;
  for (int i = 0; i < neval; i++) {
    float **outs = calloc((size_t)no + 1, sizeof(float *));
    CD_ASSERT(outs);
    const float *ins[1] = {eval[i]};
    if (!cd_run_generated(&e, g, ins, outs, d)) {
      free(outs);
      return false;
    }
    if (!ref[i]) { /* the first row: the reference */
      ref[i] = outs;
      continue;
    }
    int64_t m = value_numel(&g->values[g->outputs[0]]);
    double err = 0, mag = 0;
    int64_t ra = 0, oa = 0;
    for (int64_t k = 0; k < m; k++) {
      double x = ref[i][0][k], y = outs[0][k];
      err = fmax(err, fabs(y - x));
      mag = fmax(mag, fabs(x));
      r->signal += x * x;
      r->noise += (y - x) * (y - x);
      ra = x > ref[i][0][ra] ? k : ra;
      oa = y > outs[0][oa] ? k : oa;
    }
    r->rel_err = fmax(r->rel_err, mag > 0 ? err / mag : err);
    r->agree += ra == oa;
    for (int k = 0; k < no; k++)
      free(outs[k]);
    free(outs);
  }
  return true;
}

int cd_compare(CompileJob *base, const char *const *configs, int nconfigs,
               const char *const *precisions, int nprec, const QuantizeOptions *quant,
               const char *eval_dir, const char *input, const char *csv, const char *svg,
               bool json, Diag *d) {
  static const char *const fp32[1] = {"fp32"};
  if (nprec == 0)
    precisions = fp32, nprec = 1;
  int nrows = nconfigs * nprec;
  Row *rows = calloc((size_t)nrows + 1, sizeof(Row));
  CD_ASSERT(rows);
  float **first = NULL, **eval = NULL, ***ref = NULL;
  float *x = NULL;
  int nout = 0, ok_rows = 0, neval = 0;
  bool failed = false;
  for (int c = 0; c < nconfigs && !failed; c++)
    for (int pi = 0; pi < nprec && !failed; pi++) {
      int ri = c * nprec + pi;
      CompileJob j = *base;
      j.passes = configs[c];
      j.weights_blob = true;
      bool int8 = !strcmp(precisions[pi], "int8");
      j.quant = int8 ? quant : NULL;
      fprintf(stderr, "[%d/%d] %s (%s): %scompiling, building, running %d time%s...\n", ri + 1,
              nrows, configs[c], precisions[pi], int8 ? "quantizing, " : "", j.runs,
              j.runs == 1 ? "" : "s");
      Graph *g = cd_load_model(&j, NULL, NULL, d);
      if (!g) {
        failed = true;
        break;
      }
      if (g->ninputs != 1) {
        diag_error(d, "compare needs a model with one input (this one has %d)", g->ninputs);
        graph_free(g);
        failed = true;
        break;
      }
      if (!x && !(x = cd_model_input(g, input, d))) {
        graph_free(g);
        failed = true;
        break;
      }
      if (eval_dir && !eval) {
        if (!quant_read_inputs(g, eval_dir, 0, &eval, &neval, d)) {
          graph_free(g);
          failed = true;
          break;
        }
        ref = calloc((size_t)neval + 1, sizeof(float **));
        CD_ASSERT(ref);
      }
      Plan plan;
      plan_build(g, &plan, d);
      Row *r = &rows[ri];
      r->config = configs[c];
      r->precision = precisions[pi];
      graph_stats(g, &plan, &r->st);
      plan_free(&plan);
      float **outs = calloc((size_t)g->noutputs + 1, sizeof(float *));
      CD_ASSERT(outs);
      const float *ins[1] = {x};
      if (!cd_run_generated(&j, g, ins, outs, d)) {
        free(outs);
        graph_free(g);
        failed = true;
        break;
      }
      r->med = j.ms_median;
      r->min = j.ms_min;
      r->max = j.ms_max;
      if (!first) {
        first = outs;
        nout = g->noutputs;
      } else {
        for (int k = 0; k < nout && k < g->noutputs; k++) {
          int64_t m = value_numel(&g->values[g->outputs[k]]);
          for (int64_t i = 0; i < m; i++)
            r->diff = fmax(r->diff, fabs((double)outs[k][i] - first[k][i]));
        }
        for (int k = 0; k < g->noutputs; k++)
          free(outs[k]);
        free(outs);
      }
      if (neval && !row_accuracy(&j, g, eval, neval, ref, r, d)) {
        graph_free(g);
        failed = true;
        break;
      }
      r->speedup = r->med > 0 ? rows[0].med / r->med : 0;
      fprintf(stderr, "[%d/%d] %s (%s): %d nodes, %.3f ms median\n", ri + 1, nrows, configs[c],
              precisions[pi], r->st.nodes, r->med);
      graph_free(g);
      ok_rows++;
    }
  bool ok = ok_rows == nrows;
  if (ok) {
    if (json) {
      write_json(stdout, base->model, rows, nrows, base->runs, neval);
    } else {
      printf("%-28s %-5s %6s %9s %11s %13s %26s %9s %12s", "configuration", "prec", "nodes",
             "GMACs", "weights MiB", "workspace MiB", "latency ms: median (min-max)", "speed-up",
             "max |diff|");
      if (neval)
        printf(" %10s %7s %8s", "rel. error", "top-1", "SQNR dB");
      printf("\n");
      for (int i = 0; i < nrows; i++) {
        char lat[64];
        snprintf(lat, sizeof lat, "%.2f (%.2f-%.2f)", rows[i].med, rows[i].min, rows[i].max);
        printf("%-28s %-5s %6d %9.3f %11.2f %13.2f %26s %8.2fx %12.3g", rows[i].config,
               rows[i].precision, rows[i].st.nodes, (double)rows[i].st.macs / 1e9,
               (double)rows[i].st.weight_bytes / 1048576.0,
               (double)rows[i].st.workspace_bytes / 1048576.0, lat, rows[i].speedup, rows[i].diff);
        if (neval && i == 0)
          printf(" %10s %7s %8s", "(ref.)", "", "");
        else if (neval)
          printf(" %9.3g%% %3d/%-3d %8.1f", 100.0 * rows[i].rel_err, rows[i].agree, neval,
                 row_sqnr(&rows[i]));
        printf("\n");
      }
      printf("(%d runs per configuration; speed-up and difference against '%s' (%s)", base->runs,
             rows[0].config, rows[0].precision);
      if (neval)
        printf("; error, top-1 agreement and SQNR against it over %d input%s of %s", neval,
               neval == 1 ? "" : "s", eval_dir);
      printf(")\n");
    }
    FILE *f;
    if (csv) {
      if ((f = fopen(csv, "w"))) {
        write_csv(f, rows, nrows, neval);
        ok = fclose(f) == 0;
      } else
        ok = false;
      if (!ok)
        diag_error(d, "cannot write %s", csv);
    }
    if (svg && ok) {
      if ((f = fopen(svg, "w"))) {
        write_svg(f, base, rows, nrows, neval);
        ok = fclose(f) == 0;
      } else
        ok = false;
      if (!ok)
        diag_error(d, "cannot write %s", svg);
    }
  }
  if (first) {
    for (int k = 0; k < nout; k++)
      free(first[k]);
    free(first);
  }
  for (int i = 0; ref && i < neval; i++) {
    for (int k = 0; ref[i] && k < nout; k++)
      free(ref[i][k]);
    free(ref[i]);
  }
  free(ref);
  for (int i = 0; i < neval; i++)
    free(eval[i]);
  free(eval);
  free(x);
  free(rows);
  return ok ? 0 : 1;
}
