/* test_values.c - unit tests of runtime values and program images.
 *
 * Reference counts balance through lists, maps and records; maps stay sorted
 * and replace on set; equality and ordering follow the language (1 == 1.0,
 * strings by bytes, lists lexicographically); freeing a list nested a million
 * levels deep does not overflow the C stack; images intern their types and
 * deduplicate their constants. Run under ASan/UBSan/LSan in the sanitizer
 * build, which also checks that nothing leaks. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "image.h"
#include "tally.h"
#include "value.h"

static void test_strings(Tally *t) {
  Value s = value_cstr("héllo");
  CHECK(t, s.tag == V_STR);
  CHECK(t, value_as_str(s)->len == 6);
  CHECK(t, value_as_str(s)->data[6] == '\0');
  CHECK(t, value_as_str(s)->obj.refs == 1);
  value_retain(s);
  CHECK(t, value_as_str(s)->obj.refs == 2);
  value_release(s);
  CHECK(t, value_as_str(s)->obj.refs == 1);
  uint32_t h = str_hash(value_as_str(s));
  CHECK(t, h != 0 && value_as_str(s)->hash == h);
  Value s2 = value_str("héllo", 6);
  CHECK(t, str_hash(value_as_str(s2)) == h);
  CHECK(t, value_equal(s, s2));
  value_release(s2);
  value_release(s);

  Value e = value_str(NULL, 0);
  CHECK(t, value_as_str(e)->len == 0 && value_as_str(e)->data[0] == '\0');
  value_release(e);
  Value nul = value_str("a\0b", 3);
  CHECK(t, value_as_str(nul)->len == 3);
  value_release(nul);
}

static void test_lists(Tally *t) {
  Value shared = value_cstr("shared");
  Value l = value_list(0);
  for (int i = 0; i < 1000; i++) list_push_steal(l, i % 2 ? value_int(i) : value_retain(shared));
  CHECK(t, value_as_list(l)->len == 1000);
  CHECK(t, value_as_str(shared)->obj.refs == 501);
  CHECK(t, value_as_list(l)->items[999].u.i == 999);
  Value outer = value_list(2);
  list_push_steal(outer, value_retain(l));
  list_push_steal(outer, l);
  CHECK(t, value_as_list(l)->obj.refs == 2);
  value_release(outer);
  CHECK(t, value_as_str(shared)->obj.refs == 1);
  value_release(shared);
}

static void test_maps(Tally *t) {
  const char *keys[] = {"pear", "apple", "b", "", "ab", "a", "banana", "Zebra", "é"};
  size_t n = sizeof keys / sizeof keys[0];
  Value m = value_map(0);
  Value shared = value_cstr("v");
  for (size_t i = 0; i < n; i++) {
    Str *k = str_new(keys[i], strlen(keys[i]));
    map_set_steal(m, k, value_retain(shared));
    CHECK(t, k->obj.refs == 2);
    value_release(value_obj(V_STR, &k->obj));
  }
  Map *mm = value_as_map(m);
  CHECK(t, mm->len == n);
  const char *want[] = {"", "Zebra", "a", "ab", "apple", "b", "banana", "pear", "é"};
  bool sorted = true;
  for (uint32_t i = 0; i < mm->len; i++) sorted &= strcmp(mm->entries[i].key->data, want[i]) == 0;
  CHECK(t, sorted);
  CHECK(t, value_as_str(shared)->obj.refs == 1 + n);

  /* replacing releases the old value */
  Str *k = str_new("apple", 5);
  map_set_steal(m, k, value_int(7));
  value_release(value_obj(V_STR, &k->obj));
  CHECK(t, mm->len == n);
  CHECK(t, value_as_str(shared)->obj.refs == n);
  const Value *got = map_get(m, "apple", 5);
  CHECK(t, got && got->tag == V_INT && got->u.i == 7);
  CHECK(t, map_get(m, "appl", 4) == NULL);
  CHECK(t, map_get(m, "", 0) != NULL);
  CHECK(t, map_get(m, "zzz", 3) == NULL);
  value_release(m);
  CHECK(t, value_as_str(shared)->obj.refs == 1);
  value_release(shared);

  /* many keys, in descending order (worst case for insertion) */
  Value big = value_map(0);
  for (int i = 9999; i >= 0; i--) {
    char buf[16];
    int len = snprintf(buf, sizeof buf, "k%05d", i);
    Str *key = str_new(buf, (size_t)len);
    map_set_steal(big, key, value_int(i));
    value_release(value_obj(V_STR, &key->obj));
  }
  CHECK(t, value_as_map(big)->len == 10000);
  const Value *v5 = map_get(big, "k05000", 6);
  CHECK(t, v5 && v5->u.i == 5000);
  value_release(big);
}

