/* The self-test's version 2, a field inserted in a struct of a small library (tests/abi/check.sh --self-test). */
#include <stddef.h>
#include <stdint.h>
typedef struct t_ctx t_ctx;
typedef struct t_options {
  size_t buffer_size;
  uint32_t struct_size;
  uint32_t flags;
} t_options;
enum t_result { T_OK = 0, T_ERR = 1 };
enum t_result t_new(const struct t_options *options, struct t_ctx **out);
void t_free(struct t_ctx *ctx);
int t_count(const struct t_ctx *ctx);
