// oneDNN convolution behind a version-neutral C surface (see include/dnnl_shim.h).
//
// Version differences handled here:
// - 2.x: memory descriptors are structs passed by pointer; operation descriptors (`*_desc_init`) are
//   turned into primitive descriptors by dnnl_primitive_desc_create; post-ops take a scale first.
// - 3.x: memory descriptors are handles; `*_primitive_desc_create` takes the engine directly.
#include "dnnl_shim.h"

// Builds without the OneDNN trait still compile every target; where oneDNN's headers are absent this
// file compiles to nothing and the engine uses its reference implementation.
#if __has_include(<oneapi/dnnl/dnnl.h>)
#include "dnnl_internal.h"

// OpenMP builds of oneDNN take their thread count from the OpenMP runtime. Weak so that a oneDNN
// built on TBB or threadpool still links.
extern void omp_set_num_threads(int) __attribute__((weak));

static dnnl_engine_t shared_engine = NULL;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;

static void create_engine(void) {
    if (dnnl_engine_create(&shared_engine, dnnl_cpu, 0) != dnnl_success) shared_engine = NULL;
}

dnnl_engine_t shim_engine(void) {
    pthread_once(&engine_once, create_engine);
    return shared_engine;
}

int shim_fail(char *error, size_t capacity, const char *what, dnnl_status_t status) {
    if (error && capacity > 0) snprintf(error, capacity, "oneDNN: %s failed (status %d)", what, (int)status);
    return -1;
}

int md_dnnl_available(void) { return shim_engine() != NULL; }

void md_dnnl_version(int *major, int *minor, int *patch) {
    const dnnl_version_t *version = dnnl_version();
    *major = version->major;
    *minor = version->minor;
    *patch = version->patch;
}

void md_dnnl_set_threads(int threads) {
    if (omp_set_num_threads && threads > 0) omp_set_num_threads(threads);
}

// ---- memory descriptors -------------------------------------------------------------------------

dnnl_status_t shim_desc_create_typed(md_desc_owned *desc, int ndims, const dnnl_dims_t dims, dnnl_data_type_t type,
                                     dnnl_format_tag_t tag) {
#if MD_DNNL_V3
    return dnnl_memory_desc_create_with_tag(desc, ndims, dims, type, tag);
#else
    return dnnl_memory_desc_init_by_tag(desc, ndims, dims, type, tag);
#endif
}

dnnl_status_t shim_desc_create(md_desc_owned *desc, int ndims, const dnnl_dims_t dims, dnnl_format_tag_t tag) {
    return shim_desc_create_typed(desc, ndims, dims, dnnl_f32, tag);
}

void shim_desc_release(md_desc_owned *desc) {
#if MD_DNNL_V3
    if (*desc) dnnl_memory_desc_destroy(*desc);
    *desc = NULL;
#else
    (void)desc;
#endif
}

// ---- convolution primitive descriptors ----------------------------------------------------------

int shim_weights_dims(const md_conv_geometry *g, dnnl_dims_t dims) {
    if (g->groups > 1) {
        dims[0] = g->groups;
        dims[1] = g->out_channels / g->groups;
        dims[2] = g->in_channels / g->groups;
        dims[3] = g->kernel_h;
        dims[4] = g->kernel_w;
        return 5;
    }
    dims[0] = g->out_channels;
    dims[1] = g->in_channels;
    dims[2] = g->kernel_h;
    dims[3] = g->kernel_w;
    return 4;
}

static int output_extent(int input, int kernel, int stride, int pad_begin, int pad_end, int dilation) {
    int effective = (kernel - 1) * dilation + 1;
    return (input + pad_begin + pad_end - effective) / stride + 1;
}