static void test_records_media(Tally *t) {
  Value r = value_record(IMG_TYPE_MESSAGE, 3);
  CHECK(t, value_as_record(r)->fields[2].tag == V_NONE);
  record_set_steal(r, 0, value_cstr("user"));
  record_set_steal(r, 0, value_cstr("system")); /* replaces, releasing "user" */
  record_set_steal(r, 1, value_cstr("hi"));
  Value media = value_media("image/png", "cat.png", "\x89PNG", 4);
  CHECK(t, value_as_media(media)->len == 4 && strcmp(value_as_media(media)->mime->data, "image/png") == 0);
  record_set_steal(r, 2, media);
  Value r2 = value_record(IMG_TYPE_MESSAGE, 3);
  record_set_steal(r2, 0, value_cstr("system"));
  record_set_steal(r2, 1, value_cstr("hi"));
  record_set_steal(r2, 2, value_media("image/png", NULL, "\x89PNG", 4));
  CHECK(t, value_equal(r, r2));
  CHECK(t, value_compare(r, r2) == 0);
  record_set_steal(r2, 1, value_cstr("hj"));
  CHECK(t, !value_equal(r, r2));
  CHECK(t, value_compare(r, r2) < 0);
  value_release(r);
  value_release(r2);
}

/* A list of the given ints. */
static Value ints(int n, const int *v) {
  Value l = value_list((uint32_t)n);
  for (int i = 0; i < n; i++) list_push_steal(l, value_int(v[i]));
  return l;
}

static void test_equality_order(Tally *t) {
  CHECK(t, value_equal(value_int(1), value_float(1.0)));
  CHECK(t, value_equal(value_float(-0.0), value_int(0)));
  CHECK(t, !value_equal(value_int(1), value_float(1.5)));
  CHECK(t, !value_equal(value_float(NAN), value_float(NAN)));
  CHECK(t, !value_equal(value_int(9007199254740993LL), value_float(9007199254740992.0)));
  CHECK(t, value_compare(value_int(9007199254740993LL), value_float(9007199254740992.0)) > 0);
  CHECK(t, value_compare(value_float(9007199254740992.0), value_int(9007199254740993LL)) < 0);
  CHECK(t, value_compare(value_int(INT64_MAX), value_float(9223372036854775808.0)) < 0);
  CHECK(t, value_compare(value_int(INT64_MIN), value_float(-9223372036854775808.0)) == 0);
  CHECK(t, value_compare(value_int(-3), value_float(-2.5)) < 0);
  CHECK(t, value_compare(value_int(-2), value_float(-2.5)) > 0);
  CHECK(t, value_compare(value_float(NAN), value_float(1e308)) > 0);
  CHECK(t, value_compare(value_float(NAN), value_float(NAN)) == 0);
  CHECK(t, value_compare(value_float(NAN), value_int(5)) > 0);
  CHECK(t, !value_equal(value_int(1), value_bool(true)));
  CHECK(t, value_equal(value_none(), value_none()));
  CHECK(t, value_equal(value_enum(20, 1), value_enum(20, 1)));
  CHECK(t, !value_equal(value_enum(20, 1), value_enum(21, 1)));
  CHECK(t, value_compare(value_enum(20, 0), value_enum(20, 2)) < 0);
  /* across tags: none < bool < numbers < enums < strings < lists */
  Value s = value_cstr("a"), l = value_list(0);
  CHECK(t, value_compare(value_none(), value_bool(false)) < 0);
  CHECK(t, value_compare(value_bool(true), value_int(-100)) < 0);
  CHECK(t, value_compare(value_float(1e300), value_enum(1, 0)) < 0);
  CHECK(t, value_compare(value_enum(1, 0), s) < 0);
  CHECK(t, value_compare(s, l) < 0);
  value_release(s);
  value_release(l);

  Value a = value_cstr("B"), b = value_cstr("a"), c = value_cstr("ab"), d = value_cstr("é");
  CHECK(t, value_compare(a, b) < 0);
  CHECK(t, value_compare(b, c) < 0);
  CHECK(t, value_compare(c, d) < 0);
  CHECK(t, value_compare(c, c) == 0);
  value_release(a);
  value_release(b);
  value_release(c);
  value_release(d);

  Value x = ints(2, (int[]){1, 2}), y = ints(3, (int[]){1, 2, 0}), z = ints(2, (int[]){1, 3});
  Value x2 = value_list(2);
  list_push_steal(x2, value_float(1.0));
  list_push_steal(x2, value_int(2));
  CHECK(t, value_compare(x, y) < 0);
  CHECK(t, value_compare(y, z) < 0);
  CHECK(t, value_compare(z, x) > 0);
  CHECK(t, value_equal(x, x2));
  CHECK(t, value_compare(x, x2) == 0);
  CHECK(t, !value_equal(x, y));
  CHECK(t, value_hash(x) == value_hash(x2));
  value_release(x);
  value_release(y);
  value_release(z);
  value_release(x2);

  CHECK(t, value_hash(value_int(1)) == value_hash(value_float(1.0)));
  CHECK(t, value_hash(value_int(0)) == value_hash(value_float(-0.0)));

  /* maps: same entries in any insertion order are equal */
  Value m1 = value_map(0), m2 = value_map(0);
  Str *k1 = str_new("x", 1), *k2 = str_new("y", 1);
  map_set_steal(m1, k1, value_int(1));
  map_set_steal(m1, k2, value_int(2));
  map_set_steal(m2, k2, value_float(2.0));
  map_set_steal(m2, k1, value_int(1));
  CHECK(t, value_equal(m1, m2));
  CHECK(t, value_compare(m1, m2) == 0);
  map_set_steal(m2, k2, value_int(3));
  CHECK(t, !value_equal(m1, m2));
  CHECK(t, value_compare(m1, m2) < 0);
  value_release(value_obj(V_STR, &k1->obj));
  value_release(value_obj(V_STR, &k2->obj));
  value_release(m1);
  value_release(m2);
}

