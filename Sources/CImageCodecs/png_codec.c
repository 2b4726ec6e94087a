// PNG decoding with libpng's classic API (the simplified API would apply gamma to 16-bit data).
#include "image_codecs.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *data;
    size_t size;
    size_t offset;
} memory_reader;

typedef struct {
    char *message;
    size_t capacity;
} error_sink;

static void read_memory(png_structp png, png_bytep out, png_size_t count) {
    memory_reader *reader = (memory_reader *)png_get_io_ptr(png);
    if (count > reader->size - reader->offset) png_error(png, "unexpected end of PNG data (truncated file)");
    memcpy(out, reader->data + reader->offset, count);
    reader->offset += count;
}

static void on_png_error(png_structp png, png_const_charp message) {
    error_sink *sink = (error_sink *)png_get_error_ptr(png);
    if (sink && sink->message && sink->capacity) snprintf(sink->message, sink->capacity, "%s", message);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static int open_png(const unsigned char *data, size_t size, png_structp *png, png_infop *info, memory_reader *reader,
                    error_sink *sink, char *error, size_t capacity) {
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        if (error && capacity) snprintf(error, capacity, "not a PNG file");
        return -1;
    }
    sink->message = error;
    sink->capacity = capacity;
    *png = png_create_read_struct(PNG_LIBPNG_VER_STRING, sink, on_png_error, on_png_warning);
    if (!*png) return -1;
    *info = png_create_info_struct(*png);
    if (!*info) {
        png_destroy_read_struct(png, NULL, NULL);
        return -1;
    }
    reader->data = data;
    reader->size = size;
    reader->offset = 0;
    png_set_read_fn(*png, reader, read_memory);
    return 0;
}

int md_png_read_info(const unsigned char *data, size_t size, md_png_info *out, char *error, size_t capacity) {
    png_structp png;
    png_infop info;
    memory_reader reader;
    error_sink sink;
    if (open_png(data, size, &png, &info, &reader, &sink, error, capacity) != 0) return -1;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_read_info(png, info);
    out->width = (int)png_get_image_width(png, info);
    out->height = (int)png_get_image_height(png, info);
    out->bit_depth = png_get_bit_depth(png, info);
    out->color_type = png_get_color_type(png, info);
    out->interlaced = png_get_interlace_type(png, info) != PNG_INTERLACE_NONE;
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}

int md_png_decode_rgb(const unsigned char *data, size_t size, unsigned char *rgb, char *error, size_t capacity) {
    png_structp png;
    png_infop info;
    memory_reader reader;
    error_sink sink;
    png_bytepp rows = NULL;
    if (open_png(data, size, &png, &info, &reader, &sink, error, capacity) != 0) return -1;
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_read_info(png, info);
    const png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    const int color_type = png_get_color_type(png, info);
    const int bit_depth = png_get_bit_depth(png, info);
    if (bit_depth == 16) png_set_strip_16(png);
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    if (color_type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (png_size_t)width * 3) png_error(png, "unexpected row layout after conversion");
    rows = malloc(sizeof(png_bytep) * height);
    if (!rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < height; y++) rows[y] = rgb + (size_t)y * width * 3;
    png_read_image(png, rows);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}