dnnl_status_t shim_activation_kind(int activation, float relu_alpha, dnnl_alg_kind_t *alg, float *alpha, float *beta) {
    *alpha = 1.0f;
    *beta = 0.0f;
    switch (activation) {
    case MD_ACTIVATION_SILU: *alg = dnnl_eltwise_swish; *alpha = 1.0f; break;
    case MD_ACTIVATION_RELU: *alg = dnnl_eltwise_relu; *alpha = relu_alpha; break;
    case MD_ACTIVATION_SIGMOID: *alg = dnnl_eltwise_logistic; *alpha = 0.0f; break;
    case MD_ACTIVATION_HARDSWISH: *alg = dnnl_eltwise_hardswish; *alpha = 1.0f / 6.0f; *beta = 0.5f; break;
    default: return dnnl_invalid_arguments;
    }
    return dnnl_success;
}

dnnl_status_t shim_append_sum(dnnl_post_ops_t post_ops) {
#if MD_DNNL_V3
    return dnnl_post_ops_append_sum(post_ops, 1.0f, 0, dnnl_data_type_undef);
#else
    return dnnl_post_ops_append_sum(post_ops, 1.0f);
#endif
}

// Appends one md_activation as an eltwise post-op.
static dnnl_status_t append_activation(dnnl_post_ops_t post_ops, int activation, float relu_alpha) {
    dnnl_alg_kind_t alg;
    float alpha, beta;
    dnnl_status_t status = shim_activation_kind(activation, relu_alpha, &alg, &alpha, &beta);
    if (status != dnnl_success) return status;
#if MD_DNNL_V3
    return dnnl_post_ops_append_eltwise(post_ops, alg, alpha, beta);
#else
    return dnnl_post_ops_append_eltwise(post_ops, 1.0f, alg, alpha, beta);
#endif
}

// Appends `g`'s activation, residual (a `sum`, or with `residual_as_binary` a `binary add` of a
// tensor shaped as `dst_md`) and the residual's activation as post-ops, in the model's order.
static dnnl_status_t append_epilogue(dnnl_post_ops_t post_ops, const md_conv_geometry *g, md_desc_ref dst_md,
                                     int residual_as_binary) {
    dnnl_status_t status;
    if (g->activation != MD_ACTIVATION_NONE &&
        (status = append_activation(post_ops, g->activation, g->activation_alpha)) != dnnl_success)
        return status;
    if (!g->add_residual) return dnnl_success;
    status = residual_as_binary ? dnnl_post_ops_append_binary(post_ops, dnnl_binary_add, dst_md) : shim_append_sum(post_ops);
    if (status != dnnl_success) return status;
    if (g->residual_activation != MD_ACTIVATION_NONE)
        return append_activation(post_ops, g->residual_activation, g->residual_activation_alpha);
    return dnnl_success;
}