static void test_deep_and_wide(Tally *t) {
  /* a list nested a million levels deep */
  Value v = value_list(0);
  for (int i = 0; i < 1000000; i++) {
    Value outer = value_list(1);
    list_push_steal(outer, v);
    v = outer;
  }
  value_release(v);
  CHECK(t, true);

  /* deep chains through maps and records */
  Str *key = str_new("next", 4);
  Value m = value_cstr("leaf");
  for (int i = 0; i < 200000; i++) {
    Value outer = i % 2 ? value_map(1) : value_record(IMG_TYPE_MESSAGE, 3);
    if (i % 2)
      map_set_steal(outer, key, m);
    else
      record_set_steal(outer, 1, m);
    m = outer;
  }
  value_release(m);
  CHECK(t, key->obj.refs == 1);
  value_release(value_obj(V_STR, &key->obj));

  /* wide: a list of 100,000 small lists sharing one string */
  Value shared = value_cstr("s");
  Value wide = value_list(0);
  for (int i = 0; i < 100000; i++) {
    Value inner = value_list(1);
    list_push_steal(inner, value_retain(shared));
    list_push_steal(wide, inner);
  }
  CHECK(t, value_as_str(shared)->obj.refs == 100001);
  value_release(wide);
  CHECK(t, value_as_str(shared)->obj.refs == 1);
  value_release(shared);
}

