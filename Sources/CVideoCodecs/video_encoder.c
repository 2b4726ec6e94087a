// See include/video_codecs.h: rendered clips, written through libavformat/libavcodec.
#include "video_codecs.h"
#include "video_errors.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <stdio.h>
#include <stdlib.h>

struct md_video_writer {
    AVFormatContext *format;
    AVCodecContext *codec;
    AVStream *stream;
    AVFrame *frame;
    AVPacket *packet;
    struct SwsContext *scaler;
    int width, height;  // the frames the caller gives
    int64_t next_pts;
    int header_written;
};

static void md_writer_free(md_video_writer *writer) {
    if (writer == NULL) return;
    sws_freeContext(writer->scaler);
    av_frame_free(&writer->frame);
    av_packet_free(&writer->packet);
    avcodec_free_context(&writer->codec);
    if (writer->format != NULL) {
        if (writer->format->pb != NULL) avio_closep(&writer->format->pb);
        avformat_free_context(writer->format);
    }
    free(writer);
}

// Sends `frame` (NULL: flush) and writes every packet the encoder has ready.
static int md_writer_drain(md_video_writer *writer, AVFrame *frame, char *error, size_t capacity) {
    int code = avcodec_send_frame(writer->codec, frame);
    if (code < 0) {
        md_video_error(error, capacity, "the encoder refused a frame", code);
        return -1;
    }
    for (;;) {
        code = avcodec_receive_packet(writer->codec, writer->packet);
        if (code == AVERROR(EAGAIN) || code == AVERROR_EOF) return 0;
        if (code < 0) {
            md_video_error(error, capacity, "encoding failed", code);
            return -1;
        }
        av_packet_rescale_ts(writer->packet, writer->codec->time_base, writer->stream->time_base);
        writer->packet->stream_index = writer->stream->index;
        code = av_interleaved_write_frame(writer->format, writer->packet);
        if (code < 0) {
            md_video_error(error, capacity, "cannot write to the clip", code);
            return -1;
        }
    }
}

md_video_writer *md_video_writer_open(const char *path, int width, int height, double frame_rate, char *error,
                                      size_t capacity) {
    av_log_set_level(AV_LOG_QUIET);
    if (width < 2 || height < 2 || !(frame_rate > 0)) {
        md_video_error(error, capacity, "a clip needs frames of at least 2x2 pixels and a positive frame rate", 0);
        return NULL;
    }
    md_video_writer *writer = calloc(1, sizeof *writer);
    if (writer == NULL) {
        md_video_error(error, capacity, "out of memory", 0);
        return NULL;
    }
    writer->width = width;
    writer->height = height;
    int code = avformat_alloc_output_context2(&writer->format, NULL, NULL, path);
    if (code < 0 || writer->format == NULL) {
        md_video_error(error, capacity, "no container format for this file name", code);
        md_writer_free(writer);
        return NULL;
    }
    const enum AVCodecID candidates[] = {AV_CODEC_ID_H264, AV_CODEC_ID_MPEG4, AV_CODEC_ID_MPEG2VIDEO};
    const AVCodec *encoder = NULL;
    for (size_t index = 0; index < sizeof candidates / sizeof candidates[0] && encoder == NULL; index++) {
        if (avformat_query_codec(writer->format->oformat, candidates[index], FF_COMPLIANCE_NORMAL) != 1) continue;
        encoder = avcodec_find_encoder(candidates[index]);
    }
    if (encoder == NULL) {
        md_video_error(error, capacity, "no encoder for a codec this container takes", 0);
        md_writer_free(writer);
        return NULL;
    }
    writer->stream = avformat_new_stream(writer->format, NULL);
    writer->codec = avcodec_alloc_context3(encoder);
    writer->frame = av_frame_alloc();
    writer->packet = av_packet_alloc();
    if (writer->stream == NULL || writer->codec == NULL || writer->frame == NULL || writer->packet == NULL) {
        md_video_error(error, capacity, "out of memory", 0);
        md_writer_free(writer);
        return NULL;
    }
    AVRational rate = av_d2q(frame_rate, 1001000);
    writer->codec->width = width & ~1;
    writer->codec->height = height & ~1;
    writer->codec->pix_fmt = AV_PIX_FMT_YUV420P;
    writer->codec->time_base = av_inv_q(rate);
    writer->codec->framerate = rate;
    writer->codec->gop_size = 12;
    if (encoder->id != AV_CODEC_ID_H264) writer->codec->bit_rate = (int64_t)width * height * 4;  // ~ visually clean
    if (writer->format->oformat->flags & AVFMT_GLOBALHEADER) writer->codec->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (encoder->id == AV_CODEC_ID_H264) av_opt_set(writer->codec->priv_data, "preset", "fast", 0);
    code = avcodec_open2(writer->codec, encoder, NULL);
    if (code < 0) {
        md_video_error(error, capacity, "cannot open the video encoder", code);
        md_writer_free(writer);
        return NULL;
    }
    avcodec_parameters_from_context(writer->stream->codecpar, writer->codec);
    writer->stream->time_base = writer->codec->time_base;
    writer->stream->avg_frame_rate = rate;
    writer->frame->format = AV_PIX_FMT_YUV420P;
    writer->frame->width = writer->codec->width;
    writer->frame->height = writer->codec->height;
    code = av_frame_get_buffer(writer->frame, 32);
    if (code >= 0 && !(writer->format->oformat->flags & AVFMT_NOFILE)) code = avio_open(&writer->format->pb, path, AVIO_FLAG_WRITE);
    if (code >= 0) code = avformat_write_header(writer->format, NULL);
    if (code < 0) {
        md_video_error(error, capacity, "cannot create the clip", code);
        md_writer_free(writer);
        return NULL;
    }
    writer->header_written = 1;
    writer->scaler = sws_getContext(writer->codec->width, writer->codec->height, AV_PIX_FMT_RGB24, writer->codec->width,
                                    writer->codec->height, AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL, NULL, NULL);
    if (writer->scaler == NULL) {
        md_video_error(error, capacity, "cannot convert RGB to the encoder's pixel format", 0);
        md_writer_free(writer);
        return NULL;
    }
    return writer;
}

const char *md_video_writer_codec(const md_video_writer *writer) { return writer->codec->codec->name; }

int md_video_writer_write(md_video_writer *writer, const uint8_t *rgb, char *error, size_t capacity) {
    int code = av_frame_make_writable(writer->frame);
    if (code < 0) {
        md_video_error(error, capacity, "out of memory for a frame", code);
        return -1;
    }
    // The caller's rows keep their full width as the stride; an odd last column/row is left out.
    const uint8_t *source[1] = {rgb};
    const int stride[1] = {writer->width * 3};
    sws_scale(writer->scaler, source, stride, 0, writer->codec->height, writer->frame->data, writer->frame->linesize);
    writer->frame->pts = writer->next_pts++;
    return md_writer_drain(writer, writer->frame, error, capacity);
}

int md_video_writer_close(md_video_writer *writer, char *error, size_t capacity) {
    int status = 0;
    if (writer->header_written) {
        if (md_writer_drain(writer, NULL, error, capacity) != 0) status = -1;
        int code = av_write_trailer(writer->format);
        if (code < 0 && status == 0) {
            md_video_error(error, capacity, "cannot finish the clip", code);
            status = -1;
        }
    }
    md_writer_free(writer);
    return status;
}
