/* SPDX-License-Identifier: Apache-2.0 */
/* family.c: the dispatch table of one shim family, built from its .def as an X-macro.
 *
 * Compiled once per family by libos/Makefile with -DSHIM_FAMILY=<family> and
 * -DSHIM_DEF='"<family>/<family>.def"'; the object defines
 * `const struct shim_family shim_family_<family>`, which image_config.c names.
 * shim/shim.h has already declared the handlers from the same .def.
 */
#include <shim/shim.h>

#define SHIM_STR_(x) #x
#define SHIM_STR(x) SHIM_STR_(x)
#define SHIM_CAT_(a, b) a##b
#define SHIM_CAT(a, b) SHIM_CAT_(a, b)

#define SHIM(nr, name, level, handler, note) {nr, SHIM_LEVEL_##level, 0, handler},
#define SHIM_ERR(nr, name, err, note) {nr, SHIM_LEVEL_ERR, err, 0},
static const struct shim_entry entries[] = {
#include SHIM_DEF
};
#undef SHIM
#undef SHIM_ERR

const struct shim_family SHIM_CAT(shim_family_, SHIM_FAMILY) = {
    .name = SHIM_STR(SHIM_FAMILY),
    .entries = entries,
    .count = sizeof(entries) / sizeof(entries[0]),
};
