// See include/video_codecs.h for what this mirrors and why.
#include "video_codecs.h"
#include "video_errors.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// OpenCV gives up on a clip after this many packets in a row that cannot be used.
#define MD_MAX_CONSECUTIVE_BAD_PACKETS 512

struct md_video {
    AVFormatContext *format;
    AVCodecContext *codec;
    int stream_index;
    AVPacket *packet;
    int packet_pending;  // `packet` holds data the decoder refused with EAGAIN
    AVFrame *frame;
    AVFrame *converted;  // RGB at the coded size, 32-byte aligned rows (as OpenCV allocates it)
    struct SwsContext *scaler;
    uint8_t *rgb;        // packed rows of the visible frame, handed to the caller
    size_t rgb_capacity;
    int64_t max_pixels;
    int draining;
};

static double md_rational(AVRational value) {
    return value.den == 0 ? 0.0 : (double)value.num / (double)value.den;
}

void md_video_close(md_video *video) {
    if (video == NULL) return;
    sws_freeContext(video->scaler);
    av_frame_free(&video->converted);
    av_frame_free(&video->frame);
    av_packet_free(&video->packet);
    avcodec_free_context(&video->codec);
    avformat_close_input(&video->format);
    free(video->rgb);
    free(video);
}

// OpenCV's get_rotation_angle(): the display matrix's rotation, negated (clockwise), rounded to a
// quarter turn; OpenCV then rotates every frame by it (CAP_PROP_ORIENTATION_AUTO, on by default).
static int md_video_rotation(const AVStream *stream) {
    const int32_t *matrix = NULL;
#if LIBAVCODEC_VERSION_INT >= AV_VERSION_INT(60, 29, 100)
    const AVPacketSideData *side = av_packet_side_data_get(stream->codecpar->coded_side_data, stream->codecpar->nb_coded_side_data,
                                                           AV_PKT_DATA_DISPLAYMATRIX);
    if (side != NULL && side->size >= 9 * sizeof(int32_t)) matrix = (const int32_t *)side->data;
#else
    size_t size = 0;
    const uint8_t *data = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size);
    if (data != NULL && size >= 9 * sizeof(int32_t)) matrix = (const int32_t *)data;
#endif
    if (matrix == NULL) return 0;
    double angle = -av_display_rotation_get(matrix);
    if (angle != angle) return 0;  // NaN: a degenerate matrix
    int degrees = ((int)lround(angle) % 360 + 360) % 360;
    switch (degrees) {
    case 90: return 1;
    case 180: return 2;
    case 270: return 3;
    default: return 0;  // OpenCV rotates only by these
    }
}

md_video *md_video_open(const char *path, int64_t max_pixels, md_video_info *info, char *error, size_t capacity) {
    // FFmpeg's own log lines would interleave with our progress; failures reach the caller as messages.
    av_log_set_level(AV_LOG_QUIET);
    md_video *video = calloc(1, sizeof *video);
    if (video == NULL) {
        md_video_error(error, capacity, "out of memory", 0);
        return NULL;
    }
    video->max_pixels = max_pixels;
    video->stream_index = -1;
    int code = avformat_open_input(&video->format, path, NULL, NULL);
    if (code < 0) {
        md_video_error(error, capacity, "not a readable video container", code);
        md_video_close(video);
        return NULL;
    }
    code = avformat_find_stream_info(video->format, NULL);
    if (code < 0) {
        md_video_error(error, capacity, "cannot read the container's stream information", code);
        md_video_close(video);
        return NULL;
    }
    // OpenCV takes the first video stream, not libavformat's "best" one.
    for (unsigned index = 0; index < video->format->nb_streams; index++) {
        if (video->format->streams[index]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
            video->stream_index = (int)index;
            break;
        }
    }
    if (video->stream_index < 0) {
        md_video_error(error, capacity, "the file has no video stream", 0);
        md_video_close(video);
        return NULL;
    }
    AVStream *stream = video->format->streams[video->stream_index];
    AVCodecParameters *parameters = stream->codecpar;
    if ((int64_t)parameters->width * parameters->height > max_pixels) {
        char message[160];
        snprintf(message, sizeof message, "frames of %dx%d exceed the limit of %lld pixels", parameters->width,
                 parameters->height, (long long)max_pixels);
        md_video_error(error, capacity, message, 0);
        md_video_close(video);
        return NULL;
    }
    const AVCodec *decoder = avcodec_find_decoder(parameters->codec_id);
    if (decoder == NULL) {
        char message[160];
        snprintf(message, sizeof message, "no decoder for the video codec '%s'", avcodec_get_name(parameters->codec_id));
        md_video_error(error, capacity, message, 0);
        md_video_close(video);
        return NULL;
    }
    video->codec = avcodec_alloc_context3(decoder);
    video->packet = av_packet_alloc();
    video->frame = av_frame_alloc();
    video->converted = av_frame_alloc();
    if (video->codec == NULL || video->packet == NULL || video->frame == NULL || video->converted == NULL) {
        md_video_error(error, capacity, "out of memory", 0);
        md_video_close(video);
        return NULL;
    }
    code = avcodec_parameters_to_context(video->codec, parameters);
    if (code >= 0) {
        video->codec->thread_count = 1;
        video->codec->pkt_timebase = stream->time_base;
        code = avcodec_open2(video->codec, decoder, NULL);
    }
    if (code < 0) {
        md_video_error(error, capacity, "cannot open the video decoder", code);
        md_video_close(video);
        return NULL;
    }
    // CAP_PROP_FPS: the average frame rate, else the inverse of the stream's time base.
    double frame_rate = md_rational(stream->avg_frame_rate);
    if (frame_rate < 1e-6) frame_rate = 1.0 / md_rational(stream->time_base);
    // get_duration_sec(): the container's duration, else the stream's.
    double duration = video->format->duration == AV_NOPTS_VALUE ? -1.0 : (double)video->format->duration / AV_TIME_BASE;
    if (duration < 1e-6) {
        duration = stream->duration == AV_NOPTS_VALUE ? -1.0 : (double)stream->duration * md_rational(stream->time_base);
    }
    // CAP_PROP_FRAME_COUNT: the container's count, else duration times frame rate, rounded.
    int64_t frame_count = stream->nb_frames;
    if (frame_count == 0) frame_count = (int64_t)floor(duration * frame_rate + 0.5);
    info->width = parameters->width;
    info->height = parameters->height;
    info->frame_rate = frame_rate;
    info->frame_count = frame_count < 0 ? 0 : frame_count;
    info->duration = duration > 0 ? duration : 0;
    info->codec_name = avcodec_get_name(parameters->codec_id);
    info->rotation = md_video_rotation(stream);
    return video;
}

