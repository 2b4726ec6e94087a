// Reduced-precision convolutions (int8, bf16). Why this shape: everything between convolutions (concat,
// upsampling, pooling, the detection head's decode, NMS) stays float32, so a reduced-precision
// convolution converts its float32 NHWC source on the way in (a oneDNN reorder into the workspace) and
// writes float32 with the usual fused epilogue. Measured with oneDNN 2.6 on 2 AVX2 cores (no VNNI),
// MDv5a-sized 3x3 layers: s8 convolutions run 2-3x faster than float32 ones, and the conversion costs
// far less than that saves.
//
// int8 arithmetic (oneDNN 2.x semantics): dst = output_scale[o] * (sum_s32 + bias'[o]), where the sum
// is over (q - zero_point) * w, output_scale[o] = weight_scale[o] / input_scale and bias'[o] =
// bias[o] / output_scale[o], so that dst = sum(x * w) + bias up to rounding. Weights are symmetric per
// output channel (max |w| -> 127). The source is asymmetric u8 over its calibrated [min, max]: why not
// symmetric s8: activations after SiLU lie in [-0.28, max], so s8 would spend half its levels on
// values that never occur, and on CPUs without VNNI oneDNN halves s8-source weights to 63 levels to
// avoid overflow in its 16-bit intermediate sums. Measured on the trained YOLOX-Nano, s8 lost a third
// of the detections. Without VNNI the u8 path has the same overflow (a pair of products u8 * s8 is
// summed in 16 bits: 255 * 127 * 2 > 32767, measured: errors of 20 % of the output on uniform data),
// so there the source uses 128 levels (0...127: 127 * 127 * 2 fits) and the weights keep all 255;
// with VNNI (32-bit sums) the source uses all 256.
#include "dnnl_shim.h"

#if __has_include(<oneapi/dnnl/dnnl.h>)
#include "dnnl_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <math.h>

static int isa_has(dnnl_cpu_isa_t wanted) {
    return (dnnl_get_effective_cpu_isa() & wanted) == wanted;
}

int md_dnnl_has_native_bf16(void) {
    return isa_has(dnnl_cpu_isa_avx512_core_bf16) || isa_has(dnnl_cpu_isa_avx512_core_amx);
}

int md_dnnl_has_int8_kernels(void) { return isa_has(dnnl_cpu_isa_avx2); }

int md_dnnl_has_vnni(void) { return isa_has(dnnl_cpu_isa_avx512_core_vnni) || isa_has(dnnl_cpu_isa_avx2_vnni); }

dnnl_data_type_t shim_source_type(const md_conv_geometry *g) {
    return g->precision == MD_PRECISION_INT8 ? dnnl_u8 : shim_compute_type(g);
}

dnnl_data_type_t shim_compute_type(const md_conv_geometry *g) {
    switch (g->precision) {
    case MD_PRECISION_INT8: return dnnl_s8;
    case MD_PRECISION_BF16: return dnnl_bf16;
    default: return dnnl_f32;
    }
}

dnnl_status_t shim_set_precision_attributes(dnnl_primitive_attr_t attr, const md_conv_geometry *g, const float *output_scales) {
    if (!output_scales) return dnnl_success;
#if MD_DNNL_V3
    (void)attr;
    (void)g;
    return dnnl_unimplemented;  // 3.x moved scales to runtime arguments with other semantics
#else
    // Mask 1 << 1: one scale per index of the destination's channel dimension (groups included).
    dnnl_status_t status = dnnl_primitive_attr_set_output_scales(attr, g->out_channels, 1 << 1, output_scales);
    if (status != dnnl_success) return status;
    // Convolutions take the source zero point at run time only (a one-value s32 memory).
    const int32_t runtime = DNNL_RUNTIME_S32_VAL;
    return dnnl_primitive_attr_set_zero_points(attr, DNNL_ARG_SRC, 1, 0, &runtime);
#endif
}

