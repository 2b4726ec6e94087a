// Messages for the callers of video_codecs.h: what failed, and FFmpeg's reason when there is one.
#ifndef MEGADETECTOR_VIDEO_ERRORS_H
#define MEGADETECTOR_VIDEO_ERRORS_H

#include <libavutil/error.h>
#include <stdio.h>

static inline void md_video_error(char *error, size_t capacity, const char *what, int code) {
    if (error == NULL || capacity == 0) return;
    if (code == 0) {
        snprintf(error, capacity, "%s", what);
        return;
    }
    char reason[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(code, reason, sizeof reason);
    snprintf(error, capacity, "%s (%s)", what, reason);
}

#endif
