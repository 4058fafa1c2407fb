package api

import (
	"net/http"
	"time"

	"go.uber.org/zap"
)

// statusRecorder remembers the status and the caller for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	tenant string
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// logRequests writes one line per request: method, path, status, duration
// and tenant. Bodies, queries and headers are never logged: they may carry
// site passwords and tokens.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.o.Logger.Info("request",
			zap.String("method", r.Method), zap.String("path", r.URL.Path),
			zap.Int("status", rec.status), zap.Duration("duration", time.Since(start)),
			zap.String("tenant", rec.tenant))
	})
}
