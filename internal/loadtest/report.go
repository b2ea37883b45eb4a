package loadtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"
)

// SchemaVersion is report.json's format. Version 1 was the format before
// it carried a version; version 2 adds schema_version, the scenarios'
// "operations" and the steps' "per_operation" (OperationReport). Fields
// are only ever added; a reader ignores those it does not know.
const SchemaVersion = 2

// Report is report.json. Units: latencies (p50, p90, p99, p999, max and
// everything ending in _ms) are milliseconds, measured from each
// request's scheduled time; rates are operations per second (one
// operation is one arrival: a request when browsing, a cart and checkout,
// or a flash-sale buyer's whole visit); durations end in _seconds.
type Report struct {
	SchemaVersion int               `json:"schema_version"`
	Tool          string            `json:"tool"`
	Target        string            `json:"target"`
	StartedAt     time.Time         `json:"started_at"`
	Units         map[string]string `json:"units"`
	Config        ConfigReport      `json:"config"`
	Scenarios     []ScenarioReport  `json:"scenarios"`
	// Audit is the run's verdict; the command exits non-zero unless it
	// passed.
	Audit Audit `json:"audit"`
}

// ConfigReport is the run's settings as given.
type ConfigReport struct {
	Scenario        string  `json:"scenario"`
	Rate            float64 `json:"rate"`
	DurationSeconds float64 `json:"duration_seconds"`
	Step            bool    `json:"step"`
	StepSeconds     float64 `json:"step_duration_seconds,omitempty"`
	StepFactor      float64 `json:"step_factor,omitempty"`
	SLOP99MS        float64 `json:"slo_p99_ms"`
	MaxErrorRate    float64 `json:"max_error_rate"`
	SKUs            int     `json:"skus"`
	Flash           bool    `json:"flash"`
	Stock           int64   `json:"stock,omitempty"`
	Connections     int     `json:"connections"`
	Seed            uint64  `json:"seed"`
}

// ScenarioReport is one scenario's steps (a single step unless --step).
type ScenarioReport struct {
	Scenario string       `json:"scenario"`
	Shop     string       `json:"shop"`
	Steps    []StepReport `json:"steps"`
	// Knee is the first step that broke the SLO (step mode).
	Knee     *Knee     `json:"knee,omitempty"`
	Envelope *Envelope `json:"envelope,omitempty"`
	Audit    Audit     `json:"audit"`
	// Operations are the scenario's requests by operation over all its
	// steps.
	Operations []OperationReport `json:"operations"`
	// Flash sale only: units on sale, units sold, how buyers ended.
	Stock  *int64  `json:"stock,omitempty"`
	Sold   *int64  `json:"sold,omitempty"`
	Buyers *Buyers `json:"buyers,omitempty"`
	// Checkout and mixed: orders the server acknowledged (201, 202) and
	// how many of them were gone at the end (must be 0).
	Acknowledged *int `json:"acknowledged_orders,omitempty"`
	Lost         *int `json:"lost_orders,omitempty"`
}

// StepReport is one phase at one offered rate.
type StepReport struct {
	Step int `json:"step"`
	// OfferedRate is arrivals scheduled per second; AchievedRate is
	// operations completed without error per second of the phase
	// (including the drain after the last arrival).
	OfferedRate     float64 `json:"offered_rate"`
	AchievedRate    float64 `json:"achieved_rate"`
	TargetRate      float64 `json:"target_rate"`
	DurationSeconds float64 `json:"duration_seconds"`
	ElapsedSeconds  float64 `json:"elapsed_seconds"`
	Operations      int64   `json:"operations"`
	OperationsOK    int64   `json:"operations_ok"`
	Requests        int64   `json:"requests"`
	// ErrorRate is failed requests (no answer, 429, 5xx, dropped) over
	// all requests.
	ErrorRate float64 `json:"error_rate"`
	Percentiles
	StatusCodes map[string]int64 `json:"status_codes"`
	Errors      map[string]int64 `json:"errors"`
	WithinSLO   bool             `json:"within_slo"`
	Client      ClientStats      `json:"client"`
	Resources   Resources        `json:"resources"`
	Series      []Point          `json:"series"`
	// PerOperation is the step's requests by operation.
	PerOperation []OperationReport `json:"per_operation"`
	ops          map[string]*opStat
}

// Knee is where latency or errors broke the SLO.
type Knee struct {
	Step        int     `json:"step"`
	OfferedRate float64 `json:"offered_rate"`
	P99         float64 `json:"p99"`
	ErrorRate   float64 `json:"error_rate"`
	Reason      string  `json:"reason"`
}

// Envelope is the capacity statement step mode exists for.
type Envelope struct {
	SLOP99MS     float64 `json:"slo_p99_ms"`
	MaxErrorRate float64 `json:"max_error_rate"`
	// SustainedRate is the achieved rate of the last step within the SLO
	// (0: none was); KneeRate the offered rate that broke it (0: none did).
	SustainedRate      float64 `json:"sustained_rate"`
	KneeRate           float64 `json:"knee_rate"`
	SaturatingResource string  `json:"saturating_resource"`
	Statement          string  `json:"statement"`
}

func writeJSON(dir string, rep *Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.json"), append(b, '\n'), 0o644)
}
