/* schema.h - the JSON Schema a model must follow for a prompt's output type.
 *
 * Mapping (docs/language.md §2): string/int/float/bool to their JSON types,
 * enums to string enums, `T[]` to arrays, `T?` to a union with null,
 * `map<string, T>` to objects with additionalProperties, records to objects
 * with every field required and no other properties (as OpenAI's strict mode
 * and Anthropic's tool input schemas want), `@describe` to "description".
 * Recursive records are cut at a fixed depth. */
#ifndef FLOW_SCHEMA_H
#define FLOW_SCHEMA_H

#include "types.h"

/* The schema as compact JSON text (malloc'd), or NULL for `string` (plain text). */
char *schema_for_type(const Type *t);

#endif
