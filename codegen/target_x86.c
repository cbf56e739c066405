/*
 * target_x86.c — the x86-64 targets: avx512 (16 floats a vector, 32
 * registers), avx2 (8 floats, 16 registers, FMA) and avx512_novnni
 * (avx512's fp32 kernels with avx2's int8 ones).  Their kernels carry a
 * target attribute, so a model's sources compile with the user's own flags;
 * NAME_run checks the CPU (cd_cpu_has) before the first kernel and returns
 * CD_ERR_CPU on a CPU without the instructions.
 *
 * group_bcast replicates lane j of each group of cg lanes: within 128-bit
 * lanes (cg <= 4) an in-lane permute with an immediate, across them an
 * index permute with a constant index vector.  avx512 also has the dot
 * form for 8-channel groups (group_sum: its fold of the lanes).
 */
#include "../compiler/cardinal.h"
#include "../runtime/include/cardinal_rt.h" /* CD_CPU_*: what the generated code checks */

/* imm8 of _mm*_permute_ps picking, in each 128-bit lane, lane j of each
 * group of cg (cg = 1, 2, 4). */
static int inlane_imm(int cg, int j) {
  int imm = 0;
  for (int l = 0; l < 4; l++)
    imm |= (l / cg * cg + j) << (2 * l);
  return imm;
}

/* "idx,idx,...": lane l reads lane l / cg * cg + j. */
static const char *index_list(CWriter *w, int vec, int cg, int j) {
  StrBuf sb = {0};
  for (int l = vec - 1; l >= 0; l--) /* _mm*_set_epi32 lists the high lane first */
    sb_printf(&sb, "%s%d", l == vec - 1 ? "" : ", ", l / cg * cg + j);
  const char *s = arena_strdup(w->arena, sb.buf);
  sb_free(&sb);
  return s;
}

static const char *bcast512(CWriter *w, int cg, int j, const char *x) {
  if (cg == 1)
    return x;
  if (cg <= 4)
    return arena_printf(w->arena, "_mm512_permute_ps(%s, %d)", x, inlane_imm(cg, j));
  return arena_printf(w->arena, "_mm512_permutexvar_ps(_mm512_set_epi32(%s), %s)",
                      index_list(w, 16, cg, j), x);
}

static const char *bcast256(CWriter *w, int cg, int j, const char *x) {
  if (cg == 1)
    return x;
  if (cg <= 4)
    return arena_printf(w->arena, "_mm256_permute_ps(%s, %d)", x, inlane_imm(cg, j));
  return arena_printf(w->arena, "_mm256_permutevar8x32_ps(%s, _mm256_set_epi32(%s))", x,
                      index_list(w, 8, cg, j));
}

/*
 * The dot form's fold for 8-channel groups on avx512: acc[m], lanes
 * (group g = l / 8, input channel j = l % 8), become one vector of lanes
 * (g, m) = sum over j of acc[m][g * 8 + j].  Within 128-bit lanes, unpack
 * + add twice sums the j of each 4 (pairs, then quads), leaving per lane L
 * the partial sums of acc[0..3] (or [4..7]); one shuffle of 128-bit lanes
 * pairs the two halves of each group, a last one puts m 0-3 before 4-7.
 * 15 shuffles and 7 adds a pixel, against 72 FMAs of a 3x3.
 */
static const char *gsum512(CWriter *w, int cg, const char *const *a) {
  CD_ASSERT(cg == 8);
  for (int i = 0; i < 8; i += 2)
    cw(w, "const __m512 gs%d = _mm512_add_ps(_mm512_unpacklo_ps(%s, %s), "
            "_mm512_unpackhi_ps(%s, %s));\n", i, a[i], a[i + 1], a[i], a[i + 1]);
  cw(w, "const __m512 gq0 = _mm512_add_ps(_mm512_shuffle_ps(gs0, gs2, 0x44), "
          "_mm512_shuffle_ps(gs0, gs2, 0xEE));\n"
          "const __m512 gq1 = _mm512_add_ps(_mm512_shuffle_ps(gs4, gs6, 0x44), "
          "_mm512_shuffle_ps(gs4, gs6, 0xEE));\n"
          "const __m512 gz = _mm512_add_ps(_mm512_shuffle_f32x4(gq0, gq1, 0x88), "
          "_mm512_shuffle_f32x4(gq0, gq1, 0xDD));\n"
          "const __m512 gsum = _mm512_shuffle_f32x4(gz, gz, 0xD8);\n");
  return "gsum";
}

