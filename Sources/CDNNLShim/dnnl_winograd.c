// Winograd plans: float32 3x3 stride-1 convolutions through oneDNN's F(4x4, 3x3) Winograd kernel
// (jit_wino_4x3, AVX-512 only), which does 2.25 multiplications per output where the direct kernel
// does 9. Measured with oneDNN 2.6 on 2 AVX-512 cores (Zen 4), MDv5a's bottleneck shapes at 1280x960:
// 80 channels at 320x240 45 -> 26 ms, 160 at 160x120 44 -> 18 ms, 320 at 80x60 45 -> 16 ms, reorders
// and activation included.
//
// The kernel takes no SiLU post-op (only ReLU and sum), so a Winograd plan is a staged plan (see
// dnnl_staging.c) of four primitives: the NHWC source reordered into 16-channel blocks, the
// convolution, the activation as its own eltwise primitive on the blocked result (oneDNN's same JIT
// code as the post-op), and the reorder back to NHWC, which adds the residual already in the
// destination with a `sum` post-op. The order of operations is the model's: act(conv + bias) + residual.
//
// Memory: Winograd weights hold a 6x6 tile per 3x3 kernel, four times the float32 weights. The wide
// layers gain least (their activations are small) and cost most, so only layers with at most
// 320 x 320 channels take this path, and only where the scratchpad stays under 80 MB (below): MDv5a
// keeps about 85 % of the gain for a quarter of the weight growth. MEGADETECTOR_ONEDNN_WINOGRAD=off|all
// overrides that (for measuring; `all` drops both limits).
//
// Numerics: Winograd sums in another order and through the transform; the error stays at float32's
// order (the parity tests and the float64 comparison say how far).
#include "dnnl_shim.h"

#if __has_include(<oneapi/dnnl/dnnl.h>)
#include "dnnl_internal.h"

enum { winograd_off = 0, winograd_narrow = 1, winograd_all = 2 };
static int winograd_mode = winograd_narrow;
static pthread_once_t winograd_once = PTHREAD_ONCE_INIT;

/// The widest layer (input x output channels) that takes the Winograd path by default.
static const long winograd_max_channel_product = 320L * 320L;
/// The largest scratchpad (tiles transformed in and out) a Winograd plan may take by default. Large
/// activations with few channels need the most and gain least: MDv5a's four 80-channel layers at 320x240
/// would take 118 MB (the shared workspace is as large as its largest user) to save ~50 ms in all.
static const size_t winograd_max_scratchpad = 80UL << 20;

static void decide_winograd(void) {
    const char *forced = getenv("MEGADETECTOR_ONEDNN_WINOGRAD");
    if (forced && strcmp(forced, "off") == 0) winograd_mode = winograd_off;
    else if (forced && strcmp(forced, "all") == 0) winograd_mode = winograd_all;
    else winograd_mode = winograd_narrow;
}

int shim_prefers_winograd(const md_conv_geometry *g) {
    pthread_once(&winograd_once, decide_winograd);
    if (winograd_mode == winograd_off) return 0;
    if (g->precision != MD_PRECISION_FP32 || g->groups != 1) return 0;
    if (g->kernel_h != 3 || g->kernel_w != 3 || g->stride_h != 1 || g->stride_w != 1) return 0;
    if (g->dilation_h != 1 || g->dilation_w != 1) return 0;
    if (g->in_channels % 16 != 0 || g->out_channels % 16 != 0) return 0;
    // The destination reorder can add the residual, not activate the sum.
    if (g->add_residual && g->residual_activation != MD_ACTIVATION_NONE) return 0;
    if (winograd_mode == winograd_narrow && (long)g->in_channels * g->out_channels > winograd_max_channel_product) return 0;
    return 1;
}

