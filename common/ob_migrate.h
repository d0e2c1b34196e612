/*  ob_migrate - applies versioned SQL files, each exactly once.
 *
 *  A migration is a file NNN_name.sql in one directory; its version is the
 *  file name without ".sql". Files are applied in byte-wise lexical order,
 *  each inside its own transaction together with its row in
 *  schema_migrations(version text primary key, applied_at timestamptz), so a
 *  file is either applied and recorded or neither. Every step holds a
 *  transaction-level advisory lock and re-checks schema_migrations under it,
 *  so any number of concurrent runs apply each file once and never fail
 *  because of each other.
 *
 *  A file is sent as one simple-protocol query, so it may hold several
 *  statements. It must not contain BEGIN/COMMIT, nor statements that refuse
 *  to run in a transaction (CREATE INDEX CONCURRENTLY, VACUUM).
 */
#ifndef OB_MIGRATE_H_INCLUDED
#define OB_MIGRATE_H_INCLUDED

#include <stdio.h>

#include "common/ob_pg.h"

/*  The advisory lock key every migrate run takes ("obmigr" in ASCII). */
#define OB_MIGRATE_LOCK_KEY 0x6f626d696772LL

typedef struct {
    int applied; /* files this run applied */
    int skipped; /* files found already applied */
} ob_migrate_result_t;

/*  Applies every not yet applied *.sql of dir, in order, stopping at the first
 *  failure. Prints "applied <version>" per file to out, and problems (file
 *  name plus the server's message) to err; either may be NULL. result may be
 *  NULL. Returns 0 when every file is applied, -1 otherwise (files before the
 *  failing one stay applied). pg must be usable (ob_pg_ensure) and outside a
 *  transaction. */
int ob_migrate_apply(ob_pg_t *pg, const char *dir, FILE *out, FILE *err, ob_migrate_result_t *result);

#endif
