/*
 * suggest.c — "did you mean": among the names that would have been valid
 * at a place, the one nearest to what was written.
 *
 * Nearness is the optimal-string-alignment distance (insertions,
 * deletions, substitutions and swaps of two neighbours each cost 1),
 * ignoring case; a case difference only breaks ties, so `False` finds
 * `false` and `ReLU` finds `relu`.  A candidate is offered if it is within
 * a third of the name's length (one edit for 3-5 characters, two for 6-8,
 * three beyond; none for one or two characters, where everything is close),
 * or if one is a prefix of the other and the shorter has three characters
 * or more (`pad` for `padding`, `kernel_shape` for `kernel`).
 */
#include "dsl.h"

#include <ctype.h>
#include <string.h>

#define SUGGEST_MAX 64 /* longer names are not compared */

static int fold(int c, bool icase) { return icase ? tolower(c) : c; }

static int osa(const char *a, const char *b, bool icase) {
  int n = (int)strlen(a), m = (int)strlen(b);
  if (n > SUGGEST_MAX || m > SUGGEST_MAX)
    return 1 << 20;
  int d[SUGGEST_MAX + 1][SUGGEST_MAX + 1];
  for (int i = 0; i <= n; i++)
    d[i][0] = i;
  for (int j = 0; j <= m; j++)
    d[0][j] = j;
  for (int i = 1; i <= n; i++)
    for (int j = 1; j <= m; j++) {
      int cost = fold((unsigned char)a[i - 1], icase) != fold((unsigned char)b[j - 1], icase);
      int v = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < v)
        v = d[i][j - 1] + 1;
      if (d[i - 1][j - 1] + cost < v)
        v = d[i - 1][j - 1] + cost;
      if (i > 1 && j > 1 &&
          fold((unsigned char)a[i - 1], icase) == fold((unsigned char)b[j - 2], icase) &&
          fold((unsigned char)a[i - 2], icase) == fold((unsigned char)b[j - 1], icase) &&
          d[i - 2][j - 2] + 1 < v)
        v = d[i - 2][j - 2] + 1;
      d[i][j] = v;
    }
  return d[n][m];
}

static bool iprefix(const char *p, const char *s) {
  for (; *p; p++, s++)
    if (tolower((unsigned char)*p) != tolower((unsigned char)*s))
      return false;
  return true;
}

void suggest_init(Suggest *s, const char *name) {
  s->name = name;
  s->best = NULL;
  s->score = 1 << 30;
}

void suggest_add(Suggest *s, const char *cand) {
  if (!cand || !cand[0] || !strcmp(cand, s->name))
    return;
  int n = (int)strlen(s->name), m = (int)strlen(cand);
  int dist = osa(s->name, cand, true);
  int limit = n <= 2 ? 0 : n <= 5 ? 1 : n <= 8 ? 2 : 3;
  int shorter = n < m ? n : m;
  bool prefix = shorter >= 3 && (n < m ? iprefix(s->name, cand) : iprefix(cand, s->name));
  if (dist > limit && !prefix)
    return;
  int score = 2 * dist + (osa(s->name, cand, false) > dist); /* case breaks ties */
  if (score < s->score) {
    s->score = score;
    s->best = cand;
  }
}

const char *suggest_best(const Suggest *s) { return s->best; }
