// Package loadshed protects the API from overload: a concurrency limit that
// follows measured latency (failsafe-go's adaptive limiter) decides how
// much work runs at once, and when it is full it rejects by priority —
// payment webhooks and checkout last, catalog reads next, search and
// recommendations first. Each class also has its own bulkhead, so a flood
// of one kind cannot take every slot. A rejected request is answered at
// once; nothing queues for long.
//
// It must never know about HTTP.
package loadshed

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/failsafe-go/failsafe-go/adaptivelimiter"
	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/priority"
	"github.com/prometheus/client_golang/prometheus"
)

// Class is a kind of work with its own priority and bulkhead.
type Class string

// The classes, from most to least important.
const (
	Payments Class = "payments" // provider webhooks: money already moved
	Checkout Class = "checkout"
	// Queue is a flash sale's waiting room (joins and polls): apart from
	// checkout, so a crowd waiting cannot crowd out the buyers it admitted.
	Queue  Class = "queue"
	Admin  Class = "admin"
	Browse Class = "browse"
	Extras Class = "extras" // search, recommendations
)

var priorities = map[Class]priority.Priority{
	Payments: priority.VeryHigh,
	Checkout: priority.High,
	Queue:    priority.Medium,
	Admin:    priority.Medium,
	Browse:   priority.Medium,
	Extras:   priority.Low,
}

// Config sizes the shedder.
type Config struct {
	// Bulkheads bound the concurrent requests of each class.
	Bulkheads map[Class]uint
	// MaxLimit bounds the adaptive concurrency limit.
	MaxLimit uint
	// MaxWait is the longest a request waits for a slot before it is shed.
	MaxWait time.Duration
	// CheckoutWait is the longest a payment or checkout waits for a slot of
	// its bulkhead (0: shed at once, as every other class is).
	CheckoutWait time.Duration
	// QueueDelay, when set, reports the shortest wait at the bottleneck all
	// checkouts share (SQLite's one writer) since its last call, and false
	// when nothing waited. While a queue stands there, the checkout limit
	// shrinks below the bulkhead: more checkouts at once would only wait.
	QueueDelay func() (time.Duration, bool)
	// FollowLatency also treats slow checkouts as a standing queue: when
	// even the fastest checkout of an interval (RecordCheckout) took more
	// than slowFactor times the fastest seen lately, every checkout waited
	// for something (on SQLite, the processor), and the checkout limit
	// shrinks as for the writer.
	FollowLatency bool
}

// The standing-queue rule, after CoDel: a queue whose shortest wait over
// an interval stays above target is not a burst draining, it is overload.
const (
	queueTarget   = 5 * time.Millisecond
	queueInterval = 100 * time.Millisecond
	minCheckouts  = 2
	// slowFactor is how much slower than the baseline even the fastest
	// checkout of an interval must be to count as a standing queue. On two
	// busy cores a full bulkhead of checkouts sharing the processor makes
	// even the fastest more than four times slower than one alone, but
	// seldom eight: that is the system at capacity, not a queue. At a
	// factor of 4 the limit fell to 4–9 under overload and goodput to
	// 0.57–0.65 of capacity (bench/RESULTS.md).
	slowFactor = 8
)

// DefaultConfig suits one replica on a small machine whose database pool
// holds dbConns connections. Checkouts beyond the pool would only wait for a
// connection, adding latency without adding throughput, so the checkout
// bulkhead is the pool's size.
func DefaultConfig(dbConns uint) Config {
	return Config{
		Bulkheads: map[Class]uint{Payments: 64, Checkout: max(dbConns, 4), Queue: 128, Admin: 64, Browse: 512, Extras: 128},
		MaxLimit:  1024,
		MaxWait:   20 * time.Millisecond,
	}
}

// ErrShed is returned for a request the shedder turned away.
var ErrShed = errors.New("overloaded: request shed")

// Shedder admits or sheds requests.
type Shedder struct {
	limiter     adaptivelimiter.PriorityLimiter[any]
	prioritizer priority.Prioritizer
	bulkheads   map[Class]bulkhead.Bulkhead[any]
	maxWait     time.Duration
	bulkWait    time.Duration // for payments and checkouts
	shed        *prometheus.CounterVec
	stop        context.CancelFunc

	queueDelay func() (time.Duration, bool)
	// checkouts is the checkout limit the standing-queue rule sets (at
	// most maxCheckouts, the bulkhead); inflight counts checkouts admitted.
	checkouts, inflight atomic.Int64
	maxCheckouts        int64
	// fastest is the shortest checkout of the current interval in
	// nanoseconds (0: none finished), when FollowLatency is set; baseline
	// is the shortest lately, written only by followQueue.
	followLatency bool
	fastest       atomic.Int64
	baseline      atomic.Int64 // nanoseconds
}

