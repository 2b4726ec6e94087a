// JPEG (libjpeg-turbo) and PNG (libpng) decoding behind a small C surface: setjmp-based error
// handling stays in C, Swift sees return codes and messages.
#ifndef MEGADETECTOR_IMAGE_CODECS_H
#define MEGADETECTOR_IMAGE_CODECS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#include "image_drawing.h"

#endif

typedef struct {
    int width;
    int height;
    int components;   // components in the file (1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK)
    int color_space;  // 1 gray, 2 RGB, 3 YCbCr, 4 CMYK, 5 YCCK (libjpeg's J_COLOR_SPACE)
    int progressive;
    int adobe_inverted;  // Adobe APP14 marker present (CMYK stored inverted)
} md_jpeg_info;

/// Reads the JPEG header only (dimensions before any pixel allocation). 0 on success.
int md_jpeg_read_info(const unsigned char *data, size_t size, md_jpeg_info *info, char *error, size_t capacity);

/// Decodes to 8-bit RGB (width * height * 3 bytes at `rgb`, zero-filled by the caller), with the
/// settings PIL uses (ISLOW DCT, fancy upsampling). A truncated file decodes as far as its data goes
/// and the rest is mid grey, as PIL with LOAD_TRUNCATED_IMAGES; `truncated` is set then. CMYK/YCCK
/// become RGB as PIL's CMYK->RGB conversion would. Returns the rows decoded, -1 on error.
int md_jpeg_decode_rgb(const unsigned char *data, size_t size, unsigned char *rgb, int *truncated, char *error,
                       size_t capacity);

typedef struct {
    int width;
    int height;
    int bit_depth;
    int color_type;  // PNG color type: 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA
    int interlaced;
} md_png_info;

int md_png_read_info(const unsigned char *data, size_t size, md_png_info *info, char *error, size_t capacity);

/// Decodes any PNG to 8-bit RGB: 16-bit samples keep their high byte (as PIL does), palettes are
/// expanded, gray is replicated, alpha is dropped (PIL's RGBA->RGB). 0 on success.
int md_png_decode_rgb(const unsigned char *data, size_t size, unsigned char *rgb, char *error, size_t capacity);

#ifdef __cplusplus
}
#include "image_drawing.h"

#endif

#include "image_drawing.h"

#endif