/*
 * The avx512 int8 table's interleave: lane i of the result holds byte i of
 * each of four rows (16 bytes each, loaded masked when fewer than 16 are
 * there), so one dpbusd multiplies four channels of 16 pixels.  Bytes
 * unpack to pairs, pairs to quads (pixels 0-3 and 4-7 from the low halves,
 * 8-11 and 12-15 from the high ones), and the four 128-bit quarters go
 * into one 512-bit vector in pixel order: 4 loads, 8 unpacks, 3 inserts.
 * The statements declare il*; the caller opens a block around them.
 */
static const char *il4_rows(CWriter *w, const char *const rows[4]) {
  for (int k = 0; k < 4; k++)
    cw(w, "const __m128i il%d = %s;\n", k, rows[k] ? rows[k] : "_mm_setzero_si128()");
  cw(w, "const __m128i il01l = _mm_unpacklo_epi8(il0, il1), il01h = _mm_unpackhi_epi8(il0, il1);\n"
        "const __m128i il23l = _mm_unpacklo_epi8(il2, il3), il23h = _mm_unpackhi_epi8(il2, il3);\n"
        "const __m512i il = _mm512_inserti32x4(_mm512_inserti32x4(_mm512_inserti32x4(\n"
        "_mm512_castsi128_si512(_mm_unpacklo_epi16(il01l, il23l)),\n"
        "_mm_unpackhi_epi16(il01l, il23l), 1),\n"
        "_mm_unpacklo_epi16(il01h, il23h), 2),\n"
        "_mm_unpackhi_epi16(il01h, il23h), 3);\n");
  return "il";
}

/*
 * interleave4 of four 32-byte rows, both halves (the KxK kernels' packing,
 * a third of the shuffles of two il4_512): the rows go pairwise into two
 * vectors (r0 | r1, r2 | r3), one two-source dword permute per half puts
 * in each 128-bit lane q dword q (or q + 4) of r0, r1, r2, r3, and one
 * in-lane byte shuffle transposes each lane's 4 x 4 bytes: 2 inserts, 2
 * permutes, 2 byte shuffles.  Declares il*; the caller opens a block.
 */
static void il4x2_512(CWriter *w, const char *const rows[4], const char *out[2]) {
  for (int k = 0; k < 4; k++)
    cw(w, "const __m256i ilr%d = %s;\n", k, rows[k] ? rows[k] : "_mm256_setzero_si256()");
  cw(w, "const __m512i ilz01 = _mm512_inserti64x4(_mm512_castsi256_si512(ilr0), ilr1, 1);\n"
        "const __m512i ilz23 = _mm512_inserti64x4(_mm512_castsi256_si512(ilr2), ilr3, 1);\n"
        "const __m512i ilsh = _mm512_set4_epi32(0x0F0B0703, 0x0E0A0602, 0x0D090501, 0x0C080400);\n");
  for (int h = 0; h < 2; h++) {
    cw(w, "const __m512i ilx%d = _mm512_shuffle_epi8(_mm512_permutex2var_epi32(ilz01, "
          "_mm512_set_epi32(", h);
    for (int l = 15; l >= 0; l--) /* lane l = 4 q + j: dword q + 4 h of row j */
      cw(w, "%d%s", (l & 3) * 8 + l / 4 + 4 * h, l ? ", " : "");
    cw(w, "), ilz23), ilsh);\n");
    out[h] = h ? "ilx1" : "ilx0";
  }
}

/*
 * interleave4 of pixels at offsets (the strided 1x1 convs' packing): a
 * dword gather a row, whose low bytes are the pixels, the other three
 * rows' shifted into bytes 1, 2 and 3 by masked byte blends.  Declares
 * il*; the caller opens a block.
 */
static const char *il4x_512(CWriter *w, const char *const rows[4], const char *idx) {
  for (int k = 0; k < 4; k++)
    if (rows[k])
      cw(w, "const __m512i ilg%d = _mm512_i32gather_epi32(%s, (const void *)(%s), 1);\n", k, idx,
         rows[k]);
    else
      cw(w, "const __m512i ilg%d = _mm512_setzero_si512();\n", k);
  cw(w, "const __m512i il = _mm512_mask_blend_epi8(0x8888888888888888ull, "
        "_mm512_mask_blend_epi8(0x4444444444444444ull, "
        "_mm512_mask_blend_epi8(0x2222222222222222ull, ilg0, _mm512_slli_epi32(ilg1, 8)), "
        "_mm512_slli_epi32(ilg2, 16)), _mm512_slli_epi32(ilg3, 24));\n");
  return "il";
}

