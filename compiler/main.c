/*
 * main.c — the `cardinal` command line: compile, build, run, inspect.
 *
 * Each subcommand parses its own GNU-style options (getopt_long), fills a
 * CompileJob and calls the library (toolchain.c).  User errors print one
 * line naming the file and the problem and exit 1; usage errors exit 2.
 */
#include "cardinal.h"
#include "dsl.h" /* Suggest: "did you mean" for options */
#include "quant.h" /* cd_quantize, cd_dequantize: run --io quantized converts as the caller does */

#include <errno.h>
#include <signal.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The bounds of counts the options take, written once: in the check and,
 * as text, in its message. */
#define MAX_RUNS 100000
#define STR_(x) #x
#define STR(x) STR_(x)

static const char *usage_main =
    "usage: cardinal COMMAND [OPTIONS] MODEL\n"
    "\n"
    "Compiles a neural network (ONNX, or a .nx model in Cardinal's DSL) into\n"
    "standalone C.\n"
    "\n"
    "commands:\n"
    "  compile   write NAME.h, NAME.c, the weights and the runtime into DIR\n"
    "  build     compile, then build DIR/libNAME.a with the C compiler\n"
    "  run       run the model on input tensors (generated C or --reference)\n"
    "  inspect   print the graph's statistics (node counts, parameters, MACs)\n"
    "  compare   build and time the model under several pass configurations\n"
    "  bench     time the generated code, next to ONNX Runtime when it is installed\n"
    "  quantize  calibrate the model on sample inputs and write it as int8 QDQ ONNX\n"
    "  dump-weights  write the parameters of a .nx model as safetensors (for PyTorch)\n"
    "\n"
    "Run 'cardinal COMMAND --help' for a command's options.\n"
    "'cardinal --version' prints the version.\n";

static const char *usage_compile =
    "usage: cardinal %s MODEL -o DIR [options]\n"
    "\n"
    "%s"
    "\n"
    "options:\n"
    "  -o, --output DIR        output folder (created; files are replaced)\n"
    "  -n, --name NAME         C prefix of the generated API (default: from MODEL)\n"
    "  -t, --target T          native (default: the best this machine runs), avx512,\n"
    "                          avx512_novnni (avx512 with avx2's int8 kernels: AVX-512\n"
    "                          without VNNI), avx2 (x86-64 with FMA), neon (AArch64),\n"
    "                          or scalar (portable C99, any compiler and CPU)\n"
    "      --threads N         split every layer over N threads when compiled (default 1;\n"
    "                          auto: this machine's cores); N > 1 links -lpthread\n"
    "  -p, --passes LIST       passes to run: default, none, or a comma list;\n"
    "                          '-NAME' drops one (e.g. default,-dce)\n"
    "  -w, --weights MODE      embed (default: NAME_weights.c), blob (NAME.weights,\n"
    "                          loaded at run time), or section (embedded, in linker\n"
    "                          section .rodata.cardinal_weights); or FILE.safetensors:\n"
    "                          the parameters of a .nx model\n"
    "      --embed-as FORM     embedded weights as: c (NAME_weights.c, a string\n"
    "                          literal any C compiler takes; compile's default), or\n"
    "                          incbin (NAME_weights.bin, the bytes, and\n"
    "                          NAME_weights.S, which includes them: assemble it with\n"
    "                          -IDIR, gcc or clang, ELF; build's and run's default\n"
    "                          from 1 MiB of weights, when --cc assembles it).  The\n"
    "                          same bytes in memory; incbin builds in seconds where\n"
    "                          c takes a minute for 500 MB\n"
    "      --static-workspace  NAME_workspace, a static array NAME_run uses when its\n"
    "                          workspace is NULL (with --weights section, in linker\n"
    "                          section .bss.cardinal_workspace)\n"
    "      --max-workspace BYTES, --max-weights BYTES   fail, stating the size needed,\n"
    "                          if the model needs more (K, M, G suffixes: 1024^n;\n"
    "                          BYTES > 0)\n"
    "      --seed N            .nx without a safetensors file: seed of the generated\n"
    "                          parameters (default 0)\n"
    "  -f, --freeze NAME=FILE  make input NAME a constant (.npy, .pb or raw f32)\n"
    "      --shape NAME=D0,D1,...  the dims of input NAME, fixing its symbolic ones\n"
    "                          (e.g. --shape input=1,3,224,224); a symbolic dim other\n"
    "                          than the batch must be fixed, the batch defaults to 1\n"
    "      --outputs NAME[,NAME...]  make these tensors the model's outputs, in this\n"
    "                          order, and drop what only the others need: cuts the graph\n"
    "                          before ops static code cannot run (NonZero, NMS, ...),\n"
    "                          left to the caller\n"
    "      --verify            check the IR after every pass (always on in debug builds;\n"
    "                          or set CARDINAL_VERIFY=1)\n"
    "      --dump-after PASS   print the graph after PASS\n"
    "      --dot FILE          write the final graph for Graphviz (dot -Tsvg FILE)\n"
    "      --max-tensor-bytes N  refuse a tensor of more than N bytes (default\n"
    "                          4294967296; README, Limits)\n"
    "      --precision P       fp32 (default) or int8: quantize the model first,\n"
    "                          calibrated on --calibrate DIR, as `cardinal quantize`\n"
    "      --calibrate DIR     the calibration inputs: every .npy file in DIR, one\n"
    "                          input each (float32, the model input's shape)\n"
    "      --method M          minmax (default) or percentile: each activation's range\n"
    "      --percentile P      the share of values the range holds, each side (default\n"
    "                          99.99; implies --method percentile)\n"
    "      --exclude NODE      keep node NODE float (repeatable)\n"
    "      --calibrate-count N calibrate on the first N files (by name)\n"
    "      --quiet             no progress lines\n"
    "      --io MODE           float (default): NAME_run takes and gives floats, an\n"
    "                          int8 model quantizing and dequantizing inside; or\n"
    "                          quantized: a float input that goes straight into a\n"
    "                          QuantizeLinear, and a float output that comes straight\n"
    "                          out of a DequantizeLinear, are passed as those uint8 or\n"
    "                          int8 tensors (4x fewer bytes; per-tensor Q/DQ only):\n"
    "                          NAME_run takes void pointers, each to its tensor's own\n"
    "                          type, and NAME.h gives NAME_INPUTk_SCALE, _ZERO_POINT\n"
    "%s"
    "  -h, --help              this text\n";

static const char *usage_build_extra =
    "      --cc CC             C compiler (default: cc)\n"
    "      --cflags FLAGS      its flags (default: -O3)\n";

static const char *usage_run =
    "usage: cardinal run MODEL --input FILE... [options]\n"
    "\n"
    "Runs the model on inputs (.npy, ONNX .pb or raw float32), one --input per\n"
    "model input in order.  By default the model is compiled to C, built and\n"
    "run; --reference runs the reference interpreter instead.  Without\n"
    "--output, prints each output's shape, first values and arg-max.\n"
    "\n"
    "The weights go in a blob the program reads (--weights to choose), and the\n"
    "built program is kept in a cache keyed by everything its build reads (the\n"
    "generated code, compiler, flags): run again, the C compiler is skipped.  The\n"
    "cache is $CARDINAL_CACHE_DIR, else $XDG_CACHE_HOME/cardinal or ~/.cache/cardinal\n"
    "(CARDINAL_CACHE_DIR=off: none), its 64 most recent builds within 1 GiB.\n"
    "\n"
    "options:\n"
    "  -i, --input FILE        an input tensor (repeat per input)\n"
    "  -O, --output FILE       write an output (.npy, else raw float32; repeat)\n"
    "  -r, --reference         use the reference interpreter\n"
    "  -t, --target T          as for compile (default native)\n"
    "      --threads N         as for compile (default 1)\n"
    "  -p, --passes LIST       as for compile\n"
    "  -f, --freeze NAME=FILE  as for compile\n"
    "      --shape NAME=D0,D1,...  as for compile\n"
    "      --outputs NAME[,NAME...]  as for compile\n"
    "  -w, --weights MODE      as for compile (default blob: nothing large to compile)\n"
    "      --embed-as FORM     as for compile (default incbin from 1 MiB, if --cc\n"
    "                          assembles it)\n"
    "      --no-cache          do not reuse (or keep) the built program (see below)\n"
    "      --seed N            as for compile\n"
    "      --runs N            time N runs of the generated code (default 1)\n"
    "      --profile           time every kernel and print where the time goes\n"
    "      --dot FILE          write the final graph for Graphviz\n"
    "      --verify, --dump-after PASS   as for compile\n"
    "      --max-tensor-bytes N  as for compile\n"
    "      --cc CC, --cflags FLAGS   the C compiler and its flags\n"
    "      --precision int8 --calibrate DIR ...   as for compile: the int8 model\n"
    "      --io MODE           as for compile; with quantized, float32 .npy inputs are\n"
    "                          quantized at the header's scale and zero point (uint8 or\n"
    "                          int8 .npy files are taken as they are), and quantized\n"
    "                          outputs are printed and written dequantized (float32)\n"
    "  -h, --help              this text\n";

static const char *usage_inspect =
    "usage: cardinal inspect MODEL [options]\n"
    "\n"
    "Loads the model, runs the passes and prints statistics: the inputs and outputs\n"
    "(names, shapes), nodes per op type, parameters, multiply-accumulates, what\n"
    "each pass did, and the memory the built model takes: weight and workspace\n"
    "bytes, and the code size and stack of NAME_run, measured by compiling the\n"
    "generated code with the C compiler (--cc, --cflags; -fstack-usage).\n"
    "\n"
    "options:\n"
    "  -n, --name NAME         as for compile (the report names NAME_run)\n"
    "  -p, --passes LIST       as for compile\n"
    "  -f, --freeze NAME=FILE  as for compile\n"
    "      --shape NAME=D0,D1,...  as for compile\n"
    "      --outputs NAME[,NAME...]  as for compile\n"
    "  -w, --weights FILE.safetensors, --seed N   parameters of a .nx model\n"
    "      --json              print JSON instead of text\n"
    "      --dump-after PASS   print the graph after PASS\n"
    "      --dump              print the final graph\n"
    "      --schedule          print each node's kernel, tile, cache block and layout\n"
    "      --no-size           do not compile the code to measure its size and stack\n"
    "      --no-cache          measure again, even if the build cache has the answer\n"
    "                          (see 'cardinal run --help')\n"
    "      --weights embed|blob|section, --static-workspace   as for compile\n"
    "      --max-workspace BYTES, --max-weights BYTES   exit 1 (after the report) if over\n"
    "      --cc CC, --cflags FLAGS   the C compiler that measures the code\n"
    "  -t, --target T          as for compile (the layout and schedule depend on it)\n"
    "      --threads N         as for compile (the schedule splits each layer for N)\n"
    "      --dot FILE          write the final graph for Graphviz (dot -Tsvg FILE)\n"
    "      --max-tensor-bytes N  as for compile\n"
    "      --precision int8 --calibrate DIR ...   as for compile: the int8 model\n"
    "      --io MODE           as for compile (quantized: the inputs and outputs shown\n"
    "                          are the quantized tensors the API passes)\n"
    "  -h, --help              this text\n";

