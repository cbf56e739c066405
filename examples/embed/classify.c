/*
 * classify.c — an image classifier around a model compiled by Cardinal.
 *
 *   classify IMAGE [LABELS.txt]
 *
 * IMAGE is a PPM (P6 binary or P3 text, any size, 8 or 16 bits), resized
 * to the model's input with bilinear sampling and normalised as ImageNet
 * models expect (per-channel mean and deviation), or a .npy of float32
 * holding the model's input tensor exactly (already preprocessed).  It
 * prints the five most likely classes with their softmax probabilities and,
 * given a labels file (one name a line, class 0 first), their names.
 *
 * Everything about the model comes from net.h: the input's shape, the
 * sizes, the workspace; the program owns all memory and the generated code
 * allocates nothing.  Build it three ways: examples/embed/README.md.
 */
#include "net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if NET_NUM_INPUTS != 1 || NET_NUM_OUTPUTS < 1
#error "classify takes a model with one input and a class-score output"
#endif

static const long input_shape[NET_INPUT0_RANK] = NET_INPUT0_SHAPE;

/* PPM: "P6" or "P3", width, height, maxval, then the pixels; '#' comments. */
static int ppm_token(FILE *f, long *v) {
  int c;
  do {
    c = fgetc(f);
    if (c == '#')
      while (c != '\n' && c != EOF)
        c = fgetc(f);
  } while (c == ' ' || c == '\t' || c == '\n' || c == '\r');
  if (c < '0' || c > '9')
    return 0;
  *v = 0;
  while (c >= '0' && c <= '9' && *v < 1000000) {
    *v = *v * 10 + (c - '0');
    c = fgetc(f);
  }
  return 1;
}

/* The image as floats in [0, 1], interleaved RGB; NULL (and a message) on error. */
static float *read_ppm(const char *path, long *w, long *h) {
  FILE *f = fopen(path, "rb");
  char magic[3] = {0};
  long maxval, i, n;
  float *rgb;
  if (!f || fread(magic, 1, 2, f) != 2 || magic[0] != 'P' || (magic[1] != '6' && magic[1] != '3') ||
      !ppm_token(f, w) || !ppm_token(f, h) || !ppm_token(f, &maxval) || *w < 1 || *h < 1 ||
      *w > 65536 || *h > 65536 || maxval < 1 || maxval > 65535) {
    fprintf(stderr, "classify: %s is not a PPM image (P6 or P3)\n", path);
    if (f)
      fclose(f);
    return NULL;
  }
  n = *w * *h * 3;
  if (!(rgb = malloc(sizeof *rgb * (size_t)n))) {
    fclose(f);
    return NULL;
  }
  for (i = 0; i < n; i++) {
    long v = 0;
    if (magic[1] == '3') {
      if (!ppm_token(f, &v))
        break;
    } else if (maxval < 256) {
      int c = fgetc(f);
      if (c == EOF)
        break;
      v = c;
    } else {
      int hi = fgetc(f), lo = fgetc(f);
      if (lo == EOF)
        break;
      v = hi << 8 | lo;
    }
    rgb[i] = (float)v / (float)maxval;
  }
  fclose(f);
  if (i < n) {
    fprintf(stderr, "classify: %s is truncated\n", path);
    free(rgb);
    return NULL;
  }
  return rgb;
}

/* Bilinear resize to the model's H x W (pixel centres aligned, as
 * torchvision's Resize), then (x - mean) / std per channel, into x (NCHW). */
static void preprocess(const float *rgb, long w, long h, float *x, long H, long W) {
  static const float mean[3] = {0.485f, 0.456f, 0.406f}, dev[3] = {0.229f, 0.224f, 0.225f};
  long c, i, j;
  for (c = 0; c < 3; c++)
    for (i = 0; i < H; i++)
      for (j = 0; j < W; j++) {
        float sy = ((float)i + 0.5f) * (float)h / (float)H - 0.5f;
        float sx = ((float)j + 0.5f) * (float)w / (float)W - 0.5f;
        long y0, x0, y1, x1;
        float fy, fx, v;
        sy = sy < 0 ? 0 : sy;
        sx = sx < 0 ? 0 : sx;
        y0 = (long)sy;
        x0 = (long)sx;
        y1 = y0 + 1 < h ? y0 + 1 : h - 1;
        x1 = x0 + 1 < w ? x0 + 1 : w - 1;
        fy = sy - (float)y0;
        fx = sx - (float)x0;
        v = (1 - fy) * ((1 - fx) * rgb[(y0 * w + x0) * 3 + c] + fx * rgb[(y0 * w + x1) * 3 + c]) +
            fy * ((1 - fx) * rgb[(y1 * w + x0) * 3 + c] + fx * rgb[(y1 * w + x1) * 3 + c]);
        x[(c * H + i) * W + j] = (v - mean[c]) / dev[c];
      }
}