static const char *il4_512(CWriter *w, const char *const rows[4], int n) {
  const char *r[4];
  for (int k = 0; k < 4; k++)
    r[k] = !rows[k]  ? NULL
           : n >= 16 ? arena_printf(w->arena, "_mm_loadu_si128((const __m128i *)(%s))", rows[k])
                     : arena_printf(w->arena, "_mm_maskz_loadu_epi8((__mmask16)0x%x, %s)",
                                    (1u << n) - 1u, rows[k]);
  return il4_rows(w, r);
}

/*
 * The avx2 int8 table.  AVX2 has no VNNI and vpmaddubsw saturates its
 * pair sums (255 x 127 x 2 > 32767), so dot4 is exact another way: each
 * 32-bit lane's bytes are split into 16-bit words -- the u8 side's even
 * bytes (a & 0x00ff00ff) and odd ones (a >> 8 per word), the s8 side's
 * sign-extended even bytes (b << 8 >> 8, arithmetic) and odd ones (b >> 8)
 * -- and two vpmaddwd sum the four products exactly (each pair at most
 * 2 x 255 x 128 in magnitude).  A kernel's tap or pixel vector is split
 * once for all its channels (the helper is inlined and the compiler shares
 * the subexpressions), the broadcast weights once for all pixel vectors.
 *
 * Everything masked on avx512 is done without reading or writing a byte
 * outside the mask: whole-row loads when the mask is full, else the masked
 * bytes copied into a stack row of the fill; partial stores copy the first
 * n packed bytes (memcpy) or the masked ones.  The edge strips pay for it;
 * the interior ones are plain vector loads and stores.  The helpers are
 * written once into a file whose kernels use the table (VecOps.prelude).
 */