static const char *usage_bench =
    "usage: cardinal bench MODEL [options]\n"
    "\n"
    "Builds MODEL for the target, runs the generated code N times (on one core, or\n"
    "--threads) and prints the median latency (min, max); for an ONNX model, also\n"
    "ONNX Runtime's median on the same input with as many threads, measured in the\n"
    "same run, and the ratio.  The two take turns, a round each, so that a slower\n"
    "minute of a shared machine falls on both.  ONNX Runtime is the npm package\n"
    "onnxruntime-node under $ORT_DIR or /opt/ort, run by node; without it the peer\n"
    "is skipped with a note.\n"
    "\n"
    "options:\n"
    "      --runs N            timed runs a round (default 20)\n"
    "      --rounds N          rounds, Cardinal's runs then ONNX Runtime's in each (default 3):\n"
    "                          the medians and the ratio printed are the medians over rounds\n"
    "  -t, --target T          as for compile (default native)\n"
    "      --threads N         as for compile (default 1); ONNX Runtime gets N threads too\n"
    "  -p, --passes LIST       as for compile\n"
    "  -i, --input FILE        the input (default: x[i] = sin(0.37 i), as ONNX Runtime's)\n"
    "      --no-peer           do not run ONNX Runtime\n"
    "  -f, --freeze NAME=FILE  as for compile\n"
    "      --shape NAME=D0,D1,...  as for compile\n"
    "      --outputs NAME[,NAME...]  as for compile\n"
    "  -w, --weights MODE      blob (default: in heap memory the program reads, as ONNX\n"
    "                          Runtime holds its weights) or embed (in the program); or\n"
    "                          FILE.safetensors (or --seed N): the parameters of a .nx model\n"
    "      --cc CC, --cflags FLAGS   the C compiler and its flags\n"
    "  -h, --help              this text\n";

static const char *usage_compare =
    "usage: cardinal compare MODEL --configs CONFIG... [options]\n"
    "\n"
    "Builds and runs MODEL once per pass configuration and prints a table:\n"
    "nodes, MACs, weight and workspace bytes, median latency (min-max), the\n"
    "speed-up over the first configuration and the largest output difference\n"
    "from it.  A configuration is a --passes list, e.g.\n"
    "  cardinal compare m.onnx --configs none fold-bn fold-bn,fuse-activation default\n"
    "\n"
    "options:\n"
    "      --configs LIST...   the configurations (default: none default)\n"
    "      --runs N            timed runs per configuration (default 5)\n"
    "  -t, --target T          as for compile (default native); passes such as layout\n"
    "                          and tile-grouped-conv do nothing on scalar\n"
    "      --threads N         as for compile (default 1)\n"
    "  -i, --input FILE        the input (default: x[i] = sin(0.37 i), as ort_time.js)\n"
    "      --csv FILE          also write the table as CSV\n"
    "      --json              print JSON instead of the table\n"
    "      --svg FILE          draw latency and workspace bars (open in a browser)\n"
    "      --precision LIST    fp32, int8 or fp32,int8: each configuration at each\n"
    "                          precision (int8: quantized as `cardinal quantize` does)\n"
    "      --calibrate DIR     the calibration inputs of int8 rows (.npy files)\n"
    "      --method M, --percentile P, --exclude NODE, --calibrate-count N, --quiet\n"
    "                          as for `cardinal quantize`\n"
    "      --eval DIR          accuracy of every row against the first over the .npy\n"
    "                          inputs in DIR (default with --precision: the calibration\n"
    "                          folder): the largest error relative to the output's\n"
    "                          magnitude, top-1 agreement, SQNR\n"
    "  -f, --freeze NAME=FILE  as for compile\n"
    "      --shape NAME=D0,D1,...  as for compile\n"
    "      --outputs NAME[,NAME...]  as for compile\n"
    "  -w, --weights FILE.safetensors, --seed N   parameters of a .nx model\n"
    "      --cc CC, --cflags FLAGS   the C compiler and its flags\n"
    "  -h, --help              this text\n";

static const char *usage_dump_weights =
    "usage: cardinal dump-weights MODEL.nx -o FILE.safetensors [options]\n"
    "\n"
    "Writes every parameter of a .nx model, with the names and layouts PyTorch\n"
    "gives them (layer1.0.conv1.weight ...), as a safetensors file: the seeded\n"
    "parameters a model compiles with when no weights are given, so PyTorch can\n"
    "load them (scripts/safetensors_io.py reads the file with numpy alone) and\n"
    "the two outputs can be compared.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE       the safetensors file to write\n"
    "      --seed N            seed of the generated parameters (default 0)\n"
    "  -w, --weights FILE.safetensors   bind these instead (a check that they bind)\n"
    "  -h, --help              this text\n";

static const char *usage_quantize =
    "usage: cardinal quantize MODEL -o OUT.onnx --calibrate DIR [options]\n"
    "\n"
    "Quantizes MODEL (.onnx or .nx) to int8 and writes it as ONNX in the QDQ\n"
    "format, which ONNX Runtime also runs: convs and linear layers get int8\n"
    "weights (symmetric, one scale per output channel) and uint8 activations\n"
    "(asymmetric, per tensor) whose ranges come from running the model on the\n"
    "calibration inputs.  BatchNorm is folded into the weights first.  It\n"
    "prints each quantized node's SQNR against the float model on those\n"
    "inputs (dB: the error accumulated up to that node), so the layer that\n"
    "hurts shows as the one where it drops; --exclude keeps it float.\n"
    "`cardinal build MODEL --precision int8 --calibrate DIR` does this and\n"
    "builds in one step.\n"
    "\n"
    "options:\n"
    "  -o, --output OUT.onnx   the quantized model to write\n"
    "      --calibrate DIR     every .npy file in DIR is one input (float32, the\n"
    "                          model input's shape)\n"
    "      --method M          minmax (default) or percentile: each activation's range\n"
    "      --percentile P      the share of values the range holds, each side (default\n"
    "                          99.99; implies --method percentile)\n"
    "      --exclude NODE      keep node NODE float (repeatable)\n"
    "      --calibrate-count N calibrate on the first N files (by name)\n"
    "      --quiet             no progress lines\n"
    "  -f, --freeze NAME=FILE, --shape NAME=D0,D1,...   as for compile\n"
    "      --outputs NAME[,NAME...]   as for compile\n"
    "  -w, --weights FILE.safetensors, --seed N   parameters of a .nx model\n"
    "      --max-tensor-bytes N, --verify   as for compile\n"
    "  -h, --help              this text\n";

enum { O_VERIFY = 256, O_DUMP_AFTER, O_CC, O_CFLAGS, O_JSON, O_RUNS, O_DUMP, O_DOT, O_CSV,
       O_SVG, O_SEED, O_PROFILE, O_SCHEDULE, O_NO_PEER, O_THREADS, O_SHAPE, O_STATIC_WS,
       O_MAX_WS, O_MAX_WEIGHTS, O_NO_SIZE, O_NO_CACHE, O_MAX_TENSOR, O_PRECISION, O_CALIBRATE,
       O_METHOD, O_PERCENTILE, O_EXCLUDE, O_CALIB_COUNT, O_QUIET, O_EVAL, O_EMBED_AS, O_OUTPUTS, O_IO, O_ROUNDS };

static const struct option long_opts[] = {
    {"output", required_argument, 0, 'o'},
    {"name", required_argument, 0, 'n'},
    {"target", required_argument, 0, 't'},
    {"passes", required_argument, 0, 'p'},
    {"weights", required_argument, 0, 'w'},
    {"embed-as", required_argument, 0, O_EMBED_AS},
    {"freeze", required_argument, 0, 'f'},
    {"input", required_argument, 0, 'i'},
    {"reference", no_argument, 0, 'r'},
    {"help", no_argument, 0, 'h'},
    {"verify", no_argument, 0, O_VERIFY},
    {"dump-after", required_argument, 0, O_DUMP_AFTER},
    {"dump", no_argument, 0, O_DUMP},
    {"cc", required_argument, 0, O_CC},
    {"cflags", required_argument, 0, O_CFLAGS},
    {"json", no_argument, 0, O_JSON},
    {"runs", required_argument, 0, O_RUNS},
    {"rounds", required_argument, 0, O_ROUNDS},
    {"dot", required_argument, 0, O_DOT},
    {"csv", required_argument, 0, O_CSV},
    {"svg", required_argument, 0, O_SVG},
    {"seed", required_argument, 0, O_SEED},
    {"profile", no_argument, 0, O_PROFILE},
    {"max-tensor-bytes", required_argument, 0, O_MAX_TENSOR},
    {"schedule", no_argument, 0, O_SCHEDULE},
    {"no-peer", no_argument, 0, O_NO_PEER},
    {"threads", required_argument, 0, O_THREADS},
    {"shape", required_argument, 0, O_SHAPE},
    {"outputs", required_argument, 0, O_OUTPUTS},
    {"static-workspace", no_argument, 0, O_STATIC_WS},
    {"max-workspace", required_argument, 0, O_MAX_WS},
    {"max-weights", required_argument, 0, O_MAX_WEIGHTS},
    {"no-size", no_argument, 0, O_NO_SIZE},
    {"no-cache", no_argument, 0, O_NO_CACHE},
    {"precision", required_argument, 0, O_PRECISION},
    {"calibrate", required_argument, 0, O_CALIBRATE},
    {"method", required_argument, 0, O_METHOD},
    {"percentile", required_argument, 0, O_PERCENTILE},
    {"exclude", required_argument, 0, O_EXCLUDE},
    {"calibrate-count", required_argument, 0, O_CALIB_COUNT},
    {"quiet", no_argument, 0, O_QUIET},
    {"eval", required_argument, 0, O_EVAL},
    {"io", required_argument, 0, O_IO},
    {0, 0, 0, 0},
};

