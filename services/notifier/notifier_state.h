/*  notifier_state - what the notifier's methods share: the worker state
 *  main.c makes and passes to every method as `state` (the pattern of every
 *  worker). */
#ifndef NOTIFIER_STATE_H_INCLUDED
#define NOTIFIER_STATE_H_INCLUDED

#include "common/ob_pg.h"
#include "services/notifier/notifier_settings.h"

typedef struct {
    ob_pg_t *pg;                         /* the main thread's session (delivery has its own) */
    const notifier_settings_t *settings; /* read once at start; lives as long as main */
} notifier_state_t;

#endif