// Creates the primitive descriptor for `g` on an NHWC input of the given size; weights layout `any`.
// The residual is added by a `sum` post-op (accumulating into dst, in place) or, with
// `residual_as_binary`, by a `binary add` post-op reading it from a separate buffer. `staged`: source
// in the layout oneDNN prefers and destination (and residual) 8-channel blocked, reordered from and to
// NHWC around the convolution (see shim_prefers_staging in dnnl_staging.c). Reduced precision
// (dnnl_precision.c): source and weights in the compute type, NHWC source, never staged;
// `output_scales` for int8. `winograd`: oneDNN's Winograd algorithm on 16-channel blocked source and
// destination, without post-ops (dnnl_winograd.c runs the activation and residual after it).
dnnl_status_t shim_create_conv_pd(const md_conv_geometry *g, const float *output_scales, int batch, int height, int width,
                                  int residual_as_binary, int staged, int winograd, dnnl_primitive_desc_t *pd) {
    dnnl_status_t status;
    int out_h = output_extent(height, g->kernel_h, g->stride_h, g->pad_top, g->pad_bottom, g->dilation_h);
    int out_w = output_extent(width, g->kernel_w, g->stride_w, g->pad_left, g->pad_right, g->dilation_w);
    dnnl_dims_t src_dims = {batch, g->in_channels, height, width};
    dnnl_dims_t dst_dims = {batch, g->out_channels, out_h, out_w};
    dnnl_dims_t bias_dims = {g->out_channels};
    dnnl_dims_t w_dims;
    int w_ndims = shim_weights_dims(g, w_dims);
    dnnl_data_type_t compute = shim_compute_type(g);
    dnnl_dims_t strides = {g->stride_h, g->stride_w};
    dnnl_dims_t dilates = {g->dilation_h - 1, g->dilation_w - 1};
    dnnl_dims_t pad_l = {g->pad_top, g->pad_left};
    dnnl_dims_t pad_r = {g->pad_bottom, g->pad_right};

    md_desc_owned src_md, dst_md, bias_md, w_md;
#if MD_DNNL_V3
    src_md = dst_md = bias_md = w_md = NULL;
#endif
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t post_ops = NULL;

    dnnl_format_tag_t src_tag = winograd ? dnnl_aBcd16b : staged ? dnnl_format_tag_any : dnnl_nhwc;
    dnnl_format_tag_t dst_tag = winograd ? dnnl_aBcd16b : staged ? dnnl_aBcd8b : dnnl_nhwc;
    dnnl_alg_kind_t algorithm = winograd ? dnnl_convolution_winograd : dnnl_convolution_direct;
    if ((status = shim_desc_create_typed(&src_md, 4, src_dims, shim_source_type(g), src_tag)) != dnnl_success) goto done;
    if ((status = shim_desc_create(&dst_md, 4, dst_dims, dst_tag)) != dnnl_success) goto done;
    if ((status = shim_desc_create(&bias_md, 1, bias_dims, dnnl_a)) != dnnl_success) goto done;
    if ((status = shim_desc_create_typed(&w_md, w_ndims, w_dims, compute, dnnl_format_tag_any)) != dnnl_success) goto done;

    if ((status = dnnl_primitive_attr_create(&attr)) != dnnl_success) goto done;
    // User scratchpad: oneDNN's library mode keeps one scratchpad per *thread*, reference-counted by
    // the primitives created on it. Swift tasks hop threads, so primitives were created, run and freed
    // on different threads, and a freed scratchpad was used: the server crashed (null dereference in
    // libdnnl) after first-stage plans of MDv4 were evicted. The caller passes the memory instead.
    if ((status = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user)) !=
        dnnl_success)
        goto done;
    if ((status = shim_set_precision_attributes(attr, g, output_scales)) != dnnl_success) goto done;
    if ((status = dnnl_post_ops_create(&post_ops)) != dnnl_success) goto done;
    // Winograd plans take no post-ops: the kernel has neither SiLU nor a sum after an activation
    // (dnnl_winograd.c runs both after it).
    if (!winograd && (status = append_epilogue(post_ops, g, MD_REF(dst_md), residual_as_binary)) != dnnl_success) goto done;
    if ((status = dnnl_primitive_attr_set_post_ops(attr, post_ops)) != dnnl_success) goto done;

#if MD_DNNL_V3
    status = dnnl_convolution_forward_primitive_desc_create(
        pd, shim_engine(), dnnl_forward_inference, algorithm, src_md, w_md, bias_md, dst_md,
        strides, dilates, pad_l, pad_r, attr);
#else
    {
        dnnl_convolution_desc_t conv_desc;
        status = dnnl_dilated_convolution_forward_desc_init(
            &conv_desc, dnnl_forward_inference, algorithm, &src_md, &w_md, &bias_md,
            &dst_md, strides, dilates, pad_l, pad_r);
        if (status != dnnl_success) goto done;
        status = dnnl_primitive_desc_create(pd, &conv_desc, attr, shim_engine(), NULL);
    }
#endif

done:
    if (post_ops) dnnl_post_ops_destroy(post_ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    shim_desc_release(&src_md);
    shim_desc_release(&dst_md);
    shim_desc_release(&bias_md);
    shim_desc_release(&w_md);
    return status;
}

// The implementation oneDNN chose, e.g. "jit:avx2", "brgconv:avx512_core" or "ref:any".
static const char *implementation_of(const_dnnl_primitive_desc_t pd) {
    const char *info = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info) != dnnl_success || !info) return "unknown";
    return info;
}