typedef struct {
  CompileJob job;
  const char *inputs[64];
  int ninputs;
  const char *outputs[64];
  int noutputs;
  const char *freeze[64];
  const char *shapes[64];
  const char *output_names[64]; /* --outputs: each a NAME[,NAME...] list */
  const char *csv, *svg;
  bool reference, json, dump, schedule, no_peer, no_size, no_cache;
  const char *precision;  /* --precision: fp32 (default) or int8 (compare: a list) */
  const char *precisions[2];
  int nprec;
  const char *eval;       /* compare --eval DIR */
  QuantizeOptions quant;  /* --calibrate ...: job.quant points here with --precision int8 */
  const char *exclude[64];
  Limits limits;        /* job.limits points here once an option changes one */
} Args;

/* Run by CMake's cardinal_add_model (CARDINAL_CMAKE=1 in the environment):
 * messages name its arguments (SHAPES, OUTPUTS), not the options. */
static bool cmake_names;

static int usage_error(const char *cmd, const char *msg, const char *arg) {
  fprintf(stderr, "cardinal %s: %s%s%s\nTry 'cardinal %s --help'.\n", cmd, msg,
          arg ? " " : "", arg ? arg : "", cmd);
  return 2;
}

/* Default C name: the model file's base name, made an identifier. */
static char *default_name(const char *model) {
  const char *b = strrchr(model, '/');
  b = b ? b + 1 : model;
  static char s[72]; /* one per process: no allocation to free */
  memset(s, 0, sizeof s);
  size_t k = 0;
  if (*b >= '0' && *b <= '9')
    s[k++] = 'm', s[k++] = '_';
  for (const char *p = b; *p && *p != '.' && k < 60; p++) {
    char c = *p;
    if (c >= 'A' && c <= 'Z')
      c = (char)(c - 'A' + 'a');
    s[k++] = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) ? c : '_';
  }
  if (!k)
    strcpy(s, "model");
  if (cd_is_reserved_name(s)) { /* cardinal_rt.onnx: m_cardinal_rt */
    memmove(s + 2, s, strlen(s) + 1);
    s[0] = 'm', s[1] = '_';
  }
  return s;
}

/* The options each command takes (long names), as its usage text lists
 * them: any other is refused, not silently ignored. */
static const struct {
  const char *cmd, *options;
} command_options[] = {
    {"compile", "output name target threads passes weights embed-as seed freeze shape outputs static-workspace "
                "max-workspace max-weights max-tensor-bytes verify dump-after dot precision calibrate method percentile exclude calibrate-count quiet io help"},
    {"build", "output name target threads passes weights embed-as seed freeze shape outputs static-workspace "
              "max-workspace max-weights max-tensor-bytes verify dump-after dot cc cflags precision calibrate method percentile exclude calibrate-count quiet io help"},
    {"run", "input output reference target threads passes freeze shape outputs weights embed-as seed runs "
            "profile no-cache dot verify dump-after max-tensor-bytes cc cflags precision calibrate method percentile exclude calibrate-count quiet io help"},
    {"quantize", "output freeze shape outputs weights seed calibrate method percentile exclude "
                 "calibrate-count quiet max-tensor-bytes verify help"},
    {"inspect", "name passes freeze shape outputs weights seed json dump-after dump schedule target threads "
                "static-workspace max-workspace max-weights no-size no-cache dot verify "
                "max-tensor-bytes cc cflags precision calibrate method percentile exclude "
                "calibrate-count quiet io help"},
    {"compare", "runs target threads input shape outputs csv json svg freeze weights seed cc cflags "
                "precision calibrate method percentile exclude calibrate-count quiet eval help"},
    {"bench", "runs rounds target threads passes input shape outputs no-peer freeze weights seed cc cflags "
              "verify help"},
    {"dump-weights", "output weights seed help"},
};

