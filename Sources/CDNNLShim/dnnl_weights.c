// Convolution weights: reordered once, at load, into the layout oneDNN prefers for the planning shape
// (dnnl_shim.c plans and runs them; include/dnnl_shim.h describes the surface).
#include "dnnl_shim.h"

#if __has_include(<oneapi/dnnl/dnnl.h>)
#include "dnnl_internal.h"

// See md_conv_weights_create. Weak, as in dnnl_shim.c, so that a oneDNN without OpenMP still links.
extern void omp_set_num_threads(int) __attribute__((weak));
extern int omp_get_max_threads(void) __attribute__((weak));

static dnnl_status_t desc_copy(md_desc_owned *copy, md_desc_ref source) {
#if MD_DNNL_V3
    return dnnl_memory_desc_clone(copy, source);
#else
    *copy = *source;
    return dnnl_success;
#endif
}

// Reorders `source` (described by `source_desc`) into a fresh buffer laid out as `target_desc`.
dnnl_status_t shim_reorder_into(md_desc_ref source_desc, const void *source, md_desc_ref target_desc,
                                  void **target) {
    dnnl_status_t status;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t reorder = NULL;
    dnnl_memory_t from = NULL, to = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_memory_t scratch = NULL;
    void *scratch_data = NULL;
    size_t size = dnnl_memory_desc_get_size(target_desc);
    *target = NULL;
    if (posix_memalign(target, 64, size > 0 ? size : 64) != 0) return dnnl_out_of_memory;
    // A scratchpad of its own, for the reason given in shim_create_conv_pd (user scratchpad).
    if ((status = dnnl_primitive_attr_create(&attr)) != dnnl_success) goto done;
    if ((status = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user)) != dnnl_success) goto done;
    if ((status = dnnl_reorder_primitive_desc_create(&pd, source_desc, shim_engine(), target_desc, shim_engine(),
                                                     attr)) != dnnl_success)
        goto done;
    if ((status = dnnl_primitive_create(&reorder, pd)) != dnnl_success) goto done;
    if ((status = dnnl_memory_create(&from, source_desc, shim_engine(), (void *)source)) != dnnl_success) goto done;
    if ((status = dnnl_memory_create(&to, target_desc, shim_engine(), *target)) != dnnl_success) goto done;
    if ((status = dnnl_stream_create(&stream, shim_engine(), dnnl_stream_default_flags)) != dnnl_success) goto done;
    {
        md_desc_ref scratch_md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        size_t scratch_size = scratch_md ? dnnl_memory_desc_get_size(scratch_md) : 0;
        int count = 2;
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}, {0, NULL}};
        if (scratch_size > 0) {
            if (posix_memalign(&scratch_data, 64, scratch_size) != 0) {
                status = dnnl_out_of_memory;
                goto done;
            }
            if ((status = dnnl_memory_create(&scratch, scratch_md, shim_engine(), scratch_data)) != dnnl_success) goto done;
            args[count].arg = DNNL_ARG_SCRATCHPAD;
            args[count].memory = scratch;
            count++;
        }
        if ((status = dnnl_primitive_execute(reorder, stream, count, args)) != dnnl_success) goto done;
        status = dnnl_stream_wait(stream);
    }
done:
    if (scratch) dnnl_memory_destroy(scratch);
    free(scratch_data);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (stream) dnnl_stream_destroy(stream);
    if (from) dnnl_memory_destroy(from);
    if (to) dnnl_memory_destroy(to);
    if (reorder) dnnl_primitive_destroy(reorder);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (status != dnnl_success) {
        free(*target);
        *target = NULL;
    }
    return status;
}

// Reorders float32 (g)oihw weights into `target` (a fresh buffer).
dnnl_status_t shim_reorder_plain_weights(const md_conv_geometry *g, const float *weights_oihw, md_desc_ref target,
                                           void **result) {
    md_desc_owned plain_md;
#if MD_DNNL_V3
    plain_md = NULL;
#endif
    dnnl_dims_t w_dims;
    int w_ndims = shim_weights_dims(g, w_dims);
    dnnl_status_t status = shim_desc_create(&plain_md, w_ndims, w_dims, w_ndims == 5 ? dnnl_goihw : dnnl_oihw);
    if (status == dnnl_success) status = shim_reorder_into(MD_REF(plain_md), weights_oihw, target, result);
    shim_desc_release(&plain_md);
    return status;
}

