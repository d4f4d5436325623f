package ports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/ratelimit"
)

// Config is the gateway API's configuration.
type Config struct {
	// RatePerMinute is how many API requests one principal (a user or a
	// service account, whatever token it uses) may make a minute; 0
	// switches rate limiting off.
	RatePerMinute int `env:"PAVE_RATE_LIMIT_PER_MINUTE" envDefault:"600"`
	// RateBurst is how many requests a principal may make at once.
	RateBurst int `env:"PAVE_RATE_LIMIT_BURST" envDefault:"600"`
	// RateFailOpen lets requests through when the limiter cannot answer
	// (Redis or the KV bucket down); by default they get 503.
	RateFailOpen bool `env:"PAVE_RATE_LIMIT_FAIL_OPEN" envDefault:"false"`
	// StreamsPerPrincipal caps the event streams (server-sent events) one
	// principal holds open on one gateway instance; over it, 429.
	StreamsPerPrincipal int `env:"PAVE_EVENT_STREAMS_PER_PRINCIPAL" envDefault:"8"`
	// OpenAPICheck "strict" validates every request and response against
	// schemas/openapi.yaml and names violations in the
	// Pave-Openapi-Violation response header. For tests only: it buffers
	// every response.
	OpenAPICheck string `env:"PAVE_OPENAPI_CHECK"`
	// Ingress says which event types service accounts may post.
	Ingress IngressConfig
	// KVReplicas is the replica count of the rate-limit bucket (the
	// platform's stream replicas; not read from the environment).
	KVReplicas int
}

// Validate names the variable that is out of range.
func (l Config) Validate() error {
	switch {
	case l.OpenAPICheck != "" && l.OpenAPICheck != "off" && l.OpenAPICheck != "strict":
		return config.Invalid("PAVE_OPENAPI_CHECK", "must be off or strict")
	case l.RatePerMinute < 0:
		return config.Invalid("PAVE_RATE_LIMIT_PER_MINUTE", "must be 0 (off) or more")
	case l.RatePerMinute > 0 && l.RateBurst < 1:
		return config.Invalid("PAVE_RATE_LIMIT_BURST", "must be at least 1")
	case l.StreamsPerPrincipal < 0:
		return config.Invalid("PAVE_EVENT_STREAMS_PER_PRINCIPAL", "must be 0 (no cap) or more")
	}
	return nil
}

// loadConfig reads Config from the environment when the caller passed
// none (tests); an invalid setting is logged and the defaults apply. The
// gateway module loads it at start, where an invalid setting stops it.
// RateLimitBucket holds the per-principal state when Redis is not configured.
const RateLimitBucket = "GATEWAY_RATE_LIMITS"

// lazyLimiter builds its limiter on first use (the KV bucket needs
// JetStream up), and again after a failure.
type lazyLimiter struct {
	mu    sync.Mutex
	build func(ctx context.Context) (ratelimit.Limiter, error)
	l     ratelimit.Limiter
}

func (z *lazyLimiter) Allow(ctx context.Context, key string) (ratelimit.Result, error) {
	z.mu.Lock()
	if z.l == nil {
		l, err := z.build(ctx)
		if err != nil {
			z.mu.Unlock()
			return ratelimit.Result{}, err
		}
		z.l = l
	}
	l := z.l
	z.mu.Unlock()
	return l.Allow(ctx, key)
}

// newLimiter is Redis when configured, JetStream KV otherwise; nil when
// limits are off.
func newLimiter(lim Config, rdb *redis.Client, js jetstream.JetStream) ratelimit.Limiter {
	if lim.RatePerMinute == 0 {
		return nil
	}
	limit := ratelimit.PerMinute(lim.RatePerMinute, lim.RateBurst)
	return &lazyLimiter{build: func(ctx context.Context) (ratelimit.Limiter, error) {
		if rdb != nil {
			return ratelimit.NewRedis(rdb, "pave:ratelimit:", limit)
		}
		return ratelimit.NewKV(ctx, js, RateLimitBucket, max(lim.KVReplicas, 1), limit)
	}}
}

// rateLimited answers 429 with Retry-After to a principal over its
// limit. It runs after authentication, so the key is the principal (a
// user or service account), never the token: minting more tokens buys
// no more requests. When the limiter cannot answer the request gets 503
// (fail closed), unless PAVE_RATE_LIMIT_FAIL_OPEN lets it through.
func rateLimited(l ratelimit.Limiter, lim Config, mp metric.MeterProvider, log *slog.Logger, next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	limited, _ := mp.Meter("github.com/pave-platform/pave/services/gateway").Int64Counter(
		"pave_gateway_rate_limited", metric.WithDescription("API requests refused with 429 because their principal was over its rate limit"))
	limited.Add(context.Background(), 0) // the series exists before the first refusal
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		res, err := l.Allow(ctx, rateKey(r))
		cancel()
		if err != nil {
			if lim.RateFailOpen {
				log.WarnContext(r.Context(), "rate limit unavailable; request let through (PAVE_RATE_LIMIT_FAIL_OPEN)", "error", err)
				next.ServeHTTP(w, r)
				return
			}
			log.ErrorContext(r.Context(), "rate limit unavailable; request refused", "error", err)
			w.Header().Set("Retry-After", "1")
			httpfx.WriteProblem(w, http.StatusServiceUnavailable, "Service Unavailable",
				"the rate limiter did not answer; try again", nil)
			return
		}
		w.Header().Set("RateLimit-Limit", strconv.Itoa(lim.RatePerMinute))
		w.Header().Set("RateLimit-Remaining", strconv.Itoa(res.Remaining))
		if !res.Allowed {
			if limited != nil {
				limited.Add(r.Context(), 1)
			}
			secs := int(math.Ceil(res.RetryAfter.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			httpfx.WriteProblem(w, http.StatusTooManyRequests, "Too Many Requests",
				"you are over your limit of "+strconv.Itoa(lim.RatePerMinute)+" requests a minute (all your tokens together); retry after "+
					strconv.Itoa(max(secs, 1))+" s", map[string]any{"errors": []map[string]string{
					{"field": "header.Authorization", "message": "over the rate limit of this principal"}}})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// rateKey is the authenticated principal; a hash of the token only when
// no principal is known (rateLimited outside RequireAuth).
func rateKey(r *http.Request) string {
	if p, ok := PrincipalFrom(r.Context()); ok && p.ID != "" {
		sum := sha256.Sum256([]byte(p.Kind + "\x00" + p.ID))
		return "principal:" + hex.EncodeToString(sum[:16])
	}
	token, _ := bearer(r.Header.Get("Authorization"))
	sum := sha256.Sum256([]byte(token))
	return "token:" + hex.EncodeToString(sum[:16])
}
