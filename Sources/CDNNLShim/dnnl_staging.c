// Convolutions run on 8-channel blocked copies of their data where that is faster (AVX2 without
// AVX-512): the source is reordered from NHWC, the destination back to NHWC, and the residual, if any,
// into a blocked buffer the convolution reads as a `binary add` source. All three live in the caller's
// workspace after oneDNN's scratchpad, so they cost one buffer per execution context, not per layer.
#include "dnnl_shim.h"

#if __has_include(<oneapi/dnnl/dnnl.h>)
#include "dnnl_internal.h"

static int staging_preferred = 0;
static pthread_once_t staging_once = PTHREAD_ONCE_INIT;

static void decide_staging(void) {
    const char *forced = getenv("MEGADETECTOR_ONEDNN_LAYOUT");
    if (forced && strcmp(forced, "channels-last") == 0) staging_preferred = 0;
    else if (forced && strcmp(forced, "blocked") == 0) staging_preferred = 1;
    else staging_preferred = (dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx512_core) != dnnl_cpu_isa_avx512_core;
}

// Whether `g` runs faster through 8-channel blocked data than on NHWC directly. Measured with oneDNN
// 2.6 on 2 AVX2 cores, the 3x3 and 6x6 convolutions of MDv5a at 1280x960: 40-50 % less time blocked,
// reorders in and out included; 1x1 ones are slower blocked (the NHWC 1x1 kernel is good). CPUs with
// AVX-512 keep NHWC, as every earlier measurement there used (blocked was not measured on them).
// Forced with MEGADETECTOR_ONEDNN_LAYOUT=channels-last|blocked (for measuring).
int shim_prefers_staging(const md_conv_geometry *g) {
    pthread_once(&staging_once, decide_staging);
    return staging_preferred && g->groups == 1 && (g->kernel_h > 1 || g->kernel_w > 1);
}

static size_t aligned(size_t bytes) { return (bytes + 63) / 64 * 64; }

// A reorder between two layouts of the same tensor that needs no scratchpad (NHWC <-> blocked do not).
// `accumulate`: adds to what the destination holds (a `sum` post-op) instead of overwriting it.
static dnnl_status_t create_reorder(md_desc_ref from, md_desc_ref to, int accumulate, dnnl_primitive_t *reorder) {
    dnnl_status_t status;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t post_ops = NULL;
    if ((status = dnnl_primitive_attr_create(&attr)) != dnnl_success) return status;
    if (accumulate) {
        if ((status = dnnl_post_ops_create(&post_ops)) != dnnl_success || (status = shim_append_sum(post_ops)) != dnnl_success ||
            (status = dnnl_primitive_attr_set_post_ops(attr, post_ops)) != dnnl_success)
            goto done;
    }
    if ((status = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user)) == dnnl_success &&
        (status = dnnl_reorder_primitive_desc_create(&pd, from, shim_engine(), to, shim_engine(), attr)) == dnnl_success) {
        md_desc_ref scratch = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        status = scratch && dnnl_memory_desc_get_size(scratch) > 0 ? dnnl_unimplemented : dnnl_primitive_create(reorder, pd);
    }
done:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (post_ops) dnnl_post_ops_destroy(post_ops);
    dnnl_primitive_attr_destroy(attr);
    return status;
}

