// Text with FreeType, JPEG encoding with libjpeg-turbo.
#include "image_drawing.h"

#include <ft2build.h>
#include FT_FREETYPE_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

struct md_font {
    FT_Library library;
    FT_Face face;
};

md_font *md_font_open(const char *path) {
    md_font *font = calloc(1, sizeof(*font));
    if (!font) return NULL;
    if (FT_Init_FreeType(&font->library) != 0) { free(font); return NULL; }
    if (FT_New_Face(font->library, path, 0, &font->face) != 0) {
        FT_Done_FreeType(font->library);
        free(font);
        return NULL;
    }
    return font;
}

void md_font_close(md_font *font) {
    if (!font) return;
    FT_Done_Face(font->face);
    FT_Done_FreeType(font->library);
    free(font);
}

// Next code point of a UTF-8 string (invalid bytes become '?').
static unsigned long next_code_point(const unsigned char **text) {
    const unsigned char *s = *text;
    unsigned long c = s[0];
    int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (c >= 0x80 && extra == 0) { (*text)++; return '?'; }
    c &= extra == 3 ? 0x07 : extra == 2 ? 0x0F : extra == 1 ? 0x1F : 0x7F;
    for (int i = 1; i <= extra; i++) {
        if ((s[i] & 0xC0) != 0x80) { *text += i; return '?'; }
        c = (c << 6) | (s[i] & 0x3F);
    }
    *text += extra + 1;
    return c;
}

void md_font_measure(md_font *font, const char *text, int pixel_size, int *width, int *ascent, int *descent) {
    FT_Set_Pixel_Sizes(font->face, 0, (FT_UInt)pixel_size);
    *ascent = (int)(font->face->size->metrics.ascender >> 6);
    *descent = (int)(-(font->face->size->metrics.descender >> 6));
    long advance = 0;
    const unsigned char *cursor = (const unsigned char *)text;
    while (*cursor) {
        unsigned long code = next_code_point(&cursor);
        if (FT_Load_Char(font->face, code, FT_LOAD_DEFAULT) == 0) advance += font->face->glyph->advance.x;
    }
    *width = (int)((advance + 63) >> 6);
}

int md_font_render(md_font *font, const char *text, int pixel_size, unsigned char *coverage, int width, int height,
                   int baseline) {
    FT_Set_Pixel_Sizes(font->face, 0, (FT_UInt)pixel_size);
    long pen = 0;
    const unsigned char *cursor = (const unsigned char *)text;
    while (*cursor) {
        unsigned long code = next_code_point(&cursor);
        if (FT_Load_Char(font->face, code, FT_LOAD_RENDER) != 0) continue;
        FT_GlyphSlot glyph = font->face->glyph;
        int left = (int)(pen >> 6) + glyph->bitmap_left, top = baseline - glyph->bitmap_top;
        for (unsigned int row = 0; row < glyph->bitmap.rows; row++) {
            int y = top + (int)row;
            if (y < 0 || y >= height) continue;
            for (unsigned int column = 0; column < glyph->bitmap.width; column++) {
                int x = left + (int)column;
                if (x < 0 || x >= width) continue;
                unsigned char value = glyph->bitmap.buffer[row * (unsigned int)glyph->bitmap.pitch + column];
                unsigned char *cell = &coverage[y * width + x];
                if (value > *cell) *cell = value;
            }
        }
        pen += glyph->advance.x;
    }
    return 0;
}

size_t md_jpeg_encode_rgb(const unsigned char *rgb, int width, int height, int quality, unsigned char **output) {
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr errors;
    unsigned char *buffer = NULL;
    unsigned long size = 0;
    cinfo.err = jpeg_std_error(&errors);
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &buffer, &size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * (size_t)width * 3);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *output = buffer;
    return (size_t)size;
}

void md_free(void *pointer) { free(pointer); }