static void test_image(Tally *t) {
  Image *img = image_new();
  CHECK(t, img->main_flow == -1);
  CHECK(t, img->ntypes >= IMG_TYPE_FIRST_USER);
  for (uint32_t k = IT_ANY; k <= IT_DURATION; k++) CHECK(t, img->types[k].kind == (ImgTypeKind)k);
  const ImgType *msg = &img->types[IMG_TYPE_MESSAGE];
  CHECK(t, msg->kind == IT_RECORD && strcmp(msg->name, "Message") == 0 && msg->nfields == 3);
  CHECK_STR(t, msg->field_names[0], "role");
  CHECK_STR(t, msg->field_names[1], "text");
  CHECK_STR(t, msg->field_names[2], "media");
  CHECK(t, msg->field_types[0] == IMG_TYPE_STRING);
  CHECK(t, img->types[msg->field_types[1]].kind == IT_OPT && img->types[msg->field_types[1]].elem == IMG_TYPE_STRING);
  CHECK(t, img->types[msg->field_types[2]].kind == IT_OPT && img->types[msg->field_types[2]].elem == IMG_TYPE_IMAGE);
  const ImgType *res = &img->types[IMG_TYPE_EVALRESULT];
  CHECK(t, res->kind == IT_RECORD && strcmp(res->name, "EvalResult") == 0 && res->nfields == 3);
  CHECK_STR(t, res->field_names[1], "failures");
  CHECK(t, res->field_types[0] == IMG_TYPE_BOOL);
  CHECK(t, img->types[res->field_types[1]].kind == IT_LIST && img->types[res->field_types[1]].elem == IMG_TYPE_STRING);
  CHECK(t, img->types[res->field_types[2]].kind == IT_MAP && img->types[res->field_types[2]].elem == IMG_TYPE_FLOAT);
  uint32_t scores_type = res->field_types[2];

  /* interning: existing types are found, new ones appended */
  uint32_t before = img->ntypes;
  CHECK(t, image_intern_type(img, &(ImgType){.kind = IT_STRING}) == IMG_TYPE_STRING);
  CHECK(t, image_intern_type(img, &(ImgType){.kind = IT_DURATION}) == IMG_TYPE_DURATION);
  CHECK(t, image_intern_type(img, &(ImgType){.kind = IT_MAP, .elem = IMG_TYPE_FLOAT}) == scores_type);
  CHECK(t, img->ntypes == before);
  uint32_t il = image_intern_type(img, &(ImgType){.kind = IT_LIST, .elem = IMG_TYPE_INT});
  CHECK(t, il == before && img->ntypes == before + 1);
  CHECK(t, image_intern_type(img, &(ImgType){.kind = IT_LIST, .elem = IMG_TYPE_INT}) == il);
  uint32_t ill = image_intern_type(img, &(ImgType){.kind = IT_LIST, .elem = il});
  CHECK(t, ill == il + 1);
  char *variants[] = {"low", "normal", "urgent"};
  ImgType prio = {.kind = IT_ENUM, .name = "Priority", .nvariants = 3, .variants = variants};
  uint32_t pe = image_intern_type(img, &prio);
  CHECK(t, img->types[pe].variants != variants && strcmp(img->types[pe].variants[2], "urgent") == 0);
  CHECK(t, image_intern_type(img, &prio) == pe);
  /* a user's record named like a built-in one is a type of its own */
  char *fnames[] = {"body"};
  uint32_t ftypes[] = {IMG_TYPE_STRING};
  ImgType user_msg = {.kind = IT_RECORD, .name = "Message", .nfields = 1, .field_names = fnames, .field_types = ftypes};
  uint32_t um = image_intern_type(img, &user_msg);
  CHECK(t, um >= IMG_TYPE_FIRST_USER && um != IMG_TYPE_MESSAGE);
  CHECK(t, image_intern_type(img, &user_msg) == um);
  CHECK(t, img->types[um].field_docs && img->types[um].field_docs[0] == NULL);
  /* many types: the index grows */
  for (uint32_t i = 0; i < 300; i++) image_intern_type(img, &(ImgType){.kind = IT_OPT, .elem = i});
  uint32_t n300 = img->ntypes;
  for (uint32_t i = 0; i < 300; i++) image_intern_type(img, &(ImgType){.kind = IT_OPT, .elem = i});
  CHECK(t, img->ntypes == n300);

  /* constants: dedupe strings, ints and floats (by bits), not across tags */
  uint32_t a = image_add_const(img, value_cstr("hello"));
  uint32_t b = image_add_const(img, value_cstr("hello"));
  uint32_t c = image_add_const(img, value_int(1));
  uint32_t d = image_add_const(img, value_float(1.0));
  uint32_t e = image_add_const(img, value_float(0.0));
  uint32_t f = image_add_const(img, value_float(-0.0));
  uint32_t g = image_add_const(img, value_int(1));
  uint32_t h = image_add_const(img, value_none());
  uint32_t i2 = image_add_const(img, value_none());
  CHECK(t, a == b && c == g);
  CHECK(t, c != d && e != f && h != i2);
  CHECK(t, img->consts[d].tag == V_FLOAT);
  /* 100,000 distinct strings, each added twice */
  uint32_t first = img->nconsts;
  bool same = true;
  for (int k = 0; k < 100000; k++) {
    char buf[32];
    int len = snprintf(buf, sizeof buf, "const-%d", k);
    uint32_t id1 = image_add_const(img, value_str(buf, (size_t)len));
    uint32_t id2 = image_add_const(img, value_str(buf, (size_t)len));
    same &= id1 == id2 && id1 == first + (uint32_t)k;
  }
  CHECK(t, same);
  CHECK(t, img->nconsts == first + 100000);
  /* appended behind the index's back: noticed */
  img->consts = realloc(img->consts, sizeof(Value) * (img->nconsts + 1));
  img->consts[img->nconsts++] = value_cstr("direct");
  CHECK(t, image_add_const(img, value_cstr("direct")) == img->nconsts - 1);
  CHECK(t, image_add_const(img, value_cstr("const-5")) == first + 5);
  image_free(img);

  CHECK_STR(t, op_name(OP_MOVE), "MOVE");
  CHECK_STR(t, op_kinds(OP_MOVE), "rr--");
  CHECK_STR(t, op_name(OP_SKIP), "SKIP");
  CHECK_STR(t, op_name((Op)OP_COUNT), "?");
}

int main(void) {
  Tally t = {0, 0};
  test_strings(&t);
  test_lists(&t);
  test_maps(&t);
  test_records_media(&t);
  test_equality_order(&t);
  test_deep_and_wide(&t);
  test_image(&t);
  return tally_report(&t);
}