#define AVX2_ATTR "__attribute__((target(\"avx2,fma\")))"
/* unused: a file gets every helper and its kernels call some (clang warns of the rest) */
#define AVX2_FN "static inline " AVX2_ATTR " __attribute__((always_inline, unused)) "
#define AVX2_ATTR_OPT "__attribute__((target(\"avx2,fma\"), optimize(\"no-tree-ter\")))"
static const char avx2_i8_prelude[] =
    "/* The avx2 int8 helpers (cardinal's codegen/target_x86.c). */\n"
    "/* The kernels' attribute.  gcc's temporary expression replacement (TER)\n"
    " * computes the products of a tile's unrolled taps before adding any, and\n"
    " * spills them (60 spills in a grouped 3x3 at -O3, none without it: 19 %\n"
    " * faster there and on a plain 3x3). */\n"
    "#if defined(__GNUC__) && !defined(__clang__)\n"
    "#define CD_AVX2_I8_KERNEL " AVX2_ATTR_OPT "\n"
    "#else\n"
    "#define CD_AVX2_I8_KERNEL " AVX2_ATTR "\n"
    "#endif\n"
    "/* acc + per 32-bit lane the 4 u8 bytes of a times the 4 s8 bytes of b, exact:\n"
    " * the bytes split into 16-bit words, even and odd, and two vpmaddwd. */\n"
    AVX2_FN "__m256i cd_avx2_dot4(__m256i acc, __m256i a, __m256i b) {\n"
    "  const __m256i ae = _mm256_and_si256(a, _mm256_set1_epi16(0xff)), ao = _mm256_srli_epi16(a, 8);\n"
    "  const __m256i be = _mm256_srai_epi16(_mm256_slli_epi16(b, 8), 8), bo = _mm256_srai_epi16(b, 8);\n"
    "  return _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(ae, be), _mm256_madd_epi16(ao, bo)));\n"
    "}\n"
    "/* cd_avx2_dot4 with b split ahead: w[0] the even bytes as 16-bit words,\n"
    " * w[1] the odd ones (a table of the generated C). */\n"
    AVX2_FN "__m256i cd_avx2_dot4w(__m256i acc, __m256i a, const int32_t *w) {\n"
    "  const __m256i ae = _mm256_and_si256(a, _mm256_set1_epi16(0xff)), ao = _mm256_srli_epi16(a, 8);\n"
    "  return _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(ae, _mm256_set1_epi32(w[0])),\n"
    "                                                _mm256_madd_epi16(ao, _mm256_set1_epi32(w[1]))));\n"
    "}\n"
    "/* The low bytes of the 8 int32 lanes of v, lane i in byte i. */\n"
    AVX2_FN "uint64_t cd_avx2_pack8(__m256i v) {\n"
    "  const __m256i p = _mm256_shuffle_epi8(v, _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, "
    "-1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1));\n"
    "  return (uint64_t)_mm_cvtsi128_si64(_mm_unpacklo_epi32(_mm256_castsi256_si128(p), "
    "_mm256_extracti128_si256(p, 1)));\n"
    "}\n"
    "/* The low bytes of the first n (<= 8) lanes of v to y. */\n"
    AVX2_FN "void cd_avx2_store8(void *y, __m256i v, unsigned n) {\n"
    "  const uint64_t q = cd_avx2_pack8(v);\n"
    "  if (n == 8u)\n    memcpy(y, &q, 8);\n  else\n    memcpy(y, &q, n);\n"
    "}\n"
    "/* The low bytes of the lanes of v in the mask m to y + lane. */\n"
    AVX2_FN "void cd_avx2_store8m(void *y, __m256i v, unsigned m) {\n"
    "  const uint64_t q = cd_avx2_pack8(v);\n"
    "  for (int l = 0; l < 8; l++)\n"
    "    if (m >> l & 1)\n      ((uint8_t *)y)[l] = (uint8_t)(q >> 8 * l);\n"
    "}\n"
    "/* n (< 8) bytes at x, zeros after them. */\n"
    AVX2_FN "__m128i cd_avx2_load8n(const uint8_t *x, int n) {\n"
    "  uint64_t q = 0;\n  memcpy(&q, x, (size_t)n);\n  return _mm_cvtsi64_si128((long long)q);\n"
    "}\n"
    "/* 16 bytes: bytes [lo, hi) of x in their places (0 < hi - lo < 16), the\n"
    " * fill's elsewhere: two loads of c bytes (c the largest power of two <= the\n"
    " * run) from either end of the run, which cover it, into bytes 0.. and 8..,\n"
    " * and one byte shuffle; nothing outside the run is read. */\n"
    AVX2_FN "__m128i cd_avx2_loadrun16(const uint8_t *x, int lo, int hi, __m128i fill) {\n"
    "  const int n = hi - lo, c = n >= 8 ? 8 : n >= 4 ? 4 : n >= 2 ? 2 : 1;\n"
    "  uint64_t a = 0, b = 0;\n"
    "  switch (c) {\n"
    "  case 8:\n    memcpy(&a, x + lo, 8);\n    memcpy(&b, x + hi - 8, 8);\n    break;\n"
    "  case 4:\n    memcpy(&a, x + lo, 4);\n    memcpy(&b, x + hi - 4, 4);\n    break;\n"
    "  case 2:\n    memcpy(&a, x + lo, 2);\n    memcpy(&b, x + hi - 2, 2);\n    break;\n"
    "  default:\n    a = x[lo];\n    break;\n  }\n"
    "  const __m128i v = _mm_unpacklo_epi64(_mm_cvtsi64_si128((long long)a), _mm_cvtsi64_si128((long long)b));\n"
    "  const __m128i i = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);\n"
    "  const __m128i d1 = _mm_sub_epi8(i, _mm_set1_epi8((char)lo));\n"
    "  const __m128i d2 = _mm_sub_epi8(i, _mm_set1_epi8((char)(hi - c - 8)));\n"
    "  const __m128i idx = _mm_blendv_epi8(d2, d1, _mm_cmpgt_epi8(_mm_set1_epi8((char)c), d1));\n"
    "  const __m128i in = _mm_andnot_si128(_mm_cmpgt_epi8(_mm_set1_epi8((char)lo), i), "
    "_mm_cmpgt_epi8(_mm_set1_epi8((char)hi), i));\n"
    "  return _mm_blendv_epi8(fill, _mm_shuffle_epi8(v, idx), in);\n"
    "}\n"
    "/* 16 bytes: those at x whose bit of m is set, the fill's elsewhere; no\n"
    " * other byte of x is read.  A full mask is one load, a run of bits (every\n"
    " * mask the kernels make) loadrun16, any other the bytes one by one. */\n"
    AVX2_FN "__m128i cd_avx2_loadrow16(const uint8_t *x, uint64_t m, __m128i fill) {\n"
    "  m &= 0xffffu;\n"
    "  if (m == 0xffffu)\n    return _mm_loadu_si128((const __m128i *)x);\n"
    "  if (m == 0)\n    return fill;\n"
    "  const int lo = __builtin_ctzll(m);\n"
    "  const uint64_t t = m >> lo;\n"
    "  if ((t & (t + 1)) == 0)\n    return cd_avx2_loadrun16(x, lo, 64 - __builtin_clzll(m), fill);\n"
    "  uint8_t b[16];\n  _mm_storeu_si128((__m128i *)b, fill);\n"
    "  for (int i = 0; i < 16; i++)\n    if (m >> i & 1)\n      b[i] = x[i];\n"
    "  return _mm_loadu_si128((const __m128i *)b);\n"
    "}\n"
    "/* loadrow16 of 32 bytes: each half by its own. */\n"
    AVX2_FN "__m256i cd_avx2_loadrow32(const uint8_t *x, uint64_t m, __m256i fill) {\n"
    "  if ((m & 0xffffffffu) == 0xffffffffu)\n    return _mm256_loadu_si256((const __m256i *)x);\n"
    "  return _mm256_set_m128i(cd_avx2_loadrow16(x + 16, m >> 16, _mm256_extracti128_si256(fill, 1)),\n"
    "                          cd_avx2_loadrow16(x, m, _mm256_castsi256_si128(fill)));\n"
    "}\n\n";

