/*
 * target_x86.c — the x86-64 targets: avx512 (16 floats a vector, 32
 * registers) and avx2 (8 floats, 16 registers, FMA).  Their kernels carry a
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

static const char *il4_512(CWriter *w, const char *const rows[4], int n) {
  const char *r[4];
  for (int k = 0; k < 4; k++)
    r[k] = !rows[k]  ? NULL
           : n >= 16 ? arena_printf(w->arena, "_mm_loadu_si128((const __m128i *)(%s))", rows[k])
                     : arena_printf(w->arena, "_mm_maskz_loadu_epi8((__mmask16)0x%x, %s)",
                                    (1u << n) - 1u, rows[k]);
  return il4_rows(w, r);
}

#define X86_INCLUDE(isa)                                                         \
  "#if !defined(__x86_64__)\n#error \"built for target " isa                    \
  ": compile it for x86-64, or rebuild with --target scalar\"\n#endif\n"         \
  "#include <immintrin.h>\n"

const Target target_avx512 = {
    .name = "avx512",
    .block = 16,
    .nregs = 32,
    .l1 = 32 << 10,
    .l2 = 1 << 20,
    .isa_attr = "__attribute__((target(\"avx512f,avx2,fma\")))",
    .include = X86_INCLUDE("avx512"),
    .cpu_features = CD_CPU_AVX2 | CD_CPU_AVX512,
    .cc_check = "defined(__x86_64__)",
    .f32 = {
        .dtype = DT_FLOAT,
        .lanes = 16,
        .vtype = "__m512",
        .mtype = "__mmask16",
        .load = "_mm512_loadu_ps($0)",
        .store = "_mm512_storeu_ps($0, $1)",
        .set1 = "_mm512_set1_ps($0)",
        .zero = "_mm512_setzero_ps()",
        .add = "_mm512_add_ps($0, $1)",
        .sub = "_mm512_sub_ps($0, $1)",
        .mul = "_mm512_mul_ps($0, $1)",
        .div = "_mm512_div_ps($0, $1)",
        .fma = "_mm512_fmadd_ps($0, $1, $2)",
        .max = "_mm512_max_ps($0, $1)",
        .min = "_mm512_min_ps($0, $1)",
        .maxnan = "_mm512_mask_blend_ps(_mm512_cmp_ps_mask($0, $0, _CMP_UNORD_Q), "
                  "_mm512_max_ps($0, $1), $0)",
        .sqrt = "_mm512_sqrt_ps($0)",
        .abs = "_mm512_abs_ps($0)",
        .round = "_mm512_roundscale_ps($0, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)",
        .lt = "_mm512_cmp_ps_mask($0, $1, _CMP_LT_OQ)",
        .unord = "_mm512_cmp_ps_mask($0, $1, _CMP_UNORD_Q)",
        .blend = "_mm512_mask_blend_ps($0, $2, $1)",
        .ldexp = "_mm512_scalef_ps($0, $1)",
        .getexp = "_mm512_getexp_ps($0)",
        .getmant = "_mm512_getmant_ps($0, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero)",
    },
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
        .dot4 = "_mm512_dpbusd_epi32($0, $1, $2)",
        .xor_ = "_mm512_xor_si512($0, $1)",
        .cvtf = "_mm512_cvtepi32_ps($0)",
        .cvti = "_mm512_cvtps_epi32($0)",
        .store8 = "_mm_mask_storeu_epi8($0, (__mmask16)((1u << $2) - 1u), "
                  "_mm512_cvtepi32_epi8($1))",
        .interleave4 = il4_512,
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
        .attr = "__attribute__((target(\"avx512f,avx2,fma,avx512bw,avx512vl,avx512vnni\")))",
        .cpu = CD_CPU_AVX512VNNI,
    },
    .group_bcast = bcast512,
    .dot_cg = 8,
    .group_sum = gsum512,
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
    .group_bcast = bcast256,
};
