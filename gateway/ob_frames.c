/*  ob_frames - multipart reads into a frame array. */
#include "gateway/ob_frames.h"

#include <errno.h>
#include <stdbool.h>

int
ob_frames_recv(void *socket, zmq_msg_t *frames, int max)
{
    int count = 0;
    for (;;) {
        zmq_msg_t scratch;
        zmq_msg_t *frame = count < max ? &frames[count] : &scratch;
        zmq_msg_init(frame);
        if (zmq_msg_recv(frame, socket, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(frame);
            if (count == 0 && errno == EAGAIN)
                return 0;
            ob_frames_close(frames, count);
            return -1;
        }
        bool more = zmq_msg_more(frame);
        if (frame == &scratch)
            zmq_msg_close(frame);
        else
            count++;
        if (!more)
            return count;
    }
}

void
ob_frames_close(zmq_msg_t *frames, int count)
{
    for (int i = 0; i < count; i++)
        zmq_msg_close(&frames[i]);
}