// Converts `video->frame` to packed RGB in `video->rgb`, as OpenCV's retrieveFrame: libswscale over the
// coded size (bicubic flag, default coefficients) into a 32-byte aligned frame, then the visible rows.
static int md_video_convert(md_video *video, char *error, size_t capacity) {
    AVFrame *frame = video->frame;
    int width = frame->width, height = frame->height;
    int coded_width = video->codec->coded_width, coded_height = video->codec->coded_height;
    if (coded_width < width || coded_height < height) {
        coded_width = width;
        coded_height = height;
    }
    video->scaler = sws_getCachedContext(video->scaler, coded_width, coded_height, (enum AVPixelFormat)frame->format,
                                         coded_width, coded_height, AV_PIX_FMT_RGB24, SWS_BICUBIC, NULL, NULL, NULL);
    if (video->scaler == NULL) {
        md_video_error(error, capacity, "cannot convert the frame's pixel format to RGB", 0);
        return -1;
    }
    if (video->converted->width != coded_width || video->converted->height != coded_height) {
        av_frame_unref(video->converted);
        video->converted->format = AV_PIX_FMT_RGB24;
        video->converted->width = coded_width;
        video->converted->height = coded_height;
        int code = av_frame_get_buffer(video->converted, 32);
        if (code < 0) {
            md_video_error(error, capacity, "out of memory for a converted frame", code);
            return -1;
        }
    }
    sws_scale(video->scaler, (const uint8_t *const *)frame->data, frame->linesize, 0, coded_height,
              video->converted->data, video->converted->linesize);
    size_t row = (size_t)width * 3;
    size_t needed = row * (size_t)height;
    if (needed > video->rgb_capacity) {
        uint8_t *grown = realloc(video->rgb, needed);
        if (grown == NULL) {
            md_video_error(error, capacity, "out of memory for a frame", 0);
            return -1;
        }
        video->rgb = grown;
        video->rgb_capacity = needed;
    }
    for (int y = 0; y < height; y++) {
        memcpy(video->rgb + row * (size_t)y, video->converted->data[0] + (size_t)video->converted->linesize[0] * y, row);
    }
    return 0;
}

int md_video_next(md_video *video, int convert, const uint8_t **rgb, int *width, int *height, char *error,
                  size_t capacity) {
    int bad_packets = 0;
    for (;;) {
        int code = avcodec_receive_frame(video->codec, video->frame);
        if (code == 0) {
            if ((int64_t)video->frame->width * video->frame->height > video->max_pixels || video->frame->width <= 0 ||
                video->frame->height <= 0) {
                char message[160];
                snprintf(message, sizeof message, "a frame of %dx%d exceeds the limit of %lld pixels",
                         video->frame->width, video->frame->height, (long long)video->max_pixels);
                md_video_error(error, capacity, message, 0);
                av_frame_unref(video->frame);
                return -1;
            }
            *width = video->frame->width;
            *height = video->frame->height;
            *rgb = NULL;
            if (convert) {
                if (md_video_convert(video, error, capacity) != 0) {
                    av_frame_unref(video->frame);
                    return -1;
                }
                *rgb = video->rgb;
            }
            av_frame_unref(video->frame);
            return 1;
        }
        if (code == AVERROR_EOF) return 0;
        if (code != AVERROR(EAGAIN)) {
            // A frame the decoder could not reconstruct: skip it, as OpenCV does.
            if (++bad_packets > MD_MAX_CONSECUTIVE_BAD_PACKETS) {
                md_video_error(error, capacity, "too many undecodable frames in a row", code);
                return -1;
            }
            continue;
        }
        if (video->draining) return 0;
        if (!video->packet_pending) {
            code = av_read_frame(video->format, video->packet);
            if (code == AVERROR(EAGAIN)) continue;
            if (code < 0) {
                // End of file, or a truncated or damaged container: what was read is all there is.
                // Drain the decoder so the frames it still holds come out.
                avcodec_send_packet(video->codec, NULL);
                video->draining = 1;
                continue;
            }
            if (video->packet->stream_index != video->stream_index) {
                av_packet_unref(video->packet);
                continue;
            }
        }
        code = avcodec_send_packet(video->codec, video->packet);
        if (code == AVERROR(EAGAIN)) {
            video->packet_pending = 1;  // receive first, then offer the same packet again
            continue;
        }
        video->packet_pending = 0;
        av_packet_unref(video->packet);
        if (code < 0 && ++bad_packets > MD_MAX_CONSECUTIVE_BAD_PACKETS) {
            md_video_error(error, capacity, "too many damaged packets in a row", code);
            return -1;
        }
    }
}