static bool option_allowed(const char *cmd, const char *name) {
  for (size_t i = 0; i < sizeof command_options / sizeof command_options[0]; i++)
    if (!strcmp(command_options[i].cmd, cmd)) {
      size_t n = strlen(name);
      for (const char *p = command_options[i].options; (p = strstr(p, name)); p += n)
        if ((p == command_options[i].options || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
          return true;
      return false;
    }
  return true;
}

/* An unknown option: the command's nearest one, if any is close. */
static int unknown_option(const char *cmd, const char *arg) {
  const char *name = arg;
  while (*name == '-')
    name++;
  char word[64];
  snprintf(word, sizeof word, "%.*s", (int)strcspn(name, "="), name);
  Suggest sg;
  suggest_init(&sg, word);
  for (const struct option *o = long_opts; o->name; o++)
    if (option_allowed(cmd, o->name))
      suggest_add(&sg, o->name);
  if (arg[0] == '-' && arg[1] == '-' && suggest_best(&sg)) {
    fprintf(stderr, "cardinal %s: unknown option %s; did you mean --%s?\nTry 'cardinal %s "
            "--help'.\n", cmd, arg, suggest_best(&sg), cmd);
    return 2;
  }
  return usage_error(cmd, "unknown option", arg);
}

/* A byte count: digits, then optionally K, M or G (powers of 1024); -1 if
 * it is not one. */
static int64_t parse_bytes(const char *s) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  int shift = 0;
  if (end == s || errno || *s == '-')
    return -1;
  if (*end == 'K' || *end == 'k')
    shift = 10, end++;
  else if (*end == 'M' || *end == 'm')
    shift = 20, end++;
  else if (*end == 'G' || *end == 'g')
    shift = 30, end++;
  if (*end || v > ((unsigned long long)INT64_MAX >> shift))
    return -1;
  return (int64_t)(v << shift);
}

/* A count from 1 to max: digits only (strtol's own limits included). */
static bool parse_count(const char *s, long max, long *n) {
  char *end;
  errno = 0;
  *n = strtol(s, &end, 10);
  return end != s && !*end && !errno && *n >= 1 && *n <= max;
}

static int parse_args(const char *cmd, int argc, char **argv, Args *a,
                      const char *help) {
  memset(a, 0, sizeof *a);
  a->job.freeze = a->freeze;
  a->job.shapes = a->shapes;
  a->job.output_names = a->output_names;
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":o:n:t:p:w:f:i:O:rh", long_opts, NULL)) != -1) {
    const char *lname = c == 'O' ? "output" : NULL;
    for (const struct option *o = long_opts; o->name && !lname; o++)
      if (o->val == c)
        lname = o->name;
    if (lname && !option_allowed(cmd, lname)) {
      if (!strcmp(lname, "output"))
        fprintf(stderr, "cardinal %s: %s does not take --output (-o): it %s\nTry 'cardinal "
                "%s --help'.\n", cmd, cmd, !strcmp(cmd, "inspect") ? "prints to the terminal; "
                "compile and build write files" : "writes no files", cmd);
      else
        fprintf(stderr, "cardinal %s: %s does not take --%s\nTry 'cardinal %s --help'.\n", cmd,
                cmd, lname, cmd);
      return 2;
    }
    switch (c) {
    case 'o':
      if (!strcmp(cmd, "run")) {
        if (a->noutputs == 64)
          return usage_error(cmd, "too many --output", NULL);
        a->outputs[a->noutputs++] = optarg;
      } else if (!optarg[0]) {
        return usage_error(cmd, "-o needs a folder name", NULL);
      } else
        a->job.out_dir = optarg;
      break;
    case 'O':
      if (a->noutputs == 64)
        return usage_error(cmd, "too many --output", NULL);
      a->outputs[a->noutputs++] = optarg;
      break;
    case 'n': a->job.name = optarg; break;
    case 't': a->job.target = optarg; break;
    case 'p': a->job.passes = optarg; break;
    case 'w': {
      size_t L = strlen(optarg);
      if (L > 12 && !strcmp(optarg + L - 12, ".safetensors")) {
        a->job.params = optarg;
        break;
      }
      if (strcmp(optarg, "embed") && strcmp(optarg, "blob") && strcmp(optarg, "section"))
        return usage_error(cmd, "--weights takes embed, blob, section or FILE.safetensors, not",
                           optarg);
      a->job.weights_blob = !strcmp(optarg, "blob");
      a->job.weights_section = !strcmp(optarg, "section");
      a->job.weights_set = true;
      break;
    }
    case O_SEED: {
      char *end;
      errno = 0;
      unsigned long long v = strtoull(optarg, &end, 10);
      if (*end || !*optarg || optarg[0] < '0' || optarg[0] > '9' || errno)
        return usage_error(cmd, "--seed takes a non-negative integer, not", optarg);
      a->job.seed = v;
      break;
    }
    case 'f':
      if (a->job.nfreeze == 64)
        return usage_error(cmd, "too many --freeze", NULL);
      a->freeze[a->job.nfreeze++] = optarg;
      break;
    case O_STATIC_WS: a->job.static_workspace = true; break;
    case O_NO_SIZE: a->no_size = true; break;
    case O_NO_CACHE: a->no_cache = true; break;
    case O_MAX_WS:
    case O_MAX_WEIGHTS: {
      int64_t n = parse_bytes(optarg);
      if (n <= 0) /* 0 is the library's "no limit": refused, not read as that */
        return usage_error(cmd, c == O_MAX_WS ? "--max-workspace takes a positive byte count "
                                                "(e.g. 65536, 64K, 8M), not"
                                              : "--max-weights takes a positive byte count "
                                                "(e.g. 65536, 64K, 8M), not", optarg);
      *(c == O_MAX_WS ? &a->job.max_workspace : &a->job.max_weights) = n;
      break;
    }
    case O_SHAPE:
      if (a->job.nshapes == 64)
        return usage_error(cmd, "too many --shape", NULL);
      a->shapes[a->job.nshapes++] = optarg;
      break;
    case O_OUTPUTS:
      if (a->job.noutput_names == 64)
        return usage_error(cmd, "too many --outputs", NULL);
      if (!optarg[0])
        return usage_error(cmd, "--outputs takes NAME[,NAME...], the tensors to make the "
                           "model's outputs", NULL);
      a->output_names[a->job.noutput_names++] = optarg;
      break;
    case 'i':
      if (a->ninputs == 64)
        return usage_error(cmd, "too many --input", NULL);
      a->inputs[a->ninputs++] = optarg;
      break;
    case 'r': a->reference = true; break;
    case 'h':
      fputs(help, stdout);
      if (option_allowed(cmd, "passes") || !strcmp(cmd, "compare")) {
        printf("\npasses, in the order they run (all are in 'default'):\n ");
        for (int i = 0; i < pass_count; i++)
          printf(" %s", pass_list[i].name);
        printf("\n");
      }
      exit(0);
    case O_VERIFY: a->job.verify = true; break;
    case O_DUMP_AFTER: a->job.dump_after = optarg; break;
    case O_DUMP: a->dump = true; break;
    case O_SCHEDULE: a->schedule = true; break;
    case O_NO_PEER: a->no_peer = true; break;
    case O_CC: a->job.cc = optarg; break;
    case O_CFLAGS: a->job.cflags = optarg; break;
    case O_JSON: a->json = true; break;
    case O_DOT: a->job.dot = optarg; break;
    case O_PROFILE: a->job.profile = true; break;
    case O_MAX_TENSOR: {
      char *end;
      errno = 0;
      long long v = strtoll(optarg, &end, 10);
      if (*end || !*optarg || errno || v < 1)
        return usage_error(cmd, "--max-tensor-bytes takes a positive byte count, not", optarg);
      a->limits = cd_default_limits;
      a->limits.tensor_bytes = v;
      a->job.limits = &a->limits;
      break;
    }
    case O_CSV: a->csv = optarg; break;
    case O_PRECISION: {
      /* compare: a list, each once (fp32,int8) */
      bool list = !strcmp(cmd, "compare");
      a->nprec = 0;
      for (const char *p = optarg; *p;) {
        size_t n = strcspn(p, ",");
        const char *name = !strncmp(p, "fp32", n) && n == 4 ? "fp32"
                           : !strncmp(p, "int8", n) && n == 4 ? "int8" : NULL;
        if (!name || a->nprec == 2 || (a->nprec && !strcmp(a->precisions[0], name)) ||
            (!list && a->nprec))
          return usage_error(cmd, list ? "--precision takes fp32, int8 or fp32,int8, not"
                                       : "--precision takes fp32 or int8, not", optarg);
        a->precisions[a->nprec++] = name;
        p += n + (p[n] == ',');
      }
      if (!a->nprec)
        return usage_error(cmd, "--precision takes fp32 or int8, not", optarg);
      a->precision = a->precisions[a->nprec - 1];
      if (a->nprec == 2 || !strcmp(a->precisions[0], "int8"))
        a->precision = "int8"; /* some row is int8: calibration needed */
      break;
    }
    case O_EVAL: a->eval = optarg; break;
    case O_IO:
      if (strcmp(optarg, "float") && strcmp(optarg, "quantized"))
        return usage_error(cmd, "--io takes float or quantized, not", optarg);
      a->job.io_quantized = !strcmp(optarg, "quantized");
      break;
    case O_CALIBRATE: a->quant.calibrate = optarg; break;
    case O_METHOD:
      if (strcmp(optarg, "minmax") && strcmp(optarg, "percentile"))
        return usage_error(cmd, "--method takes minmax or percentile, not", optarg);
      a->quant.method = !strcmp(optarg, "percentile") ? CALIB_PERCENTILE : CALIB_MINMAX;
      break;
    case O_PERCENTILE: {
      char *end;
      double p = strtod(optarg, &end);
      if (*end || !*optarg || !(p > 50 && p <= 100))
        return usage_error(cmd, "--percentile takes a number above 50 and at most 100 (e.g. "
                                "99.99), not", optarg);
      a->quant.percentile = p;
      a->quant.method = CALIB_PERCENTILE;
      break;
    }
    case O_EXCLUDE:
      if (a->quant.nexclude == 64)
        return usage_error(cmd, "too many --exclude", NULL);
      a->exclude[a->quant.nexclude++] = optarg;
      break;
    case O_CALIB_COUNT: {
      long n;
      if (!parse_count(optarg, 1000000, &n))
        return usage_error(cmd, "--calibrate-count takes a count from 1 to 1000000, not", optarg);
      a->quant.max_inputs = (int)n;
      break;
    }
    case O_QUIET: a->quant.quiet = true; break;
    case O_EMBED_AS:
      if (!strcmp(optarg, "incbin"))
        a->job.embed_as = EMBED_INCBIN;
      else if (!strcmp(optarg, "c"))
        a->job.embed_as = EMBED_C;
      else if (!strcmp(optarg, "auto"))
        a->job.embed_as = EMBED_AUTO;
      else
        return usage_error(cmd, "--embed-as takes incbin, c or auto, not", optarg);
      break;
    case O_SVG: a->svg = optarg; break;
    case O_THREADS: {
      char *end;
      long n = !strcmp(optarg, "auto") ? sysconf(_SC_NPROCESSORS_ONLN) : strtol(optarg, &end, 10);
      if ((strcmp(optarg, "auto") && *end) || n < 1 || n > CD_MAX_THREADS)
        return usage_error(cmd, "--threads takes a count from 1 to " STR(CD_MAX_THREADS)
                                ", or auto, not", optarg);
      a->job.threads = (int)n;
      break;
    }
    case O_RUNS: {
      long n;
      if (!parse_count(optarg, MAX_RUNS, &n))
        return usage_error(cmd, "--runs takes a count from 1 to " STR(MAX_RUNS) ", not", optarg);
      a->job.runs = (int)n;
      break;
    }
    case O_ROUNDS: {
      long n;
      if (!parse_count(optarg, CD_MAX_ROUNDS, &n))
        return usage_error(cmd, "--rounds takes a count from 1 to " STR(CD_MAX_ROUNDS) ", not",
                           optarg);
      a->job.rounds = (int)n;
      break;
    }
    case ':': return usage_error(cmd, "missing value for", argv[optind - 1]);
    default: return unknown_option(cmd, argv[optind - 1]);
    }
  }
  if (optind >= argc)
    return usage_error(cmd, "no MODEL given", NULL);
  if (optind + 1 < argc)
    return usage_error(cmd, "unexpected argument", argv[optind + 1]);
  a->job.model = argv[optind];
  char why[300];
  if (a->job.name && !cd_name_check(a->job.name, why, sizeof why)) {
    fprintf(stderr, "cardinal %s: --name %s: the name is %s; choose another --name\n", cmd,
            a->job.name, why);
    return 2;
  }
  if (!a->job.name) {
    /* Where NAME only names files in a temporary folder (run, compare,
     * bench), a file name that makes no usable name gets "model". */
    a->job.name = default_name(a->job.model);
    if (!cd_name_check(a->job.name, why, sizeof why)) {
      if (!option_allowed(cmd, "name")) {
        a->job.name = "model";
      } else {
        fprintf(stderr, "cardinal %s: the name '%s', made from the file name of %s, is %s: "
                "pass --name NAME\n", cmd, a->job.name, a->job.model, why);
        return 2;
      }
    }
  }
  a->quant.exclude = a->exclude;
  if (a->quant.method == CALIB_PERCENTILE && a->quant.percentile == 0)
    a->quant.percentile = 99.99;
  bool int8 = a->precision && !strcmp(a->precision, "int8");
  if (!strcmp(cmd, "quantize") || int8) {
    if (!a->quant.calibrate)
      return usage_error(cmd, !strcmp(cmd, "quantize") ? "needs --calibrate DIR (a folder of "
                         ".npy inputs)" : "--precision int8 needs --calibrate DIR (a folder "
                         "of .npy inputs)", NULL);
    if (strcmp(cmd, "compare") != 0) { /* compare quantizes the rows that ask */
      a->quant.report = a->json ? stderr : stdout; /* not inside the JSON */
      a->job.quant = &a->quant;
    }
  } else if (a->quant.calibrate || a->quant.nexclude || a->quant.max_inputs) {
    return usage_error(cmd, "--calibrate, --exclude and --calibrate-count go with "
                       "--precision int8", NULL);
  }
  if (a->job.embed_as != EMBED_AUTO && a->job.weights_blob)
    return usage_error(cmd, "--embed-as is the form of embedded weights (--weights embed or "
                       "section), not of", "--weights blob");
  if (a->job.target && !target_find(a->job.target)) {
    char known[160];
    snprintf(known, sizeof known, "unknown --target (available: %s):", target_names());
    return usage_error(cmd, known, a->job.target);
  }
  return 0;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmd_compile(int argc, char **argv, bool build) {
  const char *cmd = build ? "build" : "compile";
  char help[8192]; /* the compile text is about 4 KiB */
  snprintf(help, sizeof help, usage_compile, cmd,
           build ? "Compiles MODEL to C and builds DIR/libNAME.a (generated code + runtime;\n"
                   "embedded weights assembled from DIR/NAME_weights.bin where the C compiler\n"
                   "can: --embed-as), then prints the memory it takes (weight, workspace and\n"
                   "code bytes, and the stack NAME_run needs) and the line that links it:\n"
                   "cc app.c -IDIR DIR/libNAME.a -lm\n"
                 : "Compiles MODEL to C: DIR/NAME.h, DIR/NAME.c, DIR/NAME_weights.c (or\n"
                   "DIR/NAME_weights.S and DIR/NAME_weights.bin with --embed-as incbin, or\n"
                   "DIR/NAME.weights) and the runtime (cardinal_rt.h, cardinal_rt.c).\n",
           build ? usage_build_extra : "");
  Args a;
  int rc = parse_args(cmd, argc, argv, &a, help);
  if (rc)
    return rc;
  if (!a.job.out_dir)
    return usage_error(cmd, "-o DIR is required", NULL);
  Diag d = {.cmake = cmake_names, .file = a.job.model};
  double t0 = now_ms();
  SizeReport report;
  a.job.report = &report;
  /* Interrupted, the run removes its staging folder (DIR stays as it was). */
  signal(SIGINT, cd_staging_signal);
  signal(SIGTERM, cd_staging_signal);
  signal(SIGHUP, cd_staging_signal);
  bool ok = build ? cd_build(&a.job, &d) : cd_compile(&a.job, NULL, &d);
  sb_free(&d.log);
  if (!ok)
    return 1;
  fprintf(stderr, "cardinal: %s %s -> %s/%s%s (%.1f s)\n", build ? "built" : "compiled",
          a.job.model, a.job.out_dir, build ? "lib" : "", build ? a.job.name : a.job.name,
          (now_ms() - t0) / 1e3);
  if (!build) {
    fprintf(stderr, "cardinal: weights %lld bytes, workspace %lld bytes\n",
            (long long)report.weight_bytes, (long long)report.workspace_bytes);
    return 0;
  }
  report_print(stderr, "cardinal: ", &report);
  /* The whole link line, as the library was built: compiler, include
   * folder, library, system libraries. */
  fprintf(stderr, "cardinal: link with: %s app.c -I%s %s/lib%s.a -lm%s\n",
          a.job.cc ? a.job.cc : "cc", a.job.out_dir, a.job.out_dir, a.job.name,
          a.job.threads > 1 ? " -lpthread" : "");
  if (a.job.weights_blob)
    fprintf(stderr, "cardinal: and at run time pass the bytes of %s/%s.weights (64-byte "
                    "aligned, e.g. from cd_load_file) to %s_set_weights\n",
            a.job.out_dir, a.job.name, a.job.name);
  return 0;
}

