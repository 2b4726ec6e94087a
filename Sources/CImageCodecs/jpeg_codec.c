// JPEG decoding with libjpeg(-turbo)'s classic API, as PIL drives it.
#include "image_codecs.h"

#include <stdio.h>
#include <jpeglib.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf escape;
    char *message;
    size_t capacity;
} error_manager;

static void on_error(j_common_ptr cinfo) {
    error_manager *manager = (error_manager *)cinfo->err;
    if (manager->message && manager->capacity) {
        char text[JMSG_LENGTH_MAX];
        (*cinfo->err->format_message)(cinfo, text);
        snprintf(manager->message, manager->capacity, "%s", text);
    }
    longjmp(manager->escape, 1);
}

static void on_message(j_common_ptr cinfo, int level) {
    (void)cinfo;
    (void)level;  // warnings (corrupt data, extraneous bytes) are tolerated, as PIL does
}

static struct jpeg_error_mgr *install_errors(error_manager *errors, char *message, size_t capacity) {
    struct jpeg_error_mgr *base = jpeg_std_error(&errors->base);
    errors->base.error_exit = on_error;
    errors->base.emit_message = on_message;
    errors->message = message;
    errors->capacity = capacity;
    return base;
}

// At the end of the data the source supplies an EOI marker, as libjpeg's own memory source does:
// the blocks that are missing from a truncated file decode as zero coefficients (mid grey), which is
// what PIL with LOAD_TRUNCATED_IMAGES produces. `ended_early` records that it happened.
typedef struct {
    struct jpeg_source_mgr base;
    int ended_early;
} memory_source;

static const JOCTET fake_end_of_image[2] = {0xFF, JPEG_EOI};

static void source_init(j_decompress_ptr cinfo) { (void)cinfo; }
static boolean source_fill(j_decompress_ptr cinfo) {
    memory_source *source = (memory_source *)cinfo->src;
    source->ended_early = 1;
    source->base.next_input_byte = fake_end_of_image;
    source->base.bytes_in_buffer = 2;
    return TRUE;
}
static void source_skip(j_decompress_ptr cinfo, long count) {
    struct jpeg_source_mgr *source = cinfo->src;
    if (count <= 0) return;
    if ((size_t)count > source->bytes_in_buffer) count = (long)source->bytes_in_buffer;
    source->next_input_byte += count;
    source->bytes_in_buffer -= (size_t)count;
}
static void source_term(j_decompress_ptr cinfo) { (void)cinfo; }

static void attach_source(j_decompress_ptr cinfo, memory_source *memory, const unsigned char *data, size_t size) {
    struct jpeg_source_mgr *source = &memory->base;
    memory->ended_early = 0;
    source->init_source = source_init;
    source->fill_input_buffer = source_fill;
    source->skip_input_data = source_skip;
    source->resync_to_restart = jpeg_resync_to_restart;
    source->term_source = source_term;
    source->next_input_byte = data;
    source->bytes_in_buffer = size;
    cinfo->src = source;
}

int md_jpeg_read_info(const unsigned char *data, size_t size, md_jpeg_info *info, char *error, size_t capacity) {
    struct jpeg_decompress_struct cinfo;
    error_manager errors;
    memory_source source;
    cinfo.err = install_errors(&errors, error, capacity);
    if (setjmp(errors.escape)) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    attach_source(&cinfo, &source, data, size);
    if (jpeg_read_header(&cinfo, TRUE) != JPEG_HEADER_OK) {
        if (error && capacity) snprintf(error, capacity, "truncated JPEG header");
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    info->width = (int)cinfo.image_width;
    info->height = (int)cinfo.image_height;
    info->components = cinfo.num_components;
    info->color_space = (int)cinfo.jpeg_color_space;
    info->progressive = cinfo.progressive_mode ? 1 : 0;
    info->adobe_inverted = cinfo.saw_Adobe_marker ? 1 : 0;
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

int md_jpeg_decode_rgb(const unsigned char *data, size_t size, unsigned char *rgb, int *truncated, char *error,
                       size_t capacity) {
    struct jpeg_decompress_struct cinfo;
    error_manager errors;
    memory_source source;
    JSAMPARRAY row = NULL;
    int rows = 0;
    cinfo.err = install_errors(&errors, error, capacity);
    *truncated = 0;
    if (setjmp(errors.escape)) {
        *truncated = 1;
        jpeg_destroy_decompress(&cinfo);
        return rows > 0 ? rows : -1;
    }
    jpeg_create_decompress(&cinfo);
    attach_source(&cinfo, &source, data, size);
    if (jpeg_read_header(&cinfo, TRUE) != JPEG_HEADER_OK) {
        if (error && capacity) snprintf(error, capacity, "truncated JPEG header");
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    int inverted = cinfo.saw_Adobe_marker;
    cinfo.out_color_space = cmyk ? JCS_CMYK : (cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB);
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    if (!jpeg_start_decompress(&cinfo)) {
        // A progressive file that ends before its first complete scan: nothing to show.
        jpeg_destroy_decompress(&cinfo);
        return 0;
    }
    const int width = (int)cinfo.output_width;
    const int channels = cinfo.output_components;
    row = (*cinfo.mem->alloc_sarray)((j_common_ptr)&cinfo, JPOOL_IMAGE, (JDIMENSION)(width * channels), 1);
    while (cinfo.output_scanline < cinfo.output_height) {
        if (jpeg_read_scanlines(&cinfo, row, 1) != 1) break;
        unsigned char *out = rgb + (size_t)rows * (size_t)width * 3;
        const JSAMPLE *in = row[0];
        if (channels == 3) {
            memcpy(out, in, (size_t)width * 3);
        } else if (channels == 1) {
            for (int x = 0; x < width; x++) out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = in[x];
        } else {
            // PIL: R = (255 - C) * (255 - K) / 255; Adobe files store 255 - C, so use them directly.
            for (int x = 0; x < width; x++) {
                int c = in[4 * x], m = in[4 * x + 1], y = in[4 * x + 2], k = in[4 * x + 3];
                if (!inverted) { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k; }
                int t;
                t = c * k + 128; out[3 * x] = (unsigned char)((t + (t >> 8)) >> 8);
                t = m * k + 128; out[3 * x + 1] = (unsigned char)((t + (t >> 8)) >> 8);
                t = y * k + 128; out[3 * x + 2] = (unsigned char)((t + (t >> 8)) >> 8);
            }
        }
        rows++;
    }
    *truncated = source.ended_early || rows < (int)cinfo.output_height;
    jpeg_destroy_decompress(&cinfo);
    return rows;
}
