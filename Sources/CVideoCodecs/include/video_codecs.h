// Video decoding through FFmpeg's libraries (libavformat, libavcodec, libswscale) behind a small C
// surface: FFmpeg's macros (AVERROR, AV_NOPTS_VALUE) and ownership rules stay in C, Swift sees return
// codes, messages and one RGB buffer.
//
// It reads clips the way OpenCV's FFmpeg backend (cv2.VideoCapture, which the reference uses) does:
// the first video stream, frames in decoding order with the decoder drained at the end of the file,
// frame rate from the stream's average frame rate, frame count from the container (or from duration
// times frame rate when the container has none), and colour conversion by libswscale to packed 8-bit
// RGB at the frame's own size with the same flags (bicubic, default BT.601 coefficients, the range the
// pixel format implies).
#ifndef MEGADETECTOR_VIDEO_CODECS_H
#define MEGADETECTOR_VIDEO_CODECS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct md_video md_video;

typedef struct {
    int width;              // coded frame size of the stream (a frame may differ; see md_video_next)
    int height;
    double frame_rate;      // OpenCV's CAP_PROP_FPS
    int64_t frame_count;    // OpenCV's CAP_PROP_FRAME_COUNT
    double duration;        // seconds, 0 when unknown
    const char *codec_name; // e.g. "h264", "mjpeg"; owned by FFmpeg
    int rotation;           // clockwise quarter turns OpenCV applies (CAP_PROP_ORIENTATION_META / 90), 0-3
} md_video_info;

/// Opens `path` and its first video stream's decoder (one decoding thread: inference owns the cores).
/// Frames larger than `max_pixels` are refused when they arrive. NULL on failure, with a message.
md_video *md_video_open(const char *path, int64_t max_pixels, md_video_info *info, char *error, size_t capacity);

/// Decodes the next frame. With `convert` set, the frame is converted to RGB into a buffer the reader
/// owns (valid until the next call), and `rgb`, `width`, `height` describe it; without it the frame is
/// only decoded (OpenCV's grab()), which later frames need anyway.
/// Returns 1 for a frame, 0 at the end of the stream, -1 on an error that ends reading (a message is
/// written); damaged packets the decoder rejects are skipped, as OpenCV does, up to a bound.
int md_video_next(md_video *video, int convert, const uint8_t **rgb, int *width, int *height, char *error,
                  size_t capacity);

void md_video_close(md_video *video);

typedef struct md_video_writer md_video_writer;

/// Creates a clip at `path`; the container follows the file's extension (libavformat's guess). The
/// codec is H.264 where the container takes it and the library has an encoder for it (the reference
/// renders with OpenCV's 'h264' fourcc), else MPEG-4 part 2, else MPEG-2. Frames are `width` x `height`
/// RGB; odd sizes lose their last column/row (4:2:0 needs even sizes). NULL on failure, with a message.
md_video_writer *md_video_writer_open(const char *path, int width, int height, double frame_rate, char *error,
                                      size_t capacity);

/// The codec chosen, e.g. "libx264".
const char *md_video_writer_codec(const md_video_writer *writer);

/// Encodes one packed RGB frame of the size given at open. 0 on success.
int md_video_writer_write(md_video_writer *writer, const uint8_t *rgb, char *error, size_t capacity);

/// Flushes the encoder, writes the container's trailer and closes the file; frees the writer in any
/// case. 0 on success.
int md_video_writer_close(md_video_writer *writer, char *error, size_t capacity);

#ifdef __cplusplus
}
#endif

#endif