static void print_output(const Value *v, const float *y, int k) {
  int64_t n = value_numel(v);
  cd_print(stdout, "output %d '%s' %s[", k, v->name, dtype_name(v->dtype));
  for (int i = 0; i < v->rank; i++)
    printf("%s%lld", i ? "," : "", (long long)v->dims[i]);
  printf("]:");
  for (int64_t i = 0; i < n && i < 8; i++)
    printf(" %.6g", y[i]);
  if (n > 8)
    printf(" ...");
  int64_t am = 0;
  for (int64_t i = 1; i < n; i++)
    if (y[i] > y[am])
      am = i;
  printf("\n  arg-max %lld (%.6g)\n", (long long)am, n ? y[am] : 0.0);
}

typedef struct {
  double ms;      /* thread 0's share, the kernel's time */
  long long macs;
  double slowest; /* the slowest thread's share */
  char name[200];
} ProfRow;

static int cmp_prof(const void *a, const void *b) {
  double x = ((const ProfRow *)a)->ms, y = ((const ProfRow *)b)->ms;
  return x > y ? -1 : x < y;
}

/* The per-kernel profile, slowest first, with each kernel's share and
 * arithmetic rate (2 flops per multiply-add). */
static void print_profile(const char *text) {
  int cap = 64, n = 0;
  ProfRow *r = malloc(sizeof(ProfRow) * (size_t)cap);
  CD_ASSERT(r);
  double total = 0, peak = 0, peak8 = 0, slowest = 0, wait[CD_MAX_THREADS] = {0};
  int cores = 1;
  for (const char *p = text; *p;) {
    const char *e = strchr(p, '\n');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (n == cap) {
      r = realloc(r, sizeof(ProfRow) * (size_t)(cap *= 2));
      CD_ASSERT(r);
    }
    char line[400];
    snprintf(line, sizeof line, "%.*s", (int)(len < 399 ? len : 399), p);
    int off = 0;
    if (!strncmp(line, "peak8 ", 6) ? sscanf(line, "peak8 %lf", &peak8) == 1
                                      : sscanf(line, "peak %lf %d", &peak, &cores) >= 1) {
      p = e ? e + 1 : p + len;
      continue;
    }
    int th;
    double w;
    if (sscanf(line, "wait %d %lf", &th, &w) == 2) {
      if (th >= 0 && th < CD_MAX_THREADS)
        wait[th] = w;
    } else if (sscanf(line, "%lf %lld %lf %n", &r[n].ms, &r[n].macs, &r[n].slowest, &off) == 3) {
      snprintf(r[n].name, sizeof r[n].name, "%s", line + off);
      total += r[n].ms;
      slowest += r[n].slowest;
      n++;
    }
    p = e ? e + 1 : p + len;
  }
  qsort(r, (size_t)n, sizeof(ProfRow), cmp_prof);
  /* With threads, thread 0 times its share: the whole layer's work in that
   * time, against the peak of all the cores. */
  if (cores > 1)
    peak *= cores, peak8 *= cores;
  if (cores > 1)
    printf("%10s %6s %8s %6s %8s  %s\n", "ms/run", "share", "GFLOP/s", "%peak", "slowest", "kernel");
  else
    printf("%10s %6s %8s %6s  %s\n", "ms/run", "share", "GFLOP/s", "%peak", "kernel");
  double macs = 0, macs8 = 0, ms8 = 0;
  for (int i = 0; i < n; i++) {
    double gf = r[i].ms > 0 ? 2.0 * (double)r[i].macs / (r[i].ms * 1e6) : 0.0;
    /* the integer convs and matmuls against the 8-bit dot peak */
    bool int8 = strstr(r[i].name, " QLinearConv ") || strstr(r[i].name, " ConvInteger ") ||
                strstr(r[i].name, " QLinearMatMul ") || strstr(r[i].name, " MatMulInteger ");
    double pk = int8 && peak8 > 0 ? peak8 : peak;
    if (int8)
      macs8 += (double)r[i].macs, ms8 += r[i].ms;
    else
      macs += (double)r[i].macs;
    char slow[16] = "";
    if (cores > 1)
      snprintf(slow, sizeof slow, " %8.3f", r[i].slowest);
    cd_print(stdout, "%10.3f %5.1f%% %8.2f %5.1f%%%s%s %s\n", r[i].ms,
             total > 0 ? 100 * r[i].ms / total : 0, gf, pk > 0 ? 100 * gf / pk : 0.0,
             int8 && peak8 > 0 ? "*" : " ", slow, r[i].name); /* the kernel's node name, from the model */
  }
  double gf = total - ms8 > 0 ? 2.0 * macs / ((total - ms8) * 1e6) : 0.0;
  char where[32] = "one core";
  if (cores > 1)
    snprintf(where, sizeof where, "%d cores", cores);
  if (macs8 == 0 || peak8 <= 0) {
    gf = total > 0 ? 2.0 * (macs + macs8) / (total * 1e6) : 0.0;
    printf("%10.3f        in %d kernels: %.2f GFLOP/s, %.1f%% of the %.1f GFLOP/s FMA peak "
           "measured on %s\n", total, n, gf, peak > 0 ? 100 * gf / peak : 0.0, peak, where);
  } else {
    double g8 = ms8 > 0 ? 2.0 * macs8 / (ms8 * 1e6) : 0.0;
    printf("%10.3f        in %d kernels; the integer convs and matmuls (*) %.3f ms: %.2f GOP/s, "
           "%.1f%% of the %.1f GOP/s 8-bit dot-product peak measured on %s", total, n, ms8, g8,
           100 * g8 / peak8, peak8, where);
    if (macs > 0)
      printf("; the others %.2f GFLOP/s, %.1f%% of the %.1f GFLOP/s FMA peak", gf,
             100 * gf / peak, peak);
    printf("\n");
  }
  if (cores > 1) {
    /* ms/run is thread 0's share; a layer takes as long as its slowest
     * share, and a thread that finished first waits at the next barrier. */
    printf("on %d threads: the slowest thread's shares add up to %.3f ms a run (thread 0's to "
           "%.3f); time waited at barriers:", cores, slowest, total);
    for (int t = 0; t < cores && t < CD_MAX_THREADS; t++)
      printf("%s thread %d %.3f ms", t ? "," : "", t, wait[t]);
    printf("\n");
  }
  free(r);
}

/* Whether a tensor file has a shape of its own (.npy, .pb), not only a
 * count (raw float32). */
static bool has_shape(const char *path) {
  size_t L = strlen(path);
  return (L >= 4 && !strcmp(path + L - 4, ".npy")) || (L >= 3 && !strcmp(path + L - 3, ".pb"));
}

/* Errors are reported through the Diag, as in the other commands, so each
 * is one line starting with the model's path; messages about an input or
 * output file name that file next. */