int shim_prepare_precision_weights(md_conv_weights *weights, const float *weights_oihw, char *error, size_t error_capacity) {
    const md_conv_geometry *g = &weights->geometry;
    if (g->precision != MD_PRECISION_INT8) return 0;
#if MD_DNNL_V3
    return shim_fail(error, error_capacity, "int8 convolution (not built for oneDNN 3.x)", dnnl_unimplemented);
#else
    md_conv_geometry *geometry = &weights->geometry;
    // The range always contains 0 (padding is 0 and must be exact), and is never empty.
    float low = fminf(g->input_min, 0.0f), high = fmaxf(g->input_max, 0.0f);
    if (!isfinite(low) || !isfinite(high) || !(high - low > 0)) {
        if (error && error_capacity)
            snprintf(error, error_capacity, "int8 convolution needs a finite, non-empty source range, got [%g, %g]", g->input_min, g->input_max);
        return -1;
    }
    const float levels = md_dnnl_has_vnni() ? 255.0f : 127.0f;
    geometry->input_scale = levels / (high - low);
    geometry->input_zero_point = (int)nearbyintf(-low * geometry->input_scale);
    const int outputs = g->out_channels;
    const size_t per_output = (size_t)(g->in_channels / g->groups) * (size_t)g->kernel_h * (size_t)g->kernel_w;
    int8_t *quantized = NULL;
    weights->output_scales = malloc(sizeof(float) * (size_t)outputs);
    if (posix_memalign((void **)&quantized, 64, per_output * (size_t)outputs + 64) != 0 || !weights->output_scales) {
        free(quantized);
        return shim_fail(error, error_capacity, "int8 weights allocation", dnnl_out_of_memory);
    }
    weights->plain_weights = quantized;
    for (int o = 0; o < outputs; o++) {
        const float *row = weights_oihw + (size_t)o * per_output;
        float largest = 0;
        for (size_t i = 0; i < per_output; i++) largest = fmaxf(largest, fabsf(row[i]));
        // An all-zero filter keeps scale 1 (any scale gives zeros).
        float weight_scale = largest > 0 ? largest / 127.0f : 1.0f;
        for (size_t i = 0; i < per_output; i++) {
            float q = nearbyintf(row[i] / weight_scale);
            quantized[(size_t)o * per_output + i] = (int8_t)fmaxf(-127.0f, fminf(127.0f, q));
        }
        float output_scale = weight_scale / g->input_scale;
        weights->output_scales[o] = output_scale;
        weights->bias[o] /= output_scale;
    }
    dnnl_dims_t dims;
    int ndims = shim_weights_dims(g, dims);
    dnnl_status_t status = shim_desc_create_typed(&weights->plain_desc, ndims, dims, dnnl_s8, ndims == 5 ? dnnl_goihw : dnnl_oihw);
    if (status != dnnl_success) return shim_fail(error, error_capacity, "int8 weights descriptor", status);
    return 0;
#endif
}

static size_t aligned(size_t bytes) { return (bytes + 63) / 64 * 64; }

dnnl_status_t shim_prepare_source_conversion(md_conv_plan *plan, const_dnnl_primitive_desc_t pd, int batch, int height,
                                             int width) {
    const md_conv_geometry *g = &plan->shared->geometry;
    dnnl_status_t status;
    md_desc_owned user_md;
#if MD_DNNL_V3
    user_md = NULL;
#endif
    dnnl_primitive_desc_t reorder_pd = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_dims_t dims = {batch, g->in_channels, height, width};
    md_desc_ref src_md = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    plan->converts_source = 1;
    plan->source_ceiling = md_dnnl_has_vnni() ? 255.0f : 127.0f;
    plan->source_count = (size_t)batch * (size_t)g->in_channels * (size_t)height * (size_t)width;
    plan->source_offset = aligned(plan->scratchpad_size);
    plan->workspace_size = plan->source_offset + aligned(dnnl_memory_desc_get_size(src_md));
    if (g->precision == MD_PRECISION_INT8) {
        // Quantized by shim_convert_source's own loop (a reorder cannot add the zero point in 2.x
        // without a runtime argument of its own); the zero point goes to the convolution.
        dnnl_dims_t one = {1};
        md_desc_owned zero_point_md;
#if MD_DNNL_V3
        zero_point_md = NULL;
#endif
        if ((status = shim_desc_create_typed(&zero_point_md, 1, one, dnnl_s32, dnnl_a)) != dnnl_success) goto done;
        plan->zero_point_value = g->input_zero_point;
        status = dnnl_memory_create(&plan->zero_point, MD_REF(zero_point_md), shim_engine(), &plan->zero_point_value);
        shim_desc_release(&zero_point_md);
        goto done;
    }
    if ((status = shim_desc_create(&user_md, 4, dims, dnnl_nhwc)) != dnnl_success) goto done;
    if ((status = dnnl_memory_create(&plan->user_src, MD_REF(user_md), shim_engine(), DNNL_MEMORY_NONE)) != dnnl_success) goto done;
    if ((status = dnnl_primitive_attr_create(&attr)) != dnnl_success) goto done;
    if ((status = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user)) != dnnl_success) goto done;
    if ((status = dnnl_reorder_primitive_desc_create(&reorder_pd, MD_REF(user_md), shim_engine(), src_md, shim_engine(), attr)) !=
        dnnl_success)
        goto done;
    {
        md_desc_ref scratch = dnnl_primitive_desc_query_md(reorder_pd, dnnl_query_scratchpad_md, 0);
        if (scratch && dnnl_memory_desc_get_size(scratch) > 0) {
            status = dnnl_unimplemented;  // conversions of plain layouts need none; we give none
            goto done;
        }
    }
    status = dnnl_primitive_create(&plan->reorder_in, reorder_pd);
