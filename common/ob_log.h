/*  ob_log - structured JSON log lines on stderr.
 *
 *  One line per event: {"ts":"...","level":"info","service":"gateway",
 *  "request_id":"...","msg":"..."}. Messages are printf-formatted and then
 *  JSON-escaped, so any byte is safe. Never pass a secret, a token or a raw
 *  request body: callers log ids, lengths and outcomes only.
 */
#ifndef OB_LOG_H_INCLUDED
#define OB_LOG_H_INCLUDED

typedef enum { OB_LOG_DEBUG, OB_LOG_INFO, OB_LOG_WARN, OB_LOG_ERROR } ob_log_level_t;

/*  Names the process in every line; call once at start. Reads LOG_LEVEL. */
void ob_log_init(const char *service);

/*  Writes one line. request_id may be NULL. Thread-safe (one write(2)). */
void ob_log(ob_log_level_t level, const char *request_id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define ob_log_debug(...) ob_log(OB_LOG_DEBUG, NULL, __VA_ARGS__)
#define ob_log_info(...) ob_log(OB_LOG_INFO, NULL, __VA_ARGS__)
#define ob_log_warn(...) ob_log(OB_LOG_WARN, NULL, __VA_ARGS__)
#define ob_log_error(...) ob_log(OB_LOG_ERROR, NULL, __VA_ARGS__)

#endif
