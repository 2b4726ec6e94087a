// A small, stable C surface over oneDNN for the Swift engine.
//
// Why a shim: Debian ships oneDNN 2.6 and Homebrew ships 3.x, whose C APIs differ (memory descriptors
// became handles, primitive-descriptor creation changed). Everything version-specific stays in
// dnnl_shim.c; Swift sees only these opaque handles and plain numbers.
#ifndef MEGADETECTOR_DNNL_SHIM_H
#define MEGADETECTOR_DNNL_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Activation applied after the convolution (and bias), before an optional residual sum.
typedef enum {
    MD_ACTIVATION_NONE = 0,
    MD_ACTIVATION_SILU = 1,       // x * sigmoid(x)
    MD_ACTIVATION_RELU = 2,       // max(x, 0) + alpha * min(x, 0) (alpha = 0: ReLU, else LeakyReLU)
    MD_ACTIVATION_SIGMOID = 3,
    MD_ACTIVATION_HARDSWISH = 4,  // x * relu6(x + 3) / 6
} md_activation;

/// Arithmetic of a convolution. Activations between layers stay float32 NHWC in every mode; a
/// reduced-precision convolution converts its source on the way in and writes float32.
typedef enum {
    MD_PRECISION_FP32 = 0,
    MD_PRECISION_BF16 = 1,  // bf16 source and weights, float32 accumulation and destination
    MD_PRECISION_INT8 = 2,  // u8 source over the calibrated [input_min, input_max] with a zero point,
                            // s8 weights scaled per output channel (max |w| -> 127), int32
                            // accumulation, float32 destination (dnnl_precision.c says more)
} md_precision;

/// Geometry, fused epilogue and arithmetic of one 2-D convolution; activations are NHWC float32.
typedef struct {
    int in_channels, out_channels;
    int kernel_h, kernel_w;
    int stride_h, stride_w;
    int pad_top, pad_left, pad_bottom, pad_right;
    int dilation_h, dilation_w;  // 1 = dense (PyTorch convention)
    int groups;
    int activation;              // md_activation
    float activation_alpha;
    int add_residual;            // dst = activation(conv(src) + bias) + dst_before
    int residual_activation;     // md_activation applied to that sum (with add_residual only)
    float residual_activation_alpha;
    int precision;               // md_precision (0: float32)
    float input_min, input_max;  // MD_PRECISION_INT8: the calibrated range of the source
    float input_scale;           // set by the shim: q = round(x * input_scale) + input_zero_point
    int input_zero_point;
} md_conv_geometry;

typedef struct md_conv_weights md_conv_weights;
typedef struct md_conv_plan md_conv_plan;

/// 1 when the oneDNN CPU engine could be created.
int md_dnnl_available(void);
/// oneDNN's runtime version.
void md_dnnl_version(int *major, int *minor, int *patch);
/// 1 when this CPU has native bf16 arithmetic oneDNN uses (AVX512-BF16 or AMX): without it oneDNN
/// either refuses bf16 convolutions or emulates them more slowly than float32.
int md_dnnl_has_native_bf16(void);
/// 1 when int8 convolutions can run on oneDNN's JIT kernels here (AVX2 or newer; VNNI makes them faster).
int md_dnnl_has_int8_kernels(void);
/// 1 with VNNI (AVX512-VNNI or AVX-VNNI): int8 products are summed in 32 bits, not 16.
int md_dnnl_has_vnni(void);
/// 1 when oneDNN offers its float32 Winograd convolution on this CPU (AVX-512 in oneDNN 2.x) and it is
/// not switched off; 3x3 stride-1 layers then run through it where dnnl_winograd.c's rules allow.
int md_dnnl_has_winograd(void);
/// 1 when this convolution, in float32, runs through the Winograd kernel for this input shape (the rules
/// of dnnl_winograd.c). bf16 networks keep such layers in float32: fewer multiplications than bf16's
/// direct kernels, and float32's rounding.
int md_conv_takes_winograd(const md_conv_geometry *geometry, int batch, int height, int width);
/// Sets the number of threads oneDNN uses (OpenMP builds); ignored elsewhere.
void md_dnnl_set_threads(int threads);

/// Reorders OIHW (or G,O/G,I/G,H,W) float32 weights once into the layout oneDNN prefers for this
/// convolution, planned for a representative input shape (batch, height, width): the layout depends on
/// the batch too. Returns NULL and fills `error` on failure.
md_conv_weights *md_conv_weights_create(const md_conv_geometry *geometry, const float *weights_oihw,
                                        const float *bias, int plan_batch, int plan_height, int plan_width,
                                        char *error, size_t error_capacity);
void md_conv_weights_destroy(md_conv_weights *weights);

/// A ready-to-run primitive for one input shape. Reuses the reordered weights when the layout matches,
/// otherwise keeps its own reordered copy. Needs nothing but `weights`: the float32 weights given to
/// md_conv_weights_create may be freed once it returns (layers whose layouts do not reorder into one
/// another, Winograd's and int8's, keep a plain copy of their own).
md_conv_plan *md_conv_plan_create(const md_conv_weights *weights, int batch, int height, int width, char *error,
                                  size_t error_capacity);
void md_conv_plan_output_size(const md_conv_plan *plan, int *height, int *width);
/// 1 when the residual is accumulated into `dst` (pass it there, `residual_nhwc` NULL); 0 when the
/// kernel reads it from its own buffer (`residual_nhwc`, which must not be `dst`).
int md_conv_plan_residual_in_place(const md_conv_plan *plan);
/// oneDNN's name for the kernel this plan runs ("jit:avx2", "brgconv:avx512_core", "ref:any", ...).
const char *md_conv_plan_implementation(const md_conv_plan *plan);
/// Bytes of working memory the convolution needs (64-byte aligned), passed to md_conv_plan_execute:
/// oneDNN's scratchpad and, on CPUs where blocked data is faster, the blocked copies of the source,
/// destination and residual. One buffer may serve every plan run by the same thread, one at a time.
size_t md_conv_plan_workspace_size(const md_conv_plan *plan);
/// Runs the convolution. With add_residual, the residual is in `dst` (in place) or in `residual_nhwc`,
/// as md_conv_plan_residual_in_place says. `workspace`: at least md_conv_plan_workspace_size bytes.
int md_conv_plan_execute(md_conv_plan *plan, const float *src_nhwc, const float *residual_nhwc, float *dst_nhwc,
                         void *workspace, char *error, size_t error_capacity);
void md_conv_plan_destroy(md_conv_plan *plan);

#ifdef __cplusplus
}
#endif

#endif