/* Lanes $2.. (a constant in [0, 8)) of the pair ($1 low, $0 high): within
 * 128-bit lanes vpalignr, the middle pair of halves from one vperm2i128
 * (the conditions on the constant fold). */
#define AVX2_ALIGNR                                                                 \
  "(($2) == 0 ? ($1) : ($2) == 4 ? _mm256_permute2x128_si256($1, $0, 0x21) "        \
  ": ($2) < 4 ? _mm256_alignr_epi8(_mm256_permute2x128_si256($1, $0, 0x21), $1, 4 * (($2) & 3)) " \
  ": _mm256_alignr_epi8($0, _mm256_permute2x128_si256($1, $0, 0x21), 4 * (($2) & 3)))"

/* interleave4 on avx2: 8 bytes of each row (a partial row copied into a
 * zeroed word), bytes unpacked to pairs, pairs to quads: pixels 0-3 and
 * 4-7 are the two 128-bit halves. */
static const char *il4_256(CWriter *w, const char *const rows[4], int n) {
  for (int k = 0; k < 4; k++) {
    const char *r = !rows[k] ? "_mm_setzero_si128()"
                    : n >= 8 ? arena_printf(w->arena, "_mm_loadl_epi64((const __m128i *)(%s))", rows[k])
                             : arena_printf(w->arena, "cd_avx2_load8n(%s, %d)", rows[k], n);
    cw(w, "const __m128i il%d = %s;\n", k, r);
  }
  cw(w, "const __m128i il01 = _mm_unpacklo_epi8(il0, il1), il23 = _mm_unpacklo_epi8(il2, il3);\n"
        "const __m256i il = _mm256_set_m128i(_mm_unpackhi_epi16(il01, il23), "
        "_mm_unpacklo_epi16(il01, il23));\n");
  return "il";
}

/* interleave4x2 on avx2: four 16-byte rows, bytes 0-7 and 8-15 each
 * unpacked to pairs then quads: 4 + 4 unpacks, 2 inserts. */
static void il4x2_256(CWriter *w, const char *const rows[4], const char *out[2]) {
  for (int k = 0; k < 4; k++)
    cw(w, "const __m128i ilr%d = %s;\n", k, rows[k] ? rows[k] : "_mm_setzero_si128()");
  cw(w, "const __m128i ilp01l = _mm_unpacklo_epi8(ilr0, ilr1), ilp01h = _mm_unpackhi_epi8(ilr0, ilr1);\n"
        "const __m128i ilp23l = _mm_unpacklo_epi8(ilr2, ilr3), ilp23h = _mm_unpackhi_epi8(ilr2, ilr3);\n"
        "const __m256i ilx0 = _mm256_set_m128i(_mm_unpackhi_epi16(ilp01l, ilp23l), "
        "_mm_unpacklo_epi16(ilp01l, ilp23l));\n"
        "const __m256i ilx1 = _mm256_set_m128i(_mm_unpackhi_epi16(ilp01h, ilp23h), "
        "_mm_unpacklo_epi16(ilp01h, ilp23h));\n");
  out[0] = "ilx0";
  out[1] = "ilx1";
}

