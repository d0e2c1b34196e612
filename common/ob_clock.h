/*  ob_clock - the monotonic clock that time-outs, back-offs and durations
 *  are measured on (it never jumps when the wall clock is set). */
#ifndef OB_CLOCK_H_INCLUDED
#define OB_CLOCK_H_INCLUDED

#include <stdint.h>

/*  Milliseconds on CLOCK_MONOTONIC (an arbitrary origin: compare, never show). */
int64_t ob_clock_mono_ms(void);

/*  Microseconds on CLOCK_MONOTONIC, for timing work. */
int64_t ob_clock_mono_us(void);

#endif