static int is_reference_kernel(const_dnnl_primitive_desc_t pd) {
    return strncmp(implementation_of(pd), "ref", 3) == 0;
}

// Creates the fastest primitive descriptor we know how to ask for. Why the retry: oneDNN 2.6's AVX2
// convolutions refuse an activation followed by a `sum` post-op (YOLOv5's SiLU then residual add), and
// fall back to its reference kernel, about a hundred times slower (minutes per photo). The same
// arithmetic as a `binary add` post-op runs on the JIT kernels, at the cost of a separate buffer for
// the residual. `residual_as_binary` says which one was chosen.
// `staged` says whether the plan goes through blocked data (see shim_prefers_staging), `winograd`
// whether it is a Winograd plan (staged too; see dnnl_winograd.c), tried first where it applies.
dnnl_status_t shim_choose_conv_pd(const md_conv_weights *w, int batch, int height, int width,
                                  dnnl_primitive_desc_t *pd, int *residual_as_binary, int *staged, int *winograd) {
    const md_conv_geometry *g = &w->geometry;
    const float *scales = w->output_scales;
    *residual_as_binary = 0;
    *staged = 0;
    *winograd = 0;
    // Only where this oneDNN offers Winograd here: then the weights kept the plain copy that plans for
    // other sizes reorder from (dnnl_weights.c asks the same).
    if (shim_create_winograd_pd(g, scales, batch, height, width, pd) == dnnl_success) {
        *staged = 1;
        *winograd = 1;
        return dnnl_success;
    }
    if (g->precision == MD_PRECISION_FP32 && shim_prefers_staging(g)) {
        // Blocked, the residual can only be a binary source: `sum` after an activation is `ref` there too.
        dnnl_primitive_desc_t candidate = NULL;
        if (shim_create_conv_pd(g, scales, batch, height, width, g->add_residual, 1, 0, &candidate) == dnnl_success) {
            if (!is_reference_kernel(candidate)) {
                *pd = candidate;
                *staged = 1;
                *residual_as_binary = g->add_residual;
                return dnnl_success;
            }
            dnnl_primitive_desc_destroy(candidate);
        }
    }
    dnnl_status_t status = shim_create_conv_pd(g, scales, batch, height, width, 0, 0, 0, pd);
    if (!g->add_residual || (status == dnnl_success && !is_reference_kernel(*pd))) return status;
    dnnl_primitive_desc_t binary = NULL;
    if (shim_create_conv_pd(g, scales, batch, height, width, 1, 0, 0, &binary) != dnnl_success) return status;
    if (status == dnnl_success && is_reference_kernel(binary)) {
        dnnl_primitive_desc_destroy(binary);
        return status;
    }
    if (status == dnnl_success) dnnl_primitive_desc_destroy(*pd);
    *pd = binary;
    *residual_as_binary = 1;
    return dnnl_success;
}