#define X86_INCLUDE(isa)                                                         \
  "#if !defined(__x86_64__)\n#error \"built for target " isa                    \
  ": compile it for x86-64, or rebuild with --target scalar\"\n#endif\n"         \
  "#include <immintrin.h>\n"

/*
 * The avx512 int8 dot product.  gcc 12 does not tie vpdpbusd's accumulator
 * to its output through the intrinsic: every dot product of a register
 * tile became a copy in, the vpdpbusd and a copy out (and with 24
 * accumulators a store to the stack each), so under gcc it is this inline
 * asm, the same instruction with the accumulator "+v".
 */
#define AVX512_I8_ATTR "__attribute__((target(\"avx512f,avx2,fma,avx512bw,avx512vl,avx512vnni\")))"
static const char avx512_i8_prelude[] =
    "/* The avx512 int8 helpers (cardinal's codegen/target_x86.c): acc + per\n"
    " * 32-bit lane the 4 u8 bytes of a times the 4 s8 bytes of b.  On gcc an\n"
    " * asm with the accumulator tied: its intrinsic's copied it in and out. */\n"
    "static inline " AVX512_I8_ATTR " __attribute__((always_inline, unused))\n"
    "__m512i cd_dpbusd512(__m512i acc, __m512i a, __m512i b) {\n"
    "#if defined(__GNUC__) && !defined(__clang__)\n"
    "  __asm__(\"vpdpbusd %2, %1, %0\" : \"+v\"(acc) : \"v\"(a), \"v\"(b));\n"
    "  return acc;\n"
    "#else\n"
    "  return _mm512_dpbusd_epi32(acc, a, b);\n"
    "#endif\n"
    "}\n";

extern const Target target_avx2; /* AVX2_I8_OPS names its f32 table */

/* The tables two targets share (avx512 and avx512_novnni; avx2 and
 * avx512_novnni), as initialisers. */
#define AVX512_F32_OPS \
{ \
    .dtype = DT_FLOAT, \
    .lanes = 16, \
    .vtype = "__m512", \
    .mtype = "__mmask16", \
    .load = "_mm512_loadu_ps($0)", \
    .store = "_mm512_storeu_ps($0, $1)", \
    .set1 = "_mm512_set1_ps($0)", \
    .zero = "_mm512_setzero_ps()", \
    .add = "_mm512_add_ps($0, $1)", \
    .sub = "_mm512_sub_ps($0, $1)", \
    .mul = "_mm512_mul_ps($0, $1)", \
    .div = "_mm512_div_ps($0, $1)", \
    .fma = "_mm512_fmadd_ps($0, $1, $2)", \
    .max = "_mm512_max_ps($0, $1)", \
    .min = "_mm512_min_ps($0, $1)", \
    .maxnan = "_mm512_mask_blend_ps(_mm512_cmp_ps_mask($0, $0, _CMP_UNORD_Q), " \
              "_mm512_max_ps($0, $1), $0)", \
    .sqrt = "_mm512_sqrt_ps($0)", \
    .abs = "_mm512_abs_ps($0)", \
    .round = "_mm512_roundscale_ps($0, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)", \
    .lt = "_mm512_cmp_ps_mask($0, $1, _CMP_LT_OQ)", \
    .unord = "_mm512_cmp_ps_mask($0, $1, _CMP_UNORD_Q)", \
    .blend = "_mm512_mask_blend_ps($0, $2, $1)", \
    .ldexp = "_mm512_scalef_ps($0, $1)", \
    .getexp = "_mm512_getexp_ps($0)", \
    .getmant = "_mm512_getmant_ps($0, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero)", \
}