static int cmd_run(int argc, char **argv) {
  Args a;
  int rc = parse_args("run", argc, argv, &a, usage_run);
  if (rc)
    return rc;
  /* Nothing large to compile: the weights go in a blob the program reads
   * (unless --weights says otherwise), and a build of the same code is
   * reused from the cache. */
  if (!a.job.weights_set)
    a.job.weights_blob = true;
  Diag d = {.cmake = cmake_names, .file = a.job.model};
  /* The files first: their shapes fix the dims the model leaves open (a
   * batch of 4 compiles batch 4), and are then checked against it. */
  HostTensor *ts = calloc((size_t)a.ninputs + 1, sizeof(HostTensor));
  HostTensor *shapes = calloc((size_t)a.ninputs + 1, sizeof(HostTensor));
  CD_ASSERT(ts && shapes);
  bool ok = true;
  for (int k = 0; k < a.ninputs && ok; k++) {
    ok = tensor_read(a.inputs[k], &ts[k], &d);
    shapes[k].rank = ok && has_shape(a.inputs[k]) ? ts[k].rank : -1;
    memcpy(shapes[k].dims, ts[k].dims, sizeof ts[k].dims);
  }
  a.job.input_shapes = shapes;
  a.job.ninput_shapes = a.ninputs;
  char *cache = ok && !a.no_cache ? cache_root(&d) : NULL;
  a.job.cache_dir = cache;
  Graph *g = ok ? cd_load_model(&a.job, NULL, NULL, &d) : NULL;
  if (!g) {
    for (int k = 0; k < a.ninputs; k++)
      tensor_free(&ts[k]);
    free(ts);
    free(shapes);
    free(cache);
    sb_free(&d.log);
    return 1;
  }
  if (a.ninputs != g->ninputs) {
    StrBuf names = {0};
    for (int k = 0; k < g->ninputs; k++)
      sb_printf(&names, "%s'%s'", k ? ", " : "", g->values[g->inputs[k]].name);
    diag_error(&d, "the model has %d inputs, %d --input given (one per input, in order: %s)",
               g->ninputs, a.ninputs, names.buf ? names.buf : "none");
    sb_free(&names);
    sb_free(&d.log);
    for (int k = 0; k < a.ninputs; k++)
      tensor_free(&ts[k]);
    free(ts);
    free(shapes);
    free(cache);
    graph_free(g);
    return 2;
  }
  const float **ins = calloc((size_t)g->ninputs + 1, sizeof(float *));
  float **outs = calloc((size_t)g->noutputs + 1, sizeof(float *));
  CD_ASSERT(ins && outs);
  for (int k = 0; k < g->ninputs && ok; k++) {
    const Value *v = &g->values[g->inputs[k]];
    /* A .npy or .pb file's shape is the input's, not only its count (an
     * NHWC array for an NCHW input holds as many values) */
    bool same = shapes[k].rank == v->rank;
    for (int i = 0; same && i < v->rank; i++)
      same = shapes[k].dims[i] == v->dims[i];
    if (shapes[k].rank >= 0 && !same) {
      StrBuf want = {0}, got = {0};
      for (int i = 0; i < v->rank; i++)
        sb_printf(&want, "%s%lld", i ? "," : "", (long long)v->dims[i]);
      for (int i = 0; i < shapes[k].rank; i++)
        sb_printf(&got, "%s%lld", i ? "," : "", (long long)shapes[k].dims[i]);
      diag_error(&d, "%s: input '%s' is [%s], the file holds [%s]%s", a.inputs[k], v->name,
                 want.buf ? want.buf : "", got.buf ? got.buf : "",
                 tensor_numel(&ts[k]) == value_numel(v)
                     ? " (as many values, in another shape: reshape or transpose the array)"
                     : "");
      sb_free(&want);
      sb_free(&got);
      ok = false;
      break;
    }
    int64_t lo, hi;
    bool as_float = dtype_io_as_float(v->dtype, &lo, &hi); /* an integer input, as floats */
    const QuantParams *qp = g->io_quantized ? &g->input_q[k] : NULL;
    if (ok && qp && qp->n == 1 && ts[k].dtype == DT_FLOAT &&
        tensor_numel(&ts[k]) == value_numel(v)) {
      /* --io quantized: the model's float input, quantized as the caller
       * would, at the header's scale and zero point */
      float *x = ts[k].data;
      for (int64_t i = 0; i < tensor_numel(&ts[k]); i++)
        x[i] = (float)cd_quantize(x[i], qp->scale[0], qp->zero[0], (int32_t)lo, (int32_t)hi);
    } else if (ok && qp && qp->n == 1 && ts[k].dtype != v->dtype) {
      diag_error(&d, "%s: input '%s' is passed quantized (--io quantized, %s): give float32 "
                 "values, which are quantized at its scale %.9g and zero point %d, or the %s "
                 "values themselves; the file holds %s", a.inputs[k], v->name,
                 dtype_name(v->dtype), (double)qp->scale[0], (int)qp->zero[0],
                 dtype_name(v->dtype), dtype_name(ts[k].dtype));
      ok = false;
    }
    if (ok && v->dtype != DT_FLOAT && !as_float) { /* the interpreter would read the floats as v's type */
      diag_error(&d, "%s: input '%s' is %s; only float32 inputs are fed from files, and "
                 "uint8, int8 and int32 ones as float values (make it a constant with "
                 "--freeze %s=FILE)", a.inputs[k], v->name, dtype_name(v->dtype), v->name);
      ok = false;
    }
    if (ok && as_float) /* a file of the input's own integers is read as their values */
      tensor_as_float(&ts[k]);
    if (ok && (ts[k].dtype != DT_FLOAT || tensor_numel(&ts[k]) != value_numel(v))) {
      diag_error(&d, "%s: input '%s' needs %lld float32 values, the file holds %lld %s",
                 a.inputs[k], v->name, (long long)value_numel(v),
                 (long long)tensor_numel(&ts[k]), dtype_name(ts[k].dtype));
      ok = false;
    }
    ins[k] = ok ? ts[k].data : NULL;
  }
  if (ok) {
    double t0 = now_ms();
    if (a.reference) {
      ok = interp_run(g, ins, outs, &d);
      if (ok)
        fprintf(stderr, "cardinal: reference interpreter: %.1f ms\n", now_ms() - t0);
    } else {
      ok = cd_run_generated(&a.job, g, ins, outs, &d);
      if (ok && a.job.profile_text) {
        print_profile(a.job.profile_text);
        free(a.job.profile_text);
      }
      if (ok)
        fprintf(stderr, "cardinal: generated C: %.3f ms median of %d run(s) "
                        "(min %.3f, max %.3f); compile+build %.1f s%s\n",
                a.job.ms_median, a.job.runs ? a.job.runs : 1, a.job.ms_min,
                a.job.ms_max, (now_ms() - t0) / 1e3,
                a.job.cache_hit ? " (the build was cached)" : "");
    }
  }
  for (int k = 0; ok && k < g->noutputs; k++) {
    const Value *v = &g->values[g->outputs[k]];
    const QuantParams *qp = g->io_quantized ? &g->output_q[k] : NULL;
    if (qp && qp->n == 1) { /* --io quantized: shown and written dequantized */
      for (int64_t i = 0; i < value_numel(v); i++)
        outs[k][i] = cd_dequantize((int32_t)outs[k][i], qp->scale[0], qp->zero[0]);
    }
    if (k < a.noutputs) {
      const char *p = a.outputs[k];
      size_t L = strlen(p);
      bool npy = L > 4 && !strcmp(p + L - 4, ".npy");
      bool w;
      errno = 0;
      if (npy)
        w = tensor_write_npy(p, outs[k], v->rank, v->dims);
      else {
        FILE *f = fopen(p, "wb");
        w = f && fwrite(outs[k], 4, (size_t)value_numel(v), f) == (size_t)value_numel(v);
        if (f)
          w = (fclose(f) == 0) && w;
      }
      if (!w) {
        diag_error(&d, "%s: cannot write output '%s'%s%s", p, v->name, errno ? ": " : "",
                   errno ? strerror(errno) : "");
        ok = false;
      }
    } else {
      print_output(v, outs[k], k);
      if (qp && qp->n == 1)
        printf("  (%s at the API, --io quantized: the values above are dequantized, scale "
               "%.9g, zero point %d)\n", dtype_name(v->dtype), (double)qp->scale[0],
               (int)qp->zero[0]);
    }
  }
  for (int k = 0; k < g->ninputs; k++)
    tensor_free(&ts[k]);
  for (int k = 0; k < g->noutputs; k++)
    free(outs[k]);
  free(ts);
  free(shapes);
  free(ins);
  free(outs);
  graph_free(g);
  sb_free(&d.log);
  free(cache);
  return ok ? 0 : 1;
}

/* A JSON string; control characters (C0, DEL, and C1 as UTF-8 spells
 * them) as \u escapes, so no name reaches a terminal raw. */
static void json_string(const char *s) {
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      printf("\\%c", *p);
    else if (*p < 32 || *p == 127)
      printf("\\u%04x", *p);
    else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
      printf("\\u%04x", *++p);
    else
      putchar(*p);
  }
  putchar('"');
}

/* Graph input or output k, for inspect: name, type, shape, layout and how
 * each symbolic dim got its value. */
static void print_io(const Graph *g, bool out, int k, bool json) {
  int v = out ? g->outputs[k] : g->inputs[k];
  const Value *val = &g->values[v];
  const QuantParams *qp = !g->io_quantized ? NULL : out ? &g->output_q[k] : &g->input_q[k];
  if (json) {
    printf("%s\n    {\"name\": ", k ? "," : "");
    json_string(val->name);
    printf(", \"dtype\": \"%s\", \"shape\": [", dtype_name(val->dtype));
    for (int i = 0; i < val->rank; i++)
      printf("%s%lld", i ? ", " : "", (long long)val->dims[i]);
    printf("], \"elements\": %lld, \"layout\": \"%s\", ", (long long)value_numel(val),
           io_layout_name(val));
    if (qp && qp->n == 1) /* --io quantized */
      printf("\"scale\": %.9g, \"zero_point\": %d, ", (double)qp->scale[0], (int)qp->zero[0]);
    printf("\"symbolic\": [");
  } else {
    cd_print(stdout, "%-6s %-3d '%s' %s[", out ? "output" : "input", k, val->name,
             dtype_name(val->dtype));
    for (int i = 0; i < val->rank; i++)
      printf("%s%lld", i ? "," : "", (long long)val->dims[i]);
    printf("] %s", io_layout_name(val));
    if (qp && qp->n == 1)
      printf(" quantized (--io quantized): scale %.9g, zero point %d", (double)qp->scale[0],
             (int)qp->zero[0]);
  }
  int n = 0;
  for (int s = 0; s < g->nsymdims; s++) {
    const SymbolicDim *sd = &g->symdims[s];
    if (sd->value != v)
      continue;
    if (json) {
      printf("%s{\"dim\": %d, \"name\": ", n ? ", " : "", sd->dim);
      json_string(sd->param);
      printf(", \"value\": %lld, \"from\": \"%s\"}", (long long)val->dims[sd->dim],
             sd->by_shape ? "--shape" : "default");
    } else
      cd_print(stdout, "%s dim %d%s%s%s %s", n ? "," : " (symbolic:", sd->dim,
               *sd->param ? " '" : "", sd->param, *sd->param ? "'" : "",
               sd->by_shape ? "from --shape" : "batch, 1");
    n++;
  }
  if (json)
    printf("]}");
  else
    printf("%s\n", n ? ")" : "");
}

/*
 * inspect on a model with open dims --shape leaves open (a height, a
 * width): no shapes to infer, so no parameters, MACs or memory; what the
 * file declares is shown instead -- the inputs with their symbolic dims,
 * the outputs' names, the nodes per op -- and the --shape that fixes the
 * rest.  False if the model has no such dim (another error: the caller
 * prints it).
 */