// A layer that may run through Winograd at some input size keeps its float32 weights in plain order:
// Winograd layouts depend on the size and do not reorder into one another (nor back), so a plan for
// another size starts from this copy. Every other layout reorders from the prepared weights, so nothing
// here needs the caller's float32 weights after creation (Network.releasingGraphWeights frees the
// graph's copy: for MDv5a 560 MB released against ~75 MB kept here).
static int keep_float32_weights(md_conv_weights *weights, const float *weights_oihw, char *error, size_t error_capacity) {
    const md_conv_geometry *g = &weights->geometry;
    if (weights->plain_weights || !shim_prefers_winograd(g) || !md_dnnl_has_winograd()) return 0;
    dnnl_dims_t dims;
    int ndims = shim_weights_dims(g, dims);
    size_t count = 1;
    for (int axis = 0; axis < ndims; axis++) count *= (size_t)dims[axis];
    if (posix_memalign(&weights->plain_weights, 64, sizeof(float) * count) != 0) {
        weights->plain_weights = NULL;
        return shim_fail(error, error_capacity, "float32 weights copy", dnnl_out_of_memory);
    }
    memcpy(weights->plain_weights, weights_oihw, sizeof(float) * count);
    dnnl_status_t status = shim_desc_create(&weights->plain_desc, ndims, dims, ndims == 5 ? dnnl_goihw : dnnl_oihw);
    if (status != dnnl_success) return shim_fail(error, error_capacity, "float32 weights descriptor", status);
    return 0;
}

static md_conv_weights *create_weights(const md_conv_geometry *geometry, const float *weights_oihw, const float *bias,
                                       int plan_batch, int plan_height, int plan_width, char *error,
                                       size_t error_capacity) {
    md_conv_weights *result = NULL;
    dnnl_primitive_desc_t pd = NULL;
    if (!shim_engine()) {
        shim_fail(error, error_capacity, "engine creation", dnnl_runtime_error);
        return NULL;
    }
    result = calloc(1, sizeof(*result));
    if (!result) return NULL;
    result->geometry = *geometry;
    if (posix_memalign((void **)&result->bias, 64, sizeof(float) * (size_t)geometry->out_channels) != 0) {
        shim_fail(error, error_capacity, "bias allocation", dnnl_out_of_memory);
        goto cleanup;
    }
    if (bias) memcpy(result->bias, bias, sizeof(float) * (size_t)geometry->out_channels);
    else memset(result->bias, 0, sizeof(float) * (size_t)geometry->out_channels);
    if (shim_prepare_precision_weights(result, weights_oihw, error, error_capacity) != 0) goto cleanup;
    if (keep_float32_weights(result, weights_oihw, error, error_capacity) != 0) goto cleanup;
    int residual_as_binary, staged, winograd;
    CHECK(shim_choose_conv_pd(result, plan_batch > 0 ? plan_batch : 1, plan_height, plan_width, &pd, &residual_as_binary,
                              &staged, &winograd),
          "convolution descriptor");
    {
        md_desc_ref chosen = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        CHECK(desc_copy(&result->weights_desc, chosen), "weights descriptor copy");
        // int8 reorders from its quantized plain copy, Winograd candidates from their float32 copy; the
        // others from the caller's float32 (the reorder converts to bf16).
        if (result->plain_weights)
            CHECK(shim_reorder_into(MD_REF(result->plain_desc), result->plain_weights, MD_REF(result->weights_desc), &result->weights),
                  "weights reorder");
        else
            CHECK(shim_reorder_plain_weights(geometry, weights_oihw, MD_REF(result->weights_desc), &result->weights),
                  "weights reorder");
    }
    {
        // Generate the kernel for the planning shape now: oneDNN's primitive cache keeps it, so the
        // first photo of that size (the usual one) does not pay for code generation.
        dnnl_primitive_t warm = NULL;
        if (dnnl_primitive_create(&warm, pd) == dnnl_success) dnnl_primitive_destroy(warm);
    }
    dnnl_primitive_desc_destroy(pd);
    return result;

cleanup:
    if (pd) dnnl_primitive_desc_destroy(pd);
    md_conv_weights_destroy(result);
    return NULL;
}

// The Network prepares its convolutions several at a time, one per core (DispatchQueue.concurrentPerform);
// oneDNN's OpenMP team inside each would put two threads on every core, spinning at each other's
// barriers: measured on 2 cores, the Winograd weight reorders took 1.8 times as long. So a preparation
// runs on its calling thread alone, and that thread's own setting is restored afterwards (it is a
// dispatch worker that may later run other oneDNN work).
md_conv_weights *md_conv_weights_create(const md_conv_geometry *geometry, const float *weights_oihw,
                                        const float *bias, int plan_batch, int plan_height, int plan_width,
                                        char *error, size_t error_capacity) {
    int threads = omp_get_max_threads && omp_set_num_threads ? omp_get_max_threads() : 0;
    if (threads > 1) omp_set_num_threads(1);
    md_conv_weights *result = create_weights(geometry, weights_oihw, bias, plan_batch, plan_height, plan_width, error,
                                             error_capacity);
    if (threads > 1) omp_set_num_threads(threads);
    return result;
}

void md_conv_weights_destroy(md_conv_weights *weights) {
    if (!weights) return;
    free(weights->weights);
    free(weights->bias);
    free(weights->output_scales);
    free(weights->plain_weights);
    if (weights->plain_weights) shim_desc_release(&weights->plain_desc);
    shim_desc_release(&weights->weights_desc);
    free(weights);
}

#endif  // __has_include(<oneapi/dnnl/dnnl.h>)