#define AVX2_I8_OPS \
{ \
    .dtype = DT_UINT8, \
    .lanes = 8, \
    .vtype = "__m256i", \
    .mtype = "__m256i", \
    .load = "_mm256_loadu_si256((const __m256i *)($0))", \
    .store = "_mm256_storeu_si256((__m256i *)($0), $1)", \
    .set1 = "_mm256_set1_epi32($0)", \
    .zero = "_mm256_setzero_si256()", \
    .add = "_mm256_add_epi32($0, $1)", \
    .sub = "_mm256_sub_epi32($0, $1)", \
    .mul = "_mm256_mullo_epi32($0, $1)", \
    .dot4 = "cd_avx2_dot4($0, $1, $2)", \
    .dot4w = "cd_avx2_dot4w($0, $1, $2)", \
    .xor_ = "_mm256_xor_si256($0, $1)", \
    .cvtf = "_mm256_cvtepi32_ps($0)", \
    .cvti = "_mm256_cvtps_epi32($0)", \
    .store8 = "cd_avx2_store8($0, $1, $2)", \
    .widen8 = "_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)($0)))", \
    .interleave4 = il4_256, \
    .rtype2 = "__m128i", \
    .rtype4 = "__m256i", \
    .loadrow2 = "cd_avx2_loadrow16($0, $1, _mm_set1_epi8((char)($2)))", \
    .loadrow4 = "cd_avx2_loadrow32($0, $1, _mm256_set1_epi8((char)($2)))", \
    .evens = "_mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_shuffle_epi8($0, " \
             "_mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14, " \
             "0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14)), 0x08))", \
    .odds = "_mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_shuffle_epi8($0, " \
            "_mm256_setr_epi8(1, 3, 5, 7, 9, 11, 13, 15, 1, 3, 5, 7, 9, 11, 13, 15, " \
            "1, 3, 5, 7, 9, 11, 13, 15, 1, 3, 5, 7, 9, 11, 13, 15)), 0x08))", \
    .alignr = AVX2_ALIGNR, \
    .rfill2 = "_mm_set1_epi8((char)($0))", \
    .loadrow2m = "cd_avx2_loadrow16($0, $1, $2)", \
    .store8m = "cd_avx2_store8m($0, $1, $2)", \
    .prelude = avx2_i8_prelude, \
    .interleave4x2 = il4x2_256, \
    .attr = "CD_AVX2_I8_KERNEL", /* the prelude's: the target's, tuned for gcc */ \
    .fops = &target_avx2.f32, /* its requantization's (avx512_novnni's f32 is wider) */ \
}

/* What avx512 and avx512_novnni share but their int8 table and name. */
#define AVX512_TARGET_COMMON                                                   \
  .block = 16, .nregs = 32, .l1 = 32 << 10, .l2 = 1 << 20,                     \
  .isa_attr = "__attribute__((target(\"avx512f,avx2,fma\")))",                \
  .include = X86_INCLUDE("avx512"), .cpu_features = CD_CPU_AVX2 | CD_CPU_AVX512, \
  .cc_check = "defined(__x86_64__)", .f32 = AVX512_F32_OPS,                    \
  .group_bcast = bcast512, .dot_cg = 8, .group_sum = gsum512

const Target target_avx512 = {
    .name = "avx512",
    AVX512_TARGET_COMMON,
    /* 8-bit integers: u8 x s8 dot products of four bytes a 32-bit lane
     * (AVX-512 VNNI's vpdpbusd, exact in int32), BW and VL for byte masks;
     * kernels that use them carry their own attribute and CPU bit, so an
     * fp32 model still runs on AVX-512 F without VNNI. */
    .i8 = {
        .dtype = DT_UINT8,
        .lanes = 16,
        .vtype = "__m512i",
        .mtype = "__mmask16",
        .load = "_mm512_loadu_si512($0)",
        .store = "_mm512_storeu_si512($0, $1)",
        .set1 = "_mm512_set1_epi32($0)",
        .zero = "_mm512_setzero_si512()",
        .add = "_mm512_add_epi32($0, $1)",
        .sub = "_mm512_sub_epi32($0, $1)",
        .mul = "_mm512_mullo_epi32($0, $1)",
        .dot4 = "cd_dpbusd512($0, $1, $2)",
        .prelude = avx512_i8_prelude,
        .xor_ = "_mm512_xor_si512($0, $1)",
        .cvtf = "_mm512_cvtepi32_ps($0)",
        .cvti = "_mm512_cvtps_epi32($0)",
        .cvtrn = "_mm512_cvt_roundps_epi32($0, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)",
        .store8 = "_mm_mask_storeu_epi8($0, (__mmask16)((1u << $2) - 1u), "
                  "_mm512_cvtepi32_epi8($1))",
        .widen8 = "_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)($0)))",
        .interleave4 = il4_512,
        .interleave4x = il4x_512,
        .rtype2 = "__m256i",
        .rtype4 = "__m512i",
        .loadrow2 = "_mm256_mask_loadu_epi8(_mm256_set1_epi8((char)($2)), (__mmask32)($1), $0)",
        .loadrow4 = "_mm512_mask_loadu_epi8(_mm512_set1_epi8((char)($2)), (__mmask64)($1), $0)",
        .evens = "_mm512_cvtepi16_epi8($0)",
        .odds = "_mm512_cvtepi16_epi8(_mm512_srli_epi16($0, 8))",
        .alignr = "_mm512_alignr_epi32($0, $1, $2)",
        .rfill2 = "_mm256_set1_epi8((char)($0))",
        .loadrow2m = "_mm256_mask_loadu_epi8($2, (__mmask32)($1), $0)",
        .store8m = "_mm_mask_storeu_epi8($0, (__mmask16)($2), _mm512_cvtepi32_epi8($1))",
        .interleave4x2 = il4x2_512,
        .hsum = "_mm512_reduce_add_epi32($0)",
        .attr = AVX512_I8_ATTR,
        .cpu = CD_CPU_AVX512VNNI,
    },
};