static bool inspect_declared(const Args *a) {
  Diag d = {.cmake = cmake_names, .file = a->job.model, .quiet = true};
  Graph *g = cd_load_declared(&a->job, &d);
  sb_free(&d.log);
  int open = 0;
  for (int s = 0; g && s < g->nsymdims; s++)
    open += !g->symdims[s].by_shape && g->symdims[s].dim > 0 &&
            g->values[g->symdims[s].value].is_input;
  if (!open) {
    graph_free(g);
    return false;
  }
  if (a->json) {
    printf("{\n  \"model\": ");
    json_string(a->job.model);
    printf(",\n  \"inputs\": [");
  } else
    cd_print(stdout, "model       %s\n", a->job.model);
  for (int k = 0; k < g->ninputs; k++) {
    const Value *v = &g->values[g->inputs[k]];
    if (a->json) {
      printf("%s\n    {\"name\": ", k ? "," : "");
      json_string(v->name);
      printf(", \"dtype\": \"%s\", \"shape\": [", dtype_name(v->dtype));
    } else
      cd_print(stdout, "input  %-3d '%s' %s[", k, v->name, dtype_name(v->dtype));
    for (int i = 0; i < v->rank; i++) {
      const SymbolicDim *sd = NULL;
      for (int s = 0; s < g->nsymdims; s++)
        if (g->symdims[s].value == g->inputs[k] && g->symdims[s].dim == i &&
            !g->symdims[s].by_shape)
          sd = &g->symdims[s];
      printf("%s", i ? (a->json ? ", " : ",") : "");
      if (sd && a->json)
        json_string(*sd->param ? sd->param : "?");
      else if (sd)
        cd_print(stdout, "%s", *sd->param ? sd->param : "?");
      else
        printf("%lld", (long long)v->dims[i]);
    }
    if (a->json) {
      char *hint = cd_shape_hint(g, g->inputs[k], NULL);
      printf("], \"shape_option\": ");
      json_string(hint);
      printf("}");
      free(hint);
    } else
      printf("]\n");
  }
  printf(a->json ? "\n  ],\n  \"outputs\": [" : "");
  for (int k = 0; k < g->noutputs; k++) {
    if (a->json) {
      printf("%s\n    {\"name\": ", k ? "," : "");
      json_string(g->values[g->outputs[k]].name);
      printf("}");
    } else
      cd_print(stdout, "output %-3d '%s' (its shape follows from the inputs')\n", k,
               g->values[g->outputs[k]].name);
  }
  /* nodes per op type, as loaded (names as written, first seen first) */
  int *first = calloc((size_t)g->nnodes + 1, sizeof(int)), nkinds = 0;
  int *count = calloc((size_t)g->nnodes + 1, sizeof(int));
  CD_ASSERT(first && count);
  for (int i = 0; i < g->nnodes; i++) {
    int r;
    for (r = 0; r < nkinds && strcmp(g->nodes[first[r]].op_type, g->nodes[i].op_type); r++)
      ;
    if (r == nkinds)
      first[nkinds++] = i;
    count[r]++;
  }
  if (a->json)
    printf("\n  ],\n  \"nodes\": %d,\n  \"ops\": {", g->nnodes);
  else
    printf("nodes       %d (as in the file)\n", g->nnodes);
  for (int r = 0; r < nkinds; r++) {
    if (a->json) {
      printf("%s\n    ", r ? "," : "");
      json_string(g->nodes[first[r]].op_type);
      printf(": %d", count[r]);
    } else
      cd_print(stdout, "  %-18s %4d\n", g->nodes[first[r]].op_type, count[r]);
  }
  free(first);
  free(count);
  StrBuf opts = {0};
  for (int k = 0; k < g->ninputs; k++) {
    bool has = false;
    for (int s = 0; s < g->nsymdims; s++)
      has |= g->symdims[s].value == g->inputs[k] && !g->symdims[s].by_shape &&
             g->symdims[s].dim > 0;
    char *hint = has ? cd_shape_hint(g, g->inputs[k], NULL) : NULL;
    if (hint)
      sb_printf(&opts, "%s%s", opts.len ? " " : "", hint);
    free(hint);
  }
  if (a->json) {
    printf("\n  },\n  \"needs\": ");
    json_string(opts.buf);
    printf("\n}\n");
  } else
    cd_print(stdout, "shapes      symbolic: the shapes, parameters, MACs and memory need them "
             "fixed, with\n            %s\n", opts.buf);
  sb_free(&opts);
  graph_free(g);
  return true;
}

static int cmd_inspect(int argc, char **argv) {
  Args a;
  int rc = parse_args("inspect", argc, argv, &a, usage_inspect);
  if (rc)
    return rc;
  /* Quiet until the model has loaded: a model with open dims is shown as
   * declared (inspect_declared), not refused. */
  Diag d = {.cmake = cmake_names, .file = a.job.model, .quiet = true};
  PassStats stats[CD_MAX_PASSES];
  int nstats = 0;
  Graph *g = cd_load_model(&a.job, stats, &nstats, &d);
  if (!g && inspect_declared(&a)) {
    sb_free(&d.log);
    return 0;
  }
  if (d.log.buf)
    fputs(d.log.buf, stderr);
  d.quiet = false;
  if (!g) {
    sb_free(&d.log);
    return 1;
  }
  Plan plan;
  plan_build(g, &plan, &d);
  GraphStats gs;
  graph_stats(g, &plan, &gs);
  /* Code and stack: NAME.c and the runtime compiled as `build` would. */
  SizeReport size;
  memset(&size, 0, sizeof size);
  size.code_bytes = size.stack_bytes = -1;
  Diag sd = {.file = a.job.model, .quiet = true};
  char *cache = a.no_cache || a.no_size ? NULL : cache_root(&d);
  a.job.cache_dir = cache;
  bool measured = !a.no_size && cd_measure(&a.job, g, &size, &sd);
  free(cache);
  if (!a.no_size && !measured)
    fprintf(stderr, "cardinal: could not build the code to measure it: %s",
            sd.log.buf ? sd.log.buf : "\n");
  sb_free(&sd.log);
  const int *counts = gs.counts;
  int64_t macs = gs.macs, params = gs.params;
  if (a.dump)
    ir_dump(g, stdout);
  if (a.json) {
    printf("{\n  \"model\": ");
    json_string(a.job.model);
    printf(",\n  \"inputs\": [");
    for (int k = 0; k < g->ninputs; k++)
      print_io(g, false, k, true);
    printf("\n  ],\n  \"outputs\": [");
    for (int k = 0; k < g->noutputs; k++)
      print_io(g, true, k, true);
    printf("\n  ],\n  \"nodes\": %d,\n  \"ops\": {", g->nnodes);
    bool first = true;
    for (int i = 0; i < OP_COUNT; i++)
      if (counts[i]) {
        printf("%s\n    \"%s\": %d", first ? "" : ",", op_table[i].name, counts[i]);
        first = false;
      }
    printf("\n  },\n  \"source_parameters\": %lld,\n  \"parameters\": %lld,\n  \"macs\": %lld,\n"
           "  \"weight_bytes\": %lld,\n  \"workspace_bytes\": %lld,\n"
           "  \"workspace_lower_bound\": %lld,\n",
           (long long)g->source_params, (long long)params, (long long)macs,
           (long long)plan.weight_size, (long long)plan.ws_size, (long long)plan.ws_lower_bound);
    if (size.code_bytes >= 0)
      printf("  \"code_bytes\": %lld,\n  \"runtime_code_bytes\": %lld,\n"
             "  \"constant_bytes\": %lld,\n", (long long)size.code_bytes,
             (long long)size.runtime_code_bytes, (long long)size.rodata_bytes);
    else
      printf("  \"code_bytes\": null,\n");
    if (size.stack_bytes >= 0)
      printf("  \"stack_bytes\": %lld,\n  \"stack_is_lower_bound\": %s,\n",
             (long long)size.stack_bytes, size.stack_dynamic ? "true" : "false");
    else
      printf("  \"stack_bytes\": null,\n");
    printf("  \"passes\": [");
    for (int i = 0; i < nstats; i++) {
      printf("%s\n    {\"name\": \"%s\", \"nodes_before\": %d, \"nodes_after\": %d, "
             "\"changes\": %d, \"what\": ",
             i ? "," : "", stats[i].name, stats[i].nodes_before, stats[i].nodes_after,
             stats[i].changes);
      json_string(stats[i].what);
      printf(", \"ms\": %.3f}", stats[i].ms);
    }
    printf("\n  ],\n  \"target\": \"%s\",\n  \"threads\": %d,\n  \"schedule\": [",
           g->target->name, g->threads);
    for (int i = 0; i < g->nnodes; i++) {
      const Node *n = &g->nodes[i];
      const Schedule *s = &n->sched;
      char lay[32];
      printf("%s\n    {\"node\": %d, \"op\": \"%s\", \"name\": ", i ? "," : "", i, n->op_type);
      json_string(n->name);
      printf(", \"kernel\": \"%s\", \"family\": \"%s\", \"tile_c\": %d, \"tile_r\": %d, "
             "\"tile_p\": %d, "
             "\"kc\": %lld, \"order\": \"%s\", \"threads\": %d, \"split\": \"%s\", "
             "\"units\": %lld, \"imbalance\": %.3f, \"claim_chunk\": %lld, \"layout\": \"%s\", "
             "\"macs\": %lld}",
             s->kernel, s->family->name, s->tile_c, s->tile_r > 0 ? s->tile_r : 1,
             s->tile_p, (long long)s->kc,
             s->ob_outer ? "blocks-outside" : "pixels-outside", s->threads,
             split_axis_name(s->split), (long long)s->units, s->imbalance, (long long)s->chunk,
             layout_name(g->values[n->out[0]].layout, lay, sizeof lay), (long long)node_macs(g, n));
    }
    printf("\n  ]\n}\n");
  } else {
    printf("model       %s\n", a.job.model);
    for (int k = 0; k < g->ninputs; k++)
      print_io(g, false, k, false);
    for (int k = 0; k < g->noutputs; k++)
      print_io(g, true, k, false);
    printf("nodes       %d\n", g->nnodes);
    for (int i = 0; i < OP_COUNT; i++)
      if (counts[i])
        printf("  %-20s %d\n", op_table[i].name, counts[i]);
    printf("model parameters %lld (%.2f M; learnable, as loaded)\n",
           (long long)g->source_params, (double)g->source_params / 1e6);
    printf("parameters  %lld (%.2f M; constants of the compiled graph)\nMACs        %lld (%.3f G)\n"
           "weights     %lld bytes\nworkspace   %lld bytes (lower bound %lld)\n",
           (long long)params, (double)params / 1e6, (long long)macs, (double)macs / 1e9,
           (long long)plan.weight_size, (long long)plan.ws_size,
           (long long)plan.ws_lower_bound);
    if (size.code_bytes >= 0)
      printf("code        %lld bytes (+ %lld bytes of other constants; the runtime's %lld), "
             "built with %s\n", (long long)size.code_bytes, (long long)size.rodata_bytes,
             (long long)size.runtime_code_bytes, a.job.cc ? a.job.cc : "cc");
    if (size.stack_bytes >= 0)
      printf("stack       %s%lld bytes for %s_run (its frame %lld + the deepest kernel's %lld%s)\n",
             size.stack_dynamic ? "at least " : "", (long long)size.stack_bytes, a.job.name,
             (long long)size.stack_run, (long long)size.stack_kernel,
             size.stack_bytes > size.stack_run + size.stack_kernel ? " + the thread pool's" : "");
    for (int i = 0; i < nstats; i++)
      printf("pass %-20s %4d -> %4d nodes  %8.3f ms  %s\n", stats[i].name,
             stats[i].nodes_before, stats[i].nodes_after, stats[i].ms, stats[i].what);
    printf("target      %s (%d floats a vector), %d thread%s\n", g->target->name,
           g->target->block, g->threads, g->threads > 1 ? "s" : "");
    if (a.schedule) {
      printf("%4s %-14s %-6s %5s %-9s %4s %-7s %6s %5s %5s %-9s  %-40s %s\n", "node", "family",
             "tile", "kc", "order", "thr", "split", "units", "imbal", "claim", "layout", "kernel",
             "ONNX node, output shape");
      for (int i = 0; i < g->nnodes; i++) {
        const Node *n = &g->nodes[i];
        const Schedule *s = &n->sched;
        const Value *y = &g->values[n->out[0]];
        char tile[24], lay[32], kc[24], claim[24], shape[96] = "";
        if (s->tile_r > 1)
          snprintf(tile, sizeof tile, "%dx%dx%d", s->tile_c, s->tile_r, s->tile_p);
        else
          snprintf(tile, sizeof tile, s->tile_c ? "%dx%d" : "-", s->tile_c, s->tile_p);
        snprintf(kc, sizeof kc, s->kc ? "%lld" : "all", (long long)s->kc);
        snprintf(claim, sizeof claim, s->chunk ? "%lld" : "-", (long long)s->chunk);
        for (int k = 0, o = 0; k < y->rank && o < (int)sizeof shape - 24; k++)
          o += snprintf(shape + o, sizeof shape - (size_t)o, "%s%lld", k ? "x" : "",
                        (long long)y->dims[k]);
        printf("%4d %-14s %-6s %5s %-9s %4d %-7s %6lld %5.2f %5s %-9s  %-40s '%s' %s %s\n", i,
               s->family->name, tile, kc, s->order ? s->order : "-", s->threads,
               split_axis_name(s->split), (long long)s->units, s->imbalance, claim,
               layout_name(y->layout, lay, sizeof lay), s->kernel, n->name ? n->name : "",
               dtype_short(y->dtype), shape);
      }
      printf("tile: the register tile, output channels x pixels (grouped lanes: channels x "
             "rows x pixels; int8 1x1s: channels x the strip's pixels)\n"
             "kc: input-channel blocks a cache block of the reduction takes (all: no "
             "blocking); order: which loop is outside, output blocks or pixels (+pf: each output "
             "group prefetches the next one's weights)\n"
             "thr: threads the layer is split over; split, units: what they divide and how "
             "many; imbal: the largest share over the mean (1.00: even)\n"
             "claim: the last quarter of each share goes to whichever thread is free, in "
             "chunks of this many units (-: static shares)\n"
             "layout: the output's (nchw16c: NCHW in blocks of 16 channels); kernel: the C "
             "function in NAME.c and `run --profile`\n");
    }
  }
  Diag bd = {.file = a.job.model};
  bool within = cd_check_budget(&a.job, &plan, &bd);
  plan_free(&plan);
  graph_free(g);
  sb_free(&d.log);
  sb_free(&bd.log);
  return within ? 0 : 1;
}

