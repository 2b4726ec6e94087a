// zlib (Debian zlib1g-dev): raw inflate for the deflated entries some tools append to model archives.
#include <zlib.h>
