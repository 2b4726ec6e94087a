// FreeType through pkg-config (Debian/Ubuntu libfreetype-dev).
#include <ft2build.h>
#include FT_FREETYPE_H