// The reorders and workspace layout of a staged plan: [scratchpad][source][destination][residual].
dnnl_status_t shim_prepare_staging(md_conv_plan *plan, const_dnnl_primitive_desc_t pd, int batch, int height, int width) {
    const md_conv_geometry *g = &plan->shared->geometry;
    dnnl_status_t status;
    md_desc_owned user_src_md, user_dst_md;
#if MD_DNNL_V3
    user_src_md = user_dst_md = NULL;
#endif
    dnnl_dims_t src_dims = {batch, g->in_channels, height, width};
    dnnl_dims_t dst_dims = {batch, g->out_channels, plan->out_height, plan->out_width};
    md_desc_ref src_md = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    md_desc_ref dst_md = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    if ((status = shim_desc_create(&user_src_md, 4, src_dims, dnnl_nhwc)) != dnnl_success) goto done;
    if ((status = shim_desc_create(&user_dst_md, 4, dst_dims, dnnl_nhwc)) != dnnl_success) goto done;
    if ((status = dnnl_memory_create(&plan->user_src, MD_REF(user_src_md), shim_engine(), DNNL_MEMORY_NONE)) != dnnl_success) goto done;
    if ((status = dnnl_memory_create(&plan->user_dst, MD_REF(user_dst_md), shim_engine(), DNNL_MEMORY_NONE)) != dnnl_success) goto done;
    size_t cursor = aligned(plan->scratchpad_size);
    if (!dnnl_memory_desc_equal(src_md, MD_REF(user_src_md))) {
        if ((status = create_reorder(MD_REF(user_src_md), src_md, 0, &plan->reorder_in)) != dnnl_success) goto done;
        plan->source_offset = cursor;
        cursor += aligned(dnnl_memory_desc_get_size(src_md));
    }
    // Winograd plans add the residual on the way out, after their separate activation.
    int adds_on_the_way_out = plan->winograd && g->add_residual;
    if ((status = create_reorder(dst_md, MD_REF(user_dst_md), adds_on_the_way_out, &plan->reorder_out)) != dnnl_success) goto done;
    plan->destination_offset = cursor;
    cursor += aligned(dnnl_memory_desc_get_size(dst_md));
    if (plan->winograd && g->activation != MD_ACTIVATION_NONE &&
        (status = shim_create_activation(g->activation, g->activation_alpha, dst_md, &plan->activation)) != dnnl_success)
        goto done;
    if (g->add_residual && !plan->winograd) {
        if ((status = create_reorder(MD_REF(user_dst_md), dst_md, 0, &plan->reorder_residual)) != dnnl_success) goto done;
        plan->residual_offset = cursor;
        cursor += aligned(dnnl_memory_desc_get_size(dst_md));
    }
    plan->workspace_size = cursor;
done:
    shim_desc_release(&user_src_md);
    shim_desc_release(&user_dst_md);
    return status;
}

static dnnl_status_t run_reorder(md_conv_plan *plan, dnnl_primitive_t reorder, dnnl_memory_t from, dnnl_memory_t to) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    return dnnl_primitive_execute(reorder, plan->stream, 2, args);
}

int shim_execute_staged(md_conv_plan *plan, const float *src_nhwc, float *dst_nhwc, char *workspace, char *error,
                          size_t error_capacity) {
    dnnl_status_t status;
    if ((status = dnnl_memory_set_data_handle(plan->user_src, (void *)src_nhwc)) != dnnl_success ||
        (status = dnnl_memory_set_data_handle(plan->user_dst, dst_nhwc)) != dnnl_success ||
        (status = dnnl_memory_set_data_handle(plan->dst, workspace + plan->destination_offset)) != dnnl_success ||
        (status = dnnl_memory_set_data_handle(plan->src, plan->reorder_in ? (void *)(workspace + plan->source_offset)
                                                                            : (void *)src_nhwc)) != dnnl_success)
        return shim_fail(error, error_capacity, "set staged memory", status);
    if (plan->reorder_in && (status = run_reorder(plan, plan->reorder_in, plan->user_src, plan->src)) != dnnl_success)
        return shim_fail(error, error_capacity, "source reorder", status);
    if (plan->reorder_residual) {
        if ((status = dnnl_memory_set_data_handle(plan->residual, workspace + plan->residual_offset)) != dnnl_success)
            return shim_fail(error, error_capacity, "set residual", status);
        if ((status = run_reorder(plan, plan->reorder_residual, plan->user_dst, plan->residual)) != dnnl_success)
            return shim_fail(error, error_capacity, "residual reorder", status);
    }
    dnnl_exec_arg_t args[8];
    int count = shim_convolution_arguments(plan, workspace, args, error, error_capacity);
    if (count < 0) return -1;
    if ((status = dnnl_primitive_execute(plan->primitive, plan->stream, count, args)) != dnnl_success)
        return shim_fail(error, error_capacity, "convolution", status);
    if (plan->activation) {
        dnnl_exec_arg_t activation_args[2] = {{DNNL_ARG_SRC, plan->dst}, {DNNL_ARG_DST, plan->dst}};
        if ((status = dnnl_primitive_execute(plan->activation, plan->stream, 2, activation_args)) != dnnl_success)
            return shim_fail(error, error_capacity, "activation", status);
    }
    if ((status = run_reorder(plan, plan->reorder_out, plan->dst, plan->user_dst)) != dnnl_success)
        return shim_fail(error, error_capacity, "destination reorder", status);
    if ((status = dnnl_stream_wait(plan->stream)) != dnnl_success) return shim_fail(error, error_capacity, "stream wait", status);
    return 0;
}

#endif  // __has_include(<oneapi/dnnl/dnnl.h>)