done:
    if (reorder_pd) dnnl_primitive_desc_destroy(reorder_pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    shim_desc_release(&user_md);
    return status;
}

// q = clamp(round(x * scale) + zero_point, 0, ceiling): the +0.5 bias, then truncation of a
// non-negative value. One element; the loops below apply it.
static inline uint8_t quantize_one(float x, float scale, float offset, float ceiling) {
    float v = x * scale + offset;
    v = v < 0.0f ? 0.0f : (v > ceiling ? ceiling : v);
    return (uint8_t)v;
}

// The same arithmetic 32 values at a time (multiply, then add: no FMA, so each value rounds exactly as
// quantize_one's). Why by hand: the package builds for baseline x86-64, where the compiler keeps this
// loop scalar, and it runs over every int8 convolution's whole source. int8 runs only where oneDNN has
// AVX2 kernels (md_dnnl_has_int8_kernels), so AVX2 is there whenever this is called.
#if defined(__x86_64__)
__attribute__((target("avx2"))) static void quantize_avx2(const float *source, uint8_t *target, size_t count, float scale,
                                                          float offset, float ceiling) {
    const __m256 s = _mm256_set1_ps(scale), o = _mm256_set1_ps(offset), zero = _mm256_setzero_ps(),
                 top = _mm256_set1_ps(ceiling);
    // packs work within 128-bit lanes; this puts the 8 groups of 4 bytes back in order.
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    size_t i = 0;
    for (; i + 32 <= count; i += 32) {
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(source + i + 8 * k), s), o);
            q[k] = _mm256_cvttps_epi32(_mm256_min_ps(_mm256_max_ps(v, zero), top));
        }
        __m256i words = _mm256_packus_epi16(_mm256_packus_epi32(q[0], q[1]), _mm256_packus_epi32(q[2], q[3]));
        _mm256_storeu_si256((__m256i *)(target + i), _mm256_permutevar8x32_epi32(words, order));
    }
    for (; i < count; i++) target[i] = quantize_one(source[i], scale, offset, ceiling);
}
#endif

static void quantize(const float *source, uint8_t *target, const md_conv_plan *plan) {
    const md_conv_geometry *g = &plan->shared->geometry;
    const float offset = (float)g->input_zero_point + 0.5f;
#if defined(__x86_64__)
    quantize_avx2(source, target, plan->source_count, g->input_scale, offset, plan->source_ceiling);
#else
    for (size_t i = 0; i < plan->source_count; i++) target[i] = quantize_one(source[i], g->input_scale, offset, plan->source_ceiling);
#endif
}

int shim_convert_source(md_conv_plan *plan, const float *src_nhwc, char *workspace, char *error, size_t error_capacity) {
    dnnl_status_t status;
    if (!workspace) {
        if (error && error_capacity) snprintf(error, error_capacity, "convolution needs a workspace of %zu bytes", plan->workspace_size);
        return -1;
    }
    void *converted = workspace + plan->source_offset;
    if ((status = dnnl_memory_set_data_handle(plan->src, converted)) != dnnl_success)
        return shim_fail(error, error_capacity, "set converted source", status);
    if (!plan->reorder_in) {
        quantize(src_nhwc, converted, plan);
        return 0;
    }
    if ((status = dnnl_memory_set_data_handle(plan->user_src, (void *)src_nhwc)) != dnnl_success)
        return shim_fail(error, error_capacity, "set converted source", status);
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, plan->user_src}, {DNNL_ARG_TO, plan->src}};
    if ((status = dnnl_primitive_execute(plan->reorder_in, plan->stream, 2, args)) != dnnl_success)
        return shim_fail(error, error_capacity, "source conversion", status);
    return 0;
}

#endif  // __has_include(<oneapi/dnnl/dnnl.h>)