dnnl_status_t shim_create_winograd_pd(const md_conv_geometry *g, int batch, int height, int width,
                                      dnnl_primitive_desc_t *pd) {
    dnnl_status_t status;
    int out_h = height + g->pad_top + g->pad_bottom - 2;
    int out_w = width + g->pad_left + g->pad_right - 2;
    dnnl_dims_t src_dims = {batch, g->in_channels, height, width};
    dnnl_dims_t dst_dims = {batch, g->out_channels, out_h, out_w};
    dnnl_dims_t bias_dims = {g->out_channels};
    dnnl_dims_t w_dims = {g->out_channels, g->in_channels, 3, 3};
    dnnl_dims_t strides = {1, 1};
    dnnl_dims_t pad_l = {g->pad_top, g->pad_left};
    dnnl_dims_t pad_r = {g->pad_bottom, g->pad_right};
    md_desc_owned src_md, dst_md, bias_md, w_md;
#if MD_DNNL_V3
    src_md = dst_md = bias_md = w_md = NULL;
#endif
    dnnl_primitive_attr_t attr = NULL;
    *pd = NULL;
    if ((status = shim_desc_create(&src_md, 4, src_dims, dnnl_aBcd16b)) != dnnl_success) goto done;
    if ((status = shim_desc_create(&dst_md, 4, dst_dims, dnnl_aBcd16b)) != dnnl_success) goto done;
    if ((status = shim_desc_create(&bias_md, 1, bias_dims, dnnl_a)) != dnnl_success) goto done;
    if ((status = shim_desc_create(&w_md, 4, w_dims, dnnl_format_tag_any)) != dnnl_success) goto done;
    if ((status = dnnl_primitive_attr_create(&attr)) != dnnl_success) goto done;
    // User scratchpad, for the reason given in create_conv_pd_with (dnnl_shim.c).
    if ((status = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user)) != dnnl_success) goto done;
#if MD_DNNL_V3
    status = dnnl_convolution_forward_primitive_desc_create(pd, shim_engine(), dnnl_forward_inference,
                                                            dnnl_convolution_winograd, src_md, w_md, bias_md, dst_md,
                                                            strides, NULL, pad_l, pad_r, attr);
#else
    {
        dnnl_convolution_desc_t conv_desc;
        status = dnnl_convolution_forward_desc_init(&conv_desc, dnnl_forward_inference, dnnl_convolution_winograd,
                                                    &src_md, &w_md, &bias_md, &dst_md, strides, pad_l, pad_r);
        if (status == dnnl_success) status = dnnl_primitive_desc_create(pd, &conv_desc, attr, shim_engine(), NULL);
    }
#endif
    if (status == dnnl_success && winograd_mode == winograd_narrow) {
        md_desc_ref scratch = dnnl_primitive_desc_query_md(*pd, dnnl_query_scratchpad_md, 0);
        if (scratch && dnnl_memory_desc_get_size(scratch) > winograd_max_scratchpad) {
            dnnl_primitive_desc_destroy(*pd);
            *pd = NULL;
            status = dnnl_unimplemented;
        }
    }
done:
    if (attr) dnnl_primitive_attr_destroy(attr);
    shim_desc_release(&src_md);
    shim_desc_release(&dst_md);
    shim_desc_release(&bias_md);
    shim_desc_release(&w_md);
    return status;
}

int md_dnnl_has_winograd(void) {
    // A 16-channel layer on a small input: whether this oneDNN offers the kernel on this CPU at all.
    md_conv_geometry g = {.in_channels = 16, .out_channels = 16, .kernel_h = 3, .kernel_w = 3, .stride_h = 1,
                          .stride_w = 1, .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1,
                          .dilation_h = 1, .dilation_w = 1, .groups = 1};
    dnnl_primitive_desc_t pd = NULL;
    if (!shim_engine() || shim_create_winograd_pd(&g, 1, 16, 16, &pd) != dnnl_success) return 0;
    dnnl_primitive_desc_destroy(pd);
    return 1;
}

dnnl_status_t shim_create_activation(int activation, float relu_alpha, md_desc_ref data, dnnl_primitive_t *primitive) {
    dnnl_status_t status;
    dnnl_alg_kind_t alg;
    float alpha, beta;
    dnnl_primitive_desc_t pd = NULL;
    if ((status = shim_activation_kind(activation, relu_alpha, &alg, &alpha, &beta)) != dnnl_success) return status;
#if MD_DNNL_V3
    status = dnnl_eltwise_forward_primitive_desc_create(&pd, shim_engine(), dnnl_forward_inference, alg, data, data,
                                                        alpha, beta, NULL);
#else
    {
        dnnl_eltwise_desc_t eltwise_desc;
        status = dnnl_eltwise_forward_desc_init(&eltwise_desc, dnnl_forward_inference, alg, data, alpha, beta);
        if (status == dnnl_success) status = dnnl_primitive_desc_create(&pd, &eltwise_desc, NULL, shim_engine(), NULL);
    }
#endif
    if (status != dnnl_success) return status;
    md_desc_ref scratch = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    status = scratch && dnnl_memory_desc_get_size(scratch) > 0 ? dnnl_unimplemented : dnnl_primitive_create(primitive, pd);
    dnnl_primitive_desc_destroy(pd);
    return status;
}

#endif  // __has_include(<oneapi/dnnl/dnnl.h>)
