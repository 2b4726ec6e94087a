// Text rasterisation (FreeType) and JPEG encoding (libjpeg-turbo) for rendered photos.
#ifndef MEGADETECTOR_IMAGE_DRAWING_H
#define MEGADETECTOR_IMAGE_DRAWING_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct md_font md_font;

/// Opens a TrueType/OpenType font file; NULL when it cannot be read.
md_font *md_font_open(const char *path);
void md_font_close(md_font *font);

/// Measures `text` (UTF-8) at `pixel_size`: advance width, ascent and descent in pixels.
void md_font_measure(md_font *font, const char *text, int pixel_size, int *width, int *ascent, int *descent);

/// Rasterises `text` into `coverage` (width * height bytes, 0..255), baseline at `baseline` pixels
/// from the top, starting at x = 0. Returns 0 on success.
int md_font_render(md_font *font, const char *text, int pixel_size, unsigned char *coverage, int width, int height,
                   int baseline);

/// Encodes 8-bit RGB as a baseline JPEG (4:2:0, given quality). Returns the size written into a
/// buffer the caller frees with md_free, or 0 on failure.
size_t md_jpeg_encode_rgb(const unsigned char *rgb, int width, int height, int quality, unsigned char **output);
void md_free(void *pointer);

#ifdef __cplusplus
}
#endif

#endif