const Target target_avx2 = {
    .name = "avx2",
    .block = 8,
    .nregs = 16,
    .l1 = 32 << 10,
    .l2 = 512 << 10,
    .isa_attr = "__attribute__((target(\"avx2,fma\")))",
    .include = X86_INCLUDE("avx2"),
    .cpu_features = CD_CPU_AVX2,
    .cc_check = "defined(__x86_64__)",
    .f32 = {
        .dtype = DT_FLOAT,
        .lanes = 8,
        .vtype = "__m256",
        .mtype = "__m256",
        .load = "_mm256_loadu_ps($0)",
        .store = "_mm256_storeu_ps($0, $1)",
        .set1 = "_mm256_set1_ps($0)",
        .zero = "_mm256_setzero_ps()",
        .add = "_mm256_add_ps($0, $1)",
        .sub = "_mm256_sub_ps($0, $1)",
        .mul = "_mm256_mul_ps($0, $1)",
        .div = "_mm256_div_ps($0, $1)",
        .fma = "_mm256_fmadd_ps($0, $1, $2)",
        .max = "_mm256_max_ps($0, $1)",
        .min = "_mm256_min_ps($0, $1)",
        .maxnan = "_mm256_blendv_ps(_mm256_max_ps($0, $1), $0, _mm256_cmp_ps($0, $0, _CMP_UNORD_Q))",
        .sqrt = "_mm256_sqrt_ps($0)",
        .abs = "_mm256_andnot_ps(_mm256_set1_ps(-0.0f), $0)",
        .round = "_mm256_round_ps($0, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)",
        .lt = "_mm256_cmp_ps($0, $1, _CMP_LT_OQ)",
        .unord = "_mm256_cmp_ps($0, $1, _CMP_UNORD_Q)",
        .blend = "_mm256_blendv_ps($2, $1, $0)",
        /* 2^n built in the exponent field: n + 127 shifted into place */
        .ldexp = "_mm256_mul_ps($0, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32("
                 "_mm256_cvtps_epi32($1), _mm256_set1_epi32(127)), 23)))",
        .getexp = "_mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(_mm256_castps_si256($0), "
                  "23)), _mm256_set1_ps(127.0f))",
        .getmant = "_mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(_mm256_castps_si256($0), "
                   "_mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f800000)))",
    },
    /* 8-bit integers without VNNI (see avx2_i8_prelude): AVX2 alone, so the
     * kernels need nothing past the target's own attribute and CPU bit. */
    .i8 = AVX2_I8_OPS,
    .group_bcast = bcast256,
};

/* avx512 on a CPU without AVX-512 VNNI (Skylake-SP and -X): the fp32
 * kernels of avx512, the int8 ones of avx2 (its exact vpmaddwd dot product,
 * 8 lanes, compiled for AVX2), so an int8 model runs where avx512 would
 * return CD_ERR_CPU.  `native` picks it on such a CPU. */
const Target target_avx512_novnni = {
    .name = "avx512_novnni",
    AVX512_TARGET_COMMON,
    .i8 = AVX2_I8_OPS,
};