/* A .npy of float32 with exactly n values: the model's input as is. */
static int read_npy(const char *path, float *x, size_t n) {
  FILE *f = fopen(path, "rb");
  unsigned char pre[10];
  char header[4096];
  size_t hlen;
  int ok;
  if (!f || fread(pre, 1, 10, f) != 10 || memcmp(pre, "\223NUMPY", 6) != 0) {
    fprintf(stderr, "classify: %s is not a .npy file\n", path);
    if (f)
      fclose(f);
    return 0;
  }
  hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
  ok = pre[6] == 1 && hlen < sizeof header && fread(header, 1, hlen, f) == hlen;
  if (ok) {
    header[hlen] = 0;
    ok = strstr(header, "'<f4'") && strstr(header, "'fortran_order': False") &&
         fread(x, sizeof *x, n, f) == n && fgetc(f) == EOF;
  }
  fclose(f);
  if (!ok)
    fprintf(stderr, "classify: %s must hold %lu float32 values (the model's input, C order)\n",
            path, (unsigned long)n);
  return ok;
}

int main(int argc, char **argv) {
  const size_t nin = net_input_size[0], nout = net_output_size[0];
  float *x = malloc(sizeof *x * nin), *y = malloc(sizeof *y * nout);
  void *ws = cd_aligned_alloc(NET_WORKSPACE_SIZE);
  const float *inputs[NET_NUM_INPUTS];
  float *outputs[NET_NUM_OUTPUTS];
  char **labels = NULL;
  size_t nlabels = 0, i, len;
  int top[5], k, ntop = nout < 5 ? (int)nout : 5, rc;
  double max, sum = 0;
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: classify IMAGE.ppm|INPUT.npy [LABELS.txt]\n");
    return 2;
  }
  if (!x || !y || !ws)
    return 1;
  len = strlen(argv[1]);
  if (len > 4 && !strcmp(argv[1] + len - 4, ".npy")) {
    if (!read_npy(argv[1], x, nin))
      return 1;
  } else {
    long w, h;
    float *rgb;
    if (NET_INPUT0_RANK != 4 || input_shape[0] != 1 || input_shape[1] != 3) {
      fprintf(stderr, "classify: the model's input is not one RGB image (1x3xHxW); give a .npy\n");
      return 1;
    }
    if (!(rgb = read_ppm(argv[1], &w, &h)))
      return 1;
    preprocess(rgb, w, h, x, input_shape[NET_INPUT0_RANK - 2], input_shape[NET_INPUT0_RANK - 1]);
    free(rgb);
  }
  if (argc == 3) { /* labels: one a line */
    FILE *f = fopen(argv[2], "r");
    char line[256];
    if (!f) {
      fprintf(stderr, "classify: cannot read %s\n", argv[2]);
      return 1;
    }
    while (fgets(line, sizeof line, f)) {
      char **more = realloc(labels, sizeof *labels * (nlabels + 1));
      if (!more)
        return 1;
      labels = more;
      line[strcspn(line, "\r\n")] = 0;
      if (!(labels[nlabels] = malloc(strlen(line) + 1)))
        return 1;
      strcpy(labels[nlabels++], line);
    }
    fclose(f);
  }

  inputs[0] = x;
  outputs[0] = y;
  for (k = 1; k < NET_NUM_OUTPUTS; k++) /* outputs past the first: scratch */
    if (!(outputs[k] = malloc(sizeof(float) * net_output_size[k])))
      return 1;
  if ((rc = net_run(inputs, outputs, ws)) != CD_OK) {
    fprintf(stderr, "classify: net_run: %s\n", cd_strerror(rc));
    return 1;
  }

  /* Softmax probabilities of the top five. */
  max = y[0];
  for (i = 1; i < nout; i++)
    max = y[i] > max ? y[i] : max;
  for (i = 0; i < nout; i++)
    sum += exp(y[i] - max);
  for (k = 0; k < ntop; k++) {
    int best = -1;
    for (i = 0; i < nout; i++) {
      int taken = 0, j;
      for (j = 0; j < k; j++)
        taken |= top[j] == (int)i;
      if (!taken && (best < 0 || y[i] > y[best]))
        best = (int)i;
    }
    top[k] = best;
    printf("%d. class %4d  %6.2f%%%s%s\n", k + 1, best, 100.0 * exp(y[best] - max) / sum,
           (size_t)best < nlabels ? "  " : "", (size_t)best < nlabels ? labels[best] : "");
  }
  for (i = 0; i < nlabels; i++)
    free(labels[i]);
  free(labels);
  for (k = 1; k < NET_NUM_OUTPUTS; k++)
    free(outputs[k]);
  cd_free(ws);
  free(x);
  free(y);
  return 0;
}