static int cmd_bench(int argc, char **argv) {
  Args a;
  int rc = parse_args("bench", argc, argv, &a, usage_bench);
  if (rc)
    return rc;
  if (a.ninputs > 1)
    return usage_error("bench", "one --input at most", NULL);
  if (!a.job.runs)
    a.job.runs = 20;
  if (!a.job.rounds)
    a.job.rounds = 3;
  /* The weights in heap memory on both sides: embedded in a program of
   * hundreds of MB, they are file-backed pages, and on the VM measured
   * some runs took up to 2x as long (ResNeXt-101 on 2 threads: 209-261 ms
   * embedded, 116-118 ms as a blob; its kernel samples page accesses with
   * DAMON, the likely cause). */
  if (!a.job.weights_set)
    a.job.weights_blob = true;
  Diag d = {.cmake = cmake_names, .file = a.job.model};
  bool ok = cd_bench(&a.job, a.ninputs ? a.inputs[0] : NULL, !a.no_peer, &d);
  sb_free(&d.log);
  return ok ? 0 : 1;
}

int cd_compare(CompileJob *base, const char *const *configs, int nconfigs,
               const char *const *precisions, int nprec, const QuantizeOptions *quant,
               const char *eval_dir,
               const char *input, const char *csv, const char *svg, bool json, Diag *d);

static int cmd_compare(int argc, char **argv) {
  /* --configs takes every following argument up to the next option. */
  const char *configs[64];
  int nconfigs = 0;
  char **rest = calloc((size_t)argc + 1, sizeof(char *));
  int nrest = 0;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--configs")) {
      while (i + 1 < argc && argv[i + 1][0] != '-' && nconfigs < 64) {
        /* The model is the one argument ending in .onnx or .nx. */
        size_t L = strlen(argv[i + 1]);
        if ((L > 5 && !strcmp(argv[i + 1] + L - 5, ".onnx")) ||
            (L > 3 && !strcmp(argv[i + 1] + L - 3, ".nx")))
          break;
        configs[nconfigs++] = argv[++i];
      }
      continue;
    }
    rest[nrest++] = argv[i];
  }
  Args a;
  int rc = parse_args("compare", nrest, rest, &a, usage_compare);
  if (rc) {
    free(rest);
    return rc;
  }
  if (!nconfigs) {
    configs[nconfigs++] = "none";
    configs[nconfigs++] = "default";
  }
  if (!a.job.runs)
    a.job.runs = 5;
  Diag d = {.cmake = cmake_names, .file = a.job.model};
  for (int i = 0; i < nconfigs; i++) { /* reject a bad list before any work */
    int order[CD_MAX_PASSES], n;
    if (!passes_parse(configs[i], order, &n, &d)) {
      free(rest);
      sb_free(&d.log);
      return 1;
    }
  }
  char *cache = cache_root(&d); /* the evaluation runs reuse each row's build */
  a.job.cache_dir = cache;
  rc = cd_compare(&a.job, configs, nconfigs, a.precisions, a.nprec, &a.quant,
                  a.eval ? a.eval : a.nprec ? a.quant.calibrate : NULL,
                  a.ninputs ? a.inputs[0] : NULL, a.csv, a.svg, a.json, &d);
  free(cache);
  free(rest);
  sb_free(&d.log);
  return rc;
}

/* cardinal dump-weights MODEL.nx -o FILE.safetensors [--seed N] */
static int cmd_dump_weights(int argc, char **argv) {
  Args a;
  int rc = parse_args("dump-weights", argc, argv, &a, usage_dump_weights);
  if (rc)
    return rc;
  const char *ext = strrchr(a.job.model, '.');
  if (!ext || strcmp(ext, ".nx") != 0)
    return usage_error("dump-weights", "takes a .nx model (an ONNX file holds its weights), not",
                       a.job.model);
  if (!a.job.out_dir)
    return usage_error("dump-weights", "-o FILE.safetensors is required", NULL);
  Diag d = {.cmake = cmake_names, .file = a.job.model};
  if (!dsl_save_params(a.job.model, a.job.params, a.job.seed, a.job.out_dir, &d))
    return 1;
  fprintf(stderr, "cardinal: wrote the parameters of %s to %s\n", a.job.model, a.job.out_dir);
  return 0;
}

/* `cardinal quantize`: the model calibrated and rewritten to QDQ
 * (toolchain.c, quantize.c), written as ONNX. */
static int cmd_quantize(int argc, char **argv) {
  Args a;
  int rc = parse_args("quantize", argc, argv, &a, usage_quantize);
  if (rc)
    return rc;
  const char *out = a.job.out_dir;
  size_t n = out ? strlen(out) : 0;
  if (!out || n < 5 || strcmp(out + n - 5, ".onnx") != 0)
    return usage_error("quantize", "needs -o OUT.onnx (the file to write)", NULL);
  a.job.passes = "none";
  Diag d = {.cmake = cmake_names, .file = a.job.model};
  Graph *g = cd_load_model(&a.job, NULL, NULL, &d);
  if (!g)
    return 1;
  fflush(stdout); /* the report, before what follows on stderr */
  Diag dw = {.file = out};
  bool ok = onnx_write(g, out, &dw);
  graph_free(g);
  if (!ok)
    return 1;
  fprintf(stderr, "cardinal: wrote %s\n", out);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage_main, stderr);
    return 2;
  }
  const char *cmd = argv[1];
  cmake_names = getenv("CARDINAL_CMAKE") && !strcmp(getenv("CARDINAL_CMAKE"), "1");
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    fputs(usage_main, stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version")) {
    printf("cardinal %s\n", CD_VERSION);
    return 0;
  }
  if (!strcmp(cmd, "compile"))
    return cmd_compile(argc - 1, argv + 1, false);
  if (!strcmp(cmd, "build"))
    return cmd_compile(argc - 1, argv + 1, true);
  if (!strcmp(cmd, "run"))
    return cmd_run(argc - 1, argv + 1);
  if (!strcmp(cmd, "inspect"))
    return cmd_inspect(argc - 1, argv + 1);
  if (!strcmp(cmd, "compare"))
    return cmd_compare(argc - 1, argv + 1);
  if (!strcmp(cmd, "bench"))
    return cmd_bench(argc - 1, argv + 1);
  if (!strcmp(cmd, "dump-weights"))
    return cmd_dump_weights(argc - 1, argv + 1);
  if (!strcmp(cmd, "quantize"))
    return cmd_quantize(argc - 1, argv + 1);
  static const char *const commands[] = {"compile", "build", "run", "inspect", "compare",
                                         "bench", "dump-weights", "quantize"};
  Suggest sg;
  suggest_init(&sg, cmd);
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    suggest_add(&sg, commands[i]);
  if (suggest_best(&sg))
    fprintf(stderr, "cardinal: unknown command '%s'; did you mean '%s'?\n", cmd,
            suggest_best(&sg));
  else
    fprintf(stderr, "cardinal: unknown command '%s'\n\n%s", cmd, usage_main);
  return 2;
}
