// What dnnl_shim.c and dnnl_staging.c share: oneDNN version differences, the plan and weights structs,
// and a few helpers. Private to the target (not under include/), so Swift never sees it.
#ifndef MEGADETECTOR_DNNL_INTERNAL_H
#define MEGADETECTOR_DNNL_INTERNAL_H

#include "dnnl_shim.h"
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if DNNL_VERSION_MAJOR >= 3
#define MD_DNNL_V3 1
typedef const_dnnl_memory_desc_t md_desc_ref;
typedef dnnl_memory_desc_t md_desc_owned;
#define MD_REF(owned) (owned)
#else
#define MD_DNNL_V3 0
typedef const dnnl_memory_desc_t *md_desc_ref;
typedef dnnl_memory_desc_t md_desc_owned;
#define MD_REF(owned) (&(owned))
#endif


struct md_conv_weights {
    md_conv_geometry geometry;
    md_desc_owned weights_desc;  // layout of `weights`
    void *weights;               // reordered once at load
    float *bias;                 // plain, out_channels (int8: divided by output_scales, see dnnl_precision.c)
    // int8 only: dst = output_scales[o] * (int32 sum + bias[o]).
    float *output_scales;
    // Weights in plain (g)oihw order, from which plans for other shapes reorder, where the kernel's
    // layout does not reorder into another: int8's quantized weights (its layout carries compensation
    // terms) and float32 layers that may take Winograd (its layouts depend on the shape). NULL otherwise.
    md_desc_owned plain_desc;
    void *plain_weights;
};

struct md_conv_plan {
    const md_conv_weights *shared;
    dnnl_primitive_t primitive;
    dnnl_stream_t stream;
    dnnl_memory_t src, weights, bias, dst;
    void *own_weights;  // only when this shape wants another weights layout than the shared one
    int out_height, out_width;
    int residual_as_binary;   // the residual is read from its own buffer (binary post-op), not from dst
    dnnl_memory_t residual;   // with residual_as_binary only
    dnnl_memory_t scratchpad; // with scratchpad_size > 0 only; its data is the caller's
    size_t scratchpad_size;
    // Staged plans (see shim_prefers_staging in dnnl_staging.c): src, dst and residual above are the blocked copies, in the
    // caller's workspace after the scratchpad; these reorder from and to the caller's NHWC buffers.
    int staged;
    dnnl_memory_t user_src, user_dst;  // NHWC
    dnnl_primitive_t reorder_in;       // NULL when oneDNN takes the NHWC source as it is
    dnnl_primitive_t reorder_out, reorder_residual;
    // Winograd plans (dnnl_winograd.c), staged too: the activation runs on the blocked destination
    // after the convolution, and reorder_out adds the residual (no reorder_residual).
    int winograd;
    dnnl_primitive_t activation;  // NULL without an activation
    size_t source_offset, destination_offset, residual_offset, workspace_size;
    // Reduced-precision plans (not staged): reorder_in converts the NHWC float32 source (user_src) into
    // the kernel's type (src, in the workspace at source_offset); the destination is NHWC float32.
    int converts_source;
    size_t source_count;       // elements of the source
    float source_ceiling;      // int8: the largest source level, 127 or 255 (see dnnl_precision.c)
    dnnl_memory_t zero_point;  // int8: the source zero point, an s32 scalar (oneDNN takes it at run time)
    int32_t zero_point_value;
    char implementation[64];  // oneDNN's name for the kernel it runs
};

/// Fails the enclosing function: fills `error` (error, error_capacity in scope) and jumps to `cleanup`.
#define CHECK(call, what)                                                  \
    do {                                                                   \
        dnnl_status_t status_ = (call);                                    \
        if (status_ != dnnl_success) {                                     \
            shim_fail(error, error_capacity, what, status_);               \
            goto cleanup;                                                  \
        }                                                                  \
    } while (0)

/// The process's CPU engine (created once).
dnnl_engine_t shim_engine(void);
/// Writes "oneDNN: WHAT failed (status N)" into `error`; returns -1.
int shim_fail(char *error, size_t capacity, const char *what, dnnl_status_t status);
dnnl_status_t shim_desc_create(md_desc_owned *desc, int ndims, const dnnl_dims_t dims, dnnl_format_tag_t tag);
void shim_desc_release(md_desc_owned *desc);

/// dnnl_shim.c's descriptor helper with a data type other than f32.
dnnl_status_t shim_desc_create_typed(md_desc_owned *desc, int ndims, const dnnl_dims_t dims, dnnl_data_type_t type,
                                     dnnl_format_tag_t tag);
