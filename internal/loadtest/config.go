package loadtest

import (
	"fmt"
	"strings"
	"time"
)

// Config is one loadtest run. Rates are arrivals (operations) per second.
type Config struct {
	Target   string // base URL of the Surge under test
	AdminKey string // platform admin key: creates the shop, runs the audit
	Scenario string // browse, checkout, flash-sale or mixed
	Rate     float64
	Duration time.Duration
	Out      string // directory for report.json and report.html

	// Step mode: start at Rate and multiply it by StepFactor every
	// StepDuration until p99 exceeds SLOP99 or the error rate exceeds
	// MaxErrorRate (a fraction), or MaxSteps ran.
	Step         bool
	StepDuration time.Duration
	StepFactor   float64
	MaxSteps     int
	SLOP99       time.Duration
	MaxErrorRate float64
	// StepAdd, when positive, adds to the rate every step instead of
	// multiplying it by StepFactor.
	StepAdd float64
	// StepHeld, if set, replaces the SLO rule for whether a step held:
	// it returns false and why when the stepping must stop.
	StepHeld func(StepReport) (held bool, why string)

	SKUs      int   // products created (browse, checkout, mixed)
	Flash     bool  // checkout: put the SKUs in flash-sale mode
	Stock     int64 // flash-sale: units on sale
	Customers int   // checkout, mixed: customers created up front

	// Flash-sale waiting room: admissions per second and at opening (rate
	// 0: no waiting room).
	AdmissionRate  int64
	AdmissionBurst int64
	BuyerTimeout   time.Duration // a flash-sale buyer gives up after this

	Connections int           // HTTP connections to the target
	MaxInFlight int           // operations running at once before arrivals are dropped
	Timeout     time.Duration // per request
	Drain       time.Duration // how long to wait for operations after a phase
	AuditWait   time.Duration // the final audit's settle: how long in-flight work may take to settle
	Seed        uint64
	Shop        string        // shop slug (default: generated)
	Progress    time.Duration // period of progress lines when not on a terminal

	// OnLoad, if set, is called once as the first arrival is scheduled,
	// with the instant the report's series count from: a fault drill
	// times its fault by it.
	OnLoad func(start time.Time)
}

// Scenarios lists the scenario names.
var Scenarios = []string{"browse", "checkout", "flash-sale", "mixed"}

// Defaults fills what was left zero.
func (c *Config) Defaults() {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Duration, 30*time.Second)
	def(&c.StepDuration, 10*time.Second)
	def(&c.SLOP99, 250*time.Millisecond)
	def(&c.Timeout, 30*time.Second)
	def(&c.Drain, 60*time.Second)
	def(&c.AuditWait, 60*time.Second)
	def(&c.BuyerTimeout, 60*time.Second)
	def(&c.Progress, 5*time.Second)
	if c.StepFactor == 0 {
		c.StepFactor = 1.5
	}
	if c.MaxSteps == 0 {
		c.MaxSteps = 10
	}
	if c.MaxErrorRate == 0 {
		c.MaxErrorRate = 0.001
	}
	if c.SKUs == 0 {
		c.SKUs = 50
	}
	if c.Customers == 0 {
		c.Customers = 200
	}
	if c.Stock == 0 {
		c.Stock = 100
	}
	if c.Connections == 0 {
		c.Connections = 256
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 20000
	}
}

// Validate reports the first unusable setting.
func (c *Config) Validate() error {
	switch {
	case c.Target == "":
		return fmt.Errorf("--target is required")
	case !strings.HasPrefix(c.Target, "http://") && !strings.HasPrefix(c.Target, "https://"):
		return fmt.Errorf("--target must be an http(s) URL")
	case c.AdminKey == "":
		return fmt.Errorf("--admin-key is required")
	case !validScenario(c.Scenario):
		return fmt.Errorf("--scenario must be one of %s", strings.Join(Scenarios, ", "))
	case c.Rate <= 0:
		return fmt.Errorf("--rate must be positive")
	case c.Duration <= 0 || c.StepDuration <= 0:
		return fmt.Errorf("durations must be positive")
	case c.Out == "":
		return fmt.Errorf("--out is required")
	case c.StepFactor <= 1:
		return fmt.Errorf("--step-factor must be above 1")
	case c.StepAdd < 0:
		return fmt.Errorf("the step's increment must not be negative")
	case c.MaxErrorRate < 0 || c.MaxErrorRate >= 1:
		return fmt.Errorf("--max-error-rate is a fraction between 0 and 1")
	case c.SKUs < 1 || c.Customers < 1 || c.Stock < 0:
		return fmt.Errorf("--skus and --customers must be positive, --stock not negative")
	case c.Connections < 1 || c.MaxInFlight < c.Connections:
		return fmt.Errorf("--connections must be positive and at most --max-in-flight")
	case c.AdmissionRate < 0 || c.AdmissionBurst < 0:
		return fmt.Errorf("--admission-rate and --admission-burst must not be negative")
	}
	return nil
}

func validScenario(s string) bool {
	for _, n := range Scenarios {
		if n == s {
			return true
		}
	}
	return false
}