md_conv_plan *md_conv_plan_create(const md_conv_weights *weights, int batch, int height, int width, char *error,
                                  size_t error_capacity) {
    const md_conv_geometry *g = &weights->geometry;
    md_conv_plan *plan = calloc(1, sizeof(*plan));
    dnnl_primitive_desc_t pd = NULL;
    if (!plan) return NULL;
    plan->shared = weights;
    plan->out_height = output_extent(height, g->kernel_h, g->stride_h, g->pad_top, g->pad_bottom, g->dilation_h);
    plan->out_width = output_extent(width, g->kernel_w, g->stride_w, g->pad_left, g->pad_right, g->dilation_w);
    if (plan->out_height <= 0 || plan->out_width <= 0) {
        if (error && error_capacity) snprintf(error, error_capacity, "convolution input %dx%d is too small", height, width);
        free(plan);
        return NULL;
    }
    CHECK(shim_choose_conv_pd(weights, batch, height, width, &pd, &plan->residual_as_binary, &plan->staged,
                         &plan->winograd),
          "convolution descriptor");
    CHECK(dnnl_primitive_create(&plan->primitive, pd), "convolution primitive");
    snprintf(plan->implementation, sizeof(plan->implementation), "%s", implementation_of(pd));
    {
        md_desc_ref scratch_md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        plan->scratchpad_size = scratch_md ? dnnl_memory_desc_get_size(scratch_md) : 0;
        if (plan->scratchpad_size > 0)
            CHECK(dnnl_memory_create(&plan->scratchpad, scratch_md, shim_engine(), DNNL_MEMORY_NONE), "scratchpad memory");
    }
    if (plan->residual_as_binary) {
        CHECK(dnnl_memory_create(&plan->residual, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), shim_engine(),
                                 DNNL_MEMORY_NONE),
              "residual memory");
    }
    {
        md_desc_ref wanted = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        void *handle = weights->weights;
        if (!dnnl_memory_desc_equal(wanted, MD_REF(weights->weights_desc))) {
            // Winograd layouts depend on the shape and do not reorder into one another, nor do int8's
            // (compensation terms): those reorder from the plain copy the weights keep (dnnl_weights.c).
            if (weights->plain_weights)
                CHECK(shim_reorder_into(MD_REF(weights->plain_desc), weights->plain_weights, wanted, &plan->own_weights),
                      "weights reorder for a new shape");
            else
                CHECK(shim_reorder_into(MD_REF(weights->weights_desc), weights->weights, wanted, &plan->own_weights),
                      "weights reorder for a new shape");
            handle = plan->own_weights;
        }
        CHECK(dnnl_memory_create(&plan->weights, wanted, shim_engine(), handle), "weights memory");
        CHECK(dnnl_memory_create(&plan->src, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), shim_engine(),
                                 DNNL_MEMORY_NONE),
              "source memory");
        CHECK(dnnl_memory_create(&plan->dst, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), shim_engine(),
                                 DNNL_MEMORY_NONE),
              "destination memory");
        CHECK(dnnl_memory_create(&plan->bias, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1),
                                 shim_engine(), weights->bias),
              "bias memory");
    }
    plan->workspace_size = plan->scratchpad_size;
    if (plan->staged) CHECK(shim_prepare_staging(plan, pd, batch, height, width), "staging reorders");
    if (g->precision != MD_PRECISION_FP32)
        CHECK(shim_prepare_source_conversion(plan, pd, batch, height, width), "source conversion");
    CHECK(dnnl_stream_create(&plan->stream, shim_engine(), dnnl_stream_default_flags), "stream");
    dnnl_primitive_desc_destroy(pd);
    return plan;

cleanup:
    if (pd) dnnl_primitive_desc_destroy(pd);
    md_conv_plan_destroy(plan);
    return NULL;
}

void md_conv_plan_output_size(const md_conv_plan *plan, int *height, int *width) {
    *height = plan->out_height;
    *width = plan->out_width;
}

// Staged plans read the residual from the NHWC destination (reordered into their blocked copy first).
int md_conv_plan_residual_in_place(const md_conv_plan *plan) { return plan->staged || !plan->residual_as_binary; }

const char *md_conv_plan_implementation(const md_conv_plan *plan) { return plan->implementation; }

size_t md_conv_plan_workspace_size(const md_conv_plan *plan) { return plan->workspace_size; }

int shim_convolution_arguments(md_conv_plan *plan, void *scratchpad, dnnl_exec_arg_t args[8], char *error,
                               size_t error_capacity) {
    int count = 0;
    args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, plan->src};
    args[count++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, plan->weights};
    args[count++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, plan->bias};
    args[count++] = (dnnl_exec_arg_t){DNNL_ARG_DST, plan->dst};
    if (plan->scratchpad_size > 0) {
        if (!scratchpad) {
            if (error && error_capacity) snprintf(error, error_capacity, "convolution needs a scratchpad of %zu bytes", plan->scratchpad_size);
            return -1;
        }
        if (dnnl_memory_set_data_handle(plan->scratchpad, scratchpad) != dnnl_success)
            return shim_fail(error, error_capacity, "set scratchpad", dnnl_runtime_error);
        args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, plan->scratchpad};
    }
    if (plan->residual_as_binary) {
        // The binary post-op's position in the chain: after the activation when there is one.
        int index = plan->shared->geometry.activation != MD_ACTIVATION_NONE ? 1 : 0;
        args[count++] = (dnnl_exec_arg_t){DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1, plan->residual};
    }
    if (plan->zero_point) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, plan->zero_point};
    return count;
}