/// Plain (g)oihw weight dimensions of `g`; returns ndims.
int shim_weights_dims(const md_conv_geometry *g, dnnl_dims_t dims);
/// The primitive descriptor a convolution with `w` runs on for this input, the fastest we know how to ask
/// for (dnnl_shim.c says how it is chosen); `staged`/`winograd` say which kind of plan it needs.
dnnl_status_t shim_choose_conv_pd(const md_conv_weights *w, int batch, int height, int width, dnnl_primitive_desc_t *pd,
                                  int *residual_as_binary, int *staged, int *winograd);
/// Reorders float32 (g)oihw weights of `g` into a fresh buffer laid out as `target` (dnnl_weights.c).
dnnl_status_t shim_reorder_plain_weights(const md_conv_geometry *g, const float *weights_oihw, md_desc_ref target,
                                         void **result);
/// Reorders `source` into a fresh 64-byte aligned buffer laid out as `target_desc` (freed with free()).
dnnl_status_t shim_reorder_into(md_desc_ref source_desc, const void *source, md_desc_ref target_desc, void **target);

/// The data type of the convolution's weights (and source, but for int8's u8) in `g`'s precision.
dnnl_data_type_t shim_compute_type(const md_conv_geometry *g);
dnnl_data_type_t shim_source_type(const md_conv_geometry *g);
/// Adds what an int8 convolution needs to its attributes: the per-output-channel scales and the
/// source zero point (`output_scales` NULL: not int8, nothing to add).
dnnl_status_t shim_set_precision_attributes(dnnl_primitive_attr_t attr, const md_conv_geometry *g, const float *output_scales);
/// Fills the reduced-precision parts of `weights` (int8: quantized plain weights, output scales, bias
/// in the scaled domain) from float32 OIHW weights and bias; then `plain_desc`/`plain_weights` are the
/// source for the reorder into the kernel's layout. Float32 and bf16 leave them empty.
int shim_prepare_precision_weights(md_conv_weights *weights, const float *weights_oihw, char *error, size_t error_capacity);
/// The source conversion of a reduced-precision plan whose convolution descriptor is `pd`.
dnnl_status_t shim_prepare_source_conversion(md_conv_plan *plan, const_dnnl_primitive_desc_t pd, int batch, int height,
                                             int width);
/// Converts the NHWC float32 source into the plan's source memory (in `workspace`).
int shim_convert_source(md_conv_plan *plan, const float *src_nhwc, char *workspace, char *error, size_t error_capacity);

/// The convolution's execution arguments: source, weights, bias, destination, then the scratchpad (its
/// data at `scratchpad`) and the residual as binary source where the plan has them; the caller has set
/// the data handles of src, dst and residual. Returns the count, or -1 with `error` filled.
int shim_convolution_arguments(md_conv_plan *plan, void *scratchpad, dnnl_exec_arg_t args[8], char *error,
                               size_t error_capacity);

/// Appends a `sum` post-op (the destination's contents, scale 1) in either oneDNN version's terms.
dnnl_status_t shim_append_sum(dnnl_post_ops_t post_ops);
/// oneDNN's eltwise algorithm and parameters for an md_activation.
dnnl_status_t shim_activation_kind(int activation, float relu_alpha, dnnl_alg_kind_t *alg, float *alpha, float *beta);
/// Whether `g` should run through oneDNN's Winograd kernel (dnnl_winograd.c says when and why).
int shim_prefers_winograd(const md_conv_geometry *g);
/// The Winograd convolution descriptor of `g` for this input, where this layer takes that path here
/// (preferred, offered by this oneDNN on this CPU, scratchpad within the limit: dnnl_winograd.c says
/// why); otherwise an error status and `*pd` NULL.
dnnl_status_t shim_create_winograd_pd(const md_conv_geometry *g, const float *output_scales, int batch, int height,
                                      int width, dnnl_primitive_desc_t *pd);
/// The convolution primitive descriptor of `g` (dnnl_shim.c describes the variants).
dnnl_status_t shim_create_conv_pd(const md_conv_geometry *g, const float *output_scales, int batch, int height, int width,
                                  int residual_as_binary, int staged, int winograd, dnnl_primitive_desc_t *pd);
/// An in-place eltwise primitive applying `activation` to data laid out as `data`.
dnnl_status_t shim_create_activation(int activation, float relu_alpha, md_desc_ref data, dnnl_primitive_t *primitive);

/// Whether `g` should run on 8-channel blocked copies of its data (dnnl_staging.c says why).
int shim_prefers_staging(const md_conv_geometry *g);
/// Reorders and workspace layout of a staged plan whose convolution descriptor is `pd`.
dnnl_status_t shim_prepare_staging(md_conv_plan *plan, const_dnnl_primitive_desc_t pd, int batch, int height, int width);
/// Runs a staged plan: NHWC source in, NHWC destination (holding the residual, if any) out.
int shim_execute_staged(md_conv_plan *plan, const float *src_nhwc, float *dst_nhwc, char *workspace, char *error,
                        size_t error_capacity);

#endif
