/*  ob_frames - one multipart ZeroMQ message into a caller's frame array,
 *  for the gateway's raw libzmq sockets (the broker's ROUTERs, the ZAP REP).
 *
 *  Frames past max are read and dropped, so a peer sending too many never
 *  leaves the rest of its message queued for the next read. */
#ifndef OB_FRAMES_H_INCLUDED
#define OB_FRAMES_H_INCLUDED

#include <zmq.h>

/*  Reads one message without waiting: the frames kept (at most max, each
 *  initialised and the caller's to close), 0 when none is waiting, -1 on a
 *  failure (nothing is left open). */
int ob_frames_recv(void *socket, zmq_msg_t *frames, int max);

/*  Closes frames[0..count). */
void ob_frames_close(zmq_msg_t *frames, int count);

#endif
