/*  notifier_state - what the notifier's methods share: the worker state
 *  main.c makes and passes to every method as `state` (the pattern of every
 *  worker). */
#ifndef NOTIFIER_STATE_H_INCLUDED
#define NOTIFIER_STATE_H_INCLUDED

#include "common/ob_pg.h"

typedef struct {
    ob_pg_t *pg; /* the main thread's session */
} notifier_state_t;

#endif