int md_conv_plan_execute(md_conv_plan *plan, const float *src_nhwc, const float *residual_nhwc, float *dst_nhwc,
                         void *workspace, char *error, size_t error_capacity) {
    if (plan->staged) {
        if (!workspace) {
            if (error && error_capacity) snprintf(error, error_capacity, "convolution needs a workspace of %zu bytes", plan->workspace_size);
            return -1;
        }
        return shim_execute_staged(plan, src_nhwc, dst_nhwc, workspace, error, error_capacity);
    }
    if (plan->converts_source) {
        if (shim_convert_source(plan, src_nhwc, workspace, error, error_capacity) != 0) return -1;
    } else if (dnnl_memory_set_data_handle(plan->src, (void *)src_nhwc) != dnnl_success) {
        return shim_fail(error, error_capacity, "set source", dnnl_runtime_error);
    }
    if (dnnl_memory_set_data_handle(plan->dst, dst_nhwc) != dnnl_success)
        return shim_fail(error, error_capacity, "set destination", dnnl_runtime_error);
    if (plan->residual_as_binary) {
        // Reading the residual while the kernel writes dst is only safe from a separate buffer.
        if (!residual_nhwc || residual_nhwc == dst_nhwc) {
            if (error && error_capacity) snprintf(error, error_capacity, "convolution needs its residual in a separate buffer");
            return -1;
        }
        if (dnnl_memory_set_data_handle(plan->residual, (void *)residual_nhwc) != dnnl_success)
            return shim_fail(error, error_capacity, "set residual", dnnl_runtime_error);
    }
    dnnl_exec_arg_t args[8];
    int count = shim_convolution_arguments(plan, workspace, args, error, error_capacity);
    if (count < 0) return -1;
    dnnl_status_t status = dnnl_primitive_execute(plan->primitive, plan->stream, count, args);
    if (status != dnnl_success) return shim_fail(error, error_capacity, "convolution", status);
    status = dnnl_stream_wait(plan->stream);
    if (status != dnnl_success) return shim_fail(error, error_capacity, "stream wait", status);
    return 0;
}

void md_conv_plan_destroy(md_conv_plan *plan) {
    if (!plan) return;
    if (plan->stream) dnnl_stream_destroy(plan->stream);
    if (plan->src) dnnl_memory_destroy(plan->src);
    if (plan->dst) dnnl_memory_destroy(plan->dst);
    if (plan->weights) dnnl_memory_destroy(plan->weights);
    if (plan->bias) dnnl_memory_destroy(plan->bias);
    if (plan->residual) dnnl_memory_destroy(plan->residual);
    if (plan->zero_point) dnnl_memory_destroy(plan->zero_point);
    if (plan->scratchpad) dnnl_memory_destroy(plan->scratchpad);
    if (plan->user_src) dnnl_memory_destroy(plan->user_src);
    if (plan->user_dst) dnnl_memory_destroy(plan->user_dst);
    if (plan->reorder_in) dnnl_primitive_destroy(plan->reorder_in);
    if (plan->reorder_out) dnnl_primitive_destroy(plan->reorder_out);
    if (plan->reorder_residual) dnnl_primitive_destroy(plan->reorder_residual);
    if (plan->activation) dnnl_primitive_destroy(plan->activation);
    free(plan->own_weights);
    if (plan->primitive) dnnl_primitive_destroy(plan->primitive);
    free(plan);
}

#endif  // __has_include(<oneapi/dnnl/dnnl.h>)