// New returns a Shedder and registers its metrics.
func New(cfg Config, reg prometheus.Registerer) *Shedder {
	p := adaptivelimiter.NewPrioritizer()
	s := &Shedder{
		prioritizer: p,
		limiter: adaptivelimiter.NewBuilder[any]().
			WithLimits(8, cfg.MaxLimit, 64).
			WithQueueing(2, 4).
			WithMaxWaitTime(cfg.MaxWait).
			BuildPrioritized(p),
		bulkheads:     map[Class]bulkhead.Bulkhead[any]{},
		maxWait:       cfg.MaxWait,
		bulkWait:      cfg.CheckoutWait,
		queueDelay:    cfg.QueueDelay,
		followLatency: cfg.FollowLatency,
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "surge_shed_total", Help: "Requests shed before any work, by class and reason (bulkhead, queue, limit).",
		}, []string{"class", "reason"}),
	}
	for c, n := range cfg.Bulkheads {
		s.bulkheads[c] = bulkhead.New[any](n)
	}
	s.maxCheckouts = int64(max(cfg.Bulkheads[Checkout], minCheckouts))
	s.checkouts.Store(s.maxCheckouts)
	reg.MustRegister(s.shed,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "surge_shed_limit", Help: "Current adaptive concurrency limit."},
			func() float64 { return float64(s.limiter.Limit()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "surge_shed_checkout_limit", Help: "Checkouts admitted at once, lowered while a queue stands (at the database writer, or, on SQLite, for the processor)."},
			func() float64 { return float64(s.checkouts.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "surge_shed_checkout_baseline_seconds", Help: "The fastest checkout lately (SQLite): checkouts all eight times slower shrink the checkout limit."},
			func() float64 { return time.Duration(s.baseline.Load()).Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "surge_shed_inflight", Help: "Requests holding a concurrency permit."},
			func() float64 { return float64(s.limiter.Inflight()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "surge_shed_rejection_threshold", Help: "Priority level below which requests are shed (0: none)."},
			func() float64 { return float64(p.RejectionThreshold()) }),
	)
	return s
}

// Start begins recalibrating priorities (once a second).
func (s *Shedder) Start(ctx context.Context) error {
	ctx, s.stop = context.WithCancel(ctx)
	s.prioritizer.ScheduleCalibrations(ctx, time.Second)
	if s.queueDelay != nil || s.followLatency {
		go s.followQueue(ctx)
	}
	return nil
}

// followQueue applies the standing-queue rule once per interval: cut the
// checkout limit by a quarter while the queue stands, else raise it by one
// back towards the bulkhead, so bursts pass and sustained excess is shed.
func (s *Shedder) followQueue(ctx context.Context) {
	t := time.NewTicker(queueInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		limit := s.checkouts.Load()
		// Both are asked every interval: each starts a new one.
		queued, slow := s.queueStands(), s.checkoutsSlow()
		if queued || slow {
			limit = max(minCheckouts, limit*3/4)
		} else {
			limit = min(s.maxCheckouts, limit+1)
		}
		s.checkouts.Store(limit)
	}
}

func (s *Shedder) queueStands() bool {
	if s.queueDelay == nil {
		return false
	}
	least, ok := s.queueDelay()
	return ok && least > queueTarget
}

// checkoutsSlow compares the interval's fastest checkout with the baseline,
// the fastest seen lately. The baseline creeps up by about a tenth every
// ten seconds, so a system that became slower for good (more data, a
// slower disk) resets it instead of being shed forever.
func (s *Shedder) checkoutsSlow() bool {
	if !s.followLatency {
		return false
	}
	fastest := time.Duration(s.fastest.Swap(0))
	if fastest == 0 {
		return false // no checkout finished: nothing to judge
	}
	baseline := time.Duration(s.baseline.Load())
	if baseline == 0 || fastest < baseline {
		s.baseline.Store(int64(fastest))
		return false
	}
	baseline += baseline / 1024
	s.baseline.Store(int64(baseline))
	return fastest > slowFactor*baseline
}

// RecordCheckout reports how long one checkout took, for FollowLatency.
func (s *Shedder) RecordCheckout(d time.Duration) {
	if !s.followLatency {
		return
	}
	for {
		cur := s.fastest.Load()
		if cur != 0 && cur <= int64(d) {
			return
		}
		if s.fastest.CompareAndSwap(cur, max(int64(d), 1)) {
			return
		}
	}
}

// Stop ends recalibration.
func (s *Shedder) Stop() {
	if s.stop != nil {
		s.stop()
	}
}

// acquire takes a slot of a class's bulkhead. Payments and checkouts wait
// up to CheckoutWait for one; the other classes are shed at once.
func (s *Shedder) acquire(ctx context.Context, bh bulkhead.Bulkhead[any], class Class) bool {
	if s.bulkWait == 0 || (class != Payments && class != Checkout) {
		return bh.TryAcquirePermit()
	}
	return bh.AcquirePermitWithMaxWait(ctx, s.bulkWait) == nil
}

// Admit returns a release function to call when the request is done, or
// ErrShed. The release records the request's latency, which is what makes
// the limit adapt.
func (s *Shedder) Admit(ctx context.Context, class Class) (func(), error) {
	bh := s.bulkheads[class]
	if bh != nil && !s.acquire(ctx, bh, class) {
		s.shed.WithLabelValues(string(class), "bulkhead").Inc()
		return nil, ErrShed
	}
	counted := class == Checkout
	if counted && s.inflight.Add(1) > s.checkouts.Load() {
		s.inflight.Add(-1)
		if bh != nil {
			bh.ReleasePermit()
		}
		s.shed.WithLabelValues(string(class), "queue").Inc()
		return nil, ErrShed
	}
	permit, err := s.limiter.AcquirePermitWithMaxWait(priority.ContextWithPriority(ctx, priorities[class]), s.maxWait)
	if err != nil {
		if counted {
			s.inflight.Add(-1)
		}
		if bh != nil {
			bh.ReleasePermit()
		}
		s.shed.WithLabelValues(string(class), "limit").Inc()
		return nil, ErrShed
	}
	return func() {
		permit.Record()
		if counted {
			s.inflight.Add(-1)
		}
		if bh != nil {
			bh.ReleasePermit()
		}
	}, nil
}
