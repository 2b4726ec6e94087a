// Winograd plans: float32 3x3 stride-1 convolutions through oneDNN's F(4x4, 3x3) Winograd kernel
// (jit_wino_4x3, AVX-512 only; oneDNN takes F(2x2, 3x3) for small inputs), which does 2.25
// multiplications per output where the direct kernel does 9. Measured with oneDNN 2.6 on 2 AVX-512
// cores (Zen 4), MDv5a's bottleneck shapes at 1280x960: 80 channels at 320x240 45 -> 26 ms, 160 at
// 160x120 44 -> 18 ms, 320 at 80x60 45 -> 16 ms, reorders and activation included; the whole forward
// pass 3.1-3.3 s -> 2.3-2.5 s. The price: load takes ~0.3 s longer (oneDNN's reorder into Winograd
// weights costs 25-40 ms per 320 x 320 layer) and peak memory grows from 1.50 to 1.85 GB (below).
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
// keeps about four fifths of the time `all` saves (0.85 of 1.05 s per pass) for a third of its weight
// growth (0.34 of 1.08 GB). MEGADETECTOR_ONEDNN_WINOGRAD=off|all
// overrides that (for measuring; `all` drops both limits).
//
// Numerics: Winograd sums in another order and through the transform; the error stays at float32's
// order (README, "Numerical fidelity of the engine": against float64, 0.0035 px where the direct
// kernels give 0.0040 and PyTorch 0.0031).
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

static int winograd_affordable(const_dnnl_primitive_desc_t pd) {
    if (winograd_mode != winograd_narrow) return 1;
    md_desc_ref scratch = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    return !scratch || dnnl_memory_desc_get_size(scratch) <= winograd_max_scratchpad;
}

static int winograd_offered = 0;
static pthread_once_t offered_once = PTHREAD_ONCE_INIT;

static void probe_winograd(void) {
    // A 16-channel layer on a small input: whether this oneDNN offers the kernel on this CPU (and
    // MEGADETECTOR_ONEDNN_WINOGRAD does not switch it off).
    md_conv_geometry g = {.in_channels = 16, .out_channels = 16, .kernel_h = 3, .kernel_w = 3, .stride_h = 1,
                          .stride_w = 1, .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1,
                          .dilation_h = 1, .dilation_w = 1, .groups = 1};
    dnnl_primitive_desc_t pd = NULL;
    if (!shim_engine() || !shim_prefers_winograd(&g)) return;
    if (shim_create_conv_pd(&g, NULL, 1, 16, 16, 0, 1, 1, &pd) != dnnl_success) return;
    dnnl_primitive_desc_destroy(pd);
    winograd_offered = 1;
}

// Asked once per convolution at load (dnnl_weights.c), so probed once.
int md_dnnl_has_winograd(void) {
    pthread_once(&offered_once, probe_winograd);
    return winograd_offered;
}

dnnl_status_t shim_create_winograd_pd(const md_conv_geometry *g, const float *output_scales, int batch, int height,
                                      int width, dnnl_primitive_desc_t *pd) {
    *pd = NULL;
    if (!shim_prefers_winograd(g) || !md_dnnl_has_winograd()) return dnnl_unimplemented;
    dnnl_status_t status = shim_create_conv_pd(g, output_scales, batch, height, width, 0, 1, 1, pd);
    if (status != dnnl_success) return status;
    if (winograd_affordable(*pd)) return dnnl_success;
    dnnl_primitive_desc_destroy(*pd);
    *pd = NULL;
    return dnnl_unimplemented;
}

int md_conv_takes_winograd(const md_conv_geometry *geometry, int batch, int height, int width) {
    md_conv_geometry g = *geometry;
    g.precision = MD_PRECISION_FP32;
    dnnl_primitive_desc_t pd = NULL;
    if (shim_create_winograd_pd(&g, NULL, batch, height, width, &pd) != dnnl_success) return 0;
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
